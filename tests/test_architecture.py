"""The core stays platform-neutral: bot/ and storage/ never import Slack or Discord libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_PACKAGES = ("bot", "storage")
PLATFORM_LIBRARIES = ("slack_bolt", "slack_sdk", "discord")
# Modules named like a library shadow it for every import from the directory they sit in.
SHADOWING_MODULES = ("slack.py", "discord.py")
SHADOWING_PACKAGES = ("slack", "slack_bolt", "slack_sdk", "discord")


def _is_platform(module: str) -> bool:
    return any(module == lib or module.startswith(lib + ".") for lib in PLATFORM_LIBRARIES)


def platform_imports(source: str, filename: str = "<string>") -> list[str]:
    """Every import of a platform library in ``source``, as "file:line: statement"."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif (
            # importlib.import_module("discord") and __import__("discord")
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            modules = [node.args[0].value]
        for module in modules:
            if _is_platform(module):
                statement = ast.get_source_segment(source, node) or module
                found.append(f"{filename}:{node.lineno}: {statement}")
    return found


def core_files() -> list[Path]:
    return sorted(p for pkg in CORE_PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_the_core_never_imports_a_platform_library() -> None:
    files = core_files()
    # The walk must see the core, or the test would pass on nothing.
    assert ROOT / "bot" / "core.py" in files
    assert ROOT / "storage" / "models.py" in files
    offences = [
        offence
        for path in files
        for offence in platform_imports(
            path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))
        )
    ]
    assert not offences, (
        "bot/ and storage/ must stay platform-neutral; move these imports into adapters/:\n"
        + "\n".join(offences)
    )


def test_no_module_shadows_a_platform_library() -> None:
    shadows = [
        str(path.relative_to(ROOT))
        for folder in (ROOT, ROOT / "adapters")
        for path in folder.iterdir()
        if (path.is_file() and path.name in SHADOWING_MODULES)
        or (folder == ROOT and path.is_dir() and path.name in SHADOWING_PACKAGES)
    ]
    assert not shadows, f"these names shadow the Slack or Discord libraries: {shadows}"


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("import discord\n", 1),
        ("import os\nimport discord.ext.commands as commands\n", 2),
        ("from slack_bolt.async_app import AsyncApp\n", 1),
        ("def f():\n    from slack_sdk import WebClient\n", 2),
        ("import json, slack_sdk.web\n", 1),
        ("import importlib\nimportlib.import_module('discord')\n", 2),
    ],
)
def test_the_checker_finds_a_platform_import(source: str, line: int) -> None:
    found = platform_imports(source, "bot/example.py")
    assert len(found) == 1, found
    assert found[0].startswith(f"bot/example.py:{line}: ")


@pytest.mark.parametrize(
    "source",
    [
        "import discordant\n",
        "from slack_sdkx import y\n",
        "from . import discord\n",  # a sibling module, not the library
        "from adapters.discord import adapter\n",
        "text = 'import discord'\n",
    ],
)
def test_the_checker_ignores_lookalikes(source: str) -> None:
    assert platform_imports(source) == []
