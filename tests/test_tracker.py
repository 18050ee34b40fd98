"""The networking tracker, talked to the way members talk to it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.core import Bot
from storage.models import Base, Contact, Meeting, OutreachRequest
from tests.conftest import Member


async def count_rows(bot: Bot) -> dict[str, int]:
    async with bot.store.transaction() as session:
        return {
            t.name: (await session.execute(select(func.count()).select_from(t))).scalar_one()
            for t in Base.metadata.sorted_tables
        }


async def test_request_then_reply_moves_it_out_of_waiting(alice: Member) -> None:
    sent = await alice.ok('request contact="Dana Lee" org=Acme via=linkedin when="yesterday 3pm"')
    assert sent.title == "Request R1 to Dana Lee recorded"
    assert "Tue 17 Nov 2026, 15:00 via linkedin" in sent.text
    listing = await alice.ok("meetings")
    assert "Waiting for a reply\n• R1 · Dana Lee (Acme) · via linkedin · sent yesterday" in (
        listing.text
    )

    replied = await alice.ok("reply contact=dana lee outcome=scheduled")
    assert replied.title == "R1: Dana Lee replied (scheduled)"
    assert "Waiting for a reply" not in (await alice.ok("meetings")).text
    shown = await alice.ok("show R1")
    assert ("Status", "replied") in [(f.label, f.value) for f in shown.fields]


async def test_reply_buttons_and_declined_closes(alice: Member) -> None:
    await alice.ok("request contact=Sam via=email")
    closed = await alice.click("They declined")
    assert "not personal" in closed.text
    shown = await alice.ok("show R1")
    assert ("Status", "closed") in [(f.label, f.value) for f in shown.fields]
    again = await alice("reply contact=Sam outcome=later")
    assert again.error and "no request to Sam waiting for a reply" in again.text


async def test_reply_without_any_request_is_explained(alice: Member) -> None:
    message = await alice("reply contact=Nobody outcome=scheduled")
    assert message.error and "no contact named 'Nobody'" in message.text


async def test_log_held_meeting_with_referrals(alice: Member, bot: Bot) -> None:
    await alice.ok("request contact=Dana Lee via=email")
    logged = await alice.ok(
        'log contact=Dana Lee org=Acme role="Data analyst" when="today 9am" venue=video '
        "notes=SQL matters more than Python followups=Send the article "
        "referrals=Ann Wu, Bo Li, ann wu"
    )
    assert logged.title == "Logged M1: your conversation with Dana Lee"
    assert "Send a thank-you by Thu 19 Nov 2026, 09:00" in logged.text
    assert "Your request R1 to Dana Lee is marked replied" in logged.text
    assert "• Ann Wu\n• Bo Li" in logged.text  # duplicates collapse

    card = await alice.ok("contact Ann Wu")
    assert ("Referred by", "Dana Lee") in [(f.label, f.value) for f in card.fields]
    dana = await alice.ok("contact dana lee")
    fields = dict((f.label, f.value) for f in dana.fields)
    assert fields["Referred you to"] == "Ann Wu, Bo Li"
    assert fields["Title"] == "Data analyst" and fields["Organization"] == "Acme"
    assert "M1 · Wed 18 Nov 2026, 09:00 · Dana Lee (Acme) · video" in dana.text
    assert "R1 · Dana Lee (Acme) · via email · sent today · replied (scheduled)" in dana.text
    assert fields["Last interaction"] == "Wed 18 Nov 2026, 15:00"  # the reply just now
    assert (await count_rows(bot))["contacts"] == 3


async def test_future_meeting_is_upcoming_and_offers_prep(alice: Member) -> None:
    logged = await alice.ok('log contact="Sam Ortiz" when="next Tuesday 10am" venue=phone')
    assert logged.title == "Upcoming M1: Sam Ortiz, Tue 24 Nov 2026, 10:00"
    prep = await alice.click("Prepare")
    assert prep.title == "Prepare for Sam Ortiz"
    assert "Phone: find a quiet spot" in prep.text
    listing = await alice.ok("meetings")
    assert listing.text.startswith("Upcoming\n• M1 · Tue 24 Nov 2026, 10:00 · Sam Ortiz · phone")
    thanks = await alice("thanks M1")
    assert thanks.error and "hasn't happened yet" in thanks.text


async def test_listing_order_upcoming_recent_requests(alice: Member) -> None:
    await alice.ok("log contact=Old when=2026-11-01 10:00")
    await alice.ok("log contact=Newer when=2026-11-10 10:00")
    await alice.ok("log contact=Soon when=2026-11-20 10:00")
    await alice.ok("log contact=Later when=2026-12-20 10:00")
    await alice.ok("request contact=Pending via=phone")
    text = (await alice.ok("meetings")).text
    order = [text.index(name) for name in ("Soon", "Later", "Newer", "Old", "Pending")]
    assert order == sorted(order)
    assert "Old · no thank-you recorded" in text


async def test_thanks_within_and_after_24_hours(alice: Member, clock: FixedClock) -> None:
    await alice.ok("log contact=Dana when=now")
    clock.advance(timedelta(hours=5))
    logged = await alice.click("Mark thank-you sent", (await alice.ok("show M1")))
    assert "within 24 hours" in logged.text
    await alice.ok("log contact=Eli when=now")
    clock.advance(timedelta(hours=30))
    late = await alice.ok("thanks M2")
    assert "after the 24-hour mark" in late.text
    text = (await alice.ok("meetings")).text
    assert "Eli · thank-you sent Fri 20 Nov 2026, 02:00 (late)" in text


async def test_show_edit_delete_with_confirmation(alice: Member, bot: Bot) -> None:
    await alice.ok('log contact=Dana when="yesterday 3pm" notes=first')
    edited = await alice.ok('edit M1 notes="second, with more" venue=in-person')
    assert "Changed:\n• notes: second, with more\n• venue: in-person" in edited.text
    shown = await alice.ok("show m1")
    fields = dict((f.label, f.value) for f in shown.fields)
    assert fields["Notes"] == "second, with more" and fields["Venue"] == "in-person"

    question = await alice.ok("delete M1")
    assert question.title == "Delete M1?"
    assert (await count_rows(bot))["meetings"] == 1  # asking deletes nothing
    kept = await alice.click("Keep it")
    assert kept.title == "M1 · Meeting with Dana"
    await alice.ok("delete M1")
    gone = await alice.click("Delete")
    assert gone.title == "Deleted M1"
    assert (await count_rows(bot))["meetings"] == 0
    missing = await alice("show M1")
    assert missing.error and "can't find M1" in missing.text


async def test_edit_refuses_fields_that_dont_apply(alice: Member) -> None:
    await alice.ok("request contact=Dana")
    message = await alice("edit R1 notes=hello")
    assert message.error and "R1 has no notes to change" in message.text
    nothing = await alice("edit R1")
    assert nothing.error and "Say what to change" in nothing.text


async def test_contact_details_update_and_show(alice: Member) -> None:
    added = await alice.ok(
        'contact "Dana Lee" email=dana@acme.org url=https://example.org/dana phone="+1 555 0100" '
        'field="health tech" title=Director'
    )
    assert added.title == "Added Dana Lee"
    card = await alice.ok("contact DANA  LEE")
    fields = dict((f.label, f.value) for f in card.fields)
    assert fields["Email"] == "dana@acme.org"
    assert fields["Profile"] == "https://example.org/dana"
    assert fields["Phone"] == "+1 555 0100"
    assert fields["Last interaction"] == "none yet"
    bad = await alice("contact Dana Lee email=not-an-email")
    assert bad.error and "doesn't look like an email" in bad.text


async def test_unknown_contact_suggests_close_names(alice: Member) -> None:
    await alice.ok("log contact=Dana Lee")
    message = await alice("contact Dana Leo")
    assert message.error and "Did you mean Dana Lee?" in message.text


async def test_settings_timezone_changes_how_times_show(alice: Member) -> None:
    await alice.ok("log contact=Dana when=2026-11-18 09:00")  # 09:00 UTC
    saved = await alice.ok("settings timezone=america/chicago")
    assert ("Timezone", "America/Chicago") in [(f.label, f.value) for f in saved.fields]
    assert "M1 · Wed 18 Nov 2026, 03:00 · Dana" in (await alice.ok("meetings")).text
    await alice.ok("log contact=Eli when=2026-11-18 09:00")  # now read as Chicago time
    assert "M2 · Wed 18 Nov 2026, 09:00 · Eli" in (await alice.ok("meetings")).text
    bad = await alice("settings timezone=Mars/Olympus")
    assert bad.error and "IANA name" in bad.text
    shown = await alice.ok("settings")
    assert ("Timezone", "America/Chicago") in [(f.label, f.value) for f in shown.fields]


async def test_failed_commands_save_nothing(alice: Member, bot: Bot) -> None:
    before = await count_rows(bot)
    for text in (
        "log contact=New Person when=blorp",
        "log contact=New Person referrals=Ann, New Person",
        "log contact=X notes=" + "x" * 3001,
        "request contact=Someone via=pigeon",
        "request contact=Someone when=tomorrow",
        "contact Someone referred_by=Nobody",
        "log when=now",
    ):
        message = await alice(text)
        assert message.error, text
    assert await count_rows(bot) == before


async def test_limits_are_stated(alice: Member) -> None:
    message = await alice("log contact=X notes=" + "x" * 3001)
    assert "3,001 characters long; the limit is 3,000" in message.text
    name = await alice("log contact=" + "n" * 121)
    assert "the limit is 120" in name.text


async def test_missing_required_option_shows_an_example(alice: Member) -> None:
    message = await alice("log notes=hello")
    assert message.error
    assert "needs contact=" in message.text and "/tiara log contact=" in message.text


async def test_help_lists_every_command_and_explains_one(alice: Member, bot: Bot) -> None:
    overview = await alice.ok("help")
    for command in bot.registry:
        # Coach commands are listed to coaches only (tests/test_coach.py).
        listed = f"/tiara {command.name}:" in overview.text
        assert listed != command.coach_only, command.name
    detail = await alice.ok("help log")
    assert "Usage: /tiara log <contact> [org=<text>]" in detail.text
    assert "venue= how you met (phone | video | in-person), optional" in detail.text
    assert "Examples\n/tiara log contact=" in detail.text
    for command in bot.registry:
        assert command.examples, f"{command.name} has no example"
        assert command.summary, f"{command.name} has no docstring"
        # Every example is itself a valid command.
        for example in command.examples:
            parsed = bot.parse(example, alice.ref)
            assert parsed.command == command.path


async def test_stored_rows_carry_the_workspace(alice: Member, bot: Bot) -> None:
    await alice.ok("request contact=Dana via=email")
    await alice.ok("log contact=Dana referrals=Eli")
    async with bot.store.transaction() as session:
        for model in (Contact, Meeting, OutreachRequest):
            rows = (await session.execute(select(model))).scalars().all()
            assert rows and all(r.workspace_id is not None for r in rows)
