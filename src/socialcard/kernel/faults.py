"""Named crash points for the kill tests (RELIABILITY A5). When the environment variable
SOCIALCARD_CRASH_AT names a point, the process kills itself with SIGKILL on reaching it — no
cleanup, no flush, as a power cut would. Unset (always, outside those tests) it costs one lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_VARIABLE = "SOCIALCARD_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
