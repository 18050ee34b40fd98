"""A nudge worker in its own OS process, for tests/test_exactly_once.py (not a test module).

It builds its own Store (its own connections) and NudgeSender, and records every direct
message its notifier is asked to send as one JSON line in ``--out``:
``{"user": "<user id>", "nudges": ["N12", "N40"]}`` (the N-labels the message's buttons
carry). Lines are flushed as they are written, so a process that dies keeps its record.

Modes:

``run``
    Print ``ready`` once connected, wait for a line on stdin (the "go" signal, so that
    several workers start together), then tick until two ticks in a row claim nothing.
    Each tick claims one batch at most. A failed tick is recorded and retried, as
    ``TickScheduler.run_tick`` does. Finally
    print one JSON line: the summed ``TickReport``, the number of ticks and the errors.
``claim-and-die``
    Claim one batch (the claim transaction commits), print ``{"token", "ids"}`` and
    die with ``os._exit(1)`` before sending anything.

The database URL comes from the environment (``TIARA_WORKER_URL``), not the command line,
so a password never shows in the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import text

from bot.clock import FixedClock
from bot.nudges.deliver import NudgeSender, TickReport
from bot.values import ChannelRef, Message, UserRef
from storage.store import Store

URL_VARIABLE = "TIARA_WORKER_URL"
MAX_ERRORS = 50  # a worker that keeps failing gives up rather than spinning forever


class FileNotifier:
    """A Notifier that appends one JSON line per direct message to a file."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.stalled = False  # set: every send from now on hangs (a worker wedged mid-batch)

    async def send_dm(self, user: UserRef, message: Message) -> None:
        if self.stalled:
            _say("stalled")
            await asyncio.Event().wait()  # never set: the process is killed here
        labels: list[str] = []
        for button in message.buttons:
            label = button.args.get("id")
            if isinstance(label, str) and label.startswith("N") and label not in labels:
                labels.append(label)
        self.out.write(json.dumps({"user": user.user, "nudges": labels}) + "\n")
        self.out.flush()

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        raise AssertionError("a nudge worker never sends group messages")

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        raise AssertionError("a nudge worker never posts in channels")


def _store(url: str, schema: str | None) -> Store:
    if schema is None:
        return Store(url)
    return Store(url, connect_args={"server_settings": {"search_path": schema}})


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _run(
    sender: NudgeSender, notifier: FileNotifier, stall_after: int | None = None
) -> dict[str, Any]:
    total = TickReport()
    ticks = 0
    empty_in_a_row = 0
    errors: list[str] = []
    while empty_in_a_row < 2 and len(errors) < MAX_ERRORS:
        if ticks == stall_after:
            notifier.stalled = True  # the next batch is claimed, then hangs in its sends
        ticks += 1
        try:
            report = await sender.tick()
        except Exception as err:  # recorded, then retried like the scheduler does
            statement = " ".join(str(getattr(err, "statement", "") or "").split())[:80]
            message = str(getattr(err, "orig", None) or err).splitlines()[0][:200]
            errors.append(
                f"{type(err).__name__}: {message}" + (f" [{statement}]" if statement else "")
            )
            empty_in_a_row = 0
            continue
        total.add(report)
        empty_in_a_row = empty_in_a_row + 1 if report.claimed == 0 else 0
    return {"ticks": ticks, "errors": errors, **dataclasses.asdict(total)}


async def work(args: argparse.Namespace, out: IO[str]) -> int:
    now = datetime.fromisoformat(args.now_override or args.now)
    store = _store(os.environ[URL_VARIABLE], args.schema)
    notifier = FileNotifier(out)
    sender = NudgeSender(
        store=store,
        notifier=notifier,
        clock=FixedClock(now),
        default_timezone="UTC",
        batch_size=args.batch_size,
        lease=timedelta(seconds=args.lease_seconds),
        # One batch per tick: a tick that fails then loses no report of batches it sent.
        max_batches=1,
    )
    # Connect before saying ready, so the workers' real work starts together.
    async with store.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))

    if args.mode == "claim-and-die":
        token = uuid.uuid4().hex
        batch = await sender._claim(now, token)
        ids = [] if batch is None else [i for item in batch.outgoing for i, _ in item.nudges]
        _say(json.dumps({"token": token, "ids": ids}))
        os._exit(1)  # no send, no settle, no clean-up: the rows stay leased

    _say("ready")
    if sys.stdin.readline().strip() != "go":
        return 2
    summary = await _run(sender, notifier, args.stall_after_ticks)
    await store.close()
    _say(json.dumps(summary))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("run", "claim-and-die"), default="run")
    parser.add_argument("--schema", help="PostgreSQL schema to work in (search_path)")
    parser.add_argument("--now", required=True, help="the fixed clock, ISO 8601 with offset")
    parser.add_argument("--now-override", help="a later clock, for a worker that takes over")
    parser.add_argument("--out", required=True, help="file to append sent messages to")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lease-seconds", type=int, default=300)
    parser.add_argument(
        "--stall-after-ticks",
        type=int,
        help="after this many ticks, claim one more batch and hang sending it (then the "
        "test kills the process)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with open(args.out, "a", encoding="utf-8") as out:
        return asyncio.run(work(args, out))


if __name__ == "__main__":
    sys.exit(main())
