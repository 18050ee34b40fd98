"""The schema. Every row carries its workspace; times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.enums import NudgeStatus, PracticeStatus, RequestStatus

__all__ = [
    "AuditEvent",
    "Base",
    "Contact",
    "Landing",
    "Leased",
    "Meeting",
    "Member",
    "MemberOwned",
    "Nudge",
    "OutreachRequest",
    "PracticeGroup",
    "PracticeRound",
    "PracticeSeat",
    "ProcessedEvent",
    "PromptSeen",
    "StoredPayload",
    "UTCDateTime",
    "Workspace",
    "changed_by_member",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and hands them back aware, on every backend."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def partial_index(name: str, column: str, where: str) -> Index:
    """An index of only the rows ``where`` holds: the few a tick looks for among many."""
    return Index(name, column, postgresql_where=text(where), sqlite_where=text(where))


class Leased:
    """Columns of a row a worker claims before sending it: until ``lease_until`` nobody
    else takes it, and ``claim_token`` says which claim it was."""

    lease_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))


class MemberOwned:
    """Columns of a row that belongs to one member of one workspace."""

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))


class Workspace(Base):
    """A Slack workspace, a Discord server or a console session."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    # Set by a coach; until then the configured default (TIARA_TIMEZONE) applies.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # How unanswered requests are followed up: "seeds" (2 weeks, twice) or "3b7".
    followup_policy: Mapped[str] = mapped_column(String(8), default="seeds")
    # ISO dates (YYYY-MM-DD) that don't count as business days.
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The public holidays of this country (ISO 3166 code, e.g. "US") and optionally one of
    # its subdivisions ("CA") also don't count, as the `holidays` package lists them.
    holiday_country: Mapped[str | None] = mapped_column(String(3))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(8))
    # Peer practice: where rounds are announced and when they start (local to the
    # workspace's timezone): weekday 0 = Monday, minutes after midnight, every N weeks.
    practice_channel: Mapped[str | None] = mapped_column(String(80))
    practice_day: Mapped[int] = mapped_column(Integer, default=0)
    practice_time: Mapped[int] = mapped_column(Integer, default=10 * 60)
    practice_every_weeks: Mapped[int] = mapped_column(Integer, default=1)
    # Set once someone joins practice; moved on by each round (UTC).
    next_round_at: Mapped[datetime | None]
    rounds_held: Mapped[int] = mapped_column(Integer, default=0)  # scheduled rounds only
    created_at: Mapped[datetime]


class Member(Base):
    """A student or coach in a workspace."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id"),
        # What every tick asks: digests due. Only the few coaches who want one are indexed.
        partial_index("ix_members_digest_due", "digest_next_at", "digest_next_at IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    # The timezone the member chose; None follows their platform profile, then the workspace.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # From the platform's profile (Slack's users.info), refreshed by the adapter.
    platform_timezone: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(80))
    profile_checked_at: Mapped[datetime | None]
    # When the member was told which timezone their reminders use, having set none and
    # with none from their platform (Discord has no profile timezone): asked once.
    timezone_asked_at: Mapped[datetime | None]
    # How the member writes dates in digits ("dmy", "mdy", "ymd"); None: as is usual where
    # their timezone is.
    date_order: Mapped[str | None] = mapped_column(String(3))
    # Short ids count on their own per kind: the last number given to one of the member's
    # requests (R1, R2...), and to one of their meetings (M1, M2...). ``next_seq`` is the
    # requests' counter: it served both kinds until Alembic 0009.
    next_seq: Mapped[int] = mapped_column(Integer, default=0)
    next_meeting_seq: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Nudges: the member's own rhythm. Times of day are minutes after local midnight.
    nudges_on: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[int] = mapped_column(Integer, default=21 * 60)
    quiet_end: Mapped[int] = mapped_column(Integer, default=8 * 60)
    nudge_time: Mapped[int] = mapped_column(Integer, default=9 * 60)
    keep_in_touch_months: Mapped[int] = mapped_column(Integer, default=3)
    weekly_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    muted_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_nudge_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Set when a DM could not be delivered for good (DMs closed, left the workspace);
    # cleared when the member talks to the bot again.
    unreachable_at: Mapped[datetime | None]
    # Peer practice (a PracticeStatus): "out" (never joined or left), "active" or "paused"
    # (until a date, or until they resume when None); check-in rounds ignored in a row;
    # asked for a partner now and still waiting since.
    practice: Mapped[str] = mapped_column(String(8), default=PracticeStatus.OUT)
    practice_paused_until: Mapped[datetime | None]
    practice_ignored: Mapped[int] = mapped_column(Integer, default=0)
    practice_waiting_since: Mapped[datetime | None]
    # When the member last used Tiara (a command, a click): a coach sees who has gone quiet.
    # Written at most hourly.
    last_seen_at: Mapped[datetime | None]
    # Coaches only: when their weekly digest of the cohort's progress is next due (None:
    # no digest). Sending it moves this on, so two processes never send the same one.
    digest_next_at: Mapped[datetime | None]
    # Set when the member first used a coach command: coaches are left out of the
    # cohort's counts.
    coach_since: Mapped[datetime | None]

    workspace: Mapped[Workspace] = relationship(lazy="joined")


class Contact(MemberOwned, Base):
    """Someone a member reached out to, met, or was referred to."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("member_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # Case-folded, so longer than the name at times ("ß" folds to "ss"): room for 3x.
    name_key: Mapped[str] = mapped_column(String(360))
    title: Mapped[str | None] = mapped_column(String(200))
    organization: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    profile_url: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(200))
    referred_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)
    # The last time the member was in touch with them (request, reply, meeting, note).
    last_contact_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # Loaded on request only (``await contact.awaitable_attrs.referred_by``).
    referred_by: Mapped[Contact | None] = relationship(remote_side=[id])


