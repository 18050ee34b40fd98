"""Benchmark of nudge delivery: one tick's throughput, and the due-query as the table grows.

Run from the repository root, with the project installed in ``.venv`` (``make`` does that):

    .venv/bin/python bench/bench_tick.py                   # SQLite and PostgreSQL
    .venv/bin/python bench/bench_tick.py --skip-postgres   # SQLite only
    .venv/bin/python bench/bench_tick.py --sizes 1000,10000 --out /tmp/results.json
    .venv/bin/python bench/bench_tick.py --help            # every option

PostgreSQL is reached at ``--pg-url``, else ``$TIARA_TEST_POSTGRES_URL``, else
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``. Each part works in a private schema
(``tiara_bench_<random>``) that the script creates, migrates and drops again; SQLite works
in temporary files. Nothing outside those is touched.

What it measures
----------------
1. Tick throughput. 100,000 pending nudges for 10,000 members: one due nudge per member
   (10,000 due, spread over the last 12 hours) and nine due in the next 90 days. They are
   "referral" nudges about a contact, whose message needs no query beyond the ones the
   tick always makes (``_extras`` and ``_plan_next`` do nothing for them). One
   ``NudgeSender.tick()`` with a ``FixedClock`` (Wednesday 15:00 UTC, outside everyone's
   quiet hours) and a ``NullNotifier`` is timed: claim with a lease, load subjects, render
   one message per member, "send", settle. Reported: the ``TickReport`` counts, the
   seconds, the SQL statements issued, the time waiting on them, this process's CPU time
   and garbage-collector time, and where the time went: ``NudgeRepo.claim_due``,
   ``NudgeRepo.with_subjects`` (ORM loading), ``NudgeRepo.number`` (the due nudges
   have no N id yet: they get theirs as they are sent), the rest of the claim step (quiet
   hours, rendering, planning, commit), sending, settling. These are timed by wrapping those
   methods for the duration of the tick; nothing in bot/ or storage/ is changed. The tick
   is repeated ``--tick-runs`` times (the sent rows are put back to pending in between);
   the first run is the cold one. ``--batch-sizes 500,1000,2000`` compares batch sizes;
   ``--kind keep_in_touch`` measures a kind that plans its next occurrence as it is sent.
   Target: 10,000 due nudges claimed and handed to the notifier in under 2 s.

2. Due-query latency. The nudges table grows through ``--sizes`` rows (1,000 to 1,000,000
   by default) the way a long-running deployment's does: 9 rows in 10 already sent, 1 in 10
   pending, and 1 in 1,000 due now (of which 1 in 10 is leased by another worker). At each
   size, over ``--runs`` runs after ``--warmup`` unmeasured ones, it times
   - ``select``: the exact SELECT that ``NudgeRepo.claim_due`` sends (captured from a
     real call), executed in a transaction that is rolled back;
   - ``claim``: ``NudgeRepo.claim_due`` itself (that SELECT plus the UPDATE that writes
     the leases), rolled back;
   - ``next_due``: ``NudgeRepo.next_due`` over the next day.
   Median and p95 are reported. On PostgreSQL the table is VACUUM ANALYZEd after each
   load (SQLite is not analyzed: the app never does). At the largest size the plans are
   printed (EXPLAIN QUERY PLAN on SQLite; EXPLAIN ANALYZE on PostgreSQL, with the custom
   plan PostgreSQL uses for the first executions of a prepared statement and the generic
   plan it may switch to after five), so a reader sees whether ``ix_nudges_pending_due``,
   the partial index on pending rows, is used.
   Target: under 10 ms at 1,000,000 rows.

The results are printed as tables and written as JSON (``--out``, by default
``bench/results.json``) with the machine they ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import importlib.metadata
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import common  # bench/common.py
import sqlalchemy
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import FixedClock
from bot.notify import NullNotifier
from bot.nudges import kinds as k
from bot.nudges.deliver import NudgeSender
from storage.models import Nudge
from storage.nudges import NudgeRepo
from storage.store import Store

LEASE = timedelta(minutes=5)
CLAIM_LIMIT = 1000  # the tick's default batch size, and so the due query's LIMIT

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"

TICK_TARGET_S = 2.0
QUERY_TARGET_MS = 10.0

# The shape of the growing table (part 2): every 10th row is pending, every 1,000th is due,
# every 10,000th is due but leased by another worker. Each a multiple of the one before.
PENDING_EVERY = 10
DUE_EVERY = 1_000
LEASED_EVERY = 10_000
QUERY_MEMBERS = 1_000


# -- garbage collection and phase timing ---------------------------------------------------


@dataclass
class GcMeter:
    """Counts the cyclic garbage collector's runs in this process and the time they take."""

    collections: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    seconds: float = 0.0
    _started: float = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1

    def __enter__(self) -> GcMeter:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._callback)


