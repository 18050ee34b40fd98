"""No log line carries what a member wrote, at any level, whoever logs it (bot.logsafe).

The guard is installed for every test (tests/conftest.py) as ``tiara`` installs it
(adapters.bootstrap.configure_logging). These tests log at DEBUG everywhere and look for a marker
placed in members' notes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot import logsafe
from storage.store import Store
from tests.slack_fake import FakeSlackApi
from tests.slack_payloads import slash_command

MARKER = "SECRET-MARKER-my-salary-is-123k"
SECRET = "privacy-signing-secret"


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every record at DEBUG, including libraries that set their own levels."""
    caplog.set_level(logging.DEBUG)
    for name in ("slack_bolt", "slack_sdk", "sqlalchemy", "asyncio", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def _everything_in(caplog: pytest.LogCaptureFixture) -> str:
    """What any handler could write: each message, args and traceback."""
    handler = logging.StreamHandler()
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(handler.format(record))
        parts.append(repr(record.args))
        parts.append(record.exc_text or "")
    return "\n".join(parts)


def test_a_library_message_built_with_member_text_is_withheld(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    library = logging.getLogger("slack_bolt.AsyncRequestVerification")
    library.info(f"Invalid request signature detected (body: notes={MARKER})")
    library.warning("Failed to post to %s: %s", "C123", f"notes={MARKER}")

    assert MARKER not in _everything_in(everything_logged)
    messages = [r.getMessage() for r in everything_logged.records]
    assert messages[0].startswith("(message withheld: ")
    assert messages[1] == "Failed to post to %s: %s"  # the template says what happened


def test_an_exception_keeps_its_frames_and_type_but_not_its_message(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    def save_notes() -> None:
        try:
            raise KeyError(MARKER)
        except KeyError as err:
            raise ValueError(f"could not save notes={MARKER}") from err

    try:
        save_notes()
    except ValueError:
        logging.getLogger("adapters.slack.app").exception("command failed with ValueError")

    logged = _everything_in(everything_logged)
    assert MARKER not in logged
    (record,) = everything_logged.records
    assert record.exc_text is not None
    assert "save_notes" in record.exc_text  # where it happened is kept
    assert "builtins.ValueError (message withheld)" in record.exc_text
    assert "builtins.KeyError (message withheld)" in record.exc_text


def test_a_log_line_has_a_size_cap(everything_logged: pytest.LogCaptureFixture) -> None:
    logging.getLogger("bot.core").warning("%s", "x" * 900_000)
    logging.getLogger("aiohttp.server").error("x" * 900_000)

    for record in everything_logged.records:
        assert len(record.getMessage()) < logsafe.MAX_CHARS + 100


async def test_a_database_error_quoting_notes_never_reaches_the_log(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    """SQLAlchemy's errors quote the statement's parameters: a member's notes."""
    store = Store("sqlite+aiosqlite://")
    try:
        async with store.transaction() as session:
            await session.execute(text("CREATE TABLE t (notes TEXT UNIQUE)"))
            await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": MARKER})
        with pytest.raises(IntegrityError) as raised:
            async with store.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": MARKER})
        assert MARKER in str(raised.value)  # the danger is real
        try:
            raise raised.value
        except IntegrityError:
            logging.getLogger("bot.core").exception("command log failed with IntegrityError")
    finally:
        await store.close()

    assert MARKER not in _everything_in(everything_logged)
    assert any(r.exc_text and "IntegrityError" in r.exc_text for r in everything_logged.records)


async def test_bolts_own_signature_check_logs_no_body(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    """slack_bolt logs the whole body of a request whose timestamp is stale, at INFO."""
    app = AsyncApp(signing_secret=SECRET, token="xoxb-unused")
    body = urlencode(
        slash_command(
            f'log contact="Dana Lee" notes="{MARKER}"',
            team="T1",
            user="U1",
            response_url="http://127.0.0.1:9/respond",
            trigger_id="t1",
        )
    )
    stale = str(int(time.time()) - 400)
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stale, body=body)
    request = AsyncBoltRequest(
        body=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": stale,
            "x-slack-signature": signature,
        },
    )
    response = await app.async_dispatch(request)

    assert response.status == 401
    assert everything_logged.records, "bolt logged nothing: this test checks nothing"
    assert MARKER not in _everything_in(everything_logged)


async def test_slack_sdk_debug_logging_of_a_call_carries_no_text(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    async with FakeSlackApi() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url)
        await client.chat_postMessage(channel="U1", text=f"Your notes: {MARKER}")
        assert fake.calls_to("chat.postMessage")

    assert any(r.name.startswith("slack_sdk") for r in everything_logged.records)
    assert MARKER not in _everything_in(everything_logged)


def test_without_the_guard_the_same_records_would_leak(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    """The tests above would fail without bot.logsafe: the libraries do log bodies."""
    library = logging.getLogger("slack_bolt.X")
    logsafe.uninstall()
    try:
        library.info(f"body: {MARKER}")
    finally:
        logsafe.install()
    assert MARKER in everything_logged.text
    library.info(f"body: {MARKER}")
    assert everything_logged.text.count(MARKER) == 1
