"""The interactive console driven as a terminal would be, through prompt_toolkit's pipe
input: pasted blocks, Ctrl-C, Tab completion, forms checked field by field."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from adapters.console import ConsoleAdapter
from adapters.testing import TestMember
from bot.core import Bot
from bot.registry import Kind
from bot.values import Message, UserRef

ALICE = UserRef("console", "local", "alice")
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
CTRL_C, CTRL_D, TAB, ENTER = "\x03", "\x04", "\t", "\r"


async def typed(bot: Bot, text: str, user: UserRef) -> Message:
    """What ``user`` gets for typing ``text``, through the core's one way in (the test
    backend), outside the console."""
    return await TestMember(bot, user.user, user.workspace, user.platform)(text)


def paste(text: str) -> str:
    """What a terminal sends when ``text`` is pasted (bracketed paste, lines ended by CR)."""
    return PASTE_START + text.replace("\n", "\r") + PASTE_END


async def run_terminal(bot: Bot, keys: str, tmp_path: Path) -> str:
    """Type ``keys`` into an interactive console, then Ctrl-D; return what it printed."""
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        pipe.close()  # the end of the keys: Ctrl-D at the next prompt
        await ConsoleAdapter(
            bot,
            user="alice",
            stdout=out,
            input=pipe,
            output=DummyOutput(),
            history=tmp_path / "history",
        ).run()
    return out.getvalue()


@dataclass
class Live:
    """A console running in the background, typed into key by key."""

    pipe: PipeInput
    adapter: ConsoleAdapter
    out: io.StringIO

    def typed(self) -> str:
        """The line being edited at the prompt now."""
        terminal = self.adapter._terminal
        assert terminal is not None
        return terminal.session.default_buffer.text

    def answer(self) -> str:
        """The answer being edited at a form's prompt now."""
        terminal = self.adapter._terminal
        assert terminal is not None
        return terminal._forms.default_buffer.text

    async def until(self, done: Callable[[], bool]) -> None:
        """Let the console run until ``done()`` (a bound, not a wait: fails after 10 s)."""
        async with asyncio.timeout(10):
            while True:
                if done():
                    return
                await asyncio.sleep(0.001)  # let the console read and answer


@asynccontextmanager
async def live_console(bot: Bot, tmp_path: Path) -> AsyncIterator[Live]:
    out = io.StringIO()
    with create_pipe_input() as pipe:
        adapter = ConsoleAdapter(
            bot,
            user="alice",
            stdout=out,
            input=pipe,
            output=DummyOutput(),
            history=tmp_path / "history",
        )
        task = asyncio.create_task(adapter.run())
        try:
            yield Live(pipe, adapter, out)
        finally:
            pipe.close()
            async with asyncio.timeout(10):
                await task


async def test_a_pasted_email_stays_in_the_notes_field_newlines_and_all(
    bot: Bot, tmp_path: Path
) -> None:
    email = "Hi Alice,\n\nGreat talking today. Sam Ortiz runs the data team.\nmeetings\n-- Dana"
    output = await run_terminal(
        bot,
        "log"
        + ENTER
        + "Dana Lee"
        + ENTER
        + "yesterday 3pm"
        + ENTER
        + paste(email)
        + ENTER
        # Follow-ups and referrals are skipped: nothing of the email leaked into them.
        + ENTER
        + ENTER
        + "show M1"
        + ENTER,
        tmp_path,
    )
    assert "Logged M1: your conversation with Dana Lee" in output
    shown = await typed(bot, "show M1", ALICE)
    notes = {f.label: f.value for f in shown.fields}["Notes"]
    assert notes == email
    assert "Referrals" not in {f.label for f in shown.fields}
    assert "Follow-ups" not in {f.label for f in shown.fields}
    # No line of the email ran as a command, and no contact was made from one.
    assert "No meetings or requests yet" not in output and "Recent" not in output
    assert (await bot.suggest(ALICE, Kind.NAME, "")) == ["Dana Lee"]


async def test_a_block_pasted_at_the_prompt_is_one_input_not_several_commands(
    bot: Bot, tmp_path: Path
) -> None:
    block = 'log contact="Dana Lee" when="yesterday 3pm"\nmeetings\nhelp'
    output = await run_terminal(bot, paste(block) + ENTER, tmp_path)
    # One answer, an error saying how it was read: nothing logged, nothing listed.
    assert "read as one command, not line by line" in output
    assert "Logged" not in output
    assert "No meetings or requests yet" not in output and "Commands" not in output
    listing = await typed(bot, "meetings", ALICE)
    assert listing.title == "No meetings or requests yet"


async def test_ctrl_c_in_a_form_cancels_the_whole_form_at_once(bot: Bot, tmp_path: Path) -> None:
    output = await run_terminal(
        bot,
        "log"
        + ENTER
        + "Dana Lee"
        + ENTER
        + "yesterday 3pm"
        + ENTER
        + "half a no"
        + CTRL_C
        # Back at the prompt straight away: the next command runs.
        + "meetings"
        + ENTER,
        tmp_path,
    )
    assert "Cancelled; nothing was saved." in output
    assert "Logged" not in output
    after = output.split("Cancelled; nothing was saved.")[1]
    assert "No meetings or requests yet" in after
    assert "Traceback" not in output


