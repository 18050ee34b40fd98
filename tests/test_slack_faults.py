"""Slack under faults, offline, on SQLite and PostgreSQL: junk, replays, error bodies that
aren't Slack's JSON, a token Slack refuses, an erasure, and what reaches the log meanwhile.

Requests go over real HTTP to the app's own web server (``web_application``) on 127.0.0.1,
signed as Slack signs them; the Web API is the local fake in ``tests/slack_fake.py``. One
fixed clock is both the bot's and the signature check's, so nothing here depends on the
real time or on how fast the machine is. Listeners finish before the request returns
(``process_before_response``), so each test reads what was sent without waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from adapters.bootstrap import build_app
from adapters.slack.app import SlackAdapter
from adapters.slack.buttons import encode_button
from adapters.slack.gate import SIGNATURE_WINDOW, sign
from adapters.slack.runner import (
    SlackConfigError,
    SlackService,
    SlackSetup,
    slack_setup,
    web_application,
)
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import DeliveryError
from bot.values import Button, Message, UserRef
from storage.models import Meeting, ProcessedEvent
from storage.models import Member as MemberRow
from storage.store import Store
from tests.conftest import START
from tests.slack_fake import Call, FakeSlackApi
from tests.slack_payloads import slash_command, view_submission
from tests.test_slack_app import texts

SECRET = "faults-signing-secret"
TOKEN = "xoxb-faults-bot-token"
TEAM = "T0TEST"
MARKER = "SECRET-MARKER-123"
NOW = int(START.timestamp())  # the signature check's "now" while the bot's clock is at START
FORM = "application/x-www-form-urlencoded"
USERS = {"U1": {"tz": "America/Chicago", "real_name": "Ann Lee", "display_name": "ann"}}


def headers_for(
    body: bytes,
    *,
    timestamp: int | str = NOW,
    secret: str = SECRET,
    content_type: str = FORM,
) -> dict[str, str]:
    """The headers Slack sends with ``body``, signed with ``secret`` at ``timestamp``."""
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, str(timestamp), body),
    }


def form(payload: Any) -> bytes:
    """An interactivity request: the payload as JSON in a form field, as Slack posts it."""
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class Process:
    """One ``tiara run --http``: its bot, adapter and web server (sharing the database)."""

    bot: Bot
    adapter: SlackAdapter
    http: TestClient[Any, Any]


@dataclass
class Site:
    """Tiara's web server for one workspace, the fake Slack behind it, and its database."""

    fake: FakeSlackApi
    store: Store
    clock: FixedClock
    setup: SlackSetup
    settings: Settings
    processes: list[Process] = field(default_factory=list)
    _triggers: int = 0

    @property
    def bot(self) -> Bot:
        return self.processes[0].bot

    @property
    def adapter(self) -> SlackAdapter:
        return self.processes[0].adapter

    def now(self) -> float:
        """The signature check's clock: the bot's."""
        return self.clock.now().timestamp()

    async def start_process(self) -> Process:
        """Another process on the same database (the first one migrates it)."""
        app = await build_app(
            self.settings,
            clock=self.clock,
            store=self.store,
            notifier=self.setup.notifier,
            migrate=not self.processes,
        )
        adapter = self.setup.adapter(app.bot, http=True, process_before_response=True)
        adapter.home_debounce = 0
        server = TestServer(
            web_application(adapter, signing_secret=SECRET, clock=self.now), host="127.0.0.1"
        )
        http = TestClient(server)
        await http.start_server()
        process = Process(app.bot, adapter, http)
        self.processes.append(process)
        return process

    async def post(
        self,
        body: bytes,
        headers: Iterable[tuple[str, str]] | dict[str, str],
        *,
        to: Process | None = None,
    ) -> tuple[int, str]:
        http = (to or self.processes[0]).http
        async with http.post("/slack/events", data=body, headers=CIMultiDict(headers)) as answer:
            return answer.status, await answer.text()

    async def signed(
        self, body: bytes, *, to: Process | None = None, content_type: str = FORM
    ) -> tuple[int, str]:
        return await self.post(
            body, headers_for(body, timestamp=int(self.now()), content_type=content_type), to=to
        )

    def trigger(self) -> str:
        self._triggers += 1
        return f"trigger-{self._triggers}"

    def command_body(self, text: str, *, user: str = "U1") -> bytes:
        fields = slash_command(
            text,
            team=TEAM,
            user=user,
            response_url=self.fake.response_url(f"{user}-{self._triggers + 1}"),
            trigger_id=self.trigger(),
        )
        return urlencode(fields).encode()

    async def command(self, text: str, *, user: str = "U1") -> tuple[int, str]:
        return await self.signed(self.command_body(text, user=user))

    def click_body(self, button: Button, *, user: str = "U1") -> bytes:
        return form(
            {
                "type": "block_actions",
                "team": {"id": TEAM, "domain": "cohort"},
                "user": {"id": user, "team_id": TEAM},
                "api_app_id": "A0TIARA",
                "trigger_id": self.trigger(),
                "container": {"type": "message"},
                "channel": {"id": f"D{user}"},
                "response_url": self.fake.response_url(f"click-{self._triggers}"),
                "actions": [
                    {
                        "type": "button",
                        "action_id": "tiara:0",
                        "block_id": "b0",
                        "value": encode_button(button),
                        "action_ts": "1700000000.1",
                    }
                ],
            }
        )

    def submission_body(self, opened: Call, values: dict[str, str]) -> bytes:
        payload = view_submission(
            opened.params["view"], values, team=TEAM, user="U1", trigger_id=self.trigger()
        )
        return form(payload)

    def answers(self) -> list[Call]:
        return self.fake.calls_to("response_url")

    def last_answer(self) -> str:
        calls = self.answers()
        assert calls, "nothing was answered"
        return texts(calls[-1].params.get("blocks")) or str(calls[-1].params.get("text"))

    async def meetings(self) -> int:
        async with self.store.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(Meeting))).scalar())