class OutreachRequest(MemberOwned, Base):
    """A request for an informational interview that a member sent."""

    __tablename__ = "outreach_requests"
    __table_args__ = (
        UniqueConstraint("member_id", "seq"),
        Index("ix_outreach_requests_member_status", "member_id", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    via: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING)  # RequestStatus
    outcome: Mapped[str | None] = mapped_column(String(16))  # a RequestOutcome
    replied_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    contact: Mapped[Contact] = relationship(lazy="joined")


class Meeting(MemberOwned, Base):
    """An informational interview, held or upcoming."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("member_id", "seq"),
        Index("ix_meetings_member_when", "member_id", "held_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    held_at: Mapped[datetime]
    venue: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    followups: Mapped[str | None] = mapped_column(Text)
    thanks_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    contact: Mapped[Contact] = relationship(lazy="joined")


class PromptSeen(MemberOwned, Base):
    """A question from the bank already shown to a member (so the next call shows new ones)."""

    __tablename__ = "prompts_seen"
    __table_args__ = (UniqueConstraint("member_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    question_id: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime]


class Nudge(MemberOwned, Leased, Base):
    """A direct message the bot owes a member at ``due_at``: scheduled work is a row.

    ``dedupe_key`` names what the nudge is about ("thanks:m12"), so planning the same
    nudge twice changes one row. A worker claims a due row by setting ``lease_until`` and
    ``claim_token``; if it dies before marking the row sent, the lease runs out and
    another worker takes the row over.
    """

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("member_id", "dedupe_key", name="uq_nudges_member_dedupe_key"),
        UniqueConstraint("member_id", "seq", name="uq_nudges_member_seq"),
        Index("ix_nudges_member_status", "member_id", "status", "due_at"),
        # What the scheduler asks every tick: only pending rows are indexed.
        partial_index("ix_nudges_pending_due", "due_at", "status = 'pending'"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The member's short id (N4), given when the member first sees the reminder (listed
    # or sent); None until then. Once given it stays, or passes to the reminder that
    # replaces this one about the same thing (a meeting moved), never to another.
    seq: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(24))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_requests.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    practice_round_id: Mapped[int | None] = mapped_column(
        ForeignKey("practice_rounds.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime]
    # After this, sending it would be pointless (a thank-you reminder after the 24 hours).
    expires_at: Mapped[datetime | None]
    # The member asked for it later: re-planning (a settings change) keeps that wish.
    snoozed_until: Mapped[datetime | None]
    # A NudgeStatus: pending, sent, done, cancelled, expired, skipped, failed
    status: Mapped[str] = mapped_column(String(12), default=NudgeStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    member: Mapped[Member] = relationship(lazy="raise")
    meeting: Mapped[Meeting | None] = relationship(lazy="raise")
    request: Mapped[OutreachRequest | None] = relationship(lazy="raise")
    contact: Mapped[Contact | None] = relationship(lazy="raise")


def changed_by_member(nudge: Nudge, now: datetime) -> None:
    """Record that the member (or what they did) changed ``nudge``.

    A worker in the middle of sending it then finds its claim gone and leaves the row as
    the member made it; the lease still keeps other workers away until it runs out.
    """
    nudge.updated_at = now
    nudge.claim_token = None


class Landing(MemberOwned, Base):
    """A position landed or a path chosen: the moment to thank everyone who helped."""

    __tablename__ = "landings"
    __table_args__ = (Index("ix_landings_member", "member_id", "landed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(200))
    landed_at: Mapped[datetime]


class PracticeRound(Leased, Base):
    """One round of peer practice in a workspace: scheduled by the cadence, or on demand.

    ``announced_at`` is set once the announcement went out; ``lease_until`` and
    ``claim_token`` guard its sending the way they guard a nudge's. ``closed_at`` is set
    when the round ended and its check-ins were counted.
    """

    __tablename__ = "practice_rounds"
    __table_args__ = (
        Index("ix_practice_rounds_workspace", "workspace_id", "number"),
        # What every tick asks: rounds still to close, and still to announce.
        partial_index("ix_practice_rounds_open", "ends_at", "closed_at IS NULL"),
        partial_index("ix_practice_rounds_unannounced", "id", "announced_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    number: Mapped[int]  # scheduled rounds: 1, 2, 3... per workspace; 0 for a pairing on demand
    on_demand: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    checkin_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    announced_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    groups: Mapped[list[PracticeGroup]] = relationship(
        back_populates="round", lazy="raise", order_by="PracticeGroup.id"
    )


class PracticeGroup(Leased, Base):
    """A pair (or the round's one trio) and the plan sent to it."""

    __tablename__ = "practice_groups"
    __table_args__ = (partial_index("ix_practice_groups_unsent", "id", "plan_sent_at IS NULL"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(
        ForeignKey("practice_rounds.id", ondelete="CASCADE"), index=True
    )
    # The persona the "professional" plays: {"role": ..., "org": ..., "field": ...}.
    persona: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    plan_sent_at: Mapped[datetime | None]

    round: Mapped[PracticeRound] = relationship(back_populates="groups", lazy="raise")
    seats: Mapped[list[PracticeSeat]] = relationship(
        back_populates="group", lazy="raise", order_by="PracticeSeat.id"
    )


class PracticeSeat(Base):
    """One member's place in a group, and their check-in answer.

    ``member_id`` becomes NULL when the member erases their data: the others' history
    keeps an anonymous seat, so counts stay right and nobody's name remains.
    """

    __tablename__ = "practice_seats"
    __table_args__ = (
        Index("ix_practice_seats_member", "member_id", "round_id"),
        Index("ix_practice_seats_round", "round_id"),
        Index("ix_practice_seats_workspace", "workspace_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(
        ForeignKey("practice_groups.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("practice_rounds.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # A CheckinAnswer (yes, not_yet, cant); None until they answer the check-in
    answer: Mapped[str | None] = mapped_column(String(8))
    answered_at: Mapped[datetime | None]

    group: Mapped[PracticeGroup] = relationship(back_populates="seats", lazy="raise")
    member: Mapped[Member | None] = relationship(lazy="raise")


class AuditEvent(Base):
    """Something a coach did to the cohort, or a member's erasure: who, what, when.

    Never a note or a contact: ``detail`` holds the setting changed ("policy=3b7") or a
    count. An erasure names nobody, and a member who erases their data is taken out of
    the coach actions they did (``actor_user_id`` becomes None).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_workspace_at", "workspace_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor_user_id: Mapped[str | None] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200), default="")


class ProcessedEvent(Base):
    """A platform event already handled, so a redelivery (Slack retries) is handled once."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)


class StoredPayload(Base):
    """What a button or form carries when the platform's id for it is too short to hold it.

    Discord's ``custom_id`` is at most 100 characters: a button whose command and arguments
    (a contact's name, a form's draft) don't fit carries ``key`` instead, and the payload
    is kept here until ``expires_at``. ``user_id`` is the member it was drawn for: only they
    can use it, and erasing them erases it.
    """

    __tablename__ = "stored_payloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)
