"""The console adapter as a member uses it: piped scripts, an interactive terminal, the CLI."""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.bootstrap import build_app
from adapters.console import ConsoleAdapter
from adapters.console.notifier import ConsoleNotifier
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.values import UserRef
from storage.models import Base
from storage.store import Store
from tests.test_console_prompt import CTRL_D, ENTER, run_terminal, typed

ALICE = UserRef("console", "local", "alice")
_TYPED = re.compile(r"^(\w+)> (.*)$")


async def run_piped(bot: Bot, script: str, user: str = "alice") -> str:
    """Feed ``script`` to the console as a pipe would; return everything it printed."""
    out = io.StringIO()
    await ConsoleAdapter(
        bot, user=user, stdin=io.StringIO(script), stdout=out, interactive=False
    ).run()
    return out.getvalue()


def exchanges(output: str) -> list[tuple[str, str]]:
    """Split a piped transcript into (what was typed, what came back), in order."""
    pairs: list[tuple[str, list[str]]] = []
    for line in output.splitlines():
        typed = _TYPED.match(line)
        if typed:
            pairs.append((typed.group(2), []))
        elif pairs:
            pairs[-1][1].append(line)
        else:
            raise AssertionError(f"output before the first command: {line!r}")
    return [(typed, "\n".join(reply).strip()) for typed, reply in pairs]


async def test_piped_session_tracks_a_conversation_from_request_to_delete(bot: Bot) -> None:
    output = await run_piped(
        bot,
        "\n".join(
            [
                'request contact="Dana Lee" org=Acme via=email when="3 days ago"',
                'reply contact="Dana Lee" outcome=scheduled',
                'log contact="Dana Lee" when="yesterday 3pm" notes="Data teams want SQL" '
                'referrals="Sam Ortiz, Kim Park"',
                "meetings",
                "show M1",
                'edit M1 venue=video followups="Send Dana the SQL course"',
                "show M1",
                'log contact="Kim Park" when="next Tuesday 10am" venue=video',
                "1",  # the Prepare button
                "prompts trends",
                "prep M1",
                "show M1",
                "2",  # the Delete button
                "1",  # Delete, confirmed
                "show M1",
                "meetings",
            ]
        )
        + "\n",
    )
    steps = exchanges(output)
    typed = [t for t, _ in steps]
    assert typed[0].startswith("request") and typed[-1] == "meetings"
    replies = [reply for _, reply in steps]
    assert len(replies) == 16
    (
        request,
        reply,
        logged,
        listing,
        shown,
        edited,
        shown_again,
        upcoming,
        prepare_clicked,
        prompts,
        prep,
        before_delete,
        confirm,
        deleted,
        gone,
        final_listing,
    ) = replies

    assert request.startswith("Request R1 to Dana Lee recorded")
    assert "[1] They agreed to meet  [2] They declined  (type a number)" in request
    assert reply.startswith("R1: Dana Lee replied (scheduled)")
    assert logged.startswith("Logged M1: your conversation with Dana Lee")
    assert "• Sam Ortiz\n• Kim Park" in logged
    assert "Recent\n• M1 · Tue 17 Nov 2026, 15:00 · Dana Lee (Acme)" in listing
    assert "R1" not in listing  # answered, so no longer waiting for a reply

    assert shown.startswith("M1 · Meeting with Dana Lee")
    assert re.search(r"^  Notes: +Data teams want SQL$", shown, re.MULTILINE)
    assert re.search(r"^  Referrals: +Kim Park, Sam Ortiz$", shown, re.MULTILINE)
    assert "Venue" not in shown
    assert "[1] Mark thank-you sent  [2] Delete  (type a number)" in shown
    assert edited.startswith("Updated M1")
    assert re.search(r"^  Venue: +video$", shown_again, re.MULTILINE)
    assert re.search(r"^  Follow-ups: +Send Dana the SQL course$", shown_again, re.MULTILINE)

    assert upcoming.startswith("Upcoming M2: Kim Park, Tue 24 Nov 2026, 10:00")
    assert "[1] Prepare  [2] Find a rehearsal partner  (type a number)" in upcoming
    # Typing 1 clicked Prepare: a checklist for Kim, whom Dana suggested.
    assert prepare_clicked.startswith("Prepare for Kim Park")
    assert re.search(r"^  Referred by: +Dana Lee$", prepare_clicked, re.MULTILINE)
    assert "Mention that Dana Lee suggested you talk." in prepare_clicked
    assert "• Video: test the link" in prepare_clicked
    assert prompts.startswith("T · Trends questions")
    assert prompts.count("\n• ") == 3
    assert prep.startswith("Prepare for Dana Lee")
    assert re.search(r"^  Organization: +Acme$", prep, re.MULTILINE)

    assert "[2] Delete" in before_delete
    assert confirm.startswith("Delete M1?")
    assert "[1] Delete  [2] Keep it  (type a number)" in confirm
    assert deleted.startswith("Deleted M1")
    assert gone.startswith("You have no meeting M1")
    assert "M2 · Tue 24 Nov 2026, 10:00 · Kim Park" in final_listing
    assert "M1" not in final_listing and "Dana Lee" not in final_listing


