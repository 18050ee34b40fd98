"""The offline Discord fake answers a real discord.py client the way Discord would."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests import discord_payloads as payloads
from tests.discord_fake import FakeDiscord
from tests.discord_rig import SAFETY

TOKEN = "fake-bot-token.for-tests"
STUDENT = 4242
CALLBACK = re.compile(r"/interactions/[0-9]+/[^/]+/callback")
CHANNEL_MESSAGES = re.compile(r"/channels/[0-9]+/messages")


class TiaraClient(discord.Client):
    """A small bot: ``/tiara log``, ``/tiara practice join``, a persistent button, a modal."""

    def __init__(self, *, intents: discord.Intents | None = None) -> None:
        super().__init__(
            intents=intents or discord.Intents.default(),
            guild_ready_timeout=0.05,  # on_ready 50 ms after the last GUILD_CREATE, not 2 s
        )
        self.tree = app_commands.CommandTree(self)
        self.ready = asyncio.Event()
        self.seen: list[tuple[str, Any]] = []
        self.removed: asyncio.Queue[discord.RawMemberRemoveEvent] = asyncio.Queue()
        self.dispatched = asyncio.Event()
        self._add_commands()

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        super().dispatch(event, *args, **kwargs)
        self.dispatched.set()

    async def until_guilds(self, guild_ids: list[int]) -> None:
        """Wait until every guild arrived (GUILD_CREATE): on a busy machine one can come
        after on_ready, which discord.py fires 50 ms after the last it has seen."""

        def arrived() -> bool:
            guilds = [self.get_guild(guild_id) for guild_id in guild_ids]
            return all(guild is not None and not guild.unavailable for guild in guilds)

        async with asyncio.timeout(SAFETY):
            while not arrived():
                self.dispatched.clear()
                await self.dispatched.wait()

    def _add_commands(self) -> None:
        tiara = app_commands.Group(name="tiara", description="Tiara")
        practice = app_commands.Group(name="practice", description="Practice", parent=tiara)
        seen = self.seen

        @tiara.command(name="log", description="Log a conversation")
        async def log(interaction: discord.Interaction, note: str | None = None) -> None:
            seen.append(("log", {"note": note, "user": interaction.user.id}))
            await interaction.response.send_message(f"Logged: {note}", ephemeral=True)

        @tiara.command(name="later", description="Deferred answer")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("done", ephemeral=True)
            await interaction.edit_original_response(content="edited")

        @tiara.command(name="form", description="Opens a form")
        async def form(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(NoteModal(seen))

        @tiara.command(name="contact", description="Autocompleted")
        async def contact(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(name)

        @contact.autocomplete("name")
        async def contact_names(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            names = ["Ann Lee", "Anna Berg", "Bo Chen"]
            return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

        @practice.command(name="join", description="Join practice")
        async def join(interaction: discord.Interaction, rounds: int, remote: bool) -> None:
            seen.append(("join", {"rounds": rounds, "remote": remote}))
            await interaction.response.send_message("joined")

        self.tree.add_command(tiara)

    async def setup_hook(self) -> None:
        self.add_view(Buttons(self.seen))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every IDENTIFY but the first; tests don't wait."""

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_raw_member_remove(self, event: discord.RawMemberRemoveEvent) -> None:
        await self.removed.put(event)


class Buttons(discord.ui.View):
    """A persistent view: its button works across restarts by ``custom_id``."""

    def __init__(self, seen: list[tuple[str, Any]]) -> None:
        super().__init__(timeout=None)
        self.seen = seen

    @discord.ui.button(label="Done", custom_id="tiara:b:done")
    async def done(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.seen.append(("button", interaction.user.id))
        await interaction.response.send_modal(NoteModal(self.seen))

    @discord.ui.button(label="Got it", custom_id="tiara:b:ack")
    async def ack(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="Noted", view=None)


class NoteModal(discord.ui.Modal, title="A note"):
    note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(label="Note", custom_id="note")

    def __init__(self, seen: list[tuple[str, Any]]) -> None:
        super().__init__(custom_id="tiara:f:note")
        self.seen = seen

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen.append(("modal", self.note.value))
        await interaction.response.send_message("saved", ephemeral=True)


# --------------------------------------------------------------------- fixtures


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    members = {payloads.GUILD_ID: [payloads.member(STUDENT, "ann", permissions=None)]}
    async with FakeDiscord(token=TOKEN, members=members) as server:
        monkeypatch.setattr(discord.http.Route, "BASE", server.api_url)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url)
        )
        yield server


