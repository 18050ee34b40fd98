"""Tiara on Discord under faults: ids naming another server, and a core slower than Discord
waits.

A click or a form acts only in the server its ``custom_id`` names, and only when that is
the interaction's server or, from a DM, a server the member is one of ours in; anything
else is refused and changes nothing. Whether an answer is deferred depends on when the
core answers, which the tests hold back with a gate, never on how fast the machine is.
Real discord.py objects against the local fake, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.ids import Target, encode_inline
from bot.clock import FixedClock
from bot.context import Context
from bot.registry import Registry
from bot.values import Message
from storage.models import Member
from storage.repo import Repo
from storage.store import Store
from tests import discord_payloads as payloads
from tests.conftest import START
from tests.discord_fake import SAFETY, FakeDiscord
from tests.discord_rig import (
    ALICE,
    BOB,
    DEFERRED,
    EPHEMERAL,
    GUILD,
    MESSAGE,
    Rig,
    button_id,
    buttons,
    start_rig,
    text_of,
)

OTHER = 6000  # a second server the bot is in
OTHER_CHANNEL = OTHER + 100  # its "practice" channel (the fake's default)
ELSEWHERE = "belongs to another Discord server"


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


async def _member(rig: Rig, server: int, user: int) -> Member | None:
    async with rig.store.transaction() as session:
        return await Repo(session).find_member("discord", str(server), str(user))


async def _in_other_server(rig: Rig, *path: str, user: int = ALICE, **options: Any) -> Any:
    return await rig.send(
        payloads.slash_command(
            path=path, options=options, user_id=user, guild_id=OTHER, channel_id=OTHER_CHANNEL
        )
    )


def _join_practice_in(server: int) -> str:
    """The id of a "Resume practice" button as drawn in ``server`` (inline, for anyone)."""
    custom_id = encode_inline("b", Target(str(server), ("practice", "join")))
    assert custom_id is not None
    return custom_id


async def _click(rig: Rig, custom_id: str, *, user: int = ALICE, guild: int | None) -> Any:
    return await rig.send(payloads.button_click(custom_id=custom_id, user_id=user, guild_id=guild))


def _callback(payload: dict[str, Any]) -> str:
    return f"/interactions/{payload['id']}/{payload['token']}/callback"


def _refused(answer: dict[str, Any]) -> bool:
    return (
        answer["type"] == MESSAGE
        and bool(answer["data"]["flags"] & EPHEMERAL)
        and ELSEWHERE in text_of(answer)
        and "/tiara" in text_of(answer)
    )


# --------------------------------------------------------- ids naming another server


async def test_a_click_in_one_server_naming_another_changes_nothing(rig: Rig) -> None:
    """Alice is a member of both servers; a button of the other one, clicked here, is
    refused, and neither her meeting there nor its practice pool changes."""
    await _in_other_server(rig, "log", contact="Priya Raman", when="yesterday 3pm")
    shown = await _in_other_server(rig, "show", id="M1")
    thank_you = button_id(shown, "Mark thank-you sent")

    assert _refused(await _click(rig, thank_you, guild=GUILD))
    assert "Mark thank-you sent" in buttons(await _in_other_server(rig, "show", id="M1"))

    join = _join_practice_in(OTHER)
    assert _refused(await _click(rig, join, guild=GUILD))
    there = await _member(rig, OTHER, ALICE)
    assert there is not None and there.practice == "out"
    assert await _member(rig, GUILD, ALICE) is None  # nor did the click make her one here

    # The same ids work in their own server: only the server was wrong.
    assert not _refused(await _click(rig, join, guild=OTHER))
    there = await _member(rig, OTHER, ALICE)
    assert there is not None and there.practice == "active"
    thanked = await _click(rig, thank_you, guild=OTHER)
    assert "thank" in text_of(thanked).casefold() and not _refused(thanked)


async def test_a_click_in_a_dm_acts_only_where_the_member_is_one_of_ours(rig: Rig) -> None:
    """Bob uses Tiara in the first server only: from his DMs, a button naming the other
    server is refused and makes him nothing there. Alice, a member there, clicks the same
    button from her DMs and it works; once she has left that server, it no longer does."""
    await rig.command("meetings", user=BOB)
    await _in_other_server(rig, "meetings", user=ALICE)
    join = _join_practice_in(OTHER)

    assert _refused(await _click(rig, join, user=BOB, guild=None))
    assert await _member(rig, OTHER, BOB) is None
    bob_here = await _member(rig, GUILD, BOB)
    assert bob_here is not None and bob_here.practice == "out"

    joined = await _click(rig, join, user=ALICE, guild=None)
    assert joined["type"] == MESSAGE and not _refused(joined)
    alice = await _member(rig, OTHER, ALICE)
    assert alice is not None and alice.practice == "active"

    await _in_other_server(rig, "practice", "leave")
    async with rig.handled("raw_member_remove"):
        await rig.fake.member_leaves(OTHER, ALICE)
    assert _refused(await _click(rig, join, user=ALICE, guild=None))
    alice = await _member(rig, OTHER, ALICE)
    assert alice is not None and not alice.active and alice.practice != "active"


async def test_a_nudge_clicked_in_the_dm_still_works(rig: Rig) -> None:
    """The normal case the check must keep: a reminder's button, from the member's DM."""
    await _in_other_server(rig, "log", contact="Priya Raman", when="now")
    rig.clock.advance(timedelta(hours=3))
    await rig.bot.tick()
    [nudge] = rig.fake.messages_in(rig.fake.dm_channel_id(ALICE))
    done = await _click(rig, button_id(nudge, "Done"), guild=None)
    assert not _refused(done)
    assert "thank-you to Priya Raman is recorded" in text_of(done)


async def test_a_form_naming_another_server_saves_nothing(rig: Rig) -> None:
    """A form's id names its server too: submitted here, or from the DM of someone who
    isn't a member there, it is refused and no meeting is recorded there."""
    await _in_other_server(rig, "meetings", user=ALICE)
    form = encode_inline("f", Target(str(OTHER), ("log",)))
    assert form is not None
    values = {"contact": "Priya Raman", "when": "yesterday 3pm"}
    for user, guild in ((ALICE, GUILD), (BOB, None)):
        answer = await rig.send(
            payloads.modal_submit(custom_id=form, values=values, user_id=user, guild_id=guild)
        )
        assert _refused(answer)
    assert "Priya Raman" not in text_of(await _in_other_server(rig, "meetings"))
    assert await _member(rig, OTHER, BOB) is None
    # Submitted in its own server, the same form saves the meeting.
    saved = await rig.send(
        payloads.modal_submit(
            custom_id=form, values=values, user_id=ALICE, guild_id=OTHER, channel_id=OTHER_CHANNEL
        )
    )
    assert "Priya Raman" in text_of(saved) and not _refused(saved)


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
