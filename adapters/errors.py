"""Why Tiara can't start, said in one line that tells the operator what to fix.

Its own module, below :mod:`adapters.serve` and the platform runners, so that each runner
can raise a :class:`ConfigError` without importing the module that imports it.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import make_url

__all__ = ["ConfigError", "DatabaseUnusable", "database_problem", "masked_url"]

_EXAMPLES = "e.g. sqlite+aiosqlite:///tiara.db or postgresql+asyncpg://user:password@host/dbname"
# In text that isn't a URL, whatever sits between "user:" and the last "@" may be a
# password: after "//" if there is one, else from the first "word:".
_CREDENTIALS = (re.compile(r"(//[^\s:/@]*:).*@"), re.compile(r"([^\s:/@]+:).*@"))
_REVISION = re.compile(r"identified by '([^']+)'")


class ConfigError(Exception):
    """Settings that can't work; the message says what to set."""


class DatabaseUnusable(ConfigError):
    """The database can't be opened, reached or brought up to date. The message names it
    (with any password masked) and says what to do."""

    def __init__(self, url: str, err: BaseException) -> None:
        super().__init__(database_problem(url, err))


def masked_url(url: str) -> str:
    """``url`` fit to print: its password masked, even when it isn't a valid URL."""
    try:
        parsed = make_url(url)
    except Exception:
        parsed = None
    if parsed is not None and "@" not in (parsed.host or ""):
        return parsed.render_as_string(hide_password=True)
    # Not a URL, or a password with an unescaped "@": mask anything like user:password@.
    text = url.strip()
    for pattern in _CREDENTIALS:
        if pattern.search(text):
            return pattern.sub(r"\1***@", text)[:120]
    return text[:120]


def database_problem(url: str, err: BaseException) -> str:
    """One line: which database (password masked), what went wrong with it, what to do."""
    what, todo = _explain(url, err)
    for secret in _secrets(url):
        what = what.replace(secret, "***")
    return f"Can't use the database {masked_url(url)}: {what}. {todo}"


def _secrets(url: str) -> list[str]:
    """Text that must never be printed: the whole URL and its password (unless so short
    that masking it would garble the message)."""
    try:
        password = make_url(url).password
    except Exception:
        password = None
    return [url, *([str(password)] if password and len(str(password)) >= 4 else [])]


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and what caused it: SQLAlchemy's wrapped driver error, then its causes."""
    found: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in found and len(found) < 8:
        found.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return found


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    return re.sub(r"^\([\w.]+\) ", "", line)[:200]  # SQLAlchemy's "(driver.Error) " prefix


def _explain(url: str, err: BaseException) -> tuple[str, str]:
    """What went wrong, and what to do about it."""
    try:
        parsed = make_url(url)
    except Exception:
        return (
            "TIARA_DATABASE_URL isn't a database URL",
            f"Set it to a URL, {_EXAMPLES}.",
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    path = parsed.database or ""
    chain = _chain(err)
    names = {type(e).__name__ for e in chain}
    message = " ".join(_first_line(e) for e in chain)
    if names & {"ModuleNotFoundError", "NoSuchModuleError"} or "async driver" in message:
        return (
            f"Tiara has no driver for {parsed.drivername}",
            f"Tiara works with SQLite and PostgreSQL: set TIARA_DATABASE_URL, {_EXAMPLES}.",
        )
    if "Can't locate revision" in message:
        found = _REVISION.search(message)
        revision = found.group(1) if found else "?"
        return (
            f"its schema is at revision {revision}, which this version of Tiara doesn't know "
            "(a newer Tiara has upgraded it)",
            "Run that newer version, or restore the backup taken before the upgrade; or set "
            "TIARA_DATABASE_URL to another database.",
        )
    if "InvalidCatalogNameError" in names:
        name = parsed.database or "?"
        return (
            f'PostgreSQL at {where} has no database "{name}"',
            f"Create it (createdb {name}), or correct the name in TIARA_DATABASE_URL.",
        )
    if names & {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
        return (
            f"PostgreSQL refused the login ({_first_line(chain[-1])})",
            "Correct the user name and password in TIARA_DATABASE_URL.",
        )
    if parsed.get_backend_name() == "sqlite":
        return _explain_sqlite(path, message, chain)
    if "gaierror" in names:
        return (
            f"the host {parsed.host} isn't known",
            "Correct the host in TIARA_DATABASE_URL.",
        )
    if "ConnectionRefusedError" in names:
        return (
            f"nothing answers at {where} (connection refused)",
            "Start PostgreSQL there, or correct the host and port in TIARA_DATABASE_URL.",
        )
    if any(isinstance(e, OSError) for e in chain):  # timed out, unreachable network
        return (
            f"can't connect to {where} ({_first_line(chain[-1])})",
            "Check that PostgreSQL runs there and that this machine may reach it, and the "
            "host and port in TIARA_DATABASE_URL.",
        )
    return _fallback(chain)


def _explain_sqlite(path: str, message: str, chain: list[BaseException]) -> tuple[str, str]:

    if "unable to open database file" in message:
        folder = Path(path).parent
        return (
            f"can't create or open the file {path}",
            f"Check that the folder {folder} exists and that Tiara may write there, or set "
            "TIARA_DATABASE_URL to another path.",
        )
    if "readonly database" in message:
        return (
            f"the file {path} is read-only",
            "Let Tiara write to the file and its folder (SQLite keeps a -wal file beside "
            "it), or set TIARA_DATABASE_URL to another path.",
        )
    if "file is not a database" in message:
        return (
            f"{path} isn't an SQLite database",
            "Set TIARA_DATABASE_URL to Tiara's database file, or to a new path.",
        )
    return _fallback(chain)


def _fallback(chain: list[BaseException]) -> tuple[str, str]:
    cause = chain[-1]
    return (
        f"{type(cause).__name__}: {_first_line(cause)}",
        f"Check TIARA_DATABASE_URL, {_EXAMPLES}.",
    )
