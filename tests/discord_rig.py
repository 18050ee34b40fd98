"""The Discord test rig: a real discord.py client connected to the local fake gateway and
REST server, a real Bot on the test's store, and readers for the answers the fake saw.

Nothing here depends on how fast the machine is: the adapter never defers an answer for
being slow (``answer_within=None``; a test that wants a deferral sets 0), and every wait is
for something to happen (a REST call reaching the fake, the client handling an event), with
``SAFETY`` only as a bound for a test that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.bootstrap import build_bot, build_registry
from adapters.discord.app import DiscordAdapter, TiaraClient
from adapters.discord.ids import ComponentIds
from adapters.discord.notifier import DiscordNotifier
from bot.clock import FixedClock
from bot.core import INTERNAL_ERROR, Bot
from bot.inbox import Inbox
from bot.registry import Registry
from storage.store import Store
from tests import discord_payloads as payloads
from tests.conftest import START
from tests.discord_fake import SAFETY, Call, FakeDiscord

registry = build_registry()

__all__ = [
    "ALICE",
    "BOB",
    "DEFERRED",
    "EPHEMERAL",
    "GUILD",
    "MESSAGE",
    "MODAL",
    "SAFETY",
    "Rig",
    "button_id",
    "buttons",
    "fake",
    "files_of",
    "inputs",
    "is_error",
    "rig",
    "start_rig",
    "text_of",
]

TOKEN = "discord-bot-token.for-tests"
ALICE = 4242
BOB = 4343
GUILD = payloads.GUILD_ID
EPHEMERAL = 64
MODAL = 9
MESSAGE = 4
DEFERRED = 5


class Client(TiaraClient):
    """Tiara's client, which says when what it was sent has been handled."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._dispatched = asyncio.Event()
        self._handling: set[asyncio.Task[Any]] = set()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before every IDENTIFY but the first; tests don't."""

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        super().dispatch(event, *args, **kwargs)
        self._dispatched.set()

    def _schedule_event(
        self,
        coro: Callable[..., Coroutine[Any, Any, Any]],
        event_name: str,
        *args: Any,
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        # Every event handler (on_raw_member_remove, on_interaction...) runs as a task.
        task = super()._schedule_event(coro, event_name, *args, **kwargs)
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        return task

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition()`` holds, checking it after each event dispatched."""
        async with asyncio.timeout(SAFETY):
            while not condition():
                self._dispatched.clear()
                await self._dispatched.wait()

    async def handlers_done(self) -> None:
        """Wait until every event handler started so far (and any they start) has ended."""
        while self._handling:
            await asyncio.gather(*list(self._handling), return_exceptions=True)

    def has_guilds(self, guild_ids: list[int]) -> bool:
        """Whether every guild in ``guild_ids`` arrived (GUILD_CREATE), not just its id in
        READY. discord.py fires on_ready ``guild_ready_timeout`` after the last GUILD_CREATE
        it has seen, so on a busy machine a guild can come after on_ready."""
        guilds = [self.get_guild(guild_id) for guild_id in guild_ids]
        return all(guild is not None and not guild.unavailable for guild in guilds)


@dataclass
class Rig:
    fake: FakeDiscord
    client: Client
    bot: Bot
    adapter: DiscordAdapter
    clock: FixedClock
    store: Store
    connection: asyncio.Future[None]

    async def close(self) -> None:
        await self.client.close()
        await self.connection
        await self.settled()

    async def settled(self) -> None:
        """Wait until the client's event handlers and the adapter's background work are done."""
        async with asyncio.timeout(SAFETY):
            await self.client.handlers_done()
            await self.adapter.drain()

    @contextlib.asynccontextmanager
    async def handled(self, event: str) -> AsyncIterator[None]:
        """Wait, after the block, until the client got gateway event ``event`` (e.g.
        ``"raw_member_remove"``) and everything it started is done."""
        seen = asyncio.ensure_future(self.client.wait_for(event))
        try:
            yield
            async with asyncio.timeout(SAFETY):
                await seen
        finally:
            seen.cancel()
        await self.settled()

    async def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Dispatch an interaction and return the body of its first answer."""
        return dict((await self.answer(payload)).json)

    async def answer(self, payload: dict[str, Any]) -> Call:
        """Dispatch an interaction and return its first answer as the fake saw it (with the
        files it carried)."""
        await self.fake.interaction(payload, within=SAFETY)
        path = re.compile(rf"/interactions/{payload['id']}/[^/]+/callback")
        return (await self.fake.wait_for("POST", path, within=SAFETY))[0]

    async def followups(self, payload: dict[str, Any], count: int = 1) -> list[Call]:
        """The follow-ups to an interaction once there are ``count`` of them."""
        path = re.compile(rf"/webhooks/[0-9]+/{re.escape(payload['token'])}")
        return await self.fake.wait_for("POST", path, count=count, within=SAFETY)

    async def command(self, *path: str, user: int = ALICE, **options: object) -> dict[str, Any]:
        return await self.send(payloads.slash_command(path=path, options=options, user_id=user))

    async def submit(
        self, modal: dict[str, Any], values: dict[str, str], user: int = ALICE
    ) -> dict[str, Any]:
        custom_id = modal["data"]["custom_id"]
        return await self.send(
            payloads.modal_submit(custom_id=custom_id, values=values, user_id=user, guild_id=GUILD)
        )

    async def click(
        self,
        answer: dict[str, Any] | Call,
        label: str,
        *,
        user: int = ALICE,
        guild: int | None = GUILD,
    ) -> dict[str, Any]:
        custom_id = button_id(answer, label)
        return await self.send(
            payloads.button_click(custom_id=custom_id, user_id=user, guild_id=guild)
        )


def _data(answer: dict[str, Any] | Call) -> dict[str, Any]:
    body = answer.json if isinstance(answer, Call) else answer
    return dict(body.get("data", body))


def files_of(call: Call) -> dict[str, bytes]:
    """The files a call uploaded: filename -> bytes."""
    return {str(f["filename"]): bytes(f["data"]) for f in call.files}


def text_of(answer: dict[str, Any] | Call) -> str:
    """Everything a member reads in an answer: content, embed titles, texts and fields."""
    data = _data(answer)
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(p for p in parts if p)


def buttons(answer: dict[str, Any] | Call) -> dict[str, str]:
    """Button labels and custom ids on an answer."""
    found: dict[str, str] = {}
    for row in _data(answer).get("components") or []:
        for item in row.get("components", []):
            if item.get("type") == 2:
                found[item["label"]] = item["custom_id"]
    return found


def button_id(answer: dict[str, Any] | Call, label: str) -> str:
    labels = buttons(answer)
    for shown, custom_id in labels.items():
        if shown.startswith(label):
            return custom_id
    raise AssertionError(f"no button {label!r} among {list(labels)}")


def inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A modal's text inputs by custom id."""
    found: dict[str, dict[str, Any]] = {}
    for component in modal["data"]["components"]:
        inner = component.get("component") or (component.get("components") or [{}])[0]
        found[inner["custom_id"]] = inner
    return found


async def start_rig(
    store: Store,
    clock: FixedClock,
    fake: FakeDiscord,
    *,
    commands: Registry = registry,
    coach_role: str | None = None,
    answer_within: float | None = None,
) -> Rig:
    """A connected client, with every guild of the fake's, and a Bot with ``commands``
    (Tiara's own by default), ``TIARA_DISCORD_COACH_ROLE`` set to ``coach_role``, answers
    deferred as ``answer_within`` says (by default never)."""
    client = Client(guild_ready_timeout=0.05, max_ratelimit_timeout=30)
    ids = ComponentIds(Inbox(store, clock))
    notifier = DiscordNotifier(client, ids)
    bot = build_bot(store=store, clock=clock, registry=commands, notifier=notifier)
    adapter = DiscordAdapter(
        bot,
        client=client,
        ids=ids,
        notifier=notifier,
        coach_role=coach_role,
        answer_within=answer_within,
    )
    await client.login(TOKEN)
    connection = asyncio.ensure_future(client.connect(reconnect=False))
    guilds = fake.guild_ids
    connected = asyncio.ensure_future(
        client.until(lambda: client.ready.is_set() and client.has_guilds(guilds))
    )
    await asyncio.wait({connected, connection}, return_when=asyncio.FIRST_COMPLETED)
    if not connected.done():  # the connection ended first: say why
        connected.cancel()
        await connection
        raise AssertionError("the client's connection ended before it was ready")
    await connected
    return Rig(fake, client, bot, adapter, clock, store, connection)


@contextlib.asynccontextmanager
async def serve_fake(monkeypatch: pytest.MonkeyPatch, **options: Any) -> AsyncIterator[FakeDiscord]:
    """A running FakeDiscord (``options`` as its constructor takes them), with discord.py's
    REST and gateway addresses pointed at it."""
    async with FakeDiscord(**options) as running:
        monkeypatch.setattr(Route, "BASE", running.api_url)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(running.gateway_url))
        yield running


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with serve_fake(monkeypatch) as running:
        yield running


@pytest.fixture
async def rig(empty_store: Store, fake: FakeDiscord) -> AsyncIterator[Rig]:
    await empty_store.upgrade()
    running = await start_rig(empty_store, FixedClock(START), fake)
    yield running
    await running.close()


def is_error(answer: dict[str, Any] | Call) -> bool:
    """Whether an answer is shown as a mistake (a warning sign) or as Tiara's own failure."""
    data = _data(answer)
    first = (data.get("content") or "") + "".join(
        e.get("title", "") + e.get("description", "") for e in data.get("embeds") or []
    )
    return first.startswith("⚠") or INTERNAL_ERROR in text_of(answer)
