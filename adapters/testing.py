"""A test backend: drive a bot as its members would, on the path the platforms use.

For plugin and command authors. A :class:`TestMember` types commands, clicks buttons and
fills forms through :meth:`bot.core.Bot.handle`, exactly as Slack, Discord and the console
do, so the core's rules (which click opens a form, what a form sends back) hold in tests
as they do in a workspace. A :class:`TestNotifier` records what the bot sends on its own
(reminders, practice posts) and hands each member their DMs; the clock is a movable one
the test owns, and :meth:`TestMember.wait` lets time pass as a scheduler would::

    from datetime import UTC, datetime, timedelta

    from adapters.bootstrap import build_app
    from adapters.testing import TestMember, TestNotifier
    from bot.clock import FixedClock
    from bot.config import Settings
    from storage.store import Store

    clock = FixedClock(datetime(2026, 11, 18, 15, tzinfo=UTC))
    notifier = TestNotifier(clock)
    app = await build_app(
        Settings(_env_file=None), clock=clock, store=Store("sqlite+aiosqlite://"),
        notifier=notifier,
    )
    alice = TestMember(app.bot, "alice", clock=clock, notifier=notifier)

    await alice.ok('request "Ann Wu" org=Acme')        # typed: /tiara request ...
    answer = await alice.ok('reply "Ann Wu" outcome=scheduled')
    form = await alice.open("Log the meeting", answer)  # a button that opens a form
    logged = await alice.submit(form, when="today 10am", notes="Kind")
    await alice.click("Mark thank-you sent", logged)    # a button that runs at once
    dms = await alice.wait(timedelta(days=1))           # time passes; her DMs arrive

Every answer is checked for the bot's "something went wrong" reply (a crash inside the
bot fails the test at once); :meth:`TestMember.ok` also insists on no error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, MovableClock
from bot.core import INTERNAL_ERROR, Bot
from bot.events import Answer, Clicked, Event, OpenForm, Submitted, Typed
from bot.notify import RecordingNotifier
from bot.values import Button, ChannelRef, Message, UserRef

__all__ = [
    "Received",
    "TestMember",
    "TestNotifier",
    "button_named",
    "everything",
    "pass_time",
]

# Stops at due moments while time passes, at most: more means the bot never settles.
_MAX_STOPS = 10_000


@dataclass(frozen=True, slots=True)
class Received:
    """A DM or channel post, and when the bot sent it (on the test's clock)."""

    at: datetime
    message: Message


class TestNotifier(RecordingNotifier):
    """Records what the bot sends, like the console's notifier: each member's DMs wait
    until they are read (:meth:`take`), and every send stays in :attr:`sent` (with
    ``failures`` to make a member's DMs fail, as :class:`~bot.notify.RecordingNotifier`)."""

    __test__ = False  # not a test class, whatever pytest makes of the name

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self._unread: dict[UserRef, list[Received]] = defaultdict(list)
        self.posts: dict[ChannelRef, list[Received]] = defaultdict(list)

    async def send_dm(self, user: UserRef, message: Message) -> None:
        await super().send_dm(user, message)  # raises what ``failures`` says
        self._unread[user].append(Received(self.clock.now(), message))

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        await super().send_group(users, message)
        for user in users:
            self._unread[user].append(Received(self.clock.now(), message))

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        await super().post_channel(channel, message)
        self.posts[channel].append(Received(self.clock.now(), message))

    def take(self, user: UserRef) -> list[Received]:
        """The DMs (and group messages) ``user`` has not read yet, oldest first."""
        return self._unread.pop(user, [])


async def pass_time(bot: Bot, clock: MovableClock, delta: timedelta) -> None:
    """Move ``clock`` on by ``delta`` as a scheduler that never misses a moment would see
    it pass: a tick now, one at each moment something falls due (so every reminder goes
    out at its own time), and one at the end."""
    target = clock.now() + delta
    await bot.tick()
    for _ in range(_MAX_STOPS):
        moment = await bot.ticker.next_due(until=target)
        if moment is None:
            break
        clock.set(moment)
        await bot.tick()
    else:
        raise AssertionError(f"more than {_MAX_STOPS} due moments in {delta}")
    clock.set(target)
    await bot.tick()


def button_named(message: Message, label: str) -> Button:
    """The button labelled ``label`` on ``message``."""
    for button in message.buttons:
        if button.label == label:
            return button
    raise AssertionError(f"no button {label!r} in {[b.label for b in message.buttons]}")


def everything(message: Message) -> str:
    """All text a member would see in a message."""
    parts = [message.title or "", message.text]
    parts += [f"{f.label}: {f.value}" for f in message.fields]
    parts += [b.label for b in message.buttons]
    return "\n".join(parts)


class TestMember:
    """One member talking to the bot the way an adapter passes it on: typed commands,
    clicks on the buttons of the last answer (or of a given message), forms filled in.

    ``clock`` (the bot's own when it can be moved) and ``notifier`` (the one the bot
    sends with) are needed only to :meth:`wait` and read :meth:`dms`.
    """

    __test__ = False  # not a test class, whatever pytest makes of the name

    def __init__(
        self,
        bot: Bot,
        user: str,
        workspace: str = "cohort",
        platform: str = "test",
        *,
        channel: ChannelRef | None = None,
        platform_admin: bool = False,
        clock: MovableClock | None = None,
        notifier: TestNotifier | None = None,
    ) -> None:
        self.bot = bot
        self.ref = UserRef(platform, workspace, user)
        self.channel = channel
        self.platform_admin = platform_admin
        self.clock = clock if clock is not None else _movable(bot.clock)
        self.notifier = notifier
        self.last: Message | None = None  # the latest answer
        self.form: OpenForm | None = None  # the latest form opened

    # -- the one way in ------------------------------------------------------------

    async def send(self, event: Event) -> Answer:
        """Hand ``event`` to the bot as a platform does; its answer, as it comes."""
        answer = await self.bot.handle(
            event, self.ref, channel=self.channel, platform_admin=self.platform_admin
        )
        if isinstance(answer, OpenForm):
            self.form = answer
        else:
            assert answer.text != INTERNAL_ERROR, f"{event!r} crashed inside the bot"
            self.last = answer
        return answer

    # -- typing --------------------------------------------------------------------

    async def __call__(self, text: str) -> Message:
        """Type ``text`` (what follows ``/tiara``); the answer, error or not."""
        answer = await self.send(Typed(text))
        if isinstance(answer, OpenForm):
            raise AssertionError(
                f"{text!r} opens a form on every platform: open it with open_typed(), then submit()"
            )
        return answer

    async def ok(self, text: str) -> Message:
        """Type ``text`` and insist it was not an error."""
        message = await self(text)
        assert not message.error, f"{text!r} failed: {message.text}"
        return message

    async def open_typed(self, text: str) -> OpenForm:
        """Type a command that opens its form (a command with a form, typed without
        values); fill it with :meth:`submit`."""
        answer = await self.send(Typed(text))
        if not isinstance(answer, OpenForm):
            raise AssertionError(f"{text!r} opens no form; it answered {answer.text!r}")
        return answer

    # -- buttons and forms ---------------------------------------------------------

    async def press(self, label: str, message: Message | None = None) -> Answer:
        """Click the button labelled ``label`` on ``message`` (else the last answer): the
        answer, or the form the click opens."""
        source = message or self.last
        assert source is not None, "nothing to click on yet"
        return await self.send(Clicked(button_named(source, label)))

    async def click(self, label: str, message: Message | None = None) -> Message:
        """Click a button that runs its command at once; its answer."""
        answer = await self.press(label, message)
        if isinstance(answer, OpenForm):
            raise AssertionError(f"{label!r} opens a form on every platform: fill it with submit()")
        return answer

    async def open(self, label: str, message: Message | None = None) -> OpenForm:
        """Click a button that opens a form; the form, to fill with :meth:`submit`."""
        answer = await self.press(label, message)
        if not isinstance(answer, OpenForm):
            raise AssertionError(f"{label!r} opens no form; it answered {answer.text!r}")
        return answer

    async def submit(
        self, form: OpenForm | str, message: Message | None = None, **answers: str
    ) -> Message:
        """Fill a form and send it, as a platform does: the values it opened with and
        prefilled, with ``answers`` over them. ``form`` is one :meth:`open` or
        :meth:`open_typed` returned, or the label of a button that opens one (on
        ``message``, else the last answer)."""
        opened = form if isinstance(form, OpenForm) else await self.open(form, message)
        fields = {f.name for f in opened.form.fields}
        unknown = sorted(set(answers) - fields)
        assert not unknown, f"the form {opened.form.title!r} has no field {unknown}"
        values = {**opened.invocation.args, **opened.defaults, **answers}
        answer = await self.send(Submitted(opened.invocation.command, values))
        assert isinstance(answer, Message), "a submitted form opened another form"
        return answer

    # -- time and DMs --------------------------------------------------------------

    def dms(self) -> list[Message]:
        """The DMs (and group messages) the bot sent this member since last read."""
        return [received.message for received in self.received()]

    def received(self) -> list[Received]:
        """As :meth:`dms`, with when each was sent."""
        if self.notifier is None:
            raise AssertionError(
                "no notifier to read DMs from: build the bot with a TestNotifier and give "
                "it to TestMember(..., notifier=...)"
            )
        return self.notifier.take(self.ref)

    async def wait(self, delta: timedelta) -> list[Message]:
        """Let ``delta`` pass (see :func:`pass_time`); the DMs that came meanwhile (and
        any unread before)."""
        if self.clock is None:
            raise AssertionError("the bot's clock can't be moved: give TestMember a clock")
        await pass_time(self.bot, self.clock, delta)
        return self.dms()


def _movable(clock: Clock) -> MovableClock | None:
    return clock if isinstance(clock, MovableClock) else None
