"""What an adapter hands the core, and what it gets back: one event in, one answer out.

An adapter translates a platform's event into a :class:`Typed` line, an
:class:`Invoked` native command, a :class:`Clicked` button or a :class:`Submitted`
form, calls :meth:`bot.core.Bot.handle` once, and renders the answer: a
:class:`~bot.values.Message`, or an :class:`OpenForm` to show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.values import Button, Form, Invocation, Message

__all__ = [
    "Answer",
    "Clicked",
    "Event",
    "Invoked",
    "OpenForm",
    "Prepare",
    "Submitted",
    "Typed",
]


@dataclass(frozen=True, slots=True)
class Typed:
    """A command typed as text: a slash command's text, a console line (no ``/tiara``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Invoked:
    """A platform's own command with its values already typed into fields (Discord's
    slash command options). Without values, a command that has a form opens it."""

    command: tuple[str, ...]
    args: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Clicked:
    """A button clicked (decoded from the platform's payload)."""

    button: Button


@dataclass(frozen=True, slots=True)
class Submitted:
    """A form sent back: its command and every value, those the form was opened with
    (:attr:`OpenForm.invocation`) with the member's answers over them."""

    command: tuple[str, ...]
    values: Mapping[str, object] = field(default_factory=dict)


Event = Typed | Invoked | Clicked | Submitted


@dataclass(frozen=True, slots=True)
class OpenForm:
    """Show ``form`` (a modal, or prompts on the console) prefilled with ``defaults``; its
    answers come back as :class:`Submitted` for ``invocation.command`` with
    ``invocation.args`` under them. ``fallback`` is what to say when the form can't be
    shown (say, Slack's trigger expired): how to type the command inline instead."""

    form: Form
    invocation: Invocation
    defaults: Mapping[str, object]
    fallback: Message


Answer = Message | OpenForm

# Called just before a command runs (never before a form opens), with what will run; the
# adapter returns it once it has read what it needs from the platform (a profile's
# timezone, a fresh admin flag). Slack needs it; Discord's interactions carry both.
Prepare = Callable[[Invocation], Awaitable[Invocation]]
