"""Mistakes can be undone, and recorded facts survive edits."""

from __future__ import annotations

from tests.conftest import Member, everything


async def test_an_empty_value_clears_a_field(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" when="1 hour ago" notes="wrong" venue=video')
    answer = await alice.ok("edit M1 notes= venue=")
    assert "Cleared: notes, venue" in answer.text
    shown = everything(await alice.ok("show M1"))
    assert "wrong" not in shown and "video" not in shown
    refused = await alice("edit M1 when=")
    assert refused.error and "when=" in refused.text


async def test_edit_changes_and_removes_referrals(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" when="1 hour ago" referrals="Sam Ortiz, Ann Wu"')
    await alice.ok('edit M1 referrals="Sam Ortiz, Bo Chen"')
    shown = everything(await alice.ok("show M1"))
    assert "Referrals: Bo Chen, Sam Ortiz" in shown
    ann = everything(await alice.ok('contact "Ann Wu"'))
    assert "Referred by" not in ann
    await alice.ok("edit M1 referrals=")
    assert "Referrals" not in everything(await alice.ok("show M1"))


async def test_edit_moves_a_meeting_and_a_request_to_another_contact(alice: Member) -> None:
    await alice.ok('log contact="Dana Le" when="1 hour ago" notes="SQL"')
    await alice.ok('request contact="Sam Ortz" via=email')
    moved = await alice.ok('edit M1 contact="Dana Lee"')
    assert "now with Dana Lee" in moved.text
    assert "Meeting with Dana Lee" in (await alice.ok("show M1")).title
    await alice.ok('edit R1 contact="Sam Ortiz"')
    assert "Request to Sam Ortiz" in (await alice.ok("show R1")).title
    assert "No requests or meetings" in (await alice.ok('contact "Dana Le"')).text


async def test_a_contact_is_deleted_with_its_reminders_after_a_confirmation(
    alice: Member,
) -> None:
    await alice.ok('request contact="Dana Lee" via=email')
    await alice.ok('log contact="Sam Ortiz" when="1 hour ago" referrals="Dana Lee"')
    question = await alice.ok('delete contact="Dana Lee"')
    assert "Delete Dana Lee?" in (question.title or "")
    assert "with their 0 meetings and 1 request," in question.text
    kept = await alice.click("Keep them", question)
    assert "Dana Lee" in (kept.title or "")
    await alice.click("Delete Dana Lee", question)
    gone = await alice('contact "Dana Lee"')
    assert gone.error
    listing = everything(await alice.ok("followups"))
    assert "Dana Lee" not in listing
    assert "Sam Ortiz" in listing
    assert (await alice("show R1")).error


async def test_forget_me_has_a_cancel_button(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" when="1 hour ago"')
    question = await alice.ok("forget-me")
    cancelled = await alice.click("Cancel", question)
    assert "Nothing was erased" in (cancelled.title or "")
    assert "Dana Lee" in everything(await alice.ok("show M1"))


async def test_a_recorded_thank_you_survives_moving_the_meeting(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" when="3 hours ago"')
    await alice.ok("thanks M1")
    await alice.ok('edit M1 when="tomorrow 10am"')
    await alice.ok('edit M1 when="3 hours ago"')
    shown = everything(await alice.ok("show M1"))
    assert "thank-you sent" in shown
    assert "Mark thank-you sent" not in shown


async def test_a_second_meeting_at_the_same_time_asks_first(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" when="yesterday 3pm" notes="SQL"')
    question = await alice.ok('log contact="Dana Lee" when="yesterday 3pm" notes="Python"')
    assert "already have M1" in question.text
    assert "No meetings" not in (await alice.ok("show M1")).text
    assert (await alice("show M2")).error  # nothing saved yet
    logged = await alice.click("Record a new meeting", question)
    assert "Logged M2" in (logged.title or "")
    other_day = await alice.ok('log contact="Dana Lee" when="2 days ago"')
    assert "Logged" in (other_day.title or "")


async def test_a_second_pending_request_asks_first(alice: Member) -> None:
    await alice.ok('request contact="Dana Lee" via=email')
    question = await alice.ok('request contact="Dana Lee" via=linkedin')
    assert "R1" in question.text and "still waiting" in question.text
    assert (await alice("show R2")).error
    shown = await alice.click("Show R1", question)
    assert "R1" in (shown.title or "")
    again = await alice.click("Record another", question)
    assert "Request R2 to Dana Lee recorded" in (again.title or "")
    await alice.ok('reply "Dana Lee" outcome=declined')
    fresh = await alice.ok('request contact="Dana Lee" via=phone')
    assert "recorded" in (fresh.title or "")
