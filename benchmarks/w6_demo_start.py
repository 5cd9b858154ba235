"""W6: `socialcard serve --demo` from an empty directory to the first page served (PERFORMANCE.md:
≤ 20 s), measured as a person would: a new directory, the command started, the home page asked for
until it answers.

    python benchmarks/w6_demo_start.py                 # the real demo (20,000 residents)
    python benchmarks/w6_demo_start.py --residents 2000

Prints the wall-clock seconds to the first page, the CPU seconds the server process used until
then (the demo is CPU-bound on one core, so CPU seconds are the figure that survives a shared,
noisy machine) and the page's status. The server is stopped and the directory removed afterwards
unless --keep.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TARGET_SECONDS = 20.0
DEADLINE_SECONDS = 600.0


@dataclass(frozen=True)
class W6Result:
    residents: int
    seconds: float
    cpu_seconds: float
    status: int

    @property
    def served(self) -> bool:
        return self.status == 200

    def describe(self, *, smoke: bool = False) -> str:
        verdict = (
            "smoke"
            if smoke
            else ("pass" if self.served and self.seconds <= TARGET_SECONDS else "fails")
        )
        return (
            f"W6 demo start: {self.residents:,} residents, first page HTTP {self.status} after "
            f"{self.seconds:.1f} s ({self.cpu_seconds:.1f} s CPU), "
            f"target ≤ {TARGET_SECONDS:.0f} s: {verdict}"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the process (and of children it has waited for), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)
    except OSError:
        return None


def run_w6(*, residents: int = 20_000, keep: bool = False) -> W6Result:
    workdir = Path(tempfile.mkdtemp(prefix="socialcard-w6-"))
    port = _free_port()
    executable = Path(sys.executable).with_name("socialcard")
    command = [str(executable), "serve", "--demo", "--port", str(port)]
    command += ["--residents", str(residents)]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("SOCIALCARD_")
    }
    log = (workdir / "serve.log").open("wb")
    started = time.perf_counter()
    server = subprocess.Popen(
        command, cwd=workdir, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    status: int | None = None
    cpu = 0.0
    try:
        while time.perf_counter() - started < DEADLINE_SECONDS:
            if server.poll() is not None:
                raise RuntimeError(f"serve --demo exited with {server.returncode}; see {log.name}")
            status = _status(f"http://127.0.0.1:{port}/")
            if status is not None:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if status is None:
        raise RuntimeError(f"no page within {DEADLINE_SECONDS:.0f} s")
    return W6Result(residents=residents, seconds=seconds, cpu_seconds=cpu, status=status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="W6: serve --demo to the first page.")
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the demo directory")
    arguments = parser.parse_args(argv)
    result = run_w6(residents=arguments.residents, keep=arguments.keep)
    print(result.describe())
    return 0 if result.served else 1


if __name__ == "__main__":
    sys.exit(main())
