"""Benchmark of Slack over HTTP: how fast ``tiara run slack --http`` acknowledges ``/tiara``.

Run from the repository root, with the project installed in ``.venv`` (``make`` does that):

    .venv/bin/python bench/bench_slack_http.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/bench_slack_http.py --backends sqlite --seconds 5 --meetings 5000
    .venv/bin/python bench/bench_slack_http.py --help                # every option

Slack wants every request acknowledged within 3 seconds, and retries or shows the member an
error otherwise; this measures how long the acknowledgement takes under a steady load.

How it runs
-----------
Three processes, so the load generator's work doesn't slow the server down:

- the fake Slack Web API of the tests (``python -m tests.slack_fake``), which answers
  ``users.info`` for every member and records each answer posted to a ``response_url``;
- the bot: ``tiara run slack --http`` itself (on PostgreSQL the same command, started with
  ``python -c`` so that its database handle can be pointed at the benchmark's private
  schema), with ``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET`` and ``TIARA_SLACK_API_URL``
  pointing at the fake, and its scheduler running as in production;
- this script, which first fills the database as bench_dispatch.py does (``--meetings``,
  100,000 by default, 50 per member; its times relative to now, since the bot runs on the
  wall clock), and then sends signed ``/tiara`` slash commands to ``/slack/events`` with
  aiohttp.

The commands go out open-loop: request number n is sent at ``start + n / --rate`` whatever
happened to the ones before, so a slow server shows up as latency rather than as a lower
rate. 80% are ``meetings``, 20% ``log contact="..." when="yesterday 3pm" notes="..."``
(half of them with someone new), each from a member chosen at random (``--active-members``
limits them to the first N). Before the ``--seconds`` measured, ``--warmup-seconds`` of the
same load are sent and not counted. Answers are awaited for 60 s after the last request.

Measured, per request: the time from handing it to aiohttp until the HTTP 200
acknowledgement is read (the ack), and, from the fake's record of the ``response_url``
post (``time.monotonic`` is one clock for every process on Linux), until the answer
reached Slack (the answer); and how many answers a second the bot got through. If that
is below the rate sent, work piles up in the bot, and its event loop, busy with the
backlog, acknowledges later too. The bot acknowledges first and works after; note that
slack_bolt checks every 10 ms whether the listener has acknowledged, so an ack takes at
least a few ms. Also: requests that failed or weren't 200, how late the generator sent
(it must keep to its schedule for the numbers to hold), the bot's resident memory
(sampled every half second, and its peak, VmHWM, from /proc), the outcomes the bot counted
and its own mean time per command (its ``/metrics``), and how many ``users.info`` calls it
made: a member's profile is read the first time a process sees them, so most members cost
one read in a fresh process. ERROR lines in the bot's log are counted and shown.

Targets: acknowledgement p99 under 100 ms at 50 requests per second; the bot's memory
under 200 MB.

The results are printed as tables and written as JSON (``--out``, by default
``bench/slack_http_results.json``) with the machine they ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import itertools
import math
import os
import random
import re
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import common  # bench/common.py
from bench_dispatch import (  # bench/bench_dispatch.py
    MEETINGS_PER_MEMBER,
    TIMEZONES,
    WORKSPACE,
    Loaded,
    add_meetings,
    load_network,
    log_text,
)
from slack_sdk.signature import SignatureVerifier

from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "slack_http_results.json"

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
LOG_SHARE = 0.2  # the rest are `meetings`

ACK_P99_TARGET_MS = 100.0
MEMORY_TARGET_MB = 200.0

STARTUP_SECONDS = 60.0
REQUEST_TIMEOUT = 30.0  # seconds; a request still unanswered then counts as an error
ANSWERS_WITHIN = 60.0  # seconds after the last request for the answers to arrive
MEMORY_EVERY = 0.5  # seconds between samples of the bot's memory

# On PostgreSQL the bot runs as `tiara run`, with its Store in the benchmark's schema.
_SERVE_IN_SCHEMA = """
import functools, sys
import adapters.serve
from storage.store import Store
adapters.serve.Store = functools.partial(
    Store, connect_args={"server_settings": {"search_path": sys.argv[1]}}
)
from adapters.cli import main
sys.argv = ["tiara", *sys.argv[2:]]
main()
"""


# -- the processes -----------------------------------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TIARA_", "SLACK_", "DISCORD_"))
    }
    env.update(extra)
    return env


async def stop_process(process: asyncio.subprocess.Process, within: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it hasn't stopped ``within`` seconds."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=within)
    except TimeoutError:
        process.kill()
        await process.wait()


async def start_fake(workdir: Path) -> tuple[asyncio.subprocess.Process, str]:
    """The fake Slack Web API in its own process; returns it and its base url (no /api/)."""
    port_file = workdir / "fake.url"
    port_file.unlink(missing_ok=True)  # left by the backend before
    with (workdir / "fake.log").open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.slack_fake",
            "--port-file",
            str(port_file),
            "--team-id",
            WORKSPACE,
            cwd=ROOT,
            env=_clean_env(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while not port_file.exists():
        if process.returncode is not None or time.monotonic() > deadline:
            await stop_process(process)
            raise SystemExit(f"the fake Slack API did not start; see {workdir / 'fake.log'}")
        await asyncio.sleep(0.05)
    return process, port_file.read_text().strip().removesuffix("/api/")


async def start_bot(
    store: Store, backend: str, pg_url: str, fake: str, workdir: Path
) -> tuple[asyncio.subprocess.Process, str]:
    """``tiara run slack --http`` on a free port; returns it and its /slack/events url."""
    arguments = ["run", "slack", "--http", "--host", "127.0.0.1", "--port", "0"]
    if backend == "sqlite":
        url = store.engine.url.render_as_string(hide_password=False)
        command = [str(Path(sys.executable).with_name("tiara")), *arguments]
    else:
        async with store.engine.connect() as conn:
            schema = str((await conn.exec_driver_sql("SELECT current_schema()")).scalar_one())
        url = pg_url
        command = [sys.executable, "-c", _SERVE_IN_SCHEMA, schema, *arguments]
    await store.engine.dispose()  # the bot has the database to itself
    env = _clean_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        TIARA_SLACK_API_URL=f"{fake}/api/",
        TIARA_DATABASE_URL=url,
        TIARA_LOG_LEVEL="WARNING",
    )
    with (workdir / f"bot-{backend}.log").open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=workdir,  # no .env of the repository's
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=STARTUP_SECONDS)
    except TimeoutError:
        line = b""
    found = re.search(r"(http://\S+/slack/events)", line.decode())
    if found is None:
        await stop_process(process)
        log_text = (workdir / f"bot-{backend}.log").read_text()[-2000:]
        raise SystemExit(f"the bot did not start: {line.decode()!r}\n{log_text}")
    return process, found.group(1)


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Sent:
    n: int
    command: str
    scheduled: float  # time.monotonic()
    started: float = 0.0
    seconds: float | None = None  # until the acknowledgement was read
    status: int | None = None
    error: str | None = None


class Load:
    """Signed slash commands at a steady rate, open-loop."""

    def __init__(self, url: str, fake: str, members: int, seed: int) -> None:
        self.url = url
        self.fake = fake
        self.members = members
        self.rng = random.Random(seed)
        self.verifier = SignatureVerifier(SECRET)
        self.sent: list[Sent] = []
        self.newcomers = itertools.count(1)

    def text(self, member: int) -> tuple[str, str]:
        rng = self.rng
        if rng.random() >= LOG_SHARE:
            return "meetings", "meetings"
        return "log", log_text(rng, member, self.newcomers)

    def body(self, n: int) -> tuple[str, str]:
        member = self.rng.randint(1, self.members)
        command, text = self.text(member)
        fields = {
            "token": "legacy",
            "team_id": WORKSPACE,
            "team_domain": "cohort",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": f"U{member:08d}",
            "user_name": f"member{member}",
            "command": "/tiara",
            "text": text,
            "api_app_id": "A0TIARA",
            "is_enterprise_install": "false",
            "response_url": f"{self.fake}/respond/cmd-{n}",
            "trigger_id": f"trigger-{n}",
        }
        return command, urlencode(fields)

    async def one(self, session: aiohttp.ClientSession, sent: Sent, body: str) -> None:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=timestamp, body=body),
        }
        sent.started = time.monotonic()
        try:
            async with session.post(self.url, data=body.encode(), headers=headers) as response:
                await response.read()
                sent.status = response.status
        except Exception as err:  # a refused or timed-out request is a result too
            sent.error = type(err).__name__
            return
        sent.seconds = time.monotonic() - sent.started
        if sent.status != 200:
            sent.error = f"HTTP {sent.status}"

    async def run(
        self,
        session: aiohttp.ClientSession,
        *,
        rate: float,
        seconds: float,
        on_progress: Callable[[float, list[Sent]], None],
    ) -> list[Sent]:
        """Send ``rate * seconds`` requests on schedule; wait for all of them."""
        count = round(rate * seconds)
        first = len(self.sent)
        tasks = []
        progress = common.Progress(5.0)
        start = time.monotonic() + 0.05
        for i in range(count):
            n = first + i
            at = start + i / rate
            command, body = self.body(n)
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = Sent(n=n, command=command, scheduled=at)
            self.sent.append(sent)
            tasks.append(asyncio.create_task(self.one(session, sent, body)))
            if progress.due():
                on_progress(time.monotonic() - start, self.sent[first:])
        await asyncio.gather(*tasks)
        return self.sent[first:]


class MemorySampler:
    """The bot's resident memory every half second, in the background."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            found = common.memory_mb(self.pid)
            if found is not None:
                self.samples.append(found["rss"])
            await asyncio.sleep(MEMORY_EVERY)

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def last(self) -> float | None:
        return self.samples[-1] if self.samples else None


