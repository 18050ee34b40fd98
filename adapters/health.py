"""``/livez``, ``/healthz`` and ``/metrics`` over HTTP, in every run mode.

Slack's HTTP mode serves them beside ``/slack/events``; otherwise (Socket Mode, Discord)
a small server listens on ``TIARA_HEALTH_PORT``.

- ``/livez`` (liveness) answers 200 whenever the process's event loop serves requests,
  unless one tick has been running for ``hung_after`` (a hung tick) or no tick at all has
  run for that long (a stopped scheduler): restart. It never touches the database: in
  an outage ticks still begin, and fail fast, and that must not restart every replica.
- ``/healthz`` (readiness) answers 200 when the database answers and the scheduler has
  ticked lately, 503 otherwise (the replica stops getting traffic until it recovers).
- ``/metrics`` is Prometheus' text format.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from bot.metrics import CONTENT_TYPE
from bot.ticking import Ticker

__all__ = ["HealthServer", "add_health_routes", "hung_after", "max_tick_age"]

log = logging.getLogger(__name__)


def max_tick_age(tick_seconds: float) -> timedelta:
    """How long without a tick before the process counts as stuck: three missed ticks,
    and never less than a minute."""
    return max(timedelta(seconds=3 * tick_seconds), timedelta(minutes=1))


def hung_after(tick_seconds: float) -> timedelta:
    """How long one tick may run before /livez calls the process hung: far past the nudge
    lease and any database or network timeout, and never less than 15 minutes."""
    return max(timedelta(seconds=20 * tick_seconds), timedelta(minutes=15))


def add_health_routes(app: web.Application, ticker: Ticker, *, tick_seconds: float) -> None:
    age = max_tick_age(tick_seconds)

    hung = hung_after(tick_seconds).total_seconds()

    async def livez(_request: web.Request) -> web.StreamResponse:
        # Answering at all shows the event loop runs; the tick age is for people reading it.
        last = ticker.last_tick
        ago = round((ticker.clock.now() - last).total_seconds(), 1) if last else None
        running = ticker.tick_running_for()
        if running is not None and running > hung:
            # Not an outage (ticks then fail fast): a tick stuck for good. Restart.
            body = {"status": "tick hung", "tick_running_seconds": round(running)}
            return web.json_response({**body, "last_tick_seconds_ago": ago}, status=503)
        idle = ticker.ticks_idle_for()
        if ticker.runners is not None and running is None and idle > hung:
            # Not even failing ticks: the scheduler itself has stopped. Restart.
            body = {"status": "scheduler stopped", "no_tick_seconds": round(idle)}
            return web.json_response({**body, "last_tick_seconds_ago": ago}, status=503)
        return web.json_response({"status": "ok", "last_tick_seconds_ago": ago})

    async def healthz(_request: web.Request) -> web.StreamResponse:
        health = await ticker.health(max_tick_age=age)
        return web.json_response(
            health.as_json(ticker.clock.now()), status=200 if health.ok else 503
        )

    async def metrics(_request: web.Request) -> web.StreamResponse:
        body = ticker.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/livez", livez)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


class HealthServer:
    """The small server for run modes that serve no HTTP of their own."""

    def __init__(self, ticker: Ticker, *, tick_seconds: float) -> None:
        app = web.Application()
        add_health_routes(app, ticker, tick_seconds=tick_seconds)
        self._runner = web.AppRunner(app, access_log=None)
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0: any free port, then ``self.port`` says which).

        A port already taken is logged, not fatal: the bot keeps serving its members.
        """
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError as err:
            log.error(
                "the health server could not listen on port %d (%s); set TIARA_HEALTH_PORT",
                port,
                type(err).__name__,
            )
            return
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        await self._runner.cleanup()
