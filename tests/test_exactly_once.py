"""Every due nudge goes out exactly once, however many worker processes share the database.

These tests use real OS processes (tests/nudge_worker.py), each with its own engine and
connections, against a real database: PostgreSQL in a private schema, or a SQLite file.
Nothing about the database is mocked; the only fake is the notifier, which writes what
it would have sent to a file per worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from bot.clock import FixedClock
from bot.notify import RecordingNotifier
from bot.nudges import kinds as k
from bot.nudges.deliver import NudgeSender
from bot.values import UserRef
from storage.models import Contact, Member, Nudge, Workspace
from storage.store import Store
from tests.conftest import POSTGRES_URL, _drop_schema, _postgres_schema_store, require_postgres
from tests.nudge_worker import URL_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "nudge_worker.py"
WAIT = 120.0  # seconds a worker process may take, at most, before the test gives up
# Midday UTC on a Wednesday: outside everyone's quiet hours (members use UTC).
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
LABEL = re.compile(r"N(\d+)")


def _seq(label: str) -> int:
    """The seq in a nudge's label ("N42" -> 42)."""
    match = LABEL.fullmatch(label)
    assert match is not None, f"not a nudge label: {label!r}"
    return int(match[1])


# -- the rows ----------------------------------------------------------------------------


async def _seed(store: Store, *, members: int, per_member: int) -> dict[int, str]:
    """Due, pending referral nudges in one workspace; returns each nudge's seq -> user id.

    A referral nudge with a contact renders without a query of its own and plans nothing
    next, so the work measured is the claiming. Seqs are unique across all members (each
    message's buttons name its nudges by seq), and due times are shuffled so one member's
    nudges fall in different batches, and so different workers, as well as together.
    """
    total = members * per_member
    rng = random.Random(20261118)
    order = list(range(total))
    rng.shuffle(order)
    first_due = NOW - timedelta(days=2)
    async with store.transaction() as session:
        workspace_id = (
            await session.execute(
                insert(Workspace)
                .values(
                    platform="test",
                    external_id="cohort",
                    timezone=None,
                    followup_policy="seeds",
                    holidays=[],
                    created_at=first_due,
                )
                .returning(Workspace.id)
            )
        ).scalar_one()
        await session.execute(
            insert(Member),
            [
                {
                    "workspace_id": workspace_id,
                    "user_id": f"u{m}",
                    "timezone": None,
                    "next_seq": 0,
                    "active": True,
                    "created_at": first_due,
                    "nudges_on": True,
                    "quiet_start": 21 * 60,
                    "quiet_end": 8 * 60,
                    "nudge_time": 9 * 60,
                    "keep_in_touch_months": 3,
                    "weekly_plan": False,
                    "muted_kinds": [],
                    "next_nudge_seq": per_member,
                    "unreachable_at": None,
                }
                for m in range(members)
            ],
        )
        member_ids: dict[str, int] = {
            user: member_id
            for user, member_id in (await session.execute(select(Member.user_id, Member.id)))
        }
        await session.execute(
            insert(Contact),
            [
                {
                    "workspace_id": workspace_id,
                    "member_id": member_id,
                    "name": f"Contact of {user}",
                    "name_key": f"contact of {user}",
                    "created_at": first_due,
                    "updated_at": first_due,
                }
                for user, member_id in member_ids.items()
            ],
        )
        contact_ids: dict[int, int] = {
            member_id: contact_id
            for member_id, contact_id in (
                await session.execute(select(Contact.member_id, Contact.id))
            )
        }
        users: dict[int, str] = {}
        rows: list[dict[str, Any]] = []
        for index in range(total):
            seq = index + 1
            user = f"u{index % members}"
            users[seq] = user
            member_id = member_ids[user]
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "member_id": member_id,
                    "seq": seq,
                    "kind": k.REFERRAL,
                    "dedupe_key": f"referral:{seq}",
                    "contact_id": contact_ids[member_id],
                    "due_at": first_due + timedelta(seconds=order[index]),
                    "expires_at": None,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": first_due,
                    "updated_at": first_due,
                }
            )
        for start in range(0, total, 2000):
            await session.execute(insert(Nudge), rows[start : start + 2000])
    return users


async def _statuses(store: Store) -> dict[str, int]:
    async with store.transaction() as session:
        result = await session.execute(select(Nudge.status, func.count()).group_by(Nudge.status))
        return {status: count for status, count in result.all()}


