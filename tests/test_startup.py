"""Start-up says what to fix: ``tiara run`` with a database it can't use, or a token the
platform refuses, prints one line on stderr (the database named, its password masked) and
exits 2, without a traceback and without blaming the HTTP port. ``/healthz`` doesn't say
ok before the platforms have accepted Tiara.

Each case runs ``tiara run`` as a real process on a real SQLite file or PostgreSQL server;
the fakes of Slack and Discord serve from this test's event loop. The 60-second limits only
matter when something hangs.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import make_url

from adapters.errors import DatabaseUnusable, database_problem, masked_url
from storage.store import Store
from tests.conftest import POSTGRES_URL, require_postgres
from tests.discord_fake import FakeDiscord
from tests.slack_fake import FakeSlackApi

WITHIN = 60.0  # only reached when something hangs
PASSWORD = "hunter2-never-printed"
EXAMPLE = "postgresql+asyncpg://user:password@host/dbname"


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def _free_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(**extra: str) -> dict[str, str]:
    """The inherited environment without any Tiara, Slack or Discord settings, plus these."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TIARA_", "SLACK_", "DISCORD_"))
    }
    env["TIARA_HEALTH_PORT"] = "0"  # no health server unless a test asks for one
    env.update(extra)
    return env


async def _spawn(tmp_path: Path, env: Mapping[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        *args,
        cwd=tmp_path,  # no .env here
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finish(process: asyncio.subprocess.Process) -> Finished:
    try:
        out, err = await asyncio.wait_for(process.communicate(), WITHIN)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


async def tiara(tmp_path: Path, env: Mapping[str, str], *args: str) -> Finished:
    """``tiara <args>`` run to its end."""
    return await _finish(await _spawn(tmp_path, env, *args))


def _slack_http(database_url: str, **extra: str) -> dict[str, str]:
    """Slack over HTTP, its Web API a port nothing answers on (the database comes first)."""
    return _environment(
        TIARA_DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-never-used",
        SLACK_SIGNING_SECRET="signing-secret",
        TIARA_SLACK_API_URL=f"http://127.0.0.1:{_free_port()}/api/",
        **extra,
    )


def assert_one_clear_line(done: Finished) -> str:
    """Exit 2, at most a few lines on stderr, no traceback; the message."""
    assert done.code == 2, done.stdout + done.stderr
    assert 1 <= len(done.lines) <= 3, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert 'File "' not in done.stderr, done.stderr  # no traceback, plain or pretty
    return done.stderr


async def _database_case(tmp_path: Path, url: str, shown: str) -> str:
    """``tiara run slack --http`` on ``url``: one line naming ``shown``, not the HTTP port."""
    port = _free_port()
    args = ("run", "slack", "--http", "--host", "127.0.0.1", "--port", str(port))
    done = await tiara(tmp_path, _slack_http(url), *args)
    message = assert_one_clear_line(done)
    assert message.startswith(f"Can't use the database {shown}:"), message
    assert "TIARA_DATABASE_URL" in message
    assert "Can't serve" not in message and str(port) not in message  # not the HTTP port
    assert PASSWORD not in done.stdout + done.stderr
    return message


# ------------------------------------------------------------------- the database


async def test_a_missing_postgresql_database(tmp_path: Path) -> None:
    await require_postgres()
    server = make_url(POSTGRES_URL)
    # With a password of our own when the server trusts us, so we can look for it.
    url = server.set(database="tiara_no_such_db", password=server.password or PASSWORD)
    raw = url.render_as_string(hide_password=False)
    shown = url.render_as_string(hide_password=True)
    message = await _database_case(tmp_path, raw, shown)
    assert 'has no database "tiara_no_such_db"' in message
    assert "createdb tiara_no_such_db" in message
    assert f":{url.password}@" not in message


async def test_a_refused_postgresql_port_is_the_database_not_the_http_port(
    tmp_path: Path,
) -> None:
    closed = _free_port()
    url = f"postgresql+asyncpg://tiara:{PASSWORD}@127.0.0.1:{closed}/tiara"
    shown = f"postgresql+asyncpg://tiara:***@127.0.0.1:{closed}/tiara"
    message = await _database_case(tmp_path, url, shown)
    assert f"nothing answers at 127.0.0.1:{closed}" in message
    assert "Start PostgreSQL" in message


async def test_sqlite_in_a_folder_that_doesnt_exist(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "tiara.db"
    url = f"sqlite+aiosqlite:///{path}"
    message = await _database_case(tmp_path, url, url)
    assert f"can't create or open the file {path}" in message
    assert f"the folder {path.parent} exists" in message


async def test_sqlite_in_a_folder_tiara_may_not_write(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    # Root may write whatever the mode says; nobody may create files in /proc.
    path = Path("/proc" if os.geteuid() == 0 else folder) / "tiara-startup-test.db"
    url = f"sqlite+aiosqlite:///{path}"
    try:
        message = await _database_case(tmp_path, url, url)
    finally:
        folder.chmod(0o755)  # so pytest can clean up
    assert f"can't create or open the file {path}" in message
    assert "may write there" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("tiara.db", "tiara.db"),
        (f"postgres//tiara:{PASSWORD}@db/tiara", "postgres//tiara:***@db/tiara"),
    ],
)
async def test_a_database_url_that_isnt_one(tmp_path: Path, url: str, shown: str) -> None:
    message = await _database_case(tmp_path, url, shown)
    assert "TIARA_DATABASE_URL isn't a database URL" in message
    assert EXAMPLE in message


async def test_a_database_url_the_settings_refuse(tmp_path: Path) -> None:
    """Refused before anything opens it: one line naming the variable, not pydantic's
    four with the value given."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'tiara.db'}?mode=ro"
    done = await tiara(tmp_path, _slack_http(url), "run", "slack", "--http")
    message = assert_one_clear_line(done)
    assert len(done.lines) == 1, message
    assert message.startswith("Configuration error: TIARA_DATABASE_URL: SQLite URL options")
    assert "mode=ro" not in message and "pydantic" not in message


async def test_a_database_at_a_revision_this_tiara_doesnt_know(tmp_path: Path) -> None:
    path = tmp_path / "tiara.db"
    url = f"sqlite+aiosqlite:///{path}"
    store = Store(url)
    await store.upgrade()
    await store.close()
    with sqlite3.connect(path) as db:  # as a newer Tiara would leave it
        db.execute("UPDATE alembic_version SET version_num = 'f00dcafe9999'")
    message = await _database_case(tmp_path, url, url)
    assert "revision f00dcafe9999, which this version of Tiara doesn't know" in message
    assert "newer version" in message
    with sqlite3.connect(path) as db:  # and it was left alone
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("f00dcafe9999",)
        ]


async def test_the_console_says_the_same(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "tiara.db"
    env = _environment(TIARA_DATABASE_URL=f"sqlite:///{path}")
    message = assert_one_clear_line(await tiara(tmp_path, env, "console", "--user", "alice"))
    assert f"can't create or open the file {path}" in message


# ------------------------------------------------------------------- the HTTP port


async def test_an_http_port_in_use_is_blamed_on_the_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite+aiosqlite:///{tmp_path / 'tiara.db'}"
        args = ("run", "slack", "--http", "--host", "127.0.0.1", "--port", str(port))
        done = await tiara(tmp_path, _slack_http(url), *args)
    assert_one_clear_line(done)
    # (Before it, slack_bolt may warn that the client's token wins over SLACK_BOT_TOKEN.)
    assert done.lines[-1].startswith(f"Can't serve on 127.0.0.1:{port}:"), done.stderr
    assert "--port" in done.lines[-1]


# ------------------------------------------------------------------- the platforms


def _discord(api_url: str, token: str, **extra: str) -> dict[str, str]:
    return _environment(
        TIARA_DATABASE_URL="sqlite+aiosqlite:///tiara.db",
        DISCORD_TOKEN=token,
        TIARA_DISCORD_API_URL=api_url,
        **extra,
    )


WRONG_TOKEN = "MTAwMA.the-wrong-token.never-printed"


async def test_a_discord_token_discord_refuses(tmp_path: Path) -> None:
    async with FakeDiscord(token="the-right-one") as fake:
        env = _discord(fake.api_url, WRONG_TOKEN, TIARA_DISCORD_GATEWAY_URL=fake.gateway_url)
        done = await tiara(tmp_path, env, "run", "discord")
    message = assert_one_clear_line(done)
    assert message.startswith("Discord refused DISCORD_TOKEN"), message
    assert WRONG_TOKEN not in done.stdout + done.stderr
    assert not fake.identifies


async def test_discord_refusing_the_members_intent_while_starting(tmp_path: Path) -> None:
    async with FakeDiscord(privileged_intents=0) as fake:
        env = _discord(fake.api_url, "a-token", TIARA_DISCORD_GATEWAY_URL=fake.gateway_url)
        message = assert_one_clear_line(await tiara(tmp_path, env, "run", "discord"))
    assert "Server Members Intent" in message


async def test_discord_out_of_reach_is_not_blamed_on_a_port(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{_free_port()}/api/v10"
    message = assert_one_clear_line(await tiara(tmp_path, _discord(api, "a-token"), "run"))
    assert message.startswith("Can't reach Discord"), message
    assert "TIARA_DISCORD_API_URL" in message and "Can't serve" not in message


@asynccontextmanager
async def _login_held() -> AsyncIterator[tuple[str, asyncio.Event, asyncio.Event]]:
    """A Discord REST API whose login (``GET /users/@me``) waits for ``release``, then
    refuses the token; ``asked`` is set when the login arrives. Its base URL first."""
    asked, release = asyncio.Event(), asyncio.Event()

    async def me(_request: web.Request) -> web.Response:
        asked.set()
        await release.wait()
        return web.Response(
            status=401,
            text='{"message": "401: Unauthorized", "code": 0}',
            headers={"Content-Type": "application/json"},
        )

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", me)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/v10", asked, release
    finally:
        release.set()
        await runner.cleanup()


async def test_healthz_doesnt_answer_before_discord_accepts_the_token(tmp_path: Path) -> None:
    health = _free_port()
    async with _login_held() as (api, asked, release):
        env = _discord(api, WRONG_TOKEN, TIARA_HEALTH_PORT=str(health))
        process = await _spawn(tmp_path, env, "run", "discord")
        try:
            waiting = asyncio.ensure_future(asked.wait())
            exited = asyncio.ensure_future(process.wait())
            await asyncio.wait({waiting, exited}, timeout=WITHIN, return_when="FIRST_COMPLETED")
            waiting.cancel()
            exited.cancel()
            assert asked.is_set(), "Tiara never tried to log in to Discord"
            # Logging in, not yet accepted: no ok from /healthz (nothing listens yet).
            async with aiohttp.ClientSession() as http:
                with pytest.raises(aiohttp.ClientConnectionError):
                    await http.get(f"http://127.0.0.1:{health}/healthz")
            release.set()
            done = await _finish(process)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    message = assert_one_clear_line(done)
    assert message.startswith("Discord refused DISCORD_TOKEN"), message


async def test_a_slack_token_slack_refuses(tmp_path: Path) -> None:
    refused = "xoxb-refused-never-printed"
    async with FakeSlackApi() as fake:
        fake.refuse_token(refused)  # auth.test, and everything else, says invalid_auth
        env = _environment(
            TIARA_DATABASE_URL="sqlite+aiosqlite:///tiara.db",
            SLACK_BOT_TOKEN=refused,
            SLACK_SIGNING_SECRET="signing-secret",
            TIARA_SLACK_API_URL=fake.url,
        )
        args = ("run", "slack", "--http", "--host", "127.0.0.1", "--port", str(_free_port()))
        process = await _spawn(tmp_path, env, *args)
        try:
            assert process.stdout is not None
            async with asyncio.timeout(WITHIN):
                while line := (await process.stdout.readline()).decode():
                    # Serving with a token Slack refuses: what must not happen.
                    assert "listening" not in line, "started with a token Slack refused"
            done = await _finish(process)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    message = assert_one_clear_line(done)
    assert "SLACK_BOT_TOKEN" in message
    assert refused not in done.stdout + done.stderr


# ------------------------------------------------------------------- the messages


async def _failure(url: str) -> BaseException:
    """What opening and migrating ``url`` raises (it must raise)."""
    try:
        store = Store(url)
    except Exception as err:
        return err
    try:
        await store.upgrade()
    except Exception as err:
        return err
    finally:
        await store.close()
    raise AssertionError(f"{url} worked")


async def test_a_url_without_a_driver_tiara_ships() -> None:
    url = f"mysql://tiara:{PASSWORD}@db/tiara"
    message = database_problem(url, await _failure(url))
    assert message.startswith("Can't use the database mysql://tiara:***@db/tiara: ")
    assert "no driver for mysql" in message and EXAMPLE in message
    assert PASSWORD not in message


async def test_a_file_that_isnt_an_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, " * 100)
    url = f"sqlite+aiosqlite:///{path}"
    assert f"{path} isn't an SQLite database" in database_problem(url, await _failure(url))


async def test_a_postgresql_login_refused() -> None:
    await require_postgres()
    url = make_url(POSTGRES_URL).set(username="tiara_no_such_role", password=PASSWORD)
    raw = url.render_as_string(hide_password=False)
    message = database_problem(raw, await _failure(raw))
    assert "PostgreSQL refused the login" in message and "tiara_no_such_role" in message
    assert PASSWORD not in message


async def test_an_unknown_database_host() -> None:
    url = f"postgresql+asyncpg://tiara:{PASSWORD}@no-such-host.invalid/tiara"
    message = database_problem(url, await _failure(url))
    assert "the host no-such-host.invalid isn't known" in message


def test_anything_else_is_named_with_its_first_line_and_never_the_password() -> None:
    url = f"postgresql+asyncpg://tiara:{PASSWORD}@db/tiara"
    err = RuntimeError(f"odd trouble with {url}\nand a second line")
    message = str(DatabaseUnusable(url, err))
    assert message == (
        "Can't use the database postgresql+asyncpg://tiara:***@db/tiara: RuntimeError: odd "
        "trouble with ***. Check TIARA_DATABASE_URL, e.g. sqlite+aiosqlite:///tiara.db or "
        f"{EXAMPLE}."
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+asyncpg://tiara:{PASSWORD}@db/x", "postgresql+asyncpg://tiara:***@db/x"),
        # An "@" left unescaped in the password: SQLAlchemy would show what follows it.
        ("postgresql+asyncpg://tiara:pass@word@db/x", "postgresql+asyncpg://tiara:***@db/x"),
        ("tiara:secret@db", "tiara:***@db"),
        ("sqlite+aiosqlite:///tiara.db", "sqlite+aiosqlite:///tiara.db"),
    ],
)
def test_masked_urls(url: str, shown: str) -> None:
    assert masked_url(url) == shown
