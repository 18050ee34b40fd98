"""A member's reminders are numbered N1, N2, N3... as she first sees them (listed by
`followups`, sent as a DM): reminders she never sees (a follow-up chain a reply
cancelled, kinds she stopped) take no number, so the ids she sees have no gaps. A number
once shown names that reminder for good. Issue 19.

Also: `done` on a reminder already closed says so and changes nothing; a snooze to a
time before the reminder is due is refused and changes nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.nudges import kinds as k
from bot.values import Message
from storage.models import Nudge
from storage.store import Store
from tests.conftest import START, Member, button_named
from tests.test_reminders_close import World, build_world, day


def ids(listing: Message) -> dict[str, str]:
    """What `followups` lists: reminder id -> what it says."""
    return dict(re.findall(r"• (N-?\d+) · [^·]+ · (.+)", listing.text))


def numbered(count: int, start: int = 1) -> list[str]:
    return [f"N{i}" for i in range(start, start + count)]


def by_number(found: dict[str, str]) -> list[str]:
    return sorted(found, key=lambda label: int(label[1:]))


@pytest.fixture
async def world(empty_store: Store, clock: FixedClock) -> AsyncIterator[World]:
    yield await build_world(World, empty_store, clock)


async def three_answered_requests(alice: Member) -> None:
    for name in ("Dana Lee", "Sam Ortiz", "Ann Wu"):
        await alice.ok(f'request "{name}"')
        await alice.ok(f'reply "{name}" outcome=declined')


async def test_after_three_answered_requests_the_first_meeting_s_reminders_are_n1(
    world: World,
) -> None:
    await three_answered_requests(world.alice)
    await world.alice.ok('log "Bo Li" when="next Tuesday 10am"')
    listed = ids(await world.alice.ok("followups"))
    assert by_number(listed) == numbered(len(listed))
    assert listed["N1"] == "Prepare for Bo Li"


async def test_a_reminder_first_seen_in_a_dm_is_n1(world: World) -> None:
    await three_answered_requests(world.alice)
    await world.alice.ok('log "Bo Li" when="today 9am" referrals="Cy Po"')
    await world.alice.ok("thanks M1")
    (dm,) = await world.at(day(19, 9))  # reach out to Cy Po, the next morning
    assert button_named(dm, "Done").args == {"id": "N1"}
    assert ids(await world.alice.ok("followups"))["N1"].startswith("Reach out to Cy Po")


async def test_stopped_kinds_leave_no_gaps(world: World) -> None:
    await world.alice.ok("nudge stop prep")
    await world.alice.ok('log "Bo Li" when="next Tuesday 10am"')
    await world.alice.ok('request "Dana Lee"')
    listed = ids(await world.alice.ok("followups"))
    assert "Prepare for Bo Li" not in listed.values()
    assert by_number(listed) == numbered(len(listed)) and len(listed) >= 3
    # What she is sent later continues from there, the stopped kind skipped unnumbered.
    dms = await world.at(day(24, 9))  # Tue 24 Nov: the prep reminder's morning
    assert not any("Prepare" in (dm.title or "") for dm in dms)


async def test_numbers_once_shown_never_change_nor_name_another_reminder(world: World) -> None:
    await world.alice.ok('request "Dana Lee"')
    first = ids(await world.alice.ok("followups"))
    assert by_number(first) == numbered(len(first))
    assert ids(await world.alice.ok("followups")) == first  # listed again: the same ids
    await world.alice.ok('reply "Dana Lee" outcome=declined')  # the follow-ups are cancelled
    await world.alice.ok('log "Bo Li" when="next Tuesday 10am"')
    after = ids(await world.alice.ok("followups"))
    assert by_number(after) == numbered(len(after), start=len(first) + 1)
    # The old ids still name Dana's follow-ups: closed, nothing else.
    for label in first:
        answer = await world.alice(f"done {label}")
        assert (
            answer.title == f"{label} was already done (closed when you recorded Dana Lee's reply)"
        )


async def test_done_on_a_reminder_the_thank_you_closed_changes_nothing(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="2 hours ago"')
    listed = ids(await world.alice.ok("followups"))
    (thanks,) = [n for n, says in listed.items() if says.startswith("Last call: thank")]
    await world.alice.ok("thanks M1")
    async with world.bot.store.transaction() as session:
        before = [(n.status, n.updated_at) for n in await session.scalars(select(Nudge))]
    answer = await world.alice.ok(f"done {thanks}")
    assert answer.title == (
        f"{thanks} was already done (closed when you recorded the thank-you to Dana Lee)"
    )
    assert "Nice work" not in answer.text and "Nothing to change" in answer.text
    snoozed = await world.alice(f"snooze {thanks}")  # says the same, not "is cancelled"
    assert snoozed.error and "was already done (closed when you recorded the thank-you" in (
        snoozed.text
    )
    async with world.bot.store.transaction() as session:
        after = [(n.status, n.updated_at) for n in await session.scalars(select(Nudge))]
    assert after == before


async def test_a_snooze_sooner_than_the_due_time_is_refused(world: World) -> None:
    await world.alice.ok('log "Dana Lee" when="today 9am" referrals="Ann Wu"')
    (label,) = [n for n, says in ids(await world.alice.ok("followups")).items() if "Ann" in says]
    await world.alice.ok(f'snooze {label} when="Dec 18 9am"')  # Fri 18 Dec
    refused = await world.alice(f'snooze {label} when="friday 2pm"')  # Fri 20 Nov
    assert refused.error
    assert refused.text.startswith(
        f"{label} is due Fri 18 Dec 2026, 09:00; a snooze moves it later, and "
        "Fri 20 Nov 2026, 14:00 is sooner. Nothing has changed."
    )
    (nudge,) = await world.nudges(k.REFERRAL)
    assert nudge.due_at == day(18, 9, month=12) and nudge.status == "pending"
    later = await world.alice.ok(f'snooze {label} when="Dec 21 9am"')
    assert later.title == f"Snoozed {label} until Mon 21 Dec 2026, 09:00"


# -- reminders numbered before 0010 ------------------------------------------------------


async def test_upgrading_keeps_every_shown_number(empty_store: Store) -> None:
    """At 0009 every reminder had a number when planned (N5, N7), or -id when it handed
    its number on; upgraded, N5 and N7 keep theirs, the other has none until shown."""
    await empty_store.upgrade("0009")
    statements = [
        "INSERT INTO workspaces (id, platform, external_id, created_at) "
        "VALUES (1, 'test', 'cohort', '2026-11-01 10:00:00')",
        "INSERT INTO members (id, workspace_id, user_id, next_seq, next_meeting_seq, "
        "next_nudge_seq, active, created_at) "
        "VALUES (1, 1, 'alice', 1, 0, 7, true, '2026-11-01 10:00:00')",
        "INSERT INTO contacts (id, workspace_id, member_id, name, name_key, created_at, "
        "updated_at) VALUES (1, 1, 1, 'Bo Li', 'bo li', '2026-11-01 10:00:00', "
        "'2026-11-01 10:00:00')",
        "INSERT INTO outreach_requests (id, workspace_id, member_id, seq, contact_id, via, "
        "sent_at, status, created_at) VALUES (1, 1, 1, 1, 1, 'email', '2026-11-03 10:00:00', "
        "'pending', '2026-11-03 10:00:00')",
    ]
    for nudge_id, seq, kind, due in (
        (1, 5, "follow_up", "2026-11-24 09:00:00"),
        (2, -2, "follow_up_last", "2026-11-26 09:00:00"),
        (3, 7, "move_on", "2026-11-30 09:00:00"),
    ):
        statements.append(
            "INSERT INTO nudges (id, workspace_id, member_id, seq, kind, dedupe_key, "
            f"request_id, due_at, status, attempts, created_at, updated_at) VALUES ({nudge_id}, "
            f"1, 1, {seq}, '{kind}', '{kind}:r1', 1, '{due}', 'pending', 0, "
            "'2026-11-03 10:00:00', '2026-11-03 10:00:00')"
        )
    async with empty_store.engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement)
        if not empty_store.is_sqlite:
            for table in ("workspaces", "members", "contacts", "outreach_requests", "nudges"):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    await empty_store.upgrade()
    async with empty_store.engine.connect() as conn:
        seqs = dict((await conn.exec_driver_sql("SELECT id, seq FROM nudges")).all())
    assert seqs == {1: 5, 2: None, 3: 7}

    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    bot = (await build_app(settings, clock=FixedClock(START), store=empty_store)).bot
    alice = Member(bot, "alice")
    listed = ids(await alice.ok("followups"))
    assert listed["N5"] == "Follow up with Bo Li"
    assert listed["N7"] == "Time to move on from Bo Li"
    assert listed["N8"] == "Last follow-up with Bo Li"  # the next number, now first shown
    assert set(listed) == {"N5", "N7", "N8"}

    # Down again: every reminder has a number, none shared.
    await empty_store.downgrade("0009")
    async with empty_store.engine.connect() as conn:
        seqs = dict((await conn.exec_driver_sql("SELECT id, seq FROM nudges")).all())
    assert seqs == {1: 5, 2: 8, 3: 7}