STEPS = ("claim", "claim_query", "load_subjects", "number", "send", "settle")
# The sender's methods for the steps: sending records each outcome as it goes (_record).
_SENDER_STEPS = {"claim": "_claim", "send": "_send_and_record", "settle": "_record"}


def _timed(fn: Callable[..., Awaitable[Any]], spent: dict[str, float], step: str) -> Any:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            spent[step] += time.perf_counter() - start

    return timed


@contextmanager
def timed_steps(sender: NudgeSender) -> Iterator[dict[str, float]]:
    """Add up the seconds a tick spends in each step, by wrapping the sender's three steps
    and the two queries of the claim step. The wrappers are the benchmark's own and are
    removed again on exit; nothing in bot/ or storage/ is changed."""
    spent = dict.fromkeys(STEPS, 0.0)
    for step, method in _SENDER_STEPS.items():
        setattr(sender, method, _timed(getattr(sender, method), spent, step))
    claim_query, load_subjects = NudgeRepo.claim_due, NudgeRepo.with_subjects
    number = NudgeRepo.number
    NudgeRepo.claim_due = _timed(claim_query, spent, "claim_query")  # type: ignore[method-assign]
    NudgeRepo.with_subjects = _timed(load_subjects, spent, "load_subjects")  # type: ignore[method-assign]
    NudgeRepo.number = _timed(number, spent, "number")  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        NudgeRepo.claim_due = claim_query  # type: ignore[method-assign]
        NudgeRepo.with_subjects = load_subjects  # type: ignore[method-assign]
        NudgeRepo.number = number  # type: ignore[method-assign]


# -- part 1: tick throughput ---------------------------------------------------------------


@dataclass
class TickRun:
    run: int
    seconds: float
    claimed: int
    sent: int
    messages: int
    deferred: int
    expired: int
    skipped: int
    failed: int
    cpu_seconds: float  # this process's CPU time (the SQLite engine runs in it too)
    gc_seconds: float  # of which the cyclic garbage collector
    gc_full_collections: int
    statements: int
    db_seconds: float  # waiting for the database, statement by statement
    claim_seconds: float  # step 1, all of it
    claim_query_seconds: float  # step 1: NudgeRepo.claim_due
    load_subjects_seconds: float  # step 1: NudgeRepo.with_subjects (ORM loading)
    number_seconds: float  # step 1: NudgeRepo.number (N ids for what goes out)
    render_seconds: float  # step 1, the rest: quiet hours, rendering, planning, commit
    send_seconds: float  # steps 2 and 3: sending, with the recording as it goes
    settle_seconds: float  # step 3: recording the outcomes


@dataclass
class TickResult:
    backend: str
    kind: str
    members: int
    nudges: int
    due: int
    batch_size: int
    max_batches: int
    load_seconds: float
    runs: list[TickRun]
    best_seconds: float = 0.0
    median_seconds: float = 0.0
    worst_seconds: float = 0.0
    nudges_per_second: float = 0.0
    target_met: bool = False


def _tick_due_at(member: int) -> datetime:
    return common.NOW - timedelta(minutes=1 + (member * 7) % 720)


