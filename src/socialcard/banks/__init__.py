"""Banks: the bank gateway port, the exchange file formats, the outbox of bank files, and the two
adapters (file exchange with the partner banks, and the sandbox bank, a real simulator).

Invariants: a send file is rendered deterministically and stored before it is sent; a file that
may have reached the bank is asked about (batch_received), never sent again; no database
transaction is open while the bank is called. This area moves no ledger money itself and imports
no other business area: disbursement and collections drive it.
"""
