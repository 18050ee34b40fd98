"""Benchmark of command dispatch: how long a member waits for a typed command's answer.

Run from the repository root, with the project installed in ``.venv`` (``make`` does that):

    .venv/bin/python bench/bench_dispatch.py                          # SQLite and PostgreSQL
    .venv/bin/python bench/bench_dispatch.py --backends sqlite --meetings 5000
    .venv/bin/python bench/bench_dispatch.py --help                   # every option

PostgreSQL is reached at ``--pg-url``, else ``$TIARA_TEST_POSTGRES_URL``, else
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``, in a private schema that the script
creates, migrates and drops again (``fresh_store`` of bench/common.py); SQLite works in a
temporary file.

What it measures
----------------
A cohort's database after a year of use: ``--meetings`` meetings (100,000), 50 per member
(so 2,000 members), each member with 45 contacts (the last ten referred by earlier ones),
10 requests (3 still waiting for a reply), 2 upcoming meetings, 16 reminders (7 pending,
9 sent) and a few TIARA questions already seen. It is written with bulk inserts, and on
PostgreSQL VACUUM ANALYZEd as autovacuum would have by then.

Then ``Bot.handle(Typed(text), user)`` (parse, one transaction, the command, the answer),
exactly as an adapter calls it, with a ``FixedClock`` (Wednesday 18 November 2026, 15:00
UTC) and a ``NullNotifier``, runs a mix of real commands for members chosen at random, one
at a time: ``meetings`` (20%), ``show M<n>`` (20%), ``followups`` (15%), ``contact "<name>"`` (15%),
``log contact="..." when="yesterday 3pm" notes="..."`` (10%, half of them with someone new),
``thanks M<n>`` (10%) and ``prompts trends`` (10%). After ``--warmup`` unmeasured dispatches,
``--dispatches`` are timed with ``time.perf_counter`` around the call. Reported per command
and overall: p50, p95, p99 and max in ms, SQL statements per command, and this process's
CPU time per command (``time.process_time``: what the dispatch costs when nothing else
competes for the CPU, at least on SQLite, whose engine runs in this process). Every answer must
be a success; an error answer stops the benchmark.

Memory: this process's peak resident memory (``ru_maxrss``; the loader writes in blocks of
members so it does not hold the whole data set), and its resident memory after each load
and each timing run. SQLite runs inside this process; PostgreSQL's server does not count.

Targets: dispatch p99 under 20 ms on each backend; process memory under 200 MB.

The results are printed as tables and written as JSON (``--out``, by default
``bench/dispatch_results.json``) with the machine they ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import common  # bench/common.py
from sqlalchemy import update

from adapters.bootstrap import build_bot, build_registry
from bot.clock import FixedClock
from bot.core import Bot
from bot.events import OpenForm, Typed
from bot.notify import NullNotifier
from bot.nudges import kinds as k
from bot.questions import bank
from bot.values import UserRef
from storage.models import Contact, Meeting, Member, Nudge, OutreachRequest, PromptSeen
from storage.store import Store
from storage.tracker import name_key

registry = build_registry()

WORKSPACE = "TBENCH"  # the Slack team common.load_members creates

DEFAULT_OUT = Path(__file__).resolve().parent / "dispatch_results.json"

DISPATCH_P99_TARGET_MS = 20.0
MEMORY_TARGET_MB = 200.0

# The shape of one member's history.
MEETINGS_PER_MEMBER = 50
CONTACTS_PER_MEMBER = 45  # meeting i is with contact i % 45; the last 10 were referred
REFERRED = 10
REQUESTS_PER_MEMBER = 10  # to contacts 44, 43, ...; the first 3 still pending
PENDING_REQUESTS = 3
UPCOMING_MEETINGS = 2  # the last meetings are in the coming days
THANKED_EVERY = 5  # every 5th past meeting has no thank-you recorded
SENT_THANKS = 8  # thank-you reminders sent, for the most recent past meetings
KEEP_PENDING = 2  # keep-in-touch reminders planned
PROMPTS_SEEN = 2  # trends questions already shown
LOAD_BLOCK = 250  # members written per transaction

# A member's contacts are named from these (str.split keeps the lists short to read).
FIRST = (  # noqa: SIM905
    "Dana Sam Alex Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Rowan Parker Reese "
    "Emerson Harper Logan Skyler Cameron Drew"
).split()
LAST = (  # noqa: SIM905
    "Lee Ortiz Nguyen Patel Kim Garcia Smith Chen Okafor Rossi Novak Silva Haddad Müller "
    "Tanaka Cohen Dubois Kowalski Mensah Larsen Ivanova Moreau Costa Brennan Sato Fischer "
    "Yilmaz Andersen Reyes Walsh"
).split()
ORGS = (
    "Acme Health",
    "Globex",
    "Initech",
    "Umbrella Labs",
    "Stark Analytics",
    "Wayne Foundation",
    "City Hospital",
    "State University",
    "Northwind",
    "Contoso",
)
TITLES = (
    "Data Scientist",
    "Product Manager",
    "Research Lead",
    "Engineering Manager",
    "Policy Analyst",
    "Nurse Practitioner",
    "UX Researcher",
)
FIELDS = ("health tech", "finance", "public policy", "education", "biotech")
VENUES = ("phone", "video", "in-person")
VIAS = ("email", "linkedin", "phone", "other")
NOTES = (
    "Data teams want SQL and a portfolio; she suggested the analytics course.",
    "Talked about moving from research to product; most hires come through referrals.",
    "He said to look at smaller clinics first, and to write to their HR lead.",
    "Advice: keep the first message short and ask for 20 minutes, not an hour.",
)
FOLLOWUPS = "Send my resume and the article about patient data we talked about."
TIMEZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London")

# The command mix: name and weight.
MIX = (
    ("meetings", 20),
    ("show", 20),
    ("followups", 15),
    ("contact", 15),
    ("log", 10),
    ("thanks", 10),
    ("prompts trends", 10),
)


# -- the data set ------------------------------------------------------------------------------


def contact_name(member: int, j: int) -> str:
    """Member ``member``'s contact number ``j``: unique within the member (j < 600)."""
    return f"{FIRST[j % len(FIRST)]} {LAST[(member + (j // len(FIRST)) * 7) % len(LAST)]}"


