"""What a command handler gets: the member, their storage, the clock and formatting helpers."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.nudges.plan import Planner
from bot.registry import Registry
from bot.timeutil import default_date_order, format_when
from bot.usecases import Scope
from bot.values import Invocation, Message
from bot.zones import effective_timezone
from storage.models import Member
from storage.unit import UnitOfWork

__all__ = ["Context", "effective_timezone"]


@dataclass
class Context:
    """One command's view of the world, valid inside its transaction."""

    uow: UnitOfWork
    member: Member
    invocation: Invocation
    registry: Registry  # the commands this bot runs (help lists them)
    now: datetime
    rng: random.Random
    default_tz: str
    coach: bool = False  # the member is a coach of this workspace
    erased: bool = False  # the command erased the member (forget-me)
    # The answer, built once the transaction has committed: for slow work that needs no
    # database (a chart), so it doesn't hold the database (on SQLite, everyone's) meanwhile.
    # When set, it replaces what the handler returned.
    answer_after_commit: Callable[[], Awaitable[Message]] | None = None

    @property
    def tz(self) -> str:
        """The member's timezone, else the workspace's, else the configured default."""
        return effective_timezone(self.member, self.default_tz)

    @property
    def date_order(self) -> str:
        """How the member writes dates in digits: "dmy", "mdy" or "ymd", as they set it,
        else as is usual where their timezone is."""
        return self.member.date_order or default_date_order(self.tz)

    @property
    def nudges(self) -> Planner:
        """Plans this member's nudges in the command's transaction."""
        return Planner(self.uow, self.member, self.now, self.tz)

    @property
    def scope(self) -> Scope:
        """What a use case is given: this transaction, the member, the moment, their zone."""
        return Scope(self.uow, self.member, self.now, self.tz, self.rng)

    def when(self, moment: datetime) -> str:
        return format_when(moment, self.tz)