async def _assert_all_settled_as_sent(store: Store, total: int, now: datetime) -> None:
    """Every row is 'sent' at ``now``, with no lease, claim or failed attempt left over."""
    assert await _statuses(store) == {"sent": total}
    async with store.transaction() as session:
        leftovers = (
            await session.execute(
                select(func.count()).where(
                    (Nudge.claim_token.is_not(None))
                    | (Nudge.lease_until.is_not(None))
                    | (Nudge.sent_at != now)
                    | (Nudge.attempts != 0)
                )
            )
        ).scalar_one()
    assert leftovers == 0


# -- the processes -----------------------------------------------------------------------


@dataclass
class Worker:
    """One worker process and the file its notifier writes to."""

    process: asyncio.subprocess.Process
    out: Path

    def deliveries(self) -> list[tuple[str, list[int]]]:
        """(user id, nudge seqs) for every message this worker sent."""
        found = []
        for line in self.out.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            seqs = [_seq(label) for label in record["nudges"]]
            found.append((record["user"], seqs))
        return found


async def _spawn(url: str, out: Path, *args: str) -> Worker:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env[URL_VARIABLE] = url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        "--now",
        NOW.isoformat(),
        "--out",
        str(out),
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Worker(process, out)


async def _finish(worker: Worker) -> tuple[int, list[str], str]:
    """Wait for the worker to exit: its exit code, stdout lines and stderr."""
    stdout, stderr = await asyncio.wait_for(worker.process.communicate(), WAIT)
    code = worker.process.returncode
    assert code is not None
    return code, stdout.decode().splitlines(), stderr.decode()


async def _kill(*workers: Worker) -> None:
    """Stop any worker still running (a test that failed half-way)."""
    for worker in workers:
        if worker.process.returncode is None:
            worker.process.kill()
            await worker.process.wait()


async def _start_together(workers: list[Worker]) -> None:
    """Wait until every worker has connected, then tell them all to go at once."""
    for worker in workers:
        assert worker.process.stdout is not None
        line = await asyncio.wait_for(worker.process.stdout.readline(), WAIT)
        if line != b"ready\n":
            code, _, stderr = await _finish(worker)
            pytest.fail(f"a worker did not start (exit {code}):\n{stderr}")
    for worker in workers:
        assert worker.process.stdin is not None
        worker.process.stdin.write(b"go\n")
        await worker.process.stdin.drain()


async def _run_together(
    url: str, tmp_path: Path, count: int, *args: str
) -> list[tuple[Worker, dict[str, Any]]]:
    """Start ``count`` workers, let them all connect, then tell them to go at once.

    Returns each worker with its summary (its summed TickReport, ticks and errors).
    """
    workers: list[Worker] = []
    try:
        for n in range(count):
            workers.append(await _spawn(url, tmp_path / f"worker{n}.jsonl", *args))
        await _start_together(workers)
        finished = await asyncio.gather(*(_finish(worker) for worker in workers))
    finally:
        await _kill(*workers)
    results = []
    for worker, (code, lines, stderr) in zip(workers, finished, strict=True):
        assert code == 0, f"a worker failed (exit {code}):\n{stderr}"
        results.append((worker, json.loads(lines[-1])))
    return results


def _delivery_counts(
    workers: Sequence[Worker], users: dict[int, str]
) -> tuple[Counter[int], list[int]]:
    """How often each nudge was delivered, and how many nudges each worker delivered.

    Also checks that each nudge went to its own member.
    """
    counts: Counter[int] = Counter()
    per_worker = []
    for worker in workers:
        delivered = 0
        for user, seqs in worker.deliveries():
            assert seqs, f"a message to {user} names no nudge"
            for seq in seqs:
                assert users[seq] == user, f"N{seq} belongs to {users[seq]}, was sent to {user}"
                counts[seq] += 1
            delivered += len(seqs)
        per_worker.append(delivered)
    return counts, per_worker


def _assert_exactly_once(counts: Counter[int], users: dict[int, str]) -> None:
    missing = sorted(set(users) - set(counts))
    twice = sorted(seq for seq, n in counts.items() if n > 1)
    assert not missing, f"{len(missing)} nudges never sent, e.g. {missing[:10]}"
    assert not twice, f"{len(twice)} nudges sent more than once, e.g. {twice[:10]}"
    assert set(counts) == set(users)


# -- the tests ---------------------------------------------------------------------------


