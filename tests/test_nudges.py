"""Nudges end to end: what members do plans DMs, the tick sends them, buttons act on them."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import select

from adapters.bootstrap import build_app, build_bot, build_registry
from adapters.console import ConsoleAdapter, ConsoleNotifier
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import DeliveryError, RecordingNotifier
from bot.nudges.plan import Planner
from bot.scheduler import TICK_JOB, TickScheduler
from bot.values import Invocation, Message, UserRef
from storage.models import Contact, Nudge
from storage.models import Member as MemberRow
from storage.store import Store
from storage.tracker import name_key
from tests.conftest import START, Member, button_named, everything

registry = build_registry()


@dataclass
class World:
    bot: Bot
    clock: FixedClock
    notifier: RecordingNotifier
    alice: Member
    bob: Member

    async def at(self, when: datetime) -> list[Message]:
        """Move the clock to ``when``, tick, and return alice's new DMs."""
        self.clock.set(when)
        self.notifier.clear()
        await self.bot.tick()
        return self.notifier.dms_to("alice")

    async def statuses(self) -> dict[str, str]:
        async with self.bot.store.transaction() as session:
            rows = (await session.execute(select(Nudge))).scalars().all()
            return {n.dedupe_key: n.status for n in rows}


@pytest.fixture
async def world(empty_store: Store, clock: FixedClock) -> AsyncIterator[World]:
    notifier = RecordingNotifier()
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    yield World(app.bot, clock, notifier, Member(app.bot, "alice"), Member(app.bot, "bob"))


def day(d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, d, hour, minute, tzinfo=UTC)


# -- the thank-you, from the console -------------------------------------------------


async def test_piped_console_shows_the_thank_you_dm_at_the_right_local_time_and_not_again(
    empty_store: Store,
) -> None:
    clock = FixedClock(START)  # Wed 18 Nov, 15:00 UTC = 10:00 in New York
    notifier = ConsoleNotifier(clock)
    settings = Settings(_env_file=None, timezone="America/New_York")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    script = "\n".join(
        [
            'log "Dana Lee" org=Acme when="today 9:30am" notes="Data teams want SQL"',
            ":advance 2h",
            "thanks M1",
            ":advance 2d",
        ]
    )
    out = io.StringIO()
    adapter = ConsoleAdapter(
        app.bot, user="alice", stdin=io.StringIO(script + "\n"), stdout=out, notifier=notifier
    )
    await adapter.run()
    text = out.getvalue()
    # 9:30 + 2 hours, in New York time, with the member's own note quoted.
    assert "── DM from Tiara · Wed 18 Nov 2026, 11:30 ──" in text
    assert "Time for your thank-you to Dana Lee" in text
    assert "“Data teams want SQL”" in text
    assert text.count("── DM from Tiara") == 1, text
    assert "Last call" not in text
    assert "The clock is now Fri 20 Nov 2026, 12:00 (America/New_York)." in text


async def test_advance_refuses_nonsense_and_says_what_to_type(bot: Bot) -> None:
    notifier = ConsoleNotifier(bot.clock)
    out = io.StringIO()
    before = bot.clock.now()
    adapter = ConsoleAdapter(
        bot, user="alice", stdin=io.StringIO(":advance soon\n"), stdout=out, notifier=notifier
    )
    await adapter.run()
    assert "e.g. :advance 3h, :advance 1d or :advance 2w" in out.getvalue()
    assert bot.clock.now() == before


async def test_dms_for_another_member_wait_until_they_are_speaking(empty_store: Store) -> None:
    clock = FixedClock(START)
    notifier = ConsoleNotifier(clock)
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    script = 'log "Dana Lee" when="today 2pm" notes="private to alice"\n:user bob\n:advance 3h\n'
    out = io.StringIO()
    await ConsoleAdapter(
        app.bot,
        user="alice",
        stdin=io.StringIO(script + ":user alice\n"),
        stdout=out,
        notifier=notifier,
    ).run()
    text = out.getvalue()
    as_bob = text.split("Now talking as 'bob'.")[1]
    before_switch, after_switch = as_bob.split("Now talking as 'alice'.")
    assert "private to alice" not in before_switch
    assert "Dana Lee" not in before_switch
    assert "DMs waiting for others: alice (1)" in before_switch
    assert "Time for your thank-you to Dana Lee" in after_switch