async def _running(client: TiaraClient, fake: FakeDiscord) -> asyncio.Task[None]:
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect())
    await asyncio.wait_for(client.ready.wait(), SAFETY)
    await client.until_guilds(fake.guild_ids)
    return task


async def _shut(client: TiaraClient, task: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(task, SAFETY)


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[TiaraClient]:
    bot = TiaraClient()
    task = await _running(bot, fake)
    yield bot
    await _shut(bot, task)


async def _raw(
    fake: FakeDiscord, method: str, path: str, *, token: str | None = TOKEN, **kwargs: Any
) -> tuple[int, Any]:
    """A request to the fake without discord.py, to see its answers as they are."""
    headers = {"Authorization": f"Bot {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.api_url + path, headers=headers, **kwargs) as response,
    ):
        if response.headers.get("Content-Type") == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


# ------------------------------------------------------------ login and gateway


async def test_login_connect_and_ready(fake: FakeDiscord, client: TiaraClient) -> None:
    assert client.user is not None and client.user.id == payloads.BOT_USER_ID
    assert client.user.bot
    assert client.application_id == payloads.APPLICATION_ID
    guild = client.get_guild(payloads.GUILD_ID)
    assert guild is not None and guild.name == "Cohort"
    channel = guild.get_channel(payloads.CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel) and channel.name == "practice"
    assert guild.me is not None and guild.me.id == payloads.BOT_USER_ID
    assert guild.default_role.id == payloads.GUILD_ID
    # login is GET /users/@me then the application's info; connect makes no REST call.
    assert [(c.method, c.path) for c in fake.calls] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
    ]
    assert all(c.status == 200 for c in fake.calls)
    assert fake.saw_token(TOKEN) and not fake.saw_token("another")
    assert all(TOKEN not in str(c.headers) for c in fake.calls)
    [identify] = fake.identifies
    assert identify["intents"] == discord.Intents.default().value
    assert identify["token"] == "[redacted]"
    assert fake.heartbeats >= 1  # discord.py beats at once on HELLO


async def test_wrong_token_is_refused(fake: FakeDiscord) -> None:
    bot = TiaraClient()
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()
    assert fake.calls[0].status == 401


async def test_events_reach_the_client_and_resume_replays_missed_ones(
    fake: FakeDiscord, client: TiaraClient
) -> None:
    await fake.dispatch("GUILD_MEMBER_REMOVE", payloads.member_remove(payloads.GUILD_ID, STUDENT))
    event = await asyncio.wait_for(client.removed.get(), SAFETY)
    assert (event.guild_id, event.user.id) == (payloads.GUILD_ID, STUDENT)

    await fake.disconnect_all()  # 4000: the client resumes the session
    await fake.dispatch("GUILD_MEMBER_REMOVE", payloads.member_remove(payloads.GUILD_ID, 77))
    await fake.wait_connected(count=2)
    event = await asyncio.wait_for(client.removed.get(), SAFETY)
    assert event.user.id == 77
    assert len(fake.identifies) == 1
    [resume] = fake.resumes
    assert resume["session_id"] and resume["seq"] >= 3


async def test_invalid_session_makes_the_client_identify_again(
    fake: FakeDiscord, client: TiaraClient
) -> None:
    client.ready.clear()
    await fake.disconnect_all(resumable=False)
    await fake.wait_connected(count=2)
    await asyncio.wait_for(client.ready.wait(), SAFETY)  # a new session: READY again
    assert len(fake.resumes) == 1
    assert len(fake.identifies) == 2


