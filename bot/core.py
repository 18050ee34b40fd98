"""The dispatcher: every typed command, submitted form and clicked button goes through here."""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.context import Context, effective_timezone
from bot.convert import CONFIRMED, Question, convert_args
from bot.dashboard import dashboard
from bot.events import Answer, Clicked, Event, Invoked, OpenForm, Prepare, Typed
from bot.nudges.deliver import TickReport
from bot.parsing import parse_command_text
from bot.profiles import Profiles
from bot.registry import Command, Kind, Registry
from bot.ticking import Ticker
from bot.timeutil import default_date_order, timezone_names
from bot.usecases import Scope
from bot.usecases.arrival import arrive
from bot.values import Button, ChannelRef, Invocation, Message, UserError, UserRef
from storage.models import Member
from storage.store import Store
from storage.unit import UnitOfWork

__all__ = ["INTERNAL_ERROR", "STALE_BUTTON", "Bot"]

log = logging.getLogger(__name__)


STALE_BUTTON = (
    "This button has expired or belongs to an older version of Tiara. Type the command "
    "instead: `/tiara help` lists them all."
)
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
        profiles: Profiles,
        ticker: Ticker,
        default_timezone: str = "UTC",
        rng: random.Random | None = None,
        coaches: frozenset[str] = frozenset(),
    ) -> None:
        """Built by ``adapters.bootstrap``, which hands in the parts: the ``registry`` of
        commands, the members' ``profiles`` and the ``ticker`` that sends what falls due."""
        self.store = store
        self.clock = clock
        self.registry = registry
        self.profiles = profiles
        self.ticker = ticker
        self.metrics = ticker.metrics
        self.default_timezone = default_timezone
        self.rng = rng or random.Random()
        self.coaches = coaches

    def is_coach(self, invocation: Invocation) -> bool:
        """Coaches: whom the platform says runs the workspace, and those configured
        (``TIARA_COACHES``: a user id, or ``workspace:user`` for one workspace only)."""
        return invocation.platform_admin or invocation.user.named_in(self.coaches)

    async def tick(self) -> TickReport:
        """Send what is due now (see :meth:`Ticker.tick`)."""
        return await self.ticker.tick()

    async def timezone_of(self, user: UserRef) -> str:
        """The member's timezone (the workspace default for someone new)."""
        return await self.profiles.timezone_of(user)

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
            else:
                path = event.button.command if isinstance(event, Clicked) else event.command
                command = self.registry.get(path)
        except UserError as err:
            if isinstance(event, Typed | Invoked):
                return Message(text=err.message, error=True)
            # A button or form of a command this version doesn't have (or a forged one).
            return Message(text=STALE_BUTTON, error=True)
        defaults: Mapping[str, object] = {}
        form = None
        if isinstance(event, Typed):
            command = self.registry.get(invocation.command)
            form = command.form if not invocation.args else None
        elif isinstance(event, Invoked):
            invocation = Invocation(command.path, event.args, user, channel)
            form = command.form if not event.args else None
        elif isinstance(event, Clicked):
            button = event.button
            invocation = Invocation(command.path, button.args, user, channel)
            if command.form is not None and (button.opens_form or not button.args):
                form, defaults = command.form, button.args
        else:
            invocation = Invocation(command.path, event.values, user, channel)
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
                arrival = await arrive(uow, user, now, as_coach=command.coach_only)
                member, unread = arrival.member, arrival.unread
                was_unreachable = arrival.was_unreachable
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
                    self.profiles.forget(user, now)
                elif ctx.answer_after_commit is None:
                    answer = await self._mention_timezone(uow, member, answer, ctx.tz, now)
            if ctx.erased:
                # The erased rows must leave the files too, not wait in SQLite's log.
                await self.store.scrub()
            elif unread:
                self.profiles.made_unread(user)
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

    async def first_delivery(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen, False for a redelivery (in any process)."""
        async with self.store.unit() as uow:
            return await uow.inbox.first_sighting(platform, event_id, self.clock.now())

    async def dashboard(self, user: UserRef) -> list[Message]:
        """The member's dashboard (Slack's App Home; ``/tiara home`` elsewhere): what's
        coming up, what's waiting for them, their practice status, and buttons to log a
        meeting or get questions (see :func:`bot.dashboard.dashboard`). Looking at it must
        not create a member row: for someone Tiara doesn't know, only the buttons."""
        async with self.store.unit() as uow:
            now = self.clock.now()
            known = await uow.members.find(user.platform, user.workspace, user.user)
            if known is None:
                return await dashboard(None, default_tz=self.default_timezone)
            member = (await arrive(uow, user, now, as_coach=False)).member
            tz = effective_timezone(member, self.default_timezone)
            scope = Scope(uow, member, now, tz, self.rng)
            return await dashboard(scope, default_tz=self.default_timezone)
