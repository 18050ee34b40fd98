"""Whether a click opens a form is decided once, in the core (``Bot.handle``), for every
platform: a button that asks for its form (prefilled) or carries no values opens it, when
its command has one; any other runs at once. The adapters only show what the core says:
Slack and Discord a modal, the console prompts, the test backend an ``OpenForm``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from adapters.testing import TestMember
from bot.core import Bot
from bot.events import Clicked, OpenForm
from bot.values import Button, Message, UserRef
from tests.test_console_prompt import ENTER, run_terminal

pytestmark = pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)

ALICE = UserRef("test", "cohort", "alice")
# (button, whether clicking it opens the form of its command)
CASES = [
    pytest.param(
        Button("Log it", ("log",), {"contact": "Ann Wu"}, opens_form=True), True, id="asks"
    ),
    pytest.param(Button("Log", ("log",)), True, id="no-values"),
    pytest.param(
        Button("Log now", ("log",), {"contact": "Ann Wu", "when": "today 10am"}), False, id="values"
    ),
    pytest.param(Button("Sent", ("request",), {"contact": "Ann Wu"}), False, id="no-form"),
    pytest.param(Button("Help", ("help",)), False, id="no-form-no-values"),
]


@pytest.mark.parametrize(("button", "opens"), CASES)
async def test_the_rule_in_the_core(bot: Bot, button: Button, opens: bool) -> None:
    answer = await bot.handle(Clicked(button), ALICE)
    if not opens:
        assert isinstance(answer, Message) and not answer.error, answer
        return
    assert isinstance(answer, OpenForm)
    assert answer.form is bot.registry.get(button.command).form
    assert answer.defaults == button.args  # prefilled with what the button carries
    assert answer.invocation.command == button.command and answer.invocation.args == button.args


@pytest.mark.parametrize(("button", "opens"), CASES)
async def test_the_test_backend_follows_it(bot: Bot, button: Button, opens: bool) -> None:
    alice = TestMember(bot, "alice")
    answer = await alice.press(button.label, Message(text="Buttons", buttons=(button,)))
    assert isinstance(answer, OpenForm) is opens


@pytest.mark.parametrize(("button", "opens"), CASES)
async def test_the_piped_console_follows_it(bot: Bot, button: Button, opens: bool) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(bot, user="alice", stdin=io.StringIO(), stdout=out, interactive=False)
    console._show(Message(text="Buttons", buttons=(button,)))
    await console.handle_line("1")
    assert ("This opens a form." in out.getvalue()) is opens


async def test_a_form_button_is_filled_not_clicked(alice: TestMember) -> None:
    """The test member goes the platforms' way: such a button can only be submitted."""
    await alice.ok('request "Ann Wu" org=Acme')
    answer = await alice.ok('reply "Ann Wu" outcome=scheduled')
    with pytest.raises(AssertionError, match="opens a form"):
        await alice.click("Log the meeting", answer)
    logged = await alice.submit("Log the meeting", answer, when="today 10am", notes="Kind")
    assert not logged.error and "Ann Wu" in (logged.title or "")


async def test_a_button_that_runs_cannot_be_submitted(alice: TestMember) -> None:
    """Submitting goes through the form the core opened: a button that runs at once has
    none to fill (and has run, as a click on a platform would)."""
    answer = await alice.ok('request "Ann Wu" org=Acme')
    with pytest.raises(AssertionError, match="opens no form"):
        await alice.submit("They agreed to meet", answer, when="today 10am")


async def test_a_submitted_form_sends_what_it_opened_with_and_the_answers(
    alice: TestMember,
) -> None:
    await alice.ok('request "Ann Wu" org=Acme')
    answer = await alice.ok('reply "Ann Wu" outcome=scheduled')
    form = await alice.open("Log the meeting", answer)
    assert form.defaults == {"contact": "Ann Wu"}
    with pytest.raises(AssertionError, match="has no field"):
        await alice.submit(form, outcome="declined")
    # The contact was prefilled and kept: the member answered only the date.
    logged = await alice.submit(form, when="today 10am")
    assert logged.title == "Logged M1: your conversation with Ann Wu"


async def test_typing_a_command_with_a_form_and_no_values_opens_it(alice: TestMember) -> None:
    with pytest.raises(AssertionError, match="opens a form"):
        await alice("log")
    form = await alice.open_typed("log")
    assert form.defaults == {} and form.invocation.args == {}
    logged = await alice.submit(form, contact="Dana Lee", when="yesterday 3pm")
    assert logged.title and "Dana Lee" in logged.title


async def test_the_console_opens_the_same_form(bot: Bot, tmp_path: Path) -> None:
    keys = ENTER.join(['request "Ann Wu"', 'reply "Ann Wu" outcome=scheduled', "1", ""])
    printed = await run_terminal(bot, keys, tmp_path)
    assert "Log a conversation" in printed  # the form's title, prefilled with Ann Wu
