"""Snoozes follow one rule, typed or clicked, and `snooze` and `done` take a name as well as
an id (issue 19: "A default snooze counts from the later of now and the due time and lands
at the member's nudge time"; "Every command that takes an item takes its id or a name that
is unique")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.clock import FixedClock
from bot.nudges import kinds as k
from bot.nudges.rhythm import Rhythm
from bot.values import Button, Message
from storage.models import Nudge
from storage.store import Store
from tests.conftest import button_named
from tests.test_reminders_close import World as ClosingWorld
from tests.test_reminders_close import build_world, day

# START (conftest) is Wed 18 Nov 2026, 15:00 UTC; the members' zone is UTC unless a test
# sets another, nudge time 09:00, quiet hours 21:00 to 08:00.
NEW_YORK = "America/New_York"


@dataclass
class World(ClosingWorld):
    """The reminders world, with lookups by contact and a view of every nudge row."""

    async def nudge(self, kind: str, about: str | None = None) -> Nudge:
        """The one nudge of ``kind`` (about the contact named ``about``)."""
        async with self.bot.store.transaction() as session:
            query = select(Nudge).where(Nudge.kind == kind).options(selectinload(Nudge.contact))
            rows = (await session.scalars(query)).all()
        found = [n for n in rows if about is None or (n.contact and n.contact.name == about)]
        assert len(found) == 1, f"{len(found)} {kind} nudges"
        return found[0]

    async def label(self, kind: str, about: str | None = None) -> str:
        """The reminder's id, as alice sees it: one not sent yet has its id once listed."""
        nudge = await self.nudge(kind, about)
        if nudge.seq is None:
            await self.alice.ok("followups")
            nudge = await self.nudge(kind, about)
        return f"N{nudge.seq}"

    async def rows(self) -> list[tuple[int | None, str, datetime, datetime | None]]:
        """Every nudge as (id, status, due, snoozed until): to see that nothing changed."""
        async with self.bot.store.transaction() as session:
            nudges = (await session.scalars(select(Nudge).order_by(Nudge.id))).all()
            return [(n.seq, n.status, n.due_at, n.snoozed_until) for n in nudges]

    async def click(self, button: Button) -> Message:
        return await self.bot.dispatch(button.invocation(self.alice.ref))


@pytest.fixture
async def world(empty_store: Store, clock: FixedClock) -> AsyncIterator[World]:
    yield await build_world(World, empty_store, clock)


async def referral_dm(world: World, *, sent: datetime) -> Message:
    """Alice met Dana, who suggested Ann Wu; the "reach out to Ann" DM arrives at ``sent``
    (the next morning at the nudge time), alone (the thank-you is recorded)."""
    await world.alice.ok('log "Dana Lee" when="today 9am" referrals="Ann Wu"')
    await world.alice.ok("thanks M1")
    (dm,) = await world.at(sent)
    assert dm.title == "Reach out to Ann Wu — Dana Lee suggested them"
    return dm


# -- 1. snooze buttons land at the nudge time, counted from the due time ---------------


async def test_a_snooze_button_on_a_reminder_due_tomorrow_lands_the_day_after_it(
    world: World,
) -> None:
    world.clock.set(day(18, 10, 55))  # Wed
    await world.alice.ok('log "Dana Lee" when="today 9am" referrals="Ann Wu"')
    referral = await world.label(k.REFERRAL)
    assert (await world.nudge(k.REFERRAL)).due_at == day(19, 9)  # Thu 09:00
    listing = await world.alice.ok("followups")
    snoozed = await world.alice.click(f"Snooze {referral}", listing)
    # Not 24 hours after the click (Thu 10:55): the day after it is due, at 09:00.
    assert snoozed.title == f"Snoozed {referral} until Fri 20 Nov 2026, 09:00"
    assert (await world.nudge(k.REFERRAL)).due_at == day(20, 9)


async def test_snooze_to_tomorrow_in_a_dm_counts_from_a_later_due_time(world: World) -> None:
    dm = await referral_dm(world, sent=day(19, 9))
    referral = await world.label(k.REFERRAL)
    world.clock.set(day(19, 10, 55))  # Thu; the reminder is moved to Fri 09:00 by hand
    await world.alice.ok(f'snooze {referral} when="tomorrow 9am"')
    snoozed = await world.alice.click("Snooze to tomorrow", dm)
    assert snoozed.title == f"Snoozed {referral} until Sat 21 Nov 2026, 09:00"


