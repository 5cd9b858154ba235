"""Value types and pure helpers with no I/O: ResidentId (GB 11643), Money (integer fen), Clock,
masking rules, SM3/SM4 helpers.

Everything here is deterministic given its inputs (the clock is injected, keys are passed in).
Nothing in kernel imports another socialcard package except socialcard.errors.
"""
