"""The command registry: what ``/tiara`` understands, with typed options and help text."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from bot.values import Form, FormField, Message, UserError

if TYPE_CHECKING:
    from bot.context import Context

__all__ = ["Command", "Commands", "Handler", "Kind", "Option", "Registry"]

Handler = Callable[["Context", dict[str, Any]], Awaitable[Message]]


class Kind(Enum):
    """How an option's text is read and checked."""

    TEXT = "text"  # one line, short
    LONGTEXT = "longtext"  # notes and the like
    NAME = "name"  # a person's name
    NAMES = "names"  # comma-separated names
    CHOICE = "choice"
    WHEN = "when"  # a natural-language date in the member's timezone
    PAST_WHEN = "past_when"  # the same, for something that has happened
    ITEM = "item"  # a short id of a meeting or request (M3, R2, 3)
    TIMEZONE = "timezone"
    EMAIL = "email"
    URL = "url"
    BOOL = "bool"


_DEFAULT_LIMITS = {
    Kind.TEXT: 200,
    Kind.NAME: 120,
    Kind.NAMES: 1000,
    Kind.LONGTEXT: 3000,
    Kind.EMAIL: 254,
    Kind.URL: 500,
}


@dataclass(frozen=True, slots=True)
class Option:
    """One ``key=value`` a command accepts."""

    name: str
    kind: Kind
    help: str
    required: bool = False
    choices: tuple[str, ...] = ()
    positional: bool = False
    hidden: bool = False
    label: str = ""
    max_length: int = 0

    @property
    def limit(self) -> int:
        return self.max_length or _DEFAULT_LIMITS.get(self.kind, 200)

    @property
    def placeholder(self) -> str:
        if self.kind is Kind.CHOICE:
            return "|".join(self.choices)
        return {
            Kind.WHEN: "date",
            Kind.PAST_WHEN: "date",
            Kind.ITEM: "id",
            Kind.NAMES: "names",
            Kind.NAME: "name",
            Kind.TIMEZONE: "Area/City",
            Kind.BOOL: "on|off",
        }.get(self.kind, "text")

    def form_field(self) -> FormField:
        return FormField(
            name=self.name,
            label=self.label or self.name.capitalize(),
            required=self.required,
            multiline=self.kind is Kind.LONGTEXT,
            max_length=self.limit,
            placeholder=self.help,
        )


@dataclass(frozen=True)
class Command:
    """A subcommand of ``/tiara``."""

    path: tuple[str, ...]
    handler: Handler
    options: tuple[Option, ...] = ()
    form: Form | None = None
    examples: tuple[str, ...] = ()
    group: str = "Tracker"
    aliases: tuple[str, ...] = ()
    coach_only: bool = False
    clears: bool = False  # an option given empty (notes=) clears that field

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, as one line."""
        doc = inspect.getdoc(self.handler) or ""
        return " ".join(doc.split("\n\n", 1)[0].split())

    @property
    def description(self) -> str:
        """The docstring after its first paragraph, each paragraph as one line."""
        doc = inspect.getdoc(self.handler) or ""
        return "\n".join(" ".join(part.split()) for part in doc.split("\n\n")[1:] if part.strip())

    def option(self, name: str) -> Option | None:
        for option in self.options:
            if option.name == name:
                return option
        return None

    @property
    def visible_options(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if not o.hidden)

    @property
    def usage(self) -> str:
        parts = [self.name]
        for option in self.visible_options:
            if option.positional:
                piece = f"<{option.name}>"
            else:
                piece = f"{option.name}=<{option.placeholder}>"
            parts.append(piece if option.required else f"[{piece}]")
        return " ".join(parts)


def make_command(
    path: Sequence[str],
    handler: Handler,
    *,
    options: Sequence[Option] = (),
    form: tuple[str, Sequence[str]] | None = None,
    examples: Sequence[str] = (),
    group: str = "Tracker",
    aliases: Sequence[str] = (),
    coach_only: bool = False,
    clears: bool = False,
) -> Command:
    """A :class:`Command` from what a command's decorator says of it.

    ``form`` is ``(title, option names)``: the fields a modal or prompt asks for when
    the command arrives without values. A ``coach_only`` command answers anyone else
    that it is for coaches, and runs nothing. With ``clears``, an option given with
    no value (``notes=``) reaches the handler as ``None``: clear that field.
    """
    opts = tuple(options)
    declared_form = None
    if form is not None:
        title, names = form
        by_name = {o.name: o for o in opts}
        declared_form = Form(title, tuple(by_name[n].form_field() for n in names))
    return Command(
        path=tuple(path),
        handler=handler,
        options=opts,
        form=declared_form,
        examples=tuple(examples),
        group=group,
        aliases=tuple(aliases),
        coach_only=coach_only,
        clears=clears,
    )


class Commands:
    """One command module's commands, gathered by its decorator and handed to a
    :class:`Registry` by whoever builds the bot (nothing registers on import).

    ``group`` is the help heading its commands fall under unless one says otherwise;
    ``topics`` describes the first words its commands share (``practice``: what the
    ``practice ...`` commands are about), for platforms that show them as a group.
    """

    def __init__(self, group: str, *, topics: Mapping[str, str] | None = None) -> None:
        self.group = group
        self.topics = dict(topics or {})
        self._commands: list[Command] = []

    def command(
        self,
        *path: str,
        options: Sequence[Option] = (),
        form: tuple[str, Sequence[str]] | None = None,
        examples: Sequence[str] = (),
        group: str | None = None,
        aliases: Sequence[str] = (),
        coach_only: bool = False,
        clears: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare the decorated coroutine as ``/tiara <path>`` (see :func:`make_command`)."""

        def decorate(handler: Handler) -> Handler:
            self._commands.append(
                make_command(
                    path,
                    handler,
                    options=options,
                    form=form,
                    examples=examples,
                    group=group or self.group,
                    aliases=aliases,
                    coach_only=coach_only,
                    clears=clears,
                )
            )
            return handler

        return decorate

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands)


