"""Short ids: meetings (M1, M2...), requests (R1, R2...) and reminders (N1, N2...) are each
numbered on their own per member; a letter picks the kind, a bare number that both kinds
have is asked about, and ids given before the per-kind counters (Alembic 0009) keep
naming the same meeting, request or reminder."""

from __future__ import annotations

import re

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.values import Invocation, Message
from storage.store import Store
from tests.conftest import START, Member


def _reminder_ids(listing: Message) -> dict[str, str]:
    """What `followups` lists: reminder id -> what it says."""
    return dict(re.findall(r"• (N-?\d+) · [^·]+ · (.+)", listing.text))


async def test_each_kind_is_numbered_from_one(alice: Member) -> None:
    first = await alice.ok('request "Dana Lee" org=Acme')
    assert (first.title or "").startswith("Request R1 ")
    assert (await alice.ok('request "Sam Ortiz" org=Globex')).title.startswith("Request R2 ")
    logged = await alice.ok('log "Dana Lee" when="1 hour ago"')
    assert (logged.title or "").startswith("Logged M1:")
    assert (await alice.ok('request "Ann Wu"')).title.startswith("Request R3 ")
    upcoming = await alice.ok('log "Sam Ortiz" when="next Tuesday 10am"')
    assert (upcoming.title or "").startswith("Upcoming M2:")
    listing = await alice.ok("meetings")
    for line in ("• M2 · Tue 24 Nov 2026, 10:00 · Sam Ortiz", "• M1 · ", "• R3 · Ann Wu"):
        assert line in listing.text


async def _three_of_each(alice: Member) -> None:
    """R1..R3 to Dana, Sam and Ann; M1..M3 with Bo, Cy and Di."""
    for name in ("Dana Lee", "Sam Ortiz", "Ann Wu"):
        await alice.ok(f'request "{name}"')
    for name, when in (("Bo Li", "3 days ago"), ("Cy Po", "2 days ago"), ("Di Ng", "1 hour ago")):
        await alice.ok(f'log "{name}" when="{when}"')


async def test_the_letter_picks_the_kind(alice: Member) -> None:
    await _three_of_each(alice)
    assert (await alice.ok("show M3")).title == "M3 · Meeting with Di Ng"
    assert (await alice.ok("show r3")).title == "R3 · Request to Ann Wu"
    thanked = await alice.ok("thanks M3")
    assert thanked.title == "Thank-you to Di Ng recorded"
    replied = await alice.ok("reply R3 outcome=declined")
    assert replied.title == "R3: Ann Wu replied (declined)"
    missing = await alice("show M4")
    assert missing.error and "can't find M4" in missing.text


async def test_a_bare_number_both_kinds_have_asks_which(alice: Member) -> None:
    await _three_of_each(alice)
    await alice.ok('request "Ed Fu"')  # R4: no M4
    for typed in ("show 3", "delete #3", "edit 3 notes=x"):
        asked = await alice(typed)
        assert asked.error, typed
        assert "Did you mean M3 (your meeting with Di Ng, " in asked.text
        assert "or R3 (your request to Ann Wu, sent today)?" in asked.text
        assert "Type the letter with the number: M3 or R3." in asked.text
    assert (await alice.ok("show M3")).title == "M3 · Meeting with Di Ng"  # nothing deleted
    assert (await alice.ok("show 4")).title == "R4 · Request to Ed Fu"  # one kind has it
    # A command that acts on one kind takes that kind's.
    assert (await alice.ok("thanks 3")).title == "Thank-you to Di Ng recorded"
    assert (await alice.ok("reply 2 outcome=declined")).title == "R2: Sam Ortiz replied (declined)"


async def test_buttons_carry_the_kind(alice: Member) -> None:
    await _three_of_each(alice)
    shown = await alice.ok("show R3")
    deleted = await alice.click("Delete", shown)
    assert "Delete R3?" in (deleted.title or "")
    await alice.click("Delete", deleted)
    assert (await alice.ok("show M3")).title == "M3 · Meeting with Di Ng"
    assert (await alice("show R3")).error


# -- ids given before 0009: one counter for meetings and requests ------------------------


