"""Settings from the environment and .env; secrets never printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import DEFAULT_DATABASE_URL, Settings
from storage.store import Store


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TIARA_DATABASE_URL", "TIARA_TIMEZONE", "SLACK_BOT_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url.get_secret_value() == DEFAULT_DATABASE_URL
    assert settings.timezone == "UTC"
    assert settings.platforms == []


def test_dotenv_is_read_and_names_are_normalised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIARA_TIMEZONE", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    (tmp_path / ".env").write_text(
        "TIARA_TIMEZONE=america/new_york\nTIARA_LOG_LEVEL=debug\nSLACK_BOT_TOKEN=xoxb-secret-123\n"
    )
    settings = Settings()
    assert settings.timezone == "America/New_York"
    assert settings.log_level == "DEBUG"
    assert settings.platforms == ["slack"]
    assert "xoxb-secret-123" not in repr(settings) and "xoxb-secret-123" not in str(settings)


def test_a_bad_timezone_is_refused_with_a_hint() -> None:
    with pytest.raises(ValidationError, match="IANA name"):
        Settings(_env_file=None, timezone="Europe/Berln")  # type: ignore[call-arg]


def test_plain_urls_get_the_async_driver() -> None:
    settings = Settings(_env_file=None, database_url="postgresql://u:p@db/tiara")  # type: ignore[call-arg]
    assert settings.database_url.get_secret_value() == "postgresql+asyncpg://u:p@db/tiara"
    assert settings.safe_database_url == "postgresql+asyncpg://u:***@db/tiara"
    sqlite = Settings(_env_file=None, database_url="sqlite:///x.db")  # type: ignore[call-arg]
    assert sqlite.database_url.get_secret_value() == "sqlite+aiosqlite:///x.db"


def test_sqlite_url_options_are_refused_not_silently_ignored() -> None:
    """Tiara opens the SQLite file itself, so ?mode=ro would do nothing: say so."""
    with pytest.raises(ValidationError, match=r"options are not supported \(mode\).*plain path"):
        Settings(_env_file=None, database_url="sqlite:///x.db?mode=ro")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="not supported"):
        Store("sqlite+aiosqlite:///x.db?uri=true")
    with pytest.raises(ValueError, match="connect_args"):
        Store("sqlite+aiosqlite:///x.db", connect_args={"timeout": 5})
    # Not a URL at all: the setting is kept, and opening it says what is wrong (below).
    nonsense = Settings(_env_file=None, database_url="tiara.db")  # type: ignore[call-arg]
    assert nonsense.safe_database_url == "(unparseable URL)"


def test_an_unreachable_database_is_one_clear_line_without_the_password(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TIARA_DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:1/test",
    }
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "console", "--user", "alice"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        input="meetings\n",
    )
    assert done.returncode == 2
    assert done.stderr.startswith("Can't use the database postgresql+asyncpg://postgres:***@")
    assert "nothing answers at 127.0.0.1:1" in done.stderr  # and what to do about it
    assert "TIARA_DATABASE_URL" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_tiara_run_picks_every_configured_platform(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret")
    assert Settings().platforms == ["discord"]
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret")
    assert Settings().platforms == ["slack", "discord"]
