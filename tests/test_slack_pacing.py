"""Pacing on Slack: a 1,000-member wave goes out as a steady stream, never a burst.

The pacer runs on a virtual clock here: ``sleep`` moves the clock instead of waiting, so
these tests take milliseconds while checking the timing of every send.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from itertools import pairwise

from adapters.slack.notifier import Pacer
from bot.values import Message, UserRef
from tests.slack_fake import FakeSlackApi


class VirtualTime:
    """A clock that stands still while the sends queue up; ``sleep`` notes when each
    waiting task would wake (its slot) instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.sends: list[tuple[float, str, str]] = []
        self._wakes: dict[asyncio.Task[object], float] = {}

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        task = asyncio.current_task()
        assert task is not None
        self._wakes[task] = max(self._wakes.get(task, self.now), self.now) + seconds
        await asyncio.sleep(0)

    def woke(self) -> float:
        """When the calling task may act: after all its sleeps so far."""
        task = asyncio.current_task()
        assert task is not None
        return self._wakes.get(task, self.now)


async def paced_sends(pacer: Pacer, time: VirtualTime, targets: list[tuple[str, str]]) -> None:
    async def send(workspace: str, channel: str) -> None:
        await pacer.wait(workspace, channel)
        time.sends.append((time.woke(), workspace, channel))

    await asyncio.gather(*(send(w, c) for w, c in targets))


def busiest_second(times: list[float]) -> int:
    return max(Counter(int(t) for t in times).values())


async def test_a_thousand_dms_stay_within_the_workspace_rate() -> None:
    time = VirtualTime()
    pacer = Pacer(rate=4, monotonic=time.monotonic, sleep=time.sleep)
    await paced_sends(pacer, time, [("T1", f"U{i}") for i in range(1000)])
    times = sorted(t for t, _, _ in time.sends)
    assert len(times) == 1000
    assert busiest_second(times) <= 4
    assert 249 <= times[-1] <= 251  # a steady stream: 1,000 at 4 a second


async def test_one_channel_gets_at_most_one_message_a_second() -> None:
    time = VirtualTime()
    pacer = Pacer(rate=50, monotonic=time.monotonic, sleep=time.sleep)
    await paced_sends(pacer, time, [("T1", "C0PRACTICE")] * 10 + [("T1", "U1")] * 3)
    practice = [t for t, _, c in time.sends if c == "C0PRACTICE"]
    assert all(b - a >= 1.0 for a, b in pairwise(practice))
    # Other channels are not held up by a busy one.
    assert min(t for t, _, c in time.sends if c == "U1") < 1.0


async def test_workspaces_are_paced_separately() -> None:
    time = VirtualTime()
    pacer = Pacer(rate=2, monotonic=time.monotonic, sleep=time.sleep)
    await paced_sends(pacer, time, [("T1", f"U{i}") for i in range(10)] + [("T2", "U1")])
    assert next(t for t, w, _ in time.sends if w == "T2") == 0.0


async def test_after_a_rate_limit_the_whole_workspace_waits() -> None:
    time = VirtualTime()
    pacer = Pacer(rate=10, monotonic=time.monotonic, sleep=time.sleep)
    pacer.hold("T1", 30)
    await paced_sends(pacer, time, [("T1", f"U{i}") for i in range(5)] + [("T2", "U1")])
    assert min(t for t, w, _ in time.sends if w == "T1") >= 30
    assert next(t for t, w, _ in time.sends if w == "T2") == 0.0


async def test_a_429_slows_every_send_in_the_workspace_not_just_the_one_retried() -> None:
    from adapters.slack.notifier import SlackNotifier
    from adapters.slack.tokens import SingleToken

    time = VirtualTime()
    async with FakeSlackApi() as fake:
        pacer = Pacer(rate=100, monotonic=time.monotonic, sleep=time.sleep)
        notifier = SlackNotifier(
            tokens=SingleToken("xoxb-test"), pacer=pacer, base_url=fake.url, sleep=time.sleep
        )
        fake.rate_limit("chat.postMessage", retry_after=20)
        await notifier.send_dm(UserRef("slack", "T0TEST", "U1"), Message(text="one"))
        assert 20 in time.slept  # waited as told, on the virtual clock

        async def send(i: int) -> None:
            await notifier.send_dm(UserRef("slack", "T0TEST", f"U{i}"), Message(text="more"))
            time.sends.append((time.woke(), "T0TEST", f"U{i}"))

        await asyncio.gather(*(send(i) for i in range(2, 12)))
        assert len(fake.calls_to("chat.postMessage")) == 12  # one retry, no storm of 429s
        slots = sorted(t for t, _, _ in time.sends)
        assert slots[0] >= 20  # everyone else waited out the Retry-After too
        assert slots[-1] - slots[0] < 1.0  # then, at 100 a second, ten took a tenth of one