async def _database_at_0008(store: Store) -> None:
    """Alice, as the old code numbered her: R1 Ann, R2 Bo, M3 Ann, R4 Cy, M5 Bo; her
    reminder N7 follows up R2."""
    await store.upgrade("0008")
    statements = [
        "INSERT INTO workspaces (id, platform, external_id, created_at) "
        "VALUES (1, 'test', 'cohort', '2026-11-01 10:00:00')",
        "INSERT INTO members (id, workspace_id, user_id, next_seq, next_nudge_seq, active, "
        "created_at) VALUES (1, 1, 'alice', 5, 7, true, '2026-11-01 10:00:00')",
    ]
    for contact_id, name in ((1, "Ann Wu"), (2, "Bo Li"), (3, "Cy Po")):
        statements.append(
            "INSERT INTO contacts (id, workspace_id, member_id, name, name_key, created_at, "
            f"updated_at) VALUES ({contact_id}, 1, 1, '{name}', '{name.casefold()}', "
            "'2026-11-01 10:00:00', '2026-11-01 10:00:00')"
        )
    for request_id, seq, contact_id, day in ((1, 1, 1, 2), (2, 2, 2, 3), (3, 4, 3, 5)):
        statements.append(
            "INSERT INTO outreach_requests (id, workspace_id, member_id, seq, contact_id, via, "
            f"sent_at, status, created_at) VALUES ({request_id}, 1, 1, {seq}, {contact_id}, "
            f"'email', '2026-11-0{day} 10:00:00', 'pending', '2026-11-0{day} 10:00:00')"
        )
    for meeting_id, seq, contact_id, day in ((1, 3, 1, 4), (2, 5, 2, 6)):
        statements.append(
            "INSERT INTO meetings (id, workspace_id, member_id, seq, contact_id, held_at, "
            f"created_at, updated_at) VALUES ({meeting_id}, 1, 1, {seq}, {contact_id}, "
            f"'2026-11-0{day} 10:00:00', '2026-11-0{day} 11:00:00', '2026-11-0{day} 11:00:00')"
        )
    statements.append(
        "INSERT INTO nudges (id, workspace_id, member_id, seq, kind, dedupe_key, request_id, "
        "due_at, status, attempts, created_at, updated_at) VALUES (1, 1, 1, 7, 'follow_up', "
        "'follow_up:r2', 2, '2026-11-25 09:00:00', 'pending', 0, '2026-11-03 10:00:00', "
        "'2026-11-03 10:00:00')"
    )
    async with store.engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement)
        if not store.is_sqlite:  # the rows above chose their own ids
            for table in (
                "workspaces",
                "members",
                "contacts",
                "outreach_requests",
                "meetings",
                "nudges",
            ):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )


async def _upgraded_bot(store: Store) -> Bot:
    await _database_at_0008(store)
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    return (await build_app(settings, clock=FixedClock(START), store=store)).bot


async def test_upgrading_keeps_every_id_and_numbers_new_items_per_kind(
    empty_store: Store,
) -> None:
    bot = await _upgraded_bot(empty_store)
    alice = Member(bot, "alice")
    for typed, title in (
        ("show R1", "R1 · Request to Ann Wu"),
        ("show R2", "R2 · Request to Bo Li"),
        ("show M3", "M3 · Meeting with Ann Wu"),
        ("show R4", "R4 · Request to Cy Po"),
        ("show M5", "M5 · Meeting with Bo Li"),
        ("show 4", "R4 · Request to Cy Po"),
    ):
        assert (await alice.ok(typed)).title == title
    assert _reminder_ids(await alice.ok("followups"))["N7"] == "Follow up with Bo Li"
    assert "Snoozed N7" in ((await alice.ok("snooze N7")).title or "")
    # New items continue after the highest of their kind.
    assert (await alice.ok('log "Di Ng" when="1 hour ago"')).title.startswith("Logged M6:")
    assert (await alice.ok('request "Ed Fu"')).title.startswith("Request R5 ")
    assert (await alice.ok('request "Fay Go"')).title.startswith("Request R6 ")
    assert (await alice.ok('log "Gus Ha" when="now"')).title.startswith("Logged M7:")
    # 5 is now M5 (before) and R5 (since): typed, it is asked about.
    asked = await alice("show 5")
    assert asked.error and "Did you mean M5 (your meeting with Bo Li, " in asked.text
    assert "or R5 (your request to Ed Fu, sent today)?" in asked.text