async def test_a_snooze_button_in_a_dm_of_several_follows_the_same_rule(world: World) -> None:
    world.clock.set(day(18, 10, 55))
    await world.alice.ok('log "Dana Lee" when="today 9am" referrals="Ann Wu, Bo Li"')
    await world.alice.ok("thanks M1")
    (dm,) = await world.at(day(19, 9))
    assert dm.title == "2 things for you today"
    ann = await world.label(k.REFERRAL, about="Ann Wu")
    world.clock.set(day(19, 10, 55))
    snoozed = await world.alice.click(f"Snooze {ann}", dm)
    assert snoozed.title == f"Snoozed {ann} until Fri 20 Nov 2026, 09:00"


async def test_buttons_in_dms_sent_before_keep_working_by_the_same_rule(world: World) -> None:
    """Old DMs carry "in 24 hours" and "in 168 hours": a click is the snooze its label
    ("Snooze 1 day", "Snooze 1 week") promised, at the nudge time."""
    await referral_dm(world, sent=day(19, 9))
    referral = await world.label(k.REFERRAL)
    world.clock.set(day(19, 10, 55))
    one_day = Button("Snooze 1 day", ("snooze",), {"id": referral, "when": "in 24 hours"})
    snoozed = await world.click(one_day)
    assert snoozed.title == f"Snoozed {referral} until Fri 20 Nov 2026, 09:00"
    one_week = Button("Snooze 1 week", ("snooze",), {"id": referral, "when": "in 168 hours"})
    snoozed = await world.click(one_week)
    # A week from Friday, when it is now due.
    assert snoozed.title == f"Snoozed {referral} until Fri 27 Nov 2026, 09:00"


async def test_a_snooze_button_clicked_late_in_the_evening_skips_the_quiet_hours(
    world: World,
) -> None:
    await world.alice.ok(f"settings timezone={NEW_YORK}")  # START is Wed 10:00 there
    dm = await referral_dm(world, sent=day(19, 14))  # Thu 09:00 in New York
    referral = await world.label(k.REFERRAL)
    rhythm = Rhythm(NEW_YORK)
    world.clock.set(day(20, 3, 40))  # Thu 22:40 in New York (Fri in UTC), quiet hours

    snoozed = await world.alice.click("Snooze to tomorrow", dm)
    # Friday morning at the nudge time, not Saturday 08:00 (24 hours on, then out of the
    # quiet hours), and by New York's calendar, not UTC's.
    assert snoozed.title == f"Snoozed {referral} until Fri 20 Nov 2026, 09:00"
    due = (await world.nudge(k.REFERRAL)).due_at
    assert due == day(20, 14) and not rhythm.is_quiet(due)

    world.clock.set(day(20, 3, 50))
    snoozed = await world.alice.click("Snooze 1 week", dm)
    # From Friday 09:00, when it is now due: a week later, the next Friday.
    assert snoozed.title == f"Snoozed {referral} until Fri 27 Nov 2026, 09:00"


async def test_a_snooze_to_a_nudge_time_inside_the_quiet_hours_waits_for_them_to_end(
    world: World,
) -> None:
    await world.alice.ok(f"settings timezone={NEW_YORK} nudge_time=7:00")  # quiet until 8
    dm = await referral_dm(world, sent=day(19, 13))  # Thu 08:00 in New York
    referral = await world.label(k.REFERRAL)
    world.clock.set(day(20, 3, 40))  # Thu 22:40 in New York
    snoozed = await world.alice.click("Snooze to tomorrow", dm)
    assert snoozed.title == f"Snoozed {referral} until Fri 20 Nov 2026, 08:00"
    assert "moved out of your quiet hours" in snoozed.text
    due = (await world.nudge(k.REFERRAL)).due_at
    assert due == day(20, 13) and not Rhythm(NEW_YORK, nudge_time=7 * 60).is_quiet(due)


async def test_a_thank_you_snoozed_to_the_morning_of_its_last_call_is_left_to_it(
    world: World,
) -> None:
    """Not two thank-you reminders hours apart: the last call, later that day, covers it."""
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    (dm,) = await world.at(day(18, 16))
    assert dm.title == "Time for your thank-you to Dana Lee"
    reply = await world.alice.click("Snooze to tomorrow", dm)  # Thu 09:00; last call 11:00
    assert reply.text == (
        "Your last call for this thank-you comes Thu 19 Nov 2026, 11:00; I'll remind you then."
    )
    assert await world.at(day(19, 9)) == []
    (last,) = await world.at(day(19, 11))
    assert last.title == "Last call: thank Dana Lee by Thu 19 Nov 2026, 14:00"


# -- 2. snooze and done take a contact's name ------------------------------------------


