"""Help and personal settings."""

from __future__ import annotations

from typing import Any

from bot.commands._registry import registry
from bot.context import Context
from bot.registry import Command, Kind, Option
from bot.timeutil import format_when
from bot.values import Field, Message

_GROUPS = ("Tracker", "Prepare", "You")


def _option_line(option: Option) -> str:
    name = f"<{option.name}>" if option.positional else f"{option.name}="
    details = option.help
    if option.kind is Kind.CHOICE:
        details += f" ({' | '.join(option.choices)})"
    elif option.kind in (Kind.TEXT, Kind.LONGTEXT, Kind.NAME, Kind.EMAIL, Kind.URL):
        details += f" (up to {option.limit:,} characters)"
    elif option.kind in (Kind.WHEN, Kind.PAST_WHEN):
        details += ' (e.g. "yesterday 3pm", "next Tuesday 10am", "2026-12-01 14:00")'
    required = "required" if option.required else "optional"
    return f"• {name} {details}, {required}"


def _command_help(command: Command) -> Message:
    parts = [command.summary]
    if command.description:
        parts.append(command.description)
    parts.append(f"Usage: /tiara {command.usage}")
    options = command.visible_options
    if options:
        parts.append("Options\n" + "\n".join(_option_line(o) for o in options))
    if command.form is not None:
        parts.append("On Slack and Discord, typing it with no options opens a form.")
    parts.append("Examples\n" + "\n".join(command.examples))
    return Message(title=f"/tiara {command.name}", text="\n\n".join(parts))


@registry.command(
    "help",
    options=(Option("command", Kind.TEXT, "a command to explain", positional=True),),
    examples=("/tiara help", "/tiara help log"),
    group="You",
)
async def help_command(ctx: Context, args: dict[str, Any]) -> Message:
    """Show what I can do, or explain one command in detail."""
    if "command" in args:
        command, _ = registry.match(args["command"].split())
        return _command_help(command)
    parts = [
        "I help you run informational interviews: ask, prepare, meet, follow up. "
        "Everything you tell me stays private to you."
    ]
    for group in _GROUPS:
        lines = [f"• /tiara {c.name}: {c.summary}" for c in registry if c.group == group]
        if lines:
            parts.append(group + "\n" + "\n".join(lines))
    parts.append("Details and examples: /tiara help <command>")
    return Message(title="Tiara: your informational-interview coach", text="\n\n".join(parts))


@registry.command(
    "settings",
    options=(
        Option("timezone", Kind.TIMEZONE, "your timezone, an IANA name like America/Chicago"),
    ),
    examples=("/tiara settings", "/tiara settings timezone=America/Chicago"),
    group="You",
)
async def settings(ctx: Context, args: dict[str, Any]) -> Message:
    """Show or change your settings (your timezone)."""
    title = "Your settings"
    if "timezone" in args:
        ctx.member.timezone = args["timezone"]
        title = "Settings saved"
    own = ctx.member.timezone
    workspace_tz = ctx.member.workspace.timezone or ctx.default_tz
    return Message(
        title=title,
        text="Times I show you and reminders follow your timezone.",
        fields=(
            Field("Timezone", own if own else f"{workspace_tz} (the workspace default)"),
            Field("Your local time", format_when(ctx.now, ctx.tz)),
        ),
    )
