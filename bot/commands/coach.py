"""Coaches run the cohort (progress, follow-up policy, holidays, practice cadence, digest);
every member can take their data away or erase it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.businessdays import parse_date_list
from bot.coach.stats import plural, render_stats
from bot.context import Context
from bot.nudges.plan import FOLLOW_UP_POLICIES
from bot.practice import cadence as practice_cadence
from bot.registry import Commands, Handler, Kind, Option
from bot.timeutil import day_label
from bot.usecases import cohort, members, workspace
from bot.usecases.workspace import KEEP, CadenceChange, HolidaysView, WorkspaceScope
from bot.values import Attachment, Button, Message, UserError

_COACH = "Coach"

commands = Commands(_COACH, topics={"coach": "For coaches: the cohort's progress and rhythm."})

_POLICIES = {
    "seeds": "follow up after 2 weeks without a reply, at most twice, then move on",
    "3b7": "on business day 3 also try someone else at the organization, and follow up on "
    "business day 7",
}


# A channel as typed or as a platform writes it: #name, <#C123|name>, <#123>.
def _coach_command(
    name: str, *, options: tuple[Option, ...] = (), examples: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    return commands.command(
        "coach", name, options=options, examples=examples, group=_COACH, coach_only=True
    )


def _workspace(ctx: Context) -> WorkspaceScope:
    """The coach's workspace, changed by the coach (each change audited)."""
    return WorkspaceScope.of(ctx.scope, ctx.default_tz)


# -- progress --------------------------------------------------------------------------


@_coach_command(
    "stats",
    options=(
        Option(
            "weeks",
            Kind.CHOICE,
            "how many weeks back to count (default 4)",
            choices=("1", "2", "3", "4", "6", "8", "12", "16", "26"),
        ),
    ),
    examples=("/tiara coach stats", "/tiara coach stats weeks=8"),
)
async def stats(ctx: Context, args: dict[str, Any]) -> Message:
    """The cohort's progress: counts per member, who's stuck, and a chart.

    Counts only: no contact names, no notes. Members who can't get DMs and members who
    have gone quiet are named, so you can reach out.
    """
    found = await cohort.cohort_stats(ctx.scope, int(args.get("weeks", 4)))
    # The chart takes a while to draw; the counts are all in ``found``.
    ctx.answer_after_commit = partial(render_stats, found, title="Cohort progress")
    return Message(text="")


@_coach_command("audit", examples=("/tiara coach audit",))
async def audit(ctx: Context, args: dict[str, Any]) -> Message:
    """What coaches changed lately, and erasures: who, what and when."""
    lines = [
        f"• {ctx.when(line.at)}: {line.who}: {line.action}"
        + (f" {line.detail}" if line.detail else "")
        for line in await cohort.audit_log(_workspace(ctx))
    ]
    return Message(
        title="Recent coach actions",
        text="\n".join(lines) if lines else "Nothing yet.",
    )


# -- the cohort's rules ----------------------------------------------------------------


@_coach_command(
    "policy",
    options=(
        Option(
            "policy",
            Kind.CHOICE,
            "how unanswered requests are followed up",
            choices=FOLLOW_UP_POLICIES,
            positional=True,
        ),
    ),
    examples=("/tiara coach policy", "/tiara coach policy 3b7"),
)
async def policy(ctx: Context, args: dict[str, Any]) -> Message:
    """Show or choose the cohort's follow-up policy: seeds (2 weeks, twice) or 3b7."""
    view = await workspace.follow_up_policy(_workspace(ctx), args.get("policy"))
    return Message(
        title="Follow-up policy changed" if view.changed else "Follow-up policy",
        text=(
            f"{view.policy}: {_POLICIES[view.policy]}. Students' pending "
            f"reminders follow it. Switch with /tiara coach policy {view.others[0]}"
        ),
    )