def _tick_future_at(member: int, j: int) -> datetime:
    return common.NOW + timedelta(days=1 + (member + 13 * j) % 90, minutes=member % 600)


async def load_tick_nudges(store: Store, *, members: int, future: int, kind: str) -> int:
    """Each member: one due nudge and ``future`` later ones, all about their contact."""
    rows: list[dict[str, Any]] = []
    for m in range(1, members + 1):
        for j in range(1 + future):
            due = _tick_due_at(m) if j == 0 else _tick_future_at(m, j)
            rows.append(
                {
                    "workspace_id": 1,
                    "member_id": m,
                    "seq": None,  # never shown yet: numbered as it is sent
                    "kind": kind,
                    "dedupe_key": f"bench:c{m}:{j}",
                    "contact_id": m,
                    "due_at": due,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": common.LONG_AGO,
                    "updated_at": common.LONG_AGO,
                }
            )
    async with store.engine.begin() as conn:
        await common.insert_chunks(conn, Nudge, rows)
    return len(rows)


async def reset_tick(store: Store, max_id: int) -> None:
    """Put the nudges a tick sent back to pending, and drop the ones it planned."""
    async with store.engine.begin() as conn:
        await conn.execute(
            update(Nudge)
            .where(Nudge.status != "pending", Nudge.id <= max_id)
            .values(status="pending", seq=None, sent_at=None, lease_until=None, claim_token=None)
        )
        await conn.execute(sqlalchemy.delete(Nudge).where(Nudge.id > max_id))
    await common.maintain(store)


async def tick_once(store: Store, *, run: int, batch_size: int, max_batches: int) -> TickRun:
    sender = NudgeSender(
        store=store,
        notifier=NullNotifier(),
        clock=FixedClock(common.NOW),
        default_timezone="UTC",
        batch_size=batch_size,
        max_batches=max_batches,
    )
    with (
        common.SqlMeter(store.engine) as meter,
        timed_steps(sender) as spent,
        GcMeter() as collector,
    ):
        cpu = time.process_time()
        start = time.perf_counter()
        report = await sender.tick()
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return TickRun(
        run=run,
        seconds=seconds,
        claimed=report.claimed,
        sent=report.sent,
        messages=report.messages,
        deferred=report.deferred,
        expired=report.expired,
        skipped=report.skipped,
        failed=report.failed,
        cpu_seconds=cpu,
        gc_seconds=collector.seconds,
        gc_full_collections=collector.collections[2],
        statements=meter.statements,
        db_seconds=meter.seconds,
        claim_seconds=spent["claim"],
        claim_query_seconds=spent["claim_query"],
        load_subjects_seconds=spent["load_subjects"],
        number_seconds=spent["number"],
        render_seconds=(
            spent["claim"] - spent["claim_query"] - spent["load_subjects"] - spent["number"]
        ),
        send_seconds=spent["send"],
        settle_seconds=spent["settle"],
    )


async def still_due(store: Store) -> int:
    async with store.engine.connect() as conn:
        stmt = select(func.count()).where(Nudge.status == "pending", Nudge.due_at <= common.NOW)
        return int((await conn.execute(stmt)).scalar_one())


