"""After forget-me: the erased text leaves the database files, and a member who comes back
starts fresh, with their platform profile read again."""

from __future__ import annotations

from pathlib import Path

from adapters.bootstrap import build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import RecordingNotifier
from storage.store import Store
from tests.conftest import Member

MARKER = "SECRET-MARKER-leaving-acme-in-march"


def _bytes_on_disk(database: Path) -> bytes:
    """Everything SQLite keeps for ``database``: the file, its log and shared memory."""
    found = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(f"{database}{suffix}")
        if path.exists():
            found += path.read_bytes()
    return found


async def test_erased_notes_leave_the_sqlite_files_at_once(
    tmp_path: Path, clock: FixedClock
) -> None:
    database = tmp_path / "tiara.db"
    store = Store(f"sqlite+aiosqlite:///{database}")
    settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
    try:
        app = await build_app(settings, clock=clock, store=store, notifier=RecordingNotifier())
        alice = Member(app.bot, "alice")
        await alice.ok(f'log contact="Dana Lee" when="yesterday 3pm" notes="{MARKER}"')
        for n in range(40):  # enough rows to fill whole pages, which then fall free
            await alice.ok(f'contact "Person {n}" notes="{MARKER} {"x" * 300}"')
        assert MARKER.encode() in _bytes_on_disk(database)  # the test can see it

        await alice.click("Erase everything", await alice.ok("forget-me"))

        assert MARKER.encode() not in _bytes_on_disk(database)
        # Still a working database afterwards.
        await Member(app.bot, "bob").ok('log contact="Eli Park" when="yesterday 3pm"')
    finally:
        await store.close()


async def test_a_member_who_comes_back_after_erasing_gets_their_profile_read_again(
    bot: Bot,
) -> None:
    alice = Member(bot, "alice")
    user = alice.ref
    await bot.profiles.update(user, timezone="America/Chicago", stamp=bot.profiles.stamp(user))
    await alice.click("Erase everything", await alice.ok("forget-me"))

    # The member comes straight back: the adapter reads their profile afresh.
    stamp = bot.profiles.stamp(user)
    await bot.profiles.update(user, timezone="Europe/Berlin", stamp=stamp)
    answer = await alice.ok("settings")

    assert "Europe/Berlin" in answer.text + " ".join(f.value for f in answer.fields)


async def test_a_profile_read_overtaken_by_an_erasure_does_not_bring_the_member_back(
    bot: Bot,
) -> None:
    alice = Member(bot, "alice")
    user = alice.ref
    await alice.ok('log contact="Dana Lee" when="yesterday 3pm"')
    stamp = bot.profiles.stamp(user)  # a read begins...
    await alice.click("Erase everything", await alice.ok("forget-me"))
    await bot.profiles.update(user, timezone="America/Chicago", stamp=stamp)  # ...ends late

    async with bot.store.unit() as uow:
        assert await uow.members.find(user.platform, user.workspace, user.user) is None
