"""The sandbox card factory and partner-bank card desk: a real simulator of what the city's card
factory and banks do with a send file. It reads a production send file and writes the return
file they would: chip identification codes (issuing region + D156 + serial), ATRs, bank accounts
under each bank's card BIN, box locations, and a share of failures with stage and reason. Used by
the demo, the tests and `socialcard cards batch run-sandbox`.
"""

from __future__ import annotations

import random
from datetime import datetime

from socialcard.cards.production_files import parse_send_file, render_return_file

# Card BINs of the partner banks' social security debit cards (illustrative, 6 digits).
BANK_BINS = {
    "ICBC": "622208",
    "ABC": "622848",
    "BOC": "621661",
    "CCB": "621700",
    "PSBC": "621799",
    "HNRCU": "621539",
    "BOHN": "621290",
}
FAILURES = [
    ("photo", "照片背景不符合要求"),
    ("personalisation", "芯片写入校验失败"),
    ("bank_account", "身份核查未通过，银行未能开户"),
]


def _luhn_complete(partial: str) -> str:
    total = 0
    for position, char in enumerate(reversed(partial)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return partial + str((10 - total % 10) % 10)


def produce(
    send_file: bytes,
    *,
    at: datetime,
    seed: int | None = None,
    failure_rate: float = 0.03,
    encoding: str = "gbk",
) -> bytes:
    """The return file for a send file."""
    rng = random.Random(seed)
    header, details = parse_send_file(send_file)
    bank_bin = BANK_BINS.get(header["bank_code"], "621000")
    rows: list[tuple[str, bool, str, str, str, str, str, str]] = []
    for number, detail in enumerate(details):
        card_number, region = detail[2], detail[7]
        if rng.random() < failure_rate:
            stage, reason = rng.choice(FAILURES)
            rows.append((card_number, False, "", "", "", "", stage, reason))
            continue
        # Chip serials and accounts are per card: the same seed never repeats them across batches.
        chip = random.Random(f"{seed}:{card_number}") if seed is not None else rng
        uid = f"{region}D156{chip.getrandbits(88):022X}"
        atr = "3B6D000000815448" + f"{chip.getrandbits(64):016X}"
        account = _luhn_complete(bank_bin + f"{chip.randrange(10**12):012d}")
        box = f"B{number // 200 + 1:03d}-{number % 200 + 1:03d}"
        rows.append((card_number, True, uid, atr, account, box, "", ""))
    return render_return_file(
        batch_no=header["batch_no"],
        bank_code=header["bank_code"],
        returned_at=at,
        rows=rows,
        encoding=encoding,
    )
