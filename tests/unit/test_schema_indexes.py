"""No index repeats what another index of its table already gives: every row written pays for
each index, and an index on the leading column of a composite (or unique) index serves no
lookup the composite does not. The models are what ``gridops db check`` holds the migrations
to, so checking them checks the schema."""

from __future__ import annotations

import sqlalchemy as sa

import server.app  # noqa: F401 - imports every model
from server.core.db import Base


def _partial(index: sa.Index) -> bool:
    return any(index.dialect_options[d].get("where") is not None
               for d in ("postgresql", "sqlite"))


def _plain_columns(index: sa.Index) -> tuple[str, ...] | None:
    """The index's column names, or None for an expression or partial index."""
    if _partial(index) or any(not isinstance(e, sa.Column) for e in index.expressions):
        return None
    return tuple(c.name for c in index.columns)


def redundant_indexes(metadata: sa.MetaData) -> list[str]:
    found = []
    for table in metadata.tables.values():
        covering = [tuple(c.name for c in table.primary_key.columns)]
        covering += [tuple(c.name for c in u.columns) for u in table.constraints
                     if isinstance(u, sa.UniqueConstraint)]
        plain = {index.name: _plain_columns(index) for index in table.indexes}
        covering += [columns for columns in plain.values() if columns]
        for index in table.indexes:
            columns = plain[index.name]
            if columns is None or index.unique:
                continue
            if sum(c[:len(columns)] == columns for c in covering) > 1:  # itself and another
                found.append(f"{table.name}.{index.name} {columns}")
    return found


def test_no_index_is_the_leading_part_of_another_on_its_table():
    assert redundant_indexes(Base.metadata) == []


def test_the_check_finds_a_redundant_index():
    metadata = sa.MetaData()
    table = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("a", sa.Integer, index=True), sa.Column("b", sa.Integer),
                     sa.UniqueConstraint("a", "b"))
    sa.Index("ix_t_b_partial", table.c.b, postgresql_where=table.c.a > 0)
    assert redundant_indexes(metadata) == ["t.ix_t_a ('a',)"]
