"""What the benchmark scripts share: the machine they ran on, and reading their options."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = ["load_average", "machine_info", "positive_ints"]


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
