"""What the benchmark scripts share: the machine they ran on, and reading their options."""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Percentiles",
    "Progress",
    "load_average",
    "machine_info",
    "memory_mb",
    "peak_rss_mb",
    "percentile",
    "positive_ints",
]


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on every platform
        return None


def _proc_line(path: str, prefix: str) -> str | None:
    file = Path(path)
    if file.exists():
        for line in file.read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    return None


def machine_info(load_before: list[float] | None, **extra: Any) -> dict[str, Any]:
    """The machine, Python and ``extra`` versions, and the load before and after the run."""
    memory = _proc_line("/proc/meminfo", "MemTotal:")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _proc_line("/proc/cpuinfo", "model name"),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(int(memory.split()[0]) / 1024 / 1024, 1) if memory else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        **extra,
        # Other work on the machine skews the timings: the 1, 5 and 15 minute load averages.
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def positive_ints(text: str) -> list[int]:
    """An option's "1000,10_000" as numbers, refusing anything else."""
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas: {text}") from err
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers: {text}")
    return values


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Percentiles:
    """Latencies in milliseconds: how many, the mean, p50, p95, p99 and the worst."""

    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Percentiles:
        if not seconds:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        ms = sorted(s * 1000 for s in seconds)
        return cls(
            count=len(ms),
            mean_ms=round(sum(ms) / len(ms), 3),
            p50_ms=round(percentile(ms, 0.50), 3),
            p95_ms=round(percentile(ms, 0.95), 3),
            p99_ms=round(percentile(ms, 0.99), 3),
            max_ms=round(ms[-1], 3),
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``ru_maxrss``), in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Kilobytes on Linux, bytes on macOS.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def memory_mb(pid: int | str = "self") -> dict[str, float] | None:
    """A process's resident memory now (``rss``) and at its peak (``peak``), in MB, from
    /proc (Linux only; None elsewhere or once the process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found["rss" if key == "VmRSS" else "peak"] = round(int(value.split()[0]) / 1024, 1)
    return found if len(found) == 2 else None


class Progress:
    """Says whether a progress line is due: at most one every ``every`` seconds."""

    def __init__(self, every: float = 3.0) -> None:
        self.every = every
        self._last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.every:
            return False
        self._last = now
        return True
