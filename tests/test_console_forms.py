"""A button that opens a form: pre-filled prompts on a terminal, a clear hint when piped."""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console import ConsoleAdapter
from bot.core import Bot
from tests.test_console_prompt import ENTER, run_terminal


async def test_log_the_meeting_button_opens_the_form_prefilled(bot: Bot, tmp_path: Path) -> None:
    keys = [
        "request contact=Dana Lee via=email",
        "reply contact=Dana Lee outcome=scheduled",
        "1",  # "Log the meeting"
        "",  # keep the pre-filled contact
        "next Tuesday 3pm",
        "",
        "",
        "",
    ]
    text = await run_terminal(bot, "".join(k + ENTER for k in keys), tmp_path)
    assert "[1] Log the meeting" in text
    assert "Upcoming M1: Dana Lee, Tue 24 Nov 2026, 15:00" in text


async def test_form_button_when_piped_says_what_to_type(bot: Bot) -> None:
    stdin = io.StringIO(
        "request contact=Dana Lee via=email\nreply contact=Dana Lee outcome=scheduled\n1\n"
        "meetings\n"
    )
    out = io.StringIO()
    await ConsoleAdapter(bot, user="alice", stdin=stdin, stdout=out, interactive=False).run()
    text = out.getvalue()
    assert 'This opens a form. Piped, type it with its values instead: log contact="Dana Lee"' in (
        text
    )
    assert "Upcoming" not in text  # nothing was logged by the click
