"""The ledger: accounts, immutable two-sided transfers in integer fen, pending → posted | voided,
balances derived from transfers (DESIGN §4, STYLE §4)."""
