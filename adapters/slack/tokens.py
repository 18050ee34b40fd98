"""Where the Slack bot token of a workspace comes from: one configured token, or the
OAuth install store when Tiara is installed in many workspaces."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

__all__ = ["InstalledTokens", "SingleToken"]


@dataclass(frozen=True)
class SingleToken:
    """One workspace, one bot token (``SLACK_BOT_TOKEN``)."""

    token: str

    async def bot_token(self, workspace: str) -> str | None:
        return self.token


@dataclass
class InstalledTokens:
    """Many workspaces installed through OAuth: each team's token from the install store."""

    store: AsyncInstallationStore
    _cache: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    ttl: float = 300.0

    async def bot_token(self, workspace: str) -> str | None:
        cached = self._cache.get(workspace)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=workspace)
        token = bot.bot_token if bot is not None else None
        if token is not None:  # "not installed" is not remembered: an install may come next
            self._cache[workspace] = (time.monotonic() + self.ttl, token)
        return token
