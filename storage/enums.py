"""The values of the status-like columns.

Each is a ``StrEnum`` whose values are the strings the database holds, so the columns
stay plain strings (no migration): a member equals its string, and rows read back hold
the string itself.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CheckinAnswer", "NudgeStatus", "PracticeStatus", "RequestOutcome", "RequestStatus"]


class NudgeStatus(StrEnum):
    """``Nudge.status``: what became of a reminder."""

    PENDING = "pending"  # still to be sent
    SENT = "sent"
    DONE = "done"  # what it asked for was done
    CANCELLED = "cancelled"  # not needed any more before it went out
    EXPIRED = "expired"  # its moment passed before it could go out (or once sent)
    SKIPPED = "skipped"  # not sent: unwanted now (turned off, unreachable, superseded)
    FAILED = "failed"  # the platform refused it for good


class RequestStatus(StrEnum):
    """``OutreachRequest.status``: whether the contact has answered."""

    PENDING = "pending"  # waiting for a reply
    REPLIED = "replied"
    CLOSED = "closed"  # declined, or closed by the member


class RequestOutcome(StrEnum):
    """``OutreachRequest.outcome``: what the contact answered."""

    SCHEDULED = "scheduled"
    DECLINED = "declined"
    LATER = "later"  # asked to be asked again later


class PracticeStatus(StrEnum):
    """``Member.practice``: whether the member takes part in peer practice."""

    OUT = "out"  # never joined, or left
    ACTIVE = "active"
    PAUSED = "paused"


class CheckinAnswer(StrEnum):
    """``PracticeSeat.answer``: a practice round's check-in answer."""

    YES = "yes"
    NOT_YET = "not_yet"
    CANT = "cant"
