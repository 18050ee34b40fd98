"""Upgrading a database that holds data, from every earlier revision to head, loses nothing.

For each revision before head: migrate an empty database to it, fill every table that
exists there (as reflected from the database, not as the models describe it today) with
a sparse row and a row with every column set, upgrade to head, and check that every row
is still there with every value it had. Columns added on the way must hold the value the
models give new rows (the migration's server default), or what a migration documents it
writes (a backfill). Last, the current models read all of it back through the ORM.

The filler is generic: a new migration, table or column is covered without editing this
file. A migration that renames, transforms or drops a column on purpose is listed below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.models import Base, Member, UTCDateTime, Workspace
from storage.store import Store, alembic_config

pytestmark = pytest.mark.postgres

_SCRIPTS = ScriptDirectory.from_config(alembic_config())
HEAD = _SCRIPTS.get_current_head()
# Oldest first: 0001, 0002, ... head.
REVISIONS = [script.revision for script in reversed(list(_SCRIPTS.walk_revisions()))]
EARLIER = REVISIONS[:-1]

Row = dict[str, Any]
# table -> primary key -> row
Snapshot = dict[str, dict[tuple[Any, ...], Row]]

# Columns a migration fills or rewrites on purpose: (table, column at head) -> (the
# revision that does it, what the column holds afterwards for a row written before that
# revision, given the row as it was and every table as it was). A rename is listed here
# (lambda old, _: old["old_name"]) and its old name in DROPPED.
CHANGED: dict[tuple[str, str], tuple[str, Callable[[Row, Snapshot], Any]]] = {
    # 0006: "existing members start from when they joined".
    ("members", "last_seen_at"): ("0006", lambda old, _: old["created_at"]),
    # 0009: "each counter starts from the member's highest id of its kind".
    ("members", "next_seq"): (
        "0009",
        lambda old, tables: _highest(tables, "outreach_requests", old),
    ),
    ("members", "next_meeting_seq"): (
        "0009",
        lambda old, tables: _highest(tables, "meetings", old),
    ),
}
# Columns a migration drops on purpose: (table, column) -> revision. Tables likewise.
DROPPED: dict[tuple[str, str], str] = {}
DROPPED_TABLES: dict[str, str] = {}

# JSON columns whose values have a shape the code relies on; others get GENERIC_JSON.
JSON_SAMPLES: dict[tuple[str, str], Any] = {
    ("workspaces", "holidays"): ["2026-12-25", "2027-01-01"],
    ("members", "muted_kinds"): ["thanks", "keep_in_touch"],
    ("practice_groups", "persona"): {
        "role": "Ingénieure données",
        "org": "Städtische Werke Zürich",
        "field": "énergie · 東京",
    },
}
GENERIC_JSON = {"note": "Zoë ß 東京 ✓", "list": [1, 2.5, True, None]}
TEXT = "Zoë's notes:\n• met at «Café Ünter» — 東京 😀\n\"quoted\" and 'quoted'"
STRING = "Zoë ß 東京 ✓ 😀 «ok»"
MOMENT = datetime(2026, 11, 1, 10, 0, 0, 123456)
# Row 1 sets only what it must (NOT NULL without a server default); row 2 sets everything.
SPARSE, FULL = 1, 2


def _highest(tables: Snapshot, items: str, member: Row) -> int:
    """The member's highest seq in ``items`` (0 when none)."""
    seqs = [row["seq"] for row in tables[items].values() if row["member_id"] == member["id"]]
    return max(seqs, default=0)


def _is_after(revision: str, start: str) -> bool:
    return REVISIONS.index(revision) > REVISIONS.index(start)


def _sample(table: sa.Table, column: sa.Column[Any], index: int, k: int) -> Any:
    """A value for ``column`` of row ``k``, distinct per column and per row."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return JSON_SAMPLES.get((table.name, column.name), GENERIC_JSON)
    if isinstance(kind, sa.Boolean):
        return k == SPARSE
    if isinstance(kind, sa.Integer):
        return 100 * k + index
    if isinstance(kind, sa.Numeric):  # Float too
        return Decimal(f"{k}.{index:02d}") if kind.asdecimal else k + index / 100
    if isinstance(kind, sa.DateTime):
        return MOMENT + timedelta(days=k, minutes=index)
    if isinstance(kind, sa.Date):
        return date(2026, 11, 1) + timedelta(days=10 * k + index)
    if isinstance(kind, sa.String):  # Text too
        value = f"{k}·{column.name}·{TEXT if isinstance(kind, sa.Text) else STRING}"
        return value[: kind.length] if kind.length else value
    raise AssertionError(
        f"no sample value for {table.name}.{column.name} of type {kind!r}: add one to _sample"
    )


def _is_own_key(column: sa.Column[Any]) -> bool:
    """A primary key the database numbers itself."""
    return (
        column.primary_key
        and len(column.table.primary_key.columns) == 1
        and isinstance(column.type, sa.Integer)
        and not column.foreign_keys
    )


def _reflect(conn: Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(bind=conn)
    if "alembic_version" in metadata.tables:
        metadata.remove(metadata.tables["alembic_version"])
    return metadata


def _fill(conn: Connection) -> dict[str, dict[int, Row]]:
    """Insert a sparse and a full row into every table, parents first: what each got,
    primary key included."""
    written: dict[str, dict[int, Row]] = {}
    for table in _reflect(conn).sorted_tables:
        written[table.name] = {}
        for k in (SPARSE, FULL):
            row: Row = {}
            for index, column in enumerate(table.columns):
                if _is_own_key(column):
                    continue
                required = not column.nullable and column.server_default is None
                if k == SPARSE and not required:
                    continue
                if column.foreign_keys:
                    (fk,) = column.foreign_keys
                    parent = fk.column.table.name
                    # A row pointing at its own table points at the first row.
                    parent_row = written[parent][SPARSE if parent == table.name else k]
                    row[column.name] = parent_row[fk.column.name]
                else:
                    row[column.name] = _sample(table, column, index, k)
            key = conn.execute(table.insert().values(row)).inserted_primary_key
            assert key is not None
            for column, value in zip(table.primary_key.columns, key, strict=True):
                row[column.name] = value
            written[table.name][k] = row
    return written


def _snapshot(conn: Connection) -> Snapshot:
    snapshot: Snapshot = {}
    for table in _reflect(conn).sorted_tables:
        key = list(table.primary_key.columns)
        rows = conn.execute(sa.select(table)).mappings()
        snapshot[table.name] = {tuple(r[c.name] for c in key): dict(r) for r in rows}
    return snapshot


def _model_default(table_name: str, column_name: str) -> Any:
    """What the current models give a new row that doesn't set ``column_name``."""
    table = Base.metadata.tables.get(table_name)
    if table is None or column_name not in table.c:
        return None
    default = table.c[column_name].default
    if default is None:
        return None
    assert isinstance(default, sa.ColumnDefault)
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)
    raise AssertionError(f"{table_name}.{column_name}: list its upgraded value in CHANGED")


