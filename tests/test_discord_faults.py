"""Tiara on Discord with a core slower than Discord waits: whether an answer is deferred
depends on when the core answers, which the tests hold back with a gate, never on how fast
the machine is. Real discord.py objects against the local fake, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.clock import FixedClock
from bot.context import Context
from bot.registry import Registry
from bot.values import Message
from storage.store import Store
from tests import discord_payloads as payloads
from tests.conftest import START
from tests.discord_fake import SAFETY, FakeDiscord
from tests.discord_rig import (
    ALICE,
    DEFERRED,
    EPHEMERAL,
    GUILD,
    MESSAGE,
    Rig,
    start_rig,
    text_of,
)

OTHER = 6000  # a second server the bot is in
OTHER_CHANNEL = OTHER + 100  # its "practice" channel (the fake's default)


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    servers = ({"id": GUILD, "name": "Cohort"}, {"id": OTHER, "name": "Another cohort"})
    async with FakeDiscord(guilds=servers) as running:
        monkeypatch.setattr(Route, "BASE", running.api_url)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(running.gateway_url))
        yield running


@pytest.fixture
async def rig(empty_store: Store, fake: FakeDiscord) -> AsyncIterator[Rig]:
    await empty_store.upgrade()
    running = await start_rig(empty_store, FixedClock(START), fake)
    yield running
    await running.close()


def _callback(payload: dict[str, Any]) -> str:
    return f"/interactions/{payload['id']}/{payload['token']}/callback"


# ------------------------------------------------------------- a core slower than Discord

slow = Registry()
_gates: dict[str, asyncio.Event] = {}


@slow.command("wait")
async def wait(ctx: Context, args: dict[str, Any]) -> Message:
    """Answer once the test opens the gate."""
    _gates["entered"].set()
    await _gates["open"].wait()
    return Message(text="Done waiting.")


@pytest.fixture
async def gated(empty_store: Store, fake: FakeDiscord) -> AsyncIterator[Rig]:
    """A rig whose only command answers when the test says, and which defers an answer the
    core hasn't given within 0.05 s."""
    _gates.update(entered=asyncio.Event(), open=asyncio.Event())
    await empty_store.upgrade()
    running = await start_rig(empty_store, FixedClock(START), fake, commands=slow)
    running.adapter.answer_within = 0.05
    try:
        yield running
    finally:
        _gates["open"].set()
        await running.close()


async def test_a_core_later_than_the_deadline_is_deferred_then_followed_up(gated: Rig) -> None:
    payload = payloads.slash_command(path=("wait",), user_id=ALICE)
    first = await gated.answer(payload)  # the gate is shut: the core can't have answered
    assert first.json["type"] == DEFERRED and first.json["data"]["flags"] & EPHEMERAL
    _gates["open"].set()
    [followup] = await gated.followups(payload)
    assert "Done waiting." in text_of(followup)
    assert len(gated.fake.interaction_responses(int(payload["id"]))) == 1


async def test_a_core_within_the_deadline_answers_directly(gated: Rig) -> None:
    """However long the core takes, an answer within ``answer_within`` is the first
    response: the gate opens only once the command is waiting on it."""
    gated.adapter.answer_within = SAFETY
    payload = payloads.slash_command(path=("wait",), user_id=ALICE)
    await gated.fake.interaction(payload)
    async with asyncio.timeout(SAFETY):
        await _gates["entered"].wait()
    _gates["open"].set()
    [answer] = await gated.fake.wait_for("POST", _callback(payload))
    assert answer.json["type"] == MESSAGE and "Done waiting." in text_of(answer)
    assert not gated.fake.followups(payload["token"])


async def test_without_a_deadline_nothing_is_deferred(gated: Rig) -> None:
    gated.adapter.answer_within = None
    _gates["open"].set()
    answer = await gated.answer(payloads.slash_command(path=("wait",), user_id=ALICE))
    assert answer.json["type"] == MESSAGE
