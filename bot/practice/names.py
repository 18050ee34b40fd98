"""How members are named to each other in practice messages."""

from __future__ import annotations

from storage.models import Member

__all__ = ["display_name"]


def display_name(member: Member | None) -> str:
    """A member's platform name; a member who erased their data is anonymous."""
    return member.user_id if member is not None else "a former member"