def held_at(member: int, i: int, now: datetime) -> datetime:
    """When member ``member``'s meeting number ``i`` (0-based) is or was held."""
    past = MEETINGS_PER_MEMBER - UPCOMING_MEETINGS
    if i >= past:
        return now + timedelta(days=2 + 3 * (i - past), hours=member % 8)
    return now - timedelta(days=7 * (past - i), hours=(member + i) % 10)


def _ids(member: int) -> tuple[int, int, int]:
    """The id before member ``member``'s first contact, meeting and request."""
    return (
        (member - 1) * CONTACTS_PER_MEMBER,
        (member - 1) * MEETINGS_PER_MEMBER,
        (member - 1) * REQUESTS_PER_MEMBER,
    )


def member_rows(member: int, now: datetime, questions: Sequence[str]) -> dict[str, list[Any]]:
    """Every row of one member's history, by table."""
    contact0, meeting0, request0 = _ids(member)
    past = MEETINGS_PER_MEMBER - UPCOMING_MEETINGS
    rows: dict[str, list[Any]] = {
        "contacts": [],
        "meetings": [],
        "requests": [],
        "nudges": [],
        "prompts": [],
    }
    base = {"workspace_id": 1, "member_id": member}
    long_ago = now - timedelta(days=400)
    for j in range(CONTACTS_PER_MEMBER):
        name = contact_name(member, j)
        referred = j >= CONTACTS_PER_MEMBER - REFERRED
        rows["contacts"].append(
            {
                **base,
                "id": contact0 + j + 1,
                "name": name,
                "name_key": name_key(name),
                "title": TITLES[(member * 3 + j) % len(TITLES)],
                "organization": ORGS[(member + j) % len(ORGS)],
                "field": FIELDS[j % len(FIELDS)] if j % 3 == 0 else None,
                "email": f"{name.split()[0].lower()}.{member}.{j}@example.org" if j % 2 else None,
                "referred_by_id": contact0 + j - REFERRED + 1 if referred else None,
                "notes": None,
                "last_contact_at": now - timedelta(days=7 * (CONTACTS_PER_MEMBER - j)),
                "created_at": long_ago,
                "updated_at": long_ago,
            }
        )
    for i in range(MEETINGS_PER_MEMBER):
        when = held_at(member, i, now)
        thanked = i < past and (member + i) % THANKED_EVERY != 0
        rows["meetings"].append(
            {
                **base,
                "id": meeting0 + i + 1,
                "seq": i + 1,
                "contact_id": contact0 + i % CONTACTS_PER_MEMBER + 1,
                "held_at": when,
                "venue": VENUES[(member + i) % len(VENUES)],
                "notes": NOTES[(member + i) % len(NOTES)] if i < past else None,
                "followups": FOLLOWUPS if i < past and i % 3 == 0 else None,
                "thanks_at": when + timedelta(hours=4) if thanked else None,
                "created_at": min(when, now),
                "updated_at": min(when, now),
            }
        )
    for r in range(REQUESTS_PER_MEMBER):
        sent = now - timedelta(days=2 + 6 * r, hours=member % 7)
        pending = r < PENDING_REQUESTS
        rows["requests"].append(
            {
                **base,
                "id": request0 + r + 1,
                "seq": r + 1,  # requests count R1, R2... on their own
                "contact_id": contact0 + CONTACTS_PER_MEMBER - r,
                "via": VIAS[r % len(VIAS)],
                "sent_at": sent,
                "status": "pending" if pending else "replied",
                "outcome": None if pending else ("scheduled", "declined", "later")[r % 3],
                "replied_at": None if pending else sent + timedelta(days=3),
                "created_at": sent,
            }
        )

    def nudge(kind: str, key: str, due: datetime, **extra: Any) -> None:
        sent = extra.pop("sent", False)
        rows["nudges"].append(
            {
                **base,
                "seq": len(rows["nudges"]) + 1,
                "kind": kind,
                "dedupe_key": key,
                "meeting_id": extra.get("meeting_id"),
                "request_id": extra.get("request_id"),
                "contact_id": extra.get("contact_id"),
                "due_at": due,
                "expires_at": extra.get("expires_at"),
                "status": "sent" if sent else "pending",
                "attempts": 1 if sent else 0,
                "sent_at": due if sent else None,
                "created_at": min(due, now) - timedelta(days=1),
                "updated_at": min(due, now),
            }
        )

    for r in range(PENDING_REQUESTS):
        rid = request0 + r + 1
        nudge(
            k.FOLLOW_UP, f"follow_up:r{rid}", now + timedelta(days=r + 1, hours=2), request_id=rid
        )
    for i in range(past, MEETINGS_PER_MEMBER):
        when = held_at(member, i, now)
        mid = meeting0 + i + 1
        nudge(
            k.PREP,
            f"prep:m{mid}:{when.date().isoformat()}",
            when - timedelta(days=1),
            meeting_id=mid,
            expires_at=when,
        )
    for n in range(KEEP_PENDING):
        cid = contact0 + n + 1
        due = now + timedelta(days=10 + 15 * n)
        nudge(k.KEEP_IN_TOUCH, f"keep:c{cid}:{due.date()}", due, contact_id=cid)
    cid = contact0 + KEEP_PENDING + 1
    due = now - timedelta(days=2)
    nudge(k.KEEP_IN_TOUCH, f"keep:c{cid}:{due.date()}", due, contact_id=cid, sent=True)
    for i in range(past - SENT_THANKS, past):
        mid = meeting0 + i + 1
        when = held_at(member, i, now) + timedelta(hours=2)
        nudge(k.THANKS, f"thanks:m{mid}", when, meeting_id=mid, sent=True)
    for q in questions[:PROMPTS_SEEN]:
        rows["prompts"].append(
            {
                **base,
                "category": "trends",
                "question_id": q,
                "seen_at": now - timedelta(days=30),
            }
        )
    return rows


