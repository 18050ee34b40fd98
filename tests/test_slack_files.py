"""Files on Slack: exports and charts arrive in the member's DM with Tiara, byte for byte.

An ephemeral reply can't carry files, so the adapter uploads an answer's attachments into the
member's DM (``files_upload_v2`` against the local fake) and says so in the reply; the
notifier uploads a DM's or a group DM's attachments after its text. Requests are signed and
go through the real bolt app, as in ``test_slack_app.py``; the commands here are small test
commands in their own registry, so these tests don't depend on what the real ones contain.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.bootstrap import build_bot
from adapters.slack.runner import slack_setup
from bot.clock import FixedClock
from bot.config import Settings
from bot.context import Context
from bot.notify import DeliveryError
from bot.registry import Kind, Option, Registry
from bot.values import Attachment, Button, Message, UserRef
from storage.store import Store
from tests.conftest import START
from tests.slack_fake import FakeSlackApi, Upload
from tests.test_slack_app import SECRET, TEAM, TOKEN, USERS, Rig, texts

# A CSV with what spreadsheets trip over (a BOM, accents, a quoted comma, CRLF) and a "PNG"
# holding every byte value: both must arrive exactly as the core made them.
SECRET_NOTE = "Private: she is leaving Acme in March"
CSV = ('\ufeffcontact,organization,notes\r\nZoë Ng,"Acme, Inc.",' + SECRET_NOTE + "\r\n").encode()
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tiara//EN\r\nEND:VCALENDAR\r\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64

EXPORT = (
    Attachment("tiara-export.csv", CSV, "text/csv", "Your Tiara data"),
    Attachment("tiara-meetings.ics", ICS, "text/calendar", "Upcoming meetings"),
)
CHART = Attachment("cohort-progress.png", PNG, "image/png", "Meetings per week")


def files_registry() -> Registry:
    """Test commands: an export with two files, a chart, a form whose answer has a file, and
    one that reports whether the core was told the member is a workspace admin."""
    registry = Registry()

    @registry.command("export", group="You")
    async def export(ctx: Context, args: dict[str, Any]) -> Message:
        """Your data as files."""
        return Message(title="Your data", text="Your export is ready.", attachments=EXPORT)

    @registry.command("coach", "stats", group="Coach", coach_only=True)
    async def stats(ctx: Context, args: dict[str, Any]) -> Message:
        """The cohort's progress."""
        if not ctx.invocation.platform_admin:
            return Message(text="Only coaches can see the cohort's progress.", error=True)
        return Message(title="Cohort progress", text="3 members met someone.", attachments=(CHART,))

    @registry.command(
        "report",
        options=(Option("topic", Kind.TEXT, "what to report on", required=True),),
        form=("Report", ["topic"]),
        group="You",
    )
    async def report(ctx: Context, args: dict[str, Any]) -> Message:
        """A report as a file."""
        data = f"report on {args['topic']}\n".encode()
        return Message(
            text=f"Report on {args['topic']} ready.",
            attachments=(Attachment("report.txt", data, "text/plain"),),
        )

    @registry.command("whoami", group="You")
    async def whoami(ctx: Context, args: dict[str, Any]) -> Message:
        """Says whether the platform called this member an admin."""
        admin = "yes" if ctx.invocation.platform_admin else "no"
        return Message(
            text=f"workspace admin: {admin}",
            buttons=(Button("Again", ("whoami",)), Button("Coach stats", ("coach", "stats"))),
        )

    return registry


@asynccontextmanager
async def slack_rig(
    registry: Registry | None = None, *, users: dict[str, dict[str, Any]] | None = None
) -> AsyncIterator[Rig]:
    """A Slack workspace whose bot runs ``registry`` (the test commands above by default;
    pass ``bot.commands.registry`` for the real ones), users as in ``users.info``."""
    store = Store("sqlite+aiosqlite://")
    await store.upgrade()
    async with FakeSlackApi(team_id=TEAM, users=json.loads(json.dumps(users or USERS))) as fake:
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
        bot = build_bot(
            store=store,
            clock=clock,
            registry=registry or files_registry(),
            default_timezone="UTC",
            notifier=setup.notifier,
        )
        adapter = setup.adapter(bot, http=True, process_before_response=True)
        adapter.home_debounce = 0
        rig = Rig(fake, adapter, bot, clock)
        rig.slept = slept
        try:
            yield rig
        finally:
            await adapter.drain()
            await store.close()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with slack_rig() as test_rig:
        yield test_rig


def assert_export_in(uploads: list[Upload], channel: str) -> None:
    assert [(u.channel, u.filename, u.data) for u in uploads] == [
        (channel, "tiara-export.csv", CSV),
        (channel, "tiara-meetings.ics", ICS),
    ]


