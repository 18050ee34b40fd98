"""Business days come from the workspace's country calendar plus a coach's own days:
follow-ups never land on a weekend or a public holiday, and a coach sets both in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.bootstrap import build_app
from bot.businessdays import Calendar, add_business_days, next_business_day
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import RecordingNotifier
from storage.models import Nudge, Workspace
from storage.store import Store
from tests.conftest import Member

pytestmark = pytest.mark.postgres

# Fri 11 Dec 2026, 15:00 UTC. Two weeks on is Christmas Day.
FRIDAY = datetime(2026, 12, 11, 15, tzinfo=UTC)


@dataclass
class Cohort:
    bot: Bot
    clock: FixedClock
    store: Store
    coach: Member
    alice: Member

    async def due_days(self, *kinds: str) -> list[str]:
        """The local (UTC) days of alice's pending reminders of ``kinds``, in order."""
        async with self.store.transaction() as session:
            rows = await session.scalars(
                select(Nudge.due_at)
                .where(Nudge.kind.in_(kinds), Nudge.status == "pending")
                .order_by(Nudge.due_at)
            )
            return [due.astimezone(UTC).date().isoformat() for due in rows]

    async def workspace(self) -> Workspace:
        async with self.store.transaction() as session:
            return (await session.scalars(select(Workspace))).one()


@pytest.fixture
async def cohort(empty_store: Store) -> AsyncIterator[Cohort]:
    clock = FixedClock(FRIDAY)
    settings = Settings(_env_file=None, timezone="UTC", coaches="coachy")  # type: ignore[call-arg]
    app = await build_app(settings, clock=clock, store=empty_store, notifier=RecordingNotifier())
    yield Cohort(app.bot, clock, empty_store, Member(app.bot, "coachy"), Member(app.bot, "alice"))


SEEDS = ("follow_up", "follow_up_last", "move_on")


async def test_a_follow_up_due_on_christmas_moves_to_the_next_business_day(
    cohort: Cohort,
) -> None:
    await cohort.alice.ok('request contact="Ann Wu" via=email')
    # No country calendar yet: only weekends are skipped, so Christmas (a Friday) counts.
    assert await cohort.due_days(*SEEDS) == ["2026-12-25", "2027-01-08", "2027-01-22"]

    answer = await cohort.coach.ok("coach holidays country=US")
    assert "Public holidays of United States" in answer.text
    assert "Fri 25 Dec: Christmas Day" in answer.text
    # The waiting request is planned again: Christmas Day -> Monday 28 Dec.
    assert await cohort.due_days(*SEEDS) == ["2026-12-28", "2027-01-08", "2027-01-22"]

    answer = await cohort.coach.ok("coach holidays country=none")
    assert "No country calendar" in answer.text
    assert await cohort.due_days(*SEEDS) == ["2026-12-25", "2027-01-08", "2027-01-22"]


async def test_a_request_sent_on_sunday_is_followed_up_on_a_weekday(cohort: Cohort) -> None:
    await cohort.alice.ok('request contact="Ann Wu" via=email when="2026-12-06"')  # a Sunday
    days = await cohort.due_days(*SEEDS)
    assert days[0] == "2026-12-21"  # two weeks on is Sunday 20 Dec: Monday instead
    assert all(date.fromisoformat(day).weekday() < 5 for day in days)