@dataclass
class Loaded:
    members: int
    contacts: int = 0
    meetings: int = 0
    requests: int = 0
    nudges: int = 0
    prompts_seen: int = 0
    seconds: float = 0.0


TABLES = (
    ("contacts", Contact),
    ("meetings", Meeting),
    ("requests", OutreachRequest),
    ("nudges", Nudge),
    ("prompts", PromptSeen),
)


async def load_network(
    store: Store, *, members: int, now: datetime, log: Callable[[str], None], label: str
) -> Loaded:
    """A workspace of ``members`` members, each with a year's history (see the docstring).

    Written in blocks of members, so this process never holds the whole data set.
    """
    started = time.perf_counter()
    loaded = Loaded(members=members)
    await common.load_members(store, members, with_contacts=False)
    per_member = len(member_rows(1, now, ())["nudges"])
    async with store.engine.begin() as conn:
        await conn.execute(
            update(Member).values(
                next_seq=REQUESTS_PER_MEMBER,
                next_meeting_seq=MEETINGS_PER_MEMBER,
                next_nudge_seq=per_member,
                created_at=now - timedelta(days=400),
                profile_checked_at=now - timedelta(hours=6),
                last_seen_at=now - timedelta(days=1),
            )
        )
        for n, zone in enumerate(TIMEZONES):
            await conn.execute(
                update(Member).where(Member.id % len(TIMEZONES) == n).values(platform_timezone=zone)
            )
    questions = [q.id for q in bank().categories["trends"].questions]
    progress = common.Progress()
    for first in range(1, members + 1, LOAD_BLOCK):
        block: dict[str, list[Any]] = {name: [] for name, _ in TABLES}
        for member in range(first, min(first + LOAD_BLOCK, members + 1)):
            for name, rows in member_rows(member, now, questions).items():
                block[name].extend(rows)
        async with store.engine.begin() as conn:
            for name, model in TABLES:
                await common.insert_chunks(conn, model, block[name])
        loaded.contacts += len(block["contacts"])
        loaded.meetings += len(block["meetings"])
        loaded.requests += len(block["requests"])
        loaded.nudges += len(block["nudges"])
        loaded.prompts_seen += len(block["prompts"])
        done = min(first + LOAD_BLOCK - 1, members)
        if progress.due() or done == members:
            log(
                f"  {label}: {done:,}/{members:,} members loaded, {loaded.meetings:,} meetings, "
                f"{time.perf_counter() - started:.0f} s"
            )
    await common.fix_sequences(store, ["contacts", "meetings", "outreach_requests"])
    for name in ("members", "contacts", "meetings", "outreach_requests", "nudges"):
        await common.maintain(store, name)
    loaded.seconds = time.perf_counter() - started
    return loaded


