"""What arrives from the platforms: events already handled (so a redelivery is handled
once), and payloads too long for a button to carry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedEvent, StoredPayload

__all__ = ["InboxRepo"]


class InboxRepo:
    """Handled events and kept payloads inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_sighting(self, platform: str, event_id: str, now: datetime) -> bool:
        """Record a platform event as handled; False if it was already (a redelivery)."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    ProcessedEvent(platform=platform, event_id=event_id, received_at=now)
                )
        except IntegrityError:
            return False
        return True

    async def forget_events(self, before: datetime) -> None:
        """Drop handled events older than any redelivery can be."""
        await self.session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.received_at < before)
        )

    async def keep_payload(
        self,
        key: str,
        *,
        platform: str,
        workspace: str,
        user_id: str,
        payload: str,
        expires_at: datetime,
    ) -> None:
        """Keep ``payload`` under ``key`` until ``expires_at`` (a later expiry wins when the
        same key is kept again)."""
        found = (
            await self.session.execute(select(StoredPayload).where(StoredPayload.key == key))
        ).scalar_one_or_none()
        if found is not None:
            found.expires_at = max(found.expires_at, expires_at)
            return
        try:
            async with self.session.begin_nested():
                self.session.add(
                    StoredPayload(
                        key=key,
                        platform=platform,
                        workspace=workspace,
                        user_id=user_id,
                        payload=payload,
                        expires_at=expires_at,
                    )
                )
        except IntegrityError:
            pass  # another process kept the same payload under the same key just now

    async def kept_payload(self, key: str, now: datetime) -> StoredPayload | None:
        """The payload kept under ``key``, unless it has expired."""
        stmt = select(StoredPayload).where(StoredPayload.key == key, StoredPayload.expires_at > now)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def forget_expired_payloads(self, now: datetime) -> None:
        await self.session.execute(delete(StoredPayload).where(StoredPayload.expires_at <= now))
