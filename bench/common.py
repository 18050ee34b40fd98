"""What the benchmark scripts share: reading their options, the machine they ran on, the
databases they run on, and printing and writing their results.

The database helpers import SQLAlchemy and the project's storage only when they are called:
bench_pairing.py, which needs no database, imports this module and should not load them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

    from storage.store import Store

__all__ = [
    "BACKENDS",
    "DEFAULT_PG_URL",
    "LONG_AGO",
    "NOW",
    "Percentiles",
    "Progress",
    "SqlMeter",
    "add_backends",
    "add_default_gc",
    "add_out",
    "add_pg_url",
    "add_sizes",
    "database_versions",
    "finish",
    "fix_sequences",
    "fresh_store",
    "insert_chunks",
    "load_average",
    "load_members",
    "log",
    "machine_info",
    "maintain",
    "memory_mb",
    "peak_rss_mb",
    "percentile",
    "positive_ints",
    "print_machine",
    "reach_postgres",
    "table",
    "timed_run",
    "tune_gc",
]

# Wednesday 18 November 2026, 15:00 UTC: inside nobody's default quiet hours (21:00-08:00).
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
INSERT_CHUNK = 10_000


def log(message: str) -> None:
    """Progress, on stderr; stdout has the results."""
    print(message, file=sys.stderr, flush=True)


# -- options -------------------------------------------------------------------------------


def positive_ints(text: str) -> list[int]:
    """An option's "1000,10_000" as numbers, refusing anything else."""
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas: {text}") from err
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers: {text}")
    return values


def async_url(url: str) -> str:
    """A PostgreSQL URL with the asyncpg driver the Store uses."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


def backends(text: str) -> list[str]:
    """An option's "sqlite,postgresql", in that order, refusing anything else."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    wrong = [b for b in chosen if b not in BACKENDS]
    if wrong or not chosen:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(BACKENDS)}: {text}")
    return list(dict.fromkeys(chosen))


def add_backends(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backends",
        type=backends,
        default=list(BACKENDS),
        help="comma-separated: sqlite, postgresql (default: both)",
    )


def add_pg_url(parser: argparse.ArgumentParser) -> None:
    """``--pg-url``, read with the asyncpg driver whichever way it is written."""
    parser.add_argument(
        "--pg-url",
        type=async_url,  # argparse applies it to the default too
        default=os.environ.get("TIARA_TEST_POSTGRES_URL", DEFAULT_PG_URL),
        help="PostgreSQL URL (default: $TIARA_TEST_POSTGRES_URL or %(default)s)",
    )


def add_out(parser: argparse.ArgumentParser, default: Path) -> None:
    parser.add_argument("--out", type=Path, default=default, help="JSON results file")


def add_sizes(parser: argparse.ArgumentParser, default: Sequence[int], what: str) -> None:
    parser.add_argument(
        "--sizes",
        type=positive_ints,
        default=list(default),
        help=f"{what} (default: {','.join(str(size) for size in default)})",
    )


def add_default_gc(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep Python's default garbage-collector settings (the bot tunes them at start)",
    )


def tune_gc(args: argparse.Namespace) -> None:
    """Unless ``--default-gc``: the garbage collector set up as the bot does at start-up."""
    if not args.default_gc:
        from adapters.bootstrap import tune_gc

        tune_gc()


# -- the machine -----------------------------------------------------------------------------


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on every platform
        return None


def _proc_line(path: str, prefix: str) -> str | None:
    file = Path(path)
    if file.exists():
        for line in file.read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    return None


def machine_info(load_before: list[float] | None, **extra: Any) -> dict[str, Any]:
    """The machine, Python and ``extra`` versions, and the load before and after the run."""
    memory = _proc_line("/proc/meminfo", "MemTotal:")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _proc_line("/proc/cpuinfo", "model name"),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(int(memory.split()[0]) / 1024 / 1024, 1) if memory else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        **extra,
        # Other work on the machine skews the timings: the 1, 5 and 15 minute load averages.
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def database_versions(pg_version: str | None) -> dict[str, Any]:
    """For ``machine_info``: the SQLite, PostgreSQL (None if not used) and SQLAlchemy versions."""
    import sqlite3

    import sqlalchemy

    return {
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "sqlalchemy": sqlalchemy.__version__,
    }