async def bench_tick(
    backend: str, args: argparse.Namespace, workdir: Path, log: Callable[[str], None]
) -> list[TickResult]:
    results = []
    async with common.fresh_store(backend, args.pg_url, workdir) as store:
        start = time.perf_counter()
        await common.load_members(store, args.tick_members, with_contacts=True)
        total = await load_tick_nudges(
            store, members=args.tick_members, future=args.tick_future, kind=args.kind
        )
        await common.maintain(store)
        load_seconds = time.perf_counter() - start
        async with store.engine.connect() as conn:
            max_id = int((await conn.execute(select(func.max(Nudge.id)))).scalar_one())
        due = args.tick_members
        log(f"  {backend}: loaded {total:,} nudges ({due:,} due) in {load_seconds:.1f} s")
        for batch_size in args.batch_sizes:
            max_batches = math.ceil(due / batch_size) + 1
            runs = []
            for run in range(1, args.tick_runs + 1):
                result = await tick_once(
                    store, run=run, batch_size=batch_size, max_batches=max_batches
                )
                left = await still_due(store)
                if result.claimed != due or result.sent != due or left:
                    raise SystemExit(
                        f"{backend}: the tick claimed {result.claimed} and sent {result.sent} "
                        f"of {due} due nudges, {left} still due; the benchmark is broken"
                    )
                runs.append(result)
                log(
                    f"  {backend}: batch {batch_size}, run {run}: {result.seconds:.3f} s, "
                    f"{result.statements} statements"
                )
                await reset_tick(store, max_id)
            seconds = [r.seconds for r in runs]
            results.append(
                TickResult(
                    backend=backend,
                    kind=args.kind,
                    members=args.tick_members,
                    nudges=total,
                    due=due,
                    batch_size=batch_size,
                    max_batches=max_batches,
                    load_seconds=load_seconds,
                    runs=runs,
                    best_seconds=min(seconds),
                    median_seconds=statistics.median(seconds),
                    worst_seconds=max(seconds),
                    nudges_per_second=due / statistics.median(seconds),
                    target_met=max(seconds) < TICK_TARGET_S,
                )
            )
    return results


# -- part 2: due-query latency ---------------------------------------------------------------


def _minutes_from_now(backend: str, sign: str, minutes: str) -> str:
    """SQL for NOW plus or minus ``minutes`` (an SQL integer expression), as stored."""
    base = common.NOW.strftime("%Y-%m-%d %H:%M:%S")
    if backend == "sqlite":
        # SQLAlchemy stores SQLite datetimes as text with six decimals, compared as text.
        return (
            f"(strftime('%Y-%m-%d %H:%M:%S', '{base}', '{sign}' || ({minutes}) || ' minutes')"
            " || '.000000')"
        )
    return f"(TIMESTAMP '{base}' {sign} ({minutes}) * INTERVAL '1 minute')"


