"""The schema. Every row carries its workspace; times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
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
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Contact",
    "Meeting",
    "Member",
    "MemberOwned",
    "OutreachRequest",
    "PromptSeen",
    "UTCDateTime",
    "Workspace",
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
    created_at: Mapped[datetime]


class Member(Base):
    """A student or coach in a workspace."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    next_seq: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

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
    status: Mapped[str] = mapped_column(String(16), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(16))
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
