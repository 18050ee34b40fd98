"""Property tests: whatever a member types or an adapter sends, the bot answers and never crashes.

Hypothesis drives synchronous tests; each test owns one ``asyncio.Runner`` and one real
in-memory SQLite bot, and every example runs its coroutines with ``runner.run``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import unicodedata
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.bootstrap import build_app, build_registry
from bot.clock import FixedClock
from bot.config import Settings
from bot.core import INTERNAL_ERROR, Bot
from bot.events import OpenForm, Submitted, Typed
from bot.parsing import parse_command_text
from bot.registry import Command, Kind, Option
from bot.values import Invocation, Message, UserError, UserRef
from storage.models import Base
from storage.store import Store
from tests.conftest import START

registry = build_registry()

COMMANDS = sorted(registry, key=lambda c: c.name)
ALICE = UserRef("test", "cohort", "alice")
# A member who has never talked to the bot: a failed first command must not even create them.
NEWCOMER = UserRef("test", "cohort", "newcomer")

# Quote pairs a member may type; phones turn " into “ ”.
QUOTES = (('"', '"'), ("“", "”"), ("”", "”"), ("„", "“"), ("'", "'"), ("‘", "’"), ("«", "»"))
SPECIALS = "“”„\"'‘’«»=\n\r\t #:/\\"

# Characters the parser treats specially, mixed into otherwise arbitrary text.
tricky_text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(list(SPECIALS))), max_size=60
)
any_text = st.one_of(st.text(max_size=60), tricky_text)

# Valid values for an option of each kind, so examples reach the handlers and not only the
# checks in front of them; near misses and arbitrary text are mixed in for every option.
NAMES = ("Dana Lee", "sam ortiz", "Kim  Park", "EVE ADAMS", "Noor Haddad")
GOOD_VALUES: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: ("Acme", "Data analyst", "M2", "Dana Lee", "log"),
    Kind.LONGTEXT: ("Data teams want SQL", "@here <!channel> **bold**", "a=b\nline two"),
    Kind.NAME: NAMES,
    Kind.NAMES: ("Sam Ortiz, Kim Park", "Noor Haddad", "Dana Lee, Eve Adams"),
    Kind.WHEN: ("yesterday 3pm", "next Tuesday 10am", "now", "2 days ago", "today"),
    Kind.PAST_WHEN: ("yesterday 3pm", "now", "2 days ago", "last Friday 2pm", "12/1"),
    Kind.ITEM: ("M2", "R1", "M3", "r4", "#2", "3", "4"),
    Kind.TIMEZONE: ("America/Chicago", "europe/berlin", "UTC"),
    Kind.EMAIL: ("dana@acme.org",),
    Kind.URL: ("https://example.org/dana",),
    Kind.BOOL: ("yes", "no", "true"),
    Kind.CHOICE: (),
}
NEAR_MISSES = (
    "M99",
    "M0",
    "N0",
    "21-",
    "soon",
    "9999-12-31",
    "Mars/Olympus",
    "not-an-email",
    "maybe",
    "x" * 201,
    "y" * 3001,
    ",".join("abcdefghijklmnopqrstu"),
)


def option_values(
    option: Option, *, fuzzy: bool, other: st.SearchStrategy[Any] = any_text
) -> st.SearchStrategy[Any]:
    """A valid value for the option; when ``fuzzy``, maybe a near miss or arbitrary data."""
    good = st.sampled_from(GOOD_VALUES[option.kind] + option.choices)
    return st.one_of(good, st.sampled_from(NEAR_MISSES), other) if fuzzy else good


@contextmanager
def running_bot() -> Iterator[tuple[asyncio.Runner, Bot]]:
    """A real bot on in-memory SQLite; alice has requests R1 and R4 (pending), meetings M2 (held)
    and M3 (upcoming), and contacts Dana Lee, Sam Ortiz, Kim Park (referred by Sam) and Eve Adams.
    """
    with asyncio.Runner() as runner:
        settings_ = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
        store = Store("sqlite+aiosqlite://")
        app = runner.run(build_app(settings_, clock=FixedClock(START), store=store))
        try:
            for text in (
                'request contact="Dana Lee" org=Acme via=email when="2 days ago"',
                'log contact="Sam Ortiz" when="yesterday 3pm" notes=hello referrals="Kim Park"',
                'log contact="Kim Park" when="next Tuesday 10am" venue=video',
                'request contact="Eve Adams" via=linkedin',
            ):
                message = runner.run(typed(app.bot, text, ALICE))
                assert not message.error, message.text
            yield runner, app.bot
        finally:
            runner.run(app.close())


async def snapshot(bot: Bot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (which includes their counts)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with bot.store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return tables


def assert_nothing_written(before: dict[str, Any], after: dict[str, Any], what: str) -> None:
    counts = {name: (len(before[name]), len(after[name])) for name in before}
    assert before == after, f"{what} failed yet changed the database (rows before, after): {counts}"


async def typed(bot: Bot, text: str, user: UserRef) -> Message:
    """What ``user`` gets for typing ``text``, through the core's one way in. A form it
    opens (a command with a form, typed without values) is sent back as it opened, as a
    member pressing Submit at once would."""
    answer = await bot.handle(Typed(text), user)
    if isinstance(answer, OpenForm):
        values = {**answer.invocation.args, **answer.defaults}
        answer = await bot.handle(Submitted(answer.invocation.command, values), user)
    assert isinstance(answer, Message), f"{text!r}: a submitted form opened another"
    return answer


async def run_checked(bot: Bot, call: Awaitable[Message], what: str) -> Message:
    """Await ``call``; insist on a Message, and on an untouched database when it is an error.

    Examples share one database, so a failure may replay differently (Hypothesis then calls
    it flaky); the assertion message still names the input and the tables that changed.
    """
    before = await snapshot(bot)
    message = await call
    assert isinstance(message, Message), f"{what} returned {message!r}"
    # The core answers an unexpected failure politely; here that still counts as a crash.
    assert message.text != INTERNAL_ERROR, f"{what} crashed inside the bot (see the log)"
    if message.error:
        assert message.text.strip(), f"{what} gave an error with no text"
        assert_nothing_written(before, await snapshot(bot), what)
    return message


# -- the parser ----------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        tricky_text,
        # Text after a real command name reaches split_args rather than the unknown-name path.
        st.builds(
            lambda prefix, name, rest: f"{prefix}{name} {rest}",
            st.sampled_from(["", "/", "/tiara ", "tiara ", "TIARA  "]),
            st.sampled_from([c.name for c in COMMANDS] + ["list", "questions", "tiara"]),
            tricky_text,
        ),
    )
)
def test_parser_returns_or_raises_user_error(text: str) -> None:
    try:
        parsed = parse_command_text(registry, text)
    except UserError as err:
        assert err.message.strip()
        return
    assert parsed.command in COMMANDS
    visible = {o.name for o in parsed.command.visible_options}
    assert set(parsed.args) <= visible, f"{text!r} set options {set(parsed.args) - visible}"
    assert all(isinstance(v, str) for v in parsed.args.values())


# -- every command, typed and dispatched ---------------------------------------------


@st.composite
def typed_command(draw: st.DrawFn, command: Command) -> str:
    """The command's name and some of its options, well formed or (fuzzy) with anything in them.

    Fuzzy examples add positional junk, misspelt, shouted or hidden option names and any
    values; well-formed ones give valid values to required and some optional options, so
    examples reach the handlers and not only the checks in front of them.
    """
    fuzzy = draw(st.booleans())
    names = [command.name, *command.aliases]
    parts = [draw(st.sampled_from(["", "/tiara ", "tiara "])) + draw(st.sampled_from(names))]
    if fuzzy and draw(st.booleans()):
        parts.append(draw(st.one_of(any_text, st.sampled_from(NAMES))))
    # Hidden options stay in the mix: typing them must be a friendly error.
    candidates = [o for o in command.options if fuzzy or not o.hidden]
    chosen = draw(st.sets(st.sampled_from(candidates))) if candidates else set()
    if not fuzzy:
        chosen |= {o for o in command.options if o.required}
    for option in draw(st.permutations(sorted(chosen, key=lambda o: o.name))):
        name = option.name
        if fuzzy and draw(st.booleans()):
            name = draw(st.sampled_from([name.upper(), name[:-1], "nope", name + "s"]))
        value = draw(option_values(option, fuzzy=fuzzy))
        if option.positional and draw(st.booleans()):
            parts.insert(1, value)
        elif draw(st.booleans()):
            opener, closer = draw(st.sampled_from(QUOTES))
            parts.append(f"{name}={opener}{value}{closer}")
        else:
            parts.append(f"{name}={value}")
    separators = st.sampled_from([" ", "  ", "\n", "\t", " \n "])
    return "".join(p + draw(separators) for p in parts)


ids = st.integers(min_value=-(2**63), max_value=2**63 - 1)
arg_values = st.one_of(st.none(), st.booleans(), ids, st.integers(-5, 5), any_text)


@st.composite
def invocation_args(draw: st.DrawFn, command: Command) -> dict[str, object]:
    """What a button or form could carry: some of the command's options, well formed or
    (fuzzy) with any text, number, boolean or None in them, and maybe an unknown key."""
    fuzzy = draw(st.booleans())
    chosen = draw(st.sets(st.sampled_from(command.options))) if command.options else set()
    if not fuzzy:
        chosen |= {o for o in command.options if o.required}
    args: dict[str, object] = {
        o.name: draw(option_values(o, fuzzy=fuzzy, other=arg_values)) for o in chosen
    }
    if fuzzy and draw(st.booleans()):
        args[draw(st.text(max_size=10))] = draw(arg_values)
    return args


# An example takes 20-60 ms (a command, its planned reminders and a snapshot of every
# table). `make test` runs 20 per command and kind, which keeps the file to a few minutes
# on 2 cores; `make test-deep` runs 500 (TIARA_PROPERTY_EXAMPLES).
EXAMPLES_PER_COMMAND = int(os.environ.get("TIARA_PROPERTY_EXAMPLES", "20"))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_typed_command_answers_and_errors_write_nothing(command: Command) -> None:
    with running_bot() as (runner, bot):

        @settings(max_examples=EXAMPLES_PER_COMMAND, deadline=None)
        @given(text=typed_command(command), user=st.sampled_from([ALICE, NEWCOMER]))
        def check(text: str, user: UserRef) -> None:
            runner.run(run_checked(bot, typed(bot, text, user), f"{text!r}"))

        check()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_dispatched_command_answers_and_errors_write_nothing(command: Command) -> None:
    with running_bot() as (runner, bot):

        @settings(max_examples=EXAMPLES_PER_COMMAND, deadline=None)
        @given(args=invocation_args(command))
        def check(args: dict[str, object]) -> None:
            invocation = Invocation(command.path, args, ALICE)
            runner.run(run_checked(bot, bot.dispatch(invocation), f"{command.name} {args!r}"))

        check()


ITEM_COMMANDS = [c for c in COMMANDS if any(o.kind is Kind.ITEM for o in c.options)]


async def test_an_enormous_id_from_a_button_is_a_friendly_error(bot: Bot) -> None:
    assert ITEM_COMMANDS, "no command takes an id"
    for seq in (2**31, 2**64):
        for command in ITEM_COMMANDS:
            args = {"id": seq, "outcome": "scheduled"} if command.option("outcome") else {"id": seq}
            message = await bot.dispatch(Invocation(command.path, args, ALICE))
            assert message.error, f"{command.name} id={seq}"
            assert "can't find" in message.text or "not an id" in message.text


# -- what a member writes comes back unchanged ---------------------------------------

MEMBER_TEXT = st.one_of(
    st.text(max_size=200),
    tricky_text,
    st.lists(
        st.sampled_from(
            [
                "@here",
                "@channel",
                "<!channel>",
                "<!everyone>",
                "<@U012345>",
                "@everyone",
                "<https://evil.example|click>",
                "**bold** _it_ ~strike~ `code`",
                "```\nblock\n```",
                "> quoted",
                "🎉👍🏽👩‍💻",
                "日本語のメモ",
                "Привет, мир",
                "مرحبا بالعالم",
                "naïve café",
                "a=b",
                "contact=Eve",
                "  leading and trailing  ",
                "\n",
                "\t",
                "\u2028",
            ]
        ),
        min_size=1,
        max_size=6,
    ).map("".join),
    # Around the 3,000-character limit.
    st.builds(lambda piece, n: piece * n, st.sampled_from(["ab", "a\n"]), st.integers(1490, 1510)),
)


def _is_control(char: str) -> bool:
    return char not in "\n\t\r" and unicodedata.category(char) in ("Cc", "Cs")


def test_notes_come_back_exactly_as_typed() -> None:
    # A contact per example: a second meeting with one contact at one time asks first.
    contacts = (f"Dana Lee {n}" for n in itertools.count())
    with running_bot() as (runner, bot):

        @settings(max_examples=150, deadline=None)
        @given(notes=MEMBER_TEXT, quote=st.sampled_from(QUOTES))
        def check(notes: str, quote: tuple[str, str]) -> None:
            opener, closer = quote
            assume(closer not in notes)
            logged = runner.run(
                typed(bot, f'log contact="{next(contacts)}" notes={opener}{notes}{closer}', ALICE)
            )
            blank = not notes.strip()
            rejected = not blank and (len(notes) > 3000 or any(map(_is_control, notes)))
            assert logged.error is rejected, f"{notes!r}: {logged.text}"
            if rejected:
                return
            assert logged.title is not None
            seq = re.search(r"\bM(\d+)\b", logged.title)
            assert seq is not None, logged.title
            shown = runner.run(typed(bot, f"show M{seq.group(1)}", ALICE))
            assert not shown.error, shown.text
            notes_fields = [f.value for f in shown.fields if f.label == "Notes"]
            assert notes_fields == ([] if blank else [notes])

        check()


@pytest.mark.parametrize("empty_store", ["postgresql"], indirect=True)
async def test_a_name_within_the_limit_is_saved_even_if_it_folds_longer(bot: Bot) -> None:
    name = " ".join(["Weiß"] * 24)  # 119 characters; its folded form has 143
    assert len(name) <= 120
    logged = await typed(bot, f'log contact="{name}"', ALICE)
    assert not logged.error, logged.text
    card = await typed(bot, f'contact "{name}"', ALICE)
    assert card.title == name