async def test_members_intent_chunks_the_guild(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.members = True
    bot = TiaraClient(intents=intents)
    task = await _running(bot, fake)
    try:
        guild = bot.get_guild(payloads.GUILD_ID)
        assert guild is not None and guild.chunked
        assert {m.id for m in guild.members} == {payloads.BOT_USER_ID, STUDENT}
        assert fake.identifies[0]["intents"] & (1 << 1)
        assert fake.member_requests[0]["guild_id"] == payloads.GUILD_ID
    finally:
        await _shut(bot, task)


# ------------------------------------------------------------------------- REST


async def test_send_a_dm(fake: FakeDiscord, client: TiaraClient) -> None:
    user = await client.fetch_user(STUDENT)
    message = await user.send("Hello from Tiara")

    dm = fake.dm_channel_id(STUDENT)
    assert message.channel.id == dm
    assert message.content == "Hello from Tiara"
    assert message.author.id == payloads.BOT_USER_ID
    [opened] = fake.calls_to("POST", "/users/@me/channels")
    assert opened.json == {"recipient_id": STUDENT}
    assert [body["content"] for body in fake.messages_in(dm)] == ["Hello from Tiara"]

    await message.edit(content="Hello again")
    stored = fake.message(message.id)
    assert stored is not None and stored["content"] == "Hello again"
    assert stored["edited_timestamp"] is not None


async def test_rate_limited_post_is_retried(fake: FakeDiscord, client: TiaraClient) -> None:
    fake.rate_limit("POST", CHANNEL_MESSAGES, retry_after=0.05)
    channel = client.get_channel(payloads.CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    started = time.monotonic()
    message = await channel.send("again")

    assert time.monotonic() - started >= 0.05
    assert [c.status for c in fake.calls_to("POST", CHANNEL_MESSAGES)] == [429, 200]
    assert message.content == "again"
    assert fake.messages_in(payloads.CHANNEL_ID) == [fake.calls[-1].json]


async def test_global_rate_limit_is_retried(fake: FakeDiscord, client: TiaraClient) -> None:
    fake.rate_limit("POST", CHANNEL_MESSAGES, retry_after=0.02, times=2, is_global=True)
    channel = client.get_channel(payloads.CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("third time lucky")
    assert [c.status for c in fake.calls_to("POST", CHANNEL_MESSAGES)] == [429, 429, 200]


async def test_rate_limit_answer_looks_like_discords(fake: FakeDiscord) -> None:
    fake.rate_limit("GET", "/users/@me", retry_after=0.25)
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            fake.api_url + "/users/@me", headers={"Authorization": f"Bot {TOKEN}"}
        ) as response,
    ):
        body = await response.json()
        assert response.status == 429
        assert response.headers["Via"] == "1.1 google"
        assert response.headers["Retry-After"] == "1"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert response.headers["X-RateLimit-Reset-After"] == "0.250"
        assert response.headers["X-RateLimit-Scope"] == "user"
    assert body == {"message": "You are being rate limited.", "retry_after": 0.25, "global": False}


async def test_dm_refused_raises_forbidden_50007(fake: FakeDiscord, client: TiaraClient) -> None:
    fake.refuse_dms(STUDENT)
    user = await client.fetch_user(STUDENT)
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("hi")
    assert caught.value.status == 403
    assert caught.value.code == 50007
    assert caught.value.text == "Cannot send messages to this user"
    assert fake.messages_in(fake.dm_channel_id(STUDENT)) == []


async def test_scripted_failure(fake: FakeDiscord, client: TiaraClient) -> None:
    member_path = f"/guilds/{payloads.GUILD_ID}/members/{STUDENT}"
    fake.fail("GET", member_path, status=404, code=10007, message="Unknown Member", times=1)
    guild = client.get_guild(payloads.GUILD_ID)
    assert guild is not None
    with pytest.raises(discord.NotFound) as caught:
        await guild.fetch_member(STUDENT)
    assert caught.value.code == 10007
    member = await guild.fetch_member(STUDENT)  # only once
    assert member.name == "ann"


async def test_private_thread_with_a_member(fake: FakeDiscord, client: TiaraClient) -> None:
    channel = client.get_channel(payloads.CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    thread = await channel.create_thread(
        name="Practice round", type=discord.ChannelType.private_thread, invitable=False
    )
    await thread.add_user(discord.Object(STUDENT))
    await thread.send("Welcome")

    assert thread.type is discord.ChannelType.private_thread
    assert thread.parent_id == payloads.CHANNEL_ID
    [created] = fake.calls_to("POST", f"/channels/{payloads.CHANNEL_ID}/threads")
    assert created.json["type"] == 12 and created.json["invitable"] is False
    assert fake.thread_members(thread.id) == {payloads.BOT_USER_ID, STUDENT}
    assert [body["content"] for body in fake.messages_in(thread.id)] == ["Welcome"]


async def test_command_sync_is_remembered(fake: FakeDiscord, client: TiaraClient) -> None:
    synced = await client.tree.sync()
    fetched = await client.tree.fetch_commands()
    guild = discord.Object(payloads.GUILD_ID)
    client.tree.copy_global_to(guild=guild)
    in_guild = await client.tree.sync(guild=guild)

    assert [c.name for c in synced] == ["tiara"]
    assert [c.id for c in fetched] == [c.id for c in synced]
    assert {o.name for o in synced[0].options} >= {"log", "practice"}
    assert fake.commands()[0]["application_id"] == str(payloads.APPLICATION_ID)
    assert in_guild[0].guild_id == payloads.GUILD_ID
    assert in_guild[0].id != synced[0].id


async def test_fake_is_strict_where_discord_is(fake: FakeDiscord) -> None:
    assert await _raw(fake, "GET", "/users/@me", token=None) == (
        401,
        {"message": "401: Unauthorized", "code": 0},
    )
    assert (await _raw(fake, "GET", "/nothing/here"))[0] == 404
    # A user id is not a channel: a DM needs POST /users/@me/channels first.
    status, body = await _raw(fake, "POST", f"/channels/{STUDENT}/messages", json={"content": "x"})
    assert (status, body["code"]) == (404, 10003)
    status, body = await _raw(fake, "POST", f"/channels/{payloads.CHANNEL_ID}/messages", json={})
    assert (status, body["code"]) == (400, 50006)
    long = {"content": "x" * 2001}
    status, body = await _raw(fake, "POST", f"/channels/{payloads.CHANNEL_ID}/messages", json=long)
    assert (status, body["code"]) == (400, 50035)
    assert "content" in body["errors"]
    assert [c.status for c in fake.calls] == [401, 404, 404, 400, 400]


# ------------------------------------------------------------------ interactions


async def test_slash_command_reaches_the_tree_and_answers_ephemerally(
    fake: FakeDiscord, client: TiaraClient
) -> None:
    payload = payloads.slash_command(path=("log",), options={"note": "met Ann"}, user_id=STUDENT)
    await fake.interaction(payload)
    [call] = await fake.wait_for("POST", CALLBACK)

    assert client.seen == [("log", {"note": "met Ann", "user": STUDENT})]
    assert fake.interaction_responses(int(payload["id"])) == [call]
    assert call.json == {
        "type": 4,
        "data": {"content": "Logged: met Ann", "flags": 64, "tts": False},
    }
    assert call.query == {"with_response": "1"}
    assert call.status == 200
    assert "Authorization" not in call.headers  # the interaction token is the credential


async def test_subcommand_group_with_typed_options(fake: FakeDiscord, client: TiaraClient) -> None:
    payload = payloads.slash_command(
        path=("practice", "join"), options={"rounds": 3, "remote": True}, user_id=STUDENT
    )
    await fake.interaction(payload)
    await fake.wait_for("POST", CALLBACK)
    assert client.seen == [("join", {"rounds": 3, "remote": True})]


async def test_slash_command_in_dm(fake: FakeDiscord, client: TiaraClient) -> None:
    payload = payloads.slash_command_in_dm(path=("log",), user_id=STUDENT)
    await fake.interaction(payload)
    [call] = await fake.wait_for("POST", CALLBACK)
    assert client.seen == [("log", {"note": None, "user": STUDENT})]
    assert call.status == 200
    assert fake.channel(fake.dm_channel_id(STUDENT)) is not None


async def test_defer_then_followup_and_edit(fake: FakeDiscord, client: TiaraClient) -> None:
    payload = payloads.slash_command(path=("later",), user_id=STUDENT)
    await fake.interaction(payload)
    token = payload["token"]
    await fake.wait_for("PATCH", re.compile(rf"/webhooks/[0-9]+/{re.escape(token)}/.*"))

    [deferred] = fake.interaction_responses(int(payload["id"]))
    assert deferred.json == {"type": 5, "data": {"flags": 64}}
    calls = fake.followups(token)
    assert [(c.method, c.status) for c in calls] == [("POST", 200), ("PATCH", 200)]
    assert calls[0].json["content"] == "done" and calls[0].json["flags"] == 64
    assert calls[0].query["wait"] == "1"
    assert calls[1].path.endswith("/messages/@original")
    original = fake.interaction_responses(int(payload["id"]))[0]
    assert original.status == 200


async def test_button_then_modal_then_submit(fake: FakeDiscord, client: TiaraClient) -> None:
    click = payloads.button_click(
        custom_id="tiara:b:done", user_id=STUDENT, guild_id=payloads.GUILD_ID
    )
    await fake.interaction(click)
    [shown] = await fake.wait_for("POST", CALLBACK)
    assert shown.json["type"] == 9
    assert shown.json["data"]["custom_id"] == "tiara:f:note"
    assert shown.json["data"]["title"] == "A note"

    submit = payloads.modal_submit(
        custom_id="tiara:f:note", values={"note": "Ask about hiring"}, user_id=STUDENT
    )
    await fake.interaction(submit)
    await fake.wait_for("POST", CALLBACK, count=2)
    assert client.seen == [("button", STUDENT), ("modal", "Ask about hiring")]
    [answer] = fake.interaction_responses(int(submit["id"]))
    assert answer.json["data"]["flags"] == 64


async def test_button_updates_its_message(fake: FakeDiscord, client: TiaraClient) -> None:
    channel = client.get_channel(payloads.CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    posted = await channel.send("Did you follow up?", view=Buttons([]))
    stored = fake.message(posted.id)
    assert stored is not None
    custom_ids = [b["custom_id"] for row in stored["components"] for b in row["components"]]
    assert custom_ids == ["tiara:b:done", "tiara:b:ack"]

    click = payloads.button_click(
        custom_id="tiara:b:ack", user_id=STUDENT, guild_id=payloads.GUILD_ID, message=stored
    )
    await fake.interaction(click)
    [call] = await fake.wait_for("POST", CALLBACK)

    assert call.json == {"type": 7, "data": {"tts": False, "content": "Noted", "components": []}}
    updated = fake.message(posted.id)
    assert updated is not None and updated["content"] == "Noted"
    assert updated["components"] == []


async def test_autocomplete(fake: FakeDiscord, client: TiaraClient) -> None:
    payload = payloads.autocomplete(
        path=("contact",), options={"name": "An"}, focused="name", user_id=STUDENT
    )
    await fake.interaction(payload)
    [call] = await fake.wait_for("POST", CALLBACK)
    assert call.json["type"] == 8
    assert [c["value"] for c in call.json["data"]["choices"]] == ["Ann Lee", "Anna Berg"]


async def test_answering_twice_and_early_followups_are_refused(fake: FakeDiscord) -> None:
    payload = payloads.slash_command(path=("log",), user_id=STUDENT)
    fake.register_interaction(payload)  # as if dispatched, without a client
    callback = f"/interactions/{payload['id']}/{payload['token']}/callback"
    followup = f"/webhooks/{payloads.APPLICATION_ID}/{payload['token']}"
    message = {"content": "hi"}

    status, body = await _raw(fake, "POST", followup, token=None, json=message)
    assert (status, body["code"]) == (404, 10015)
    answer = {"type": 4, "data": message}
    assert (await _raw(fake, "POST", callback, token=None, json=answer))[0] == 204
    status, body = await _raw(fake, "POST", callback, token=None, json=answer)
    assert (status, body["code"]) == (400, 40060)
    status, body = await _raw(
        fake, "POST", followup, token=None, json=message, params={"wait": "true"}
    )
    assert status == 200 and body["content"] == "hi"


def test_payload_builders_shape() -> None:
    command = payloads.slash_command(
        path=("practice", "join"),
        options={"rounds": 2, "remote": False, "note": "x", "weight": 1.5},
        user_id=7,
    )
    [group] = command["data"]["options"]
    assert (group["name"], group["type"]) == ("practice", 2)
    [sub] = group["options"]
    assert (sub["name"], sub["type"]) == ("join", 1)
    assert [o["type"] for o in sub["options"]] == [4, 5, 3, 10]
    assert command["member"]["user"]["id"] == "7" and command["context"] == 0
    assert command["token"] == payloads.interaction_token(int(command["id"]))

    dm = payloads.slash_command_in_dm(path=("log",), user_id=7)
    assert "guild_id" not in dm and dm["user"]["id"] == "7" and dm["context"] == 1
    assert dm["channel"]["type"] == 1

    typing = payloads.autocomplete(path=("contact",), focused="name", user_id=7)
    [leaf] = typing["data"]["options"][0]["options"]
    assert leaf == {"name": "name", "type": 3, "value": "", "focused": True}

    labelled = payloads.modal_submit(custom_id="f", values={"a": "1"}, user_id=7, layout="label")
    assert labelled["data"]["components"][0]["type"] == 18
    assert payloads.member_remove(5000, 7) == {"guild_id": "5000", "user": payloads.user(7)}