def the_dm(rig: Rig, user: str = "U1") -> str:
    """The id of the app's DM with ``user``, as Slack named it when Tiara first posted there."""
    posted = rig.fake.calls_to("chat.postMessage")
    assert posted, "nothing was posted to the member"
    channel = rig.adapter.notifier.dm_channels[(TEAM, user)]
    assert channel.startswith("D")
    return channel


# -- replies to commands, clicks and forms ------------------------------------------------


async def test_an_exports_files_arrive_in_the_dm_byte_for_byte(rig: Rig) -> None:
    await rig.command("export")
    assert_export_in(rig.fake.uploads, the_dm(rig))
    # The DM says what the files are: Tiara's first post there names them.
    [intro] = rig.fake.calls_to("chat.postMessage")
    assert intro.params["channel"] == "U1"
    assert "tiara-export.csv" in texts(intro.params["blocks"])
    assert "/tiara export" in texts(intro.params["blocks"])
    # The ephemeral reply has the answer and says where the files went; it carries none.
    [reply] = rig.answers()
    assert reply.params["response_type"] == "ephemeral"
    shown = texts(reply.params["blocks"])
    assert "Your export is ready." in shown
    assert "in your DM with Tiara" in shown and "tiara-meetings.ics" in shown


async def test_once_the_dm_is_known_the_files_come_with_their_comment_in_one_message(
    rig: Rig,
) -> None:
    await rig.command("export")
    posts = len(rig.fake.calls_to("chat.postMessage"))
    rig.fake.uploads.clear()
    await rig.command("export")
    assert len(rig.fake.calls_to("chat.postMessage")) == posts  # no second intro
    assert_export_in(rig.fake.uploads, the_dm(rig))
    [completed] = rig.fake.calls_to("files.completeUploadExternal")[-1:]
    assert "/tiara export" in str(completed.params["initial_comment"])
    assert [f["title"] for f in completed.params["files"]] == [
        "Your Tiara data",
        "Upcoming meetings",
    ]


async def test_the_dm_named_by_the_home_tab_is_used_straight_away(rig: Rig) -> None:
    await rig.event(
        {"type": "app_home_opened", "user": "U1", "tab": "messages", "channel": "D0TIARAU1"},
        event_id="Ev-messages-tab",
    )
    await rig.command("coach stats", user="U1")  # not an admin: no files
    assert rig.fake.uploads == []
    await rig.command("export")
    assert_export_in(rig.fake.uploads, "D0TIARAU1")
    assert rig.fake.calls_to("chat.postMessage") == []
    assert rig.fake.uploads[0].initial_comment is not None


async def test_a_chart_arrives_with_a_description_for_screen_readers() -> None:
    admin = {"U1": {**USERS["U1"], "is_admin": True}}
    async with slack_rig(users=admin) as rig:
        await rig.command("coach stats")
        [chart] = rig.fake.uploads
        assert (chart.filename, chart.data, chart.title) == (
            "cohort-progress.png",
            PNG,
            "Meetings per week",
        )
        [asked] = rig.fake.calls_to("files.getUploadURLExternal")
        assert asked.params["alt_txt"] == "Meetings per week"
        assert int(asked.params["length"]) == len(PNG)


async def test_a_clicked_buttons_files_arrive_in_the_dm(rig: Rig) -> None:
    await rig.click(Button("Export my data", ("export",)))
    assert_export_in(rig.fake.uploads, the_dm(rig))
    assert "in your DM with Tiara" in rig.last_answer()


async def test_a_click_on_the_home_tab_says_in_its_modal_where_the_files_are(rig: Rig) -> None:
    await rig.click(Button("Export my data", ("export",)), container="view")
    assert_export_in(rig.fake.uploads, the_dm(rig))
    [shown] = rig.fake.calls_to("views.open")
    assert "in your DM with Tiara" in texts(shown.params["view"]["blocks"])


async def test_a_submitted_forms_file_arrives_in_the_dm(rig: Rig) -> None:
    await rig.command("report")
    [opened] = rig.fake.calls_to("views.open")
    response = await rig.submit(opened, {"topic": "Q3 outreach"})
    assert response.status == 200 and not response.body  # the modal closes
    [upload] = rig.fake.uploads
    assert (upload.channel, upload.filename, upload.data) == (
        the_dm(rig),
        "report.txt",
        b"report on Q3 outreach\n",
    )
    shown = rig.last_answer()
    assert "Report on Q3 outreach ready." in shown and "in your DM with Tiara" in shown


# -- when Slack refuses ---------------------------------------------------------------------