async def test_buttons_of_old_messages_still_name_their_item(empty_store: Store) -> None:
    bot = await _upgraded_bot(empty_store)
    alice = Member(bot, "alice")
    await alice.ok('request "Ed Fu"')  # R5, beside M5 from before
    # Old messages' buttons carry bare numbers: 5 was M5 when they were sent.
    shown = await bot.dispatch(Invocation(("show",), {"id": 5}, alice.ref))
    assert shown.title == "M5 · Meeting with Bo Li"
    thanked = await bot.dispatch(Invocation(("thanks",), {"id": 5}, alice.ref))
    assert thanked.title == "Thank-you to Bo Li recorded"
    replied = await bot.dispatch(
        Invocation(("reply",), {"id": 2, "outcome": "scheduled"}, alice.ref)
    )
    assert replied.title == "R2: Bo Li replied (scheduled)"
    # Typed, the bare number is a question; the letter decides.
    assert (await alice("show 5")).error
    assert (await alice.ok("show R5")).title == "R5 · Request to Ed Fu"


async def test_downgrading_gives_shared_numbers_back_to_one_counter(empty_store: Store) -> None:
    bot = await _upgraded_bot(empty_store)
    alice = Member(bot, "alice")
    await alice.ok('request "Ed Fu"')  # R5, beside M5 from before
    await alice.ok('log "Di Ng" when="next Tuesday 10am"')  # M6
    await alice.ok('edit M6 when="next Wednesday 10am"')  # a reminder hands its id on
    await empty_store.downgrade("0008")
    async with empty_store.engine.connect() as conn:
        meetings = dict((await conn.exec_driver_sql("SELECT seq, contact_id FROM meetings")).all())
        requests = dict(
            (await conn.exec_driver_sql("SELECT seq, contact_id FROM outreach_requests")).all()
        )
        (next_seq, next_nudge_seq) = (
            await conn.exec_driver_sql("SELECT next_seq, next_nudge_seq FROM members")
        ).one()
        nudge_seqs = list((await conn.exec_driver_sql("SELECT seq FROM nudges")).scalars())
    assert not set(meetings) & set(requests)
    assert sorted(meetings) == [3, 5, 6] and sorted(requests) == [1, 2, 4, 7]  # R5 moved on
    assert next_seq == 7
    assert min(nudge_seqs) > 0 and len(set(nudge_seqs)) == len(nudge_seqs)
    assert next_nudge_seq == max(nudge_seqs)
    await empty_store.upgrade()  # and up again
    again = await build_app(
        Settings(_env_file=None, timezone="UTC"),  # type: ignore[call-arg]
        clock=FixedClock(START),
        store=empty_store,
    )
    alice = Member(again.bot, "alice")
    assert (await alice.ok("show R7")).title == "R7 · Request to Ed Fu"
    assert (await alice.ok('request "Fay Go"')).title.startswith("Request R8 ")


# -- reminders ------------------------------------------------------------------------


async def test_a_moved_meeting_keeps_its_reminders_ids(alice: Member) -> None:
    await alice.ok('log "Sam Ortiz" when="next Tuesday 10am"')
    first = _reminder_ids(await alice.ok("followups"))
    assert sorted(first) == ["N1", "N2", "N3"]
    assert first["N1"] == "Prepare for Sam Ortiz"
    await alice.ok('edit M1 when="next Wednesday 10am"')
    moved = _reminder_ids(await alice.ok("followups"))
    assert sorted(moved) == ["N1", "N2", "N3"] and moved["N1"] == "Prepare for Sam Ortiz"
    await alice.ok('edit M1 when="next Tuesday 10am"')  # and back
    assert sorted(_reminder_ids(await alice.ok("followups"))) == ["N1", "N2", "N3"]
    snoozed = await alice.ok("snooze N1")
    assert "Snoozed N1" in (snoozed.title or "")
    # The next reminders come right after.
    await alice.ok('request "Dana Lee"')
    assert sorted(_reminder_ids(await alice.ok("followups"))) == [f"N{i}" for i in range(1, 7)]


async def test_a_replanned_keep_in_touch_reminder_keeps_its_id(alice: Member) -> None:
    await alice.ok('log "Bo Li" when="2 hours ago"')
    before = {v: n for n, v in _reminder_ids(await alice.ok("followups")).items()}
    await alice.ok("settings keep_in_touch_months=6")
    listing = await alice.ok("followups")
    after = {v: n for n, v in _reminder_ids(listing).items()}
    assert after["Check in with Bo Li"] == before["Check in with Bo Li"]
    assert sorted(after.values()) == sorted(before.values()) == ["N1", "N2"]
    assert "May 2027" in listing.text  # six months on