# -- the commands ------------------------------------------------------------------------------


def user_of(member: int) -> UserRef:
    return UserRef("slack", WORKSPACE, f"U{member:08d}")


def log_text(rng: random.Random, member: int, newcomers: Iterator[int]) -> str:
    """A ``log`` command as a member types it: half of them about one of the member's
    contacts, half about someone new (``Robin Newcomb<n>``, n from ``newcomers``)."""
    if rng.random() < 0.5:
        name = contact_name(member, rng.randrange(CONTACTS_PER_MEMBER))
    else:
        name = f"Robin Newcomb{next(newcomers)}"
    notes = NOTES[rng.randrange(len(NOTES))]
    return f'log contact="{name}" when="yesterday 3pm" notes="{notes}"'


class Commands:
    """Commands as members type them, for members chosen at random (seeded)."""

    def __init__(self, members: int, seed: int) -> None:
        self.members = members
        self.rng = random.Random(seed)
        self.names = [name for name, _ in MIX]
        self.weights = [weight for _, weight in MIX]
        self.newcomers = itertools.count(1)

    def text(self, command: str, member: int) -> str:
        rng = self.rng
        past = MEETINGS_PER_MEMBER - UPCOMING_MEETINGS
        if command == "show":
            return f"show M{rng.randint(1, MEETINGS_PER_MEMBER)}"
        if command == "thanks":
            return f"thanks M{rng.randint(1, past)}"
        if command == "contact":
            return f'contact "{contact_name(member, rng.randrange(CONTACTS_PER_MEMBER))}"'
        if command == "log":
            return log_text(rng, member, self.newcomers)
        return command

    def next(self) -> tuple[str, str, UserRef]:
        command = self.rng.choices(self.names, self.weights)[0]
        member = self.rng.randint(1, self.members)
        return command.split()[0], self.text(command, member), user_of(member)


@dataclass
class CommandResult:
    command: str
    latency: common.Percentiles
    statements_per_dispatch: float
    cpu_ms_mean: float  # this process's CPU time per dispatch (SQLite's included)


@dataclass
class BackendResult:
    backend: str
    data: Loaded
    warmup: int
    dispatches: int
    seconds: float
    overall: common.Percentiles
    commands: list[CommandResult]
    statements_per_dispatch: float
    cpu_ms_mean: float
    rss_after_load_mb: float | None
    rss_after_run_mb: float | None
    target_met: bool = False
    errors: list[str] = field(default_factory=list)


