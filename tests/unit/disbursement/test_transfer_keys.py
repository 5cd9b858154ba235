"""A bank file's reservation key names its bank, and the runner reads a batch's banks back from
those keys (decision 0021): the two must stay each other's inverse."""

from __future__ import annotations

from socialcard.disbursement.services import bank_batch_no, file_transfer_key, reserved_bank


def test_a_reservation_key_gives_back_its_bank() -> None:
    for bank in ("ABC", "BOHN", "HNRCU", "PSBC"):
        key = file_transfer_key(bank_batch_no("DF2026120100001", bank), "reserve")
        assert reserved_bank("DF2026120100001", key) == bank


def test_other_keys_name_no_bank() -> None:
    batch = "DF2026120100001"
    for key in (
        file_transfer_key(bank_batch_no(batch, "ABC"), "post"),
        file_transfer_key(bank_batch_no(batch, "ABC"), "void"),
        file_transfer_key(bank_batch_no("DF2026120100002", "ABC"), "reserve"),
        file_transfer_key(bank_batch_no(batch, ""), "reserve"),
        "batch:DF2026120100001:reserve",
    ):
        assert reserved_bank(batch, key) is None
