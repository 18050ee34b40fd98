"""What the console keeps between sessions beside its database: how far its clock was moved
and the DMs waiting for members who haven't read them yet. Also where its log goes.

``:quit`` (or Ctrl-D) writes ``<database file>.console.json`` beside a SQLite database
(``TIARA_CONSOLE_STATE`` names another file); the next ``tiara console`` on that database
starts with the clock as far ahead as it was left and the waiting DMs still waiting. An
in-memory database keeps nothing, and the console says so when leaving.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import make_url

from adapters.console.notifier import ConsoleNotifier, Delivered
from bot.clock import OffsetClock
from bot.values import Attachment, Button, ChannelRef, Field, Message, UserRef

__all__ = [
    "ConsoleState",
    "configure_console_logging",
    "console_log_path",
    "database_file",
    "state_path",
]

_VERSION = 1
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def database_file(database_url: str) -> Path | None:
    """The SQLite database's file, or None (PostgreSQL, or SQLite in memory)."""

    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    name = url.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser().resolve()


def state_path(database_url: str) -> Path | None:
    """Where the console keeps its clock and waiting DMs for this database, if anywhere."""
    named = os.environ.get("TIARA_CONSOLE_STATE")
    if named:
        return Path(named).expanduser()
    db = database_file(database_url)
    if db is not None:
        return db.with_name(db.name + ".console.json")
    if database_url.startswith("postgresql"):
        return Path("tiara-console.json").resolve()  # the database outlives the console
    return None


def console_log_path(database_url: str) -> Path:
    """Where the console's log goes: ``TIARA_LOG_FILE``, else ``tiara-console.log`` beside
    the SQLite database, else in the current folder."""
    named = os.environ.get("TIARA_LOG_FILE")
    if named:
        return Path(named).expanduser()
    db = database_file(database_url)
    return (db.parent if db is not None else Path.cwd()) / "tiara-console.log"