# -- one backend -------------------------------------------------------------------------------


@dataclass
class HttpResult:
    backend: str
    data: Loaded
    rate: float
    seconds: float
    warmup_seconds: float
    requests: int
    acknowledged: int
    errors: int
    ack: common.Percentiles
    ack_by_command: dict[str, common.Percentiles]
    answers: int
    answer: common.Percentiles
    answers_behind_s: float  # the last answer came this long after the last request
    answers_per_second: float  # answers to the measured requests, over the time they took
    send_lag: common.Percentiles  # how late the generator sent, against its schedule
    achieved_rate: float
    bot_rss_start_mb: float | None
    bot_rss_max_sampled_mb: float | None
    bot_peak_mb: float | None  # VmHWM: the peak since the bot started
    profile_reads: int
    outcomes: dict[str, float]
    bot_mean_ms: dict[str, float]  # the bot's own timing of each command, warm-up included
    bot_errors: dict[str, int]  # ERROR lines in the bot's log, and how often
    target_met: bool = False
    error_examples: list[str] = field(default_factory=list)


async def fake_calls(session: aiohttp.ClientSession, fake: str, method: str) -> list[Any]:
    async with session.get(f"{fake}/_calls", params={"method": method}) as response:
        calls: list[Any] = await response.json()
        return calls