async def test_snooze_and_done_take_the_name_of_the_one_person_a_reminder_is_about(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 9am" referrals="Ann Wu"')
    referral = await world.label(k.REFERRAL)
    snoozed = await world.alice.ok("snooze Ann")  # the start of a name, any case
    assert snoozed.title == f"Snoozed {referral} until Fri 20 Nov 2026, 09:00"
    done = await world.alice.ok("done Ann Wu")
    assert done.title == "Done: Reach out to Ann Wu — Dana Lee suggested them"
    assert (await world.nudge(k.REFERRAL)).status == "done"


async def two_reminders_about_ann(world: World) -> tuple[str, str]:
    """Ann referred Bo; once Alice has met Bo, Ann hears how it went, and is kept in touch
    with: two reminders about Ann (and one about Bo)."""
    await world.alice.ok('log "Ann Wu" when="today 9am" referrals="Bo Li"')
    await world.alice.ok("thanks M1")
    await world.alice.ok('log "Bo Li" when="today 10am"')
    await world.alice.ok("thanks M2")
    return await world.label(k.TELL_REFERRER), await world.label(k.KEEP_IN_TOUCH, "Ann Wu")


async def test_a_name_with_several_reminders_asks_which_with_ids_and_changes_nothing(
    world: World,
) -> None:
    tell, keep = await two_reminders_about_ann(world)
    before = await world.rows()
    for typed in ("snooze Ann", 'snooze "Ann Wu" when="Monday 9am"', "done ann wu"):
        answer = await world.alice(typed)
        assert answer.title == "Which reminder about Ann Wu?", typed
        assert f"{tell} · " in answer.text and f"{keep} · " in answer.text
        assert "Tell Ann Wu how it went" in answer.text and "Check in with Ann Wu" in answer.text
        assert "nothing has changed" in answer.text
        assert len(answer.buttons) == 2
        assert await world.rows() == before, typed

    # Each button does it to that one, with what was typed besides the name.
    answer = await world.alice('snooze "Ann Wu" when="Monday 9am"')
    snoozed = await world.alice.click(f"Snooze {tell}", answer)  # due Thu 19 Nov
    assert snoozed.title == f"Snoozed {tell} until Mon 23 Nov 2026, 09:00"
    answer = await world.alice("done Ann")
    done = await world.alice.click(f"Done {keep}", answer)
    assert done.title == "Done: Check in with Ann Wu"
    # Bo has one reminder: his name is enough.
    assert (await world.alice.ok("done Bo")).title == "Done: Check in with Bo Li"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("snooze Zed", "You have no contact named 'Zed'"),
        ("done Zed Wu", "You have no contact named 'Zed Wu'"),
        ("snooze An", "'An' could be "),  # Ann Wu or Anna Berg
        ("done Dana", "You have no reminders about Dana Lee waiting"),
    ],
)
async def test_an_unknown_or_ambiguous_name_changes_nothing_and_points_to_followups(
    world: World, typed: str, says: str
) -> None:
    await world.alice.ok('log "Ann Wu" when="tomorrow 3pm"')
    await world.alice.ok('request "Anna Berg"')
    await world.alice.ok('request "Dana Lee"')
    await world.alice.ok('reply "Dana Lee" outcome=declined')  # nothing left about Dana
    before = await world.rows()
    answer = await world.alice(typed)
    assert answer.error
    assert says in answer.text and "/tiara followups" in answer.text
    assert await world.rows() == before


async def test_ids_work_as_before(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 9am" referrals="Ann Wu"')
    referral = await world.label(k.REFERRAL)
    number = referral.removeprefix("N")
    assert (
        await world.alice.ok(f"snooze {number}")
    ).title == f"Snoozed {referral} until Fri 20 Nov 2026, 09:00"
    assert "is not a reminder id" in (await world.alice("snooze X1")).text
    assert "You have no reminder N99" in (await world.alice("done N99")).text
    done = await world.alice.ok(f"done {referral.lower()}")
    assert done.title == "Done: Reach out to Ann Wu — Dana Lee suggested them"


async def test_snooze_buttons_carry_no_time_of_their_own(world: World) -> None:
    """A click is a `snooze N4` typed then, not a moment fixed when the message was drawn."""
    dm = await referral_dm(world, sent=day(19, 9))
    referral = await world.label(k.REFERRAL)
    assert button_named(dm, "Snooze to tomorrow").args == {"id": referral}
    assert button_named(dm, "Snooze 1 week").args == {"id": referral, "days": "7"}
    listing = await world.alice.ok("followups")
    assert button_named(listing, f"Snooze {referral}").args == {"id": referral}