async def test_a_number_outside_the_buttons_clicks_nothing(bot: Bot) -> None:
    output = await run_piped(
        bot,
        'log contact="Dana Lee" when="yesterday 3pm"\nshow M1\n3\n0\nshow M1\n',
    )
    steps = dict(exchanges(output))
    assert steps["3"] == "Choose a number between 1 and 2."
    assert steps["0"] == "Choose a number between 1 and 2."
    assert output.count("M1 · Meeting with Dana Lee") == 2  # still there


async def test_switching_member_hides_the_other_members_meetings(bot: Bot) -> None:
    output = await run_piped(
        bot,
        'log contact="Dana Lee" when="yesterday 3pm" notes="private"\n'
        ":now\n:user bob\nshow M1\nmeetings\n:user alice\nshow M1\n",
    )
    assert "Now: Wed 18 Nov 2026, 15:00 (UTC); 2026-11-18 15:00 UTC" in output
    assert "Now talking as 'bob'." in output
    steps = exchanges(output)
    # The prompt names who is talking.
    assert [t for t, _ in steps] == [
        'log contact="Dana Lee" when="yesterday 3pm" notes="private"',
        ":now",
        ":user bob",
        "show M1",
        "meetings",
        ":user alice",
        "show M1",
    ]
    assert "\nbob> show M1\n" in output and "\nalice> show M1\n" in output
    bob_show, bob_list, _, alice_show = (reply for _, reply in steps[3:])
    assert bob_show.startswith("I can't find M1")
    assert bob_list.startswith("No meetings or requests yet")
    assert "private" not in bob_show + bob_list
    assert alice_show.startswith("M1 · Meeting with Dana Lee")
    assert re.search(r"^  Notes: +private$", alice_show, re.MULTILINE)


