"""Files on Discord: the core's attachments (exports, charts) as uploads, within Discord's
limits, and said in words when they can't be sent.

Discord takes at most 10 files a message and, for a bot, 10 MiB a file unless the server's
boosts allow more (an interaction says its own limit). Files are packed in order, 10 (and at
most the upload limit, together) a message; one bigger than the limit, or beyond what five
messages can carry, is left out and the message says so. File contents are never logged.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import discord

from bot.values import Attachment

__all__ = [
    "FILES_PER_MESSAGE",
    "UPLOAD_LIMIT",
    "FilePlan",
    "not_attached",
    "plan_files",
    "send_with_files",
    "to_files",
]

log = logging.getLogger(__name__)

UPLOAD_LIMIT: Final = discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES  # 10 MiB, a bot's default
FILES_PER_MESSAGE: Final = 10
MAX_FILE_MESSAGES: Final = 5  # as many messages as one answer may take
_HEADROOM = 64 * 1024  # the rest of an upload request: the message itself, multipart framing
_FILENAME = 100
_DESCRIPTION = 1024  # a file's alt text
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_CONTENT = 2000


@dataclass(frozen=True)
class FilePlan:
    """Attachments in batches, one batch a message, and those that can't be sent."""

    batches: tuple[tuple[Attachment, ...], ...]
    too_big: tuple[Attachment, ...]
    too_many: tuple[Attachment, ...]

    @property
    def left_out(self) -> tuple[Attachment, ...]:
        return self.too_big + self.too_many


def plan_files(
    attachments: Sequence[Attachment],
    limit: int = UPLOAD_LIMIT,
    *,
    max_messages: int = MAX_FILE_MESSAGES,
) -> FilePlan:
    """Pack ``attachments`` in order: at most 10 a batch, their bytes within ``limit``.

    A file larger than ``limit`` (less room for the rest of the request) is too big; one that
    doesn't fit in ``max_messages`` batches is one too many.
    """
    room = max(1, limit - _HEADROOM)
    batches: list[list[Attachment]] = []
    used = 0
    too_big: list[Attachment] = []
    too_many: list[Attachment] = []
    for attachment in attachments:
        size = len(attachment.data)
        if size > room:
            too_big.append(attachment)
            continue
        if not batches or len(batches[-1]) >= FILES_PER_MESSAGE or used + size > room:
            if len(batches) >= max_messages:
                too_many.append(attachment)
                continue
            batches.append([])
            used = 0
        batches[-1].append(attachment)
        used += size
    return FilePlan(tuple(tuple(b) for b in batches), tuple(too_big), tuple(too_many))


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def _names(attachments: Sequence[Attachment]) -> str:
    return ", ".join(f"{filename(a)} ({_size(len(a.data))})" for a in attachments)


def not_attached(plan: FilePlan, limit: int = UPLOAD_LIMIT) -> str:
    """What a member reads about files that couldn't be sent ("" when all could)."""
    lines: list[str] = []
    if plan.too_big:
        lines.append(
            f"Not attached, too big for Discord (it takes files up to "
            f"{limit / (1024 * 1024):g} MB here): {_names(plan.too_big)}."
        )
    if plan.too_many:
        lines.append(
            f"Not attached, more files than one answer can carry on Discord: "
            f"{_names(plan.too_many)}."
        )
    return "\n".join(lines)


def filename(attachment: Attachment) -> str:
    """The file's name as uploaded: no folders or control characters, at most 100 characters
    (the extension kept)."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", attachment.filename)).strip(" .")
    if not name:
        return "file"
    if len(name) > _FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: _FILENAME - len(extension) - 1] + "." + extension
        else:
            name = name[:_FILENAME]
    return name


def to_files(attachments: Sequence[Attachment]) -> list[discord.File]:
    """Fresh ``discord.File`` objects for one send (discord.py reads each once a try)."""
    return [
        discord.File(
            io.BytesIO(attachment.data),
            filename=filename(attachment),
            description=attachment.title[:_DESCRIPTION] or None,
        )
        for attachment in attachments
    ]


_REFUSED = (
    "Discord refused the attached files as too big, so they're not here. Ask again for "
    "less at a time, or ask a coach for the file."
)


def _with_note(content: str | None, note: str) -> str:
    if not content or not content.strip("\u200b"):
        return note
    room = _CONTENT - len(note) - 2
    if len(content) > room:
        content = content[: room - 1].rstrip() + "…"
    return f"{content}\n\n{note}"


async def send_with_files(
    send: Callable[..., Awaitable[Any]], kwargs: dict[str, Any], files: Sequence[Attachment]
) -> None:
    """``send(**kwargs)`` with ``files`` attached; if Discord still refuses them as too big
    (413), the same message without them, saying so."""
    if not files:
        await send(**kwargs)
        return
    try:
        await send(**kwargs, files=to_files(files))
    except discord.HTTPException as err:
        if err.status != 413:
            raise
        log.warning("Discord refused %d attached files as too big; sent without them", len(files))
        await send(**{**kwargs, "content": _with_note(kwargs.get("content"), _REFUSED)})