async def test_a_rate_limited_upload_waits_as_told_and_the_files_arrive_once(rig: Rig) -> None:
    rig.fake.rate_limit("files.getUploadURLExternal", retry_after=3)
    rig.fake.rate_limit("file_upload", retry_after=4)
    rig.fake.rate_limit("files.completeUploadExternal", retry_after=9)
    await rig.command("export")
    assert_export_in(rig.fake.uploads, the_dm(rig))  # each file once, complete
    assert {3, 4, 9} <= set(rig.slept)  # Retry-After, on the injected clock: no real waiting
    assert "in your DM with Tiara" in rig.last_answer()


@pytest.mark.parametrize(
    ("method", "error", "advice"),
    [
        ("files.completeUploadExternal", "missing_scope", "reinstall Tiara"),
        ("files.completeUploadExternal", "channel_not_found", "Messages tab"),
        ("files.getUploadURLExternal", "internal_error", "again in a minute"),
        ("file_upload", "upload_refused", "again in a minute"),
    ],
)
async def test_a_refused_upload_says_what_to_do_and_logs_no_file_contents(
    rig: Rig, caplog: pytest.LogCaptureFixture, method: str, error: str, advice: str
) -> None:
    caplog.set_level(logging.DEBUG)  # slack_sdk's request logs too
    rig.fake.fail(method, error)
    response = await rig.command("export")
    assert response.status == 200
    assert rig.fake.uploads == []
    shown = rig.last_answer()
    assert "Your export is ready." in shown  # the answer itself still arrives
    assert "couldn't put the 2 files in your DM" in shown and advice in shown
    assert "Traceback" not in shown and error not in shown
    assert SECRET_NOTE not in caplog.text and TOKEN not in caplog.text
    await rig.command("export")  # and the next try works
    assert_export_in(rig.fake.uploads, the_dm(rig))


async def test_a_member_who_cant_get_dms_is_told_and_the_reply_still_arrives(rig: Rig) -> None:
    rig.fake.fail("chat.postMessage", "messages_tab_disabled")
    await rig.command("export")
    assert rig.fake.uploads == []
    assert "Messages tab" in rig.last_answer()


# -- the notifier ---------------------------------------------------------------------------


async def test_a_dm_with_attachments_sends_its_text_then_the_files_in_the_same_dm(
    rig: Rig,
) -> None:
    notifier = rig.adapter.notifier
    digest = Message(title="Your weekly digest", text="5 meetings this week.", attachments=(CHART,))
    await notifier.send_dm(UserRef("slack", TEAM, "U2"), digest)
    [posted] = rig.fake.calls_to("chat.postMessage")
    assert posted.params["channel"] == "U2"
    assert "5 meetings this week." in texts(posted.params["blocks"])
    [chart] = rig.fake.uploads
    assert (chart.channel, chart.filename, chart.data) == (the_dm(rig, "U2"), CHART.filename, PNG)
    assert chart.token == TOKEN


async def test_a_group_dm_with_attachments_gets_the_files_too(rig: Rig) -> None:
    users = [UserRef("slack", TEAM, "U1"), UserRef("slack", TEAM, "U2")]
    await rig.adapter.notifier.send_group(users, Message(text="Your plan", attachments=EXPORT))
    group = rig.fake.calls_to("chat.postMessage")[-1].params["channel"]
    assert group.startswith("G")
    assert_export_in(rig.fake.uploads, group)


async def test_a_rate_limited_dm_upload_is_retried(rig: Rig) -> None:
    rig.fake.rate_limit("files.completeUploadExternal", retry_after=6)
    await rig.adapter.notifier.send_dm(
        UserRef("slack", TEAM, "U1"), Message(text="Chart", attachments=(CHART,))
    )
    assert [u.data for u in rig.fake.uploads] == [PNG]
    assert 6 in rig.slept


@pytest.mark.parametrize(
    ("method", "error", "permanent"),
    [
        ("files.completeUploadExternal", "channel_not_found", True),
        ("files.completeUploadExternal", "is_archived", True),
        ("files.completeUploadExternal", "missing_scope", False),
        ("files.getUploadURLExternal", "internal_error", False),
        ("file_upload", "upload_refused", False),
    ],
)
async def test_dm_upload_failures_become_delivery_errors(
    rig: Rig, method: str, error: str, permanent: bool
) -> None:
    rig.fake.fail(method, error)
    with pytest.raises(DeliveryError) as raised:
        await rig.adapter.notifier.send_dm(
            UserRef("slack", TEAM, "U1"), Message(text="Chart", attachments=(CHART,))
        )
    assert raised.value.reason == (error if method != "file_upload" else "upload_failed")
    assert raised.value.permanent is permanent
    assert rig.fake.uploads == []
