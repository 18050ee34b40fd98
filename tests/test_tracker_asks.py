"""Likely duplicates and near-miss names ask first; repeats say they were recorded already.

START is Wednesday 18 November 2026, 15:00 UTC (the members' timezone).
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FixedClock
from tests.conftest import Member, everything


async def test_logging_after_an_upcoming_meeting_offers_to_add_to_it(
    bob: Member, clock: FixedClock
) -> None:
    await bob.ok('log "Hana Ito" when="today 4pm" venue=video')
    clock.advance(timedelta(hours=3))  # 18:00: the meeting was at 16:00
    asked = await bob.ok('log "Hana Ito" notes="Loves her team" followups="Send my CV"')
    assert "You have M1 with Hana Ito today at 16:00. Add this to M1?" in asked.text
    assert (await bob("show M2")).error  # nothing saved while asking

    added = await bob.click("Add to M1", asked)
    assert added.title == "Updated M1: your conversation with Hana Ito"
    shown = everything(await bob.ok("show M1"))
    assert "Notes: Loves her team" in shown and "Follow-ups: Send my CV" in shown
    assert "When: Wed 18 Nov 2026, 16:00" in shown  # it keeps its time
    assert (await bob("show M2")).error
    # "How did it go?" is answered: no reminder asks about M1 any more.
    assert "How did it go" not in everything(await bob.ok("followups"))


async def test_record_a_new_meeting_keeps_both(bob: Member, clock: FixedClock) -> None:
    await bob.ok('log "Hana Ito" when="today 9am" notes="Coffee chat"')
    asked = await bob.ok('log "Hana Ito" notes="A second call, about the team"')
    assert "Add this to M1?" in asked.text
    logged = await bob.click("Record a new meeting", asked)
    assert logged.title == "Logged M2: your conversation with Hana Ito"
    assert "A second call" in everything(await bob.ok("show M2"))
    assert "Coffee chat" in everything(await bob.ok("show M1"))
    # Another day, and filled in already: a new meeting, without asking.
    clock.advance(timedelta(days=1))
    logged = await bob.ok('log "Hana Ito" notes="Third talk"')
    assert logged.title == "Logged M3: your conversation with Hana Ito"


async def test_a_meeting_at_the_same_time_can_be_added_to_without_retyping(bob: Member) -> None:
    await bob.ok('log "Dana Lee" when="yesterday 3pm" notes="SQL matters"')
    asked = await bob.ok('log "Dana Lee" when="yesterday 3pm" notes="Python too"')
    assert asked.title == "Already recorded?"
    await bob.click("Add to M1", asked)
    notes = everything(await bob.ok("show M1"))
    assert "SQL matters" in notes and "Python too" in notes


async def test_a_button_keeps_the_day_that_was_typed(bob: Member, clock: FixedClock) -> None:
    await bob.ok('log "Dana Lee" when="today 2pm"')
    asked = await bob.ok('log "Dana Lee" when="today 2pm" notes="x"')
    clock.advance(timedelta(days=2))  # clicked two days later: still Wednesday's meeting
    await bob.click("Record a new meeting", asked)
    assert "When: Wed 18 Nov 2026, 14:00" in everything(await bob.ok("show M2"))


async def test_a_new_name_that_starts_a_contacts_name_asks_which(bob: Member) -> None:
    await bob.ok('request "Erik Berg" via=email')
    asked = await bob.ok('log Erik notes="Start with SQL"')
    assert asked.title == "Did you mean Erik Berg?"
    assert (await bob("show M1")).error  # nothing saved while asking

    yes = await bob.click("Yes, Erik Berg", asked)
    assert yes.title == "Logged M1: your conversation with Erik Berg"
    assert "Your request R1 to Erik Berg is marked replied." in yes.text


async def test_no_makes_a_new_contact_and_is_not_asked_again(bob: Member) -> None:
    await bob.ok('log "Erik Berg" when="2 days ago"')
    asked = await bob.ok('log Erik when="1 hour ago"')
    logged = await bob.click("No, a new contact Erik", asked)
    assert logged.title == "Logged M2: your conversation with Erik"
    assert (await bob.ok('log "Erik" when="3 days ago"')).title == (
        "Logged M3: your conversation with Erik"
    )


async def test_a_misspelt_name_asks_too(bob: Member) -> None:
    await bob.ok('request "Hana Ito"')
    asked = await bob.ok('request "Hana Itto" via=linkedin')
    assert asked.title == "Did you mean Hana Ito?"
    assert (await bob("show R2")).error


async def test_edit_to_a_typo_of_another_contact_asks(bob: Member) -> None:
    await bob.ok('request "Dana Lee"')
    await bob.ok('request "Sam Ortiz"')
    asked = await bob.ok('edit R2 contact="Dana L"')
    assert asked.title == "Did you mean Dana Lee?"
    assert "Request to Sam Ortiz" in ((await bob.ok("show R2")).title or "")
    await bob.click("Yes, Dana Lee", asked)
    assert "Request to Dana Lee" in ((await bob.ok("show R2")).title or "")
    assert (await bob('contact "Dana L"')).text.count("Dana Lee")  # no "Dana L" made
    # Close to the name it has: the spelling is being corrected, without asking.
    await bob.ok('request "Ann Wu"')
    moved = await bob.ok('edit R3 contact="Ann Wuu"')
    assert "It's now with Ann Wuu." in moved.text


async def test_a_referral_close_to_a_contact_asks(bob: Member) -> None:
    await bob.ok('request "Erik Berg"')
    asked = await bob.ok('log "Hana Ito" when="1 hour ago" referrals="Erik, Ann Wu"')
    assert asked.title == "Did you mean Erik Berg?"
    logged = await bob.click("Yes, Erik Berg", asked)
    assert logged.text.endswith("suggested them:\n• Erik Berg\n• Ann Wu")


async def test_a_reply_before_the_request_says_where_it_went(
    bob: Member, clock: FixedClock
) -> None:
    await bob.ok('request "Erik Berg" via=email')  # Wednesday 15:00
    clock.advance(timedelta(days=2))
    replied = await bob.ok('reply Erik outcome=scheduled when="tuesday 10am"')
    assert (
        "I recorded the reply at Wed 18 Nov 2026, 15:00, when you sent the request: a reply "
        "can't come before it." in replied.text
    )
    assert '/tiara log contact="Erik Berg" when="tuesday 10am"' in replied.text


async def test_a_thank_you_recorded_twice_says_so(bob: Member, clock: FixedClock) -> None:
    await bob.ok('log "Farah Khan" when="2 hours ago"')
    await bob.ok("thanks Farah")
    clock.advance(timedelta(days=1))
    again = await bob.ok("thanks M1")
    assert again.title == "Thank-you to Farah Khan already recorded"
    assert "You recorded it Wed 18 Nov 2026, 15:00 (M1); nothing changed." in again.text
    assert "well done" not in again.text
    moved = await bob.ok('thanks M1 when="yesterday 14:00"')
    assert "I changed only its time, to Wed 18 Nov 2026, 14:00" in moved.text


async def test_a_reply_recorded_twice_says_so(bob: Member, clock: FixedClock) -> None:
    await bob.ok('request "Jo Park"')
    await bob.ok("reply Jo outcome=scheduled")
    clock.advance(timedelta(hours=4))
    again = await bob.ok("reply Jo outcome=scheduled")
    assert again.title == "R1: Jo Park's reply (scheduled) was already recorded"
    assert "You recorded it Wed 18 Nov 2026, 15:00; nothing changed." in again.text
    by_id = await bob.ok("reply R1 outcome=scheduled")
    assert "was already recorded" in (by_id.title or "")
    assert "Reply: scheduled, Wed 18 Nov 2026, 15:00" in everything(await bob.ok("show R1"))


async def test_a_later_reply_twice_keeps_its_check_back(bob: Member, clock: FixedClock) -> None:
    await bob.ok('request "Jo Park"')
    await bob.ok('reply Jo outcome=later back="in 3 weeks"')
    again = await bob.ok("reply Jo outcome=later")
    assert "nothing changed" in again.text
    assert "check back Wed 9 Dec 2026" in again.text


async def test_edit_shows_the_new_values(bob: Member) -> None:
    await bob.ok('log "Dana Lee" when="yesterday 3pm"')
    edited = await bob.ok('edit M1 when="2026-12-09 10:00" venue=video')
    assert "• when: Wed 9 Dec 2026, 10:00" in edited.text
    assert "• venue: video" in edited.text


async def test_a_meeting_that_came_earlier_than_planned_is_moved_not_doubled(
    bob: Member,
) -> None:
    """M1 was planned for Friday; logged now (Wednesday), it is offered as M1 moved."""
    await bob.ok('log "Erik Berg" when="Nov 20 10am"')
    asked = await bob.ok('log "Erik Berg" notes="We met early"')
    assert "You have M1 with Erik Berg planned for Fri 20 Nov 2026, 10:00" in asked.text
    moved = await bob.click("Add to M1", asked)
    assert moved.title == "Updated M1: your conversation with Erik Berg"
    shown = everything(await bob.ok("show M1"))
    assert "When: Wed 18 Nov 2026, 15:00" in shown and "We met early" in shown
    listed = everything(await bob.ok("followups"))
    assert "Prepare for Erik Berg" not in listed and "thank-you to Erik Berg" in listed
