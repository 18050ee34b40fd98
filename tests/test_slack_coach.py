"""Coaches on Slack: workspace admins and owners are coaches, and a demoted one soon isn't.

``users.info`` says who runs the workspace (``is_admin``, ``is_owner``,
``is_primary_owner``); every invocation the adapter builds carries it to the core as
``platform_admin``. Signed requests go through the real bolt app against the local fake;
the adapter's monotonic clock is a variable here, so "five minutes later" takes no time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.bootstrap import build_registry
from adapters.slack.app import ADMIN_EVERY
from bot.context import Context
from bot.registry import Kind, Option, Registry
from bot.values import Button, Message
from tests.slack_fake import FakeSlackApi
from tests.test_slack_app import TEAM, USERS, Rig, texts
from tests.test_slack_files import PNG, files_registry, slack_rig

registry = build_registry()

ADMIN = "U1"
MEMBER = "U2"


class Monotonic:
    """The adapter's clock: moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta.total_seconds()


def coach_registry() -> Registry:
    """The test commands, plus a form whose submission reports the admin flag."""
    registry = files_registry()

    @registry.command(
        "coach",
        "note",
        options=(Option("text", Kind.TEXT, "the note", required=True),),
        form=("Coach note", ["text"]),
        group="Coach",
        coach_only=True,
    )
    async def note(ctx: Context, args: dict[str, Any]) -> Message:
        """A note only coaches may leave."""
        if not ctx.invocation.platform_admin:
            return Message(text="Only coaches can leave notes.", error=True)
        return Message(text=f"Noted as a coach: {args['text']}")

    return registry


def users(**admin_fields: bool) -> dict[str, dict[str, Any]]:
    return {ADMIN: {**USERS["U1"], **admin_fields}, MEMBER: dict(USERS["U2"])}


@pytest.fixture
async def clock() -> Monotonic:
    return Monotonic()


@pytest.fixture
async def rig(clock: Monotonic) -> AsyncIterator[Rig]:
    async with slack_rig(coach_registry(), users=users(is_admin=True)) as test_rig:
        test_rig.adapter.monotonic = clock
        yield test_rig


def info_reads(fake: FakeSlackApi, user: str) -> int:
    return sum(1 for call in fake.calls_to("users.info") if call.params.get("user") == user)


# -- who is an admin ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "admin"),
    [
        ({"is_admin": True}, "yes"),
        ({"is_owner": True}, "yes"),
        ({"is_primary_owner": True, "is_owner": True}, "yes"),
        ({}, "no"),
        ({"is_restricted": True}, "no"),
    ],
    ids=["admin", "owner", "primary-owner", "member", "guest"],
)
async def test_a_slash_command_tells_the_core_whether_slack_says_admin(
    fields: dict[str, bool], admin: str
) -> None:
    async with slack_rig(coach_registry(), users=users(**fields)) as rig:
        await rig.command("whoami", user=ADMIN)
        assert f"workspace admin: {admin}" in rig.last_answer()


async def test_an_admin_gets_the_cohort_chart_and_a_member_is_turned_away(rig: Rig) -> None:
    await rig.command("coach stats", user=MEMBER)
    assert "Only coaches" in rig.last_answer()
    assert rig.fake.uploads == [] and rig.fake.calls_to("chat.postMessage") == []

    await rig.command("coach stats", user=ADMIN)
    shown = rig.last_answer()
    assert "Cohort progress" in shown and "in your DM with Tiara" in shown
    [chart] = rig.fake.uploads
    assert chart.data == PNG and chart.channel == rig.adapter.notifier.dm_channels[(TEAM, ADMIN)]


async def test_button_clicks_carry_the_admin_flag_in_chat_and_on_the_home_tab(rig: Rig) -> None:
    await rig.click(Button("Again", ("whoami",)), user=ADMIN)
    assert "workspace admin: yes" in rig.last_answer()
    await rig.click(Button("Again", ("whoami",)), user=MEMBER)
    assert "workspace admin: no" in rig.last_answer()

    await rig.click(Button("Coach stats", ("coach", "stats")), user=ADMIN, container="view")
    [shown] = rig.fake.calls_to("views.open")
    assert "Cohort progress" in texts(shown.params["view"]["blocks"])
    assert [u.data for u in rig.fake.uploads] == [PNG]


async def test_a_submitted_form_carries_the_admin_flag(rig: Rig) -> None:
    await rig.command("coach note", user=ADMIN)
    [opened] = rig.fake.calls_to("views.open")
    await rig.submit(opened, {"text": "Check in with Ben"}, user=ADMIN)
    assert "Noted as a coach: Check in with Ben" in rig.last_answer()

    await rig.command("coach note", user=MEMBER)
    opened = rig.fake.calls_to("views.open")[-1]
    response = await rig.submit(opened, {"text": "Let me in"}, user=MEMBER)
    assert b"Only coaches can use /tiara coach note" in response.body.encode()  # in the modal


