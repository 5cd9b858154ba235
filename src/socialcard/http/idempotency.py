"""Idempotency keys for unsafe requests (RELIABILITY A2, Stripe semantics).

The key is claimed by inserting its record first, in the same transaction as the effect: a
concurrent request with the same key waits on the unique key until the first commits, then reads
and replays its stored response. Same key with another body: 409 idempotency_key_reused. A request
refused by a business rule stores nothing (the transaction rolled back), so the same key may be
retried. Records are kept RETENTION_DAYS (docs/errors.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from fastapi.responses import Response
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialcard.access.models import IdempotencyRecord
from socialcard.bootstrap import Platform
from socialcard.db import transaction
from socialcard.errors import Conflict, InvalidField
from socialcard.http.context import RequestContext
from socialcard.kernel.crypto import sm3_hex

RETENTION_DAYS: Final = 7
KEY_PATTERN: Final = re.compile(r"^[A-Za-z0-9_.:-]{8,80}$")
PENDING = -1


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__("该幂等键已用于另一笔不同内容的请求。", idempotency_key=key)


def caller_of(context: RequestContext) -> str:
    if context.terminal is not None:
        return f"terminal:{context.terminal.terminal_code}"
    principal = context.require_principal()
    return f"staff:{principal.staff_id}"


def check_key(key: str | None) -> str:
    if key is None or not KEY_PATTERN.match(key):
        raise InvalidField(
            "Idempotency-Key",
            "required",
            "请求头 Idempotency-Key 必填，8–80 位字母、数字或 _.:-。",
        )
    return key


def run_once(
    platform: Platform,
    context: RequestContext,
    *,
    key: str | None,
    route: str,
    body: dict[str, Any],
    operation: Callable[[Session], tuple[int, dict[str, Any]]],
) -> tuple[int, str]:
    """Run `operation` (it returns status and JSON body) at most once per caller and key; the
    status and the JSON text, byte-identical on a replay."""
    key = check_key(key)
    caller = caller_of(context)
    request_hash = sm3_hex(json.dumps([route, body], sort_keys=True, default=str).encode())
    with platform.session() as session:
        for _ in range(2):
            stored = _stored(session, caller, key)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise IdempotencyKeyReused(key)
                return stored.status_code, stored.response
            try:
                with transaction(session):
                    record = IdempotencyRecord(
                        caller=caller,
                        key=key,
                        route=route,
                        request_hash=request_hash,
                        status_code=PENDING,
                        response="",
                        created_at=platform.clock.now(),
                    )
                    session.add(record)
                    session.flush()  # claims the key; a concurrent twin waits here
                    status, response = operation(session)
                    text = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
                    record.status_code, record.response = status, text
                return status, text
            except IntegrityError:
                session.rollback()
                continue  # the twin committed first: replay its response
    raise RuntimeError("idempotency record neither stored nor claimable")


class IdempotentRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"

    def __init__(self, key: str) -> None:
        super().__init__(
            "使用该幂等键的请求仍在处理中，请稍后以同一幂等键重试。", idempotency_key=key
        )


TAKEOVER_SECONDS: Final = 300


def json_once(
    platform: Platform,
    context: RequestContext,
    *,
    key: str | None,
    route: str,
    body: dict[str, Any],
    operation: Callable[[Session], tuple[int, dict[str, Any]]],
) -> Response:
    """run_once, answered as the JSON response the API returns (byte-identical on a replay)."""
    status, text = run_once(platform, context, key=key, route=route, body=body, operation=operation)
    return Response(text, status_code=status, media_type="application/json")


def run_once_around_calls(
    platform: Platform,
    context: RequestContext,
    *,
    key: str | None,
    route: str,
    body: dict[str, Any],
    operation: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, str]:
    """run_once for an operation that calls another system (a bank) between transactions of its
    own, so it cannot run inside the key's transaction: the key is claimed and committed first,
    the operation runs with no transaction open, and its answer is stored after. The operation
    must itself be safe to run again (a payment locks its order and never debits twice): a
    twin arriving while the first still runs gets 409 idempotency_request_in_progress, a claim
    left by a crash is taken over after TAKEOVER_SECONDS, and a refusal frees the key."""
    key = check_key(key)
    caller = caller_of(context)
    request_hash = sm3_hex(json.dumps([route, body], sort_keys=True, default=str).encode())
    with platform.session() as session:
        for _ in range(3):
            stored = _stored(session, caller, key)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise IdempotencyKeyReused(key)
                if stored.status_code != PENDING:
                    return stored.status_code, stored.response
                if not _take_over(session, platform, stored):
                    raise IdempotentRequestInProgress(key)
                break
            try:
                with transaction(session):
                    session.add(
                        IdempotencyRecord(
                            caller=caller,
                            key=key,
                            route=route,
                            request_hash=request_hash,
                            status_code=PENDING,
                            response="",
                            created_at=platform.clock.now(),
                        )
                    )
                break
            except IntegrityError:
                session.rollback()
        else:
            raise IdempotentRequestInProgress(key)
    mine = (IdempotencyRecord.caller == caller) & (IdempotencyRecord.key == key)
    try:
        status, response = operation()
    except BaseException:
        with platform.session() as session, transaction(session):
            session.execute(
                delete(IdempotencyRecord).where(mine, IdempotencyRecord.status_code == PENDING)
            )
        raise
    text = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
    with platform.session() as session, transaction(session):
        session.execute(
            update(IdempotencyRecord).where(mine).values(status_code=status, response=text)
        )
    return status, text


def _take_over(session: Session, platform: Platform, stored: IdempotencyRecord) -> bool:
    """Claim a pending record whose request died (older than TAKEOVER_SECONDS), atomically."""
    now = platform.clock.now()
    if stored.created_at > now - timedelta(seconds=TAKEOVER_SECONDS):
        return False
    with transaction(session):
        taken = session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.caller == stored.caller,
                IdempotencyRecord.key == stored.key,
                IdempotencyRecord.status_code == PENDING,
                IdempotencyRecord.created_at == stored.created_at,
            )
            .values(created_at=now)
        )
    return bool(getattr(taken, "rowcount", 0))


def _stored(session: Session, caller: str, key: str) -> IdempotencyRecord | None:
    with transaction(session):
        return session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
            )
        ).first()


def purge_idempotency_records(session: Session, *, platform: Platform) -> int:
    cutoff = platform.clock.now() - timedelta(days=RETENTION_DAYS)
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def json_once_around_calls(
    platform: Platform,
    context: RequestContext,
    *,
    key: str | None,
    route: str,
    body: dict[str, Any],
    operation: Callable[[], tuple[int, dict[str, Any]]],
) -> Response:
    """run_once_around_calls, answered as the API's JSON response."""
    status, text = run_once_around_calls(
        platform, context, key=key, route=route, body=body, operation=operation
    )
    return Response(text, status_code=status, media_type="application/json")
