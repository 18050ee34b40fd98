"""How members are named to each other in practice messages."""

from __future__ import annotations

from storage.models import Member

__all__ = ["display_name"]


def display_name(member: Member | None) -> str:
    """A member's name as their platform shows it (their user id until the adapter has
    read their profile); a member who erased their data is anonymous."""
    if member is None:
        return "a former member"
    return member.display_name or member.user_id