@asynccontextmanager
async def running(store: Store) -> AsyncIterator[Site]:
    async with FakeSlackApi(team_id=TEAM, users=json.loads(json.dumps(USERS))) as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            slack_api_url=fake.url,
            slack_messages_per_second=100,
        )

        async def no_sleep(_seconds: float) -> None:
            return None

        setup = slack_setup(settings, store, sleep=no_sleep)
        test_site = Site(fake, store, FixedClock(START), setup, settings)
        await test_site.start_process()
        try:
            yield test_site
        finally:
            for process in test_site.processes:
                await process.adapter.drain()
                await process.http.close()


@pytest.fixture
async def site(empty_store: Store) -> AsyncIterator[Site]:
    """The site on SQLite, then on PostgreSQL: for what the database takes part in."""
    async with running(empty_store) as test_site:
        yield test_site


@pytest.fixture
async def lite() -> AsyncIterator[Site]:
    """The site on SQLite only: for what is settled before the database is asked."""
    store = Store("sqlite+aiosqlite://")
    try:
        async with running(store) as test_site:
            yield test_site
    finally:
        await store.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged, at DEBUG, by every logger (the libraries' too), as it was logged:
    without the log record factory that withholds libraries' messages (bot/logsafe.py),
    so what is checked here is what the Slack adapter itself lets through."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="slack_bolt")
    caplog.set_level(logging.DEBUG, logger="slack_sdk")
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        yield caplog
    finally:
        logging.setLogRecordFactory(factory)


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def assert_never_logged(caplog: pytest.LogCaptureFixture, secret: str = MARKER) -> None:
    """``secret`` is nowhere in what was logged: messages, arguments, exception text."""
    assert secret not in caplog.text
    formatter = logging.Formatter()
    for record in caplog.records:
        assert secret not in record.getMessage(), record.name
        assert secret not in repr(record.args), record.name
        assert secret not in (record.exc_text or ""), record.name
        if record.exc_info:
            assert secret not in formatter.formatException(record.exc_info), record.name


def assert_one_warning(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """Exactly one line at WARNING or above, a WARNING, with no traceback."""
    found = problems(caplog)
    assert len(found) == 1, [(r.name, r.levelname, r.getMessage()) for r in found]
    [record] = found
    assert record.levelno == logging.WARNING
    assert record.exc_info is None and not record.exc_text
    return record


# -- junk is refused cheaply -----------------------------------------------------------


def test_the_signature_is_slacks() -> None:
    body = b"token=legacy&text=hello+%C3%A9"
    expected = SignatureVerifier(SECRET).generate_signature(timestamp=str(NOW), body=body)
    assert sign(SECRET, str(NOW), body) == expected


NOTE_COMMAND = urlencode(
    slash_command(
        f'log contact="Dana Lee" when=yesterday notes="{MARKER}"',
        team=TEAM,
        user="U1",
        response_url="http://127.0.0.1:9/never",
        trigger_id="trigger-junk",
    )
).encode()


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b"payload=%7Bbad", {"Content-Type": FORM}, id="no-signature-bad-json"),
        pytest.param(NOTE_COMMAND, {"Content-Type": FORM}, id="no-signature"),
        pytest.param(b"\xff\xfe\x00" + MARKER.encode(), {}, id="no-signature-not-utf8"),
        pytest.param(b"[1, 2]", {"Content-Type": "application/json"}, id="no-signature-list"),
        pytest.param(
            NOTE_COMMAND,
            {**headers_for(NOTE_COMMAND), "X-Slack-Request-Timestamp": "soon"},
            id="timestamp-not-a-number",
        ),
        pytest.param(
            NOTE_COMMAND,
            {**headers_for(NOTE_COMMAND), "X-Slack-Request-Timestamp": "\u0661\u0662\u0663"},
            id="timestamp-in-arabic-digits",
        ),
        pytest.param(
            NOTE_COMMAND, headers_for(NOTE_COMMAND, timestamp=NOW - 400), id="stale-timestamp"
        ),
        pytest.param(
            NOTE_COMMAND, headers_for(NOTE_COMMAND, timestamp=NOW + 400), id="future-timestamp"
        ),
        pytest.param(NOTE_COMMAND, headers_for(NOTE_COMMAND, secret="rotated"), id="wrong-secret"),
        pytest.param(
            NOTE_COMMAND,
            {**headers_for(NOTE_COMMAND), "X-Slack-Signature": "v1=abc"},
            id="not-a-signature",
        ),
        pytest.param(
            NOTE_COMMAND + b"&extra=1", headers_for(NOTE_COMMAND), id="body-changed-after-signing"
        ),
    ],
)
async def test_an_unsigned_or_stale_request_gets_401_and_one_warning(
    lite: Site, logs: pytest.LogCaptureFixture, body: bytes, headers: dict[str, str]
) -> None:
    status, _ = await lite.post(body, headers)
    assert status == 401
    record = assert_one_warning(logs)
    assert record.name == "adapters.slack.gate"
    assert_never_logged(logs)
    assert lite.fake.calls == [] and await lite.meetings() == 0  # nothing was run


