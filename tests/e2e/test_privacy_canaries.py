"""RELIABILITY E1/E2 at PR size: canary ID numbers and phones never reach logs, error bodies,
audit records, reports or the database file in clear."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from socialcard.bootstrap import Platform
from socialcard.kernel.resident_id import check_character
from tests.support import api_client, make_staff, write_household_file


def rid(address: str, birth: str, sequence: int) -> str:
    first17 = f"{address}{birth}{sequence:03d}"
    return first17 + check_character(first17)


CANARY_IDS = [rid("431124", "19770707", 707), rid("432923", "19580808", 808)]
CANARY_PHONES = ["13907460707", "15807460808"]
BROKEN_CANARY = CANARY_IDS[0][:17] + ("0" if CANARY_IDS[0][17] != "0" else "1")


def canaries_in(blob: str) -> list[str]:
    return [c for c in [*CANARY_IDS, *CANARY_PHONES, BROKEN_CANARY] if c in blob]


def test_canaries_stay_out_of_every_output(
    platform: Platform, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    officer = make_staff(platform, "officer", roles=("registry_officer",))
    auditor = make_staff(platform, "auditor", roles=("audit_admin",))
    client = api_client(platform, officer)
    path = write_household_file(
        tmp_path,
        [
            f"{CANARY_IDS[0]},金丝雀,男,汉族,431124,,,{CANARY_PHONES[0]},正常",
            f"{CANARY_IDS[1]},金丝鸟,女,汉族,431124,,,{CANARY_PHONES[1]},正常",
            f"{BROKEN_CANARY},坏号码,男,汉族,431124,,,{CANARY_PHONES[0]},正常",
        ],
    )
    bodies: list[str] = []
    with path.open("rb") as handle:
        uploaded = client.post(
            "/api/v1/imports", files={"file": ("canary.csv", handle, "text/csv")}
        )
    import_id = uploaded.json()["id"]
    for _ in range(100):
        status = client.get(f"/api/v1/imports/{import_id}")
        if status.json()["status"] == "completed":
            break
        time.sleep(0.05)
    bodies += [uploaded.text, status.text]
    bodies.append(client.get(f"/api/v1/imports/{import_id}/rejections.csv").text)
    for number in [*CANARY_IDS, BROKEN_CANARY, "not-a-number"]:
        bodies.append(client.post("/api/v1/persons/search", json={"resident_id": number}).text)
    bodies.append(client.get("/api/v1/persons/1").text)
    bodies.append(api_client(platform, auditor).get("/api/v1/audit").text)

    assert canaries_in("\n".join(bodies)) == []
    assert canaries_in("\n".join(r.getMessage() for r in caplog.records)) == []
    with platform.engine.connect() as connection:
        for table in ("persons", "person_versions", "import_rejections", "audit_records"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()
            assert canaries_in(repr(rows)) == [], table
    if platform.engine.dialect.name == "sqlite":
        platform.engine.dispose()
        database = Path(platform.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        for canary in [*CANARY_IDS, *CANARY_PHONES]:
            assert canary.encode() not in raw
        # The generic detector: no 18-character string with a valid check character anywhere,
        # except inside a hexadecimal digest (a blind index, a hash of the audit chain): random
        # hex holds a run of 18 decimal digits now and then, and one in eleven of those has a
        # "valid" check character. A digest is a whole run of lowercase hex of a digest's
        # length; an ID number next to one makes the run longer and is still caught.
        for match in re.finditer(rb"\d{17}[\dX]", raw):
            candidate = match.group().decode()
            if _inside_digest(raw, match.start(), match.end()):
                continue
            assert check_character(candidate[:17]) != candidate[17]


_HEX = frozenset(b"0123456789abcdef")
_DIGEST_LENGTHS = frozenset({32, 40, 64})


def _inside_digest(raw: bytes, start: int, end: int) -> bool:
    while start > 0 and raw[start - 1] in _HEX:
        start -= 1
    while end < len(raw) and raw[end] in _HEX:
        end += 1
    run = raw[start:end]
    return len(run) in _DIGEST_LENGTHS and any(byte in b"abcdef" for byte in run)
