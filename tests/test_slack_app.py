"""The Slack app, offline: signed requests through the real bolt app, a local fake Web API.

Every request is signed the way Slack signs it and goes through the ``RequestGate`` the HTTP
endpoint uses (signature check) and ``AsyncApp.async_dispatch`` (authorization, middleware,
listeners); every Web API call lands on the fake in ``tests/slack_fake.py``. The gate's clock
is fixed (``NOW``), and requests are signed at that time. Listeners finish before the request
returns (``process_before_response``), so each test reads what was sent without waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.response import BoltResponse
from sqlalchemy import select

from adapters.bootstrap import build_app
from adapters.slack.app import SlackAdapter
from adapters.slack.buttons import encode_button
from adapters.slack.gate import RequestGate, sign
from adapters.slack.runner import slack_setup
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import DeliveryError
from bot.values import Button, ChannelRef, Message, UserRef
from storage.models import Meeting
from storage.models import Member as MemberRow
from storage.store import Store
from tests.conftest import START
from tests.slack_fake import Call, FakeSlackApi
from tests.slack_payloads import event_callback, slash_command, view_submission

SECRET = "test-signing-secret"
TEAM = "T0TEST"
TOKEN = "xoxb-secret-bot-token-1234"
NOW = 1_800_000_000  # the gate's clock: seconds since the epoch, fixed


def texts(value: Any) -> str:
    """Every string inside a Web API call's blocks or view, joined (what a member reads)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                if key in ("text", "value") and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return "\n".join(found)


class Rig:
    """A Slack workspace in a test: the fake Web API, the bolt app and the bot."""

    def __init__(self, fake: FakeSlackApi, adapter: SlackAdapter, bot: Bot, clock: FixedClock):
        self.fake = fake
        self.adapter = adapter
        self.bot = bot
        self.clock = clock
        self.now = float(NOW)  # what the gate takes for the time
        self.gate = RequestGate(adapter.app, SECRET, clock=lambda: self.now)
        self.slept: list[float] = []
        self._triggers = 0

    def signed(
        self,
        body: str | bytes,
        *,
        content_type: str,
        secret: str = SECRET,
        timestamp: int | str = NOW,
    ) -> dict[str, str]:
        """The headers Slack sends with ``body``, signed with ``secret`` at ``timestamp``."""
        raw = body.encode() if isinstance(body, str) else body
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(secret, str(timestamp), raw),
        }

    async def deliver(self, body: str | bytes, headers: dict[str, str]) -> BoltResponse:
        """Hand a request to the gate, as the HTTP endpoint does."""
        raw = body.encode() if isinstance(body, str) else body

        async def read() -> bytes:
            return raw

        return await self.gate.handle(headers.items(), read)

    async def post(
        self, body: str, *, content_type: str, secret: str = SECRET, retry: int | None = None
    ) -> BoltResponse:
        headers = self.signed(body, content_type=content_type, secret=secret)
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return await self.deliver(body, headers)

    def _trigger(self) -> str:
        self._triggers += 1
        return f"trigger-{self._triggers}"

    async def command(self, text: str, *, user: str = "U1", secret: str = SECRET) -> BoltResponse:
        fields = slash_command(
            text,
            team=TEAM,
            user=user,
            response_url=self.fake.response_url(f"{user}-{text[:20]}"),
            trigger_id=self._trigger(),
        )
        return await self.post(
            urlencode(fields), content_type="application/x-www-form-urlencoded", secret=secret
        )

    async def interact(self, payload: dict[str, Any]) -> BoltResponse:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, content_type="application/x-www-form-urlencoded")

    async def click(
        self, button: Button | str, *, user: str = "U1", container: str = "message"
    ) -> BoltResponse:
        value = button if isinstance(button, str) else encode_button(button)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "cohort"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0TIARA",
            "token": "legacy",
            "trigger_id": self._trigger(),
            "container": {"type": container},
            "actions": [
                {
                    "type": "button",
                    "action_id": "tiara:0",
                    "block_id": "b0",
                    "value": value,
                    "action_ts": "1700000000.1",
                }
            ],
        }
        if container == "message":
            payload["channel"] = {"id": f"D{user}"}
            payload["response_url"] = self.fake.response_url(f"click-{user}")
        else:
            payload["view"] = {"id": "VHOME", "type": "home"}
        return await self.interact(payload)

    async def submit(
        self, opened: Call, values: dict[str, str], *, user: str = "U1"
    ) -> BoltResponse:
        """Submit the modal a ``views.open`` call opened, with ``values`` typed in."""
        payload = view_submission(
            opened.params["view"], values, team=TEAM, user=user, trigger_id=self._trigger()
        )
        return await self.interact(payload)

    async def event(
        self, event: dict[str, Any], *, event_id: str, retry: int | None = None
    ) -> BoltResponse:
        body = json.dumps(event_callback(event, team=TEAM, event_id=event_id))
        return await self.post(body, content_type="application/json", retry=retry)

    def answers(self) -> list[Call]:
        """What came back to members through response_url (ephemeral replies)."""
        return self.fake.calls_to("response_url")

    def last_answer(self) -> str:
        calls = self.answers()
        assert calls, "nothing was answered"
        return texts(calls[-1].params.get("blocks")) or str(calls[-1].params.get("text"))

    async def member(self, user: str = "U1") -> MemberRow:
        async with self.bot.store.transaction() as session:
            found = (
                await session.execute(select(MemberRow).where(MemberRow.user_id == user))
            ).scalar_one()
            return found