async def test_a_signature_header_given_twice_is_refused(
    lite: Site, logs: pytest.LogCaptureFixture
) -> None:
    # The signature checked and the one the replay check reads must be the same one.
    signed = headers_for(NOTE_COMMAND)
    pairs = [
        ("Content-Type", FORM),
        ("X-Slack-Request-Timestamp", str(NOW)),
        ("X-Slack-Signature", "v0=" + "0" * 64),
        ("X-Slack-Signature", signed["X-Slack-Signature"]),
    ]
    status, _ = await lite.post(NOTE_COMMAND, pairs)
    assert status == 401
    assert_one_warning(logs)
    assert await lite.meetings() == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"text=\xff\xfe" + MARKER.encode(), FORM, id="not-utf8"),
        pytest.param(b"payload=%7Bbad" + MARKER.encode(), FORM, id="payload-not-json"),
        pytest.param(b"payload=%5B1%2C2%5D", FORM, id="payload-a-list"),
        pytest.param(b"payload=null", FORM, id="payload-null"),
        pytest.param(b"payload=%22" + MARKER.encode() + b"%22", FORM, id="payload-a-string"),
        pytest.param(b'["' + MARKER.encode() + b'"]', "application/json", id="json-list"),
        pytest.param(b"{bad " + MARKER.encode(), "application/json", id="json-broken"),
        pytest.param(b"42", "application/json", id="json-number"),
    ],
)
async def test_a_signed_body_that_isnt_a_payload_gets_400_and_one_warning(
    lite: Site, logs: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    status, _ = await lite.signed(body, content_type=content_type)
    assert status == 400
    record = assert_one_warning(logs)
    assert record.name == "adapters.slack.gate"
    assert_never_logged(logs)
    assert lite.fake.calls == []


def _submission(**changes: Any) -> dict[str, Any]:
    """A form submitted with ``MARKER`` in its notes, changed by ``changes``."""
    view: dict[str, Any] = {
        "id": "VMODAL",
        "type": "modal",
        "callback_id": "tiara_form",
        "private_metadata": json.dumps({"c": ["log"], "a": {}}),
        "blocks": [{"type": "input", "block_id": "contact"}],
        "state": {
            "values": {
                "contact": {"value": {"type": "plain_text_input", "value": "Dana Lee"}},
                "notes": {"value": {"type": "plain_text_input", "value": MARKER}},
            }
        },
    }
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": "U1", "team_id": TEAM},
        "trigger_id": "trigger-malformed",
        "view": view,
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = payload
        for key in parents:
            target = target[key]
        if value is _GONE:
            del target[last]
        else:
            target[last] = value
    return payload


_GONE = object()


def _click(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": "U1", "team_id": TEAM},
        "trigger_id": "trigger-malformed",
        "container": {"type": "message"},
        "actions": [
            {"type": "button", "action_id": "tiara:0", "value": json.dumps({"c": ["help"]})}
        ],
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not _GONE}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_submission(view__state__values=[MARKER]), id="state-values-a-list"),
        pytest.param(_submission(view__state=MARKER), id="state-a-string"),
        pytest.param(_submission(view__type=_GONE), id="no-view-type"),
        pytest.param(_submission(view__callback_id=_GONE), id="no-callback-id"),
        pytest.param(_submission(view=[MARKER]), id="view-a-list"),
        pytest.param(_submission(view=_GONE), id="no-view"),
        pytest.param(_submission(user=MARKER), id="user-a-string"),
        pytest.param(_submission(view__blocks={"a": MARKER}), id="blocks-an-object"),
        pytest.param(_submission(view__blocks=[MARKER, 7]), id="blocks-not-objects"),
        pytest.param(_submission(view__private_metadata="{" + MARKER), id="metadata-not-json"),
        pytest.param(_submission(view__private_metadata="[1]"), id="metadata-a-list"),
        pytest.param(
            _submission(view__private_metadata=json.dumps({"c": ["log"], "a": MARKER})),
            id="metadata-args-a-string",
        ),
        pytest.param(
            _submission(view__private_metadata=json.dumps({"c": ["log"], "ch": [MARKER]})),
            id="metadata-channel-a-list",
        ),
        pytest.param(_submission(view__private_metadata=7), id="metadata-a-number"),
        pytest.param(_submission(team=MARKER), id="team-a-string"),
        pytest.param(_click(actions=[]), id="click-without-actions"),
        pytest.param(_click(actions=[MARKER]), id="click-action-a-string"),
        pytest.param(_click(actions=MARKER), id="click-actions-a-string"),
        pytest.param(_click(user=_GONE), id="click-without-user"),
        pytest.param(_click(container=MARKER), id="click-container-a-string"),
        pytest.param(_click(channel=[MARKER]), id="click-channel-a-list"),
        pytest.param(_click(trigger_id=_GONE), id="click-without-trigger"),
        pytest.param(
            {"type": "event_callback", "event_id": "Ev1", "event": [MARKER]}, id="event-a-list"
        ),
        pytest.param(
            {"type": "event_callback", "event_id": "Ev2", "event": {"type": "user_change"}},
            id="user-change-without-user",
        ),
        pytest.param(
            {
                "type": "event_callback",
                "event_id": "Ev3",
                "event": {"type": "user_change", "user": MARKER},
            },
            id="user-change-user-a-string",
        ),
        pytest.param({"type": ["view_submission"]}, id="type-a-list"),
        pytest.param({"type": "shortcut", "callback_id": MARKER}, id="not-ours"),
        pytest.param({}, id="empty"),
    ],
)
async def test_a_signed_but_malformed_payload_is_answered_without_a_500(
    lite: Site, logs: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    status, _ = await lite.signed(form(payload))
    assert status in (200, 400, 404), status
    errors = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.name, r.getMessage()) for r in errors]
    assert all(record.exc_info is None for record in logs.records)
    assert_never_logged(logs)