def _rows_sql(backend: str, lo: int, hi: int) -> str:
    """INSERT ... SELECT of nudges number ``lo`` to ``hi``; each row's shape follows from g."""
    due = _minutes_from_now(backend, "-", "g % 720 + 1")
    future = _minutes_from_now(backend, "+", "(g * 37) % 129600 + 1")  # up to 90 days on
    past = _minutes_from_now(backend, "-", "(g * 37) % 525600 + 1")  # up to a year ago
    lease = _minutes_from_now(backend, "+", str(int(LEASE.total_seconds() // 60)))
    long_ago = _minutes_from_now(backend, "-", str(400 * 24 * 60))
    columns = (
        "workspace_id, member_id, seq, kind, dedupe_key, due_at, status, attempts, "
        "lease_until, claim_token, sent_at, created_at, updated_at"
    )
    body = f"""
        SELECT 1, 1 + g % {QUERY_MEMBERS}, g, '{k.KEEP_IN_TOUCH}', 'bench:' || g,
               CASE WHEN g % {DUE_EVERY} = 0 THEN {due}
                    WHEN g % {PENDING_EVERY} = 0 THEN {future}
                    ELSE {past} END,
               CASE WHEN g % {PENDING_EVERY} = 0 THEN 'pending' ELSE 'sent' END,
               0,
               CASE WHEN g % {LEASED_EVERY} = 0 THEN {lease} END,
               CASE WHEN g % {LEASED_EVERY} = 0 THEN 'another-worker' END,
               CASE WHEN g % {PENDING_EVERY} <> 0 THEN {past} END,
               {long_ago}, {long_ago}
    """
    if backend == "sqlite":
        return (
            f"WITH RECURSIVE s(g) AS (SELECT {lo} UNION ALL SELECT g + 1 FROM s WHERE g < {hi}) "
            f"INSERT INTO nudges ({columns}) {body} FROM s"
        )
    return f"INSERT INTO nudges ({columns}) {body} FROM generate_series({lo}, {hi}) AS g"


async def grow_nudges(store: Store, backend: str, lo: int, hi: int) -> None:
    async with store.engine.begin() as conn:
        if backend == "sqlite":
            await conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB, this load only
        await conn.exec_driver_sql(_rows_sql(backend, lo, hi))
    if backend == "sqlite":
        await store.engine.dispose()  # measure on fresh connections with default settings
    await common.maintain(store)


@dataclass
class Latency:
    median_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float
    runs: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = sorted(s * 1000 for s in seconds)
        return cls(statistics.median(ms), common.percentile(ms, 0.95), ms[0], ms[-1], len(ms))


@dataclass
class QueryResult:
    backend: str
    rows: int
    pending: int
    due: int
    claimable: int
    returned: int
    load_seconds: float
    select: Latency
    claim: Latency
    next_due: Latency
    target_met: bool | None = None


async def captured_claim_select(store: Store) -> tuple[str, Any, int]:
    """The SELECT ``NudgeRepo.claim_due`` sends, its parameters and how many ids it got."""
    with common.SqlMeter(store.engine, capture=True) as meter:
        async with AsyncSession(store.engine) as session:
            ids = await NudgeRepo(session).claim_due(
                now=common.NOW, lease_until=common.NOW + LEASE, token="bench", limit=CLAIM_LIMIT
            )
            await session.rollback()
    selects = [(sql, p) for sql, p in meter.captured if sql.lstrip().upper().startswith("SELECT")]
    if not selects:
        raise SystemExit("could not capture the claim query")
    sql, params = selects[0]
    return sql, params, len(ids)


async def captured_next_due(store: Store) -> tuple[str, Any]:
    with common.SqlMeter(store.engine, capture=True) as meter:
        async with AsyncSession(store.engine) as session:
            await NudgeRepo(session).next_due(
                after=common.NOW, until=common.NOW + timedelta(days=1)
            )
            await session.rollback()
    return next((sql, p) for sql, p in meter.captured if "min(" in sql.lower())


async def time_select(store: Store, sql: str, params: Any) -> tuple[float, int]:
    async with store.engine.connect() as conn:
        start = time.perf_counter()
        rows = (await conn.exec_driver_sql(sql, params)).all()
        seconds = time.perf_counter() - start
        await conn.rollback()
    return seconds, len(rows)


async def time_claim(store: Store) -> tuple[float, int]:
    async with AsyncSession(store.engine) as session:
        start = time.perf_counter()
        ids = await NudgeRepo(session).claim_due(
            now=common.NOW, lease_until=common.NOW + LEASE, token="bench", limit=CLAIM_LIMIT
        )
        seconds = time.perf_counter() - start
        await session.rollback()
    return seconds, len(ids)


async def time_next_due(store: Store) -> tuple[float, int]:
    async with AsyncSession(store.engine) as session:
        start = time.perf_counter()
        due = await NudgeRepo(session).next_due(
            after=common.NOW, until=common.NOW + timedelta(days=1)
        )
        seconds = time.perf_counter() - start
        await session.rollback()
    return seconds, int(due is not None)


async def repeat(
    fn: Callable[[], Awaitable[tuple[float, int]]], runs: int, warmup: int
) -> tuple[Latency, int]:
    for _ in range(warmup):
        await fn()
    samples, count = [], 0
    for _ in range(runs):
        seconds, count = await fn()
        samples.append(seconds)
    return Latency.of(samples), count


def _literal(value: Any) -> str:
    """An SQL literal for one of our own captured parameters (for EXPLAIN EXECUTE)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        return f"'{value.isoformat(sep=' ')}'"
    return str(int(value))


async def explain(store: Store, sql: str, params: Any) -> dict[str, str]:
    """The plan of a captured statement, as the app's driver would run it."""
    async with store.engine.connect() as conn:
        if store.is_sqlite:
            rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)).all()
            depth: dict[int, int] = {0: -1}
            lines = []
            for row in rows:
                node, parent, _, detail = list(row)
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            await conn.rollback()
            return {"plan": "\n".join(lines)}
        plans = {}
        await conn.exec_driver_sql("PREPARE bench_q AS " + sql)
        execute = "EXECUTE bench_q(" + ", ".join(_literal(p) for p in params) + ")"
        for mode in ("custom", "generic"):
            await conn.exec_driver_sql(f"SET LOCAL plan_cache_mode = force_{mode}_plan")
            rows = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + execute)).all()
            plans[mode] = "\n".join(r[0] for r in rows)
        await conn.rollback()
        await conn.exec_driver_sql("DEALLOCATE bench_q")
        await conn.commit()
        return plans