async def wait_for_answers(
    session: aiohttp.ClientSession, fake: str, expected: int, log: Callable[[str], None]
) -> list[Any]:
    deadline = time.monotonic() + ANSWERS_WITHIN
    while True:
        calls = await fake_calls(session, fake, "response_url")
        if len(calls) >= expected or time.monotonic() > deadline:
            return calls
        log(f"  waiting for answers: {len(calls):,} of {expected:,} arrived")
        await asyncio.sleep(1.0)


async def bot_metrics(
    session: aiohttp.ClientSession, events_url: str
) -> tuple[dict[str, float], dict[str, float]]:
    """From the bot's /metrics: commands by ``command/outcome`` (``tiara_commands_total``),
    and the mean ms each command took inside the bot (``tiara_command_seconds``; with
    SQLite that includes waiting for the database lock)."""
    base = events_url.removesuffix("/slack/events")
    async with session.get(f"{base}/metrics") as response:
        text = await response.text()
    outcomes = {}
    pattern = r'^tiara_commands_total\{command="([^"]+)",outcome="([^"]+)"\} (\S+)$'
    for command, outcome, value in re.findall(pattern, text, re.MULTILINE):
        outcomes[f"{command}/{outcome}"] = float(value)
    totals: dict[str, dict[str, float]] = {}
    pattern = r'^tiara_command_seconds_(sum|count)\{command="([^"]+)"\} (\S+)$'
    for kind, command, value in re.findall(pattern, text, re.MULTILINE):
        totals.setdefault(command, {})[kind] = float(value)
    mean_ms = {
        command: round(1000 * t["sum"] / t["count"], 2)
        for command, t in totals.items()
        if t.get("count")
    }
    return outcomes, mean_ms


