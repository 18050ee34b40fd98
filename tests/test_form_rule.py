"""Whether a click opens a form is decided once, in the core, for every platform: a button
that asks for its form (prefilled) or carries no values opens it; any other runs at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import Bot
from bot.values import Button
from tests.conftest import Member
from tests.test_console_prompt import ENTER, run_terminal

pytestmark = pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)


def test_the_rule(bot: Bot) -> None:
    log_form = bot.registry.get(("log",)).form
    assert log_form is not None
    assert bot.form_for_click(Button("Log it", ("log",), {"id": "M1"}, opens_form=True)) is log_form
    assert bot.form_for_click(Button("Log", ("log",))) is log_form  # nothing given: ask it all
    assert bot.form_for_click(Button("Sent", ("request",), {"contact": "Ann Wu"})) is None
    assert bot.form_for_click(Button("Help", ("help",))) is None  # no form to open


async def test_a_form_button_is_filled_not_clicked(alice: Member) -> None:
    """The test member goes the platforms' way: such a button can only be submitted."""
    await alice.ok('request "Ann Wu" org=Acme')
    answer = await alice.ok('reply "Ann Wu" outcome=scheduled')
    with pytest.raises(AssertionError, match="opens a form"):
        await alice.click("Log the meeting", answer)
    logged = await alice.submit("Log the meeting", answer, when="today 10am", notes="Kind")
    assert not logged.error and "Ann Wu" in (logged.title or "")


async def test_the_console_opens_the_same_form(bot: Bot, tmp_path: Path) -> None:
    keys = ENTER.join(['request "Ann Wu"', 'reply "Ann Wu" outcome=scheduled', "1", ""])
    printed = await run_terminal(bot, keys, tmp_path)
    assert "Log a conversation" in printed  # the form's title, prefilled with Ann Wu
