"""Clocks: the real one and a settable one for tests and demos. Always timezone-aware UTC."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FileClock", "FixedClock", "MovableClock", "OffsetClock", "SystemClock"]


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


@runtime_checkable
class MovableClock(Clock, Protocol):
    """A clock that can be moved forward (tests, and the console's :advance)."""

    def set(self, when: datetime) -> None: ...

    def advance(self, delta: timedelta) -> None: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class OffsetClock:
    """The wall clock, moved by however far it has been advanced (the console's clock)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> None:
        self._offset = when.astimezone(UTC) - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        self._offset += delta


class FileClock:
    """The time written in a file (ISO 8601), for end-to-end tests and demos of a running
    bot: writing a later time into the file moves the bot's clock. Until the file holds a
    readable time, the wall clock is used."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: tuple[int, datetime] | None = None

    def now(self) -> datetime:
        try:
            changed = os.stat(self.path).st_mtime_ns
        except OSError:
            return datetime.now(UTC)
        if self._seen is None or self._seen[0] != changed:
            try:
                with open(self.path, encoding="utf-8") as handle:
                    moment = datetime.fromisoformat(handle.read().strip())
            except (OSError, ValueError):
                return self._seen[1] if self._seen else datetime.now(UTC)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            self._seen = (changed, moment.astimezone(UTC))
        return self._seen[1]
