"""What a command handler gets: the member, their storage, the clock and formatting helpers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from bot.timeutil import format_when
from bot.values import Invocation
from storage.models import Member
from storage.repo import Repo

__all__ = ["Context"]


@dataclass
class Context:
    """One command's view of the world, valid inside its transaction."""

    repo: Repo
    member: Member
    invocation: Invocation
    now: datetime
    rng: random.Random

    @property
    def tz(self) -> str:
        """The member's timezone, or the workspace default."""
        return self.member.timezone or self.member.workspace.timezone

    def when(self, moment: datetime) -> str:
        return format_when(moment, self.tz)