@dataclass
class Registry:
    """All commands, looked up by their words."""

    _commands: dict[tuple[str, ...], Command] = field(default_factory=dict)
    _aliases: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    _topics: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, *parts: Commands) -> Registry:
        """A registry of these command modules' commands."""
        registry = cls()
        for part in parts:
            registry.include(part)
        return registry

    def include(self, part: Commands) -> None:
        for command in part:
            self.add(command)
        self._topics.update(part.topics)

    def add(self, command: Command) -> None:
        if command.path in self._commands:
            raise ValueError(f"command {command.name!r} registered twice")
        self._commands[command.path] = command
        for alias in command.aliases:
            self._aliases[tuple(alias.split())] = command.path

    def topic(self, word: str) -> str | None:
        """What the commands starting with ``word`` are about, when a module said."""
        return self._topics.get(word)

    def command(
        self, *path: str, group: str = "Tracker", **declared: Any
    ) -> Callable[[Handler], Handler]:
        """Add the decorated coroutine as ``/tiara <path>`` straight to this registry (a
        test's own commands); takes what :meth:`Commands.command` takes."""
        part = Commands(group)
        declare = part.command(*path, **declared)

        def decorate(handler: Handler) -> Handler:
            declare(handler)
            self.include(part)
            return handler

        return decorate

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def get(self, path: Sequence[str]) -> Command:
        key = tuple(path)
        key = self._aliases.get(key, key)
        try:
            return self._commands[key]
        except KeyError:
            raise UserError(self.unknown_message(" ".join(path))) from None

    def match(self, words: Sequence[str]) -> tuple[Command, int]:
        """Find the command named by the longest prefix of ``words``; return it and its length."""
        folded = [w.casefold() for w in words]
        for length in range(min(len(folded), 3), 0, -1):
            key = tuple(folded[:length])
            key = self._aliases.get(key, key)
            if key in self._commands:
                return self._commands[key], length
        raise UserError(self.unknown_message(words[0] if words else ""))

    def subcommands(self, word: str) -> list[tuple[str, Command]]:
        """The commands of a group such as ``practice`` (names as typed, with aliases);
        empty when ``word`` names no group."""
        folded = word.casefold()
        found = [(c.name, c) for c in self if len(c.path) > 1 and c.path[0] == folded]
        found += [
            (" ".join(alias), self._commands[target])
            for alias, target in self._aliases.items()
            if len(alias) > 1 and alias[0] == folded
        ]
        return sorted(found, key=lambda pair: pair[0])

    def unknown_message(self, word: str) -> str:
        names = sorted({c.path[0] for c in self} | {a[0] for a in self._aliases})
        close = difflib.get_close_matches(word.casefold(), names, n=1, cutoff=0.6)
        shown = word if len(word) <= 30 else word[:30] + "…"
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return f"I don't know the command {shown!r}.{hint} Type `/tiara help` to see what I can do."
