"""Tiara on Discord under faults: ids naming another server, Discord (or a proxy in front of
it) answering in a shape that isn't Discord's JSON, and a core slower than Discord waits.

A click or a form acts only in the server its ``custom_id`` names, and only when that is
the interaction's server or, from a DM, a server the member is one of ours in; anything
else is refused and changes nothing. An error in any shape (text, HTML, bytes that aren't
UTF-8, broken JSON) is a transient failure, never a crash or a member marked unreachable;
a form that can't open is answered with how to type the values. Whether an answer is
deferred depends on when the core answers, which the tests hold back with a gate, never on
how fast the machine is. Real discord.py objects against the local fake, SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.discord.ids import Target, encode_inline
from bot.clock import FixedClock
from bot.context import Context
from bot.notify import DeliveryError
from bot.registry import Registry
from bot.values import Message, UserRef
from storage.models import Member
from storage.store import Store
from storage.unit import UnitOfWork
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
    MODAL,
    Rig,
    button_id,
    buttons,
    inputs,
    serve_fake,
    start_rig,
    text_of,
)

OTHER = 6000  # a second server the bot is in
OTHER_CHANNEL = OTHER + 100  # its "practice" channel (the fake's default)
ELSEWHERE = "belongs to another Discord server"
GARBAGE = b"\x8b\x08\x00\xff\xfe\x00 not text at all \xc3\x28"


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """The rig's fake with a second server the bot is in."""
    servers = ({"id": GUILD, "name": "Cohort"}, {"id": OTHER, "name": "Another cohort"})
    async with serve_fake(monkeypatch, guilds=servers) as running:
        yield running


@pytest.fixture
async def rig(empty_store: Store, fake: FakeDiscord) -> AsyncIterator[Rig]:
    await empty_store.upgrade()
    running = await start_rig(empty_store, FixedClock(START), fake)
    yield running
    await running.close()


class Logged(logging.Handler):
    """Every log record, and a way to wait for one (handlers log after answering)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.changed.set()

    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)

    async def until(self, wanted: str) -> None:
        """Wait until a record says ``wanted`` (or something failed with a traceback, or
        said it failed otherwise: then the test's assertions say what went wrong)."""
        async with asyncio.timeout(SAFETY):
            while not (wanted in self.text() or "failed with" in self.text() or self.tracebacks()):
                self.changed.clear()
                await self.changed.wait()

    def tracebacks(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.exc_info]


@pytest.fixture
def logged() -> Iterator[Logged]:
    handler = Logged()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


async def _member(rig: Rig, server: int, user: int) -> Member | None:
    async with rig.store.transaction() as session:
        return await UnitOfWork(session).members.find("discord", str(server), str(user))


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


# ------------------------------------------------------------- error bodies of any shape


def _dm_path(user: int = ALICE) -> str:
    return f"/channels/{payloads.dm_channel_id(user)}/messages"


SHAPES = {
    "503-text": ("POST", _dm_path(), 503, b"Service Unavailable", "text/plain"),
    "502-not-utf8": ("POST", _dm_path(), 502, GARBAGE, "application/octet-stream"),
    "500-not-utf8-as-text": ("POST", _dm_path(), 500, GARBAGE, "text/plain"),
    "503-broken-json": ("POST", _dm_path(), 503, b'{"message": "upstr', "application/json"),
    "404-proxy-page": ("POST", _dm_path(), 404, b"<html>Not Found</html>", "text/html"),
    "403-proxy-page": ("POST", _dm_path(), 403, b"<html>Access denied</html>", "text/html"),
    "429-text": ("POST", _dm_path(), 429, b"Too Many Requests", "text/plain"),
    "dm-channel-502-not-utf8": ("POST", "/users/@me/channels", 502, GARBAGE, "text/plain"),
}


@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
async def test_an_error_in_any_shape_is_a_transient_delivery_error(rig: Rig, shape: str) -> None:
    method, path, status, body, content_type = SHAPES[shape]
    rig.fake.answer_raw(method, path, status=status, body=body, content_type=content_type, times=1)
    notifier = rig.adapter.notifier
    assert notifier is not None
    alice = UserRef("discord", str(GUILD), str(ALICE))
    with pytest.raises(DeliveryError) as caught:
        await notifier.send_dm(alice, Message(text="Time for your thank-you"))
    assert not caught.value.permanent, caught.value.reason
    assert caught.value.reason.startswith("discord_")
    assert [c.status for c in rig.fake.calls_to(method, path)][-1] == status
    # Discord is back: the same send goes through, once.
    await notifier.send_dm(alice, Message(text="Time for your thank-you"))
    assert len(rig.fake.messages_in(payloads.dm_channel_id(ALICE))) == 1


async def test_discords_own_refusal_is_still_permanent(rig: Rig) -> None:
    """The control: Discord's JSON 403 50007 (DMs closed) and 404 Unknown Channel stay
    permanent, so a shape check doesn't turn them into endless retries."""
    notifier = rig.adapter.notifier
    assert notifier is not None
    alice = UserRef("discord", str(GUILD), str(ALICE))
    rig.fake.fail("POST", _dm_path(), status=403, code=50007, times=1)
    with pytest.raises(DeliveryError) as closed:
        await notifier.send_dm(alice, Message(text="hi"))
    rig.fake.fail("POST", _dm_path(), status=404, code=10003, message="Unknown Channel", times=1)
    with pytest.raises(DeliveryError) as unknown:
        await notifier.send_dm(alice, Message(text="hi"))
    assert closed.value.permanent and closed.value.reason == "discord_50007"
    assert unknown.value.permanent and unknown.value.reason == "discord_10003"


async def test_a_500_in_text_is_retried_and_the_dm_arrives_once(rig: Rig) -> None:
    """discord.py itself retries a 500 (after a second): the reminder arrives, once."""
    rig.fake.answer_raw(
        "POST",
        _dm_path(),
        status=500,
        body="Internal Server Error",
        content_type="text/plain",
        times=1,
    )
    await rig.command("log", contact="Priya Raman", when="now")
    rig.clock.advance(timedelta(hours=3))
    report = await rig.bot.tick()
    assert report.sent == 1 and report.retrying == 0
    assert [c.status for c in rig.fake.calls_to("POST", _dm_path())] == [500, 200]
    assert len(rig.fake.messages_in(payloads.dm_channel_id(ALICE))) == 1


@pytest.mark.parametrize("path", [_dm_path(), "/users/@me/channels"], ids=["message", "dm-channel"])
async def test_a_reminder_answered_with_garbage_is_retried_not_given_up(
    rig: Rig, path: str
) -> None:
    """A proxy's garbage while opening the DM or posting in it: the tick counts a retry,
    the member is not marked unreachable, and the next try delivers the reminder."""
    await rig.command("log", contact="Priya Raman", when="now")
    rig.fake.answer_raw("POST", path, status=502, body=GARBAGE, content_type="text/html", times=1)
    rig.clock.advance(timedelta(hours=3))
    first = await rig.bot.tick()
    assert first.retrying == 1 and first.failed == 0 and first.sent == 0
    alice = await _member(rig, GUILD, ALICE)
    assert alice is not None and alice.unreachable_at is None
    rig.clock.advance(timedelta(minutes=2))  # past the first retry's wait
    second = await rig.bot.tick()
    assert second.sent == 1
    [dm] = rig.fake.messages_in(payloads.dm_channel_id(ALICE))
    assert "Priya Raman" in text_of(dm)


# ------------------------------------------------------------- a form that can't open


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, GARBAGE, "text/html"),  # a 5xx discord.py can't even decode: raised at once
        (400, b"<html><body>Bad Request</body></html>", "text/html"),
        (413, b"Request Entity Too Large", "text/plain"),
    ],
    ids=["502-garbage", "400-html", "413-text"],
)
async def test_a_form_that_cant_open_is_answered_with_how_to_type_it(
    rig: Rig, logged: Logged, status: int, body: bytes, content_type: str
) -> None:
    payload = payloads.slash_command(path=("log",), options={}, user_id=ALICE)
    rig.fake.answer_raw(
        "POST", _callback(payload), status=status, body=body, content_type=content_type, times=1
    )
    await rig.fake.interaction(payload)
    tried, answered = await rig.fake.wait_for("POST", _callback(payload), count=2)
    assert (tried.status, tried.json["type"]) == (status, MODAL)
    assert answered.status < 300 and answered.json["type"] == MESSAGE
    assert answered.json["data"]["flags"] & EPHEMERAL
    shown = text_of(answered)
    assert "couldn't open the form" in shown
    assert "/tiara log contact:" in shown and "when:" in shown
    await logged.until("opening a form failed with discord_")
    assert "opening a form failed with discord_" in logged.text()
    assert not logged.tracebacks()