_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "sqlalchemy": "SQLAlchemy"}


def print_machine(
    machine: dict[str, Any], *software: str, memory: bool = True, python: str = "Python"
) -> None:
    """The "Machine: ..." line: CPU (and ``memory``), platform, Python (named ``python``), the
    versions of ``software`` (keys of ``machine``; "-" if None) and the load averages."""
    hardware = f"{machine['cpu_model'] or machine['machine']}, {machine['cpu_count']} CPUs"
    if memory:
        hardware += f", {machine['memory_gb']} GB"
    versions = [f"{python} {machine['python']}"] + [
        f"{_LABELS.get(key, key)} {machine[key] or '-'}" for key in software
    ]
    print(
        f"\nMachine: {hardware}; {machine['platform']}; {', '.join(versions)}; "
        f"load average {machine['load_average_before']} before, "
        f"{machine['load_average_after']} after"
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``ru_maxrss``), in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Kilobytes on Linux, bytes on macOS.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def memory_mb(pid: int | str = "self") -> dict[str, float] | None:
    """A process's resident memory now (``rss``) and at its peak (``peak``), in MB, from
    /proc (Linux only; None elsewhere or once the process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found["rss" if key == "VmRSS" else "peak"] = round(int(value.split()[0]) / 1024, 1)
    return found if len(found) == 2 else None


# -- measuring -------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Percentiles:
    """Latencies in milliseconds: how many, the mean, p50, p95, p99 and the worst."""

    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Percentiles:
        if not seconds:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        ms = sorted(s * 1000 for s in seconds)
        return cls(
            count=len(ms),
            mean_ms=round(sum(ms) / len(ms), 3),
            p50_ms=round(percentile(ms, 0.50), 3),
            p95_ms=round(percentile(ms, 0.95), 3),
            p99_ms=round(percentile(ms, 0.99), 3),
            max_ms=round(ms[-1], 3),
        )


class Progress:
    """Says whether a progress line is due: at most one every ``every`` seconds."""

    def __init__(self, every: float = 3.0) -> None:
        self.every = every
        self._last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.every:
            return False
        self._last = now
        return True


@dataclass
class TimedRun:
    load_before: list[float] | None  # the load average when the run started
    workdir: Path  # a temporary directory, removed at the end
    elapsed: float = 0.0  # seconds, once the run is over


@contextmanager
def timed_run() -> Iterator[TimedRun]:
    """A whole run: the load average before it, a temporary directory for its files, and
    (set on leaving) how long it took."""
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tiara-bench-") as tmp:
        run = TimedRun(load_before, Path(tmp))
        yield run
    run.elapsed = time.perf_counter() - started


# -- output ----------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1) -> str:
    """A plain-text table: the first ``left`` columns aligned left, the others right."""
    cells = [list(headers)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i < left else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def finish(
    out: Path, elapsed: float, machine: dict[str, Any], config: dict[str, Any], **sections: Any
) -> None:
    """Say how long the run took, and write the results to ``out`` as JSON: when, how long,
    the machine, the configuration, then ``sections`` in their order."""
    print(f"\nFinished in {elapsed:.0f} s.")
    output = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(elapsed, 1),
        "machine": machine,
        "config": config,
        **sections,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(output, indent=2) + "\n")
    print(f"Results written to {out}")


# -- databases -------------------------------------------------------------------------------


async def postgres_version(pg_url: str) -> str:
    from storage.store import Store

    store = Store(pg_url)
    try:
        async with store.engine.connect() as conn:
            return str((await conn.exec_driver_sql("SHOW server_version")).scalar_one())
    finally:
        await store.close()


async def reach_postgres(chosen: Sequence[str], pg_url: str, instead: str) -> str | None:
    """PostgreSQL's version if it is among the ``chosen`` backends, else None. If it can't
    be reached, says so on stderr (with ``instead``, the option to run on SQLite only) and
    exits with status 2."""
    if "postgresql" not in chosen:
        return None
    try:
        return await postgres_version(pg_url)
    except Exception as err:  # can't connect: say so, the way the app does
        print(
            f"PostgreSQL is not reachable ({type(err).__name__}: {err}); "
            f"use {instead} to run on SQLite only",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


@asynccontextmanager
async def fresh_store(backend: str, pg_url: str, workdir: Path) -> AsyncIterator[Store]:
    """A migrated, empty database: a new SQLite file in ``workdir``, or a new PostgreSQL
    schema (``tiara_bench_<random>``), dropped again on leaving."""
    from storage.store import Store

    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        store = Store(f"sqlite+aiosqlite:///{path}")
        try:
            await store.upgrade()
            yield store
        finally:
            await store.close()
        return
    schema = f"tiara_bench_{uuid.uuid4().hex[:12]}"
    admin = Store(pg_url)
    try:
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        store = Store(pg_url, connect_args={"server_settings": {"search_path": schema}})
        try:
            await store.upgrade()
            yield store
        finally:
            await store.close()
            async with admin.engine.begin() as conn:
                await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


async def maintain(store: Store, table: str = "nudges") -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would have by the time the table is big."""
    if store.is_sqlite:
        return
    async with store.engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql(f"VACUUM ANALYZE {table}")


