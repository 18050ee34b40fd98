"""What operators see: /livez says the process serves requests (and never asks the
database); /healthz says whether the database answers and the scheduler ticks; /metrics
counts commands, nudges, ticks and rounds, and never carries what a user typed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from adapters.bootstrap import build_app, build_bot, build_registry
from adapters.health import HealthServer, add_health_routes, hung_after, max_tick_age
from bot.config import Settings
from bot.core import Bot
from bot.notify import RecordingNotifier
from bot.nudges.deliver import TickReport
from storage.store import Store
from tests.conftest import START, FixedClock, Member

registry = build_registry()

pytestmark = pytest.mark.postgres


@pytest.fixture
async def live(empty_store: Store) -> AsyncIterator[tuple[Bot, FixedClock, TestClient]]:
    clock = FixedClock(START)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    bot = (
        await build_app(settings, clock=clock, store=empty_store, notifier=RecordingNotifier())
    ).bot
    bot.ticker.database_check_seconds = 60.0  # a busy machine's slow answer is not an outage
    app = web.Application()
    add_health_routes(app, bot.ticker, tick_seconds=30)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield bot, clock, client


async def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_commands_by_name_and_outcome_and_never_what_was_typed(
    live: tuple[Bot, FixedClock, TestClient],
) -> None:
    bot, _, client = live
    alice = Member(bot, "alice")
    await alice.ok('log contact="Dana Lee" when="yesterday 3pm" notes="secret plans"')
    await alice.ok("meetings")
    await alice("thanks M9")  # not hers: a user error
    await alice("launch-rockets now")  # not a command at all
    found = await samples(client)
    assert found[("tiara_commands_total", (("command", "log"), ("outcome", "ok")))] == 1
    assert found[("tiara_commands_total", (("command", "meetings"), ("outcome", "ok")))] == 1
    assert found[("tiara_commands_total", (("command", "thanks"), ("outcome", "user_error")))] == 1
    assert found[("tiara_command_seconds_count", (("command", "log"),))] == 1
    body = await (await client.get("/metrics")).text()
    for typed in ("Dana", "secret", "alice", "launch", "rockets"):
        assert typed not in body


async def test_metrics_follow_the_tick(live: tuple[Bot, FixedClock, TestClient]) -> None:
    bot, clock, client = live
    alice, bob = Member(bot, "alice"), Member(bot, "bob")
    await alice.ok('log contact="Dana Lee" when="now"')  # thank-you reminders planned
    await alice.ok("practice join")
    await bob.ok("practice join")
    await bot.tick()
    before = await samples(client)
    assert before[("tiara_nudges_pending", ())] >= 1
    assert before[("tiara_tick_lag_seconds", ())] == 0
    assert before[("tiara_ticks_total", (("outcome", "ok"),))] == 1
    clock.advance(timedelta(hours=3))  # the first thank-you reminder is due
    await bot.tick()
    assert (await samples(client))[("tiara_nudges_total", (("result", "sent"),))] == 1
    clock.advance(timedelta(days=5))  # into Monday's practice round
    await bot.tick()
    after = await samples(client)
    assert after[("tiara_practice_rounds_started_total", ())] == 1
    assert after[("tiara_last_tick_timestamp_seconds", ())] == clock.now().timestamp()


async def test_healthz_is_ok_while_the_scheduler_ticks_and_503_when_it_stops(
    live: tuple[Bot, FixedClock, TestClient],
) -> None:
    bot, clock, client = live
    response = await client.get("/healthz")
    assert response.status == 200  # just started: no tick yet, none overdue
    assert (await response.json())["status"] == "ok"
    clock.advance(max_tick_age(30) + timedelta(seconds=1))
    stuck = await client.get("/healthz")
    assert stuck.status == 503
    assert (await stuck.json())["scheduler"] == "not ticking"
    await bot.tick()
    healthy = await client.get("/healthz")
    assert healthy.status == 200
    assert (await healthy.json())["last_tick_seconds_ago"] == 0


UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"


async def test_healthz_is_503_when_the_database_is_unreachable_but_livez_is_200() -> None:
    store = Store(UNREACHABLE)
    bot = build_bot(store=store, clock=FixedClock(START), registry=registry)
    server = HealthServer(bot.ticker, tick_seconds=30)
    await server.start("127.0.0.1", 0)
    try:
        assert server.port
        async with ClientSession() as session:
            response = await session.get(f"http://127.0.0.1:{server.port}/healthz")
            assert response.status == 503
            assert (await response.json())["database"] == "unreachable"
            # Liveness: a database outage must not get the process restarted.
            alive = await session.get(f"http://127.0.0.1:{server.port}/livez")
            assert alive.status == 200
            assert await alive.json() == {"status": "ok", "last_tick_seconds_ago": None}
    finally:
        await server.stop()
        await store.close()


async def test_livez_beside_other_routes_is_200_without_a_database_and_shows_the_tick() -> None:
    store = Store(UNREACHABLE)
    clock = FixedClock(START)
    bot = build_bot(store=store, clock=clock, registry=registry, notifier=RecordingNotifier())
    app = web.Application()  # as Slack's HTTP mode: the routes beside /slack/events
    add_health_routes(app, bot.ticker, tick_seconds=30)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            assert (await client.get("/healthz")).status == 503
            clock.advance(max_tick_age(30) * 10)  # the scheduler looks stuck as well
            alive = await client.get("/livez")
            assert alive.status == 200
            assert (await alive.json())["status"] == "ok"
            bot.ticker.last_tick = clock.now()  # as a tick records it (the database is down here)
            clock.advance(timedelta(seconds=12))
            assert (await (await client.get("/livez")).json())["last_tick_seconds_ago"] == 12
    finally:
        await store.close()


async def test_livez_answers_on_the_live_app(live: tuple[Bot, FixedClock, TestClient]) -> None:
    bot, clock, client = live
    await bot.tick()
    clock.advance(timedelta(seconds=5))
    alive = await client.get("/livez")
    assert alive.status == 200
    assert await alive.json() == {"status": "ok", "last_tick_seconds_ago": 5}


async def test_livez_is_503_only_while_a_tick_hangs_far_past_every_timeout() -> None:
    """The database is down, so ticks fail at once: alive. A tick that never returns is a
    hung scheduler: /livez says so (the probe restarts the process), and recovers if it
    ends."""
    store = Store(UNREACHABLE)
    clock = FixedClock(START)
    now = [1000.0]
    bot = build_bot(
        store=store,
        clock=clock,
        registry=registry,
        notifier=RecordingNotifier(),
        monotonic=lambda: now[0],
    )
    app = web.Application()
    add_health_routes(app, bot.ticker, tick_seconds=30)
    release = asyncio.Event()

    async def hang(*_args: object) -> TickReport:
        await release.wait()
        return TickReport()

    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            for _ in range(120):  # an hour of ticks, every 30 s
                with pytest.raises(OSError):  # the database is unreachable: fails fast
                    await bot.tick()
                now[0] += 30
            assert (await client.get("/livez")).status == 200  # failing ticks aren't hung
            bot.ticker._tick = hang  # type: ignore[method-assign]
            ticking = asyncio.create_task(bot.tick())
            await asyncio.sleep(0)
            now[0] += hung_after(30).total_seconds() - 1
            assert (await client.get("/livez")).status == 200  # slow, not hung yet
            now[0] += 2
            stuck = await client.get("/livez")
            assert stuck.status == 503
            assert (await stuck.json())["status"] == "tick hung"
            release.set()
            await ticking
            assert (await client.get("/livez")).status == 200
    finally:
        await store.close()


async def test_livez_is_503_when_the_scheduler_stopped_starting_ticks() -> None:
    """Ticks that fail still begin every interval; when none begins for as long as a tick
    may hang, the scheduler has stopped, and a restart is what helps."""
    store = Store(UNREACHABLE)
    now = [1000.0]
    bot = build_bot(
        store=store,
        clock=FixedClock(START),
        registry=registry,
        notifier=RecordingNotifier(),
        monotonic=lambda: now[0],
    )
    app = web.Application()
    add_health_routes(app, bot.ticker, tick_seconds=30)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            now[0] += hung_after(30).total_seconds() - 1  # the first tick is late, not gone
            assert (await client.get("/livez")).status == 200
            now[0] += 2
            stopped = await client.get("/livez")
            assert stopped.status == 503
            assert (await stopped.json())["status"] == "scheduler stopped"
            with pytest.raises(OSError):  # one begins again (and fails: the database is down)
                await bot.tick()
            assert (await client.get("/livez")).status == 200
    finally:
        await store.close()


async def test_livez_ignores_ticks_where_the_process_sends_none() -> None:
    """A bot without a notifier runs no scheduler: no tick is ever due to begin."""
    store = Store(UNREACHABLE)
    now = [1000.0]
    bot = build_bot(
        store=store, clock=FixedClock(START), registry=registry, monotonic=lambda: now[0]
    )
    app = web.Application()
    add_health_routes(app, bot.ticker, tick_seconds=30)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            now[0] += 24 * 3600
            assert (await client.get("/livez")).status == 200
    finally:
        await store.close()