def logged_errors(path: Path) -> dict[str, int]:
    """The ERROR lines the bot logged, without their time, and how often each; one followed
    by a traceback gets its exception's line after a " -> "."""
    found: dict[str, int] = {}
    if not path.exists():
        return found
    lines = path.read_text(errors="replace").splitlines()
    for n, line in enumerate(lines):
        if " ERROR " not in line:
            continue
        message = line.split(" ERROR ", 1)[1][:200]
        if n + 1 < len(lines) and lines[n + 1].startswith("Traceback"):
            end = n + 2
            while end < len(lines) and lines[end].startswith(" "):
                end += 1
            if end < len(lines):
                message += " -> " + lines[end][:200]
        found[message] = found.get(message, 0) + 1
    return found


async def bench_backend(
    backend: str, args: argparse.Namespace, workdir: Path, log: Callable[[str], None]
) -> HttpResult:
    members = math.ceil(args.meetings / MEETINGS_PER_MEMBER)
    async with common.fresh_store(backend, args.pg_url, workdir) as store:
        log(f"{backend}: loading {members:,} members' history...")
        now = datetime.now(UTC).replace(microsecond=0)
        data = await load_network(store, members=members, now=now, log=log, label=backend)
        log(f"  {backend}: loaded {data.meetings:,} meetings in {data.seconds:.1f} s")
        fake_process, fake = await start_fake(workdir)
        bot_process: asyncio.subprocess.Process | None = None
        sampler: MemorySampler | None = None
        try:
            connector = aiohttp.TCPConnector(limit=0)  # open loop: as many as are in flight
            timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                users = {
                    f"U{m:08d}": {"tz": TIMEZONES[m % len(TIMEZONES)], "real_name": f"Member {m}"}
                    for m in range(1, members + 1)
                }
                async with session.post(f"{fake}/_users", json=users) as response:
                    response.raise_for_status()
                bot_process, url = await start_bot(store, backend, args.pg_url, fake, workdir)
                start_memory = common.memory_mb(bot_process.pid)
                log(
                    f"  {backend}: the bot is listening at {url}, "
                    f"{start_memory['rss'] if start_memory else '?'} MB resident"
                )
                sampler = MemorySampler(bot_process.pid)
                sampler.start()
                active = min(members, args.active_members or members)
                load = Load(url, fake, active, args.seed)

                def progress(phase: str, total: float) -> Callable[[float, list[Sent]], None]:
                    def report(elapsed: float, sent: list[Sent]) -> None:
                        done = [s for s in sent if s.seconds is not None]
                        failed = sum(1 for s in sent if s.error is not None)
                        so_far = common.Percentiles.of([s.seconds for s in done if s.seconds])
                        log(
                            f"  {backend} {phase}: {elapsed:4.0f}/{total:g} s, "
                            f"{len(sent):,} sent, {len(done):,} acknowledged, "
                            f"{failed} errors; ack p50 {so_far.p50_ms:.1f} ms, "
                            f"p99 {so_far.p99_ms:.1f} ms; bot {sampler.last} MB"
                        )

                    return report

                if args.warmup_seconds > 0:
                    log(f"  {backend}: warming up for {args.warmup_seconds:g} s...")
                    await load.run(
                        session,
                        rate=args.rate,
                        seconds=args.warmup_seconds,
                        on_progress=progress("warm-up", args.warmup_seconds),
                    )
                log(f"  {backend}: {args.rate:g} requests/s for {args.seconds:g} s...")
                began = time.monotonic()
                timed = await load.run(
                    session,
                    rate=args.rate,
                    seconds=args.seconds,
                    on_progress=progress("timed", args.seconds),
                )
                span = max(s.started for s in timed) - min(s.started for s in timed)
                log(
                    f"  {backend}: {len(timed):,} sent, their acknowledgements read after "
                    f"{time.monotonic() - began:.1f} s"
                )
                answers = await wait_for_answers(session, fake, len(load.sent), log)
                profile_reads = len(await fake_calls(session, fake, "users.info"))
                outcomes, bot_mean_ms = await bot_metrics(session, url)
            await sampler.stop()
            peak = common.memory_mb(bot_process.pid)
        finally:
            if sampler is not None:
                await sampler.stop()
            if bot_process is not None:
                await stop_process(bot_process)
            await stop_process(fake_process)
        bot_errors = logged_errors(workdir / f"bot-{backend}.log")

    answered_at = {
        str(call["params"].get("response_url_name", "")): float(call["at"]) for call in answers
    }
    answer_seconds = [
        answered_at[f"cmd-{s.n}"] - s.started for s in timed if f"cmd-{s.n}" in answered_at
    ]
    last_answer = max((answered_at.get(f"cmd-{s.n}", 0.0) for s in timed), default=0.0)
    last_sent = max(s.started for s in timed)
    first_sent = min(s.started for s in timed)
    acked = [s for s in timed if s.seconds is not None and s.error is None]
    errors = [s for s in timed if s.error is not None]
    ack = common.Percentiles.of([s.seconds for s in acked if s.seconds is not None])
    by_command = {
        command: common.Percentiles.of(
            [s.seconds for s in acked if s.command == command and s.seconds is not None]
        )
        for command in ("meetings", "log")
    }
    rss = sampler.samples if sampler is not None else []
    bot_peak = peak["peak"] if peak else None
    memory_ok = bot_peak is not None and bot_peak < MEMORY_TARGET_MB
    return HttpResult(
        backend=backend,
        data=data,
        rate=args.rate,
        seconds=args.seconds,
        warmup_seconds=args.warmup_seconds,
        requests=len(timed),
        acknowledged=len(acked),
        errors=len(errors),
        ack=ack,
        ack_by_command=by_command,
        answers=len(answer_seconds),
        answer=common.Percentiles.of(answer_seconds),
        answers_behind_s=round(max(0.0, last_answer - last_sent), 2),
        answers_per_second=(
            round(len(answer_seconds) / (last_answer - first_sent), 1)
            if last_answer > first_sent
            else math.nan
        ),
        send_lag=common.Percentiles.of([max(0.0, s.started - s.scheduled) for s in timed]),
        achieved_rate=round((len(timed) - 1) / span, 1) if span > 0 else math.nan,
        bot_rss_start_mb=start_memory["rss"] if start_memory else None,
        bot_rss_max_sampled_mb=max(rss) if rss else None,
        bot_peak_mb=bot_peak,
        profile_reads=profile_reads,
        outcomes=outcomes,
        bot_mean_ms=bot_mean_ms,
        bot_errors=bot_errors,
        target_met=not errors and ack.p99_ms < ACK_P99_TARGET_MS and memory_ok,
        error_examples=sorted({s.error for s in errors if s.error})[:5],
    )


