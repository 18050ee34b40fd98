"""The tracker's use cases, called as the dashboard or a CLI would: on a Scope, with typed
arguments, returning what happened (no command, no reply), and rolled back on a UserError."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TypeVar

import pytest

from bot.commands.meetings import render_meetings
from bot.core import Bot
from bot.items import ItemRef
from bot.usecases import Scope
from bot.usecases.contacts import (
    ContactDeleted,
    ContactDetails,
    ContactSaved,
    DeleteContactAsked,
    NameToCheck,
    contact_card,
    delete_contact,
    save_contact,
)
from bot.usecases.meetings import (
    MeetingRecorded,
    SameMeeting,
    ThanksAlready,
    ThanksRecorded,
    list_meetings,
    record_meeting,
    record_thanks,
)
from bot.usecases.requests import (
    ReplyAgain,
    ReplyRecorded,
    RequestRecorded,
    RequestWaiting,
    record_reply,
    record_request,
)
from bot.usecases.tracker import KEEP, DeleteAsked, Edits, ItemEdited, delete_item, edit_item
from bot.values import UserError
from storage.enums import RequestOutcome, RequestStatus
from storage.models import Meeting
from tests.conftest import START, Member

pytestmark = pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)

T = TypeVar("T")


@asynccontextmanager
async def scope_of(bot: Bot, user: str = "alice") -> AsyncIterator[Scope]:
    """One transaction for ``user`` at the bot's moment, as a command gets it."""
    async with bot.store.unit() as uow:
        member = await uow.members.ensure("test", "cohort", user, now=START)
        yield Scope(uow, member, bot.clock.now(), "UTC")


async def run(bot: Bot, use: Callable[[Scope], Awaitable[T]]) -> T:
    async with scope_of(bot) as scope:
        return await use(scope)


async def test_a_request_its_reply_and_the_meeting_it_led_to(bot: Bot) -> None:
    sent = await run(
        bot, lambda s: record_request(s, contact="Dana Lee", org="Acme", via="linkedin")
    )
    assert isinstance(sent, RequestRecorded)
    assert (sent.request.seq, sent.created_contact) == (1, True)
    assert sent.follow_up is not None and sent.follow_up.due_at > START

    again = await run(bot, lambda s: record_request(s, contact="Dana Lee"))
    assert isinstance(again, RequestWaiting) and again.waiting.seq == 1  # nothing saved

    replied = await run(
        bot, lambda s: record_reply(s, outcome=RequestOutcome.SCHEDULED, contact="R1")
    )
    assert isinstance(replied, ReplyRecorded)
    assert [r.status for r in replied.requests] == [RequestStatus.REPLIED]
    assert not replied.repeated and replied.early is None and replied.check_back is None
    twice = await run(
        bot, lambda s: record_reply(s, outcome=RequestOutcome.SCHEDULED, contact="Dana Lee")
    )
    assert isinstance(twice, ReplyAgain) and not twice.moved

    logged = await run(
        bot,
        lambda s: record_meeting(
            s,
            contact="Dana Lee",
            when=START - timedelta(hours=2),
            notes="SQL first",
            referrals=["Ann Wu"],
        ),
    )
    assert isinstance(logged, MeetingRecorded)
    assert not logged.upcoming and not logged.filled_in and logged.answered == ()
    assert logged.new_referrals == ("Ann Wu",)
    assert logged.reminds == {"prep", "log_it", "thanks"}

    thanked = await run(bot, lambda s: record_thanks(s, ItemRef(1, "M")))
    assert isinstance(thanked, ThanksRecorded) and thanked.on_time and thanked.before is None
    unchanged = await run(bot, lambda s: record_thanks(s, "Dana Lee"))
    assert isinstance(unchanged, ThanksAlready) and unchanged.at == START


