"""The console loop: reads commands, hands each to the core (``Bot.handle``), prints replies."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from prompt_toolkit.completion import Completer
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from adapters.console.notifier import ConsoleNotifier
from adapters.console.prompt import CommandCompleter, FieldCompleter, Terminal
from adapters.console.render import render
from bot.clock import MovableClock
from bot.core import Bot
from bot.events import Clicked, Event, OpenForm, Submitted, Typed
from bot.registry import Kind
from bot.timeutil import format_when
from bot.values import Attachment, Button, Form, FormField, Message, UserError, UserRef

__all__ = ["ConsoleAdapter"]

PLATFORM = "console"
_META_HELP = (
    "Console commands: :user NAME (switch who is talking), :now (the clock), "
    ":advance 1d (move the clock by 3h, 1d, 2w... and see the DMs it brings), "
    ":help, :quit. Everything else goes to Tiara, e.g. `help`."
)
_STEP = re.compile(r"(\d{1,4})\s*(m|min|h|d|w)", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MAX_ADVANCE = timedelta(days=3 * 366)
_MAX_STOPS = 2000
_CANCELLED = "Cancelled; nothing was saved."
_NOTHING_TO_CLICK = (
    "There is nothing to click: no buttons are showing. A number clicks a button only "
    "right after a reply that shows [1], [2]... Type a command instead, e.g. `followups` "
    "for your reminders (with buttons) or `help`."
)
_PASTED = (
    "\n(What you pasted was read as one command, not line by line. To keep a block of "
    "text, paste it at a form's prompt, e.g. type `log` and paste at Notes; or run one "
    "command at a time.)"
)
# A form re-asks a field the command turned down at most this many times.
_RETRIES = 3


def parse_step(text: str) -> timedelta | None:
    """A clock step like "3h", "1d", "2w" or "1d 6h"; None if unreadable."""
    cleaned = text.strip()
    total = timedelta(0)
    position = 0
    for match in _STEP.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            return None
        total += timedelta(**{_UNITS[match.group(2).casefold()]: int(match.group(1))})
        position = match.end()
    if position == 0 or cleaned[position:].strip():
        return None
    return total


class ConsoleAdapter:
    """Tiara in a terminal. Interactive on a TTY (prompt_toolkit: paste, history, Tab
    completion, Ctrl-C); line by line from a pipe.

    ``input`` and ``output`` are prompt_toolkit's (a pipe input in tests); giving an input
    makes the console interactive.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        user: str,
        workspace: str = "local",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
        history: Path | None = None,
        notifier: ConsoleNotifier | None = None,
        export_dir: Path | None = None,
        input: Input | None = None,
        output: Output | None = None,
    ) -> None:
        self.bot = bot
        self.export_dir = export_dir or Path("tiara-exports")
        self.notifier = notifier
        self.workspace = workspace
        self.user = UserRef(PLATFORM, workspace, user)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        if interactive is None:
            interactive = input is not None or self.stdin.isatty()
        self.interactive = interactive
        self.color = self.interactive and self.stdout.isatty()
        self._buttons: tuple[Button, ...] = ()
        self.history = (
            history or Path(os.environ.get("TIARA_HISTORY_FILE", "~/.tiara_history")).expanduser()
        )
        self._terminal = (
            Terminal(history=self.history, input=input, output=output) if self.interactive else None
        )
        self._completer = CommandCompleter(bot.registry, self._suggest)

    async def _suggest(self, kind: Kind, typed: str) -> list[str]:
        return await self.bot.suggest(self.user, kind, typed)

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        if self.interactive:
            self._print(
                f"Tiara console. You are {self.user.user!r} in workspace {self.workspace!r}. "
                "Type `help` to start (Tab completes), :help for console commands, Ctrl-C "
                "cancels a line or form, Ctrl-D leaves."
            )
        while True:
            try:
                line = await self._read(f"{self.user.user}> ", completer=self._completer)
            except KeyboardInterrupt:
                continue  # Ctrl-C drops the line being typed
            if line is None:
                break
            # What fell due while the member was typing comes first, before the answer.
            await self._deliver()
            if not self.interactive and line.strip():
                self._print(f"{self.user.user}> {line}")
            if not await self.handle_line(line):
                break
            await self._deliver()

    async def handle_line(self, line: str) -> bool:
        """Handle one line; return False when the member asked to quit."""
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        if text.startswith(":"):
            return await self._meta(text)
        if text.isdigit() and not self._buttons:
            self._print(_NOTHING_TO_CLICK)
            return True
        if text.isdigit():
            index = int(text)
            if not 1 <= index <= len(self._buttons):
                self._print(f"Choose a number between 1 and {len(self._buttons)}.")
                return True
            await self._click(self._buttons[index - 1])
            return True
        answer = await self._answer(Typed(text))
        self._show(self._pasted(text, answer))
        return True

    @staticmethod
    def _pasted(text: str, answer: Message) -> Message:
        """A mistake in a pasted block of lines says it was read as one command (never run
        line by line)."""
        if "\n" not in text or not answer.error:
            return answer
        return replace(answer, text=answer.text + _PASTED)

    async def _click(self, button: Button) -> None:
        self._show(await self._answer(Clicked(button)))

    async def _send(self, event: Event) -> Message:
        """The core's answer to an event that runs a command (a submitted form never
        opens one)."""
        answer = await self.bot.handle(event, self.user)
        return answer.fallback if isinstance(answer, OpenForm) else answer

    async def _answer(self, event: Typed | Clicked) -> Message:
        """What the core says to a typed line or a click. A form it opens is asked here,
        one prompt a field; interactively, a field the command turned down (or found
        missing from a typed line) is asked."""
        answer = await self.bot.handle(event, self.user)
        if isinstance(answer, OpenForm):
            return await self._fill(answer)
        if isinstance(event, Typed) and self.interactive and answer.error_option:
            return await self._typed_again(event.text, answer)
        return answer

    async def _fill(self, opened: OpenForm) -> Message:
        """Ask the form the core opened, prefilled, then send it back."""
        command = opened.invocation.command
        if not self.interactive:
            given = [f'{k}="{v}"' for k, v in opened.invocation.args.items()]
            wanted = [
                f"{f.name}=..."
                for f in opened.form.fields
                if f.required and f.name not in opened.invocation.args
            ]
            usage = " ".join([" ".join(command), *given, *wanted])
            return Message(
                text=f"This opens a form. Piped, type it with its values instead: {usage}"
            )
        values = await self._ask_form(command, opened.form, defaults=opened.defaults)
        if values is None:
            return Message(text=_CANCELLED)
        values = {**opened.invocation.args, **values}
        answer = await self._send(Submitted(command, values))
        return await self._until_accepted(command, opened.form, values, answer)

    async def _typed_again(self, text: str, answer: Message) -> Message:
        """A typed command missing a value its form asks: ask that field, keeping what was
        typed. (A value typed wrong is said to be wrong: the line can be typed again.)"""
        try:
            invocation = self.bot.parse(text, self.user)  # what was typed, to keep it
        except UserError:
            return answer
        form = self.bot.registry.get(invocation.command).form
        missing = answer.error_option not in invocation.args
        if form is None or not missing or all(f.name != answer.error_option for f in form.fields):
            return answer
        return await self._until_accepted(invocation.command, form, invocation.args, answer)

    async def _until_accepted(
        self,
        command: tuple[str, ...],
        form: Form,
        values: Mapping[str, object],
        answer: Message,
    ) -> Message:
        """While the command turns down one of the form's fields, say why and ask that
        field again (the other answers are kept), then send the form again."""
        fields = {f.name: f for f in form.fields}
        for attempt in range(_RETRIES + 1):
            field = fields.get(answer.error_option or "") if answer.error else None
            if field is None or attempt == _RETRIES:
                return answer
            self._print(f"  {answer.text}")
            again = await self._ask_form(
                command, Form(form.title, (field,)), defaults=values, intro=False
            )
            if again is None:
                return Message(text=_CANCELLED)
            values = again
            answer = await self._send(Submitted(command, values))
        return answer

    async def _ask_form(
        self,
        command: tuple[str, ...],
        form: Form,
        *,
        defaults: Mapping[str, object] | None = None,
        intro: bool = True,
    ) -> dict[str, object] | None:
        """Ask each field in turn, checking each answer as it is given (a bad one is asked
        again, the others are kept); Enter keeps the default or skips an optional field.
        None when the member cancels (Ctrl-C or Ctrl-D)."""
        defaults = defaults or {}
        if intro:
            self._print(f"{form.title} (Enter skips an optional field, Ctrl-C cancels)")
        values: dict[str, object] = dict(defaults)
        for field in form.fields:
            try:
                answer = await self._ask_field(command, field, defaults.get(field.name))
            except KeyboardInterrupt:
                return None
            if answer is None:
                return None
            if answer.strip():
                values[field.name] = answer
        return values

    async def _ask_field(
        self, command: tuple[str, ...], field: FormField, default: object
    ) -> str | None:
        """One field's answer ("" to keep the default or skip it), checked by the bot."""
        hint = f" [{default}]" if default is not None else ""
        suffix = " (required)" if field.required and default is None else ""
        more = " (Esc Enter: new line)" if field.multiline else ""
        option = self.bot.registry.get(command).option(field.name)
        completer: Completer | None = (
            FieldCompleter(option, self._suggest) if option is not None else None
        )
        while True:
            answer = await self._read(
                f"  {field.label}{suffix}{hint}{more}: ", completer=completer, form=True
            )
            if answer is None:
                return None
            if not answer.strip():
                if not field.required or default is not None:
                    return answer
                self._print(f"  {field.label} is required.")
                continue
            problem = await self.bot.check_option(self.user, command, field.name, answer)
            if problem is None:
                return answer
            self._print(f"  {problem} Try again, or Ctrl-C to cancel.")

    async def _meta(self, text: str) -> bool:
        word, _, rest = text[1:].partition(" ")
        word = word.casefold()
        if word in ("q", "quit", "exit"):
            return False
        if word == "user":
            name = rest.strip()
            if not name:
                self._print(f"You are {self.user.user!r}. Switch with :user NAME")
            else:
                self.user = UserRef(PLATFORM, self.workspace, name)
                self._buttons = ()
                self._print(f"Now talking as {name!r}.")
                await self._print_dms()
        elif word == "advance":
            await self._advance(rest)
        elif word == "tick":
            await self._deliver()
        elif word == "now":
            now = self.bot.clock.now()
            tz = await self.bot.timezone_of(self.user)
            self._print(f"Now: {format_when(now, tz)} ({tz}); {now:%Y-%m-%d %H:%M} UTC")
        else:
            self._print(_META_HELP)
        return True

    # -- time and direct messages -----------------------------------------------------

    async def _deliver(self) -> None:
        """Send what is due now and print the DMs waiting for the member speaking."""
        if self.notifier is None or self.bot.ticker.runners is None:
            return
        await self.bot.tick()
        await self._print_dms()

    async def _advance(self, text: str) -> None:
        clock = self.bot.clock
        if self.notifier is None or not isinstance(clock, MovableClock):
            self._print("This console's clock can't be moved.")
            return
        step = parse_step(text)
        if step is None or step <= timedelta(0) or step > _MAX_ADVANCE:
            self._print(
                "Say how far to move the clock, e.g. :advance 3h, :advance 1d or :advance 2w."
            )
            return
        target = clock.now() + step
        await self._deliver()
        # Stop at each moment something is due, so every DM goes out at its own time.
        for _ in range(_MAX_STOPS):
            moment = await self.bot.ticker.next_due(until=target)
            if moment is None:
                break
            clock.set(moment)
            await self._deliver()
        clock.set(target)
        await self._deliver()
        tz = await self.bot.timezone_of(self.user)
        self._print(f"The clock is now {format_when(target, tz)} ({tz}).")
        waiting = {u: n for u, n in self.notifier.waiting().items() if u != self.user.user}
        if waiting:
            who = ", ".join(f"{u} ({n})" for u, n in sorted(waiting.items()))
            self._print(f"DMs waiting for others: {who}. Switch with :user NAME to read them.")

    async def _print_dms(self) -> None:
        if self.notifier is None:
            return
        tz = await self.bot.timezone_of(self.user)
        for channel, post in self.notifier.take_posts():
            self._print(f"── #{channel.channel} · Tiara · {format_when(post.at, tz)} ──")
            self._show(post.message)
        dms = self.notifier.take(self.user)
        for delivered in dms:
            self._print(f"── DM from Tiara · {format_when(delivered.at, tz)} ──")
            self._show(delivered.message)

    # -- terminal --------------------------------------------------------------------

    def _show(self, message: Message) -> None:
        self._buttons = message.buttons
        self._print(render(message, color=self.color))
        for attachment in message.attachments:
            path = self._save(attachment)
            self._print(f"{attachment.title or attachment.filename}: saved to {path}")
        self._print("")

    def _save(self, attachment: Attachment) -> Path:
        """Write a file that came with a message into the export folder (a new name if one
        is there already: nothing is overwritten)."""
        self.export_dir.mkdir(parents=True, exist_ok=True)
        owner = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.user.user)[:40] or "member"
        stem, dot, suffix = Path(attachment.filename).name.rpartition(".")
        base = f"{owner}-{stem or suffix}"
        ending = f".{suffix}" if dot and stem else ""
        path = self.export_dir / f"{base}{ending}"
        number = 2
        while path.exists():
            path = self.export_dir / f"{base}-{number}{ending}"
            number += 1
        path.write_bytes(attachment.data)
        return path.resolve()

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def _read(
        self, prompt: str, *, completer: Completer | None = None, form: bool = False
    ) -> str | None:
        """One input: a line from a pipe, or an answer typed or pasted on the terminal
        (None at the end: Ctrl-D; Ctrl-C raises ``KeyboardInterrupt``)."""
        if self._terminal is not None:
            answer = await self._terminal.read(prompt, completer=completer, form=form)
            if answer is None:
                self._print("")
            return answer
        line = await asyncio.to_thread(self.stdin.readline)
        return line.rstrip("\n") if line else None