def bot_for(store: Store, now: datetime, seed: int) -> Bot:
    return build_bot(
        store=store,
        clock=FixedClock(now),
        registry=registry,
        default_timezone="UTC",
        rng=random.Random(seed),
        notifier=NullNotifier(),
    )


async def bench_backend(
    backend: str, args: argparse.Namespace, workdir: Path, log: Callable[[str], None]
) -> BackendResult:
    members = math.ceil(args.meetings / MEETINGS_PER_MEMBER)
    async with common.fresh_store(backend, args.pg_url, workdir) as store:
        log(f"{backend}: loading {members:,} members' history...")
        data = await load_network(store, members=members, now=common.NOW, log=log, label=backend)
        log(
            f"  {backend}: loaded {data.meetings:,} meetings, {data.contacts:,} contacts, "
            f"{data.requests:,} requests, {data.nudges:,} reminders in {data.seconds:.1f} s"
        )
        rss_loaded = common.memory_mb()
        bot = bot_for(store, common.NOW, args.seed)
        commands = Commands(members, args.seed)
        samples: dict[str, list[float]] = {name.split()[0]: [] for name, _ in MIX}
        statements: dict[str, int] = dict.fromkeys(samples, 0)
        cpu: dict[str, float] = dict.fromkeys(samples, 0.0)
        errors: list[str] = []
        total = args.warmup + args.dispatches
        progress = common.Progress()
        log(f"  {backend}: {args.warmup:,} warm-up and {args.dispatches:,} timed dispatches...")
        started = time.perf_counter()
        with common.SqlMeter(store.engine) as meter:
            for n in range(total):
                name, text, user = commands.next()
                before = meter.statements
                cpu_start = time.process_time()
                start = time.perf_counter()
                answer = await bot.handle(Typed(text), user)
                seconds = time.perf_counter() - start
                cpu_seconds = time.process_time() - cpu_start
                if isinstance(answer, OpenForm):
                    errors.append(f"{text!r}: opened a form instead of running")
                elif answer.error:
                    errors.append(f"{text!r}: {answer.text[:200]}")
                if n >= args.warmup:
                    samples[name].append(seconds)
                    statements[name] += meter.statements - before
                    cpu[name] += cpu_seconds
                if progress.due():
                    timed = [s for values in samples.values() for s in values]
                    so_far = common.Percentiles.of(timed)
                    log(
                        f"  {backend}: {n + 1:,}/{total:,} dispatches; so far p50 "
                        f"{so_far.p50_ms:.2f} ms, p99 {so_far.p99_ms:.2f} ms"
                    )
                if len(errors) >= 5:
                    break
        seconds = time.perf_counter() - started
        all_samples = [s for values in samples.values() for s in values]
        overall = common.Percentiles.of(all_samples)
        rss_run = common.memory_mb()
        log(
            f"  {backend}: done in {seconds:.1f} s; p50 {overall.p50_ms:.2f} ms, "
            f"p99 {overall.p99_ms:.2f} ms"
        )
        return BackendResult(
            backend=backend,
            data=data,
            warmup=args.warmup,
            dispatches=len(all_samples),
            seconds=round(seconds, 1),
            overall=overall,
            commands=[
                CommandResult(
                    command=name,
                    latency=common.Percentiles.of(values),
                    statements_per_dispatch=round(statements[name] / max(1, len(values)), 1),
                    cpu_ms_mean=round(1000 * cpu[name] / max(1, len(values)), 2),
                )
                for name, values in samples.items()
            ],
            statements_per_dispatch=round(sum(statements.values()) / max(1, len(all_samples)), 1),
            cpu_ms_mean=round(1000 * sum(cpu.values()) / max(1, len(all_samples)), 2),
            rss_after_load_mb=rss_loaded["rss"] if rss_loaded else None,
            rss_after_run_mb=rss_run["rss"] if rss_run else None,
            target_met=not errors and overall.p99_ms < DISPATCH_P99_TARGET_MS,
            errors=errors,
        )


# -- reporting ---------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.2f}"