@pytest.fixture
async def pg_schema() -> AsyncIterator[tuple[Store, str]]:
    """A migrated PostgreSQL schema of its own, dropped afterwards."""
    await require_postgres()
    store, schema = await _postgres_schema_store()
    try:
        await store.upgrade()
        yield store, schema
    finally:
        await store.close()
        await _drop_schema(schema)


async def test_three_postgres_workers_send_each_of_10000_nudges_exactly_once(
    pg_schema: tuple[Store, str], tmp_path: Path
) -> None:
    """Proves SKIP LOCKED claiming with leases shares the work without overlap.

    Three processes tick concurrently, in batches of 200, over 10,000 due nudges of
    2,500 members: every nudge is delivered exactly once, to its member, in total; every
    row ends 'sent' with its claim cleared; and more than one worker took part (so the
    test did exercise concurrent claiming, rather than one worker doing it all).
    """
    store, schema = pg_schema
    users = await _seed(store, members=2500, per_member=4)
    assert len(users) == 10_000

    results = await _run_together(
        POSTGRES_URL, tmp_path, 3, "--schema", schema, "--batch-size", "200"
    )

    for _, summary in results:
        assert summary["errors"] == []
        assert summary["lost_lease"] == 0
    counts, per_worker = _delivery_counts([w for w, _ in results], users)
    _assert_exactly_once(counts, users)
    assert per_worker == [summary["sent"] for _, summary in results]
    assert sum(1 for n in per_worker if n > 0) >= 2, f"one worker did everything: {per_worker}"
    await _assert_all_settled_as_sent(store, len(users), NOW)


async def test_three_workers_one_killed_mid_run_its_leases_are_taken_over(
    pg_schema: tuple[Store, str], tmp_path: Path
) -> None:
    """Scale-out with a crash: three processes share 10,000 due nudges; one is killed
    (SIGKILL) while it hangs sending a batch it claimed after a few batches of its own.
    The other two finish everything else. The killed worker's batch stays leased, and a
    process started once the lease has run out sends it: every nudge exactly once."""
    store, schema = pg_schema
    users = await _seed(store, members=2500, per_member=4)
    lease = timedelta(minutes=5)
    common = ("--schema", schema, "--batch-size", "200")
    workers = [await _spawn(POSTGRES_URL, tmp_path / f"worker{n}.jsonl", *common) for n in (0, 1)]
    doomed = await _spawn(
        POSTGRES_URL, tmp_path / "doomed.jsonl", *common, "--stall-after-ticks", "3"
    )
    everyone = [*workers, doomed]
    try:
        await _start_together(everyone)
        assert doomed.process.stdout is not None
        stalled = await asyncio.wait_for(doomed.process.stdout.readline(), WAIT)
        assert stalled == b"stalled\n", stalled
        doomed.process.kill()  # mid-batch: claimed, nothing of it sent, nothing settled
        await doomed.process.wait()
        finished = await asyncio.gather(*(_finish(worker) for worker in workers))
    finally:
        await _kill(*everyone)
    for code, _, stderr in finished:
        assert code == 0, stderr
    async with store.transaction() as session:
        leased = await session.scalar(
            select(func.count()).where(Nudge.status == "pending", Nudge.claim_token.is_not(None))
        )
    assert leased == 200, "the killed worker's batch should still be leased"

    # A process whose clock is past the lease takes the batch over.
    after = NOW + lease + timedelta(seconds=1)
    heir = await _spawn(
        POSTGRES_URL, tmp_path / "heir.jsonl", *common, "--now-override", after.isoformat()
    )
    try:
        assert heir.process.stdout is not None and heir.process.stdin is not None
        assert await asyncio.wait_for(heir.process.stdout.readline(), WAIT) == b"ready\n"
        heir.process.stdin.write(b"go\n")
        await heir.process.stdin.drain()
        code, lines, stderr = await _finish(heir)
    finally:
        await _kill(heir)
    assert code == 0, stderr
    assert json.loads(lines[-1])["sent"] == 200
    counts, per_worker = _delivery_counts([*workers, doomed, heir], users)
    _assert_exactly_once(counts, users)
    assert per_worker[2] == 3 * 200  # the killed worker's three batches before it hung
    assert await _statuses(store) == {"sent": len(users)}
    async with store.transaction() as session:
        claims = await session.scalar(
            select(func.count()).where(
                Nudge.claim_token.is_not(None) | Nudge.lease_until.is_not(None)
            )
        )
    assert claims == 0


