"""The dispatcher: every typed command, submitted form and clicked button goes through here."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.coach.digest import DigestRunner
from bot.context import Context, effective_timezone
from bot.convert import CONFIRMED, Question, convert_args
from bot.metrics import Health, Metrics
from bot.notify import Notifier
from bot.nudges.deliver import NudgeSender, TickReport
from bot.nudges.plan import Planner
from bot.parsing import parse_command_text
from bot.practice.rounds import PracticeRunner
from bot.registry import Command, Kind, Registry
from bot.timeutil import default_date_order, resolve_timezone, timezone_names
from bot.events import Answer, Clicked, Event, OpenForm, Prepare, Typed
from bot.values import Button, ChannelRef, Invocation, Message, UserError, UserRef
from storage.models import Member
from storage.store import Store
from storage.unit import UnitOfWork

__all__ = ["INTERNAL_ERROR", "Bot"]

log = logging.getLogger(__name__)

# How long a handled event id is remembered; platforms redeliver within minutes.
EVENT_MEMORY = timedelta(days=1)
# A member's last use of Tiara is written at most this often (coaches see who is quiet).
SEEN_EVERY = timedelta(hours=1)
# After an erasure, profile updates an adapter started around it are ignored this long,
# so they can't bring the member's row back.
ERASED_MEMORY = timedelta(minutes=10)

# /healthz counts the database as down when it takes longer than this to answer.
DATABASE_CHECK_SECONDS = 2.0

INTERNAL_ERROR = (
    "Something went wrong on my side, sorry; nothing was saved. Please try again in a "
    "moment. If it keeps happening, tell your coach."
)


class Bot:
    """Runs commands for members. Knows nothing of Slack, Discord or the console."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        registry: Registry,
        default_timezone: str = "UTC",
        rng: random.Random | None = None,
        notifier: Notifier | None = None,
        nudge_lease: timedelta = timedelta(minutes=5),
        coaches: frozenset[str] = frozenset(),
        platforms: frozenset[str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``platforms``: those this process serves. Its scheduler then sends only those
        platforms' reminders, practice posts and digests, so processes for different
        platforms can share a database. None (the console, tests): every platform."""
        self.store = store
        self.platforms = platforms
        self.metrics = Metrics()
        self.started_at = clock.now()
        self.last_tick: datetime | None = None
        self.monotonic = monotonic  # real time, for how long a tick has been running
        self._tick_began: float | None = None
        self._ticks_seen = monotonic()  # a tick last began or ended (or start-up)
        self._stopping = False
        self.coaches = coaches
        # Real time; tests that don't measure the database's speed set it high.
        self.database_check_seconds = DATABASE_CHECK_SECONDS
        self._erased: dict[UserRef, datetime] = {}
        # Per member, in this process: erasures and fresh rows seen (Bot.profile_stamp).
        self._profile_stamps: Counter[UserRef] = Counter()
        self._profile_wanted: set[UserRef] = set()
        self.clock = clock
        self.registry = registry
        self.default_timezone = default_timezone
        self.rng = rng or random.Random()
        self.notifier = notifier
        self.sender = (
            NudgeSender(
                store=store,
                notifier=notifier,
                clock=clock,
                default_timezone=default_timezone,
                lease=nudge_lease,
                platforms=platforms,
            )
            if notifier is not None
            else None
        )
        self.practice = (
            PracticeRunner(
                store=store,
                notifier=notifier,
                clock=clock,
                default_timezone=default_timezone,
                rng=self.rng,
                lease=nudge_lease,
                platforms=platforms,
            )
            if notifier is not None
            else None
        )
        self.digests = (
            DigestRunner(
                store=store,
                notifier=notifier,
                clock=clock,
                default_timezone=default_timezone,
                lease=nudge_lease,
                platforms=platforms,
                coaches=coaches,
            )
            if notifier is not None
            else None
        )

    def is_coach(self, invocation: Invocation) -> bool:
        """Coaches: whom the platform says runs the workspace, and those configured
        (``TIARA_COACHES``: a user id, or ``workspace:user`` for one workspace only)."""
        return invocation.platform_admin or invocation.user.named_in(self.coaches)

    async def tick(self) -> TickReport:
        """Send the nudges that are due now (the scheduler calls this every ~30 s)."""
        if self.sender is None or self.practice is None:
            raise RuntimeError("this bot has no notifier, so it can't send nudges")
        self._tick_began = self._ticks_seen = self.monotonic()
        try:
            report = await self._tick(self.sender, self.practice)
        except Exception:
            self.metrics.ticks.labels("failed").inc()
            raise
        finally:
            self._tick_began = None
            self._ticks_seen = self.monotonic()
        self.metrics.ticks.labels("ok").inc()
        self.last_tick = self.clock.now()
        self.metrics.last_tick.set(self.last_tick.timestamp())
        return report

    async def _tick(self, sender: NudgeSender, practice: PracticeRunner) -> TickReport:
        # Rounds first: starting one plans nudges (a member left alone is told at once).
        # Practice trouble is logged and must never hold up the reminders.
        try:
            if not self._stopping:
                rounds = await practice.tick()
                self.metrics.rounds.inc(rounds.rounds_started)
        except Exception as err:
            log.error("the practice step of the tick failed with %s", type(err).__name__)
        now = self.clock.now()
        async with self.store.unit() as uow:
            await uow.inbox.forget_events(now - EVENT_MEMORY)
            await uow.inbox.forget_expired_payloads(now)
            pending, oldest = await uow.nudges.pending_summary(now, platforms=self.platforms)
        # As the tick starts: how many wait, and how overdue the oldest due one is.
        self.metrics.pending.set(pending)
        self.metrics.lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        report = await sender.tick()
        for result in ("sent", "failed", "retrying", "expired", "skipped", "deferred"):
            self.metrics.nudges.labels(result).inc(getattr(report, result))
        # Coaches' digests last: a slow chart must never hold up the members' reminders.
        try:
            if self.digests is not None and not self._stopping:
                await self.digests.tick()
        except Exception as err:
            log.error("the digest step of the tick failed with %s", type(err).__name__)
        return report

    def stop_soon(self) -> None:
        """The process is stopping: a tick under way finishes the sends it has begun,
        records them and releases the rest (see NudgeSender.stop_soon); it starts no
        practice round step or digest."""
        self._stopping = True
        if self.sender is not None:
            self.sender.stop_soon()

    def tick_running_for(self) -> float | None:
        """Seconds the tick under way has been running (None: none is). A database outage
        makes ticks fail quickly; one that runs on and on is hung."""
        began = self._tick_began
        return None if began is None else self.monotonic() - began

    def ticks_idle_for(self) -> float:
        """Seconds since a tick last began or ended, failed ones included (or since
        start-up). Ticks run every interval even through an outage; when none has for a
        long while, the scheduler has stopped."""
        return self.monotonic() - self._ticks_seen

    async def health(self, *, max_tick_age: timedelta) -> Health:
        """Whether the database answers (within ``database_check_seconds``) and the
        scheduler has ticked within ``max_tick_age`` (counted from start-up until the first
        tick)."""
        try:
            async with asyncio.timeout(self.database_check_seconds):
                await self.store.ping()
            database = True
        except Exception as err:
            log.warning("health check: the database failed with %s", type(err).__name__)
            database = False
        since = self.last_tick or self.started_at
        ticking = self.sender is None or self.clock.now() - since <= max_tick_age
        return Health(database=database, scheduler=ticking, last_tick=self.last_tick)

    async def next_due(self, until: datetime) -> datetime | None:
        """When the next nudge is due or round starts or ends, if before ``until`` (for the
        console's clock)."""
        now = self.clock.now()
        async with self.store.unit() as uow:
            found = [
                await uow.nudges.next_due(after=now, until=until),
                await uow.practice.next_event(after=now, until=until),
            ]
        return min((f for f in found if f is not None), default=None)

    def parse(self, text: str, user: UserRef, channel: ChannelRef | None = None) -> Invocation:
        """Read typed text (Slack's command text, a console line) into an invocation."""
        parsed = parse_command_text(self.registry, text)
        return Invocation(parsed.command.path, parsed.args, user, channel)

    async def handle(
        self,
        event: Event,
        user: UserRef,
        *,
        channel: ChannelRef | None = None,
        platform_admin: bool = False,
        prepare: Prepare | None = None,
    ) -> Answer:
        """The one way in: what a member typed, clicked or submitted, and what to show them.

        Typed text without values, and a button that asks for it, open the command's form
        (no database work: Slack allows three seconds to open one); anything else runs the
        command (see :meth:`dispatch`), after ``prepare`` when the adapter gave one.
        """
        try:
            if isinstance(event, Typed):
                invocation = self.parse(event.text, user, channel)
                command = self.registry.get(invocation.command)
                form = command.form if not invocation.args else None
                defaults: Mapping[str, object] = {}
            elif isinstance(event, Clicked):
                button = event.button
                command = self.registry.get(button.command)
                invocation = Invocation(command.path, button.args, user, channel)
                opens = command.form is not None and (button.opens_form or not button.args)
                form = command.form if opens else None
                defaults = button.args
            else:
                command = self.registry.get(event.command)
                invocation = Invocation(command.path, event.values, user, channel)
                form = None
                defaults = {}
        except UserError as err:
            return Message(text=err.message, error=True)
        invocation = replace(invocation, platform_admin=platform_admin)
        if form is not None:
            fallback = Message(
                text=(
                    "I couldn't open the form in time. Type the values inline instead: "
                    f"`/tiara {command.usage}`"
                ),
                error=True,
            )
            return OpenForm(form, invocation, defaults, fallback)
        if prepare is not None:
            invocation = await prepare(invocation)
        return await self.dispatch(invocation)

    async def handle_text(
        self, text: str, user: UserRef, channel: ChannelRef | None = None
    ) -> Message:
        """Parse and dispatch typed text; mistakes come back as a friendly message."""
        try:
            invocation = self.parse(text, user, channel)
        except UserError as err:
            return Message(text=err.message, error=True)
        return await self.dispatch(invocation)

    async def dispatch(self, invocation: Invocation) -> Message:
        """Run one command for one member, in one transaction.

        A ``UserError`` rolls everything back and becomes a private error message; so does
        any other failure, which is logged (without arguments) and answered with
        ``INTERNAL_ERROR``.
        """
        started = time.perf_counter()
        outcome = "ok"
        user = invocation.user
        was_unreachable = False
        unread = False
        command: Command | None = None
        try:
            command = self.registry.get(invocation.command)
            coach = self.is_coach(invocation)
            if command.coach_only and not coach:
                outcome = "not_coach"
                return Message(
                    text=(
                        f"Only coaches can use /tiara {command.name}. If you run this cohort, "
                        "ask whoever set Tiara up to add your user id to TIARA_COACHES "
                        "(workspace admins are coaches already)."
                    ),
                    error=True,
                )
            async with self.store.unit() as uow:
                now = self.clock.now()
                member = await uow.members.ensure(user.platform, user.workspace, user.user, now=now)
                # A member row made here, without the platform's profile: first contact the
                # adapter didn't read for, or a member back after erasing (maybe in another
                # process, whose adapter still thinks it read them today).
                unread = uow.is_new(member) and member.profile_checked_at is None
                if member.unreachable_at is not None or not member.active:
                    was_unreachable = True  # they are talking to us, so DMs work again
                    member.unreachable_at = None
                    member.active = True
                if member.last_seen_at is None or now - member.last_seen_at >= SEEN_EVERY:
                    member.last_seen_at = now
                if command.coach_only and member.coach_since is None:
                    member.coach_since = now  # left out of the cohort's counts from now on
                ctx = Context(
                    uow=uow,
                    member=member,
                    invocation=invocation,
                    registry=self.registry,
                    now=now,
                    rng=self.rng,
                    default_tz=self.default_timezone,
                    coach=coach,
                )
                args = convert_args(
                    command,
                    invocation.args,
                    tz=ctx.tz,
                    now=now,
                    order=ctx.date_order,
                    order_chosen=member.date_order is not None,
                )
                answer = await command.handler(ctx, args)
                if ctx.erased:
                    self._forget(user, now)
                elif ctx.answer_after_commit is None:
                    answer = await self._mention_timezone(uow, member, answer, ctx.tz, now)
            if ctx.erased:
                # The erased rows must leave the files too, not wait in SQLite's log.
                await self.store.scrub()
            elif unread:
                self._profile_wanted.add(user)
                self._profile_stamps[user] += 1
            if ctx.answer_after_commit is not None:
                answer = await ctx.answer_after_commit()  # the database is free again
            return answer
        except Question as question:
            # Nothing was saved: the member answers with a button, or types it again.
            outcome = "question"
            assert command is not None
            return self._question(command, invocation, question, now)
        except UserError as err:
            outcome = "user_error"
            return Message(text=err.message, error=True, error_option=err.option)
        except Exception as err:
            # Exception messages can quote SQL parameters (members' notes): log the type and
            # where it happened, never the message or the arguments.
            outcome = "failed"
            log.error(
                "command %s failed with %s\n%s",
                " ".join(invocation.command),
                type(err).__name__,
                "".join(traceback.format_tb(err.__traceback__)),
            )
            return Message(text=INTERNAL_ERROR, error=True)
        finally:
            if was_unreachable and outcome != "ok":
                # The command's transaction rolled back; DMs work again all the same.
                async with self.store.unit() as uow:
                    await uow.members.clear_unreachable(user.platform, user.workspace, user.user)
            # Never log arguments: they hold members' notes and contacts. A command that
            # isn't known is counted as "unknown": labels never carry what a user typed.
            seconds = time.perf_counter() - started
            name = command.name if command is not None else "unknown"
            self.metrics.commands.labels(name, outcome).inc()
            self.metrics.latency.labels(name).observe(seconds)
            log.debug("command %s %s in %.1f ms", name, outcome, seconds * 1000)

    @staticmethod
    def _question(
        command: Command, invocation: Invocation, question: Question, now: datetime
    ) -> Message:
        """A question about one value: a button per answer, each running the same command
        again with that value, and a way to change it instead."""
        option = question.option or ""
        # A mistyped choice isn't confirmed by picking the right one: the command's other
        # values (a surprising date, say) are still checked.
        confirmed = {} if question.fix == "choice" else {CONFIRMED: True}
        buttons = [
            Button(
                choice.label,
                command.path,
                {**invocation.args, option: choice.value, **confirmed},
                style="primary" if index == 0 else None,
            )
            for index, choice in enumerate(question.choices)
        ]
        if question.fix == "timezone":
            how = (
                "Or type it again with your city's zone, e.g. timezone=Europe/Berlin or "
                "timezone=America/Chicago."
            )
        elif question.fix == "date":
            if command.form is not None and any(f.name == option for f in command.form.fields):
                rest = {k: v for k, v in invocation.args.items() if k not in (option, CONFIRMED)}
                buttons.append(Button("Change the date", command.path, rest, opens_form=True))
            typed = command.option(option)
            past = typed is not None and typed.kind is Kind.PAST_WHEN
            example = (now + timedelta(days=-1 if past else 1)).date().isoformat()
            how = (
                f"Or type the command again with another {option}=, e.g. "
                f'{option}="{example} 15:00".'
            )
        else:
            how = f"Or type the command again with the {option}= you meant."
        return Message(
            text=f"{question.message}\n\n{how}",
            buttons=tuple(buttons),
            error=question.fix == "choice",  # a mistake, not a question about what was meant
        )

    def _forget(self, user: UserRef, now: datetime) -> None:
        """Remember an erasure for a while, so profile updates don't recreate the member."""
        self._erased = {u: t for u, t in self._erased.items() if now - t < ERASED_MEMORY}
        self._erased[user] = now
        self._profile_stamps[user] += 1

    def profile_stamp(self, user: UserRef) -> int:
        """Taken by an adapter as it starts reading a member's profile, and handed back to
        :meth:`update_profile`: a profile read before an erasure is then dropped, while one
        read after it (the member came back) is kept. It changes when the member erases
        their data, and when a command makes their row afresh without a profile."""
        return self._profile_stamps[user]

    def profile_wanted(self, user: UserRef) -> bool:
        """Whether the member's row was made by a command, without their platform profile
        (say, they erased their data through another process, and this one's adapter
        thought it had read them today): the adapter should read it now."""
        return user in self._profile_wanted

    def _just_erased(self, user: UserRef, now: datetime) -> bool:
        erased = self._erased.get(user)
        return erased is not None and now - erased < ERASED_MEMORY

    @staticmethod
    async def _mention_timezone(
        uow: UnitOfWork, member: Member, answer: Message, tz: str, now: datetime
    ) -> Message:
        """Once, when a member who has no timezone (neither chosen nor from their platform's
        profile, which Discord and the console don't have) gets their first reminder, say
        which timezone their reminders use and how to set theirs."""
        if (
            answer.error
            or member.timezone is not None
            or member.platform_timezone is not None
            or member.timezone_asked_at is not None
            or not await uow.nudges.count_pending(member.id)
        ):
            return answer
        member.timezone_asked_at = now
        hint = (
            f"Your reminders follow {tz} time for now. To get them at your own hours, set "
            "your timezone: `/tiara settings timezone=America/Chicago` (any city's zone name)."
        )
        return replace(answer, text=f"{answer.text}\n\n{hint}" if answer.text else hint)

    async def check_option(
        self, user: UserRef, command: tuple[str, ...], name: str, value: str
    ) -> str | None:
        """Why ``value`` won't do for option ``name`` of ``command``, or None if it will: a
        form checks each answer as it is given (in the member's timezone and date order).
        Saves nothing; a value that needs the member's word (a question) passes, the
        command asks it."""
        found = self.registry.get(command)
        async with self.store.unit() as uow:
            member = await uow.members.find(user.platform, user.workspace, user.user)
            tz = (
                self.default_timezone
                if member is None
                else effective_timezone(member, self.default_timezone)
            )
            chosen = member.date_order if member is not None else None
        try:
            convert_args(
                found,
                {name: value},
                tz=tz,
                now=self.clock.now(),
                order=chosen or default_date_order(tz),
                order_chosen=chosen is not None,
            )
        except Question:
            return None
        except UserError as err:
            return err.message if err.option == name else None
        return None

    async def suggest(self, user: UserRef, kind: Kind, typed: str, *, limit: int = 25) -> list[str]:
        """Values the member may mean for an option of ``kind`` as they type ``typed``: their
        own contacts' names for a name, timezone names for a timezone (autocomplete)."""
        folded = typed.casefold().strip()
        if kind is Kind.TIMEZONE:
            folded = folded.replace(" ", "_")
            return [z for z in timezone_names() if folded in z.casefold()][:limit]
        if kind is not Kind.NAME:
            return []
        async with self.store.unit() as uow:
            member = await uow.members.find(user.platform, user.workspace, user.user)
            if member is None:
                return []
            names = await uow.tracker.contact_names(member.id)
        starts = [n for n in names if n.casefold().startswith(folded)]
        within = [n for n in names if folded in n.casefold() and n not in starts]
        return (starts + within)[:limit]

    async def update_profile(
        self,
        user: UserRef,
        *,
        timezone: str | None = None,
        display_name: str | None = None,
        active: bool = True,
        known_only: bool = False,
        stamp: int | None = None,
    ) -> None:
        """Record what the platform says about a member (an adapter reads their profile).

        A timezone the platform reports is used unless the member chose one; when it
        changes what the member's times mean, their pending reminders are planned again.
        An unknown timezone name is ignored. ``active=False`` means the member left or
        was deactivated: nothing more is sent to them until they talk to Tiara again.
        With ``known_only`` someone who never used Tiara is left unrecorded (a platform
        reports changes to everyone's profile). ``stamp`` (from :meth:`profile_stamp`,
        taken when the read began) tells a read that began after an erasure, which is
        kept, from one that an erasure overtook, which is dropped; without it, updates in
        the ten minutes after an erasure are dropped.
        """
        zone: str | None = None
        if timezone:
            try:
                zone = resolve_timezone(timezone)
            except UserError:
                log.info("ignored a platform timezone this bot doesn't know")
        async with self.store.unit() as uow:
            now = self.clock.now()
            if stamp is not None:
                if stamp != self.profile_stamp(user):
                    return  # erased while the profile was being read
            elif self._just_erased(user, now):
                return
            if known_only:
                found = await uow.members.find(user.platform, user.workspace, user.user)
                if found is None:
                    return
                member = found
            else:
                member = await uow.members.ensure(user.platform, user.workspace, user.user, now=now)
            before = effective_timezone(member, self.default_timezone)
            if zone is not None:
                member.platform_timezone = zone
            if display_name:
                member.display_name = " ".join(display_name.split())[:80] or None
            member.active = active
            member.profile_checked_at = now
            self._profile_wanted.discard(user)
            after = effective_timezone(member, self.default_timezone)
            if after != before:
                await Planner(uow, member, now, after).replan()

    async def first_delivery(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen, False for a redelivery (in any process)."""
        async with self.store.unit() as uow:
            return await uow.inbox.first_sighting(platform, event_id, self.clock.now())

    async def dashboard(self, user: UserRef) -> list[Message]:
        """The member's dashboard (Slack's App Home): what's coming up, what's waiting for
        them, their practice status, and buttons to log a meeting or get questions. For
        someone Tiara doesn't know, only the buttons."""
        start = Message(
            text=("Your informational interviews at a glance. Everything here is private to you."),
            buttons=(
                Button("Log a meeting", ("log",), style="primary", opens_form=True),
                Button("TIARA questions", ("prompts",)),
                Button("Help", ("help",)),
            ),
        )
        parts = [start]
        async with self.store.unit() as uow:
            known = await uow.members.find(user.platform, user.workspace, user.user)
        if known is None:
            # Someone who never used Tiara (or just erased their data): looking at the
            # dashboard must not create a member row.
            return parts
        for words in (("meetings",), ("followups",), ("practice", "status")):
            parts.append(await self.dispatch(Invocation(words, {}, user)))
        return parts

    async def timezone_of(self, user: UserRef) -> str:
        """The member's timezone (the workspace default for someone new)."""
        async with self.store.unit() as uow:
            member = await uow.members.find(user.platform, user.workspace, user.user)
            if member is None:
                return self.default_timezone
            return effective_timezone(member, self.default_timezone)
