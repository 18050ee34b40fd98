"""Settings from the environment and an optional ``.env`` file."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url

from bot.timeutil import resolve_timezone
from bot.values import UserError
from storage.store import sqlite_url_problem

__all__ = ["Settings"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///tiara.db"
_ASYNC_DRIVERS = {
    "sqlite://": "sqlite+aiosqlite://",
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
}


class Settings(BaseSettings):
    """Everything configurable. Names are the environment variables without the prefix."""

    model_config = SettingsConfigDict(
        env_prefix="TIARA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: SecretStr = Field(
        default=SecretStr(DEFAULT_DATABASE_URL),
        description="SQLAlchemy URL with an async driver (sqlite+aiosqlite, postgresql+asyncpg).",
    )
    timezone: str = Field(default="UTC", description="The workspace's default IANA timezone.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    tick_seconds: float = Field(
        default=30, gt=0, le=3600, description="How often the scheduler sends due nudges."
    )
    nudge_lease_seconds: int = Field(
        default=300,
        ge=10,
        description="How long a worker holds claimed nudges before another may take them.",
    )

    coaches: str = Field(
        default="",
        description="Coaches, comma-separated: user ids (Slack U…, Discord snowflakes, console "
        "names), or workspace:user to make someone a coach in one workspace only. Slack "
        "admins and owners, and Discord members with Manage Server, are coaches anyway.",
    )
    export_dir: str = Field(
        default="tiara-exports",
        description="Console only: the folder exports and charts are written to.",
    )

    host: str = Field(default="0.0.0.0", description="Where the HTTP server listens.")
    health_port: int = Field(
        default=8080,
        ge=0,
        le=65535,
        description="Where /healthz and /metrics are served when the platform serves no "
        "HTTP of its own (Discord, Slack's Socket Mode); 0 turns that server off.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json for one JSON object a line."
    )
    port: int = Field(default=3000, ge=1, le=65535, description="The HTTP server's port.")
    clock_file: str | None = Field(
        default=None,
        description="For end-to-end tests and demos only: read the current time from this "
        "file (an ISO 8601 time) instead of the system clock.",
    )

    # Platform credentials carry their platforms' usual names, without the TIARA_ prefix.
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack's Web API base URL (GovSlack, enterprise endpoints, tests).",
    )
    slack_messages_per_second: float = Field(
        default=4.0,
        gt=0,
        le=100,
        description="Messages sent per second per Slack workspace (Slack allows 1 per "
        "channel per second and a few hundred a minute per workspace).",
    )
    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_api_url: str | None = Field(
        default=None,
        description="Discord's REST base URL, e.g. https://discord.com/api/v10 (proxies, tests).",
    )
    discord_gateway_url: str | None = Field(
        default=None,
        description="Discord's gateway URL, e.g. wss://gateway.discord.gg/ (proxies, tests).",
    )
    discord_practice_threads: bool = Field(
        default=False,
        description="Discord: give each practice group a private thread in the practice "
        "channel instead of a DM to each member.",
    )

    discord_coach_role: str | None = Field(
        default=None,
        description="Discord: members with this role (its id or name) are coaches, "
        "besides those with Manage Server.",
    )

    @field_validator("database_url", mode="before")
    @classmethod
    def _async_driver(cls, value: object) -> object:
        """Accept the usual URLs without a driver and pick the async one we ship."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        for plain, driver in _ASYNC_DRIVERS.items():
            if raw.startswith(plain):
                return driver + raw[len(plain) :]
        return raw

    @field_validator("database_url")
    @classmethod
    def _usable_url(cls, value: SecretStr) -> SecretStr:
        problem = sqlite_url_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            return resolve_timezone(value)
        except UserError as err:
            raise ValueError(err.message) from None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def coach_ids(self) -> frozenset[str]:
        """The configured coaches (``TIARA_COACHES``), each an id or ``workspace:id``."""
        return frozenset(part.strip() for part in self.coaches.split(",") if part.strip())

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked, for messages and logs."""

        try:
            return make_url(self.database_url.get_secret_value()).render_as_string(
                hide_password=True
            )
        except Exception:
            return "(unparseable URL)"

    @property
    def slack_oauth(self) -> bool:
        """Whether Slack runs for many workspaces, installed through OAuth."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        # slack_sdk appends the method name straight to the base URL.
        return value if value.endswith("/") else value + "/"

    @property
    def platforms(self) -> list[Literal["slack", "discord"]]:
        """The platforms ``tiara run`` starts: those whose credentials are configured (the
        console when none is)."""
        found: list[Literal["slack", "discord"]] = []
        if self.slack_bot_token is not None or self.slack_oauth:
            found.append("slack")
        if self.discord_token is not None:
            found.append("discord")
        return found