async def test_postgres_worker_dies_after_claiming_and_another_takes_over_after_the_lease(
    pg_schema: tuple[Store, str], tmp_path: Path
) -> None:
    """Proves a crashed worker's claim blocks others until its lease runs out, and no longer.

    A worker process claims a batch (the claim commits) and dies with ``os._exit(1)``
    before sending. A tick elsewhere while the lease still holds sends all the other due
    nudges but none of the claimed ones; a tick after the lease has run out sends each
    claimed nudge exactly once; a further tick finds nothing left.
    """
    store, schema = pg_schema
    users = await _seed(store, members=30, per_member=1)
    lease = timedelta(minutes=5)  # NudgeSender's default, which the worker uses too

    crashed = await _spawn(
        POSTGRES_URL,
        tmp_path / "crashed.jsonl",
        "--schema",
        schema,
        "--mode",
        "claim-and-die",
        "--batch-size",
        "10",
        "--lease-seconds",
        str(int(lease.total_seconds())),
    )
    try:
        code, lines, stderr = await _finish(crashed)
    finally:
        await _kill(crashed)
    assert code == 1 and lines, f"the worker should have died after claiming:\n{stderr}"
    claim = json.loads(lines[-1])
    claimed_ids: set[int] = set(claim["ids"])
    assert len(claimed_ids) == 10
    assert crashed.deliveries() == []

    async with store.transaction() as session:
        rows = (await session.execute(select(Nudge))).scalars().all()
    seq_of = {row.id: row.seq for row in rows}
    for row in rows:
        if row.id in claimed_ids:
            assert (row.status, row.claim_token, row.lease_until) == (
                "pending",
                claim["token"],
                NOW + lease,
            )
        else:
            assert (row.status, row.claim_token, row.lease_until) == ("pending", None, None)
    claimed_seqs = {seq_of[i] for i in claimed_ids}
    others = set(users) - claimed_seqs

    notifier = RecordingNotifier()
    clock = FixedClock(NOW + lease - timedelta(seconds=1))
    sender = NudgeSender(store=store, notifier=notifier, clock=clock, default_timezone="UTC")

    def sent_seqs() -> Counter[int]:
        counts: Counter[int] = Counter()
        for sent in notifier.sent:
            assert isinstance(sent.to, UserRef)
            for button in sent.message.buttons:
                label = button.args.get("id")
                if button.label == "Done" and isinstance(label, str):
                    seq = _seq(label)
                    assert users[seq] == sent.to.user
                    counts[seq] += 1
        return counts

    report = await sender.tick()
    assert report.sent == len(others)
    assert sent_seqs() == Counter(others), "a leased nudge was sent before its lease ran out"

    notifier.clear()
    clock.set(NOW + lease + timedelta(seconds=1))
    report = await sender.tick()
    assert (report.sent, report.lost_lease) == (len(claimed_ids), 0)
    assert sent_seqs() == Counter(claimed_seqs)

    notifier.clear()
    report = await sender.tick()
    assert (report.claimed, notifier.sent) == (0, [])
    assert await _statuses(store) == {"sent": len(users)}


async def test_two_sqlite_workers_on_one_file_send_each_nudge_exactly_once(
    tmp_path: Path,
) -> None:
    """Proves two processes ticking on one SQLite file neither double-send nor fail.

    Store serialises transactions within a process only (an asyncio.Lock), so between
    processes it is SQLite's own file locking that must keep claims apart. Both workers
    tick concurrently over 2,000 due nudges: every nudge is delivered exactly once, every
    row ends 'sent', and no tick fails. With deferred transactions (plain BEGIN) the
    claim's read-then-UPDATE failed at once with "database is locked" whenever the
    other process was writing; BEGIN IMMEDIATE and a busy timeout make it wait instead.
    """
    path = tmp_path / "tiara.db"
    url = f"sqlite+aiosqlite:///{path}"
    store = Store(url)
    try:
        await store.upgrade()
        users = await _seed(store, members=500, per_member=4)
    finally:
        await store.close()

    results = await _run_together(url, tmp_path, 2, "--batch-size", "100")

    counts, per_worker = _delivery_counts([w for w, _ in results], users)
    _assert_exactly_once(counts, users)
    assert per_worker == [summary["sent"] for _, summary in results]
    assert [summary["lost_lease"] for _, summary in results] == [0, 0]
    store = Store(url)
    try:
        await _assert_all_settled_as_sent(store, len(users), NOW)
    finally:
        await store.close()
    errors = Counter(error for _, summary in results for error in summary["errors"])
    assert not errors, f"{errors.total()} ticks failed: {errors.most_common()}"
