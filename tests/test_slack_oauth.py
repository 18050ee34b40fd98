"""Installing Tiara in many workspaces through OAuth, offline, on SQLite and PostgreSQL.

The app's own web server (``web_application``) runs on 127.0.0.1 and is driven the way a
browser and Slack drive it: the install page links to Slack's authorize page, the
installer's approval comes back to the redirect url with a code and the state, and bolt
exchanges the code on the fake Web API (``oauth.v2.access``, then ``auth.test``). The
installation lands in slack_sdk's tables, which our migrations create, and from then on
that workspace's requests are authorized, and its messages sent, with its own token.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import MetaData, Table, event

from adapters.bootstrap import build_app
from adapters.slack.manifest import BOT_SCOPES
from adapters.slack.runner import SlackSetup, slack_setup, web_application
from bot.clock import FixedClock
from bot.config import Settings
from bot.notify import DeliveryError
from bot.values import Message, UserRef
from storage.store import Store
from tests.conftest import START
from tests.slack_fake import FakeSlackApi
from tests.test_slack_app import texts

# slack_sdk sends the client id and secret to oauth.v2.access with aiohttp's BasicAuth, which
# aiohttp 3.14 deprecates; that is slack_sdk's to change, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret"
SIGNING_SECRET = "oauth-signing-secret"
APP_ID = "A0TIARA"
NEW_TEAM = "T0NEW"
STATE_COOKIE = "slack-app-oauth-state"
NOW = 1_800_000_000  # the web server's clock for signatures: seconds since the epoch, fixed
_TRIGGERS = itertools.count(1)

# slack_sdk's own definitions of the tables it reads and writes (our migrations create them).
_SLACK_TABLES = MetaData()
INSTALLATIONS = SQLAlchemyInstallationStore.build_installations_table(
    _SLACK_TABLES, "slack_installations"
)
BOTS = SQLAlchemyInstallationStore.build_bots_table(_SLACK_TABLES, "slack_bots")
STATES = SQLAlchemyOAuthStateStore.build_oauth_states_table(_SLACK_TABLES, "slack_oauth_states")


@dataclass
class Site:
    """Tiara's web server for many workspaces, the fake Slack behind it, and its database."""

    http: TestClient[Any, Any]
    fake: FakeSlackApi
    setup: SlackSetup
    store: Store

    async def install_link(self) -> tuple[str, dict[str, list[str]]]:
        """Open the install page; return the state and the authorize link's parameters."""
        response = await self.http.get("/slack/install")
        assert response.status == 200
        page = await response.text()
        found = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
        assert found is not None, page
        query = parse_qs(urlsplit(html.unescape(found.group(1))).query)
        [state] = query["state"]
        assert f"{STATE_COOKIE}={state}" in response.headers.get("Set-Cookie", "")
        return state, query

    async def come_back(
        self, *, code: str, state: str, cookie: str | None = None
    ) -> tuple[int, str]:
        """The installer's browser returns from Slack to the redirect url.

        It holds the state cookie the install page set: by default the same ``state`` it
        brings back, else ``cookie`` ("" for a browser that never saw the install page).
        """
        cookie = state if cookie is None else cookie
        response = await self.http.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": f"{STATE_COOKIE}={cookie}"} if cookie else {},
        )
        return response.status, await response.text()

    async def install(self, team_id: str = NEW_TEAM, team_name: str = "New Cohort") -> str:
        """A whole install, from the install page back to Tiara; returns the new bot token."""
        state, query = await self.install_link()
        code = self.fake.approve_install(
            team_id=team_id, team_name=team_name, scope=query["scope"][0], client_id=CLIENT_ID
        )
        status, page = await self.come_back(code=code, state=state)
        assert status == 200, page
        [install] = [i for i in self.fake.installs.values() if i.team_id == team_id]
        return install.token

    async def command(self, text_typed: str, *, team_id: str, user: str = "U1") -> int:
        """``/tiara <text>`` typed in ``team_id``, posted and signed as Slack does."""
        body = urlencode(
            {
                "team_id": team_id,
                "team_domain": "cohort",
                "channel_id": "C0GENERAL",
                "user_id": user,
                "command": "/tiara",
                "text": text_typed,
                "api_app_id": APP_ID,
                "response_url": self.fake.response_url(f"{team_id}-{user}"),
                "trigger_id": f"trigger-{next(_TRIGGERS)}",
            }
        )
        timestamp = str(NOW)
        signature = SignatureVerifier(SIGNING_SECRET).generate_signature(
            timestamp=timestamp, body=body
        )
        assert signature is not None
        response = await self.http.post(
            "/slack/events",
            data=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
            },
        )
        return response.status

    async def rows(self, table: Table) -> list[dict[str, Any]]:
        async with self.store.engine.connect() as conn:
            result = await conn.execute(table.select().order_by(table.c.id))
            return [dict(row) for row in result.mappings()]