async def fix_sequences(store: Store, tables: Sequence[str]) -> None:
    """PostgreSQL: move id sequences past the ids the loader chose itself."""
    if store.is_sqlite:
        return
    async with store.engine.begin() as conn:
        for table in tables:
            await conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )


async def insert_chunks(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), INSERT_CHUNK):
        await conn.execute(insert(table), list(rows[start : start + INSERT_CHUNK]))


async def load_members(store: Store, members: int, *, with_contacts: bool) -> None:
    """One workspace (Slack team TBENCH, UTC) with ``members`` members (user ids
    ``U00000001`` on), and one contact each when asked."""
    from sqlalchemy import insert

    from storage.models import Contact, Member, Workspace

    async with store.engine.begin() as conn:
        await conn.execute(
            insert(Workspace),
            [
                {
                    "id": 1,
                    "platform": "slack",
                    "external_id": "TBENCH",
                    "timezone": "UTC",
                    "created_at": LONG_AGO,
                }
            ],
        )
        await insert_chunks(
            conn,
            Member,
            [
                {
                    "id": m,
                    "workspace_id": 1,
                    "user_id": f"U{m:08d}",
                    "created_at": LONG_AGO,
                    "next_nudge_seq": 100,
                }
                for m in range(1, members + 1)
            ],
        )
        if with_contacts:
            await insert_chunks(
                conn,
                Contact,
                [
                    {
                        "id": m,
                        "workspace_id": 1,
                        "member_id": m,
                        "name": f"Contact {m}",
                        "name_key": f"contact {m}",
                        "organization": "Acme",
                        "last_contact_at": NOW - timedelta(days=100),
                        "created_at": LONG_AGO,
                        "updated_at": LONG_AGO,
                    }
                    for m in range(1, members + 1)
                ],
            )
    await fix_sequences(store, ["workspaces", "members"] + (["contacts"] if with_contacts else []))


@dataclass
class SqlMeter:
    """Counts the statements sent to the database and the time spent waiting for them."""

    engine: AsyncEngine
    statements: int = 0
    seconds: float = 0.0
    captured: list[tuple[str, Any]] = field(default_factory=list)
    capture: bool = False

    def _before(self, conn: Connection, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())
        if self.capture:
            self.captured.append((sql, params))

    def _after(self, conn: Connection, *_: Any) -> None:
        self.statements += 1
        self.seconds += time.perf_counter() - conn.info["bench_started"].pop()

    def __enter__(self) -> SqlMeter:
        from sqlalchemy import event

        event.listen(self.engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(self.engine.sync_engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine.sync_engine, "before_cursor_execute", self._before)
        event.remove(self.engine.sync_engine, "after_cursor_execute", self._after)