@_coach_command(
    "holidays",
    options=(
        Option(
            "action",
            Kind.CHOICE,
            "add or remove days, or list them",
            choices=("list", "add", "remove"),
            positional=True,
        ),
        Option(
            "date",
            Kind.TEXT,
            "the days, as YYYY-MM-DD, separated by commas",
            positional=True,
            max_length=400,
        ),
        Option(
            "country",
            Kind.TEXT,
            'the country whose public holidays count, e.g. US or DE ("none" for none)',
            max_length=60,
        ),
        Option(
            "subdivision",
            Kind.TEXT,
            "a state or region of that country, e.g. CA or BY",
            max_length=60,
        ),
    ),
    examples=(
        "/tiara coach holidays",
        "/tiara coach holidays country=US subdivision=NY",
        "/tiara coach holidays add 2026-12-24, 2026-12-31",
        "/tiara coach holidays remove 2026-12-24",
    ),
)
async def holidays(ctx: Context, args: dict[str, Any]) -> Message:
    """The days that don't count as business days for follow-ups: a country's public
    holidays and days of your own."""
    scope = _workspace(ctx)
    place = None
    if "country" in args or "subdivision" in args:
        given = "subdivision" in args
        country, subdivision = args.get("country"), args.get("subdivision")
        place = workspace.holiday_place(
            scope.workspace, country, subdivision, subdivision_given=given
        )
    action = args.get("action", "list")
    days = []
    if action != "list":
        example = f"/tiara coach holidays {action} 2026-12-24, 2026-12-31"
        if "date" not in args:
            raise UserError(f"Say which days: {example}", option="date")
        days = parse_date_list(
            args["date"],
            example=example,
            order=ctx.date_order,
            today=ctx.now.astimezone(ZoneInfo(ctx.tz)).date(),
        )
    view = await workspace.holidays(
        scope, place=place, action=None if action == "list" else action, days=days
    )
    return Message(
        title="Holidays changed" if view.changed else "Holidays", text=_holidays_text(view)
    )


def _holidays_text(view: HolidaysView) -> str:
    lines = []
    if view.place:
        lines.append(f"Public holidays of {view.place} don't count as business days.")
    else:
        lines.append(
            "No country calendar: only weekends and the days below are skipped. "
            "Add one: /tiara coach holidays country=US"
        )
    coming = view.upcoming
    if coming:
        lines.append("\nComing up:")
        lines += [f"• {day_label(day, view.today)}: {name}" for day, name in coming[:8]]
        if len(coming) > 8:
            lines.append(f"…and {len(coming) - 8} more in the next four months")
    own = ", ".join(view.own) if view.own else "none"
    lines.append(f"\nDays of your own: {own}.")
    lines.append("Add days: /tiara coach holidays add YYYY-MM-DD, YYYY-MM-DD")
    return "\n".join(lines)


@_coach_command(
    "cadence",
    options=(
        Option("day", Kind.TEXT, "the weekday rounds start, like monday", max_length=12),
        Option("time", Kind.TEXT, "the time they start, like 10:00", max_length=12),
        Option(
            "every",
            Kind.CHOICE,
            "weeks between rounds",
            choices=("1", "2", "3", "4"),
        ),
    ),
    examples=("/tiara coach cadence", "/tiara coach cadence day=tuesday time=9:30 every=2"),
)
async def cadence(ctx: Context, args: dict[str, Any]) -> Message:
    """Show or set when practice rounds start (in the workspace's timezone)."""
    change = CadenceChange(
        day=practice_cadence.weekday(args["day"]) if "day" in args else None,
        time=practice_cadence.start_time(args["time"]) if "time" in args else None,
        every=int(args["every"]) if "every" in args else None,
    )
    view = await workspace.practice_cadence(_workspace(ctx), change)
    if view.next_round_at is None:
        upcoming = " Rounds start once someone joins practice."
    elif view.running is not None:
        # The round on now runs to its end: the next one (new cadence or not) follows it.
        upcoming = (
            f" Round {view.running.number} runs until {ctx.when(view.running.ends_at)}; "
            + ("the new cadence starts with" if view.changed else "the next is")
            + f" round {view.next_number} on {ctx.when(view.next_round_at)}."
        )
    else:
        upcoming = f" The next round starts {ctx.when(view.next_round_at)}."
    return Message(
        title="Practice cadence changed" if view.changed else "Practice cadence",
        text=f"Rounds: {view.text} ({view.tz}).{upcoming}",
    )


@_coach_command(
    "channel",
    options=(
        Option(
            "channel",
            Kind.TEXT,
            "the channel practice rounds are announced in, like #practice",
            positional=True,
            max_length=100,
        ),
    ),
    examples=("/tiara coach channel", "/tiara coach channel #practice"),
)
async def channel(ctx: Context, args: dict[str, Any]) -> Message:
    """Show or set the channel where practice rounds are announced."""
    chosen = practice_cadence.channel(args["channel"]) if "channel" in args else KEEP
    now_in = await workspace.practice_channel(_workspace(ctx), chosen)
    where = f"#{now_in}" if now_in else "no channel yet"
    return Message(
        title="Practice channel changed" if "channel" in args else "Practice channel",
        text=(
            f"Rounds are announced in {where} (names only; plans go to each group). "
            "Tiara has to be a member of that channel to post there."
        ),
    )


