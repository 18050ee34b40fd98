"""What operators watch: Prometheus metrics and the health check.

Each ``Bot`` has its own ``Metrics`` (its own registry, so tests and several bots in one
process don't share counters). Labels are command names and outcomes only: never a user,
a workspace or anything a member wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Health", "Metrics"]

# Command latency buckets, in seconds: the target is a p99 under 20 ms.
_LATENCY = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.commands = Counter(
            "tiara_commands",
            "Commands handled, by command and outcome.",
            ["command", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "tiara_command_seconds",
            "How long a command took, by command.",
            ["command"],
            buckets=_LATENCY,
            registry=r,
        )
        self.nudges = Counter(
            "tiara_nudges",
            "Nudges handled by the tick, by result "
            "(sent, failed, retrying, expired, skipped, deferred).",
            ["result"],
            registry=r,
        )
        self.pending = Gauge("tiara_nudges_pending", "Nudges planned and not yet sent.", registry=r)
        self.lag = Gauge(
            "tiara_tick_lag_seconds",
            "How overdue the oldest due, unsent nudge is (0 when none is waiting).",
            registry=r,
        )
        self.ticks = Counter("tiara_ticks", "Ticks run, by outcome.", ["outcome"], registry=r)
        self.last_tick = Gauge(
            "tiara_last_tick_timestamp_seconds",
            "When the last tick finished (Unix time).",
            registry=r,
        )
        self.rounds = Counter(
            "tiara_practice_rounds_started", "Practice rounds started.", registry=r
        )

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


@dataclass(frozen=True)
class Health:
    """The answer of ``/healthz``."""

    database: bool
    scheduler: bool
    last_tick: datetime | None

    @property
    def ok(self) -> bool:
        return self.database and self.scheduler

    def as_json(self, now: datetime) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "unhealthy",
            "database": "ok" if self.database else "unreachable",
            "scheduler": "ok" if self.scheduler else "not ticking",
            "last_tick_seconds_ago": (
                round((now - self.last_tick).total_seconds(), 1) if self.last_tick else None
            ),
        }
