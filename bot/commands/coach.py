"""Coaches run the cohort (progress, follow-up policy, holidays, practice cadence, digest);
every member can take their data away or erase it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.businessdays import parse_date_list, resolve_country, workspace_calendar
from bot.coach.digest import next_digest
from bot.coach.export import export_csv, export_ics
from bot.coach.stats import gather, plural, render_stats
from bot.context import Context
from bot.nudges.plan import FOLLOW_UP_POLICIES, replan_follow_ups
from bot.practice import cadence as practice_cadence
from bot.practice.rounds import workspace_tz
from bot.registry import Commands, Handler, Kind, Option
from bot.timeutil import day_label
from bot.values import Attachment, Button, Message, UserError
from storage.models import Workspace

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


def _audit(ctx: Context, action: str, detail: str = "") -> None:
    ctx.uow.coach.record(
        ctx.member.workspace_id, at=ctx.now, action=action, detail=detail, actor=ctx.member
    )


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
    weeks = int(args.get("weeks", 4))
    ws = ctx.member.workspace
    found = await gather(ctx.uow.session, ws, now=ctx.now, weeks=weeks, tz=ctx.tz)
    # The chart takes a while to draw; the counts are all in ``found``.
    ctx.answer_after_commit = partial(render_stats, found, title="Cohort progress")
    return Message(text="")


@_coach_command("audit", examples=("/tiara coach audit",))
async def audit(ctx: Context, args: dict[str, Any]) -> Message:
    """What coaches changed lately, and erasures: who, what and when."""
    events = await ctx.uow.coach.audit(ctx.member.workspace_id)
    lines = []
    for event in events:
        who = event.actor_name or ("a member" if event.action == "erased" else "an erased member")
        detail = f" {event.detail}" if event.detail else ""
        lines.append(f"• {ctx.when(event.at)}: {who}: {event.action}{detail}")
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
    ws = ctx.member.workspace
    if "policy" in args and args["policy"] != ws.followup_policy:
        ws.followup_policy = args["policy"]
        await replan_follow_ups(ctx.uow, ws, ctx.default_tz, ctx.now)
        _audit(ctx, "policy", ws.followup_policy)
        title = "Follow-up policy changed"
    else:
        title = "Follow-up policy"
    others = [p for p in FOLLOW_UP_POLICIES if p != ws.followup_policy]
    return Message(
        title=title,
        text=(
            f"{ws.followup_policy}: {_POLICIES[ws.followup_policy]}. Students' pending "
            f"reminders follow it. Switch with /tiara coach policy {others[0]}"
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
    ws = ctx.member.workspace
    action = args.get("action", "list")
    changed: list[str] = []
    if "country" in args or "subdivision" in args:
        changed.append(_set_holiday_country(ws, args))
    if action != "list":
        example = f"/tiara coach holidays {action} 2026-12-24, 2026-12-31"
        if "date" not in args:
            raise UserError(f"Say which days: {example}", option="date")
        read = parse_date_list(
            args["date"],
            example=example,
            order=ctx.date_order,
            today=ctx.now.astimezone(ZoneInfo(ctx.tz)).date(),
        )
        typed = {day.isoformat() for day in read}
        days = set(ws.holidays)
        if action == "add":
            fresh, same = typed - days, typed & days
            ws.holidays = sorted(days | typed)
        else:
            fresh, same = typed & days, typed - days
            ws.holidays = sorted(days - typed)
        if not fresh:
            already = "already a holiday" if action == "add" else "not a holiday"
            shown = ", ".join(sorted(same))
            raise UserError(
                f"{shown} {'is' if len(same) == 1 else 'are'} {already}; nothing changed.",
                option="date",
            )
        changed.append(f"{action} {', '.join(sorted(fresh))}")
    if changed:
        # Every policy's follow-ups move off holidays.
        await replan_follow_ups(ctx.uow, ws, ctx.default_tz, ctx.now)
        for detail in changed:
            _audit(ctx, "holidays", detail)
    return Message(
        title="Holidays changed" if changed else "Holidays",
        text=_holidays_text(
            ws, ctx.now.astimezone(ZoneInfo(workspace_tz(ws, ctx.default_tz))).date()
        ),
    )


def _set_holiday_country(ws: Workspace, args: dict[str, Any]) -> str:
    """Apply ``country=`` / ``subdivision=``; the audit line for it."""
    country = args.get("country", ws.holiday_country)
    if country is None or str(country).strip().casefold() in {"none", "no", "off", "-", ""}:
        if args.get("subdivision"):
            raise UserError(
                "Say the country too, e.g. /tiara coach holidays country=US subdivision=NY",
                option="country",
            )
        ws.holiday_country = ws.holiday_subdivision = None
        return "country none"
    code, sub = resolve_country(str(country), args.get("subdivision"))
    if "subdivision" not in args and code == ws.holiday_country:
        sub = ws.holiday_subdivision  # the same country: its region stays
    ws.holiday_country, ws.holiday_subdivision = code, sub
    return f"country {code}" + (f"-{sub}" if sub else "")


def _holidays_text(ws: Workspace, today: date) -> str:
    calendar = workspace_calendar(ws)
    lines = []
    if calendar.country:
        lines.append(f"Public holidays of {calendar.place} don't count as business days.")
    else:
        lines.append(
            "No country calendar: only weekends and the days below are skipped. "
            "Add one: /tiara coach holidays country=US"
        )
    coming = calendar.upcoming(today, days=120)
    if coming:
        lines.append("\nComing up:")
        lines += [f"• {day_label(day, today)}: {name}" for day, name in coming[:8]]
        if len(coming) > 8:
            lines.append(f"…and {len(coming) - 8} more in the next four months")
    own = ", ".join(ws.holidays) if ws.holidays else "none"
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
    ws = ctx.member.workspace
    changes: dict[str, int] = {}
    if "day" in args:
        changes["practice_day"] = practice_cadence.weekday(args["day"])
    if "time" in args:
        changes["practice_time"] = practice_cadence.start_time(args["time"])
    if "every" in args:
        changes["practice_every_weeks"] = int(args["every"])
    tz = workspace_tz(ws, ctx.default_tz)
    running = await ctx.uow.practice.running_round(ws.id, ctx.now)
    if changes:
        practice_cadence.change_cadence(
            ws,
            changes,
            tz=tz,
            now=ctx.now,
            running_until=running.ends_at if running is not None else None,
        )
        _audit(ctx, "cadence", practice_cadence.cadence_text(ws))
    if ws.next_round_at is None:
        upcoming = " Rounds start once someone joins practice."
    elif running is not None:
        # The round on now runs to its end: the next one (new cadence or not) follows it.
        upcoming = (
            f" Round {running.number} runs until {ctx.when(running.ends_at)}; "
            + ("the new cadence starts with" if changes else "the next is")
            + f" round {ws.rounds_held + 1} on {ctx.when(ws.next_round_at)}."
        )
    else:
        upcoming = f" The next round starts {ctx.when(ws.next_round_at)}."
    return Message(
        title="Practice cadence changed" if changes else "Practice cadence",
        text=f"Rounds: {practice_cadence.cadence_text(ws)} ({tz}).{upcoming}",
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
    ws = ctx.member.workspace
    if "channel" in args:
        ws.practice_channel = practice_cadence.channel(args["channel"])
        _audit(ctx, "channel", ws.practice_channel)
    where = f"#{ws.practice_channel}" if ws.practice_channel else "no channel yet"
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
    member = ctx.member
    if "digest" in args:
        if args["digest"]:
            if member.digest_next_at is None:
                member.digest_next_at = next_digest(member, ctx.tz, ctx.now)
        else:
            member.digest_next_at = None
        _audit(ctx, "digest", "on" if args["digest"] else "off")
    if member.digest_next_at is None:
        text = "Your weekly digest is off. Turn it on: /tiara coach digest on"
    else:
        text = (
            f"Your weekly digest is on: the next one arrives {ctx.when(member.digest_next_at)}, "
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
    ws = ctx.member.workspace
    if ws.next_round_at is None:
        raise UserError(
            "No one has joined practice yet, so there's no one to pair. Ask students to "
            "type /tiara practice join."
        )
    practice = ctx.uow.practice
    running = await practice.running_round(ws.id, ctx.now)
    if running is not None and not args.get("end_running"):
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
    if running is not None:
        await practice.end_early(running, ctx.now)  # closed just before the new one starts
    ws.next_round_at = ctx.now
    _audit(ctx, "round", "now")
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
    member = ctx.member
    contacts = await ctx.uow.coach.contacts_of(member.id)
    meetings = await ctx.uow.coach.meetings_of(member.id)
    requests = await ctx.uow.coach.requests_of(member.id)
    upcoming = [m for m in meetings if m.held_at > ctx.now]
    tz, now, key = ctx.tz, ctx.now, f"{member.workspace_id}:{member.id}"

    async def files() -> Message:
        """Written once the rows are read and the transaction is over."""
        table = export_csv(contacts, requests, meetings, tz=tz)
        calendar = export_ics(upcoming, now=now, calendar_key=key)
        stamp = now.date().isoformat()
        return Message(
            title="Your data",
            text=(
                f"{plural(len(meetings), 'meeting')}, {plural(len(requests), 'request')} and "
                f"{plural(len(contacts), 'contact')} in a spreadsheet (opens in Excel or "
                f"Google Sheets), and {plural(len(upcoming), 'upcoming meeting')} in a "
                "calendar file to import."
            ),
            attachments=(
                Attachment(f"tiara-export-{stamp}.csv", table, "text/csv", "Your Tiara data"),
                Attachment(
                    f"tiara-meetings-{stamp}.ics", calendar, "text/calendar", "Upcoming meetings"
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
    member = ctx.member
    if args.get("cancel"):
        return Message(title="Nothing was erased", text="Everything you saved is still here.")
    if not args.get("confirm"):
        meetings = sum(await ctx.uow.tracker.count_meetings(member.id, ctx.now))
        contacts = len(await ctx.uow.tracker.contact_names(member.id))
        return Message(
            title="Erase everything about you?",
            text=(
                f"This deletes your {plural(contacts, 'contact')}, "
                f"{plural(meetings, 'meeting')}, your requests, "
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
    ws = member.workspace
    removed = await ctx.uow.coach.erase(member, ws)
    ctx.uow.coach.record(ws.id, at=ctx.now, action="erased", detail=f"{removed} rows")
    ctx.erased = True
    return Message(
        title="Erased",
        text=(
            "Everything Tiara knew about you is gone: contacts, meetings, requests, notes, "
            "reminders and settings. If you use Tiara again, you start fresh."
        ),
    )
