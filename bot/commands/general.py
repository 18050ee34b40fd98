"""Help and personal settings."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.nudges import kinds as k
from bot.nudges.rhythm import format_minutes, parse_clock, parse_quiet
from bot.registry import Command, Commands, Kind, Option
from bot.timeutil import DATE_ORDERS, ORDER_NAMES, format_when
from bot.usecases.settings import AUTO, MemberSettings, SettingsChange, change_settings
from bot.values import Field, Message, UserError

commands = Commands("You")

_GROUPS = ("Tracker", "Prepare", "Reminders", "Practice", "You")


def _option_line(option: Option) -> str:
    name = f"<{option.name}>" if option.positional else f"{option.name}="
    details = option.help
    if option.kind is Kind.CHOICE:
        details += f" ({' | '.join(option.choices)})"
    elif option.kind in (Kind.TEXT, Kind.LONGTEXT, Kind.NAME, Kind.EMAIL, Kind.URL):
        details += f" (up to {option.limit:,} characters)"
    elif option.kind in (Kind.WHEN, Kind.PAST_WHEN):
        details += ' (e.g. "yesterday 3pm", "tmrw 15h", "next Tuesday 10am", "2026-12-01 14:00")'
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


def _group_help(ctx: Context, words: list[str]) -> Message:
    """What a group of commands (practice, coach, nudge) offers."""
    group = words[0].casefold()
    found = ctx.registry.subcommands(group)
    lines = [f"• /tiara {name}: {command.summary}" for name, command in found]
    parts = []
    if len(words) > 1:
        shown = words[1] if len(words[1]) <= 30 else words[1][:30] + "…"
        parts.append(f"`{group}` has no {shown!r}. It has:")
    parts.append("\n".join(lines))
    if any(command.coach_only for _, command in found) and not ctx.coach:
        parts.append("These are for coaches only.")
    parts.append(f"Details and examples: /tiara help {found[0][0]}")
    return Message(title=f"/tiara {group}", text="\n\n".join(parts))


@commands.command(
    "help",
    options=(Option("command", Kind.TEXT, "a command to explain", positional=True),),
    examples=("/tiara help", "/tiara help log"),
    group="You",
)
async def help_command(ctx: Context, args: dict[str, Any]) -> Message:
    """Show what I can do, or explain one command in detail."""
    if "command" in args:
        words = args["command"].split()
        try:
            command, _ = ctx.registry.match(words)
        except UserError:
            if not words or not ctx.registry.subcommands(words[0]):
                raise
            return _group_help(ctx, words)
        return _command_help(command)
    parts = [
        "I help you run informational interviews: ask, prepare, meet, follow up. "
        "Everything you tell me stays private to you."
    ]
    for group in (*_GROUPS, "Coach") if ctx.coach else _GROUPS:
        lines = [f"• /tiara {c.name}: {c.summary}" for c in ctx.registry if c.group == group]
        if lines:
            parts.append(group + "\n" + "\n".join(lines))
    parts.append("Details and examples: /tiara help <command>")
    return Message(title="Tiara: your informational-interview coach", text="\n\n".join(parts))


def _order_example(order: str) -> str:
    """9 December 2026 as written in ``order``."""
    return {"dmy": "9/12/2026", "mdy": "12/9/2026", "ymd": "2026/12/9"}[order] + " for 9 Dec"


@commands.command(
    "settings",
    options=(
        Option(
            "timezone",
            Kind.TIMEZONE,
            "your timezone, an IANA name like America/Chicago (auto: follow your profile)",
        ),
        Option("nudges", Kind.BOOL, "reminders in a direct message (on or off)"),
        Option("quiet", Kind.TEXT, 'hours with no reminders, like "21-8" or "off"'),
        Option("nudge_time", Kind.TEXT, 'when daily reminders arrive, like "9:00"'),
        Option(
            "keep_in_touch_months",
            Kind.CHOICE,
            "months between keep-in-touch reminders",
            choices=tuple(str(n) for n in range(1, 13)),
        ),
        Option("weekly_plan", Kind.BOOL, "a plan for the week every Monday (on or off)"),
        Option(
            "date_order",
            Kind.CHOICE,
            "how you write dates: dmy (9/12/2026 is 9 Dec), mdy (12/9/2026), ymd; auto: as "
            "usual in your zone",
            choices=(*DATE_ORDERS, AUTO),
        ),
    ),
    examples=(
        "/tiara settings",
        "/tiara settings timezone=America/Chicago",
        "/tiara settings quiet=22-7 nudge_time=8:30 weekly_plan=on",
        "/tiara settings date_order=dmy",
    ),
    group="You",
)
async def settings(ctx: Context, args: dict[str, Any]) -> Message:
    """Show or change your settings: timezone, date order, reminders, quiet hours, weekly plan."""
    quiet = None
    if "quiet" in args:
        text = args["quiet"].strip().casefold()
        quiet = (0, 0) if text in ("off", "none", "no") else parse_quiet(text)
        if quiet is None:
            raise UserError(
                f"I couldn't read quiet={args['quiet'][:30]!r}. Give two times of day, like "
                'quiet=21-8 or quiet="22:30-7:00", or quiet=off.'
            )
    nudge_time = None
    if "nudge_time" in args:
        nudge_time = parse_clock(args["nudge_time"])
        if nudge_time is None:
            raise UserError(
                f"I couldn't read nudge_time={args['nudge_time'][:30]!r}. Give a time of day, "
                "like nudge_time=9:00 or nudge_time=8:30am."
            )
    months = args.get("keep_in_touch_months")
    change = SettingsChange(
        timezone=args.get("timezone"),
        date_order=args.get("date_order"),
        nudges=args.get("nudges"),
        quiet=quiet,
        nudge_time=nudge_time,
        keep_in_touch_months=None if months is None else int(months),
        weekly_plan=args.get("weekly_plan"),
    )
    result = await change_settings(ctx.scope, change, default_tz=ctx.default_tz)
    return render_settings(result, saved=bool(args))


def render_settings(settings: MemberSettings, *, saved: bool) -> Message:
    """A member's settings (``saved``: just changed)."""
    quiet_text = (
        "none"
        if settings.quiet_start == settings.quiet_end
        else f"{format_minutes(settings.quiet_start)} to {format_minutes(settings.quiet_end)}"
    )
    if settings.timezone:
        zone = settings.timezone
    elif settings.platform_timezone:
        zone = f"{settings.platform_timezone} (from your profile)"
    else:
        zone = f"{settings.tz} (the workspace default)"
    order = settings.date_order
    fields = [
        Field("Timezone", zone),
        Field("Your local time", format_when(settings.now, settings.tz)),
        Field(
            "Dates in digits",
            f"{ORDER_NAMES[order]}, e.g. {_order_example(order)}"
            + (
                ""
                if settings.date_order_chosen
                else f" (usual for your timezone; until you choose, I ask when digits could "
                f"be read two ways: date_order={order} stops that)"
            ),
        ),
        Field("Nudges", "on" if settings.nudges_on else "off"),
        Field("Quiet hours", quiet_text),
        Field("Nudge time", format_minutes(settings.nudge_time)),
        Field("Keep in touch every", f"{settings.keep_in_touch_months} months"),
        Field("Weekly plan", "on" if settings.weekly_plan else "off"),
    ]
    if settings.stopped:
        fields.append(
            Field("Stopped", ", ".join(k.FAMILY_NAMES.get(f, f) for f in settings.stopped))
        )
    return Message(
        title="Settings saved" if saved else "Your settings",
        text=(
            "Times I show you and reminders follow your timezone; no reminder arrives in "
            "your quiet hours. Change any of them, e.g. /tiara settings quiet=22-7"
        ),
        fields=tuple(fields),
    )
