"""Reminders close when the work is done, by any route; what `followups`, `snooze` and the
DMs say about them (issue 19, "Reminders close when the work is done")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from sqlalchemy import select, update

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import RecordingNotifier
from bot.nudges import kinds as k
from bot.values import Message
from storage.models import Nudge, Workspace
from storage.store import Store
from tests.conftest import Member, button_named, everything

# START (conftest) is Wed 18 Nov 2026, 15:00 UTC; the members' zone is UTC, nudge time 09:00.


def day(d: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, d, hour, minute, tzinfo=UTC)


@dataclass
class World:
    bot: Bot
    clock: FixedClock
    notifier: RecordingNotifier
    alice: Member

    async def at(self, when: datetime) -> list[Message]:
        """Move the clock to ``when``, tick, and return alice's new DMs."""
        self.clock.set(when)
        self.notifier.clear()
        await self.bot.tick()
        return self.notifier.dms_to("alice")

    async def nudges(self, kind: str) -> list[Nudge]:
        async with self.bot.store.transaction() as session:
            return list((await session.scalars(select(Nudge).where(Nudge.kind == kind))).all())

    async def label(self, kind: str) -> str:
        """The reminder's id, as alice sees it: one not sent yet has its id once listed."""
        (nudge,) = await self.nudges(kind)
        if nudge.seq is None:
            await self.alice.ok("followups")
            (nudge,) = await self.nudges(kind)
        return f"N{nudge.seq}"


W = TypeVar("W", bound=World)


async def build_world(kind: type[W], store: Store, clock: FixedClock) -> W:
    """A bot on ``store`` with a recording notifier, and alice (UTC) to drive it."""
    notifier = RecordingNotifier()
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=store, notifier=notifier)
    return kind(app.bot, clock, notifier, Member(app.bot, "alice"))


@pytest.fixture
async def world(empty_store: Store, clock: FixedClock) -> AsyncIterator[World]:
    yield await build_world(World, empty_store, clock)


def dm_titled(dms: list[Message], start: str) -> Message:
    found = [m for m in dms if (m.title or "").startswith(start)]
    assert found, f"no DM starting {start!r} in {[m.title for m in dms]}"
    return found[0]


# -- 1. doing what a reminder asks closes it, by any route --------------------------

Act = Callable[[World, Message], Awaitable[object]]


@dataclass(frozen=True)
class Case:
    kind: str
    setup: tuple[str, ...]
    due: datetime  # when the reminder arrives
    title: str  # how its DM (or its part of a grouped DM) starts
    act: Act


def typed(text: str) -> Act:
    async def act(world: World, dm: Message) -> object:
        return await world.alice.ok(text)

    return act


def click(label: str, **form: object) -> Act:
    async def act(world: World, dm: Message) -> object:
        button = button_named(dm, label)
        if not form:
            return await world.alice.click(label, dm)
        filled = await world.bot.dispatch(button.invocation(world.alice.ref).with_args(form))
        assert not filled.error, filled.text
        return filled

    return act


def done_typed(kind: str) -> Act:
    async def act(world: World, dm: Message) -> object:
        return await world.alice.ok(f"done {await world.label(kind)}")

    return act


async def tick_past(world: World, dm: Message) -> object:
    return await world.at(day(20, 15))  # the meeting (Fri 20 Nov, 14:00) has passed


async def set_3b7(world: World, dm: Message) -> None:
    async with world.bot.store.transaction() as session:
        await session.execute(update(Workspace).values(followup_policy="3b7"))


_MET = ('log "Dana Lee" when="today 2pm"',)
_UPCOMING = ('log "Sam Ortiz" org=Acme when="Nov 20 2pm"',)
_REFERRED = ('log "Dana Lee" when="today 10am" referrals="Ann Wu"', "thanks M1")
_ASKED = ('request "Kim Park" org=Globex',)
_LATER = (*_ASKED, 'reply "Kim Park" outcome=later back="in 3 days"')
_KEEP = ('log "Dana Lee" when="today 10am"', "thanks M1")
_KEEP_DUE = day(18, 9, month=2, year=2027)