def _expected_after(
    table: str, before: Row, head_columns: list[str], revision: str, tables: Snapshot
) -> Row:
    """What the row ``before`` (written at ``revision``, among ``tables``) should hold at
    head."""
    expected: Row = {}
    for name in head_columns:
        change = CHANGED.get((table, name))
        if change is not None and _is_after(change[0], revision):
            expected[name] = change[1](before, tables)
        elif name in before:
            expected[name] = before[name]
        else:  # added on the way: the server default, which the models' default matches
            expected[name] = _model_default(table, name)
    return expected


def _differences(revision: str, before: Snapshot, after: Snapshot) -> list[str]:
    problems: list[str] = []
    for table, rows in before.items():
        if table in DROPPED_TABLES and _is_after(DROPPED_TABLES[table], revision):
            continue
        if table not in after:
            problems.append(f"table {table} is gone")
            continue
        if set(after[table]) != set(rows):
            problems.append(f"{table}: rows {sorted(rows)} became {sorted(after[table])}")
            continue
        for key, old in rows.items():
            new = after[table][key]
            gone = [
                name
                for name in old
                if name not in new
                and not ((table, name) in DROPPED and _is_after(DROPPED[(table, name)], revision))
            ]
            if gone:
                problems.append(f"{table} {key}: columns {gone} are gone")
            expected = _expected_after(table, old, list(new), revision, before)
            for name, value in expected.items():
                if new[name] != value:
                    problems.append(f"{table}.{name} {key}: expected {value!r}, got {new[name]!r}")
    for table, rows in after.items():
        if table not in before and rows:
            problems.append(f"new table {table} was given rows: {list(rows.values())}")
    return problems


async def _read_through_orm(store: Store, after: Snapshot) -> None:
    """Every mapped class loads every upgraded row, with the values the database holds."""
    async with store.transaction() as session:
        for mapper in Base.registry.mappers:
            table = mapper.local_table
            assert isinstance(table, sa.Table)
            loaded = (await session.scalars(sa.select(mapper.class_))).unique().all()
            rows = after[table.name]
            assert len(loaded) == len(rows), table.name
            for obj in loaded:
                key = mapper.identity_key_from_instance(obj)[1]
                row = rows[key]
                for attr in mapper.column_attrs:
                    (column,) = attr.columns
                    expected = row[column.name]
                    if isinstance(column.type, UTCDateTime) and expected is not None:
                        expected = expected.replace(tzinfo=UTC)
                    assert getattr(obj, attr.key) == expected, f"{table.name}.{attr.key} {key}"
                for relationship in mapper.relationships:
                    if relationship.lazy != "raise":
                        await getattr(obj.awaitable_attrs, relationship.key)
        # New rows still fit beside the old ones.
        now = datetime(2027, 1, 1, tzinfo=UTC)
        workspace = Workspace(platform="orm", external_id="nouveau·東京", created_at=now)
        session.add(workspace)
        await session.flush()
        member = Member(workspace_id=workspace.id, user_id="zoë", created_at=now)
        session.add(member)
        await session.flush()
        assert (workspace.id,) not in after["workspaces"]
        assert (member.id,) not in after["members"]


def test_every_revision_is_covered() -> None:
    assert REVISIONS[0] == "0001"
    assert REVISIONS[-1] == HEAD
    assert len(EARLIER) == len(REVISIONS) - 1 >= 5


@pytest.mark.parametrize("revision", EARLIER)
async def test_upgrade_to_head_keeps_every_row_and_value(empty_store: Store, revision: str) -> None:
    await empty_store.upgrade(revision)
    async with empty_store.engine.begin() as conn:
        written = await conn.run_sync(_fill)
        before = await conn.run_sync(_snapshot)

    # The filler's values read back as written, so "before" is what we meant to store.
    assert set(before) == set(written)
    for table, rows in written.items():
        stored = list(before[table].values())
        assert len(stored) == len(rows), table
        for row in rows.values():
            assert any(row.items() <= s.items() for s in stored), f"{table}: {row} not stored"
        full = next(s for s in stored if rows[FULL].items() <= s.items())
        assert None not in full.values(), f"{table}: the full row left a column empty"

    await empty_store.upgrade()
    assert await empty_store.current_revision() == HEAD
    async with empty_store.engine.connect() as conn:
        after = await conn.run_sync(_snapshot)

    problems = _differences(revision, before, after)
    assert not problems, f"upgrading from {revision} to {HEAD}:\n" + "\n".join(problems)
    await _read_through_orm(empty_store, after)