async def test_ctrl_c_at_the_prompt_drops_the_line_and_keeps_the_console(
    bot: Bot, tmp_path: Path
) -> None:
    output = await run_terminal(
        bot, 'log contact="Dana Lee" when=now' + CTRL_C + "meetings" + ENTER, tmp_path
    )
    assert "Logged" not in output
    assert "No meetings or requests yet" in output


async def test_a_bad_date_in_a_form_is_asked_again_and_the_other_answers_are_kept(
    bot: Bot, tmp_path: Path
) -> None:
    output = await run_terminal(
        bot,
        "log"
        + ENTER
        + "Dana Lee"
        + ENTER
        + "the day after the gala"
        + ENTER
        # Asked again at once; the contact is not asked again.
        + "yesterday 3pm"
        + ENTER
        + "Data teams want SQL"
        + ENTER
        + ENTER
        + ENTER,
        tmp_path,
    )
    assert "I couldn't read 'the day after the gala' as a date" in output
    assert "Try again, or Ctrl-C to cancel." in output
    assert "Logged M1: your conversation with Dana Lee" in output
    shown = await typed(bot, "show M1", ALICE)
    fields = {f.label: f.value for f in shown.fields}
    assert fields["When"] == "Tue 17 Nov 2026, 15:00"
    assert fields["Notes"] == "Data teams want SQL"


async def test_a_bad_date_in_a_button_form_is_asked_again(bot: Bot, tmp_path: Path) -> None:
    # The form a button opens (pre-filled) checks each answer as it is given too.
    output = await run_terminal(
        bot,
        'request contact="Dana Lee" via=email'
        + ENTER
        + 'reply contact="Dana Lee" outcome=scheduled'
        + ENTER
        + "1"
        + ENTER  # Log the meeting
        + ENTER  # keep the pre-filled contact
        + "someday"
        + ENTER
        + "next Tuesday 3pm"
        + ENTER
        + ENTER
        + ENTER
        + ENTER,
        tmp_path,
    )
    assert "[1] Log the meeting" in output
    assert "I couldn't read 'someday' as a date" in output
    assert "Upcoming M1: Dana Lee, Tue 24 Nov 2026, 15:00" in output


async def test_a_number_with_no_buttons_says_there_is_nothing_to_click(
    bot: Bot, tmp_path: Path
) -> None:
    output = await run_terminal(bot, "2" + ENTER + "meetings" + ENTER + "1" + ENTER, tmp_path)
    assert output.count("There is nothing to click: no buttons are showing.") == 2
    assert "Type a command instead, e.g. `followups`" in output
    assert "I don't know the command" not in output


async def test_tab_completes_a_command_name(bot: Bot, tmp_path: Path) -> None:
    async with live_console(bot, tmp_path) as live:
        live.pipe.send_text("meet" + TAB)
        await live.until(lambda: live.typed() == "meetings ")
        live.pipe.send_text(ENTER)
        await live.until(lambda: "No meetings or requests yet" in live.out.getvalue())


async def test_tab_completes_an_option_name_and_a_choice(bot: Bot, tmp_path: Path) -> None:
    async with live_console(bot, tmp_path) as live:
        live.pipe.send_text('log contact="Dana Lee" wh' + TAB)
        await live.until(lambda: live.typed() == 'log contact="Dana Lee" when=')
        live.pipe.send_text('"yesterday 3pm" ven' + TAB)
        await live.until(lambda: live.typed().endswith(" venue="))
        live.pipe.send_text("vi" + TAB)
        await live.until(lambda: live.typed().endswith(" venue=video"))
        live.pipe.send_text(ENTER)
        await live.until(lambda: "Logged M1" in live.out.getvalue())


async def test_tab_completes_the_members_own_contact_names(bot: Bot, tmp_path: Path) -> None:
    await typed(bot, 'log contact="Dana Lee" when="yesterday 3pm"', ALICE)
    await typed(bot, 'log contact="Sam Ortiz" when="yesterday 4pm"', ALICE)
    bob = UserRef("console", "local", "bob")
    await typed(bot, 'log contact="Dan Brown" when="yesterday 4pm"', bob)
    async with live_console(bot, tmp_path) as live:
        live.pipe.send_text("request contact=Da" + TAB)
        # Only alice's contact: bob's "Dan Brown" is not hers to see.
        await live.until(lambda: live.typed() == 'request contact="Dana Lee"')
        live.pipe.send_text(" via=email" + ENTER)
        await live.until(lambda: "Request R1 to Dana Lee recorded" in live.out.getvalue())
        # In a form, the contact field completes too.
        live.pipe.send_text("log" + ENTER)
        await live.until(lambda: "Log a conversation" in live.out.getvalue())
        live.pipe.send_text("Sa" + TAB)
        await live.until(lambda: live.answer() == "Sam Ortiz")
        live.pipe.send_text(CTRL_C)
        await live.until(lambda: "Cancelled; nothing was saved." in live.out.getvalue())
