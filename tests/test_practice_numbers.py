"""Issue 19: round numbers count scheduled rounds only, and an answered check-in is no
longer waiting in `followups` (by button or typed, whatever the answer)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.values import Message
from storage.models import PracticeRound
from tests.conftest import Member, everything
from tests.test_practice import (
    CHECKIN,
    FIRST_ROUND,
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