def print_results(results: Sequence[BackendResult]) -> None:
    for r in results:
        d = r.data
        print(
            f"\n== {r.backend}: {d.meetings:,} meetings, {d.members:,} members, "
            f"{d.contacts:,} contacts, {d.requests:,} requests, {d.nudges:,} reminders; "
            f"{r.dispatches:,} dispatches after {r.warmup:,} warm-up, ms "
            f"(target: p99 < {DISPATCH_P99_TARGET_MS:g} ms) =="
        )
        rows = [
            [
                c.command,
                c.latency.count,
                _ms(c.latency.p50_ms),
                _ms(c.latency.p95_ms),
                _ms(c.latency.p99_ms),
                _ms(c.latency.max_ms),
                c.statements_per_dispatch,
                _ms(c.cpu_ms_mean),
            ]
            for c in r.commands
        ]
        o = r.overall
        rows.append(
            [
                "all",
                o.count,
                _ms(o.p50_ms),
                _ms(o.p95_ms),
                _ms(o.p99_ms),
                _ms(o.max_ms),
                r.statements_per_dispatch,
                _ms(r.cpu_ms_mean),
            ]
        )
        print(
            common.table(["command", "n", "p50", "p95", "p99", "max", "SQL/cmd", "CPU mean"], rows)
        )
        print(
            "  CPU mean = this process's CPU time per dispatch, ms (SQLite runs in it; "
            "PostgreSQL's server does not)\n"
            f"  loaded in {d.seconds:.1f} s; resident memory {r.rss_after_load_mb} MB after "
            f"loading, {r.rss_after_run_mb} MB after the run"
        )
        for error in r.errors:
            print(f"  ERROR ANSWER: {error}")


def print_targets(results: Sequence[BackendResult], peak: float) -> None:
    print("\n== Targets ==")
    for r in results:
        verdict = "met" if r.target_met else "MISSED"
        print(
            f"  dispatch, {r.backend}, {r.data.meetings:,} meetings: p99 "
            f"{r.overall.p99_ms:.2f} ms (target < {DISPATCH_P99_TARGET_MS:g} ms): {verdict}"
        )
    verdict = "met" if peak < MEMORY_TARGET_MB else "MISSED"
    print(
        f"  memory, this process's peak RSS (loader, bot, SQLite): {peak:.0f} MB "
        f"(target < {MEMORY_TARGET_MB:g} MB): {verdict}"
    )


# -- main --------------------------------------------------------------------------------------


def add_meetings(parser: argparse.ArgumentParser) -> None:
    """``--meetings``: the size of the data set ``load_network`` writes."""
    parser.add_argument(
        "--meetings",
        type=lambda text: common.positive_ints(text)[0],
        default=100_000,
        help=f"meetings in the database, {MEETINGS_PER_MEMBER} per member (default 100000)",
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark command dispatch over a large database (SQLite and PostgreSQL)."
    )
    common.add_backends(parser)
    add_meetings(parser)
    parser.add_argument("--dispatches", type=int, default=3000, help="timed dispatches")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured ones before them")
    parser.add_argument("--seed", type=int, default=1, help="for the members and commands")
    common.add_pg_url(parser)
    common.add_out(parser, DEFAULT_OUT)
    common.add_default_gc(parser)
    return parser.parse_args(argv)


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    common.tune_gc(args)
    pg_version = await common.reach_postgres(args.backends, args.pg_url, "--backends sqlite")
    with common.timed_run() as run:
        results = [await bench_backend(b, args, run.workdir, common.log) for b in args.backends]
    peak = common.peak_rss_mb()

    machine = common.machine_info(
        run.load_before,
        **common.database_versions(pg_version),
        asyncpg=importlib.metadata.version("asyncpg"),
    )
    common.print_machine(machine, "sqlite", "postgresql")
    print_results(results)
    print_targets(results, peak)
    common.finish(
        args.out,
        run.elapsed,
        machine,
        {
            "now": common.NOW.isoformat(),
            "meetings": args.meetings,
            "meetings_per_member": MEETINGS_PER_MEMBER,
            "contacts_per_member": CONTACTS_PER_MEMBER,
            "requests_per_member": REQUESTS_PER_MEMBER,
            "upcoming_meetings_per_member": UPCOMING_MEETINGS,
            "mix": dict(MIX),
            "dispatches": args.dispatches,
            "warmup": args.warmup,
            "seed": args.seed,
            "backends": args.backends,
            "gc": "default" if args.default_gc else "tuned (adapters.bootstrap.tune_gc)",
        },
        targets={"dispatch_p99_ms": DISPATCH_P99_TARGET_MS, "memory_mb": MEMORY_TARGET_MB},
        results=[asdict(r) for r in results],
        peak_rss_mb=peak,
        memory_target_met=peak < MEMORY_TARGET_MB,
    )
    failed = any(r.errors for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
