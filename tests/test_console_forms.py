"""A button that opens a form: pre-filled prompts on a terminal, a clear hint when piped."""

from __future__ import annotations

import builtins
import io
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.core import Bot


def scripted_input(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> None:
    pending = iter(answers)

    def fake_input(prompt: str = "") -> str:
        try:
            return next(pending)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)


async def test_log_the_meeting_button_opens_the_form_prefilled(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = io.StringIO()
    scripted_input(
        monkeypatch,
        [
            "request contact=Dana Lee via=email",
            "reply contact=Dana Lee outcome=scheduled",
            "1",  # "Log the meeting"
            "",  # keep the pre-filled contact
            "next Tuesday 3pm",
            "",
            "",
            "",
        ],
    )
    history = tmp_path / "history"
    await ConsoleAdapter(bot, user="alice", stdout=out, interactive=True, history=history).run()
    text = out.getvalue()
    assert "[1] Log the meeting" in text
    assert "Upcoming M2: Dana Lee, Tue 24 Nov 2026, 15:00" in text


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