def configure_console_logging(level: int, path: Path) -> None:
    """The console shows the conversation only: records at ``level`` go to ``path``, and
    only warnings and errors also reach the terminal (stderr). Call after
    ``adapters.bootstrap.configure_logging``, which installs the ``bot.logsafe`` guard (every record
    is made safe as it is created, whatever handler writes it) and the library levels."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.WARNING)
    if not path.parent.is_dir():
        # Never create a folder: a mistyped database path must fail as itself, not quietly
        # gain a folder for its log. Without a file, warnings still reach stderr.
        return
    try:
        to_file = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        return
    formatter = root.handlers[0].formatter if root.handlers else None
    to_file.setFormatter(formatter or logging.Formatter(_LOG_FORMAT))
    to_file.setLevel(level)
    root.addHandler(to_file)
    root.setLevel(min(level, logging.WARNING))


def _message(message: Message) -> dict[str, Any]:
    return {
        "text": message.text,
        "title": message.title,
        "fields": [[f.label, f.value] for f in message.fields],
        "buttons": [
            {
                "label": b.label,
                "command": list(b.command),
                "args": dict(b.args),
                "style": b.style,
                "opens_form": b.opens_form,
            }
            for b in message.buttons
        ],
        "private": message.private,
        "error": message.error,
        "error_option": message.error_option,
        "attachments": [
            {
                "filename": a.filename,
                "data": base64.b64encode(a.data).decode("ascii"),
                "mime": a.mime,
                "title": a.title,
            }
            for a in message.attachments
        ],
        "files_to_dm": message.files_to_dm,
    }


def _read_message(data: Mapping[str, Any]) -> Message:
    return Message(
        text=str(data["text"]),
        title=data.get("title"),
        fields=tuple(Field(str(label), str(value)) for label, value in data.get("fields", [])),
        buttons=tuple(
            Button(
                label=str(b["label"]),
                command=tuple(b["command"]),
                args=dict(b.get("args", {})),
                style=cast(Literal["primary", "danger"] | None, b.get("style")),
                opens_form=bool(b.get("opens_form", False)),
            )
            for b in data.get("buttons", [])
        ),
        private=bool(data.get("private", True)),
        error=bool(data.get("error", False)),
        error_option=data.get("error_option"),
        attachments=tuple(
            Attachment(
                filename=str(a["filename"]),
                data=base64.b64decode(a["data"]),
                mime=str(a["mime"]),
                title=str(a.get("title", "")),
            )
            for a in data.get("attachments", [])
        ),
        files_to_dm=bool(data.get("files_to_dm", False)),
    )


def _delivered(item: Delivered) -> dict[str, Any]:
    return {"at": item.at.isoformat(), "message": _message(item.message)}


def _read_delivered(data: Mapping[str, Any]) -> Delivered:
    return Delivered(datetime.fromisoformat(data["at"]), _read_message(data["message"]))


def _ahead(offset: timedelta) -> str:
    days, rest = divmod(round(offset.total_seconds() / 60), 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes and not days else []
    return " ".join(parts) or "less than a minute"


@dataclass
class ConsoleState:
    """The console's clock and outbox, kept in ``path`` (None: kept nowhere)."""

    path: Path | None
    clock: OffsetClock
    notifier: ConsoleNotifier

    def offset(self) -> timedelta:
        return self.clock.now() - datetime.now(UTC)

    def load(self) -> str | None:
        """Restore what the last session left; say what was restored (None: nothing)."""
        if self.path is None or not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            offset = timedelta(seconds=float(data.get("clock_offset_seconds", 0)))
            dms = [(UserRef(*item["user"]), _read_delivered(item)) for item in data.get("dms", [])]
            posts = [
                (ChannelRef(*item["channel"]), _read_delivered(item))
                for item in data.get("posts", [])
            ]
        except (OSError, ValueError, KeyError, TypeError) as err:
            return f"Couldn't read the console's saved clock and DMs in {self.path} ({err})."
        self.clock.advance(offset)
        self.notifier.restore(dms, posts)
        said = []
        if offset > timedelta(minutes=1):
            said.append(f"the clock is {_ahead(offset)} ahead, as you left it")
        waiting = self.notifier.waiting()
        if waiting:
            who = ", ".join(f"{u} ({n})" for u, n in sorted(waiting.items()))
            said.append(f"DMs wait for {who}")
        if not said:
            return None
        return f"From last time ({self.path}): {'; '.join(said)}. Delete that file to reset."

    def save(self) -> str | None:
        """Keep the clock and the waiting DMs; say what was kept, or what is lost."""
        offset = self.offset()
        moved = offset > timedelta(minutes=1)
        dms, posts = self.notifier.pending()
        waiting = self.notifier.waiting()
        if self.path is None:
            if not moved and not waiting:
                return None
            lost = [f"the clock's move ({_ahead(offset)} ahead)"] if moved else []
            lost += [f"{sum(waiting.values())} DMs waiting for others"] if waiting else []
            return (
                f"Leaving: {' and '.join(lost)} can't be kept, as this database is in "
                "memory. Use a database file (TIARA_DATABASE_URL) to keep them."
            )
        if not moved and not dms and not posts:
            self.path.unlink(missing_ok=True)
            return None
        data = {
            "version": _VERSION,
            "saved_at": datetime.now(UTC).isoformat(),
            "clock_offset_seconds": offset.total_seconds() if moved else 0,
            "dms": [{"user": [u.platform, u.workspace, u.user], **_delivered(d)} for u, d in dms],
            "posts": [
                {"channel": [c.platform, c.workspace, c.channel], **_delivered(d)} for c, d in posts
            ],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(data, default=str), encoding="utf-8")
            temporary.replace(self.path)
        except OSError as err:
            return f"Leaving: couldn't keep the clock and waiting DMs in {self.path} ({err})."
        kept = [f"the clock ({_ahead(offset)} ahead)"] if moved else []
        if waiting:
            who = ", ".join(f"{u} ({n})" for u, n in sorted(waiting.items()))
            kept.append(f"DMs waiting for {who}")
        if not kept:
            return None
        return (
            f"Kept for next time in {self.path}: {'; '.join(kept)}. "
            "Delete that file to go back to the real time."
        )
