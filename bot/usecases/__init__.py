"""Use cases: what Tiara does, whoever asks for it.

A use case is a function over a :class:`Scope` (the unit of work, the member acting, the
moment and their timezone) that takes typed arguments and returns a result value. It
never builds a reply: a command handler reads its arguments, calls the use case and
renders the result; the CLI and the dashboard call the same functions. A use case raises
:class:`~bot.values.UserError` for what the member must change (nothing is saved: the
transaction rolls back) and :class:`~bot.convert.Question` for what needs their word.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from bot.nudges.plan import Planner
from bot.timeutil import format_when
from storage.models import Member
from storage.unit import UnitOfWork

__all__ = ["Scope"]


@dataclass(frozen=True)
class Scope:
    """Who acts, when, and in which transaction: what every use case is given."""

    uow: UnitOfWork
    member: Member
    now: datetime
    tz: str  # the member's timezone (bot.zones.effective_timezone)
    rng: random.Random = field(default_factory=random.Random)

    @property
    def nudges(self) -> Planner:
        """Plans this member's nudges in this transaction."""
        return Planner(self.uow, self.member, self.now, self.tz)

    def when(self, moment: datetime) -> str:
        return format_when(moment, self.tz)
