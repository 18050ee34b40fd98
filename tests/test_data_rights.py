"""Every member can take their data away (a spreadsheet and a calendar) and erase it."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import icalendar
import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import String, Text, func, select, text

from adapters.bootstrap import build_app
from adapters.console.adapter import ConsoleAdapter
from adapters.console.notifier import ConsoleNotifier
from bot.config import Settings
from bot.core import Bot
from bot.values import Attachment, Invocation, Message
from storage.models import AuditEvent, Base, PracticeSeat, StoredPayload
from storage.models import Member as MemberRow
from storage.store import Store
from storage.unit import UnitOfWork
from tests.conftest import START, FixedClock, Member

pytestmark = pytest.mark.postgres

# Fields with everything a spreadsheet export tends to get wrong.
AWKWARD = {
    "contact": 'Renée "Ren" O\'Hara, PhD',
    "org": "Société Générale, Paris",
    "notes": 'Line one, with a comma\nLine two: "quoted"\n\nLine four — après 5pm',
    "followups": "Send the deck; ask about 研究開発 and عربي\r\nthen 🙂",
}


async def make_bot(store: Store, clock: FixedClock, **settings: str) -> Bot:
    config = Settings(_env_file=None, timezone="UTC", **settings)  # type: ignore[arg-type]
    return (await build_app(config, clock=clock, store=store)).bot


def attachment(message: Message, suffix: str) -> Attachment:
    return next(a for a in message.attachments if a.filename.endswith(suffix))


async def log(member: Member, **args: str) -> Message:
    """Log a meeting as a form would submit it (values may hold newlines)."""
    answer = await member.bot.dispatch(Invocation(("log",), args, member.ref))
    assert not answer.error, answer.text
    return answer


def files_in(folder: Path) -> dict[str, Path]:
    return {p.name: p.resolve() for p in folder.iterdir()}


def read_csv(message: Message) -> list[dict[str, str]]:
    data = attachment(message, ".csv").data
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# -- export ------------------------------------------------------------------------------


async def test_the_csv_round_trips_every_field_intact(bot: Bot) -> None:
    alice = Member(bot, "alice")
    await log(alice, **AWKWARD, when="yesterday 3pm", venue="video")
    await alice.ok('request contact="Dana Lee" org=Acme via=linkedin when="2 days ago"')
    await alice.ok('contact "Sam Ortiz" email=sam@example.org')
    await alice.ok("thanks M1")
    rows = read_csv(await alice.ok("export"))
    assert [r["record"] for r in rows] == ["meeting", "request", "contact"]
    meeting, request, contact = rows
    assert meeting["contact"] == AWKWARD["contact"]
    assert meeting["organization"] == AWKWARD["org"]
    assert meeting["notes"] == AWKWARD["notes"]
    assert meeting["follow_ups"] == AWKWARD["followups"]
    assert (meeting["id"], meeting["date"], meeting["time"], meeting["venue"]) == (
        "M1",
        "2026-11-17",
        "15:00",
        "video",
    )
    assert meeting["thank_you_sent"] == "2026-11-18 15:00"
    assert (request["contact"], request["organization"], request["via"]) == (
        "Dana Lee",
        "Acme",
        "linkedin",
    )
    assert request["date"] == "2026-11-16" and request["status"] == "pending"
    assert (contact["contact"], contact["email"]) == ("Sam Ortiz", "sam@example.org")
    for row in rows:
        for key in ("date", "last_contact", "replied"):
            assert re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", row[key]), (key, row[key])


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_dates_in_the_csv_are_in_the_members_timezone(bot: Bot) -> None:
    alice = Member(bot, "alice")
    await alice.ok("settings timezone=Asia/Tokyo")
    await alice.ok('log contact="Dana Lee" when="2026-11-18 08:30"')  # Tokyo morning
    (row,) = read_csv(await alice.ok("export"))
    assert (row["date"], row["time"], row["timezone"]) == ("2026-11-18", "08:30", "Asia/Tokyo")


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_the_calendar_holds_upcoming_meetings_and_parses(bot: Bot) -> None:
    alice = Member(bot, "alice")
    await alice.ok('log contact="Dana Lee" org=Acme when="yesterday 3pm"')
    await alice.ok(
        'log contact="Renée O\'Hara" org="Société Générale" when="2026-11-24 10:00" venue=phone'
    )
    await alice.ok('log contact="Sam Ortiz" when="2026-12-01 16:30"')
    answer = await alice.ok("export")
    ics = attachment(answer, ".ics")
    assert ics.mime == "text/calendar"
    calendar = icalendar.Calendar.from_ical(ics.data)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == [
        "Informational interview with Renée O'Hara (Société Générale)",
        "Informational interview with Sam Ortiz",
    ]
    first = events[0]
    assert first.decoded("DTSTART") == START.replace(day=24, hour=10)
    assert first.decoded("DTEND") - first.decoded("DTSTART") == timedelta(minutes=30)
    assert str(first["LOCATION"]) == "phone"
    assert [a.decoded("TRIGGER") for a in first.walk("VALARM")] == [timedelta(hours=-1)]
    # The same meetings keep their ids from one export to the next.
    again = icalendar.Calendar.from_ical(attachment(await alice.ok("export"), ".ics").data)
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == [str(e["UID"]) for e in events]


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_text_a_spreadsheet_would_run_as_a_formula_stays_text(bot: Bot) -> None:
    alice = Member(bot, "alice")
    await alice.ok(
        'log contact="Dana Lee" org="=HYPERLINK(A1)" '
        'notes="+1 for SQL; -2 for Excel" followups="@Sam send the deck"'
    )
    (row,) = read_csv(await alice.ok("export"))
    assert row["organization"] == "'=HYPERLINK(A1)"
    assert row["notes"] == "'+1 for SQL; -2 for Excel"
    assert row["follow_ups"] == "'@Sam send the deck"
    assert row["contact"] == "Dana Lee" and row["id"] == "M1"  # the rest as typed


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_an_empty_export_still_opens(bot: Bot) -> None:
    answer = await Member(bot, "alice").ok("export")
    assert read_csv(answer) == []
    assert list(icalendar.Calendar.from_ical(attachment(answer, ".ics").data).walk("VEVENT")) == []


async def test_an_export_holds_only_the_members_own_workspace(bot: Bot) -> None:
    ours = Member(bot, "alice")
    theirs = Member(bot, "alice", workspace="elsewhere")  # the same user id string
    await ours.ok('log contact="Dana Lee" notes="ours"')
    await theirs.ok('log contact="Wanda Other" notes="theirs"')
    assert [r["contact"] for r in read_csv(await ours.ok("export"))] == ["Dana Lee"]
    assert [r["contact"] for r in read_csv(await theirs.ok("export"))] == ["Wanda Other"]


# -- erasure -----------------------------------------------------------------------------


async def rows_mentioning(store: Store, member_id: int, words: list[str]) -> list[str]:
    """Every row of every table that refers to ``member_id`` or holds one of ``words``."""
    found = []
    async with store.transaction() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name == "member_id"]
            for column in columns:
                count = await session.scalar(
                    select(func.count()).select_from(table).where(column == member_id)
                )
                if count:
                    found.append(f"{table.name}.{column.name}")
            for column in table.columns:
                if not isinstance(column.type, String | Text):
                    continue
                for word in words:
                    count = await session.scalar(
                        select(func.count()).select_from(table).where(column.contains(word))
                    )
                    if count:
                        found.append(f"{table.name}.{column.name} holds {word!r}")
    return found


async def test_forget_me_erases_every_row_about_the_member_and_nothing_else(
    empty_store: Store,
) -> None:
    clock = FixedClock(START)
    bot = await make_bot(empty_store, clock, coaches="alice")
    alice, bob = Member(bot, "alice"), Member(bot, "bob")
    other_alice = Member(bot, "alice", workspace="elsewhere")
    await alice.ok("settings timezone=Europe/Paris weekly_plan=on")
    await alice.ok('request contact="Dana Lee" via=email')
    await log(alice, **AWKWARD, when="yesterday 3pm", referrals="Sam Ortiz")
    await alice.ok('log contact="Dana Lee" when="next Tuesday 10am"')
    await alice.ok("prompts trends")
    await alice.ok("landed org=Acme")
    await alice.ok("coach policy 3b7")  # she is a coach too: the audit names her
    await alice.ok("practice join")
    await bob.ok("practice join")
    await bob.ok("practice now")
    await alice.ok("practice now")  # paired with Bob
    await other_alice.ok('log contact="Wanda Other" notes="kept elsewhere"')
    async with empty_store.transaction() as session:
        member = await UnitOfWork(session).members.find("test", "cohort", "alice")
        assert member is not None
        alice_id = member.id
        await UnitOfWork(session).inbox.keep_payload(
            "k" * 32,
            platform="test",
            workspace="cohort",
            user_id="alice",
            payload="{}",
            expires_at=START + timedelta(days=1),
        )
    words = ["Renée", "Société", "Dana Lee", "Sam Ortiz", "Line one", "研究開発"]
    assert await rows_mentioning(empty_store, alice_id, words)

    asked = await alice.ok("forget-me")
    assert "Erase everything" in [b.label for b in asked.buttons]
    assert await rows_mentioning(empty_store, alice_id, words)  # asking erases nothing
    done = await alice.click("Erase everything", asked)
    assert done.title == "Erased"
    # The adapter's profile update racing the erasure can't bring the row back, nor can
    # Slack redrawing her Home tab.
    await bot.profiles.update(alice.ref, display_name="Alice A.")
    assert len(await bot.dashboard(alice.ref)) == 1  # the buttons only

    assert await rows_mentioning(empty_store, alice_id, words) == []
    async with empty_store.transaction() as session:
        assert await UnitOfWork(session).members.find("test", "cohort", "alice") is None
        assert await session.scalar(select(func.count()).select_from(StoredPayload)) == 0
        audit = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        assert [(e.action, e.actor_user_id, e.actor_name) for e in audit] == [
            ("policy", None, None),  # the coach action stays, without her name
            ("erased", None, None),
        ]
        # Bob's practice history keeps the round, with an anonymous seat.
        seats = (await session.scalars(select(PracticeSeat))).all()
        assert sorted(s.member_id is None for s in seats) == [False, True]
        others = (await session.scalars(select(MemberRow.user_id))).all()
        assert sorted(others) == ["alice", "bob"]  # Bob, and Alice of the other workspace
    history = await bob.ok("practice history")
    assert "a former member" in history.text
    assert [r["contact"] for r in read_csv(await other_alice.ok("export"))] == ["Wanda Other"]
    fresh = await alice.ok("meetings")
    assert "No meetings" in (fresh.title or "")


async def test_forget_me_forgets_who_installed_the_slack_app_and_keeps_it_working(
    empty_store: Store,
) -> None:
    bot = await make_bot(empty_store, FixedClock(START))
    installs = AsyncSQLAlchemyInstallationStore(client_id="C1", engine=empty_store.engine)
    for team in ("T1", "T2"):  # she installed it in two workspaces
        await installs.async_save(
            Installation(
                app_id="A1",
                team_id=team,
                user_id="U0ALICE",
                user_token=f"xoxp-{team}",
                user_scopes=["identify"],
                bot_token=f"xoxb-{team}",
                bot_id="B1",
                bot_user_id="UBOT",
                installed_at=START.timestamp(),
            )
        )
    alice = Member(bot, "U0ALICE", workspace="T1", platform="slack")
    await alice.ok('log contact="Dana Lee"')
    await alice.click("Erase everything", await alice.ok("forget-me"))
    async with empty_store.transaction() as session:
        rows = (
            await session.execute(
                text("SELECT team_id, user_id, user_token FROM slack_installations ORDER BY 1")
            )
        ).all()
    assert [tuple(r) for r in rows] == [("T1", "", None), ("T2", "U0ALICE", "xoxp-T2")]
    bot_install = await installs.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot_install is not None and bot_install.bot_token == "xoxb-T1"  # still installed


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_forget_me_typed_without_confirming_changes_nothing(bot: Bot) -> None:
    alice = Member(bot, "alice")
    await alice.ok('log contact="Dana Lee"')
    await alice.ok("forget-me")
    wrong = await alice("forget-me confirm=maybe")
    assert wrong.error
    assert "M1" in (await alice.ok("meetings")).text


# -- the console, as the "done when" -------------------------------------------


async def test_a_piped_console_session_as_coach_and_as_student(
    empty_store: Store, tmp_path: Path
) -> None:
    clock = FixedClock(START)
    notifier = ConsoleNotifier(clock)
    config = Settings(_env_file=None, timezone="UTC", coaches="coach")  # type: ignore[call-arg]
    bot = (await build_app(config, clock=clock, store=empty_store, notifier=notifier)).bot
    script = "\n".join(
        [
            'log contact="Dana Lee" org=Acme when="yesterday 3pm" notes="private: salary 95k"',
            "thanks M1",
            ":user coach",
            "coach stats",
            "coach policy 3b7",
            ":user alice",
            "export",
            "forget-me",
            "1",
            "meetings",
            ":user coach",
            "coach stats",
        ]
    )
    out = io.StringIO()
    await ConsoleAdapter(
        bot,
        user="alice",
        stdin=io.StringIO(script + "\n"),
        stdout=out,
        interactive=False,
        notifier=notifier,
        export_dir=tmp_path,
    ).run()
    shown = out.getvalue()
    coach_part = shown.split("coach> coach stats")[1].split("alice> export")[0]
    assert "Meetings held:          1" in coach_part
    assert "Thank-yous within 24 h: 1 of 1 (100%)" in coach_part
    assert "Follow-up policy changed" in coach_part
    assert "salary" not in coach_part and "Dana" not in coach_part
    saved = files_in(tmp_path)
    assert sorted(saved) == [
        "alice-tiara-export-2026-11-18.csv",
        "alice-tiara-meetings-2026-11-18.ics",
        "coach-tiara-progress-2.png",
        "coach-tiara-progress.png",
    ]
    assert f"Your Tiara data: saved to {saved['alice-tiara-export-2026-11-18.csv']}" in shown
    table = saved["alice-tiara-export-2026-11-18.csv"].read_text(encoding="utf-8-sig")
    assert "private: salary 95k" in table
    assert "Erased" in shown
    last = shown.rsplit("coach> coach stats", 1)[1]
    assert "Meetings held:          0" in last
    async with empty_store.transaction() as session:
        for table in ("meetings", "contacts", "nudges"):
            count = await session.execute(text(f"SELECT count(*) FROM {table}"))
            assert count.scalar_one() == 0, table


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_console_files_never_overwrite_each_other(bot: Bot, tmp_path: Path) -> None:
    adapter = ConsoleAdapter(bot, user="a/../b", stdout=io.StringIO(), export_dir=tmp_path)
    one = adapter._save(Attachment("x.csv", b"1", "text/csv"))
    two = adapter._save(Attachment("x.csv", b"2", "text/csv"))
    assert set(files_in(tmp_path).values()) == {one, two}
    assert (one.read_bytes(), two.read_bytes()) == (b"1", b"2")