async def test_a_slash_command_without_its_user_is_refused(
    lite: Site, logs: pytest.LogCaptureFixture
) -> None:
    fields = {"command": "/tiara", "text": f"log contact=Dana notes={MARKER}", "team_id": TEAM}
    status, _ = await lite.signed(urlencode(fields).encode())
    assert status == 400
    assert_one_warning(logs)
    assert_never_logged(logs)
    assert await lite.meetings() == 0


async def test_a_900_kb_unsigned_body_costs_one_short_line(
    lite: Site, logs: pytest.LogCaptureFixture
) -> None:
    body = b"payload=" + quote(MARKER * 53_000).encode()  # about 900 KB
    assert 850_000 < len(body) < 1_000_000
    status, _ = await lite.post(body, {"Content-Type": FORM})
    assert status == 401
    assert_one_warning(logs)
    for record in logs.records:
        assert len(record.getMessage()) < 1024
    assert all(len(line) < 1024 for line in logs.text.splitlines())


async def test_a_signed_body_over_the_size_limit_gets_413_and_one_warning(
    lite: Site, logs: pytest.LogCaptureFixture
) -> None:
    body = b"text=" + MARKER.encode() * 100_000  # 1.8 MB: over aiohttp's 1 MiB
    status, _ = await lite.signed(body)
    assert status == 413
    assert_one_warning(logs)
    assert_never_logged(logs)


