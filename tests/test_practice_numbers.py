"""Issue 19: round numbers count scheduled rounds only, and an answered check-in is no
longer waiting in `followups` (by button or typed, whatever the answer)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.values import Message, UserRef
from storage.models import Member as MemberRow
from storage.models import Nudge, PracticeRound
from tests.conftest import Member, everything
from tests.test_practice import (
    CHECKIN,
    FIRST_ROUND,
    REMINDER,
    Cohort,
    cohort,
    dms,
    plans,
    posts,
)

__all__ = ["cohort"]

CHECKIN_AT = "Thu 26 Nov 2026, 10:00"  # CHECKIN, as the member (UTC) reads it
REMINDER_AT = "Sat 28 Nov 2026, 10:00"  # REMINDER


def section(reply: Message, heading: str) -> str:
    """The lines of one section of `followups` ("Sent, waiting for you", "Coming up")."""
    for part in reply.text.split("\n\n"):
        if part.startswith(heading + "\n"):
            return part
    return ""


async def waiting(member: Member) -> str:
    return section(await member.ok("followups"), "Sent, waiting for you")


async def coming(member: Member) -> str:
    return section(await member.ok("followups"), "Coming up")


async def pair_on_demand(cohort: Cohort, *names: str) -> list[Message]:
    """Two by two, each second member's `practice now` pairs them with the first; the
    replies of the pairing."""
    replies = []
    for first, second in zip(names[::2], names[1::2], strict=True):
        assert (await cohort.member(first).ok("practice now")).title == "You're first in line"
        replies.append(await cohort.member(second).ok("practice now"))
        assert replies[-1].title == f"You're practising with {first}"
    return replies


async def checkin_of(cohort: Cohort, user: str) -> Message:
    """Move to the check-in and return the one ``user`` gets."""
    (message,) = dms(await cohort.at(CHECKIN), user)
    assert (message.title or "").startswith("Did you meet ")
    return message


# -- numbers -------------------------------------------------------------------------


async def test_first_scheduled_round_after_practice_now_pairings_is_round_1(
    cohort: Cohort,
) -> None:
    matched = await pair_on_demand(cohort, "cal", "dee", "eve", "fay")
    await cohort.join("ann", "ben")
    await cohort.set_workspace(practice_channel="C-practice")
    on_demand = await cohort.at(FIRST_ROUND - timedelta(days=4))
    sent = await cohort.at(FIRST_ROUND)
    (post,) = posts(sent)
    assert post.title == "Practice round 1 is on"
    # What the pairs on demand saw named no round.
    assert all("round" not in reply.text.casefold() for reply in matched)
    titles = sorted((plan.title or "").split(":")[0] for _, plan in plans(on_demand))
    assert titles == ["On-demand practice", "On-demand practice"]
    assert all("this round" not in plan.text for _, plan in plans(on_demand))
    ((members, plan),) = plans(sent)
    assert members == {"ann", "ben"} and plan.title == "Practice round 1: ann and ben"
    ann = cohort.member("ann")
    assert "Round 1" in everything(await ann.ok("practice status"))
    assert "Round 1 ends" in (await checkin_of(cohort, "ann")).text
    # More pairings on demand in between do not move the count either.
    await pair_on_demand(cohort, "cal", "eve")
    (post,) = posts(await cohort.at(FIRST_ROUND + timedelta(weeks=1)))
    assert post.title == "Practice round 2 is on"
    history = (await cohort.member("cal").ok("practice history")).text
    assert history.count("On-demand practice") == 2 and "Round" not in history


async def test_on_demand_pairings_are_stored_without_a_number(cohort: Cohort) -> None:
    await pair_on_demand(cohort, "ann", "ben")
    await cohort.join("ann", "ben", "cal", "dee")
    await cohort.at(FIRST_ROUND)
    async with cohort.store.transaction() as session:
        rows = (
            await session.execute(
                select(PracticeRound.on_demand, PracticeRound.number).order_by(PracticeRound.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [(True, 0), (False, 1)]
    # Meeting on demand still counts as having met: ann and ben get new partners.
    assert {"ann", "ben"} not in (await cohort.rounds())[-1]


async def test_a_typed_answer_is_about_the_round_on_not_a_later_pairing_on_demand(
    cohort: Cohort,
) -> None:
    ann, _ = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    await pair_on_demand(cohort, "cal", "ann")  # ann's latest seat is now on demand
    await checkin_of(cohort, "ann")
    reply = await ann.ok("practice checkin not_yet")
    assert reply.title == "Round 1: not yet"
    assert await waiting(ann) == ""


# -- answered check-ins --------------------------------------------------------------


async def test_typed_not_yet_leaves_only_the_coming_reminder_in_followups(
    cohort: Cohort,
) -> None:
    ann, _ = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    await checkin_of(cohort, "ann")
    assert CHECKIN_AT in await waiting(ann)
    reply = await ann.ok("practice checkin not_yet")
    assert reply.title == "Round 1: not yet"
    assert await waiting(ann) == ""
    assert REMINDER_AT in await coming(ann)
    assert f"I'll check in again {REMINDER_AT}." in reply.text  # the one it lists
    # The reminder still comes, and answered in turn it is no longer waiting either.
    (reminder,) = dms(await cohort.at(REMINDER), "ann")
    assert REMINDER_AT in await waiting(ann)
    again = await ann.click("Not yet", reminder)
    assert again.title == "Round 1: not yet" and "check in again" not in again.text
    assert await waiting(ann) == "" and await coming(ann) == ""


async def test_not_yet_by_button_is_no_longer_waiting(cohort: Cohort) -> None:
    ann, _ = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    checkin = await checkin_of(cohort, "ann")
    assert (await ann.click("Not yet", checkin)).title == "Round 1: not yet"
    assert await waiting(ann) == ""
    assert REMINDER_AT in await coming(ann)


async def test_not_yet_before_the_checkin_keeps_it_coming(cohort: Cohort) -> None:
    ann, _ = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    reply = await ann.ok("practice checkin not_yet")
    assert f"I'll check in again {CHECKIN_AT}." in reply.text
    planned = await coming(ann)
    assert CHECKIN_AT in planned and REMINDER_AT in planned
    assert dms(await cohort.at(CHECKIN), "ann")  # asked again, as promised


async def test_yes_closes_the_checkin_of_the_whole_pair(cohort: Cohort) -> None:
    ann, ben = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    checkin = await checkin_of(cohort, "ann")
    assert (await ann.click("Yes, we met", checkin)).title == "Round 1: you met"
    for member in (ann, ben):
        assert await waiting(member) == "" and await coming(member) == ""
    assert [s for s in await cohort.at(REMINDER) if isinstance(s.to, UserRef)] == []


async def test_cant_typed_closes_own_checkin_and_spares_the_partner_the_reminder(
    cohort: Cohort,
) -> None:
    ann, ben = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    await checkin_of(cohort, "ann")
    assert (await ann.ok("practice checkin cant")).title == "Round 1: can't this round"
    assert await waiting(ann) == "" and await coming(ann) == ""
    # ben has not answered: his check-in still waits for him, without a reminder after it.
    assert CHECKIN_AT in await waiting(ben) and await coming(ben) == ""


async def test_an_answered_checkin_still_counts_as_asked(cohort: Cohort) -> None:
    """Closing the check-in must not make the round look unasked (or unanswered)."""
    ann, _ = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    await checkin_of(cohort, "ann")
    await ann.ok("practice checkin not_yet")
    async with cohort.store.transaction() as session:
        stmt = (
            select(Nudge.kind, Nudge.status)
            .join(MemberRow, MemberRow.id == Nudge.member_id)
            .where(MemberRow.user_id == "ann")
        )
        kinds = {kind: status for kind, status in await session.execute(stmt)}
    assert kinds == {"practice_checkin": "done", "practice_remind": "pending"}
    await cohort.at(FIRST_ROUND + timedelta(weeks=1))
    assert "In: you'll be paired every round" in everything(await ann.ok("practice status"))


async def test_marking_the_checkin_done_is_not_ignoring_it(cohort: Cohort) -> None:
    """`Done` on the check-in in `followups` is a reply: three of them don't pause."""
    ann, ben = await cohort.join("ann", "ben")
    for week in range(3):
        await cohort.at(FIRST_ROUND + timedelta(weeks=week))
        await cohort.at(CHECKIN + timedelta(weeks=week))
        await ann.ok("practice checkin not_yet")
        listed = await ben.ok("followups")
        assert (CHECKIN + timedelta(weeks=week)).strftime("%a %-d %b") in section(
            listed, "Sent, waiting for you"
        )
        done = next(b for b in listed.buttons if b.label.startswith("Done"))
        assert not (await ben.click(done.label, listed)).error
    await cohort.at(FIRST_ROUND + timedelta(weeks=3))
    assert "In: you'll be paired every round" in everything(await ben.ok("practice status"))


async def test_followups_lists_a_practice_checkin_as_one(cohort: Cohort) -> None:
    """Not as "No practice partner this round", which is what a member alone is told."""
    ann, _ = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    assert "Did you meet your practice partner?" in await coming(ann)
    await checkin_of(cohort, "ann")
    listed = await waiting(ann)
    assert "Did you meet your practice partner?" in listed
    assert "No practice partner" not in listed
    assert "Practise with your partner" in await coming(ann)  # the reminder after it


async def test_a_checkin_answer_given_again_or_changed_says_so(cohort: Cohort) -> None:
    ann, ben = await cohort.join("ann", "ben")
    await cohort.at(FIRST_ROUND)
    first = await ben.ok("practice checkin cant")
    assert "Changed" not in first.text
    again = await ben.ok("practice checkin cant")
    assert "I already have that" in again.text and "nothing changed" in again.text
    changed = await ben.ok("practice checkin yes")
    assert "Changed from \"can't this round\" to 'you met'." in changed.text
    # ben's yes counted for ann too; her own answer says what it replaces.
    theirs = await ann.ok("practice checkin not_yet")
    assert "Changed from 'you met' to 'not yet'." in theirs.text