# -- reporting ---------------------------------------------------------------------------------


def print_results(results: Sequence[HttpResult]) -> None:
    if not results:
        return
    first = results[0]
    print(
        f"\n== Slack HTTP: /tiara at {first.rate:g} requests/s for {first.seconds:g} s "
        f"(after {first.warmup_seconds:g} s of warm-up), ms (target: ack p99 < "
        f"{ACK_P99_TARGET_MS:g} ms) =="
    )
    rows = []
    for r in results:
        for what, p in (
            ("ack, all", r.ack),
            ("ack, meetings", r.ack_by_command["meetings"]),
            ("ack, log", r.ack_by_command["log"]),
            ("answer, all", r.answer),
            ("send lag", r.send_lag),
        ):
            rows.append(
                [
                    r.backend,
                    what,
                    p.count,
                    f"{p.p50_ms:.1f}",
                    f"{p.p95_ms:.1f}",
                    f"{p.p99_ms:.1f}",
                    f"{p.max_ms:.1f}",
                ]
            )
    print(common.table(["backend", "latency", "n", "p50", "p95", "p99", "max"], rows))
    print()
    print(
        common.table(
            [
                "backend",
                "meetings",
                "sent",
                "rate/s",
                "errors",
                "answers",
                "answers/s",
                "last answer +s",
                "profiles read",
                "bot MB start",
                "max",
                "peak",
            ],
            [
                [
                    r.backend,
                    f"{r.data.meetings:,}",
                    r.requests,
                    r.achieved_rate,
                    r.errors,
                    r.answers,
                    r.answers_per_second,
                    r.answers_behind_s,
                    r.profile_reads,
                    r.bot_rss_start_mb,
                    r.bot_rss_max_sampled_mb,
                    r.bot_peak_mb,
                ]
                for r in results
            ],
        )
    )
    legend = (
        "ack = until the HTTP 200 was read; answer = until the reply reached the response_url; "
        "send lag = how late the generator sent against its schedule; answers = replies that "
        f"reached the response_url within {ANSWERS_WITHIN:g} s of the last request; answers/s "
        "= those, over the time from the first request to the last answer (what the bot got "
        "through); last answer +s = how long after the last request the last answer arrived "
        "(the bot's backlog); bot MB = its resident memory"
    )
    print(textwrap.fill(legend, width=96, initial_indent="  ", subsequent_indent="  "))
    for r in results:
        print(f"  {r.backend}: mean ms per command inside the bot: {r.bot_mean_ms}")
        failed = {k: v for k, v in r.outcomes.items() if not k.endswith("/ok")}
        if failed:
            print(f"  {r.backend}: commands that did not succeed (the bot's count): {failed}")
        if r.error_examples:
            print(f"  {r.backend}: request errors: {', '.join(r.error_examples)}")
        for message, count in r.bot_errors.items():
            print(f"  {r.backend}: the bot logged {count}x: {message}")