async def test_a_good_request_still_works_and_logs_no_warning(
    site: Site, logs: pytest.LogCaptureFixture
) -> None:
    status, _ = await site.command(f'log contact="Dana Lee" when=yesterday notes="{MARKER}"')
    assert status == 200
    assert "Dana Lee" in site.last_answer()
    assert problems(logs) == []
    assert_never_logged(logs)


# -- error bodies of any shape --------------------------------------------------------


NOT_JSON = [
    pytest.param({}, "http_503", id="503-text-plain"),
    pytest.param(
        {"status": 502, "content_type": "text/html", "body": f"<h1>{MARKER}</h1>"},
        "http_502",
        id="502-html",
    ),
    pytest.param(
        {"status": 500, "content_type": "application/json", "body": MARKER},
        "http_500",
        id="500-garbage-said-to-be-json",
    ),
    pytest.param(
        {"status": 200, "content_type": "application/json", "body": "\x00" + MARKER},
        "http_200",
        id="200-garbage-said-to-be-json",
    ),
    pytest.param(
        {"status": 200, "content_type": "text/plain", "body": MARKER},
        "unreadable_answer",
        id="200-text-plain",
    ),
    pytest.param(
        {"status": 200, "content_type": "application/json", "body": '{"ok": false, "error": 7}'},
        "http_200",
        id="error-not-a-code",
    ),
]


@pytest.mark.parametrize(("answer", "reason"), NOT_JSON)
async def test_an_answer_that_isnt_slacks_json_is_a_transient_delivery_error(
    lite: Site, logs: pytest.LogCaptureFixture, answer: dict[str, Any], reason: str
) -> None:
    lite.fake.fail_raw("chat.postMessage", **answer)
    with pytest.raises(DeliveryError) as raised:
        await lite.adapter.notifier.send_dm(
            UserRef("slack", TEAM, "U1"), Message(text=f"Your notes: {MARKER}")
        )
    assert raised.value.reason == reason
    assert raised.value.permanent is False
    assert_never_logged(logs)


