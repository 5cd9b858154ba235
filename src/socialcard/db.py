"""Database foundations: the declarative Base with a naming convention, portable column types,
the engine factory (SQLite pragmas) and the transaction boundary.

SQLite is the embedded default (WAL, synchronous=FULL because it will hold money, foreign keys on);
PostgreSQL via psycopg 3 is production. Entry points own transactions: services never commit.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, Result
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(members: type[StrEnum], name: str, *, length: int) -> SAEnum:
    """A lifecycle enum stored as its lowercase value in a VARCHAR with a named CHECK, the same
    on SQLite and PostgreSQL (STYLE §3: no native enum, no ALTER TYPE migrations)."""
    return SAEnum(
        members,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda ms: [m.value for m in ms],
    )


# The info key of a foreign key that PostgreSQL checks once per statement (decision 0016).
CHECKED_PER_STATEMENT = "checked_per_statement"


def statement_checked_key(target: str) -> ForeignKey:
    """A foreign key of an append-heavy table that takes a million rows in one statement (a
    batch's lines, the card uses and messages of its return). SQLite keeps it as a foreign key.
    On PostgreSQL it is not a constraint but a trigger that checks every row of a statement at
    once, with the same error (SQLSTATE 23503, the constraint's name), and the referenced table
    refuses DELETE and a change of its key instead of locking each referenced row (decision
    0016, migration 0020). `alembic check` leaves these keys out on PostgreSQL (migrations/env)."""
    return ForeignKey(target, info={CHECKED_PER_STATEMENT: True})


def is_checked_per_statement(key: ForeignKey) -> bool:
    return bool(key.info.get(CHECKED_PER_STATEMENT))


@contextmanager
def keys_from_their_rows(session: Session) -> Iterator[None]:
    """For the statements of the block, which write a bulk table's keys as they read them from
    the referenced rows (a person's id from the persons it joins) or from a column already
    checked against them (a checked line's holder): on PostgreSQL their triggers skip the
    key checks that could not find one missing — the referenced tables refuse DELETE and a
    change of key — a lookup per row, or a hash of the whole referenced table for a big
    statement. The few-valued keys (a batch, a county) are still checked once per value, and
    every other statement is checked as before (decision 0021, migration 0024). SQLite checks
    its foreign keys as it writes."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    # Transaction-local: a rollback takes it back with the statements it was for.
    connection.exec_driver_sql("SELECT set_config('socialcard.keys_from_their_rows', 'on', true)")
    try:
        yield
    finally:
        if _still_in_transaction(connection):
            connection.exec_driver_sql(
                "SELECT set_config('socialcard.keys_from_their_rows', '', true)"
            )


def _still_in_transaction(connection: Connection) -> bool:
    """Whether the PostgreSQL transaction a block's SET LOCAL was made in still takes
    statements. Not when it ended (its settings ended with it), nor after a failed statement: it
    then takes no other until it is rolled back, and the rollback undoes the settings too (a
    statement sent now would only hide the error)."""
    from psycopg.pq import TransactionStatus

    if connection.closed or not connection.in_transaction():
        return False
    driver = connection.connection.driver_connection
    return driver is not None and driver.info.transaction_status != TransactionStatus.INERROR


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(
    database_url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 10
) -> Engine:
    """Create the engine; on SQLite set the pragmas the platform relies on."""
    if database_url.startswith("postgresql"):
        engine = create_engine(
            database_url,
            echo=echo,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
    else:
        engine = create_engine(database_url, echo=echo)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores foreign keys unless told so on each connection, and the sqlite3 driver's
    # own transaction handling breaks SAVEPOINTs: hand transactions to SQLAlchemy.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 64 MiB of page cache per connection: bulk work (an import chunk, a migrated history)
    # stays in memory until commit instead of spilling pages into the WAL mid-transaction.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one failing
    # with "database is locked" half-way through its transaction.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def bulk_insert(
    session: Session, table: Table | FromClause, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many rows in the session's transaction, set-based: COPY on PostgreSQL, one
    multi-row INSERT per batch elsewhere. Rows are plain column-value mappings."""
    if not rows:
        return
    if not isinstance(table, Table):
        raise TypeError("bulk_insert needs a Table")
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, table, rows)
        return
    _sqlite_rows(connection, table, rows)


_READ_DONE = object()


def read_ahead_all(
    results: Iterable[Result[Any]], *, partitions: int = 2
) -> Generator[Any, None, None]:
    """The rows of streamed results (`yield_per`), one result after the other, with a thread
    fetching the next partitions while the caller works on the ones at hand: the database
    produces rows while Python spends its time on them (the send files: the join in PostgreSQL,
    the decryption here). `results` is iterated in the fetching thread, so a generator that
    executes each query when asked runs the next query while the caller works on the last rows
    of the one before. The thread alone uses the connection until the rows are done or the
    caller stops; the caller must not use it meanwhile. PostgreSQL only: an SQLite connection
    stays in the thread that opened it."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=partitions)
    stop = threading.Event()

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for result in results:
                # Closed here, in the thread that uses the connection, even when stopped early.
                with closing(result):
                    for partition in result.partitions():
                        if not hand_over(partition):
                            return
            hand_over(_READ_DONE)
        except BaseException as error:  # handed to the caller, raised there
            hand_over(error)

    thread = threading.Thread(target=fetch, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _READ_DONE:
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        # A caller that stops early (an error of its own) waits for the fetch under way, so
        # the connection is free again when this returns.
        stop.set()
        thread.join()


def bulk_insert_tuples(
    session: Session, table: Table, rows: Iterable[Sequence[Any]], *, chunk: int = 10_000
) -> None:
    """Insert many rows given as plain tuples in the table's column order (a staging table of a
    million lines): COPY on PostgreSQL with no conversion per row, multi-row INSERTs elsewhere.
    Values must be what the driver takes as they are (no enums, no JSON)."""
    connection = session.connection()
    names = [c.name for c in table.columns]
    if connection.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in names)
        raw = connection.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy,
        ):
            write = copy.write_row
            for row in rows:
                write(row)
        return
    statement = insert(table)
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(dict(zip(names, row, strict=True)))
        if len(batch) >= chunk:
            connection.execute(statement, batch)
            batch = []
    if batch:
        connection.execute(statement, batch)


def _plain_insert(table: Table, names: Sequence[str]) -> str:
    quoted = ", ".join(f'"{name}"' for name in names)
    return f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" for _ in names)})'


def _sqlite_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The SQLite side of bulk_insert: each column's bind processor looked up once and applied to
    plain tuples, one executemany — SQLAlchemy's own executemany builds and processes a parameter
    dict per row (about half of a bulk insert's time). As through SQLAlchemy with render_nulls: a
    column the first row leaves out takes its scalar default, or is left to the database; a key a
    later row leaves out is NULL. A table whose left-out columns have computed defaults goes
    through SQLAlchemy."""
    dialect = connection.dialect
    given = rows[0].keys()
    missing = [c for c in table.columns if c.name not in given and c.default is not None]
    if any(not c.default.is_scalar for c in missing):  # type: ignore[union-attr]
        # render_nulls keeps one statement for rows whose missing values differ.
        connection.execute(insert(table).execution_options(render_nulls=True), list(rows))
        return
    columns = [c for c in table.columns if c.name in given]
    names = [c.name for c in columns]
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    # Scalar defaults of the columns the rows leave out, converted once.
    fixed: list[Any] = []
    for c in missing:
        value = c.default.arg  # type: ignore[union-attr]
        process = c.type.dialect_impl(dialect).bind_processor(dialect)
        names.append(c.name)
        fixed.append(process(value) if process is not None and value is not None else value)
    tail = tuple(fixed)
    given_names = [c.name for c in columns]
    # Processors are pure: a value seen before in a column (the same instant, the same enum
    # member — most rows of a batch share them) is converted once.
    converting: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (i, p, {}) for i, p in enumerate(processors) if p is not None
    ]
    values: list[tuple[Any, ...]] = []
    append = values.append
    for row in rows:
        get = row.get
        converted = [get(name) for name in given_names]
        for i, convert, seen in converting:
            value = converted[i]
            if value is None:
                continue
            try:
                converted[i] = seen[value]
            except KeyError:
                converted[i] = seen[value] = convert(value)
                if len(seen) > 4096:
                    seen.clear()
            except TypeError:  # unhashable (a JSON document)
                converted[i] = convert(value)
        append((*converted, *tail))
    connection.exec_driver_sql(_plain_insert(table, names), values)


def _copy_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    # Only enums (stored by value) and JSON need converting, and UTC columns checking; psycopg
    # dumps the other types.
    columns = [c for c in table.columns if c.name in rows[0] or not c.primary_key]
    names = [c.name for c in columns]
    defaults = {
        c.name: c.default.arg  # type: ignore[attr-defined]
        for c in columns
        if c.default is not None and c.default.is_scalar
    }
    converted = [
        i
        for i, c in enumerate(columns)
        if isinstance(c.type, SAEnum | JSON | UTCDateTime) or c.name in defaults
    ]
    quoted = ", ".join(f'"{name}"' for name in names)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            values = [row.get(name) for name in names]
            for i in converted:
                value = values[i]
                if value is None:
                    value = defaults.get(names[i])
                if isinstance(value, Enum):
                    value = value.value
                elif isinstance(value, dict | list):
                    value = json.dumps(value, ensure_ascii=False)
                elif isinstance(value, datetime) and value.tzinfo is None:
                    raise ValueError(f"naive datetime given to a UTC column: {names[i]}")
                values[i] = value
            copy.write_row(values)


def dialect_insert(session: Session, entity: Any) -> Any:
    """The session's dialect's INSERT for a mapped class or table, which knows ON CONFLICT (both
    SQLite and PostgreSQL do). SQLAlchemy cannot cache these: each execution compiles the
    statement again, so a path taken on every request writes its statement once as text."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(entity)
    return sqlite_insert(entity)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit everything the block did, or roll all of it back."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def exclusive_job(engine: Engine, name: str) -> Iterator[None]:
    """Hold a lock named `name` across processes and hosts for the duration of a job that talks
    to the outside (a relay of bank files must never run twice at once). PostgreSQL: a session
    advisory lock on a connection of its own; SQLite: an exclusive file lock beside the database
    file. Either is released by the operating system or the server when the process dies, so a
    job killed mid-way never leaves a lock behind."""
    import zlib

    if engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode()) - (1 << 31)
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
            # A session-level lock outlives the transaction: end it, so the connection does not
            # sit idle in a transaction for the whole job (vacuum, idle-in-transaction timeouts).
            connection.commit()
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
                connection.commit()
        return
    import fcntl
    from pathlib import Path

    database = engine.url.database or ""
    path = Path(f"{database}.{name}.lock") if database else None
    if path is None or database == ":memory:":
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def temporary_table(name: str, *columns: Column[Any]) -> Table:
    """A scratch table for one transaction's set-based work (a staged list, a bank's answers):
    TEMPORARY, dropped at commit on PostgreSQL. SQLite keeps it for the connection: whoever
    creates it there drops it when done."""
    return Table(name, MetaData(), *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


@contextmanager
def scratch_table(session: Session, table: Table) -> Iterator[Table]:
    """Create a temporary_table in the session's transaction for the block's statements.
    PostgreSQL drops it at commit (or rollback); SQLite keeps it for the connection, so it is
    dropped here when the block ends."""
    connection = session.connection()
    table.create(connection)
    try:
        yield table
    finally:
        if connection.dialect.name != "postgresql":
            table.drop(connection)


def empty_scratch_table(session: Session, table: Table) -> None:
    """Remove every row of a scratch_table for its next use in the transaction: TRUNCATE on
    PostgreSQL (a table emptied by DELETE keeps its dead rows until the transaction ends, and
    every later scan reads them), DELETE on SQLite."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f'TRUNCATE "{table.name}"')
    else:
        connection.execute(table.delete())


def in_thread_while_produced(items: Iterable[T], consume: Callable[[T], None]) -> None:
    """Consume each item in a thread of its own while the caller's thread produces the next
    (a slice of a list validated in the database while the next slice is read). The thread
    alone uses whatever `consume` uses (a session's connection) until it is done: the first
    error of either side stops both and is raised here, after the thread ended. PostgreSQL
    only, as read_ahead_all: an SQLite connection stays in the thread that opened it."""
    handed: queue.Queue[tuple[T] | None] = queue.Queue(maxsize=1)
    failed: list[BaseException] = []

    def work() -> None:
        while (item := handed.get()) is not None:
            if failed:
                continue  # drain what was handed before the producer saw the error
            try:
                consume(item[0])
            except BaseException as error:  # raised in the caller's thread below
                failed.append(error)

    worker = threading.Thread(target=work, name="consume", daemon=True)
    worker.start()
    try:
        for item in items:
            if failed:
                break
            handed.put((item,))
    finally:
        handed.put(None)
        worker.join()
    if failed:
        raise failed[0]


def plan_key_lookups(session: Session) -> None:
    """For reads in this transaction that take a slice of a big table (one bank's lines of a
    million-line batch) and join each of its rows to other big tables by their primary keys:
    on PostgreSQL, look each key up in its index, in this one process, without compiling the
    plan (JIT). The planner, pricing each index lookup as a disk read, would otherwise hash the
    whole of every joined table for every slice, with parallel workers: about 2 s of CPU per
    bank of W3 against 0.85 s (decision 0018). `SET LOCAL` ends with the transaction; SQLite
    has no such settings."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        for setting in (
            "enable_hashjoin = off",
            "enable_mergejoin = off",
            "max_parallel_workers_per_gather = 0",
            "jit = off",
        ):
            connection.exec_driver_sql(f"SET LOCAL {setting}")


@contextmanager
def key_lookups(session: Session) -> Iterator[None]:
    """No hash or merge joins for the block's statements (plan_key_lookups holds for the whole
    transaction): a join of a bank's answers to a million-line batch by its unique key looks
    each line up instead of reading and hashing all of them, and the statements after the block
    are planned as before (the settings are put back as they were). SQLite has no such
    settings."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    settings = ("enable_hashjoin", "enable_mergejoin")
    before = {
        setting: connection.exec_driver_sql(f"SELECT current_setting('{setting}')").scalar()
        for setting in settings
    }
    for setting in settings:
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")
    try:
        yield
    finally:
        if _still_in_transaction(connection):
            for setting, value in before.items():
                connection.exec_driver_sql(
                    f"SET LOCAL {setting} = {'on' if value == 'on' else 'off'}"
                )


def give_batch_memory(session: Session, megabytes: int = 256) -> None:
    """For one big set-based statement in this transaction (a million-line batch): enough
    work memory on PostgreSQL for its hashes and sorts to stay in memory instead of spilling to
    disk. `SET LOCAL` ends with the transaction; SQLite has no such setting."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{int(megabytes)}MB'")