@pytest.fixture
async def site(empty_store: Store) -> AsyncIterator[Site]:
    users = {"U1": {"tz": "America/Chicago", "real_name": "Ann Lee"}}
    async with FakeSlackApi(app_id=APP_ID, users=users) as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            slack_api_url=fake.url,
            slack_messages_per_second=100,
        )

        async def no_sleep(_seconds: float) -> None:
            return None

        setup = slack_setup(settings, empty_store, sleep=no_sleep)
        app = await build_app(
            settings, clock=FixedClock(START), store=empty_store, notifier=setup.notifier
        )
        adapter = setup.adapter(app.bot, http=True, process_before_response=True)
        server = TestServer(
            web_application(adapter, signing_secret=SIGNING_SECRET, clock=lambda: NOW),
            host="127.0.0.1",
        )
        # The tests send the state cookie themselves, as the browser would.
        async with TestClient(server, cookie_jar=DummyCookieJar()) as http:
            yield Site(http, fake, setup, empty_store)
        await adapter.drain()


async def test_the_install_page_links_to_slack_with_our_scopes_and_a_stored_state(
    site: Site,
) -> None:
    state, query = await site.install_link()
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"][0].split(",") == list(BOT_SCOPES)
    [stored] = await site.rows(STATES)
    assert stored["state"] == state
    expires = stored["expire_at"].replace(tzinfo=UTC)
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    assert site.fake.calls == []  # only a link: nothing asked Slack anything yet


async def test_an_approved_install_is_saved_and_its_state_used_up(site: Site) -> None:
    state, query = await site.install_link()
    code = site.fake.approve_install(
        team_id=NEW_TEAM, team_name="New Cohort", scope=query["scope"][0], client_id=CLIENT_ID
    )
    status, page = await site.come_back(code=code, state=state)
    assert status == 200
    assert "Thank you!" in page
    assert html.escape(f"slack://app?team={NEW_TEAM}&id={APP_ID}") in page

    [exchange] = site.fake.calls_to("oauth.v2.access")
    assert exchange.params["code"] == code
    assert exchange.params["client_id"] == CLIENT_ID
    assert exchange.params["client_secret"] == CLIENT_SECRET
    [install] = site.fake.installs.values()
    [checked] = site.fake.calls_to("auth.test")
    assert checked.token == install.token

    [saved] = await site.rows(INSTALLATIONS)
    assert (saved["team_id"], saved["team_name"], saved["app_id"]) == (
        NEW_TEAM,
        "New Cohort",
        APP_ID,
    )
    assert (saved["client_id"], saved["user_id"]) == (CLIENT_ID, "U0INSTALLER")
    assert (saved["bot_token"], saved["bot_id"], saved["bot_user_id"]) == (
        install.token,
        install.bot_id,
        "UBOT",
    )
    assert saved["enterprise_id"] is None and saved["is_enterprise_install"] in (False, 0)
    [bot] = await site.rows(BOTS)
    assert (bot["team_id"], bot["bot_token"]) == (NEW_TEAM, install.token)
    assert await site.rows(STATES) == []

    # The same redirect again (a reload, or someone replaying it) is refused.
    status, page = await site.come_back(code=code, state=state)
    assert status == 401 and "invalid_state" in page
    assert len(site.fake.calls_to("oauth.v2.access")) == 1
    # A fresh install link does not make the used code good again: Slack refuses it.
    fresh_state, _ = await site.install_link()
    status, page = await site.come_back(code=code, state=fresh_state)
    assert status == 401 and "invalid_code" in page
    assert len(await site.rows(INSTALLATIONS)) == 1


