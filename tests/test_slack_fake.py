"""The offline Slack Web API fake answers a real slack_sdk client the way Slack would."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack_fake import FakeSlackApi

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-test"
USERS: dict[str, dict[str, Any]] = {
    "U1": {"tz": "America/Chicago", "real_name": "Ann Lee", "deleted": False},
    "U2": {"tz": "Europe/Berlin", "real_name": "Bo Chen", "display_name": "bo"},
    "U3": {"real_name": "Gone Person", "deleted": True},
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi(users=USERS) as api:
        yield api


def client(fake: FakeSlackApi, **kwargs: object) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.url, **kwargs)  # type: ignore[arg-type]


async def test_url_is_a_local_api_base(fake: FakeSlackApi) -> None:
    assert fake.url == f"http://127.0.0.1:{fake.port}/api/"


async def test_auth_test_answers_team_and_bot_and_records_token(fake: FakeSlackApi) -> None:
    response = await client(fake).auth_test()

    assert response["ok"] is True
    assert response["team_id"] == "T0TEST"
    assert response["user_id"] == "UBOT"
    assert response["bot_id"] == "BTEST"
    [call] = fake.calls_to("auth.test")
    assert call.token == TOKEN
    assert call.params == {}


async def test_post_message_to_a_user_lands_in_their_dm(fake: FakeSlackApi) -> None:
    web = client(fake)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]

    first = await web.chat_postMessage(channel="U1", text="hello", blocks=blocks)
    second = await web.chat_postMessage(channel="U1", text="again")
    in_channel = await web.chat_postMessage(channel="C0PRACTICE", text="all")

    assert first["channel"] == second["channel"] == "D1"
    assert in_channel["channel"] == "C0PRACTICE"
    assert first["message"]["text"] == "hello"
    assert first["message"]["blocks"] == blocks
    timestamps = [first["ts"], second["ts"], in_channel["ts"]]
    assert timestamps == sorted(timestamps)
    assert len(set(timestamps)) == 3
    assert all(len(ts.split(".")[1]) == 6 for ts in timestamps)
    call = fake.calls_to("chat.postMessage")[0]
    assert call.params["channel"] == "U1"
    assert call.params["blocks"] == blocks
    assert call.token == TOKEN


async def test_users_info_known_and_unknown(fake: FakeSlackApi) -> None:
    web = client(fake)

    ann = (await web.users_info(user="U1"))["user"]
    bo = (await web.users_info(user="U2"))["user"]
    gone = (await web.users_info(user="U3"))["user"]
    with pytest.raises(SlackApiError) as caught:
        await web.users_info(user="U404")

    assert ann["id"] == "U1"
    assert ann["team_id"] == "T0TEST"
    assert ann["real_name"] == "Ann Lee"
    assert ann["tz"] == "America/Chicago"
    assert ann["tz_offset"] in (-6 * 3600, -5 * 3600)
    assert ann["deleted"] is False
    assert ann["is_bot"] is False
    assert ann["profile"]["real_name"] == "Ann Lee"
    assert bo["profile"]["display_name"] == "bo"
    assert gone["deleted"] is True
    assert caught.value.response["error"] == "user_not_found"
    assert [c.params["user"] for c in fake.calls_to("users.info")] == ["U1", "U2", "U3", "U404"]


async def test_conversations_open_is_stable_per_set_of_users(fake: FakeSlackApi) -> None:
    web = client(fake)

    pair = await web.conversations_open(users=["U1", "U2"])
    same_pair = await web.conversations_open(users="U2,U1")
    other = await web.conversations_open(users=["U1", "U3"])
    single = await web.conversations_open(users="U1")

    assert pair["channel"]["id"].startswith("G")
    assert pair["channel"]["id"] == same_pair["channel"]["id"]
    assert other["channel"]["id"] != pair["channel"]["id"]
    assert single["channel"]["id"] == "D1"
    assert fake.calls_to("conversations.open")[0].params["users"] == "U1,U2"


async def test_views_echo_the_view_with_an_id(fake: FakeSlackApi) -> None:
    web = client(fake)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Log"}, "blocks": []}

    opened = await web.views_open(trigger_id="123.456", view=view)
    updated = await web.views_update(view_id=opened["view"]["id"], view=view)
    home = {"type": "home", "blocks": []}
    published = await web.views_publish(user_id="U1", view=home)
    republished = await web.views_publish(user_id="U1", view=home)

    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["type"] == "modal"
    assert opened["view"]["title"] == view["title"]
    assert updated["view"]["id"] == opened["view"]["id"]
    assert published["view"]["id"] == republished["view"]["id"]
    assert fake.calls_to("views.open")[0].params["view"] == view


async def test_other_methods_answer_ok(fake: FakeSlackApi) -> None:
    web = client(fake)

    ephemeral = await web.chat_postEphemeral(channel="C0PRACTICE", user="U1", text="psst")
    updated = await web.chat_update(channel="D1", ts="1700000000.000100", text="edited")
    channels = await web.conversations_list()
    reaction = await web.reactions_add(channel="C0PRACTICE", timestamp="1.2", name="tada")
    with pytest.raises(SlackApiError) as caught:
        await web.apps_connections_open(app_token="xapp-test")

    assert ephemeral["message_ts"]
    assert (updated["channel"], updated["ts"]) == ("D1", "1700000000.000100")
    assert [c["id"] for c in channels["channels"]] == ["C0PRACTICE", "C0GENERAL"]
    assert channels["response_metadata"]["next_cursor"] == ""
    assert reaction["ok"] is True
    assert caught.value.response["error"] == "not_allowed_token_type"


async def test_form_encoded_json_text_is_decoded(fake: FakeSlackApi) -> None:
    # Some slack_sdk methods (and hand-rolled clients) send blocks/view as JSON text in a form.
    web = client(fake)
    await web.api_call(
        "chat.postMessage",
        data={"channel": "U2", "text": "x", "blocks": '[{"type": "divider"}]'},
    )
    await web.api_call("views.publish", params={"user_id": "U2", "view": '{"type": "home"}'})

    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == [{"type": "divider"}]
    assert fake.calls_to("views.publish")[0].params["view"] == {"type": "home"}


async def test_fail_errors_exactly_times_then_succeeds(fake: FakeSlackApi) -> None:
    web = client(fake)
    fake.fail("chat.postMessage", "channel_not_found", times=2)

    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await web.chat_postMessage(channel="C0NOPE", text="x")
        assert caught.value.response.status_code == 200
        assert caught.value.response["error"] == "channel_not_found"
    response = await web.chat_postMessage(channel="C0NOPE", text="x")

    assert response["ok"] is True
    assert len(fake.calls_to("chat.postMessage")) == 3
    # Failures are per method: others are unaffected.
    assert (await web.auth_test())["ok"] is True


async def test_rate_limit_surfaces_as_429_without_a_retry_handler(fake: FakeSlackApi) -> None:
    web = client(fake, retry_handlers=[])
    fake.rate_limit("users.info", retry_after=7)

    with pytest.raises(SlackApiError) as caught:
        await web.users_info(user="U1")
    response = await web.users_info(user="U1")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    assert response["user"]["id"] == "U1"


async def test_rate_limit_is_retried_by_slack_sdk_handler(fake: FakeSlackApi) -> None:
    # The handler sleeps Retry-After plus random.random() seconds, so under a second here.
    web = client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    fake.rate_limit("chat.postMessage", retry_after=0)

    response = await web.chat_postMessage(channel="U1", text="hello")

    assert response["ok"] is True
    attempts = fake.calls_to("chat.postMessage")
    assert len(attempts) == 2
    assert attempts[0].params == attempts[1].params


async def test_fail_raw_answers_like_a_proxy_in_front_of_slack(fake: FakeSlackApi) -> None:
    web = client(fake, retry_handlers=[])
    fake.fail_raw("chat.postMessage")  # a 503 in text/plain
    fake.fail_raw("chat.postMessage", status=200, content_type="application/json", body="{oops")

    with pytest.raises(SlackApiError) as proxy:
        await web.chat_postMessage(channel="U1", text="x")
    with pytest.raises(SlackApiError) as garbage:
        await web.chat_postMessage(channel="U1", text="x")
    response = await web.chat_postMessage(channel="U1", text="x")

    assert proxy.value.response.status_code == 503
    assert isinstance(proxy.value.response.data, str)  # what slack_sdk makes of text/plain
    assert "Received a response in a non-JSON format" in str(garbage.value)
    assert response["ok"] is True
    assert len(fake.calls_to("chat.postMessage")) == 3


async def test_a_refused_token_gets_its_error_from_every_method(fake: FakeSlackApi) -> None:
    fake.refuse_token(TOKEN, "token_revoked")
    for call in (client(fake).auth_test(), client(fake).users_info(user="U1")):
        with pytest.raises(SlackApiError) as refused:
            await call
        assert refused.value.response["error"] == "token_revoked"
    other = AsyncWebClient(token="xoxb-other", base_url=fake.url)
    assert (await other.auth_test())["ok"] is True
    fake.reset()
    assert (await client(fake).auth_test())["ok"] is True


async def test_control_api_scripts_raw_answers_and_refused_tokens(fake: FakeSlackApi) -> None:
    base = fake.url.removesuffix("/api/")
    web = client(fake, retry_handlers=[])
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/_fail_raw", json={"method": "users.info", "status": 502, "body": "down"}
        ) as r:
            assert r.status == 200
        async with http.post(f"{base}/_refuse_token", json={"token": "xoxb-gone"}) as r:
            assert r.status == 200
        async with http.post(f"{base}/_refuse_token", json={"error": "no token"}) as r:
            assert r.status == 400
    with pytest.raises(SlackApiError) as down:
        await web.users_info(user="U1")
    with pytest.raises(SlackApiError) as refused:
        await AsyncWebClient(token="xoxb-gone", base_url=fake.url).auth_test()
    assert down.value.response.status_code == 502 and down.value.response.data == "down"
    assert refused.value.response["error"] == "invalid_auth"


async def test_reset_clears_calls_and_scripted_failures(fake: FakeSlackApi) -> None:
    web = client(fake)
    await web.auth_test()
    fake.fail("auth.test", "invalid_auth")
    fake.reset()

    assert fake.calls == []
    assert (await web.auth_test())["ok"] is True


async def test_response_url_posts_are_recorded(fake: FakeSlackApi) -> None:
    url = fake.response_url("cmd-1")
    response = await AsyncWebhookClient(url).send(text="done", response_type="ephemeral")

    assert response.status_code == 200
    [call] = fake.calls_to("response_url")
    assert call.params["text"] == "done"
    assert call.params["response_type"] == "ephemeral"
    assert call.params["response_url_name"] == "cmd-1"
    assert call.token is None


async def test_wait_for_returns_once_calls_arrive(fake: FakeSlackApi) -> None:
    waiter = asyncio.create_task(fake.wait_for("chat.postMessage", count=2, within=30))
    web = client(fake)
    await web.chat_postMessage(channel="U1", text="one")
    await web.chat_postMessage(channel="U2", text="two")

    calls = await waiter

    assert [c.params["text"] for c in calls] == ["one", "two"]
    with pytest.raises(TimeoutError):
        await fake.wait_for("views.open", within=0.05)


async def test_control_api_from_a_plain_http_client(fake: FakeSlackApi) -> None:
    base = fake.url.removesuffix("/api/")
    web = client(fake, retry_handlers=[])
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/_fail", json={"method": "auth.test", "error": "invalid_auth", "times": 1}
        ) as r:
            assert r.status == 200
        async with http.post(
            f"{base}/_rate_limit", json={"method": "users.info", "retry_after": 3}
        ) as r:
            assert r.status == 200
        async with http.post(f"{base}/_users", json={"U9": {"real_name": "New Person"}}) as r:
            assert r.status == 200

        with pytest.raises(SlackApiError) as failed:
            await web.auth_test()
        with pytest.raises(SlackApiError) as limited:
            await web.users_info(user="U9")
        new_person = await web.users_info(user="U9")

        async with http.get(f"{base}/_calls") as r:
            calls = await r.json()
        async with http.get(f"{base}/_calls", params={"method": "users.info"}) as r:
            users_calls = await r.json()
        async with http.post(f"{base}/_fail", json={"error": "missing method"}) as r:
            assert r.status == 400
        async with http.post(f"{base}/_reset") as r:
            assert r.status == 200

    assert failed.value.response["error"] == "invalid_auth"
    assert limited.value.response.status_code == 429
    assert new_person["user"]["real_name"] == "New Person"
    assert [c["method"] for c in calls] == ["auth.test", "users.info", "users.info"]
    assert calls[0]["token"] == TOKEN
    assert isinstance(calls[0]["at"], float)
    assert [c["params"] for c in users_calls] == [{"user": "U9"}, {"user": "U9"}]
    assert fake.calls == []


async def test_runs_as_a_separate_process(tmp_path: Path) -> None:
    port_file = tmp_path / "slack.url"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.slack_fake",
        "--port-file",
        str(port_file),
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists():
            if proc.returncode is not None:
                stderr = await proc.stderr.read() if proc.stderr else b""
                pytest.fail(f"the fake exited early: {stderr.decode()}")
            assert time.monotonic() < deadline, "the fake never wrote its url"
            await asyncio.sleep(0.02)
        url = port_file.read_text().strip()
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api/")

        response = await AsyncWebClient(token=TOKEN, base_url=url).auth_test()
        assert response["user_id"] == "UBOT"
        async with (
            aiohttp.ClientSession() as http,
            http.get(url.removesuffix("/api/") + "/_calls") as r,
        ):
            calls = await r.json()
        assert [(c["method"], c["token"]) for c in calls] == [("auth.test", TOKEN)]
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