async def test_interactive_log_asks_the_form_one_field_at_a_time(bot: Bot, tmp_path: Path) -> None:
    keys = [
        "log",
        "",  # contact is required: asked again
        "Dana Lee",
        "yesterday 3pm",
        "Data teams want SQL",
        "",  # no follow-ups
        "Sam Ortiz",
        "show M1",
    ]
    output = await run_terminal(bot, "".join(k + ENTER for k in keys), tmp_path)

    assert output.count("  Contact is required.") == 1
    assert "Log a conversation (Enter skips an optional field, Ctrl-C cancels)" in output
    assert "Logged M1: your conversation with Dana Lee" in output
    assert "• Sam Ortiz" in output
    assert re.search(r"^  Notes: +Data teams want SQL$", output, re.MULTILINE)
    assert "Follow-ups" not in output.split("M1 · Meeting with Dana Lee")[1]


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(["log", "Dana Lee", "yesterday 3pm"], id="form-midway"),
        pytest.param(["log org=Acme"], id="missing-contact"),
    ],
)
async def test_ctrl_d_in_a_form_cancels_and_saves_nothing(
    bot: Bot, tmp_path: Path, keys: list[str]
) -> None:
    # Ctrl-D cancels the form; the console goes on (meetings), then the pipe's end leaves.
    output = await run_terminal(
        bot, "".join(k + ENTER for k in keys) + CTRL_D + "meetings" + ENTER, tmp_path
    )
    assert "Cancelled; nothing was saved." in output
    assert "Logged" not in output
    assert "No meetings or requests yet" in output.split("Cancelled; nothing was saved.")[1]
    listing = await typed(bot, "meetings", ALICE)
    assert listing.title == "No meetings or requests yet"
    contact = await typed(bot, 'contact "Dana Lee"', ALICE)
    assert contact.error and "no contact named 'Dana Lee'" in contact.text


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("tiara")
    return [str(script)] if script.exists() else [sys.executable, "-m", "adapters.cli"]


