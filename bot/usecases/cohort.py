"""Use cases of a coach's view of the cohort: the cohort's stats, the audit log of what
coaches changed, and the coach's own weekly digest.

The stats and the digest are the coach's (their timezone, their Monday): they take the
member's :class:`~bot.usecases.Scope`; the audit log is the workspace's
(:class:`~bot.usecases.workspace.WorkspaceScope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.coach.digest import next_digest
from bot.coach.stats import CohortStats, gather
from bot.usecases import Scope
from bot.usecases.workspace import WorkspaceScope

__all__ = ["AuditLine", "DigestView", "audit_log", "cohort_stats", "weekly_digest"]


@dataclass(frozen=True)
class DigestView:
    next_at: datetime | None  # None: off


async def weekly_digest(scope: Scope, on: bool | None = None) -> DigestView:
    """The coach's weekly digest; turn it ``on`` (next Monday) or off."""
    member = scope.member
    if on is not None:
        if not on:
            member.digest_next_at = None
        elif member.digest_next_at is None:
            member.digest_next_at = next_digest(member, scope.tz, scope.now)
        detail = "on" if on else "off"
        scope.uow.coach.record(
            member.workspace_id, at=scope.now, action="digest", detail=detail, actor=member
        )
    return DigestView(member.digest_next_at)


async def cohort_stats(scope: Scope, weeks: int) -> CohortStats:
    """The cohort's counts of the last ``weeks`` weeks, in the coach's timezone."""
    return await gather(
        scope.uow.session, scope.member.workspace, now=scope.now, weeks=weeks, tz=scope.tz
    )


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    who: str  # the coach's name, or "a member" (an erasure), "an erased member"
    action: str
    detail: str


async def audit_log(scope: WorkspaceScope) -> tuple[AuditLine, ...]:
    """What coaches changed lately, and erasures, the latest first."""
    events = await scope.uow.coach.audit(scope.workspace.id)
    return tuple(
        AuditLine(
            at=event.at,
            who=event.actor_name
            or ("a member" if event.action == "erased" else "an erased member"),
            action=event.action,
            detail=event.detail,
        )
        for event in events
    )
