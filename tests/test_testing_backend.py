"""The test backend shipped with Tiara (adapters.testing), used as its docstring shows: a
bot on a clock the test moves, a notifier that keeps each member's DMs, and members who
type, click and fill forms through ``Bot.handle`` as on Slack, Discord and the console."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

import adapters.testing
from adapters.bootstrap import build_app
from adapters.testing import TestMember, TestNotifier, everything, pass_time
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.events import OpenForm
from bot.notify import DeliveryError
from storage.store import Store

# Wednesday 18 November 2026, 15:00 UTC.
START = datetime(2026, 11, 18, 15, tzinfo=UTC)


@dataclass
class World:
    bot: Bot
    clock: FixedClock
    notifier: TestNotifier

    def member(self, user: str) -> TestMember:
        return TestMember(self.bot, user, clock=self.clock, notifier=self.notifier)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock = FixedClock(START)
    notifier = TestNotifier(clock)
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    store = Store("sqlite+aiosqlite://")
    app = await build_app(settings, clock=clock, store=store, notifier=notifier)
    try:
        yield World(app.bot, clock, notifier)
    finally:
        await app.close()


async def test_a_command_through_its_form_a_button_and_a_dm_when_the_clock_moves(
    world: World,
) -> None:
    alice = world.member("alice")
    await alice.ok('request "Ann Wu" org=Acme')
    answer = await alice.ok('reply "Ann Wu" outcome=scheduled')

    # A button that opens a form: the core says which form, prefilled; she fills the rest.
    form = await alice.open("Log the meeting", answer)
    assert form.form.title == "Log a conversation"
    assert form.defaults == {"contact": "Ann Wu"}
    logged = await alice.submit(form, when="today 10am", notes="Kind")
    assert logged.title == "Logged M1: your conversation with Ann Wu"
    assert "Send a thank-you by Thu 19 Nov 2026, 10:00" in logged.text
    assert alice.dms() == []  # nothing sent on its own yet

    # A day passes: the last call for her thank-you arrives, at 8:00 (not in the night).
    [last_call] = await alice.wait(timedelta(days=1))
    assert last_call.title == "Last call: thank Ann Wu by Thu 19 Nov 2026, 10:00"
    assert "“Kind”" in last_call.text  # her notes, to mention

    # A button on the DM runs at once; after it, nothing more about this thank-you.
    thanked = await alice.click("Thank-you sent", last_call)
    assert thanked.title == "Thank-you to Ann Wu recorded"
    assert await alice.wait(timedelta(weeks=2)) == []


async def test_a_dm_comes_with_the_moment_it_was_sent(world: World) -> None:
    alice = world.member("alice")
    await alice.ok('log "Ann Wu" when="today 10am"')
    await pass_time(world.bot, world.clock, timedelta(days=1))
    [received] = alice.received()
    assert received.at == datetime(2026, 11, 19, 8, tzinfo=UTC)
    assert world.clock.now() == START + timedelta(days=1)
    assert alice.received() == []  # read once


async def test_typing_a_command_with_a_form_and_no_values_opens_the_form(world: World) -> None:
    alice = world.member("alice")
    form = await alice.open_typed("log")
    assert isinstance(form, OpenForm) and form.defaults == {}
    logged = await alice.submit(form, contact="Dana Lee", when="yesterday 3pm")
    assert "Logged M1: your conversation with Dana Lee" in everything(logged)


async def test_each_member_reads_only_their_own_dms(world: World) -> None:
    alice, bob = world.member("alice"), world.member("bob")
    await alice.ok('log "Ann Wu" when="today 10am"')
    assert len(await bob.wait(timedelta(days=1))) == 0
    assert [m.title for m in alice.dms()] == ["Last call: thank Ann Wu by Thu 19 Nov 2026, 10:00"]


async def test_a_dm_that_fails_is_not_received(world: World) -> None:
    alice = world.member("alice")
    world.notifier.failures["alice"] = DeliveryError("dms_closed", permanent=True)
    await alice.ok('log "Ann Wu" when="today 10am"')
    assert await alice.wait(timedelta(days=1)) == []


async def test_without_a_notifier_a_member_is_told_how_to_read_dms(bot: Bot) -> None:
    alice = TestMember(bot, "alice")
    with pytest.raises(AssertionError, match="TestNotifier"):
        alice.dms()


async def test_the_example_in_the_module_docstring_runs() -> None:
    """What plugin authors read first stays true: the example runs as written."""
    doc = adapters.testing.__doc__ or ""
    example = doc.split("::\n", 1)[1]
    example = textwrap.dedent(example[: example.index("\nEvery answer")])
    scope: dict[str, object] = {}
    body = textwrap.indent(example + "\nreturn locals()", "    ")
    exec(f"async def example():\n{body}", scope)
    seen = await scope["example"]()  # type: ignore[operator]
    try:
        assert seen["logged"].title == "Logged M1: your conversation with Ann Wu"
        assert isinstance(seen["dms"], list)
    finally:
        await seen["app"].close()