USERS = {
    "U1": {"tz": "America/Chicago", "real_name": "Ann Lee", "display_name": "ann"},
    "U2": {"tz": "Europe/Berlin", "real_name": "Ben Roth", "display_name": "ben"},
}


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    store = Store("sqlite+aiosqlite://")
    async with FakeSlackApi(team_id=TEAM, users=json.loads(json.dumps(USERS))) as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            slack_api_url=fake.url,
            slack_messages_per_second=100,
        )
        clock = FixedClock(START)
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        setup = slack_setup(settings, store, sleep=sleep)
        app = await build_app(settings, clock=clock, store=store, notifier=setup.notifier)
        adapter = setup.adapter(app.bot, http=True, process_before_response=True)
        adapter.home_debounce = 0
        test_rig = Rig(fake, adapter, app.bot, clock)
        test_rig.slept = slept
        yield test_rig
        await adapter.drain()
        await app.close()


# -- requests in ----------------------------------------------------------------------


async def test_a_wrong_signature_is_refused_and_changes_nothing(rig: Rig) -> None:
    response = await rig.command("log contact=Dana when=yesterday", secret="not-the-secret")
    assert response.status == 401
    assert rig.answers() == []
    async with rig.bot.store.transaction() as session:
        assert (await session.execute(select(Meeting))).first() is None


async def test_a_command_is_answered_privately_with_blocks(rig: Rig) -> None:
    response = await rig.command("help")
    assert response.status == 200
    [answer] = rig.answers()
    assert answer.params["response_type"] == "ephemeral"
    assert "/tiara log" in texts(answer.params["blocks"])


async def test_a_mistake_says_what_to_type_and_saves_nothing(rig: Rig) -> None:
    await rig.command("log contact=Dana when=someday")
    assert "couldn't read 'someday' as a date" in rig.last_answer()
    async with rig.bot.store.transaction() as session:
        assert (await session.execute(select(Meeting))).first() is None


async def test_log_without_values_opens_a_modal_and_its_submission_is_saved(rig: Rig) -> None:
    await rig.command("log")
    [opened] = rig.fake.calls_to("views.open")
    assert opened.params["trigger_id"] == "trigger-1"
    view = opened.params["view"]
    assert view["type"] == "modal" and len(view["title"]["text"]) <= 24
    assert rig.answers() == []  # nothing answered yet: the modal is the answer

    response = await rig.submit(
        opened, {"contact": "Dana Lee", "org": "Acme", "when": "yesterday 3pm"}
    )
    assert response.status == 200 and not response.body  # the modal closes
    assert "Dana Lee" in rig.last_answer()  # the answer goes where /tiara was typed

    await rig.command("meetings")
    assert "Dana Lee" in rig.last_answer()


async def test_a_bad_value_in_a_modal_keeps_it_open_with_the_error_under_its_field(
    rig: Rig,
) -> None:
    await rig.command("log")
    [opened] = rig.fake.calls_to("views.open")
    response = await rig.submit(opened, {"contact": "Dana Lee", "when": "someday soon-ish"})
    answer = json.loads(response.body)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["when"]
    async with rig.bot.store.transaction() as session:
        assert (await session.execute(select(Meeting))).first() is None


async def test_inline_values_skip_the_modal(rig: Rig) -> None:
    await rig.command('log contact="Dana Lee" when="yesterday 3pm" notes="Talked SQL"')
    assert rig.fake.calls_to("views.open") == []
    assert "Dana Lee" in rig.last_answer()


