"""Log records that can't carry what members wrote, whatever logs them and at what level.

Libraries log request bodies, payloads and API answers: slack_bolt writes the whole body
of a request whose signature failed, at INFO; slack_sdk logs each call's JSON at DEBUG;
an exception's message can quote a SQL statement's parameters or a member's text. So
every record is made safe as it is created (a log record factory), before any handler,
filter or level decides about it:

- Tiara's own records (``bot``, ``adapters``, ``storage``) keep their message: the code
  logs type names and short codes, never member text. It is cut at ``MAX_CHARS``.
- Other libraries' records keep only their message template (``"%s failed"``); a
  message built before logging (an f-string, which may hold a body) is withheld, and
  only its length is kept.
- An exception keeps its traceback's frames (file, line, function: code, not data) and
  its type; its message is withheld. A chain keeps each exception's frames and type.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from types import TracebackType

__all__ = ["MAX_CHARS", "install", "safe_traceback"]

# The longest message a log line carries; the rest is cut (an unauthenticated request
# can be a megabyte).
MAX_CHARS = 1000
# The longest traceback kept with a record (its last frames: where it failed).
MAX_TRACEBACK_CHARS = 6000
OWN_PACKAGES = frozenset({"bot", "adapters", "storage"})

_Factory = Callable[..., logging.LogRecord]
_installed: list[_Factory] = []


def install() -> None:
    """Make every log record from now on safe (idempotent)."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _make_safe(record)
        return record

    _installed.append(previous)
    logging.setLogRecordFactory(factory)


def uninstall() -> None:
    """Undo :func:`install` (tests that check the unguarded behaviour)."""
    if _installed:
        logging.setLogRecordFactory(_installed.pop())


def _make_safe(record: logging.LogRecord) -> None:
    if record.name.partition(".")[0] in OWN_PACKAGES:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the template
            message = str(record.msg)
    elif record.args and isinstance(record.msg, str):
        message = record.msg  # the template: the values may be bodies or answers
    else:
        text = str(record.msg)
        message = f"(message withheld: {len(text)} characters)" if text else ""
    if len(message) > MAX_CHARS:
        message = f"{message[:MAX_CHARS]}… ({len(message) - MAX_CHARS} more characters cut)"
    record.msg = message
    record.args = ()
    exc_info = record.exc_info
    if exc_info:
        error = exc_info[1]
        if error is not None:
            record.exc_text = safe_traceback(error)
        record.exc_info = None


def safe_traceback(error: BaseException) -> str:
    """A traceback of ``error`` (and what caused it) without any exception's message."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    parts: list[str] = []
    for index, item in enumerate(reversed(chain)):
        if index:
            parts.append("\nDuring or because of it, another exception followed:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(_frames(item.__traceback__))
        kind = type(item)
        parts.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
    text = "".join(parts).rstrip("\n")
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "… (earlier frames cut)\n" + text[-MAX_TRACEBACK_CHARS:]
    return text


def _frames(tb: TracebackType | None) -> list[str]:
    return traceback.StackSummary.extract(traceback.walk_tb(tb), capture_locals=False).format()