def test_tiara_console_command_logs_a_meeting_in_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TIARA_") and k not in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN")
    }
    env["TIARA_DATABASE_URL"] = f"sqlite+aiosqlite:///{db}"
    env["TIARA_HISTORY_FILE"] = str(tmp_path / "history")
    result = subprocess.run(
        [*_entry_point(), "console", "--user", "alice"],
        input='log contact="Dana Lee" org=Acme when="yesterday 3pm" notes="Data teams want SQL"\n'
        "meetings\nshow M1\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "alice> log contact=" in out
    assert "Logged M1: your conversation with Dana Lee" in out
    assert re.search(r"^• M1 · .* · Dana Lee \(Acme\)", out, re.MULTILINE), out
    assert re.search(r"^  Notes: +Data teams want SQL$", out, re.MULTILINE), out

    # The first start created the database and migrated it to the full schema.
    assert db.exists()
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        notes = conn.execute("SELECT notes FROM meetings").fetchall()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert len(revision) == 1
    assert notes == [("Data teams want SQL",)]


def test_tiara_console_as_coach_and_student_uses_the_coach_and_export_settings(
    tmp_path: Path,
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TIARA_") and k not in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN")
    }
    env["TIARA_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    env["TIARA_HISTORY_FILE"] = str(tmp_path / "history")
    env["TIARA_COACHES"] = "coach"
    env["TIARA_EXPORT_DIR"] = str(tmp_path / "files")
    result = subprocess.run(
        [*_entry_point(), "console", "--user", "alice"],
        input='log contact="Dana Lee" when="yesterday 3pm" notes="Data teams want SQL"\n'
        ":user coach\ncoach stats\ncoach policy 3b7\n"
        ":user alice\ncoach policy seeds\nexport\nforget-me\n1\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^  Meetings held: +1$", out, re.MULTILINE), out
    assert "Follow-up policy changed" in out
    assert "Only coaches can use /tiara coach policy" in out  # alice is not a coach
    exported = tmp_path / "files"
    names = sorted(p.name for p in exported.iterdir())
    assert names == [
        "alice-tiara-export-" + names[0].split("export-")[1],
        "alice-tiara-meetings-" + names[1].split("meetings-")[1],
        "coach-tiara-progress.png",
    ]
    assert "Data teams want SQL" in (exported / names[0]).read_text(encoding="utf-8-sig")
    assert "Erased" in out
    # What the coach saw holds none of alice's notes. (Her own DMs may: one falling due
    # while the coach talks, on the real clock, is shown to her when she is back.)
    assert "Data teams" not in out.split("coach> coach stats")[1].split("coach> :user alice")[0]


def _console_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TIARA_") and k not in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN")
    }
    env["TIARA_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    env["TIARA_HISTORY_FILE"] = str(tmp_path / "history")
    return env


def test_info_logs_go_to_a_file_not_into_the_conversation(tmp_path: Path) -> None:
    # The console as `tiara console` sets it up, then INFO lines as the practice rounds
    # and matplotlib write them: they land in the log file beside the database, and only
    # a warning reaches the terminal.
    script = (
        "import asyncio, io, logging\n"
        "from adapters import cli\n"
        "asyncio.run(cli._console(cli._settings(), 'alice', 'local',"
        " stdin=io.StringIO('meetings\\n')))\n"
        "logging.getLogger('bot.practice.rounds').info('practice: a round')\n"
        "logging.getLogger('matplotlib.font_manager').info('generated new fontManager')\n"
        "logging.getLogger('bot.core').warning('something to look at')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_console_env(tmp_path),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    terminal = result.stdout + result.stderr
    assert "No meetings or requests yet" in result.stdout
    assert "practice: a round" not in terminal
    assert "fontManager" not in terminal
    assert "something to look at" in result.stderr  # warnings still show
    log = (tmp_path / "tiara-console.log").read_text(encoding="utf-8")
    assert "INFO bot.practice.rounds: practice: a round" in log
    # The bot.logsafe guard still holds: another library's message is withheld.
    assert "INFO matplotlib.font_manager: (message withheld: 25 characters)" in log
    assert "WARNING bot.core: something to look at" in log


async def test_quit_keeps_the_moved_clock_and_the_dms_waiting_for_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from adapters.cli import _console

    for key, value in _console_env(tmp_path).items():
        if key.startswith("TIARA_"):
            monkeypatch.setenv(key, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    async def session(script: str) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        await _console(
            settings, "alice", "local", stdin=io.StringIO(script), stdout=out, stderr=err
        )
        return out.getvalue(), err.getvalue()

    try:
        first, first_notes = await session(
            ':user bob\nlog contact="Dana Lee" when=now\n:user alice\n:advance 2d\n:quit\n'
        )
        second, second_notes = await session(":now\n:user bob\n")
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)

    assert "DMs waiting for others: bob" in first
    state = tmp_path / "t.db.console.json"
    assert f"Kept for next time in {state}: the clock (2d ahead); DMs waiting for bob" in (
        first_notes
    )
    assert "Delete that file to go back to the real time." in first_notes
    assert "From last time" in second_notes and "the clock is 2d ahead" in second_notes
    # The clock is where alice left it: two days ahead of the real one.
    from datetime import UTC, datetime, timedelta

    ahead = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    assert f"; {ahead} " in second.split("alice> :now")[1]
    # Bob reads the DM that came while alice moved the clock.
    assert "── DM from Tiara" in second.split("bob> ")[0].split(":user bob")[1]
    assert "Dana Lee" in second.split(":user bob")[1]


class _SlowTypist(io.StringIO):
    """Piped lines, with ``pause`` passing on ``clock`` before the second one is read."""

    def __init__(self, script: str, clock: FixedClock, pause: timedelta) -> None:
        super().__init__(script)
        self.clock, self.pause, self.lines_read = clock, pause, 0

    def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]  # typeshed: _IOBase
        self.lines_read += 1
        if self.lines_read == 2:
            self.clock.advance(self.pause)
        return super().readline(-1 if size is None else size)


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)
async def test_dms_that_fell_due_while_typing_come_before_the_answer(
    empty_store: Store, clock: FixedClock
) -> None:
    notifier = ConsoleNotifier(clock)
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=notifier)
    out = io.StringIO()
    script = 'log "Dana Lee" when="today 2pm"\nmeetings\n'  # START is 15:00
    stdin = _SlowTypist(script, clock, timedelta(hours=3))  # the thank-you is due by then
    await ConsoleAdapter(
        app.bot, user="alice", stdin=stdin, stdout=out, interactive=False, notifier=notifier
    ).run()
    printed = out.getvalue()
    assert printed.index("Time for your thank-you to Dana Lee") < printed.index("alice> meetings")