async def test_the_checks_before_saving_return_what_to_ask(bot: Bot) -> None:
    await run(bot, lambda s: record_meeting(s, contact="Erik Berg", when=START))
    close = await run(bot, lambda s: record_meeting(s, contact="Erik", when=START))
    assert close == NameToCheck("contact", "Erik", ("Erik Berg",))
    listed = await run(bot, lambda s: record_meeting(s, contact="Ann", referrals=["Ann", "Erik"]))
    assert listed == NameToCheck("referrals", "Erik", ("Erik Berg",), ("Ann", "Erik"))
    new = await run(bot, lambda s: record_meeting(s, contact="Erik", new=["Erik"]))
    assert isinstance(new, MeetingRecorded) and new.contact.name == "Erik"

    same = await run(
        bot, lambda s: record_meeting(s, contact="Erik Berg", when=START + timedelta(minutes=10))
    )
    assert isinstance(same, SameMeeting) and same.exact and same.meeting.seq == 1
    anyway = await run(
        bot,
        lambda s: record_meeting(
            s, contact="Erik Berg", when=START + timedelta(minutes=10), confirm=True
        ),
    )
    assert isinstance(anyway, MeetingRecorded) and anyway.meeting.seq == 3


async def test_edits_keep_what_they_do_not_name(bot: Bot) -> None:
    await run(
        bot, lambda s: record_meeting(s, contact="Sam", when=START, notes="old", venue="video")
    )
    edited = await run(bot, lambda s: edit_item(s, ItemRef(1, "M"), Edits(notes=None, org="Acme")))
    assert isinstance(edited, ItemEdited)
    assert (edited.changed, edited.cleared, edited.moved) == (("org",), ("notes",), False)
    assert isinstance(edited.item, Meeting)
    assert edited.item.notes is None and edited.item.venue == "video"
    assert edited.edits.when is KEEP
    with pytest.raises(UserError, match="M1 has no via to change"):
        await run(bot, lambda s: edit_item(s, ItemRef(1, "M"), Edits(via="phone")))
    moved = await run(bot, lambda s: edit_item(s, "Sam", Edits(contact="Dana Lee")))
    assert isinstance(moved, ItemEdited) and moved.moved and moved.item.contact.name == "Dana Lee"


async def test_a_user_error_saves_nothing(bot: Bot) -> None:
    await run(bot, lambda s: record_meeting(s, contact="Sam", when=START))
    with pytest.raises(UserError, match="can't be their own referral"):
        await run(bot, lambda s: record_meeting(s, contact="Ann", referrals=["Bo", "Ann"]))
    view = await run(bot, list_meetings)
    assert [m.contact.name for m in view.recent] == ["Sam"]
    with pytest.raises(UserError, match="no contact named 'Bo'"):
        await run(bot, lambda s: contact_card(s, "Bo"))


async def test_contacts_and_deleting(bot: Bot) -> None:
    saved = await run(
        bot, lambda s: save_contact(s, "Dana Lee", details=ContactDetails(email="d@acme.org"))
    )
    assert isinstance(saved, ContactSaved) and saved.created and saved.changed == ("email",)
    await run(bot, lambda s: record_meeting(s, contact="Dana Lee", when=START))
    card = await run(bot, lambda s: contact_card(s, "Dana"))
    assert card.contact.email == "d@acme.org" and card.last_interaction == START
    assert [m.seq for m in card.meetings] == [1]

    asked = await run(bot, lambda s: delete_item(s, ItemRef(1, "M"), confirm=False))
    assert isinstance(asked, DeleteAsked)
    asked_too = await run(bot, lambda s: delete_contact(s, "Dana Lee", confirm=False))
    assert isinstance(asked_too, DeleteContactAsked) and asked_too.meetings == 1
    gone = await run(bot, lambda s: delete_contact(s, "Dana Lee", confirm=True))
    assert gone == ContactDeleted("Dana Lee")
    assert (await run(bot, list_meetings)).empty


async def test_the_dashboard_lists_what_the_meetings_command_does(bot: Bot, alice: Member) -> None:
    await alice.ok('request contact="Dana Lee" org=Acme via=email when="yesterday 3pm"')
    await alice.ok('log contact="Sam Ortiz" when="next Tuesday 10am" venue=video')
    await alice.ok('log contact="Ann Wu" when="today 9am"')
    view = await run(bot, list_meetings)
    assert [len(view.upcoming), len(view.recent), len(view.waiting)] == [1, 1, 1]
    assert render_meetings(view) == await alice.ok("meetings")
