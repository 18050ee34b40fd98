"""Reminders under faults, in one process: each send is recorded as it happens, and a lost
database connection is retried, never turned into a second message.

PostgreSQL is reached through a TCP proxy (tests/tcp_proxy.py) that the test cuts: every
connection drops at once, as in a failover or ``pg_terminate_backend``. The sender's
retry waits are an injected ``sleep``, so the tests never wait on real time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, make_url, select

from adapters.bootstrap import build_app
from adapters.testing import TestMember
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import INTERNAL_ERROR
from bot.notify import RecordingNotifier
from bot.nudges.deliver import NudgeSender
from bot.values import ChannelRef, Message, UserRef
from storage.models import Nudge, PracticeGroup
from storage.store import Store, is_disconnect
from tests.conftest import POSTGRES_URL, _drop_schema, _postgres_schema_store, require_postgres
from tests.tcp_proxy import TcpProxy
from tests.test_exactly_once import NOW, _seed, _statuses
from tests.test_practice import FIRST_ROUND

MEMBERS = 60
CONCURRENCY = 4
LEASE = timedelta(minutes=5)


async def _sent_count(store: Store) -> int:
    async with store.transaction() as session:
        return int(
            (await session.execute(select(func.count()).where(Nudge.status == "sent"))).scalar_one()
        )


@dataclass
class CountingNotifier:
    """Records each DM by member; ``on_send`` runs before each one is counted as sent."""

    on_send: Callable[[int], object] | None = None
    calls: Counter[str] = field(default_factory=Counter)
    started: int = 0

    async def send_dm(self, user: UserRef, message: Message) -> None:
        self.started += 1
        if self.on_send is not None:
            result = self.on_send(self.started)
            if hasattr(result, "__await__"):
                await result  # type: ignore[misc]
        self.calls[user.user] += 1

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        raise AssertionError("reminders go to one member at a time")

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        raise AssertionError("reminders are never posted in channels")


async def test_each_send_is_recorded_before_many_more_go_out(empty_store: Store) -> None:
    """At any moment, at most ``concurrency`` reminders are sent but not yet recorded:
    that is all a crash or a lost connection could ever send twice."""
    await empty_store.upgrade()
    users = await _seed(empty_store, members=MEMBERS, per_member=1)
    unrecorded: list[int] = []

    async def look(started: int) -> None:
        unrecorded.append(started - await _sent_count(empty_store))

    notifier = CountingNotifier(on_send=look)
    sender = NudgeSender(
        store=empty_store,
        notifier=notifier,
        clock=FixedClock(NOW),
        default_timezone="UTC",
        concurrency=CONCURRENCY,
    )
    report = await sender.tick()

    assert report.sent == report.messages == len(users)
    assert notifier.calls == Counter(users.values())
    assert max(unrecorded) <= CONCURRENCY, f"up to {max(unrecorded)} sends went unrecorded"
    assert await _statuses(empty_store) == {"sent": len(users)}


@pytest.fixture
async def cut_store() -> AsyncIterator[tuple[Store, Store, TcpProxy]]:
    """(direct store, store through a proxy that can be cut, the proxy): one fresh
    PostgreSQL schema, migrated, seen both ways."""
    await require_postgres()
    direct, schema = await _postgres_schema_store()
    url = make_url(POSTGRES_URL)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = Store(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        connect_args={"server_settings": {"search_path": schema}},
    )
    try:
        await direct.upgrade()
        yield direct, proxied, proxy
    finally:
        await proxied.close()
        await proxy.stop()
        await direct.close()
        await _drop_schema(schema)


@pytest.mark.postgres
async def test_a_lost_connection_is_retried_and_no_member_is_sent_twice(
    cut_store: tuple[Store, Store, TcpProxy],
) -> None:
    direct, proxied, proxy = cut_store
    users = await _seed(direct, members=MEMBERS, per_member=1)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        # The sender waits before retrying: the database comes back meanwhile.
        waits.append(seconds)
        if len(waits) == 2:
            proxy.restore()

    def cut_after_20(started: int) -> None:
        if started == 20:
            proxy.cut()

    notifier = CountingNotifier(on_send=cut_after_20)
    sender = NudgeSender(
        store=proxied,
        notifier=notifier,
        clock=FixedClock(NOW),
        default_timezone="UTC",
        concurrency=CONCURRENCY,
        sleep=sleep,
    )
    report = await sender.tick()

    assert proxy.refused >= 1 and len(waits) >= 2, "the cut was never noticed"
    assert notifier.calls == Counter(users.values()), "someone got it twice, or not at all"
    assert report.sent == len(users)
    assert await _statuses(direct) == {"sent": len(users)}


@pytest.mark.postgres
async def test_a_database_that_stays_away_stops_the_sends_and_repeats_few(
    cut_store: tuple[Store, Store, TcpProxy],
) -> None:
    """The database doesn't come back within the retries: the tick stops sending and
    fails; after the lease, the rest go out, and only the unrecorded few are repeated."""
    direct, proxied, proxy = cut_store
    users = await _seed(direct, members=MEMBERS, per_member=1)

    async def never_back(_seconds: float) -> None:
        return None

    def cut_after_20(started: int) -> None:
        if started == 20:
            proxy.cut()

    notifier = CountingNotifier(on_send=cut_after_20)
    clock = FixedClock(NOW)
    sender = NudgeSender(
        store=proxied,
        notifier=notifier,
        clock=clock,
        default_timezone="UTC",
        concurrency=CONCURRENCY,
        sleep=never_back,
    )
    with pytest.raises(Exception) as raised:
        await sender.tick()
    assert is_disconnect(raised.value), f"failed with {type(raised.value).__name__} instead"
    first_wave = notifier.started
    recorded = await _sent_count(direct)
    assert first_wave - recorded <= CONCURRENCY, "sends went on with nowhere to record them"
    assert first_wave < len(users)

    proxy.restore()
    clock.set(NOW + LEASE + timedelta(seconds=1))
    notifier.on_send = None
    await sender.tick()

    assert set(notifier.calls) == set(users.values()), "a member never got the reminder"
    twice = notifier.calls.total() - len(users)
    assert twice <= CONCURRENCY, f"{twice} members got it twice"
    assert await _statuses(direct) == {"sent": len(users)}


@pytest.mark.postgres
async def test_the_first_command_after_the_connections_were_killed_answers_normally(
    cut_store: tuple[Store, Store, TcpProxy],
) -> None:
    _direct, proxied, proxy = cut_store
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=FixedClock(NOW), store=proxied)
    alice = TestMember(app.bot, "alice")
    answer = await alice('log contact="Dana Lee" when="yesterday 3pm"')
    assert answer.text != INTERNAL_ERROR

    proxy.cut()  # every pooled connection dies while the bot is idle
    proxy.restore()

    answer = await alice("meetings")
    assert answer.text != INTERNAL_ERROR
    assert "Dana Lee" in answer.text + " ".join(f.value for f in answer.fields)


class PlanWatcher(RecordingNotifier):
    """Before each practice plan goes out, notes how many plans are recorded as sent."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.recorded_before: list[int] = []

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        async with self.store.transaction() as session:
            recorded = (
                await session.execute(
                    select(func.count()).where(PracticeGroup.plan_sent_at.is_not(None))
                )
            ).scalar_one()
        self.recorded_before.append(int(recorded))
        await super().send_group(users, message)


async def test_each_practice_plan_is_recorded_as_it_goes_out(
    empty_store: Store, clock: FixedClock
) -> None:
    """A crash half-way through a round's plans repeats at most the one under way."""
    notifier = PlanWatcher(empty_store)
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    for name in ("ann", "ben", "cal", "dee", "eve", "fay"):
        answer = await TestMember(app.bot, name)("practice join")
        assert answer.text != INTERNAL_ERROR
    clock.set(FIRST_ROUND)
    await app.bot.tick()

    assert notifier.recorded_before == [0, 1, 2]