@_coach_command(
    "digest",
    options=(Option("digest", Kind.BOOL, "on or off", positional=True),),
    examples=("/tiara coach digest on", "/tiara coach digest off"),
)
async def digest(ctx: Context, args: dict[str, Any]) -> Message:
    """A weekly digest of the cohort's progress in your DMs, Monday mornings (on or off)."""
    view = await cohort.weekly_digest(ctx.scope, args.get("digest"))
    if view.next_at is None:
        text = "Your weekly digest is off. Turn it on: /tiara coach digest on"
    else:
        text = (
            f"Your weekly digest is on: the next one arrives {ctx.when(view.next_at)}, "
            "with the week's counts and a chart. Stop it: /tiara coach digest off"
        )
    return Message(title="Weekly digest", text=text)


@_coach_command(
    "round",
    options=(
        Option(
            "when",
            Kind.CHOICE,
            "now: start a practice round right away",
            choices=("now",),
            positional=True,
            required=True,
        ),
        Option("end_running", Kind.BOOL, "end the round on now first", hidden=True),
    ),
    examples=("/tiara coach round now",),
)
async def round_now(ctx: Context, args: dict[str, Any]) -> Message:
    """Start a practice round now instead of waiting for the cadence."""
    end_running = bool(args.get("end_running"))
    done = await workspace.start_round_now(_workspace(ctx), end_running=end_running)
    running = done.running
    if not done.started and running is not None:
        # Two rounds at once would mix up whose check-in answers which round.
        return Message(
            title=f"Round {running.number} is still on",
            text=(
                f"Round {running.number} runs until {ctx.when(running.ends_at)}. Starting a "
                "round now ends it early: its pairs get no more check-ins, and everyone in "
                "practice is paired again. Nothing has changed yet."
            ),
            buttons=(
                Button(
                    f"End round {running.number} and start a new one",
                    ("coach", "round"),
                    {"when": "now", "end_running": True},
                    "danger",
                ),
                Button(f"Keep round {running.number}", ("coach", "cadence")),
            ),
        )
    return Message(
        title="Practice round starting",
        text=(
            "The round starts within a minute: everyone in practice gets their partner and "
            "a plan by DM. The next round then follows the cadence."
        ),
    )


# -- every member's data rights --------------------------------------------------------


@commands.command("export", examples=("/tiara export",), group="You")
async def export(ctx: Context, args: dict[str, Any]) -> Message:
    """Download your contacts, requests and meetings (CSV) and upcoming meetings (.ics)."""
    data = await members.member_data(ctx.scope)

    async def files() -> Message:
        """Written once the rows are read and the transaction is over."""
        stamp = data.now.date().isoformat()
        return Message(
            title="Your data",
            text=(
                f"{plural(len(data.meetings), 'meeting')}, "
                f"{plural(len(data.requests), 'request')} and "
                f"{plural(len(data.contacts), 'contact')} in a spreadsheet (opens in Excel or "
                f"Google Sheets), and {plural(len(data.upcoming), 'upcoming meeting')} in a "
                "calendar file to import."
            ),
            attachments=(
                Attachment(f"tiara-export-{stamp}.csv", data.csv(), "text/csv", "Your Tiara data"),
                Attachment(
                    f"tiara-meetings-{stamp}.ics", data.ics(), "text/calendar", "Upcoming meetings"
                ),
            ),
            files_to_dm=True,
        )

    ctx.answer_after_commit = files
    return Message(text="")


@commands.command(
    "forget-me",
    options=(
        Option("confirm", Kind.BOOL, "yes to erase", hidden=True),
        Option("cancel", Kind.BOOL, "keep everything after all", hidden=True),
    ),
    examples=("/tiara forget-me",),
    group="You",
)
async def forget_me(ctx: Context, args: dict[str, Any]) -> Message:
    """Erase everything Tiara knows about you, after you confirm."""
    if args.get("cancel"):
        return Message(title="Nothing was erased", text="Everything you saved is still here.")
    if not args.get("confirm"):
        summary = await members.erasure_summary(ctx.scope)
        return Message(
            title="Erase everything about you?",
            text=(
                f"This deletes your {plural(summary.contacts, 'contact')}, "
                f"{plural(summary.meetings, 'meeting')}, your requests, "
                "notes, reminders and settings, for good. Your practice partners keep only "
                "a count that a practice happened, without your name. Coaches' totals "
                "drop your numbers.\n\nWant a copy first? Export it before erasing."
            ),
            buttons=(
                Button("Erase everything", ("forget-me",), {"confirm": True}, style="danger"),
                Button("Export my data first", ("export",)),
                Button("Cancel", ("forget-me",), {"cancel": True}),
            ),
        )
    await members.erase_member(ctx.scope)
    ctx.erased = True
    return Message(
        title="Erased",
        text=(
            "Everything Tiara knew about you is gone: contacts, meetings, requests, notes, "
            "reminders and settings. If you use Tiara again, you start fresh."
        ),
    )
