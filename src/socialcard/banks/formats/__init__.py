"""Bank exchange file formats: pure functions from frozen values to bytes and back (docs/banks.md).
No I/O, no clock, no database; golden-file tested in GBK and UTF-8."""