# -- thank-you buttons ---------------------------------------------------------------


async def test_thank_you_sent_button_records_it_and_cancels_the_last_call(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm" notes="Ask about the SQL course"')
    (dm,) = await world.at(day(18, 16))
    assert dm.title == "Time for your thank-you to Dana Lee"
    done = await world.alice.click("Done", dm)
    assert "thank-you to Dana Lee is recorded" in done.text
    shown = await world.alice.ok("show M1")
    assert "thank-you sent" in everything(shown)
    assert await world.at(day(19, 13)) == []
    assert (await world.statuses())["thanks_last:m1"] == "cancelled"


async def test_snoozing_the_thank_you_leaves_it_to_the_last_call(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    (dm,) = await world.at(day(18, 16))
    reply = await world.alice.click("Snooze to tomorrow", dm)
    # Tomorrow at the nudge time (09:00) is the morning of the last call: it covers it.
    assert reply.text == (
        "Your last call for this thank-you comes Thu 19 Nov 2026, 11:00; I'll remind you then."
    )
    assert [m.title for m in await world.at(day(19, 11))] == [
        "Last call: thank Dana Lee by Thu 19 Nov 2026, 14:00"
    ]
    assert await world.at(day(19, 13, 30)) == []


async def test_snooze_stops_at_the_last_useful_moment(world: World) -> None:
    await world.alice.ok('log "Sam Ortiz" when="Nov 20 2pm"')
    (prep,) = await world.at(day(19, 9))
    reply = await world.alice.click("Snooze 1 week", prep)
    assert reply.text.startswith("Prepare for Sam Ortiz. That's the last useful moment")
    assert reply.title == "Snoozed N1 until Fri 20 Nov 2026, 13:00"


async def test_stop_these_silences_one_kind_and_settings_bring_it_back(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    await world.alice.ok('request "Kim Park" org=Beta')
    (dm,) = await world.at(day(18, 16))
    stopped = await world.alice.click("Stop these", dm)
    assert stopped.title == "No more thank-you reminders"
    assert await world.at(day(19, 11)) == []  # the last call is skipped
    settings = await world.alice.ok("settings")
    assert "thank-you reminders" in everything(settings)
    await world.alice.ok("settings nudges=on")
    follow_up = await world.at(day(18 + 14, 9) if False else datetime(2026, 12, 2, 9, tzinfo=UTC))
    assert [m.title for m in follow_up] == ["Follow up with Kim Park"]


async def test_nudges_off_sends_nothing_and_on_resumes(world: World) -> None:
    await world.alice.ok('request "Kim Park"')
    await world.alice.ok("settings nudges=off")
    assert await world.at(datetime(2026, 12, 2, 9, tzinfo=UTC)) == []
    listing = await world.alice.ok("followups")
    assert "Reminders are off" in listing.text
    await world.alice.ok("settings nudges=on")
    (last,) = await world.at(datetime(2026, 12, 16, 9, tzinfo=UTC))
    assert last.title == "Last follow-up with Kim Park"


# -- one message per member; catching up ----------------------------------------------


async def test_several_due_nudges_arrive_as_one_message(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm" referrals="Sam Ortiz, Noor Haddad"')
    await world.alice.ok('log "Eve Adams" when="today 1pm"')
    dms = await world.at(day(19, 9))
    assert len(dms) == 1
    (dm,) = dms
    assert dm.title == "3 things for you today"
    assert "Reach out to Sam Ortiz" in dm.text and "Reach out to Noor Haddad" in dm.text
    assert "Time for your thank-you to Dana Lee" in dm.text
    assert len(world.notifier.sent) == 1
    assert button_named(dm, "Done (N1)") and button_named(dm, "Snooze N2")


async def test_after_a_long_outage_stale_reminders_are_dropped_not_flooded(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    await world.alice.ok('request "Kim Park"')
    await world.alice.ok('log "Sam Ortiz" when="in 2 days 10am"')
    # The bot was down for a week: the thank-you and prep reminders are pointless now,
    # the how-did-it-go check-in still makes sense.
    dms = await world.at(datetime(2026, 11, 25, 10, tzinfo=UTC))
    assert [m.title for m in dms] == ["How did it go with Sam Ortiz?"]
    statuses = await world.statuses()
    assert statuses["thanks:m1"] == "expired"
    assert statuses["prep:m2:2026-11-20"] == "expired"


# -- failures ------------------------------------------------------------------------


async def test_a_transient_failure_is_retried_later_and_sent_once(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    world.notifier.failures["alice"] = DeliveryError("rate_limited")
    assert await world.at(day(18, 16)) == []
    del world.notifier.failures["alice"]
    assert await world.at(day(18, 16, 0) + timedelta(seconds=30)) == []  # backoff not over
    (dm,) = await world.at(day(18, 16, 1))
    assert dm.title == "Time for your thank-you to Dana Lee"
    assert await world.at(day(18, 17)) == []


async def test_dms_closed_marks_the_member_unreachable_until_they_talk_again(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    await world.bob.ok('log "Kim Park" when="today 2pm"')
    world.notifier.failures["alice"] = DeliveryError("dms_closed", permanent=True)
    await world.at(day(18, 16))
    assert [m.title for m in world.notifier.dms_to("bob")] == [
        "Time for your thank-you to Kim Park"
    ]
    del world.notifier.failures["alice"]
    assert await world.at(day(19, 11)) == []  # unreachable: not retried, not sent
    async with world.bot.store.transaction() as session:
        row = (
            await session.execute(select(MemberRow).where(MemberRow.user_id == "alice"))
        ).scalar_one()
        assert row.unreachable_at == day(18, 16)
    await world.alice.ok('request "Noor Haddad"')  # alice is back (on 19 Nov)
    (dm,) = await world.at(datetime(2026, 12, 3, 9, tzinfo=UTC))
    assert dm.title == "Follow up with Noor Haddad"


# -- meetings: prep, how did it go, referrals ---------------------------------------------


async def test_upcoming_meeting_gets_prep_the_day_before_and_a_log_it_button(world: World) -> None:
    await world.alice.ok('log "Sam Ortiz" org=Acme role="Data lead" when="Nov 20 2pm" venue=video')
    (prep,) = await world.at(day(19, 9))
    assert prep.title == "Prepare for Sam Ortiz"
    assert "Fri 20 Nov 2026, 14:00" in prep.text
    assert "T: " in prep.text and "A: " in prep.text
    (check_in,) = await world.at(day(20, 15))
    assert check_in.title == "How did it go with Sam Ortiz?"
    button = button_named(check_in, "Log how it went")
    assert button.opens_form and dict(button.args) == {"id": "M1", "contact": "Sam Ortiz"}
    filled = await world.bot.dispatch(
        button.invocation(world.alice.ref).with_args({"notes": "Learn dbt", "referrals": "Ann Wu"})
    )
    assert filled.title == "Updated M1: your conversation with Sam Ortiz"
    meetings = await world.alice.ok("meetings")
    assert meetings.text.count("Sam Ortiz") == 1  # filled in, not a second meeting
    dms = await world.at(day(20, 17))
    assert [m.title for m in dms] == ["Time for your thank-you to Sam Ortiz"]
    assert "Learn dbt" in dms[0].text


async def test_referral_next_morning_then_tell_the_referrer_after_meeting_them(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Sam Ortiz, Ann Wu"')
    await world.alice.ok("thanks M1")
    await world.alice.ok('request "Ann Wu"')  # already reached out to Ann
    (dm,) = await world.at(day(19, 9))
    assert dm.title == "Reach out to Sam Ortiz — Dana Lee suggested them"
    await world.alice.click("I sent a request", dm)
    await world.alice.ok('log "Sam Ortiz" when="Nov 25 2pm"')
    world.clock.set(day(25, 15))
    filled = await world.bot.dispatch(
        Invocation(
            ("log",), {"id": "M2", "contact": "Sam Ortiz", "notes": "Great"}, world.alice.ref
        )
    )
    assert not filled.error, filled.text
    dms = await world.at(day(26, 9))
    assert any("Tell Dana Lee how it went" in everything(m) for m in dms)
    assert not any("Reach out to Ann Wu" in everything(m) for m in world.notifier.sent_messages())


async def test_keep_in_touch_every_three_months_and_an_interaction_resets_it(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am"')
    await world.alice.ok("thanks M1")
    listing = await world.alice.ok("followups")
    assert "Thu 18 Feb 2027, 09:00 · Check in with Dana Lee" in listing.text
    world.clock.set(datetime(2027, 1, 10, 12, tzinfo=UTC))
    await world.alice.ok('log "Dana Lee" when="today 11am"')  # a call in January
    await world.alice.ok("thanks M2")
    feb = await world.at(datetime(2027, 2, 18, 10, tzinfo=UTC))
    assert not any("Check in with Dana Lee" in everything(m) for m in feb)
    april = await world.at(datetime(2027, 4, 10, 9, tzinfo=UTC))
    assert [m.title for m in april] == ["Check in with Dana Lee"]


async def test_keep_in_touch_sent_together_each_plans_its_next_with_its_own_id(
    world: World,
) -> None:
    """A tick plans the next keep-in-touch of a whole batch at once: each contact gets its
    own, with an id no other nudge of the member has."""
    for who, names in ((world.alice, ("Dana Lee", "Sam Ortiz")), (world.bob, ("Kim Park",))):
        for n, name in enumerate(names, start=1):
            await who.ok(f'log "{name}" when="today 10am"')
            await who.ok(f"thanks M{n}")
    world.clock.set(datetime(2027, 2, 18, 10, tzinfo=UTC))
    world.notifier.clear()
    await world.bot.tick()
    (dm,) = world.notifier.dms_to("alice")
    assert "Check in with Dana Lee" in everything(dm) and "Check in with Sam Ortiz" in dm.text
    (bob_dm,) = world.notifier.dms_to("bob")
    assert "Check in with Kim Park" in everything(bob_dm)
    await world.alice.ok('request "Lee Chan"')  # new nudges after the batch's own
    listing = (await world.alice.ok("followups")).text
    for name in ("Dana Lee", "Sam Ortiz"):
        assert f"Tue 18 May 2027, 09:00 · Check in with {name}" in listing
    ids = listed_ids(listing)
    assert len(ids) >= 4 and len(set(ids)) == len(ids)
    bob = (await world.bob.ok("followups")).text
    assert "Tue 18 May 2027, 09:00 · Check in with Kim Park" in bob


async def test_landed_lists_everyone_who_helped_and_reminds_to_tell_them(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Sam Ortiz"')
    await world.alice.ok('log "Sam Ortiz" when="today 11am"')
    await world.alice.ok('request "Kim Park"')  # asked, never met: not a helper
    reply = await world.alice.ok('landed org=Acme role="Data analyst"')
    assert reply.title == "Congratulations: Data analyst at Acme"
    assert "• Dana Lee\n• Sam Ortiz" in reply.text and "Kim Park" not in reply.text
    dms = await world.at(day(19, 9))
    assert any("Data analyst at Acme" in everything(m) for m in dms)


async def test_weekly_plan_is_opt_in_and_arrives_monday_at_nudge_time(world: World) -> None:
    await world.alice.ok('log "Sam Ortiz" when="Nov 25 2pm"')
    assert not [m for m in await world.at(day(23, 9)) if m.title == "Your week"]
    await world.alice.ok("settings weekly_plan=on nudge_time=8:30")
    (dm,) = await world.at(day(30, 8, 30))
    assert "Your week" in dm.text
    (dm,) = await world.at(datetime(2026, 12, 7, 8, 30, tzinfo=UTC))
    assert dm.title == "Your week"


async def test_deleting_a_meeting_or_request_deletes_its_reminders(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    await world.alice.ok('request "Kim Park"')
    for item in ("M1", "R1"):
        await world.alice.ok(f"delete {item}")
        await world.alice.click("Delete")
    assert await world.at(datetime(2027, 3, 1, 9, tzinfo=UTC)) == []
    assert "pending" not in (await world.statuses()).values()


async def test_setting_up_a_meeting_with_a_referral_cancels_the_reach_out_reminder(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Sam Ortiz"')
    await world.alice.ok('log "Sam Ortiz" when="Nov 27 2pm"')
    dms = await world.at(day(19, 9))
    assert not any("Reach out to Sam Ortiz" in everything(m) for m in dms)


async def test_reminders_about_a_row_added_in_the_same_transaction_are_found_in_memory(
    world: World,
) -> None:
    """A contact added in this transaction has no reminders in the database, so the planner
    doesn't query for them; the ones it planned a moment ago must still be found."""
    async with world.bot.store.unit() as uow:
        member = await uow.members.ensure("test", "cohort", "alice", now=START)
        contact = Contact(
            workspace_id=member.workspace_id,
            member_id=member.id,
            name="Ann Wu",
            name_key=name_key("Ann Wu"),
            created_at=START,
            updated_at=START,
        )
        uow.add(contact)
        await uow.flush()
        planner = Planner(uow, member, START, "UTC")
        await planner.referral_received(contact)  # reach out to Ann tomorrow
        await planner.touch(contact, START, met=True)  # ... but they just met
        await planner.touch(contact, START, met=True)  # said twice: still one keep-in-touch
    async with world.bot.store.transaction() as session:
        rows = (await session.execute(select(Nudge))).scalars().all()
        assert sorted((n.kind, n.status) for n in rows) == [
            ("keep_in_touch", "pending"),
            ("referral", "cancelled"),
        ]


# -- commands ------------------------------------------------------------------------


async def test_followups_lists_what_is_coming_with_buttons(world: World) -> None:
    await world.alice.ok('request "Kim Park"')
    listing = await world.alice.ok("followups")
    assert "Wed 2 Dec 2026, 09:00 · Follow up with Kim Park" in listing.text
    assert "Wed 16 Dec 2026, 09:00 · Last follow-up with Kim Park" in listing.text
    snoozed = await world.alice.ok('snooze N1 when="Dec 5 10am"')
    assert snoozed.title == "Snoozed N1 until Sat 5 Dec 2026, 10:00"
    assert await world.at(datetime(2026, 12, 2, 9, tzinfo=UTC)) == []
    (dm,) = await world.at(datetime(2026, 12, 5, 10, tzinfo=UTC))
    assert dm.title == "Follow up with Kim Park"


def listed_ids(listing: str) -> list[int]:
    """The reminder numbers of a followups listing's lines ("• N3 · ...")."""
    return sorted(int(n) for n in re.findall(r"^• N(\d+) ·", listing, re.MULTILINE))


async def test_reminders_planned_together_are_numbered_one_after_another_per_member(
    world: World,
) -> None:
    """A command planning several reminders numbers them in one go: no gaps, no repeats,
    and each member counts from N1."""
    await world.alice.ok('log "Dana Lee" when="Nov 25 2pm"')  # prep, how-did-it-go, thanks
    await world.bob.ok('request "Kim Park"')
    await world.alice.ok('request "Kim Park"')  # three follow-up steps
    alice = await world.alice.ok("followups")
    bob = await world.bob.ok("followups")
    assert listed_ids(alice.text) == [1, 2, 3, 4, 5, 6]
    assert listed_ids(bob.text) == [1, 2, 3]
    # The example in the listing names one of them.
    assert 'Move one: /tiara snooze N1 when="Monday 9am"' in bob.text
    assert "N1 · Tue 24 Nov 2026, 09:00 · Prepare for Dana Lee" in alice.text
    assert "Follow up with Kim Park" in bob.text


async def test_a_reply_cancels_the_requests_follow_ups(world: World) -> None:
    await world.alice.ok('request "Kim Park"')
    await world.alice.ok('reply "Kim Park" outcome=declined')
    assert await world.at(datetime(2027, 1, 30, 9, tzinfo=UTC)) == []
    listing = await world.alice.ok("followups")
    assert listing.title == "No reminders right now"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snooze N99", "You have no reminder N99"),
        ("snooze X1", "is not a reminder id"),
        ('settings quiet="late"', "quiet=21-8"),
        ("settings nudge_time=25:00", "nudge_time=9:00"),
        ("done", "needs id="),
    ],
)
async def test_bad_reminder_input_says_what_to_type(world: World, text: str, expected: str) -> None:
    message = await world.alice(text)
    assert message.error and expected in message.text


async def test_quiet_hours_setting_moves_pending_nudges(world: World) -> None:
    world.clock.set(day(18, 19))
    await world.alice.ok('log "Dana Lee" when="today 6pm"')  # first nudge 20:00 UTC
    await world.alice.ok("settings quiet=19-7")
    listing = await world.alice.ok("followups")
    assert "Thu 19 Nov 2026, 07:00 · Time for your thank-you" in listing.text


async def test_nobody_sees_another_members_reminders(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm" notes="alice only"')
    listing = await world.bob.ok("followups")
    assert "Dana Lee" not in everything(listing)
    refused = await world.bob("done N1")
    assert refused.error and "no reminder N1" in refused.text
    await world.at(day(18, 16))
    assert world.notifier.dms_to("bob") == []


# -- the scheduler -------------------------------------------------------------------


async def test_scheduler_runs_one_coalescing_tick_job(world: World) -> None:
    scheduler = TickScheduler(world.bot.ticker, interval_seconds=30)
    job = scheduler.scheduler.get_job(TICK_JOB)
    assert job.coalesce is True and job.max_instances == 1
    assert job.trigger.interval == timedelta(seconds=30)
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    world.clock.set(day(18, 16))
    await scheduler.run_tick()
    assert [m.title for m in world.notifier.dms_to("alice")] == [
        "Time for your thank-you to Dana Lee"
    ]


async def test_a_failing_tick_is_logged_without_data_and_does_not_stop_the_scheduler(
    caplog: pytest.LogCaptureFixture,
) -> None:

    broken = Store("sqlite+aiosqlite://")  # never migrated: there is no nudges table
    bot = build_bot(
        store=broken, clock=FixedClock(START), registry=registry, notifier=RecordingNotifier()
    )
    scheduler = TickScheduler(bot.ticker, interval_seconds=30)
    await scheduler.run_tick()  # does not raise: the next interval simply tries again
    assert "tick failed with OperationalError" in caplog.text
    assert "nudges" not in caplog.text  # the error's text (SQL, parameters) is not logged
    await broken.close()


class GatedNotifier(RecordingNotifier):
    """Holds each DM until ``gate`` opens; ``sending`` is set once a DM is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.sending = asyncio.Event()

    async def send_dm(self, user: UserRef, message: Message) -> None:
        self.sending.set()
        await self.gate.wait()
        await super().send_dm(user, message)


async def test_stopping_records_the_send_under_way_starts_no_more_and_frees_the_rest(
    empty_store: Store, clock: FixedClock
) -> None:
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    notifier = GatedNotifier()
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    for name in ("alice", "bob", "carol"):
        await Member(app.bot, name)('log "Dana Lee" when="today 2pm"')
    clock.set(day(18, 16))
    assert app.bot.ticker.runners is not None
    app.bot.ticker.runners.sender.concurrency = 1  # one DM at a time: two wait their turn
    # The first run is now; an hour's interval (and misfire grace) leaves no second run
    # and no missed first one, however slow the machine.
    scheduler = TickScheduler(app.bot.ticker, interval_seconds=3600)
    scheduler.start()
    await asyncio.wait_for(notifier.sending.wait(), 60)
    stopping = asyncio.ensure_future(scheduler.stop(grace=60))
    for _ in range(20):  # loop turns, not wall time: stop is parked on the tick at once
        await asyncio.sleep(0)
    assert not stopping.done()  # it waits for the send under way
    notifier.gate.set()
    await stopping
    assert len(notifier.sent_messages()) == 1  # the one under way, and no more
    async with empty_store.transaction() as session:
        rows = (await session.execute(select(Nudge))).scalars().all()
    due = [n for n in rows if n.due_at <= clock.now()]
    assert sorted(n.status for n in due) == ["pending", "pending", "sent"]
    assert all(n.claim_token is None and n.lease_until is None for n in rows)
    # Another process sends the other two at once, without waiting for a lease to end.
    other = RecordingNotifier()
    second = await build_app(settings, clock=clock, store=empty_store, notifier=other)
    await second.bot.tick()
    sent_to = sorted(s.to.user for s in other.sent if isinstance(s.to, UserRef))
    first = "alice" if notifier.dms_to("alice") else "bob" if notifier.dms_to("bob") else "carol"
    assert sent_to == sorted({"alice", "bob", "carol"} - {first})


class BrokenJobStore(MemoryJobStore):  # type: ignore[misc]
    """A job store that can't be read: APScheduler warns about it on every pass."""

    def get_due_jobs(self, now: datetime) -> list[object]:
        raise RuntimeError("job store unreachable")


async def test_a_tick_outlasting_the_interval_skips_the_next_run_without_a_warning(
    empty_store: Store, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A wave of reminders can take longer than the interval. APScheduler then skips the
    run that came due (max_instances=1), which is the design: logged at DEBUG, not as a
    warning. Its other warnings still are warnings."""
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    notifier = GatedNotifier()
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    await Member(app.bot, "alice")('log "Dana Lee" when="today 2pm"')
    clock.set(day(18, 16))
    caplog.set_level(logging.DEBUG, logger="apscheduler")  # after build_app sets WARNING
    scheduler = TickScheduler(app.bot.ticker, interval_seconds=3600)
    skipped = asyncio.Event()
    scheduler.scheduler.add_listener(lambda event: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    scheduler.scheduler.add_jobstore(BrokenJobStore(), "broken")
    scheduler.start()
    try:
        await asyncio.wait_for(notifier.sending.wait(), 60)  # the first tick is sending
        # The next run comes due while the first is still under way.
        scheduler.scheduler.modify_job(TICK_JOB, next_run_time=datetime.now(UTC))
        await asyncio.wait_for(skipped.wait(), 60)
    finally:
        notifier.gate.set()
        await scheduler.stop(grace=60)
    assert [m.title for m in notifier.dms_to("alice")] == ["Time for your thank-you to Dana Lee"]
    from_apscheduler = [r for r in caplog.records if r.name.startswith("apscheduler")]
    skips = [r for r in from_apscheduler if "maximum number of running" in r.getMessage()]
    assert skips, "the skipped run is still logged"
    assert {r.levelname for r in skips} == {"DEBUG"}
    assert any(
        r.levelname == "WARNING" and "Error getting due jobs" in r.getMessage()
        for r in from_apscheduler
    )


# -- claims and leases ---------------------------------------------------------------


class SlowNotifier(RecordingNotifier):
    """Each DM takes six minutes (more than a lease); ``during`` runs inside a send."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self.clock = clock
        self.during: list[Callable[[], Awaitable[object]]] = []

    async def send_dm(self, user: UserRef, message: Message) -> None:
        if self.during:
            await self.during.pop(0)()
        await super().send_dm(user, message)
        self.clock.advance(timedelta(minutes=6))


async def test_each_batch_gets_a_fresh_lease_so_a_slow_tick_is_never_doubled(
    empty_store: Store, clock: FixedClock
) -> None:
    from bot.nudges.deliver import NudgeSender

    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store)
    for name in ("alice", "bob"):
        await Member(app.bot, name).ok('log "Dana Lee" when="today 2pm"')
    clock.set(day(18, 16))
    slow = SlowNotifier(clock)
    other = RecordingNotifier()
    lease = timedelta(minutes=5)
    first = NudgeSender(
        store=empty_store,
        notifier=slow,
        clock=clock,
        default_timezone="UTC",
        batch_size=1,
        lease=lease,
    )
    second = NudgeSender(
        store=empty_store, notifier=other, clock=clock, default_timezone="UTC", lease=lease
    )
    # While the first worker sends its second batch (claimed 6 minutes into its tick), a
    # second worker ticks: that batch's lease must still hold.
    slow.during = [lambda: asyncio.sleep(0), second.tick]
    report = await first.tick()
    assert report.sent == 2 and report.lost_lease == 0
    assert other.sent == []
    assert sorted(s.to.user for s in slow.sent if isinstance(s.to, UserRef)) == ["alice", "bob"]


async def test_a_meeting_moved_while_its_prep_is_being_sent_gets_prep_for_the_new_time(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.alice.ok('log "Sam Ortiz" when="Nov 20 2pm"')
    world.clock.set(day(19, 9))
    moved: list[Message] = []

    async def move_meeting() -> None:
        moved.append(await world.alice.ok('edit M1 when="Nov 24 3pm"'))

    slow = SlowNotifier(world.clock)
    slow.during = [move_meeting]
    assert world.bot.ticker.runners is not None
    world.bot.ticker.runners.sender.notifier = slow
    report = await world.bot.tick()
    assert report.changed == 1 and report.lost_lease == 0
    assert "raise TIARA_NUDGE_LEASE_SECONDS" not in caplog.text
    world.bot.ticker.runners.sender.notifier = world.notifier
    (prep,) = await world.at(day(23, 9))
    assert prep.title == "Prepare for Sam Ortiz"
    assert "Tue 24 Nov 2026, 15:00" in prep.text


# -- fixes from review ---------------------------------------------------------------


async def test_a_missed_weekly_plan_does_not_end_the_weekly_plans(world: World) -> None:
    await world.alice.ok("settings weekly_plan=on")
    await world.alice.ok("settings nudges=off")
    assert await world.at(day(23, 9)) == []  # Monday, reminders off: skipped
    await world.alice.ok("settings nudges=on")
    assert [m.title for m in await world.at(day(30, 9))] == ["Your week"]


async def test_an_upcoming_meeting_that_happens_leads_to_telling_the_referrer(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am" referrals="Sam Ortiz"')
    await world.alice.ok("thanks M1")
    await world.alice.ok('log "Sam Ortiz" when="Nov 20 2pm"')
    await world.at(day(20, 15))  # "how did it go?" goes out; she never answers it
    dms = await world.at(day(21, 9))
    assert any("Tell Dana Lee how it went" in everything(m) for m in dms)


async def test_a_snoozed_keep_in_touch_stays_snoozed_when_settings_change(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am"')
    await world.alice.ok("thanks M1")
    listing = await world.alice.ok("followups")
    (line,) = [x for x in listing.text.splitlines() if "Check in with Dana Lee" in x]
    nudge_id = line.split(" · ")[0].removeprefix("• ")
    await world.alice.ok(f'snooze {nudge_id} when="March 10 2027 9am"')
    await world.alice.ok("settings quiet=22-7")
    after = await world.alice.ok("followups")
    assert "Wed 10 Mar 2027, 09:00 · Check in with Dana Lee" in after.text


async def test_a_failed_first_command_still_makes_an_unreachable_member_reachable(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    world.notifier.failures["alice"] = DeliveryError("dms_closed", permanent=True)
    await world.at(day(18, 16))
    del world.notifier.failures["alice"]
    assert (await world.alice("snooze N77")).error  # a typo, but she is back
    (dm,) = await world.at(day(19, 11))
    assert dm.title.startswith("Last call")


async def test_followups_forgets_sent_reminders_once_they_are_acted_on(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 2pm"')
    await world.alice.ok('request "Kim Park"')
    await world.at(day(18, 16))
    await world.at(datetime(2026, 12, 2, 9, tzinfo=UTC))
    waiting = await world.alice.ok("followups")
    assert "Sent, waiting for you" in waiting.text
    await world.alice.ok("thanks M1")
    await world.alice.ok('reply "Kim Park" outcome=scheduled')
    after = await world.alice.ok("followups")
    assert "Sent, waiting for you" not in after.text


async def test_moving_a_held_meeting_into_the_future_drops_its_keep_in_touch(
    world: World,
) -> None:
    await world.alice.ok('log "Dana Lee" when="today 10am"')
    await world.alice.ok("thanks M1")
    await world.alice.ok('edit M1 when="Nov 25 3pm"')  # it was logged on the wrong day
    listing = await world.alice.ok("followups")
    assert "Check in with Dana Lee" not in listing.text
    assert "Prepare for Dana Lee" in listing.text
    shown = await world.alice.ok("show M1")
    assert "thank-you sent" not in everything(shown)


def test_workspace_cli_sets_the_policy_members_then_get(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    env = {**os.environ, "TIARA_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "COLUMNS": "200"}

    def tiara(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "adapters.cli", *args],
            env=env,
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    missing = tiara("workspace", "show", "-w", "cohort")
    assert missing.returncode == 1 and "No workspace console/cohort yet" in missing.stderr
    bad = tiara("workspace", "set", "-w", "cohort", "--holidays", "Dec 25")
    assert bad.returncode == 2 and "Write each day as" in " ".join(bad.stderr.split())
    done = tiara("workspace", "set", "-w", "cohort", "--policy", "3b7", "--holidays", "2026-12-25")
    assert done.returncode == 0, done.stderr
    assert "Follow-up policy: 3b7" in done.stdout and "Holidays: 2026-12-25" in done.stdout
    session = tiara("console", "-u", "alice", "-w", "cohort", stdin='request "Dana Lee"\n')
    assert "to write to a second person at the same organization" in session.stdout