# -- keeping the flag fresh -------------------------------------------------------------------


async def test_a_demoted_admin_loses_coach_rights_within_five_minutes(
    rig: Rig, clock: Monotonic
) -> None:
    await rig.command("coach stats", user=ADMIN)
    assert "Cohort progress" in rig.last_answer()
    rig.fake.users[ADMIN]["is_admin"] = False  # demoted in Slack

    clock.advance(ADMIN_EVERY - timedelta(seconds=30))
    await rig.command("coach stats", user=ADMIN)
    assert "Cohort progress" in rig.last_answer()  # Slack was asked under five minutes ago
    assert info_reads(rig.fake, ADMIN) == 1

    clock.advance(timedelta(seconds=31))
    await rig.command("coach stats", user=ADMIN)
    assert "Only coaches" in rig.last_answer()
    assert info_reads(rig.fake, ADMIN) == 2
    await rig.click(Button("Again", ("whoami",)), user=ADMIN)
    assert "workspace admin: no" in rig.last_answer()


async def test_other_commands_read_the_profile_only_about_once_a_day(
    rig: Rig, clock: Monotonic
) -> None:
    await rig.command("whoami", user=ADMIN)
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        await rig.command("whoami", user=ADMIN)
        await rig.click(Button("Again", ("whoami",)), user=ADMIN)
        assert "workspace admin: yes" in rig.last_answer()
    assert info_reads(rig.fake, ADMIN) == 1
    clock.advance(timedelta(days=1))
    await rig.command("whoami", user=ADMIN)
    assert info_reads(rig.fake, ADMIN) == 2


async def test_a_demotion_slack_reports_counts_at_once(rig: Rig) -> None:
    await rig.command("coach stats", user=ADMIN)
    assert "Cohort progress" in rig.last_answer()
    rig.fake.users[ADMIN]["is_admin"] = False
    await rig.event(
        {
            "type": "user_change",
            "user": {"id": ADMIN, "team_id": TEAM, "is_admin": False, "is_owner": False},
        },
        event_id="Ev-demoted",
    )
    await rig.command("coach stats", user=ADMIN)
    assert "Only coaches" in rig.last_answer()


async def test_when_slack_cant_say_the_member_is_no_admin_but_still_answered(
    rig: Rig, clock: Monotonic
) -> None:
    rig.fake.fail("users.info", "internal_error")
    await rig.command("coach stats", user=ADMIN)
    assert "Only coaches" in rig.last_answer()
    await rig.command("whoami", user=ADMIN)  # other commands answer as usual
    assert "workspace admin: no" in rig.last_answer()

    await rig.command("coach stats", user=ADMIN)  # a failed read is tried again
    assert "Cohort progress" in rig.last_answer()

    clock.advance(ADMIN_EVERY + timedelta(seconds=1))
    rig.fake.fail("users.info", "ratelimited")
    await rig.command("coach stats", user=ADMIN)
    assert "Only coaches" in rig.last_answer()  # no fresh word from Slack: not an admin


# -- the real commands ------------------------------------------------------------------------


async def test_the_real_coach_stats_and_export_through_slack(clock: Monotonic) -> None:

    async with slack_rig(registry, users=users(is_owner=True)) as rig:
        rig.adapter.monotonic = clock
        await rig.command("coach stats", user=MEMBER)
        [refused] = rig.answers()
        assert texts(refused.params["blocks"]).removeprefix(":warning: ").startswith("Only coaches")
        assert rig.fake.uploads == []

        await rig.command("coach stats", user=ADMIN)
        shown = rig.last_answer()
        assert "Cohort progress" in shown and "in your DM with Tiara" in shown
        [chart] = rig.fake.uploads
        assert chart.filename.endswith(".png") and chart.data.startswith(b"\x89PNG\r\n\x1a\n")
        dm = rig.adapter.notifier.dm_channels[(TEAM, ADMIN)]
        assert chart.channel == dm

        await rig.command('log contact="Dana Lee" when="next Tuesday 10am"', user=MEMBER)
        await rig.command("export", user=MEMBER)
        files = {u.filename.rsplit(".", 1)[-1]: u for u in rig.fake.uploads[1:]}
        assert set(files) == {"csv", "ics"}
        assert all(
            u.channel == rig.adapter.notifier.dm_channels[(TEAM, MEMBER)] for u in files.values()
        )
        assert "Dana Lee" in files["csv"].data.decode("utf-8-sig")
        assert b"BEGIN:VCALENDAR" in files["ics"].data
        assert "in your DM with Tiara" in rig.last_answer()
