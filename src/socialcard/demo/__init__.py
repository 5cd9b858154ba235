"""The synthetic demo city: a household register for Yongzhou, reference institutions, demo staff.

Everything here is invented but shaped like the real city (census populations per county, a
Hunan age pyramid, checksum-valid ID numbers with the right historical address codes) so that the
demo, the tests and the benchmarks exercise the real import. Output is deterministic per seed.
It holds no business rules of its own: it writes files and calls the areas' own services.
"""