@pytest.mark.parametrize(("answer", "reason"), NOT_JSON)
async def test_a_form_that_cant_open_gets_the_fallback_answer(
    lite: Site, logs: pytest.LogCaptureFixture, answer: dict[str, Any], reason: str
) -> None:
    lite.fake.fail_raw("views.open", **answer)
    status, _ = await lite.command("log")
    assert status == 200
    assert "Type the values inline instead" in lite.last_answer()
    assert "/tiara log" in lite.last_answer()
    assert any(reason in record.getMessage() for record in problems(logs))
    assert_never_logged(logs)


async def test_a_home_tab_slack_wont_take_is_logged_by_its_code(
    site: Site, logs: pytest.LogCaptureFixture
) -> None:
    site.fake.fail_raw("views.publish", status=503, body=MARKER)
    status, _ = await site.signed(
        json.dumps(
            {
                "type": "event_callback",
                "team_id": TEAM,
                "event_id": "Ev-home",
                "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
            }
        ).encode(),
        content_type="application/json",
    )
    assert status == 200
    assert "publishing the Home tab failed with http_503" in logs.text
    assert_never_logged(logs)
    await site.command("help")  # still answering
    assert "/tiara log" in site.last_answer()


# -- replays are harmless ---------------------------------------------------------------


async def test_a_replayed_command_runs_once(site: Site, logs: pytest.LogCaptureFixture) -> None:
    body = site.command_body(f'log contact="Dana Lee" when=yesterday notes="{MARKER}"')
    headers = headers_for(body)
    for _ in range(3):
        status, text = await site.post(body, headers)
        assert status == 200 and text == ""
    assert await site.meetings() == 1
    assert len(site.answers()) == 1  # no second answer either
    assert_never_logged(logs)


async def test_a_replay_late_in_the_window_runs_nothing_even_after_a_tick(site: Site) -> None:
    body = site.command_body('log contact="Dana Lee" when=yesterday')
    headers = headers_for(body)
    assert (await site.post(body, headers))[0] == 200
    # Nearly five minutes on, with a tick (which prunes old deliveries) in between.
    site.clock.advance(timedelta(seconds=SIGNATURE_WINDOW - 1))
    await site.bot.tick()
    assert (await site.post(body, headers))[0] == 200
    assert await site.meetings() == 1
    assert len(site.answers()) == 1
    # Past the window the signature itself is refused.
    site.clock.advance(timedelta(seconds=2))
    assert (await site.post(body, headers))[0] == 401
    assert await site.meetings() == 1


async def test_a_delivery_is_remembered_at_least_as_long_as_a_signature_lasts(
    site: Site,
) -> None:
    await site.command("help")
    site.clock.advance(timedelta(seconds=SIGNATURE_WINDOW + 1))
    await site.bot.tick()
    async with site.store.transaction() as session:
        kept = (await session.execute(select(ProcessedEvent.event_id))).scalars().all()
    assert [key for key in kept if key.startswith("req:")]


async def test_the_same_words_typed_again_run_again(site: Site) -> None:
    # Not a replay: a new request (new trigger, new signature), though the text is the same.
    await site.command('log contact="Dana Lee" when=yesterday')
    site.clock.advance(timedelta(seconds=1))
    await site.command('log contact="Dana Lee" when=yesterday')
    # It ran again: a second meeting at the same time asks before it is saved.
    assert "Record a new meeting" in site.last_answer()
    assert await site.meetings() == 1


async def test_a_replay_to_another_process_runs_once(site: Site) -> None:
    other = await site.start_process()
    body = site.command_body('log contact="Dana Lee" when=yesterday')
    headers = headers_for(body)
    assert (await site.post(body, headers))[0] == 200
    assert (await site.post(body, headers, to=other))[0] == 200
    assert await site.meetings() == 1
    assert len(site.answers()) == 1


async def test_a_replayed_click_runs_once(site: Site) -> None:
    await site.command('log contact="Dana Lee" when=yesterday')
    body = site.click_body(Button("Mark thank-you sent", ("thanks",), {"id": "M1"}))
    headers = headers_for(body)
    answered = len(site.answers())
    for _ in range(2):
        status, text = await site.post(body, headers)
        assert status == 200 and text == ""
    assert len(site.answers()) == answered + 1
    assert "thank" in site.last_answer().casefold()


