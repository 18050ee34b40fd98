"""Behaviour fixed after review: timezones, dates, several requests, ids, failures, logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.bootstrap import build_app, build_bot, configure_logging
from bot.clock import FixedClock
from bot.config import Settings
from bot.context import Context
from bot.core import INTERNAL_ERROR, Bot
from bot.registry import Kind, Option, Registry
from bot.timeutil import parse_when
from bot.values import Invocation, Message, UserError, UserRef
from storage.store import Store
from tests.conftest import START, Member, everything

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)


# -- timezones -------------------------------------------------------------------------


async def test_the_configured_default_timezone_applies_after_a_restart(
    empty_store: Store,
) -> None:
    first = await build_app(
        Settings(_env_file=None, timezone="UTC"),  # type: ignore[call-arg]
        clock=FixedClock(START),
        store=empty_store,
    )
    await Member(first.bot, "alice").ok("meetings")  # creates the workspace
    second = await build_app(
        Settings(_env_file=None, timezone="America/Chicago"),  # type: ignore[call-arg]
        clock=FixedClock(START),
        store=empty_store,
    )
    for who in ("alice", "newcomer"):
        shown = await Member(second.bot, who).ok("settings")
        fields = {f.label: f.value for f in shown.fields}
        assert fields["Timezone"] == "America/Chicago (the workspace default)"
        assert fields["Your local time"] == "Wed 18 Nov 2026, 09:00"
    assert await second.bot.timezone_of(UserRef("test", "cohort", "alice")) == "America/Chicago"


def test_junk_zone_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a timezone I know"):
        Settings(_env_file=None, timezone="localtime")  # type: ignore[call-arg]


# -- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["tomorrow at 3", "tomorrow 3", "tomorrow 25:00"])
def test_a_time_that_cannot_be_placed_is_refused_not_guessed(text: str) -> None:
    with pytest.raises(UserError, match="couldn't read the time"):
        parse_when(text, tz="UTC", now=NOW)


@pytest.mark.parametrize(
    ("text", "hour"), [("tomorrow 3pm", 15), ("tomorrow at 3pm", 15), ("tomorrow 15:00", 15)]
)
def test_clock_times_are_kept(text: str, hour: int) -> None:
    assert parse_when(text, tz="UTC", now=NOW) == datetime(2026, 11, 22, hour, tzinfo=UTC)


def test_past_only_dates_prefer_the_past_and_say_how_they_were_read() -> None:
    assert parse_when("12/1", tz="UTC", now=NOW, past=True) == datetime(
        2025, 12, 1, 9, 0, tzinfo=UTC
    )
    with pytest.raises(UserError, match="reads as Sun 22 Nov 2026, 09:00, which hasn't happened"):
        parse_when("tomorrow", tz="UTC", now=NOW, past=True)


async def test_a_request_sent_on_an_ambiguous_date_is_in_the_past(alice: Member) -> None:
    asked = await alice.ok("request Dana Lee via=email when=11/30")  # on 18 Nov 2026
    # Almost a year ago: confirmed before it is saved.
    assert "Sun 30 Nov 2025" in asked.text and "days ago" in asked.text
    sent = await alice.click("Yes, Sun 30 Nov 2025", asked)
    assert "Sent Sun 30 Nov 2025, 09:00" in sent.text


# -- several requests to one contact ---------------------------------------------------


async def test_a_meeting_settles_every_pending_request_to_that_contact(alice: Member) -> None:
    await alice.ok("request Dana Lee via=email when=2 weeks ago")
    await alice.ok("request Dana Lee via=linkedin when=yesterday")
    await alice.click("Record another")  # a second request to them asks first
    logged = await alice.ok("log Dana Lee when=now")
    assert "Your request R1, R2 to Dana Lee is marked replied" in logged.text
    assert "Waiting for a reply" not in (await alice.ok("meetings")).text


async def test_a_reply_settles_every_pending_request_and_later_can_become_scheduled(
    alice: Member,
) -> None:
    await alice.ok("request Dana Lee via=email when=2 weeks ago")
    await alice.ok("request Dana Lee via=phone when=yesterday")
    await alice.click("Record another")  # a second request to them asks first
    later = await alice.ok("reply Dana Lee outcome=later")
    assert later.title == "R1, R2: Dana Lee replied (later)"
    scheduled = await alice.ok("reply Dana Lee outcome=scheduled")
    assert scheduled.title == "R2: Dana Lee replied (scheduled)"


# -- ids ---------------------------------------------------------------------------------


async def test_an_id_letter_must_match_the_kind(alice: Member) -> None:
    await alice.ok("log Dana when=now")
    wrong = await alice("delete R1")
    assert wrong.error
    assert wrong.text == "You have no request R1; #1 is your meeting M1. Use M1 if that's the one."
    assert (await alice.ok("show #1")).title == "M1 · Meeting with Dana"


# -- failures --------------------------------------------------------------------------


async def test_an_unexpected_failure_is_answered_politely_and_logged_without_arguments(
    empty_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()

    @registry.command(
        "explode", options=(Option("notes", Kind.LONGTEXT, "text"),), examples=("explode",)
    )
    async def explode(ctx: Context, args: dict[str, Any]) -> Message:
        """Fail after writing."""
        await ctx.uow.members.allocate_seq(ctx.member, "M")
        raise RuntimeError(f"boom with {args['notes']}")

    await empty_store.upgrade()
    bot = build_bot(store=empty_store, clock=FixedClock(START), registry=registry)
    user = UserRef("test", "cohort", "alice")
    with caplog.at_level(logging.ERROR):
        reply = await bot.dispatch(Invocation(("explode",), {"notes": "my secret note"}, user))
    assert reply.error and reply.text == INTERNAL_ERROR
    assert "RuntimeError" in caplog.text and "explode" in caplog.text
    assert "my secret note" not in caplog.text
    assert await bot.timezone_of(user) == "UTC"  # the member row was rolled back too
    async with empty_store.transaction() as session:
        from sqlalchemy import func, select

        from storage.models import Member as MemberRow

        assert (await session.execute(select(func.count()).select_from(MemberRow))).scalar() == 0


async def test_debug_logging_never_shows_members_text(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(Settings(_env_file=None, log_level="DEBUG"))  # type: ignore[call-arg]
    with caplog.at_level(logging.DEBUG):
        await Member(bot, "alice").ok('log Dana when=now notes="a very private note"')
    assert caplog.records, "nothing was logged at DEBUG"
    assert "a very private note" not in caplog.text


# -- smaller gaps ----------------------------------------------------------------------


async def test_edit_org_and_role_of_a_meeting_updates_the_contact(alice: Member) -> None:
    await alice.ok("log Dana Lee when=now")
    await alice.ok("edit M1 org=Acme role=Director")
    card = await alice.ok("contact Dana Lee")
    fields = {f.label: f.value for f in card.fields}
    assert fields["Organization"] == "Acme" and fields["Title"] == "Director"


async def test_long_listings_say_how_many_more(alice: Member) -> None:
    for i in range(10):
        await alice.ok(f"log Person {i} when={i + 1} days ago")
    assert "more" not in (await alice.ok("meetings")).text  # a full page, and no more
    for i in range(10, 12):
        await alice.ok(f"log Person {i} when={i + 1} days ago")
    for i in range(16):
        await alice.ok(f"request Asked {i}")
    listing = (await alice.ok("meetings")).text
    assert "…and 2 more" in listing and "…and 1 more" in listing


@pytest.mark.parametrize("name", ["Dana\u200b", "Dana\u202eeeL", "\ufeffDana"])
async def test_invisible_characters_in_names_are_refused(alice: Member, name: str) -> None:
    message = await alice(f'log contact="{name}"')
    assert message.error and "invisible formatting character" in message.text


async def test_profile_links_must_be_web_addresses(alice: Member) -> None:
    bad = await alice("contact Dana url=javascript:alert(1)")
    assert bad.error and "doesn't look like a web address" in bad.text
    await alice.ok("contact Dana url=linkedin.com/in/dana-lee")
    assert "linkedin.com/in/dana-lee" in everything(await alice.ok("contact Dana"))
