"""The ledger for the finance bureau and auditors: account balances and statements, and the
verification that proves the books."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from socialcard.api.routes import api_router
from socialcard.http.context import DbSession
from socialcard.ledger import queries

router = api_router("/ledger", "ledger")


class BalanceOut(BaseModel):
    code: str
    name: str
    normal_side: str
    has_floor: bool
    posted_minor: int
    available_minor: int
    debits_pending_minor: int
    credits_pending_minor: int


class TransferOut(BaseModel):
    transfer_key: str
    created_at: datetime
    kind: str
    phase: str
    counterpart: str
    reference: str
    amount_minor: int


class VerificationOut(BaseModel):
    ok: bool
    transfers: int
    accounts: int
    debits_posted_minor: int
    credits_posted_minor: int
    problems: list[str]


@router.get("/accounts", response_model=list[BalanceOut])
def accounts(
    session: DbSession, prefix: Annotated[str | None, Query(max_length=120)] = None
) -> list[BalanceOut]:
    """Accounts (by code prefix, e.g. programme:) with balances derived from their transfers."""
    result = []
    for account in queries.list_accounts(session, prefix=prefix)[:500]:
        balance = queries.get_balance(session, account.code)
        result.append(
            BalanceOut(
                code=account.code,
                name=account.name,
                normal_side=account.normal_side.value,
                has_floor=account.has_floor,
                posted_minor=balance.posted,
                available_minor=balance.available,
                debits_pending_minor=balance.debits_pending,
                credits_pending_minor=balance.credits_pending,
            )
        )
    return result


@router.get("/accounts/{code}/transfers", response_model=list[TransferOut])
def transfers(
    code: str,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query()] = None,
) -> list[TransferOut]:
    """The account's statement, newest first; amounts signed on the account's normal side."""
    return [
        TransferOut(
            transfer_key=line.transfer_key,
            created_at=line.created_at,
            kind=line.kind,
            phase=line.phase.value,
            counterpart=line.counterpart,
            reference=line.reference,
            amount_minor=line.amount_minor,
        )
        for line in queries.list_transfers(session, code, limit=limit, before_id=before_id)
    ]


@router.get("/verification", response_model=VerificationOut)
def verification(session: DbSession) -> VerificationOut:
    """Prove the books now: debits = credits, balance rows = transfers, floors hold, every
    bank file's reservation equals its lines."""
    from socialcard.disbursement.reconciliation import verify_file_reservations

    report = queries.verify_ledger(session)
    report.problems += verify_file_reservations(session)
    return VerificationOut(
        ok=report.ok,
        transfers=report.transfers,
        accounts=report.accounts,
        debits_posted_minor=report.debits_posted,
        credits_posted_minor=report.credits_posted,
        problems=report.problems,
    )