async def test_3b7_counts_the_country_calendar_and_the_coachs_own_days(
    cohort: Cohort,
) -> None:
    await cohort.coach.ok("coach policy 3b7")
    await cohort.coach.ok("coach holidays country=US")
    cohort.clock.set(datetime(2026, 12, 23, 15, tzinfo=UTC))  # Wednesday
    await cohort.alice.ok('request contact="Ann Wu" org=Acme via=email')
    # Thu 24 (1), Fri 25 Christmas, Mon 28 (2), Tue 29 (3).
    assert await cohort.due_days("second_contact") == ["2026-12-29"]
    await cohort.coach.ok("coach holidays add 2026-12-24, 2026-12-28")
    # Thu 24 and Mon 28 are now days off too: Tue 29 (1), Wed 30 (2), Thu 31 (3).
    assert await cohort.due_days("second_contact") == ["2026-12-31"]


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_holidays_add_takes_a_list_and_a_bad_day_changes_nothing(cohort: Cohort) -> None:
    answer = await cohort.coach.ok("coach holidays add 2026-12-31, 2027-01-01")
    assert "Days of your own: 2026-12-31, 2027-01-01." in answer.text
    for typed in ("2027-01-02, tomorrow", "2027-01-02 2027-13-01"):
        bad = await cohort.coach(f"coach holidays add {typed}")
        assert bad.error and "nothing changed" in bad.text and "YYYY-MM-DD" in bad.text
    both = await cohort.coach("coach holidays add 2026-12-31; 2027-01-01")
    assert both.error and "are already a holiday" in both.text
    assert (await cohort.workspace()).holidays == ["2026-12-31", "2027-01-01"]
    answer = await cohort.coach.ok("coach holidays remove 2026-12-31 2027-01-01")
    assert "Days of your own: none." in answer.text


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_country_and_region_by_code_or_name_and_typos_are_suggested(
    cohort: Cohort,
) -> None:
    answer = await cohort.coach.ok('coach holidays country="United States" subdivision="new york"')
    assert "Public holidays of United States (New York)" in answer.text
    ws = await cohort.workspace()
    assert (ws.holiday_country, ws.holiday_subdivision) == ("US", "NY")

    typo = await cohort.coach("coach holidays country=Gremany")
    assert typo.error and "Did you mean Germany (DE)?" in typo.text
    region = await cohort.coach("coach holidays country=DE subdivision=Atlantis")
    assert region.error and "BY (Bayern)" in region.text
    no_country = await cohort.coach("coach holidays country=none subdivision=CA")
    assert no_country.error and "Say the country too" in no_country.text
    ws = await cohort.workspace()
    assert (ws.holiday_country, ws.holiday_subdivision) == ("US", "NY")  # unchanged

    answer = await cohort.coach.ok("coach holidays country=DEU")  # a new country: no region
    ws = await cohort.workspace()
    assert (ws.holiday_country, ws.holiday_subdivision) == ("DE", None)
    assert "Sat 26 Dec: Second Day of Christmas" in answer.text


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)
async def test_students_cannot_set_holidays(cohort: Cohort) -> None:
    await cohort.alice.ok("settings")
    answer = await cohort.alice("coach holidays country=US")
    assert answer.error
    assert (await cohort.workspace()).holiday_country is None


def test_calendar_counts_public_and_own_days() -> None:
    ny = Calendar(frozenset({date(2026, 12, 24)}), "US", "NY")
    assert date(2026, 12, 25) in ny and date(2026, 12, 24) in ny
    assert date(2026, 12, 23) not in ny
    assert ny.name_of(date(2027, 1, 18)) == "Martin Luther King Jr. Day"
    assert next_business_day(date(2026, 12, 24), ny) == date(2026, 12, 28)
    assert add_business_days(date(2026, 12, 23), 1, ny) == date(2026, 12, 28)
    assert next_business_day(date(2026, 12, 25), Calendar()) == date(2026, 12, 25)


def test_workspace_cli_sets_the_country(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TIARA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "COLUMNS": "200",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "adapters.cli", "workspace", "set", "-w", "cohort", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    done = cli("--country", "DE-BY", "--holidays", "2026-12-24, 2026-12-31")
    assert done.returncode == 0, done.stderr
    assert "Public holidays: Germany (Bayern)" in done.stdout
    assert "Holidays: 2026-12-24, 2026-12-31" in done.stdout
    bad = cli("--country", "Atlantis")
    assert bad.returncode == 2 and "no holiday calendar" in " ".join(bad.stderr.split())


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_holidays_are_read_in_the_coachs_date_order(cohort: Cohort) -> None:
    await cohort.coach.ok("settings timezone=Europe/Berlin")  # day first
    answer = await cohort.coach.ok("coach holidays add 24/12/2026, 31.12")
    assert "Days of your own: 2026-12-24, 2026-12-31." in answer.text
    bad = await cohort.coach("coach holidays add 31/31")
    assert bad.error and "(or 24/12/2026)" in bad.text


@pytest.mark.parametrize("empty_store", ["sqlite"], indirect=True)  # no storage at stake
async def test_a_day_that_reads_only_one_way_is_taken_in_any_order(cohort: Cohort) -> None:
    """The coach is on UTC (month first), yet 24/12/2026 can only be 24 December."""
    answer = await cohort.coach.ok("coach holidays add 24/12/2026")
    assert "Days of your own: 2026-12-24." in answer.text