async def test_a_button_whose_form_cant_open_is_answered_too(rig: Rig) -> None:
    answer = await rig.command("request", contact="Priya Raman", org="Acme")
    replied = await rig.click(answer, "They agreed")
    custom_id = button_id(replied, "Log the meeting")
    click = payloads.button_click(custom_id=custom_id, user_id=ALICE, guild_id=GUILD)
    rig.fake.answer_raw("POST", _callback(click), status=502, body=GARBAGE, times=1)
    await rig.fake.interaction(click)
    _, answered = await rig.fake.wait_for("POST", _callback(click), count=2)
    assert "couldn't open the form" in text_of(answered)
    # Discord is back: the same button opens the form, filled in.
    again = await rig.click(replied, "Log the meeting")
    assert again["type"] == MODAL
    assert inputs(again)["contact"]["value"] == "Priya Raman"


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        # discord.py retries any 5xx on an interaction for 25 s, unless it can't decode it.
        (502, GARBAGE, {}),
        (400, b"<html><body>Bad Request</body></html>", {}),
        # A proxy adds its own Via: discord.py then reads retry_after off a str.
        (429, b"Too Many Requests", {"Via": "1.1 proxy"}),
    ],
    ids=["502-garbage", "400-html", "429-text-via-proxy"],
)
@pytest.mark.parametrize("how", ["command", "button"])
async def test_an_answer_discord_refuses_in_any_shape_is_logged_in_one_line(
    rig: Rig, logged: Logged, how: str, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """The member's answer can't be sent: one line in the log (no traceback, nothing the
    member typed), and Tiara goes on answering."""
    if how == "command":
        payload = payloads.slash_command(
            path=("log",), options={"contact": "Secret Person", "when": "now"}, user_id=ALICE
        )
    else:
        asked = await rig.command("request", contact="Secret Person", org="Acme")
        payload = payloads.button_click(
            custom_id=button_id(asked, "They agreed"), user_id=ALICE, guild_id=GUILD
        )
    rig.fake.answer_raw(
        "POST", _callback(payload), status=status, body=body, headers=headers, times=1
    )
    await rig.fake.interaction(payload)
    await logged.until("answering an interaction failed with ")
    assert "answering an interaction failed with " in logged.text()
    [refused] = rig.fake.calls_to("POST", _callback(payload))
    assert refused.status == status
    assert not logged.tracebacks()
    assert "Secret Person" not in logged.text()
    assert "Ignoring exception" not in logged.text()
    assert text_of(await rig.command("meetings"))  # still answering


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
