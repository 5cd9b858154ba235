"""db.read_ahead_all: a streamed result read by a thread one partition ahead of its caller (the send
files of a city-wide batch). Every row arrives once and in order, a failure of the fetch reaches
the caller, and a caller that stops early leaves no thread behind holding the connection.
It does the same over several results, one after the other (a bank's file each),
each closed by the fetching thread."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Any, cast

import pytest

from socialcard.db import read_ahead_all


class _Streamed:
    """What read_ahead_all uses of a SQLAlchemy result: partitions(), fetched one at a time."""

    def __init__(self, partitions: int, size: int, *, fail_at: int | None = None) -> None:
        self.partitions_total = partitions
        self.size = size
        self.fail_at = fail_at
        self.fetched = 0
        self.fetching_thread: str | None = None
        self.closed_by: str | None = None

    def close(self) -> None:
        self.closed_by = threading.current_thread().name

    def partitions(self) -> Iterator[list[tuple[int]]]:
        for number in range(self.partitions_total):
            self.fetching_thread = threading.current_thread().name
            if number == self.fail_at:
                raise ConnectionError("server closed the connection")
            self.fetched += 1
            yield [(number * self.size + i,) for i in range(self.size)]


def _ahead(streamed: _Streamed) -> Generator[Any, None, None]:
    return read_ahead_all([cast(Any, streamed)])


def test_every_row_arrives_once_in_order_fetched_by_another_thread() -> None:
    streamed = _Streamed(partitions=9, size=1000)
    rows = [row[0] for row in _ahead(streamed)]
    assert rows == list(range(9000))
    assert streamed.fetching_thread == "read-ahead"
    assert streamed.closed_by == "read-ahead"


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
    assert streamed.closed_by == "read-ahead"


def test_several_results_arrive_one_after_the_other_each_asked_for_when_reached() -> None:
    results = [_Streamed(partitions=3, size=10) for _ in range(4)]
    asked: list[str] = []

    def queries() -> Iterator[_Streamed]:
        for number, result in enumerate(results):
            asked.append(f"{number} in {threading.current_thread().name}")
            yield result

    rows = [row[0] for row in read_ahead_all(cast(Any, queries()))]
    assert rows == list(range(30)) * 4
    assert asked == [f"{n} in read-ahead" for n in range(4)]
    assert all(result.closed_by == "read-ahead" for result in results)


def test_a_caller_that_stops_in_the_second_result_leaves_the_third_unasked() -> None:
    results = [_Streamed(partitions=50, size=10) for _ in range(3)]
    asked: list[int] = []

    def queries() -> Iterator[_Streamed]:
        for number, result in enumerate(results):
            asked.append(number)
            yield result

    rows = read_ahead_all(cast(Any, queries()))
    for _ in range(500 + 15):
        next(rows)
    rows.close()
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
    assert asked == [0, 1]
    assert results[0].closed_by == results[1].closed_by == "read-ahead"
    assert results[1].fetched < 50
