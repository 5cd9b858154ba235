"""The enum CHECK constraints on SQLite, stored as OR chains instead of IN lists.

SQLite evaluates `status IN ('due', 'paid', 'transferred_out', 'cancelled')` in a CHECK by
building a temporary table of the list for every row it writes (lists of three values or more);
an equivalent `(status = 'due' OR status = 'paid' OR …)` costs what no check costs. Measured on
the demo's 110,885 contribution months (three enum checks): 1.21 s to insert with the IN lists,
0.38 s without any check; one four-value list alone 0.42 s against 0.12 s as an OR chain, per
110,000 rows. Every enum column of the platform carries such a check (SQLAlchemy renders them as
IN lists), so every insert on the embedded database paid it.

Migration 0016 rewrites the stored definitions in place (SQLite's documented procedure for
changes that leave the stored rows valid: writable_schema and a new schema_version). A migration
that creates a table with an enum column on SQLite calls `rewrite_in_lists` after it;
tests/integration/test_sqlite_checks.py fails when one does not. PostgreSQL plans IN lists well
and keeps them.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

# `col IN ('a', 'b', 'c')`: three values or more (SQLite handles one or two without a table).
_IN_LIST = re.compile(r"(?<![\w\"])(?!NOT\b)(\w+) IN \(('[^']*'(?:, '[^']*'){2,})\)")
_OR_CHAIN = re.compile(r"\((\w+) = '[^']*'(?: OR \1 = '[^']*'){2,}\)")
_LITERAL = re.compile(r"'[^']*'")


def as_or_chains(sql: str) -> str:
    """A table definition with each IN list of three values or more written as an OR chain."""

    def chain(match: re.Match[str]) -> str:
        column = match.group(1)
        values = _LITERAL.findall(match.group(2))
        return "(" + " OR ".join(f"{column} = {value}" for value in values) + ")"

    return _IN_LIST.sub(chain, sql)


def as_in_lists(sql: str) -> str:
    """The inverse of `as_or_chains` (for downgrades)."""

    def listed(match: re.Match[str]) -> str:
        values = _LITERAL.findall(match.group(0))
        return f"{match.group(1)} IN ({', '.join(values)})"

    return _OR_CHAIN.sub(listed, sql)


def in_lists_left(connection: Connection) -> list[str]:
    """Tables whose stored definition still has an IN list of three values or more."""
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
    ).all()
    return sorted(str(name) for name, sql in rows if _IN_LIST.search(str(sql)))


def rewrite_in_lists(connection: Connection, *, inverse: bool = False) -> int:
    """Store every table's IN lists as OR chains (or back, with `inverse`), in place, in the
    caller's transaction. SQLite only; returns how many table definitions changed."""
    if connection.dialect.name != "sqlite":
        return 0
    rewrite = as_in_lists if inverse else as_or_chains
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
    ).all()
    changed = [(str(name), rewrite(str(sql))) for name, sql in rows if rewrite(str(sql)) != sql]
    if not changed:
        return 0
    version = int(connection.exec_driver_sql("PRAGMA schema_version").scalar_one())
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    for name, sql in changed:
        connection.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, name)
        )
    connection.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema = OFF")
    return len(changed)
