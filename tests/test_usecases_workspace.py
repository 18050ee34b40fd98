"""The workspace use cases, called as `/tiara coach ...` and `tiara workspace set` call them:
one reading of what is typed, one way to change a workspace, the coach's changes audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.usecases import Scope
from bot.usecases.cohort import audit_log, weekly_digest
from bot.usecases.workspace import (
    KEEP,
    CadenceChange,
    Place,
    WorkspaceChanges,
    WorkspaceScope,
    configure,
    follow_up_policy,
    holiday_place,
    holidays,
    practice_cadence,
    practice_channel,
    read_changes,
    start_round_now,
    workspace_for,
)
from bot.values import UserError
from storage.store import Store

NOW = datetime(2026, 11, 18, 15, tzinfo=UTC)  # a Wednesday


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    store = Store("sqlite+aiosqlite://")
    await store.upgrade()
    yield store
    await store.close()


def test_the_cli_flags_are_read_as_the_coach_commands_read_them() -> None:
    changes = read_changes(
        policy="3B7",
        holidays="2026-12-24, 2026-12-31",
        country="DE-BY",
        timezone="europe/berlin",
        channel="<#C0MOCK|mock-interviews>",
        day="Wednesday",
        time="6:30pm",
        every=2,
    )
    assert changes == WorkspaceChanges(
        policy="3b7",
        holidays=(date(2026, 12, 24), date(2026, 12, 31)),
        place=Place("DE", "BY"),
        timezone="Europe/Berlin",
        channel="C0MOCK",
        cadence=CadenceChange(day=2, time=18 * 60 + 30, every=2),
    )
    assert changes.changing and not read_changes().changing
    cleared = read_changes(channel="", holidays=" ", country="none")
    assert (cleared.channel, cleared.holidays, cleared.place) == (None, (), Place())
    assert read_changes().channel is KEEP


@pytest.mark.parametrize(
    ("flags", "flag", "words"),
    [
        ({"day": "someday"}, "practice-day", "Write it like monday or thu"),
        ({"time": "teatime"}, "practice-time", "Write it like 10:00 or 2pm"),
        ({"channel": "two words"}, "practice-channel", "Give one channel"),
        ({"country": "Atlantis"}, "country", "no holiday calendar"),
        ({"policy": "weekly"}, "policy", "use one of: seeds, 3b7"),
        ({"holidays": "Dec 25"}, "holidays", "Write each day as"),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a timezone I know"),
    ],
)
def test_a_flag_that_wont_do_is_named_with_the_coach_commands_words(
    flags: dict[str, str], flag: str, words: str
) -> None:
    with pytest.raises(UserError) as raised:
        read_changes(**flags)  # type: ignore[arg-type]
    assert raised.value.option == flag
    assert words in " ".join(raised.value.message.split())


async def test_the_same_country_again_keeps_its_region(store: Store) -> None:
    async with store.unit() as uow:
        ws = (await workspace_for(uow, "test", "cohort", NOW, create=True)).workspace
        assert ws is not None
        ws.holiday_country, ws.holiday_subdivision = "US", "NY"
        assert holiday_place(ws, "us", None, subdivision_given=False) == Place("US", "NY")
        assert holiday_place(ws, "us", None, subdivision_given=True) == Place("US", None)
        assert holiday_place(ws, None, "CA", subdivision_given=True) == Place("US", "CA")
        assert holiday_place(ws, "off", None, subdivision_given=False) == Place()
        with pytest.raises(UserError, match="Say the country too"):
            holiday_place(ws, "none", "CA", subdivision_given=True)


async def test_a_missing_workspace_is_created_only_when_asked(store: Store) -> None:
    async with store.unit() as uow:
        missing = await workspace_for(uow, "test", "cohort", NOW, create=False)
        assert missing.workspace is None and missing.known == ()
        made = await workspace_for(uow, "test", "cohort", NOW, create=True)
        assert made.created and made.workspace is not None
        other = await workspace_for(uow, "test", "other", NOW, create=False)
        assert other.known == ("test/cohort",)


async def test_the_coachs_changes_are_audited_and_the_operators_are_not(store: Store) -> None:
    async with store.unit() as uow:
        coach = await uow.members.ensure("test", "cohort", "coachy", now=NOW)
        ws = coach.workspace
        operator = WorkspaceScope(uow, ws, NOW, "UTC")
        view = await configure(operator, WorkspaceChanges(policy="3b7", place=Place("US")))
        assert (view.policy, view.public_holidays, view.tz) == ("3b7", "United States", "UTC")
        assert await audit_log(operator) == ()

        acting = WorkspaceScope.of(Scope(uow, coach, NOW, "UTC"), "UTC")
        assert not (await follow_up_policy(acting, "3b7")).changed  # the same: nothing to do
        assert (await follow_up_policy(acting, "seeds")).changed
        shown = await holidays(acting, action="add", days=[date(2026, 12, 24)])
        assert shown.changed and shown.own == ("2026-12-24",) and shown.place == "United States"
        with pytest.raises(UserError, match="2026-12-24 is already a holiday; nothing changed"):
            await holidays(acting, action="add", days=[date(2026, 12, 24)])
        assert await practice_channel(acting, "practice") == "practice"
        assert await practice_channel(acting) == "practice"
        await weekly_digest(acting_member := Scope(uow, coach, NOW, "UTC"), on=True)
        assert (await weekly_digest(acting_member)).next_at is not None
        log = [(line.who, line.action, line.detail) for line in await audit_log(acting)]
    assert log == [
        ("coachy", "digest", "on"),
        ("coachy", "channel", "practice"),
        ("coachy", "holidays", "add 2026-12-24"),
        ("coachy", "policy", "seeds"),
    ]


async def test_a_cadence_change_waits_for_the_round_on_now_from_either_side(
    store: Store,
) -> None:
    """The coach's command and the CLI move the next round alike."""
    async with store.unit() as uow:
        coach = await uow.members.ensure("test", "cohort", "coachy", now=NOW)
        ws = coach.workspace
        scope = WorkspaceScope.of(Scope(uow, coach, NOW, "UTC"), "UTC")
        with pytest.raises(UserError, match="No one has joined practice yet"):
            await start_round_now(scope)
        shown = await practice_cadence(scope)
        assert not shown.changed and shown.next_round_at is None and shown.running is None
        ws.next_round_at = NOW + timedelta(days=1)
        by_coach = await practice_cadence(scope, CadenceChange(day=4, time=14 * 60))
        assert by_coach.changed and by_coach.text == "Friday at 14:00, every week"
        assert by_coach.next_round_at == datetime(2026, 11, 20, 14, tzinfo=UTC)
        by_cli = await configure(
            WorkspaceScope(uow, ws, NOW, "UTC"), WorkspaceChanges(cadence=CadenceChange(day=3))
        )
        assert by_cli.cadence == "Thursday at 14:00, every week"
        assert by_cli.next_round_at == datetime(2026, 11, 19, 14, tzinfo=UTC)
        # A timezone of its own moves the next round to that local time.
        moved = await configure(
            WorkspaceScope(uow, ws, NOW, "UTC"), WorkspaceChanges(timezone="Europe/Berlin")
        )
        assert moved.tz == "Europe/Berlin"
        assert moved.next_round_at == datetime(2026, 11, 19, 13, tzinfo=UTC)
        started = await start_round_now(scope)
        assert started.started and started.running is None and ws.next_round_at == NOW