async def bench_queries(
    backend: str, args: argparse.Namespace, workdir: Path, log: Callable[[str], None]
) -> tuple[list[QueryResult], dict[str, Any]]:
    results: list[QueryResult] = []
    plans: dict[str, Any] = {}
    async with common.fresh_store(backend, args.pg_url, workdir) as store:
        await common.load_members(store, QUERY_MEMBERS, with_contacts=False)
        loaded = 0
        for size in sorted(args.sizes):
            start = time.perf_counter()
            await grow_nudges(store, backend, loaded + 1, size)
            load_seconds = time.perf_counter() - start
            loaded = size
            due, leased = size // DUE_EVERY, size // LEASED_EVERY
            sql, params, returned = await captured_claim_select(store)
            expected = min(CLAIM_LIMIT, due - leased)
            if returned != expected:
                raise SystemExit(
                    f"{backend}: {returned} nudges due at {size:,} rows, expected {expected}; "
                    "the loader and the query disagree"
                )
            select_latency, n = await repeat(
                functools.partial(time_select, store, sql, params),
                args.runs,
                args.warmup,
            )
            claim_latency, _ = await repeat(lambda: time_claim(store), args.runs, args.warmup)
            next_latency, _ = await repeat(lambda: time_next_due(store), args.runs, args.warmup)
            results.append(
                QueryResult(
                    backend=backend,
                    rows=size,
                    pending=size // PENDING_EVERY,
                    due=due,
                    claimable=due - leased,
                    returned=n,
                    load_seconds=load_seconds,
                    select=select_latency,
                    claim=claim_latency,
                    next_due=next_latency,
                    target_met=(
                        select_latency.p95_ms < QUERY_TARGET_MS if size >= 1_000_000 else None
                    ),
                )
            )
            log(
                f"  {backend}: {size:>9,} rows loaded in {load_seconds:5.1f} s; select median "
                f"{select_latency.median_ms:.2f} ms, p95 {select_latency.p95_ms:.2f} ms"
            )
        if results:
            sql, params, _ = await captured_claim_select(store)
            next_sql, next_params = await captured_next_due(store)
            plans = {
                "rows": loaded,
                "claim_select_sql": sql,
                "claim_select": await explain(store, sql, params),
                "next_due_sql": next_sql,
                "next_due": await explain(store, next_sql, next_params),
            }
    return results, plans


# -- reporting -----------------------------------------------------------------------------


