"""Disbursement (发放): programmes for the catalogue's payout items, payee lists validated against
the registry, the card and the bank account, maker-checker approval that reserves the money,
per-bank send files through the outbox, return files that post or release each line, the
reconciliation of every batch, and the correction queue (DESIGN §4, STYLE §6)."""
