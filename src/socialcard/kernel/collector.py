"""Pausing Python's cyclic garbage collector while a million-row loop builds plain rows.

Rows of strings, integers and bytes form no reference cycles, but every few hundred new
objects the collector runs and its full passes rescan every row built so far: about a sixth of
the time of reading a city-wide payee list. Reference counting still frees everything as usual
while the collector is paused. The pause is counted, so that two threads of one process (the web
server) pausing at once leave it as they found it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off; it is back as it was when the last
    overlapping pause ends."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