def print_targets(results: Sequence[HttpResult]) -> None:
    print("\n== Targets ==")
    for r in results:
        ack_ok = r.errors == 0 and r.ack.p99_ms < ACK_P99_TARGET_MS
        print(
            f"  HTTP ack, {r.backend}, {r.rate:g}/s: p99 {r.ack.p99_ms:.1f} ms, {r.errors} errors "
            f"(target < {ACK_P99_TARGET_MS:g} ms, no errors): {'met' if ack_ok else 'MISSED'}"
        )
        memory_ok = r.bot_peak_mb is not None and r.bot_peak_mb < MEMORY_TARGET_MB
        print(
            f"  memory, the bot process ({r.backend}): peak {r.bot_peak_mb} MB "
            f"(target < {MEMORY_TARGET_MB:g} MB): {'met' if memory_ok else 'MISSED'}"
        )


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark how fast `tiara run slack --http` acknowledges /tiara."
    )
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long, measured")
    parser.add_argument(
        "--warmup-seconds", type=float, default=3.0, help="of the same load, not measured"
    )
    common.add_backends(parser)
    add_meetings(parser)
    parser.add_argument(
        "--active-members",
        type=int,
        default=0,
        help="send commands as members 1 to N only (default: all); with few, the warm-up "
        "has read their profiles before the measured part",
    )
    parser.add_argument("--seed", type=int, default=1, help="for the members and commands")
    common.add_pg_url(parser)
    common.add_out(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or args.warmup_seconds < 0:
        parser.error("--rate and --seconds must be positive, --warmup-seconds not negative")
    return args


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pg_version = await common.reach_postgres(args.backends, args.pg_url, "--backends sqlite")
    with common.timed_run() as run:
        results = [await bench_backend(b, args, run.workdir, common.log) for b in args.backends]

    machine = common.machine_info(
        run.load_before,
        **common.database_versions(pg_version),
        aiohttp=importlib.metadata.version("aiohttp"),
        slack_bolt=importlib.metadata.version("slack_bolt"),
    )
    common.print_machine(machine, "sqlite", "postgresql", "slack_bolt", "aiohttp")
    print_results(results)
    print_targets(results)
    common.finish(
        args.out,
        run.elapsed,
        machine,
        {
            "rate": args.rate,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup_seconds,
            "meetings": args.meetings,
            "meetings_per_member": MEETINGS_PER_MEMBER,
            "active_members": args.active_members or "all",
            "log_share": LOG_SHARE,
            "answers_awaited_s": ANSWERS_WITHIN,
            "seed": args.seed,
            "backends": args.backends,
        },
        targets={"ack_p99_ms": ACK_P99_TARGET_MS, "memory_mb": MEMORY_TARGET_MB},
        results=[asdict(r) for r in results],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
