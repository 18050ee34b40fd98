"""The interactive terminal: prompt_toolkit line editing, paste, history and Tab completion.

A pasted block (bracketed paste) lands in the field being asked, newlines and all, so a
pasted email stays in a form's notes and is one input at the main prompt. Ctrl-C raises
``KeyboardInterrupt`` from :meth:`Terminal.read` (the caller cancels the line or form),
Ctrl-D returns None. Tab completes command names, option names (``contact=``), choice
values and the member's own contact names.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from bot.registry import Command, Kind, Option, Registry

__all__ = ["CommandCompleter", "FieldCompleter", "Suggest", "Terminal"]

# Names the member may mean as they type: ``Bot.suggest`` for one member.
Suggest = Callable[[Kind, str], Awaitable[list[str]]]
_VALUE_KINDS = (Kind.NAME, Kind.NAMES, Kind.TIMEZONE)
_WORD = re.compile(r"""(?:[^\s"']|"[^"]*"?|'[^']*'?)+""")


def _quoted(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) or not value else value


async def _values(option: Option, typed: str, suggest: Suggest) -> list[str]:
    """What ``option`` may take, starting with (or holding) ``typed``."""
    if option.kind is Kind.CHOICE:
        return [c for c in option.choices if c.startswith(typed.casefold())]
    if option.kind is Kind.BOOL:
        return [w for w in ("yes", "no") if w.startswith(typed.casefold())]
    if option.kind in _VALUE_KINDS:
        kind = Kind.NAME if option.kind is Kind.NAMES else option.kind
        return await suggest(kind, typed)
    return []


@dataclass(frozen=True, slots=True)
class _Typed:
    """The line before the cursor: the words done and the word being typed."""

    words: list[str]
    current: str


def _split(text: str) -> _Typed:
    words = [m.group(0) for m in _WORD.finditer(text)]
    if words and not text[-1:].isspace():
        return _Typed(words[:-1], words[-1])
    return _Typed(words, "")


class CommandCompleter(Completer):
    """Completes a command line: its words, then ``option=`` names and their values."""

    def __init__(self, registry: Registry, suggest: Suggest) -> None:
        self.registry = registry
        self.suggest = suggest

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        return []  # everything is found in get_completions_async (contacts need the database)

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        typed = _split(document.text_before_cursor)
        words = [w.casefold() for w in typed.words]
        if words[:1] == ["/tiara"]:
            words = words[1:]
        command = self._command(words)
        if command is None:
            for word in self._next_words(words, typed.current.casefold()):
                yield Completion(word + " ", -len(typed.current), display=word)
            return
        async for completion in self._option_completions(command, typed):
            yield completion

    def _command(self, words: Sequence[str]) -> Command | None:
        """The command the finished words name (the longest match), if any."""
        for length in range(min(len(words), 3), 0, -1):
            found = [c for c in self.registry if c.path == tuple(words[:length])]
            if found:
                return found[0]
        return None

    def _next_words(self, words: Sequence[str], current: str) -> list[str]:
        depth = len(words)
        names = {
            command.path[depth]
            for command in self.registry
            if len(command.path) > depth
            and list(command.path[:depth]) == list(words)
            and command.path[depth].startswith(current)
        }
        return sorted(names)

    async def _option_completions(
        self, command: Command, typed: _Typed
    ) -> AsyncGenerator[Completion, None]:
        current = typed.current
        key, equals, value = current.partition("=")
        if equals:
            option = command.option(key.casefold())
            if option is None:
                return
            async for completion in _value_completions(option, value, self.suggest):
                yield completion
            return
        given = {w.partition("=")[0].casefold() for w in typed.words if "=" in w}
        for option in command.visible_options:
            if option.name not in given and option.name.startswith(current.casefold()):
                yield Completion(f"{option.name}=", -len(current), display_meta=option.help[:40])
        positional = [o for o in command.visible_options if o.positional]
        if positional and not any("=" not in w for w in typed.words[len(command.path) :]):
            async for completion in _value_completions(positional[0], current, self.suggest):
                yield completion


async def _value_completions(
    option: Option, typed: str, suggest: Suggest
) -> AsyncGenerator[Completion, None]:
    """Completions for the value being typed (which may start with a quote, and for a list
    of names, complete only its last name)."""
    bare = typed.lstrip("\"'")
    head, comma, last = bare.rpartition(",") if option.kind is Kind.NAMES else ("", "", bare)
    prefix = f"{head}{comma} " if comma else ""
    for value in await _values(option, last.strip(), suggest):
        yield Completion(_quoted(prefix + value), -len(typed), display=value)


class FieldCompleter(Completer):
    """Completes one form field's answer: a choice, or one of the member's contacts."""

    def __init__(self, option: Option, suggest: Suggest) -> None:
        self.option = option
        self.suggest = suggest

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        return []

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        typed = document.text_before_cursor
        last = typed.rpartition(",")[2] if self.option.kind is Kind.NAMES else typed
        for value in await _values(self.option, last.strip(), self.suggest):
            yield Completion(value, -len(last.lstrip()), display=value)


def _bindings() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        """Esc then Enter (or Alt-Enter) starts a new line in the same answer."""
        event.current_buffer.insert_text("\n")

    return keys


class Terminal:
    """Reads one answer at a time from a terminal (or prompt_toolkit's pipe input in tests)."""

    def __init__(
        self,
        *,
        history: Path | None,
        input: Input | None = None,
        output: Output | None = None,
    ) -> None:
        store: History = InMemoryHistory()
        if history is not None:
            try:
                history.parent.mkdir(parents=True, exist_ok=True)
                history.touch(exist_ok=True)
                store = FileHistory(str(history))
            except OSError:
                pass  # history is a convenience: no file, no history across sessions
        self.session: PromptSession[str] = PromptSession(
            history=store,
            input=input,
            output=output,
            key_bindings=_bindings(),
            enable_history_search=False,
            complete_while_typing=False,
        )
        self._forms: PromptSession[str] = PromptSession(
            input=input,
            output=output,
            key_bindings=_bindings(),
            complete_while_typing=False,
        )

    async def read(
        self, prompt: str, *, completer: Completer | None = None, form: bool = False
    ) -> str | None:
        """One answer, a pasted block kept whole; None on Ctrl-D. Ctrl-C raises
        ``KeyboardInterrupt``. Form answers stay out of the command history."""
        session = self._forms if form else self.session
        try:
            return await session.prompt_async(prompt, completer=completer)
        except EOFError:
            return None
