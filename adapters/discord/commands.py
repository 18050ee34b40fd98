"""The ``/tiara`` application command group, built from the core's registry.

Every registry command becomes a subcommand (``/tiara log``) or a subcommand of a group
(``/tiara practice join``), with typed options: choices for enumerations, a boolean for
on/off, autocomplete for contact and timezone names, lengths and descriptions from the
registry. Options a form asks for are optional on Discord, so ``/tiara log`` alone opens
the form; hidden options (ids carried by buttons) are left out.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.registry import Command, Kind, Option, Registry

__all__ = ["GROUP_NAME", "OnCommand", "Suggest", "build_group"]

OnCommand = Callable[[discord.Interaction, Command, dict[str, object]], Awaitable[None]]
Suggest = Callable[[discord.Interaction, Kind, str], Awaitable[list[str]]]

_DESCRIPTION = 100  # Discord's limit on command and option descriptions
_CHOICES = 25
_STRING_LIMIT = 6000
_SUGGESTED = frozenset({Kind.NAME, Kind.TIMEZONE})
GROUP_NAME = "tiara"


def _short(text: str, limit: int = _DESCRIPTION) -> str:
    text = " ".join(text.split()) or "…"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _python_name(option: Option) -> str:
    name = option.name
    return name + "_" if keyword.iskeyword(name) or not name.isidentifier() else name


def _annotation(option: Option) -> Any:
    if option.kind is Kind.BOOL:
        return bool
    if option.kind is Kind.CHOICE and len(option.choices) <= _CHOICES:
        return str
    return app_commands.Range[str, 1, min(option.limit, _STRING_LIMIT)]


def _subcommand(
    command: Command,
    name: str,
    parent: app_commands.Group,
    on_command: OnCommand,
    suggest: Suggest,
) -> app_commands.Command[Any, ..., None]:
    options = command.visible_options
    by_python = {_python_name(o): o for o in options}

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        args = {by_python[key].name: value for key, value in values.items() if value is not None}
        await on_command(interaction, command, args)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for python, option in by_python.items():
        required = option.required and command.form is None
        parameters.append(
            inspect.Parameter(
                python,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = f"tiara_{'_'.join(command.path)}"
    app_commands.describe(**{p: _short(o.help) for p, o in by_python.items()})(callback)
    renames = {p: o.name for p, o in by_python.items() if p != o.name}
    if renames:
        app_commands.rename(**renames)(callback)
    choices = {
        p: [app_commands.Choice(name=c, value=c) for c in o.choices]
        for p, o in by_python.items()
        if o.kind is Kind.CHOICE and len(o.choices) <= _CHOICES
    }
    if choices:
        app_commands.choices(**choices)(callback)
    completions = {
        p: _completer(o.kind, suggest) for p, o in by_python.items() if o.kind in _SUGGESTED
    }
    if completions:
        app_commands.autocomplete(**completions)(callback)  # type: ignore[arg-type]
    subcommand: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=name, description=_short(command.summary), callback=callback
    )
    parent.add_command(subcommand)
    return subcommand


def _completer(
    kind: Kind, suggest: Suggest
) -> Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[str]]]]:
    async def complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = await suggest(interaction, kind, current)
        return [app_commands.Choice(name=n, value=n) for n in names if len(n) <= 100][:_CHOICES]

    return complete


def build_group(registry: Registry, on_command: OnCommand, suggest: Suggest) -> app_commands.Group:
    """``/tiara`` with a subcommand per registry command (groups for two-word commands)."""
    root = app_commands.Group(
        name=GROUP_NAME,
        description="Your informational-interview coach: log, prepare, follow up, practise.",
        guild_only=True,
    )
    groups: dict[str, app_commands.Group] = {}
    for command in registry:
        if len(command.path) == 1:
            _subcommand(command, command.path[0], root, on_command, suggest)
            continue
        head, tail = command.path[0], command.path[-1]
        group = groups.get(head)
        if group is None:
            group = app_commands.Group(
                name=head, description=registry.topic(head) or f"{head.capitalize()} commands"
            )
            root.add_command(group)
            groups[head] = group
        _subcommand(command, tail, group, on_command, suggest)
    return root