def print_tick(results: Sequence[TickResult]) -> None:
    if not results:
        return
    first = results[0]
    print(
        f"\n== Tick throughput: {first.nudges:,} pending nudges, {first.due:,} due, "
        f"{first.members:,} members, kind {first.kind!r} (target: all due sent in "
        f"< {TICK_TARGET_S:g} s) =="
    )
    rows = [
        [
            result.backend,
            result.batch_size,
            r.run,
            r.claimed,
            r.sent,
            r.messages,
            r.statements,
            f"{r.claim_query_seconds:.2f}",
            f"{r.load_subjects_seconds:.2f}",
            f"{r.number_seconds:.2f}",
            f"{r.render_seconds:.2f}",
            f"{r.send_seconds:.2f}",
            f"{r.settle_seconds:.2f}",
            f"{r.db_seconds:.2f}",
            f"{r.cpu_seconds:.2f}",
            f"{r.gc_seconds:.2f}",
            f"{r.seconds:.3f}",
        ]
        for result in results
        for r in result.runs
    ]
    headers = (
        "backend batch run claimed sent DMs SQL claim_q load number render send settle inDB CPU "
        "GC total"
    )
    print(common.table(headers.split(), rows))
    print(
        "  seconds: claim_q = NudgeRepo.claim_due, load = NudgeRepo.with_subjects (ORM),\n"
        "  number = NudgeRepo.number (the N ids of what goes out),\n"
        "  render = rest of the claim step (quiet hours, rendering, planning, commit),\n"
        "  send = NullNotifier and recording, settle = of which marking sent;\n"
        "  inDB = waiting on SQL statements,\n"
        "  CPU = this process's CPU time (SQLite runs in-process; PostgreSQL's server does not),\n"
        "  GC = time in Python's cyclic garbage collector during the tick"
    )
    print()
    print(
        common.table(
            ["backend", "batch", "best s", "median s", "worst s", "nudges/s", "load s", "target"],
            [
                [
                    r.backend,
                    r.batch_size,
                    f"{r.best_seconds:.3f}",
                    f"{r.median_seconds:.3f}",
                    f"{r.worst_seconds:.3f}",
                    f"{r.nudges_per_second:,.0f}",
                    f"{r.load_seconds:.1f}",
                    "met" if r.target_met else "MISSED",
                ]
                for r in results
            ],
        )
    )


def print_queries(results: Sequence[QueryResult], runs: int, warmup: int) -> None:
    if not results:
        return
    print(
        f"\n== Due-query latency, ms (median / p95 of {runs} runs after {warmup} warm-up; "
        f"target: select < {QUERY_TARGET_MS:g} ms at 1,000,000 rows) =="
    )
    print(
        common.table(
            [
                "backend",
                "rows",
                "pending",
                "due",
                "claimable",
                "got",
                "select med",
                "p95",
                "claim med",
                "p95",
                "next_due med",
                "p95",
                "load s",
                "target",
            ],
            [
                [
                    r.backend,
                    f"{r.rows:,}",
                    f"{r.pending:,}",
                    f"{r.due:,}",
                    f"{r.claimable:,}",
                    f"{r.returned:,}",
                    f"{r.select.median_ms:.2f}",
                    f"{r.select.p95_ms:.2f}",
                    f"{r.claim.median_ms:.2f}",
                    f"{r.claim.p95_ms:.2f}",
                    f"{r.next_due.median_ms:.2f}",
                    f"{r.next_due.p95_ms:.2f}",
                    f"{r.load_seconds:.1f}",
                    "" if r.target_met is None else ("met" if r.target_met else "MISSED"),
                ]
                for r in results
            ],
        )
    )


def print_plans(backend: str, plans: dict[str, Any]) -> None:
    if not plans:
        return
    print(f"\n== {backend}: plans at {plans['rows']:,} rows ==")
    print("claim SELECT (NudgeRepo.claim_due):")
    print("  " + " ".join(plans["claim_select_sql"].split()))
    for name in ("claim_select", "next_due"):
        if name == "next_due":
            print("next_nudge_due:")
            print("  " + " ".join(plans["next_due_sql"].split()))
        for mode, text in plans[name].items():
            label = {"plan": "", "custom": "custom plan", "generic": "generic plan"}[mode]
            if label:
                print(f"  -- {label}")
            print("\n".join("    " + line for line in text.splitlines()))


