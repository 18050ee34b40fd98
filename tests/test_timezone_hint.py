"""Members with no timezone are told, once, which one their reminders use; autocomplete
suggests their own contacts and timezone names (SQLite and PostgreSQL)."""

from __future__ import annotations

from bot.core import Bot
from bot.registry import Kind
from bot.values import UserRef
from tests.conftest import Member

HINT = "Your reminders follow"


async def test_the_first_reminder_comes_with_the_timezone_question_once(alice: Member) -> None:
    # Nothing to remind about yet: no question.
    assert HINT not in (await alice.ok("help")).text
    first = await alice.ok('log "Dana" when="tomorrow 3pm"')
    assert HINT in first.text and "UTC" in first.text
    assert "/tiara settings timezone=" in first.text
    again = await alice.ok('log "Sam" when="friday 10am"')
    assert HINT not in again.text


async def test_members_with_a_timezone_are_not_asked(bot: Bot, alice: Member, bob: Member) -> None:
    await alice.ok("settings timezone=Europe/Berlin")
    assert HINT not in (await alice.ok('log "Dana" when="tomorrow 3pm"')).text
    # A timezone from the platform's profile (Slack) counts too.
    await bot.profiles.update(bob.ref, timezone="America/Chicago")
    assert HINT not in (await bob.ok('log "Dana" when="tomorrow 3pm"')).text


async def test_a_mistake_never_uses_up_the_question(alice: Member) -> None:
    refused = await alice('log "Dana" when="someday maybe"')
    assert refused.error and HINT not in refused.text
    assert HINT in (await alice.ok('log "Dana" when="tomorrow 3pm"')).text


async def test_suggestions_are_the_members_own_contacts(
    bot: Bot, alice: Member, bob: Member
) -> None:
    for name in ("Dana Lee", "Daniel Ortiz", "Sam Dana"):
        await alice.ok(f'request "{name}"')
    await bob.ok('request "Danielle Secret"')
    found = await bot.suggest(alice.ref, Kind.NAME, "dan")
    assert found == ["Dana Lee", "Daniel Ortiz", "Sam Dana"]  # prefix matches first
    assert await bot.suggest(alice.ref, Kind.NAME, "secret") == []
    stranger = UserRef("test", "cohort", "nobody")
    assert await bot.suggest(stranger, Kind.NAME, "") == []


async def test_timezone_suggestions_match_cities_as_typed(bot: Bot, alice: Member) -> None:
    assert "America/New_York" in await bot.suggest(alice.ref, Kind.TIMEZONE, "new york")
    assert len(await bot.suggest(alice.ref, Kind.TIMEZONE, "")) == 25
