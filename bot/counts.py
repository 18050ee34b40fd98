"""A report of counts (what a tick did), printable in one log line."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self

__all__ = ["Counts"]


@dataclass
class Counts:
    """Integer fields, added up across batches and shown as ``name=value, ...``."""

    def add(self, other: Self) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def __str__(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))