async def test_a_replayed_form_submission_saves_once(site: Site) -> None:
    await site.command("log")
    [opened] = site.fake.calls_to("views.open")
    body = site.submission_body(opened, {"contact": "Dana Lee", "when": "yesterday 3pm"})
    headers = headers_for(body)
    for _ in range(2):
        status, text = await site.post(body, headers)
        assert status == 200 and text == ""  # the modal closes, both times
    assert await site.meetings() == 1
    assert len(site.answers()) == 1


# -- erasure, then return ----------------------------------------------------------------


async def _erase(site: Site) -> None:
    await site.command('log contact="Dana Lee" when=yesterday')
    await site.command("settings")
    assert "America/Chicago (from your profile)" in site.last_answer()
    assert len(site.fake.calls_to("users.info")) == 1
    await site.command("forget-me")
    await site.signed(site.click_body(Button("Erase", ("forget-me",), {"confirm": True})))
    assert "Everything Tiara knew about you is gone" in site.last_answer()


async def test_after_forget_me_the_next_use_reads_the_profile_again(site: Site) -> None:
    await _erase(site)
    read = len(site.fake.calls_to("users.info"))
    await site.command("help")
    assert len(site.fake.calls_to("users.info")) == read + 1  # not "already read today"
    await site.command("help")
    assert len(site.fake.calls_to("users.info")) == read + 1  # and then once a day again


async def test_a_member_back_after_forget_me_gets_their_own_timezone(site: Site) -> None:
    await _erase(site)
    # Straight back, on the same clocks: only the erasure can make the adapter read again.
    await site.command("settings")
    assert "America/Chicago (from your profile)" in site.last_answer()


async def test_a_member_erased_through_one_process_is_read_afresh_by_another(
    site: Site,
) -> None:
    other = await site.start_process()  # a second replica, behind the same load balancer
    await site.signed(site.command_body("settings"), to=other)  # it reads her profile
    await site.command('log contact="Dana Lee" when=yesterday')
    await site.command("forget-me")
    await site.signed(site.click_body(Button("Erase", ("forget-me",), {"confirm": True})))
    assert "Everything Tiara knew about you is gone" in site.last_answer()

    # Back, through the replica that read her profile minutes ago and knows of no erasure.
    await site.signed(site.command_body('log contact="Dana Lee" when=yesterday'), to=other)
    await other.adapter.drain()  # the profile read it started after answering
    async with site.store.transaction() as session:
        zone = (
            await session.execute(
                select(MemberRow.platform_timezone).where(MemberRow.user_id == "U1")
            )
        ).scalar_one()
    assert zone == "America/Chicago"  # her reminders follow her zone before she types again
    await site.signed(site.command_body("settings"), to=other)
    assert "America/Chicago (from your profile)" in site.last_answer()


async def test_a_profile_change_reported_before_the_first_use_doesnt_skip_the_read(
    site: Site,
) -> None:
    # Slack reports profile changes of everyone; for someone Tiara doesn't know yet (or no
    # longer knows) nothing is recorded, so their first use must still read the profile.
    await site.signed(
        json.dumps(
            {
                "type": "event_callback",
                "team_id": TEAM,
                "event_id": "Ev-change",
                "event": {"type": "user_change", "user": {"id": "U1", "tz": "Asia/Tokyo"}},
            }
        ).encode(),
        content_type="application/json",
    )
    await site.command("settings")
    assert "America/Chicago (from your profile)" in site.last_answer()


# -- the token check at start ----------------------------------------------------------