async def test_a_forged_or_foreign_state_is_refused_and_nothing_is_installed(
    site: Site,
) -> None:
    state, query = await site.install_link()
    code = site.fake.approve_install(
        team_id=NEW_TEAM, team_name="New Cohort", scope=query["scope"][0]
    )
    # A state the app never issued, even with a matching cookie.
    status, page = await site.come_back(code=code, state="forged-state")
    assert status == 401 and "invalid_state" in page
    # The real state, but from a browser that never opened the install page.
    status, page = await site.come_back(code=code, state=state, cookie="")
    assert status == 400 and "invalid_browser" in page
    # A link left open past its ten minutes.
    async with site.store.engine.begin() as conn:
        await conn.execute(
            STATES.insert().values(
                state="stale-state",
                expire_at=(datetime.now(UTC) - timedelta(seconds=1)).replace(tzinfo=None),
            )
        )
    status, page = await site.come_back(code=code, state="stale-state")
    assert status == 401 and "invalid_state" in page
    assert site.fake.calls_to("oauth.v2.access") == []
    assert await site.rows(INSTALLATIONS) == []
    assert await site.rows(BOTS) == []


async def test_each_installed_workspace_is_served_with_its_own_token(site: Site) -> None:
    token = await site.install(NEW_TEAM, "New Cohort")
    other_token = await site.install("T0TWO", "Second Cohort")
    assert token != other_token
    site.fake.reset()

    notifier = site.setup.notifier
    await notifier.send_dm(UserRef("slack", NEW_TEAM, "U1"), Message(text="hi"))
    await notifier.send_dm(UserRef("slack", "T0TWO", "U1"), Message(text="hello"))
    first, second = site.fake.calls_to("chat.postMessage")
    assert (first.token, first.params["channel"], first.params["text"]) == (token, "U1", "hi")
    assert (second.token, second.params["text"]) == (other_token, "hello")

    # bolt finds the installation for the request's team and answers with its token.
    assert await site.command("help", team_id=NEW_TEAM) == 200
    [answer] = site.fake.calls_to("response_url")
    assert answer.params["response_type"] == "ephemeral"
    assert "/tiara log" in texts(answer.params["blocks"])
    assert [call.token for call in site.fake.calls_to("auth.test")] == [token]
    assert [call.token for call in site.fake.calls_to("users.info")] == [token]


async def test_a_request_looks_up_only_the_workspaces_bot_not_the_members_install(
    site: Site,
) -> None:
    """Tiara acts with the bot token alone: each request costs one lookup of the
    workspace's bot, not two of installations (the latest, then the member's own)."""
    await site.install(NEW_TEAM, "New Cohort")
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    event.listen(site.store.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert await site.command("help", team_id=NEW_TEAM, user="U0STUDENT") == 200
    finally:
        event.remove(site.store.engine.sync_engine, "before_cursor_execute", record)
    assert [s for s in seen if "slack_installations" in s] == []
    assert len([s for s in seen if "FROM slack_bots" in s]) == 1
    [answer] = site.fake.calls_to("response_url")
    assert "/tiara log" in texts(answer.params["blocks"])


async def test_a_workspace_that_never_installed_gets_nothing_and_is_asked_to_install(
    site: Site,
) -> None:
    await site.install()
    site.fake.reset()

    with pytest.raises(DeliveryError) as raised:
        await site.setup.notifier.send_dm(UserRef("slack", "T0OTHER", "U1"), Message(text="hi"))
    assert raised.value.reason == "not_installed"

    assert await site.command("help", team_id="T0OTHER") == 200
    [answer] = site.fake.calls_to("response_url")
    assert "reinstall" in json.dumps(answer.params)
    assert site.fake.calls_to("chat.postMessage") == []
    assert site.fake.calls_to("auth.test") == []


async def test_a_workspace_can_be_sent_to_as_soon_as_it_installs(site: Site) -> None:
    member = UserRef("slack", NEW_TEAM, "U1")
    with pytest.raises(DeliveryError):
        await site.setup.notifier.send_dm(member, Message(text="too early"))
    token = await site.install(NEW_TEAM, "New Cohort")
    await site.setup.notifier.send_dm(member, Message(text="welcome"))
    [sent] = site.fake.calls_to("chat.postMessage")
    assert (sent.token, sent.params["text"]) == (token, "welcome")
