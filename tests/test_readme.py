"""The README's command table names every command a member or coach can type."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.bootstrap import build_registry

registry = build_registry()

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_command_is_in_the_readme_command_table() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = {re.match(r"\| `([a-z_-]+)", row)[1] for row in rows}  # type: ignore[index]
    missing = sorted({command.path[0] for command in registry} - listed)
    assert not missing, f"the README's command table lacks: {', '.join(missing)}"


def test_the_readme_says_no_shipped_part_is_still_to_come() -> None:
    assert "on the way" not in README.read_text(encoding="utf-8").split("## Quick start")[0]