def print_targets(ticks: Sequence[TickResult], queries: Sequence[QueryResult]) -> None:
    lines = []
    for t in ticks:
        verdict = "met" if t.target_met else "MISSED"
        lines.append(
            f"  tick, {t.backend}, batch {t.batch_size}: {t.due:,} due nudges in "
            f"{t.best_seconds:.2f}-{t.worst_seconds:.2f} s (target < {TICK_TARGET_S:g} s, "
            f"every run): {verdict}"
        )
    for q in queries:
        if q.target_met is not None:
            verdict = "met" if q.target_met else "MISSED"
            lines.append(
                f"  due select, {q.backend}, {q.rows:,} rows: median {q.select.median_ms:.2f} ms, "
                f"p95 {q.select.p95_ms:.2f} ms (target p95 < {QUERY_TARGET_MS:g} ms): {verdict}"
            )
    if lines:
        print("\n== Targets ==")
        print("\n".join(lines))


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the nudge tick and the due-query (SQLite and PostgreSQL)."
    )
    common.add_sizes(parser, DEFAULT_SIZES, "table sizes for the due-query part")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--skip-tick", action="store_true", help="leave out part 1")
    parser.add_argument("--skip-query", action="store_true", help="leave out part 2")
    common.add_pg_url(parser)
    common.add_out(parser, DEFAULT_OUT)
    parser.add_argument("--runs", type=int, default=20, help="measured runs per query and size")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs before those")
    parser.add_argument("--tick-members", type=int, default=10_000, help="one due nudge each")
    parser.add_argument(
        "--tick-future", type=int, default=9, help="nudges due later, per member (default 9)"
    )
    parser.add_argument("--tick-runs", type=int, default=3, help="ticks per batch size")
    parser.add_argument(
        "--batch-sizes",
        type=common.positive_ints,
        default=[1000],
        help="NudgeSender batch sizes to try (default: 1000, the app's)",
    )
    parser.add_argument(
        "--kind",
        choices=[k.REFERRAL, k.KEEP_IN_TOUCH],
        default=k.REFERRAL,
        help=(
            "kind of the tick's nudges (default referral); keep_in_touch also plans its next "
            "occurrence as it is sent, a few queries per nudge, and is slower"
        ),
    )
    common.add_default_gc(parser)
    return parser.parse_args(argv)


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    common.tune_gc(args)
    backends = [
        b
        for b, skip in (("sqlite", args.skip_sqlite), ("postgresql", args.skip_postgres))
        if not skip
    ]
    pg_version = await common.reach_postgres(backends, args.pg_url, "--skip-postgres")
    tick_results: list[TickResult] = []
    query_results: list[QueryResult] = []
    plans: dict[str, Any] = {}
    with common.timed_run() as run:
        for backend in backends:
            if not args.skip_tick:
                common.log(f"tick throughput on {backend}...")
                tick_results += await bench_tick(backend, args, run.workdir, common.log)
            if not args.skip_query:
                common.log(f"due-query latency on {backend}...")
                results, backend_plans = await bench_queries(backend, args, run.workdir, common.log)
                query_results += results
                plans[backend] = backend_plans

    machine = common.machine_info(
        run.load_before,
        **common.database_versions(pg_version),
        asyncpg=importlib.metadata.version("asyncpg"),
    )
    common.print_machine(machine, "sqlite", "postgresql", "sqlalchemy", "asyncpg")
    print_tick(tick_results)
    print_queries(query_results, args.runs, args.warmup)
    for backend, backend_plans in plans.items():
        print_plans(backend, backend_plans)
    print_targets(tick_results, query_results)
    common.finish(
        args.out,
        run.elapsed,
        machine,
        {
            "now": common.NOW.isoformat(),
            "sizes": sorted(args.sizes),
            "runs": args.runs,
            "warmup": args.warmup,
            "claim_limit": CLAIM_LIMIT,
            "pending_every": PENDING_EVERY,
            "due_every": DUE_EVERY,
            "leased_every": LEASED_EVERY,
            "query_members": QUERY_MEMBERS,
            "tick_members": args.tick_members,
            "tick_future_per_member": args.tick_future,
            "tick_runs": args.tick_runs,
            "batch_sizes": args.batch_sizes,
            "kind": args.kind,
            "backends": backends,
        },
        targets={"tick_seconds": TICK_TARGET_S, "select_ms_at_1m_rows": QUERY_TARGET_MS},
        tick=[asdict(r) for r in tick_results],
        due_query=[asdict(r) for r in query_results],
        plans=plans,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