CASES = {
    "thanks-button": Case(
        k.THANKS, _MET, day(18, 16), "Time for your thank-you", click("Thank-you sent")
    ),
    "thanks-typed": Case(
        k.THANKS, _MET, day(18, 16), "Time for your thank-you", typed("thanks M1")
    ),
    "thanks-done": Case(k.THANKS, _MET, day(18, 16), "Time for your thank-you", click("Done")),
    "log_it-form": Case(
        k.LOG_IT, _UPCOMING, day(20, 15), "How did it go", click("Log how it went", notes="Good")
    ),
    "log_it-typed": Case(
        k.LOG_IT, _UPCOMING, day(20, 15), "How did it go", typed('edit M1 notes="Learn dbt"')
    ),
    "prep-passes": Case(k.PREP, _UPCOMING, day(19, 9), "Prepare for Sam Ortiz", tick_past),
    "prep-done": Case(k.PREP, _UPCOMING, day(19, 9), "Prepare for Sam Ortiz", click("Done")),
    "referral-button": Case(
        k.REFERRAL, _REFERRED, day(19, 9), "Reach out to Ann Wu", click("I sent a request")
    ),
    "referral-typed": Case(
        k.REFERRAL, _REFERRED, day(19, 9), "Reach out to Ann Wu", typed('request "Ann Wu"')
    ),
    "referral-meeting": Case(
        k.REFERRAL,
        _REFERRED,
        day(19, 9),
        "Reach out to Ann Wu",
        typed('log "Ann Wu" when="Nov 25 2pm"'),
    ),
    "follow_up-button": Case(
        k.FOLLOW_UP, _ASKED, day(2, 9, month=12), "Follow up with Kim", click("They agreed")
    ),
    "follow_up-typed": Case(
        k.FOLLOW_UP,
        _ASKED,
        day(2, 9, month=12),
        "Follow up with Kim",
        typed('reply "Kim Park" outcome=declined'),
    ),
    "check_back-button": Case(
        k.CHECK_BACK, _LATER, day(21, 15), "Check back with Kim", click("They agreed")
    ),
    "check_back-typed": Case(
        k.CHECK_BACK,
        _LATER,
        day(21, 15),
        "Check back with Kim",
        typed('reply "Kim Park" outcome=scheduled'),
    ),
    "check_back-request": Case(
        k.CHECK_BACK, _LATER, day(21, 15), "Check back with Kim", typed('request "Kim Park"')
    ),
    "keep_in_touch-typed": Case(
        k.KEEP_IN_TOUCH, _KEEP, _KEEP_DUE, "Check in with Dana", typed('request "Dana Lee"')
    ),
    "keep_in_touch-log": Case(
        k.KEEP_IN_TOUCH,
        _KEEP,
        _KEEP_DUE,
        "Check in with Dana",
        typed('log "Dana Lee" notes="Coffee and news"'),
    ),
    "keep_in_touch-done": Case(
        k.KEEP_IN_TOUCH, _KEEP, _KEEP_DUE, "Check in with Dana", click("Done")
    ),
    "landed-done": Case(
        k.LANDED, ("landed org=Acme",), day(19, 9), "Tell the people", done_typed(k.LANDED)
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_doing_what_a_reminder_asks_closes_it(world: World, name: str) -> None:
    case = CASES[name]
    for line in case.setup:
        await world.alice.ok(line)
    dm = dm_titled(await world.at(case.due), case.title)
    (sent,) = [n.id for n in await world.nudges(case.kind) if n.status == "sent"]
    assert case.title in waiting(await world.alice.ok("followups"))
    await case.act(world, dm)
    statuses = {n.id: n.status for n in await world.nudges(case.kind)}
    assert statuses[sent] in ("done", "expired"), statuses
    # Only a recurring reminder's next one may be pending (keep in touch, months on).
    assert all(s == "pending" for i, s in statuses.items() if i != sent and s != "cancelled")
    assert case.title not in waiting(await world.alice.ok("followups"))


def waiting(listing: Message) -> str:
    """The "Sent, waiting for you" part of `followups`."""
    return everything(listing).split("Coming up")[0]


async def test_tell_the_referrer_closes_when_you_next_write_to_them(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Sam Ortiz"')
    await world.alice.ok("thanks M1")
    await world.alice.ok('log "Sam Ortiz" when="today 1pm"')
    await world.alice.ok("thanks M2")
    dm = dm_titled(await world.at(day(19, 9)), "Tell Dana Lee how it went")
    assert dm is not None
    await world.alice.ok('request "Dana Lee"')  # wrote to Dana
    assert [n.status for n in await world.nudges(k.TELL_REFERRER)] == ["done"]


async def test_second_person_closes_when_you_write_to_someone_else_there(world: World) -> None:
    await world.alice.ok("settings")
    await set_3b7(world, Message(""))
    await world.alice.ok('request "Kim Park" org=Globex')
    dm_titled(await world.at(day(23, 9)), "Three business days")
    await world.alice.ok('request "Lee Chan" org=Globex')
    # Kim's is done; Lee's own request has its own, still to come.
    assert sorted(n.status for n in await world.nudges(k.SECOND_CONTACT)) == ["done", "pending"]
    assert "Three business days" not in waiting(await world.alice.ok("followups"))


async def test_a_weekly_plan_past_its_day_expires_quietly(world: World) -> None:
    await world.alice.ok("settings weekly_plan=on")
    dm_titled(await world.at(day(23, 9)), "Your week")
    assert "Your week" in waiting(await world.alice.ok("followups"))
    world.clock.set(day(24, 10))
    assert "Your week" not in waiting(await world.alice.ok("followups"))


# -- 2. stopped kinds are not listed --------------------------------------------------


async def test_followups_leaves_out_stopped_kinds(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am"')
    await world.alice.ok("thanks M1")
    await world.alice.ok('request "Kim Park"')
    assert "Check in with Dana Lee" in everything(await world.alice.ok("followups"))
    await world.alice.ok("nudge stop keep_in_touch")
    listed = everything(await world.alice.ok("followups"))
    assert "Check in with Dana Lee" not in listed
    assert "Follow up with Kim Park" in listed
    assert "Stopped: keep-in-touch reminders" in listed


# -- 3. a default snooze ----------------------------------------------------------------


async def test_snooze_without_a_time_counts_from_the_due_time_at_the_nudge_time(
    world: World,
) -> None:
    world.clock.set(day(23, 10, 55))  # Mon 10:55
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Ann Wu"')
    referral = await world.label(k.REFERRAL)  # due Tue 09:00
    snoozed = await world.alice.ok(f"snooze {referral}")
    assert snoozed.title == f"Snoozed {referral} until Wed 25 Nov 2026, 09:00"


async def test_snooze_without_a_time_on_a_sent_reminder_is_tomorrow_at_nudge_time(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Ann Wu"')
    await world.at(day(19, 9))
    world.clock.set(day(19, 10, 55))
    referral = await world.label(k.REFERRAL)
    snoozed = await world.alice.ok(f"snooze {referral}")
    assert snoozed.title == f"Snoozed {referral} until Fri 20 Nov 2026, 09:00"


# -- 6. the referral reminder names the referrer ---------------------------------------


async def test_the_referral_reminder_names_who_suggested_them(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Ann Wu"')
    await world.alice.ok("thanks M1")
    dm = dm_titled(await world.at(day(19, 9)), "Reach out to Ann Wu")
    assert dm.title == "Reach out to Ann Wu — Dana Lee suggested them"
    assert "Name Dana Lee" in dm.text


# -- 7. a grouped DM's buttons name their contact ----------------------------------------


async def test_a_grouped_dm_names_each_button_s_contact(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    await world.alice.ok('log "Sam Ortiz" when="today 2pm"')
    (dm,) = await world.at(day(18, 16))
    assert dm.title == "2 things for you today"
    labels = [b.label for b in dm.buttons]
    assert "Thank-you sent: Dana Lee" in labels and "Thank-you sent: Sam Ortiz" in labels
    assert len(labels) == len(set(labels))
    await world.alice.click("Thank-you sent: Sam Ortiz", dm)
    statuses = {n.meeting_id: n.status for n in await world.nudges(k.THANKS)}
    assert sorted(statuses.values()) == ["done", "sent"]


# -- 8. "come back later" plans the check-back ----------------------------------------------


async def test_reply_later_with_a_day_plans_the_check_back_then(world: World) -> None:
    await world.alice.ok('request "Kim Park"')
    reply = await world.alice.ok('reply "Kim Park" outcome=later back="Dec 10 2pm"')
    assert "Thu 10 Dec 2026, 14:00" in reply.text
    assert await world.at(day(10, 13, month=12)) == []
    (dm,) = await world.at(day(10, 14, month=12))
    assert dm.title == "Check back with Kim Park"
    assert "They agreed" in [b.label for b in dm.buttons]


async def test_reply_later_without_a_day_picks_two_weeks_and_says_so(world: World) -> None:
    await world.alice.ok('request "Kim Park"')
    reply = await world.alice.ok('reply "Kim Park" outcome=later')
    assert "Wed 2 Dec 2026, 09:00" in reply.text and "two weeks" in reply.text
    assert 'back="in 3 weeks"' in reply.text
    (dm,) = await world.at(day(2, 9, month=12))
    assert dm.title == "Check back with Kim Park"  # and no follow-up: they replied


async def test_a_reply_promises_only_the_reminders_the_member_gets(world: World) -> None:
    """After `nudge stop prep`, logging an upcoming meeting promises no checklist."""
    upcoming = await world.alice.ok('log "Sam Ortiz" when="Nov 20 2pm"')
    assert "I'll send you a checklist the day before and ask how it went" in upcoming.text
    await world.alice.ok("nudge stop prep")
    await world.alice.ok("nudge stop thanks")
    later = await world.alice.ok('log "Kim Park" when="Nov 21 2pm"')
    assert "checklist" not in later.text and "I'll ask how it went afterwards." in later.text
    met = await world.alice.ok('log "Dana Lee" when="today 2pm"')
    assert "Then mark it sent." in met.text and "I'll remind you" not in met.text