async def _service(site: Site, api_url: str | None = None) -> SlackService:
    settings = site.settings.model_copy(update={"slack_api_url": api_url or site.fake.url})
    return SlackService(settings, site.store, http=True, host="127.0.0.1", port=0)


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive"])
async def test_a_token_slack_refuses_stops_the_start_with_one_clear_message(
    site: Site, logs: pytest.LogCaptureFixture, error: str
) -> None:
    site.fake.refuse_token(TOKEN, error)
    service = await _service(site)
    try:
        with pytest.raises(SlackConfigError) as raised:
            await service.start(site.bot)
    finally:
        await service.stop()
    message = str(raised.value)
    assert "SLACK_BOT_TOKEN" in message and error in message
    assert TOKEN not in message and "\n" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert service.adapter is None  # nothing was served
    assert [call.token for call in site.fake.calls_to("auth.test")] == [TOKEN]
    assert problems(logs) == []  # the message is the error's, said once by whoever starts
    assert TOKEN not in logs.text


async def test_a_token_slack_takes_starts_the_server(site: Site) -> None:
    service = await _service(site)
    try:
        await service.start(site.bot)
        assert service.adapter is not None
    finally:
        await service.stop()
    assert [call.token for call in site.fake.calls_to("auth.test")] == [TOKEN]


async def test_slack_out_of_reach_at_start_is_a_warning_not_a_failure(
    site: Site, logs: pytest.LogCaptureFixture
) -> None:
    # Nothing listens here any more: the connection is refused.
    gone = FakeSlackApi()
    await gone.start()
    url = gone.url
    await gone.stop()
    service = await _service(site, url)
    try:
        await service.start(site.bot)
        assert service.adapter is not None
    finally:
        await service.stop()
    [record] = problems(logs)
    assert "starting anyway" in record.getMessage() and record.exc_info is None


async def test_slack_answering_a_5xx_at_start_is_a_warning_not_a_failure(
    site: Site, logs: pytest.LogCaptureFixture
) -> None:
    site.fake.fail_raw("auth.test", status=503, body=MARKER)
    service = await _service(site)
    try:
        await service.start(site.bot)
        assert service.adapter is not None
    finally:
        await service.stop()
    [record] = problems(logs)
    assert "http_503" in record.getMessage()
    assert_never_logged(logs)


# -- nothing a member typed reaches the log -----------------------------------------------


async def test_a_listener_that_fails_logs_its_type_only(
    site: Site, logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*_args: object, **_kwargs: object) -> Message:
        raise ValueError(f"could not save notes={MARKER}")

    monkeypatch.setattr(site.bot, "dispatch", fail)
    status, _ = await site.command(f'log contact="Dana Lee" notes="{MARKER}"')
    assert status == 500  # a failure of ours: Slack tells the member something went wrong
    assert "a Slack listener failed with ValueError" in logs.text
    assert_never_logged(logs)


async def test_an_answer_that_cant_be_delivered_logs_no_member_text(
    site: Site, logs: pytest.LogCaptureFixture
) -> None:
    # The response_url leads nowhere: answering fails after the work is done.
    fields = slash_command(
        f'log contact="Dana Lee" when=yesterday notes="{MARKER}"',
        team=TEAM,
        user="U1",
        response_url="http://127.0.0.1:9/gone",
        trigger_id=site.trigger(),
    )
    await site.signed(urlencode(fields).encode())
    assert await site.meetings() == 1
    assert any(record.levelno >= logging.ERROR for record in logs.records)
    assert_never_logged(logs)


async def test_a_web_api_error_while_sending_member_text_logs_no_member_text(
    site: Site, logs: pytest.LogCaptureFixture
) -> None:
    await site.command(f'log contact="Dana Lee" when="today 8am" notes="{MARKER}"')
    site.fake.fail("chat.postMessage", "invalid_blocks", times=3)
    site.fake.fail_raw("chat.postMessage", status=500, body=MARKER)
    site.clock.advance(timedelta(hours=3))
    await site.bot.tick()
    assert site.fake.calls_to("chat.postMessage")  # it was tried
    await site.command("show M1")  # the notes go out in an answer too
    assert MARKER in site.last_answer()
    assert_never_logged(logs)


def test_the_library_loggers_stay_quiet_whatever_the_root_level(lite: Site) -> None:
    # slack_sdk builds its request-body lines when its logger's own level allows DEBUG;
    # bolt copies its base logger's level to every logger it makes.
    assert lite.setup.client.logger.level == logging.WARNING
    assert lite.adapter.app.logger.level == logging.WARNING
