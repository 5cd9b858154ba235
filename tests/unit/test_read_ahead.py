"""db.read_ahead: a streamed result read by a thread one partition ahead of its caller (the send
files of a city-wide batch). Every row arrives once and in order, a failure of the fetch reaches
the caller, and a caller that stops early leaves no thread behind holding the connection."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Any, cast

import pytest

from socialcard.db import read_ahead


class _Streamed:
    """What read_ahead uses of a SQLAlchemy result: partitions(), fetched one at a time."""

    def __init__(self, partitions: int, size: int, *, fail_at: int | None = None) -> None:
        self.partitions_total = partitions
        self.size = size
        self.fail_at = fail_at
        self.fetched = 0
        self.fetching_thread: str | None = None

    def partitions(self) -> Iterator[list[tuple[int]]]:
        for number in range(self.partitions_total):
            self.fetching_thread = threading.current_thread().name
            if number == self.fail_at:
                raise ConnectionError("server closed the connection")
            self.fetched += 1
            yield [(number * self.size + i,) for i in range(self.size)]


def _ahead(streamed: _Streamed) -> Generator[Any, None, None]:
    return read_ahead(cast(Any, streamed))


def test_every_row_arrives_once_in_order_fetched_by_another_thread() -> None:
    streamed = _Streamed(partitions=9, size=1000)
    rows = [row[0] for row in _ahead(streamed)]
    assert rows == list(range(9000))
    assert streamed.fetching_thread == "read-ahead"


def test_a_failed_fetch_reaches_the_caller_after_the_rows_before_it() -> None:
    streamed = _Streamed(partitions=5, size=10, fail_at=3)
    seen: list[int] = []

    def read_all() -> None:
        for row in _ahead(streamed):
            seen.append(row[0])

    with pytest.raises(ConnectionError):
        read_all()
    assert seen == list(range(30))


def test_a_caller_that_stops_early_leaves_no_fetching_thread() -> None:
    streamed = _Streamed(partitions=1000, size=10)
    rows = _ahead(streamed)
    assert next(rows) == (0,)
    rows.close()  # what a `for` loop left by an exception does
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
    # It fetched at most a few partitions ahead of the one in use, not the whole result.
    assert streamed.fetched <= 5
