"""The append-only audit log, hash-chained with SM3, and its verifier.

Each record's hash is SM3(previous hash ‖ canonical JSON of its fields). Appends are serialised
through the single chain-head row. The verifier walks the chain in order and names the first
record that was modified, deleted, inserted or moved; an external checkpoint file (outside the
database) catches a truncated tail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcard.access.models import AuditChainHead, AuditRecord, AuditResult
from socialcard.kernel.crypto import sm3_hex

GENESIS_HASH: Final = "0" * 64


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a staff member (or nobody, for anonymous attempts)."""

    staff_id: int | None
    username: str | None
    roles: tuple[str, ...] = ()
    department_code: str | None = None


ANONYMOUS: Final = Actor(staff_id=None, username=None)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    actor: Actor
    action: str
    result: AuditResult
    object_type: str | None = None
    object_id: str | None = None
    origin: str | None = None
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _canonical(record: AuditRecord) -> bytes:
    body = {
        "seq": record.seq,
        "occurred_at": record.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": record.actor_id,
        "actor_username": record.actor_username,
        "actor_roles": record.actor_roles,
        "department_code": record.department_code,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "result": AuditResult(record.result).value,
        "origin": record.origin,
        "request_id": record.request_id,
        "details": record.details,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(prev_hash: str, record: AuditRecord) -> str:
    return sm3_hex(prev_hash.encode() + b"\x1e" + _canonical(record))


def _lock_head(session: Session) -> AuditChainHead:
    head = session.scalars(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).first()
    if head is None:
        head = AuditChainHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def ensure_chain_head(session: Session) -> None:
    """Create the chain head if the log is new."""
    _lock_head(session)


def append_audit(session: Session, event: AuditEvent, *, at: datetime) -> AuditRecord:
    """Append one record to the chain in the caller's transaction."""
    head = _lock_head(session)
    record = AuditRecord(
        seq=head.last_seq + 1,
        occurred_at=at,
        actor_id=event.actor.staff_id,
        actor_username=event.actor.username,
        actor_roles=",".join(sorted(event.actor.roles)) or None,
        department_code=event.actor.department_code,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        result=event.result,
        origin=event.origin,
        request_id=event.request_id,
        details=dict(event.details),
        prev_hash=head.last_hash,
        record_hash="",
    )
    record.record_hash = compute_hash(head.last_hash, record)
    session.add(record)
    head.last_seq = record.seq
    head.last_hash = record.record_hash
    session.flush()
    return record


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """The verifier's finding. first_bad_seq names the first record that does not fit."""

    records_checked: int
    is_intact: bool
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str | None = None


def _iter_records(session: Session, batch_size: int = 5000) -> Iterator[AuditRecord]:
    last_id = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditRecord)
                .where(AuditRecord.id > last_id)
                .order_by(AuditRecord.id)
                .limit(batch_size)
            )
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def verify_chain(session: Session, *, checkpoint_file: Path | None = None) -> ChainVerification:
    """Walk the whole chain; report the first modified, deleted, inserted or reordered record."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    hashes_by_seq: dict[int, str] = {}
    checkpoints = read_checkpoints(checkpoint_file) if checkpoint_file else {}
    for record in _iter_records(session):
        count += 1
        if record.seq != expected_seq:
            problem = (
                f"序号应为 {expected_seq}，实际为 {record.seq}：记录被删除、插入或调换"
                if record.seq > expected_seq
                else f"序号 {record.seq} 重复或倒序：记录被插入或调换"
            )
            return ChainVerification(count, False, record.seq, record.id, problem)
        if record.prev_hash != expected_prev:
            return ChainVerification(
                count, False, record.seq, record.id, "前一记录哈希不符：记录被删除、插入或调换"
            )
        if compute_hash(record.prev_hash, record) != record.record_hash:
            return ChainVerification(count, False, record.seq, record.id, "记录内容被修改")
        if record.seq in checkpoints:
            hashes_by_seq[record.seq] = record.record_hash
        expected_prev = record.record_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != last_seq or head.last_hash != expected_prev):
        return ChainVerification(
            count,
            False,
            last_seq + 1,
            None,
            f"链头记录序号 {head.last_seq}，实际末尾为 {last_seq}：尾部被截断",
        )
    for seq, digest in sorted(checkpoints.items()):
        if seq > last_seq:
            return ChainVerification(
                count,
                False,
                last_seq + 1,
                None,
                f"外部检查点记录到序号 {seq}，日志只到 {last_seq}：尾部被截断",
            )
        if hashes_by_seq.get(seq) != digest:
            return ChainVerification(count, False, seq, None, f"序号 {seq} 与外部检查点不符")
    return ChainVerification(count, True)


def read_checkpoints(path: Path | None) -> dict[int, str]:
    """The external checkpoints: one line "seq hash written_at" per checkpoint."""
    if path is None or not path.exists():
        return {}
    result: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit():
            result[int(parts[0])] = parts[1]
    return result


def write_checkpoint(session: Session, path: Path, *, at: datetime) -> tuple[int, str] | None:
    """Append the current chain head to the checkpoint file (kept outside the database)."""
    head = session.get(AuditChainHead, 1)
    if head is None or head.last_seq == 0:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{head.last_seq} {head.last_hash} {at.isoformat()}\n")
    return head.last_seq, head.last_hash


def list_records(
    session: Session, *, limit: int = 100, before_seq: int | None = None
) -> list[AuditRecord]:
    """The newest records first (optionally those before a sequence number, for paging)."""
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if before_seq is not None:
        stmt = stmt.where(AuditRecord.seq < before_seq)
    return list(session.scalars(stmt))
