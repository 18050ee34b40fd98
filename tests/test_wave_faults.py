"""A wave of reminders from `tiara run slack --http`, broken half-way: the process is killed
with SIGKILL, or its PostgreSQL connections are cut. Afterwards every member has the DM,
and no more members than the sends in flight at that moment (``NudgeSender``'s
``concurrency``, 16) have it twice.

The bot runs as its own process against the local fake Slack Web API. The fake holds
``chat.postMessage`` calls after a set number, so the fault strikes while sends are
under way, at a moment the test chooses, not after some time has passed. The bot's clock
is a file the test moves past the lease.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from sqlalchemy import make_url, update

from storage.models import Workspace
from storage.store import Store
from tests.conftest import POSTGRES_URL, require_postgres
from tests.slack_fake import FakeSlackApi
from tests.tcp_proxy import TcpProxy
from tests.test_exactly_once import NOW, _seed, _statuses

TEAM = "T0WAVE"
SECRET = "wave-signing-secret"
TOKEN = "xoxb-wave-token"
IN_FLIGHT = 16  # NudgeSender's default concurrency: sent but not yet recorded, at most
LEASE = timedelta(seconds=300)  # TIARA_NUDGE_LEASE_SECONDS's default
HANG = 120.0  # seconds: only a hung bot takes this long


class HoldingSlack(FakeSlackApi):
    """The fake Web API, holding every ``chat.postMessage`` after the first ``hold_after``
    until :meth:`release` (Slack slow to answer while the fault strikes)."""

    def __init__(self, hold_after: int) -> None:
        super().__init__(team_id=TEAM)
        self.hold_after = hold_after
        self.answered = 0
        self.held = 0
        self._released = asyncio.Event()
        self._holding = asyncio.Condition()

    def release(self) -> None:
        self._released.set()

    async def wait_held(self) -> None:
        async with self._holding:
            await self._holding.wait_for(lambda: self.held > 0)

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "chat.postMessage":
            return await super()._handle_api(request)
        hold = self.answered >= self.hold_after and not self._released.is_set()
        self.answered += 1
        # Posted (recorded) at once, but answered only once released: the worst case, a
        # message the member has whose sender never learned it went out.
        response = await super()._handle_api(request)
        if hold:
            self.held += 1
            async with self._holding:
                self._holding.notify_all()
            await self._released.wait()
        return response

    def dms(self) -> Counter[str]:
        return Counter(str(call.params["channel"]) for call in self.calls_to("chat.postMessage"))


async def _seed_slack(store: Store, members: int) -> set[str]:
    """``members`` members of one Slack workspace, each with one reminder due at NOW."""
    users = await _seed(store, members=members, per_member=1)
    async with store.transaction() as session:
        await session.execute(update(Workspace).values(platform="slack", external_id=TEAM))
    return set(users.values())


class Bot:
    """`tiara run slack --http` in its own process."""

    def __init__(self, tmp_path: Path, database_url: str, fake: FakeSlackApi) -> None:
        self.clock_file = tmp_path / "now.txt"
        self.set_clock(NOW)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TIARA_", "SLACK_", "DISCORD_"))
        }
        self.env.update(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            TIARA_SLACK_API_URL=fake.url,
            TIARA_SLACK_MESSAGES_PER_SECOND="100",
            TIARA_DATABASE_URL=database_url,
            TIARA_CLOCK_FILE=str(self.clock_file),
            TIARA_TICK_SECONDS="0.2",
            TIARA_HEALTH_PORT="0",
        )
        self.cwd = tmp_path
        self.process: asyncio.subprocess.Process | None = None

    def set_clock(self, moment: object) -> None:
        temporary = self.clock_file.with_suffix(".tmp")
        temporary.write_text(moment.isoformat())  # type: ignore[attr-defined]
        os.replace(temporary, self.clock_file)

    async def start(self) -> None:
        tiara = Path(sys.executable).with_name("tiara")
        self.process = await asyncio.create_subprocess_exec(
            str(tiara),
            "run",
            "slack",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=HANG)
        if not re.search(r"http://\S+/slack/events", line.decode()):
            self.process.kill()
            _, err = await self.process.communicate()
            pytest.fail(f"the bot did not start: {line.decode()!r} {err.decode()[-3000:]}")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> str:
        """SIGTERM, and what it logged."""
        process = self.process
        if process is None or process.returncode is not None:
            return ""
        process.send_signal(signal.SIGTERM)
        try:
            _, err = await asyncio.wait_for(process.communicate(), timeout=HANG)
        except TimeoutError:
            process.kill()
            _, err = await process.communicate()
        return err.decode(errors="replace")


async def _wait_all_sent(store: Store, total: int, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG
    while await _statuses(store) != {"sent": total}:
        if loop.time() > deadline:
            logged = await bot.stop()
            pytest.fail(
                f"not all sent: {await _statuses(store)}; the bot logged:\n{logged[-3000:]}"
            )
        await asyncio.sleep(0.1)


def _assert_everyone_once_but_the_in_flight(fake: HoldingSlack, users: set[str]) -> None:
    dms = fake.dms()
    assert set(dms) == users, f"{len(users - set(dms))} members never got the reminder"
    twice = sum(count - 1 for count in dms.values())
    print(f"{len(users)} members, {dms.total()} DMs: {twice} members got it twice")
    assert twice <= IN_FLIGHT, f"{twice} members got the reminder twice"


async def test_sigkill_mid_wave_repeats_at_most_the_sends_in_flight(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tiara.db'}"
    store = Store(url)
    await store.upgrade()
    users = await _seed_slack(store, 500)
    async with HoldingSlack(hold_after=200) as fake:
        bot = Bot(tmp_path, url, fake)
        try:
            await bot.start()
            await asyncio.wait_for(fake.wait_held(), timeout=HANG)
            await bot.kill()  # 200 sent; the next ones are under way at Slack
            fake.release()

            bot.set_clock(NOW + LEASE + timedelta(seconds=1))  # the killed claims ran out
            await bot.start()
            await _wait_all_sent(store, len(users), bot)
        finally:
            await bot.stop()
            await store.close()
        _assert_everyone_once_but_the_in_flight(fake, users)
        assert fake.answered > 200 + 1  # the restarted bot did send the rest


@pytest.fixture
async def postgres_database() -> AsyncIterator[str]:
    """The URL of a fresh PostgreSQL database, dropped afterwards."""
    await require_postgres()
    name = f"tiara_wave_{uuid.uuid4().hex[:10]}"
    url = make_url(POSTGRES_URL)
    admin = await asyncpg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.postgres
async def test_cut_database_connections_mid_wave_repeat_at_most_the_sends_in_flight(
    tmp_path: Path, postgres_database: str
) -> None:
    store = Store(postgres_database)
    await store.upgrade()
    users = await _seed_slack(store, 600)
    target = make_url(postgres_database)
    async with (
        TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy,
        HoldingSlack(hold_after=250) as fake,
    ):
        through_proxy = target.set(host="127.0.0.1", port=proxy.port)
        bot = Bot(tmp_path, through_proxy.render_as_string(hide_password=False), fake)
        try:
            await bot.start()
            await asyncio.wait_for(fake.wait_held(), timeout=HANG)
            proxy.cut()  # every backend connection of the bot ends, mid-wave
            fake.release()  # the sends under way finish; recording them fails for now
            await asyncio.wait_for(proxy.wait_refused(), timeout=HANG)  # the bot noticed
            proxy.restore()

            bot.set_clock(NOW + LEASE + timedelta(seconds=1))  # anything left over retried
            await _wait_all_sent(store, len(users), bot)
        finally:
            logged = await bot.stop()
            await store.close()
        _assert_everyone_once_but_the_in_flight(fake, users)
        assert "Traceback" not in logged