async def test_a_button_click_dispatches_its_command(rig: Rig) -> None:
    await rig.command('log contact="Dana Lee" when="yesterday 3pm"')
    await rig.click(Button("Mark thank-you sent", ("thanks",), {"id": "M1"}))
    assert "thank" in rig.last_answer().casefold()
    await rig.command("show M1")
    assert "sent" in rig.last_answer().casefold()


async def test_a_button_that_leads_to_a_form_opens_it_prefilled(rig: Rig) -> None:
    await rig.click(Button("Log the meeting", ("log",), {"contact": "Sam Ortiz"}, opens_form=True))
    [opened] = rig.fake.calls_to("views.open")
    initial = {
        block["block_id"]: block["element"].get("initial_value")
        for block in opened.params["view"]["blocks"]
        if block.get("type") == "input"
    }
    assert initial["contact"] == "Sam Ortiz"
    await rig.submit(opened, {"contact": "Sam Ortiz", "when": "yesterday 10am"})
    await rig.command("meetings")
    assert "Sam Ortiz" in rig.last_answer()


async def test_a_forged_button_value_is_ignored(rig: Rig) -> None:
    response = await rig.click('{"c":["delete"],"a":{"id":"M1","confirm":true},"f":0,"x":1}')
    assert response.status == 200
    assert rig.answers() == []


async def test_a_click_on_the_home_tab_answers_in_a_modal(rig: Rig) -> None:
    await rig.click(Button("TIARA questions", ("prompts",)), container="view")
    [shown] = rig.fake.calls_to("views.open")
    assert shown.params["view"]["type"] == "modal"
    assert "Trends" in texts(shown.params["view"]["blocks"])


# -- rendering --------------------------------------------------------------------------


async def test_member_text_can_never_mention_or_link(rig: Rig) -> None:
    hostile = "<!channel> @here <@U2> <https://evil.example|click me> & more"
    await rig.command(f'log contact="Dana Lee" when="yesterday 3pm" notes="{hostile}"')
    await rig.command("show M1")
    shown = rig.last_answer()
    assert "click me" in shown  # the words arrive ...
    for live in ("<!channel>", "<@U2>", "<https://", "@here"):
        assert live not in shown  # ... but nothing Slack would act on
    assert "&lt;!channel&gt;" in shown and "&amp; more" in shown


# -- profiles and membership -----------------------------------------------------------


async def test_first_contact_takes_the_timezone_and_name_from_slack(rig: Rig) -> None:
    await rig.command("settings")
    assert "America/Chicago (from your profile)" in rig.last_answer()
    member = await rig.member("U1")
    assert member.display_name == "ann"
    assert len(rig.fake.calls_to("users.info")) == 1
    await rig.command("help")
    assert len(rig.fake.calls_to("users.info")) == 1  # read at most once a day


async def test_a_timezone_the_member_chose_wins_over_the_profile(rig: Rig) -> None:
    await rig.command("settings timezone=Asia/Kolkata")
    rig.fake.users["U1"]["tz"] = "Europe/Paris"
    rig.adapter.profile_every = timedelta(0)  # read the profile again
    await rig.command("settings")
    assert "Asia/Kolkata" in rig.last_answer()
    assert (await rig.member("U1")).platform_timezone == "Europe/Paris"
    await rig.command("settings timezone=auto")
    assert "Europe/Paris (from your profile)" in rig.last_answer()


async def test_a_deactivated_member_is_marked_inactive_and_gets_no_nudges(rig: Rig) -> None:
    await rig.command('log contact="Dana Lee" when="yesterday 3pm"')
    rig.fake.calls.clear()
    await rig.event(
        {"type": "user_change", "user": {"id": "U1", "team_id": TEAM, "deleted": True}},
        event_id="Ev-deactivated",
    )
    assert (await rig.member("U1")).active is False
    rig.clock.advance(timedelta(days=3))
    await rig.bot.tick()
    assert rig.fake.calls_to("chat.postMessage") == []


async def test_a_profile_change_of_someone_who_never_used_tiara_records_nothing(
    rig: Rig,
) -> None:
    await rig.event(
        {"type": "user_change", "user": {"id": "U9", "team_id": TEAM, "tz": "Asia/Tokyo"}},
        event_id="Ev-stranger",
    )
    async with rig.bot.store.transaction() as session:
        assert (await session.execute(select(MemberRow))).first() is None


# -- events and the Home tab ---------------------------------------------------------------


async def test_the_home_tab_shows_the_dashboard(rig: Rig) -> None:
    await rig.command('log contact="Dana Lee" when="next Tuesday 10am"')
    await rig.event(
        {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "DU1"},
        event_id="Ev-home-1",
    )
    [published] = rig.fake.calls_to("views.publish")
    assert published.params["user_id"] == "U1"
    shown = texts(published.params["view"]["blocks"])
    assert "Dana Lee" in shown and "Log a meeting" in shown


