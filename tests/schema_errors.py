"""Readable JSON Schema errors, for the tests that validate manifests and compose files."""

from __future__ import annotations

from typing import Any


def schema_errors(validator: Any, document: object) -> list[str]:
    """Each error as "path/to/field: message" ("<root>" for the document itself)."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(document)
    ]
