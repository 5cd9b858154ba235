"""Payments (缴费): collections from the card's bank account. Fee schedules per department,
payment orders any area can raise (fees, tuition; contributions and medical self-pay later),
real-time debits through the bank gateway with the reservation posted only when the bank says
collected, unknown outcomes settled by asking the bank (never by sending again), full refunds
credited back and reversed in the ledger. An order is debited at most once: its row is locked
and its end-to-end id is stored before the bank is called. Never imports disbursement."""