async def test_a_retried_event_is_processed_once(rig: Rig) -> None:
    event = {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "DU1"}
    first = await rig.event(event, event_id="Ev-retried")
    again = await rig.event(event, event_id="Ev-retried", retry=1)
    assert first.status == again.status == 200
    assert len(rig.fake.calls_to("views.publish")) == 1


async def test_the_home_tab_is_redrawn_after_a_change(rig: Rig) -> None:
    await rig.event(
        {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "DU1"},
        event_id="Ev-home-2",
    )
    await rig.command('log contact="Sam Ortiz" when="next Tuesday 10am"')
    await rig.adapter.drain()
    published = rig.fake.calls_to("views.publish")
    assert len(published) == 2
    assert "Sam Ortiz" in texts(published[-1].params["view"]["blocks"])


async def test_a_web_api_error_is_logged_without_tokens_and_the_app_goes_on(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig.fake.fail("views.publish", "invalid_blocks")
    response = await rig.event(
        {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "DU1"},
        event_id="Ev-home-3",
    )
    assert response.status == 200
    assert "invalid_blocks" in caplog.text
    assert TOKEN not in caplog.text
    await rig.command("help")  # still answering
    assert "/tiara log" in rig.last_answer()


# -- sending ------------------------------------------------------------------------------


async def test_nudges_arrive_as_dms_with_working_buttons(rig: Rig) -> None:
    await rig.command('log contact="Dana Lee" when="today 8am"')
    rig.fake.calls.clear()
    rig.clock.advance(timedelta(hours=3))
    await rig.bot.tick()
    [dm] = rig.fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "U1" and dm.token == TOKEN
    shown = texts(dm.params["blocks"])
    assert "Dana Lee" in shown and "thank" in shown.casefold()
    thanks = next(
        e
        for b in dm.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "thank" in e["text"]["text"].casefold()
    )
    await rig.click(thanks["value"])
    assert "thank" in rig.last_answer().casefold()


async def test_a_rate_limited_send_waits_as_told_and_then_goes_out(rig: Rig) -> None:
    rig.fake.rate_limit("chat.postMessage", retry_after=7)
    await rig.adapter.notifier.send_dm(UserRef("slack", TEAM, "U1"), Message(text="Hello"))
    assert len(rig.fake.calls_to("chat.postMessage")) == 2
    assert 7 in rig.slept  # the Retry-After, on the injected clock: no real waiting


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        ("channel_not_found", True),
        ("user_not_found", True),
        ("account_inactive", True),
        ("invalid_auth", False),
        ("internal_error", False),
    ],
)
async def test_send_failures_become_delivery_errors(rig: Rig, error: str, permanent: bool) -> None:
    rig.fake.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as raised:
        await rig.adapter.notifier.send_dm(UserRef("slack", TEAM, "U1"), Message(text="Hi"))
    assert raised.value.reason == error
    assert raised.value.permanent is permanent


async def test_a_member_whose_dms_fail_for_good_is_not_retried(rig: Rig) -> None:
    await rig.command('log contact="Dana Lee" when="today 8am"')
    rig.fake.calls.clear()
    rig.fake.fail("chat.postMessage", "user_not_found", times=5)
    rig.clock.advance(timedelta(hours=3))
    await rig.bot.tick()
    rig.clock.advance(timedelta(days=2))
    await rig.bot.tick()
    assert len(rig.fake.calls_to("chat.postMessage")) == 1
    assert (await rig.member("U1")).unreachable_at is not None


async def test_practice_groups_get_a_group_dm_and_the_channel_an_announcement(
    rig: Rig,
) -> None:
    notifier = rig.adapter.notifier
    users = [UserRef("slack", TEAM, "U1"), UserRef("slack", TEAM, "U2")]
    await notifier.send_group(users, Message(text="Your practice pair"))
    [opened] = rig.fake.calls_to("conversations.open")
    assert opened.params["users"] == "U1,U2"
    posted = rig.fake.calls_to("chat.postMessage")[-1]
    assert posted.params["channel"].startswith("G")
    await notifier.post_channel(ChannelRef("slack", TEAM, "#practice"), Message(text="Round 1"))
    assert rig.fake.calls_to("chat.postMessage")[-1].params["channel"] == "C0PRACTICE"
    with pytest.raises(DeliveryError) as raised:
        await notifier.post_channel(ChannelRef("slack", TEAM, "nowhere"), Message(text="x"))
    assert raised.value.permanent
