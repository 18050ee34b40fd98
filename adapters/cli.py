"""The ``tiara`` command line: run the bot, open the console, manage the database."""

from __future__ import annotations

import asyncio
import errno
import getpass
import socket
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TextIO

import typer
from alembic.util import CommandError
from pydantic import ValidationError

from adapters.bootstrap import build_app, build_registry, configure_logging, tune_gc
from adapters.console import ConsoleAdapter, ConsoleNotifier
from adapters.console.state import (
    ConsoleState,
    configure_console_logging,
    console_log_path,
    state_path,
)
from adapters.discord.runner import DiscordConfigError, sync_commands
from adapters.errors import database_problem
from adapters.serve import ConfigError, serve
from adapters.slack.manifest import build_manifest, manifest_yaml
from bot.clock import OffsetClock, SystemClock
from bot.config import Settings
from bot.scheduler import TickScheduler
from bot.timeutil import format_when
from bot.usecases.workspace import (
    WorkspaceChanges,
    WorkspaceScope,
    WorkspaceView,
    configure,
    read_changes,
    workspace_for,
)
from bot.values import UserError
from storage.store import Store

__all__ = ["main"]

cli = typer.Typer(
    help="Tiara, an informational-interview coach for Slack, Discord and the terminal.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
workspace_cli = typer.Typer(
    help="A workspace's follow-up policy, holidays and timezone.", no_args_is_help=True
)
cli.add_typer(workspace_cli, name="workspace")
slack_cli = typer.Typer(help="Slack: the app manifest.", no_args_is_help=True)
cli.add_typer(slack_cli, name="slack")
discord_cli = typer.Typer(help="Discord: publish the /tiara commands.", no_args_is_help=True)
cli.add_typer(discord_cli, name="discord")


def _settings() -> Settings:

    try:
        return Settings()
    except ValidationError as err:  # one line a bad variable, without the value given
        for problem in err.errors(include_url=False, include_input=False):
            typer.secho(f"Configuration error: {_setting_problem(problem)}", fg="red", err=True)
        raise typer.Exit(2) from None
    except Exception as err:
        typer.secho(f"Configuration error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None


def _setting_problem(problem: Any) -> str:
    """``TIARA_NAME: what is wrong`` for one of pydantic's errors."""
    field = str(problem["loc"][0]) if problem["loc"] else ""
    known = Settings.model_fields.get(field)
    name = (known.alias if known is not None else None) or f"TIARA_{field.upper()}"
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{name}: {message}"


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "student"


def _database_failure(settings: Settings, err: Exception) -> typer.Exit:
    """Say in one line why the database can't be used and what to do; never print the
    password."""

    problem = database_problem(settings.database_url.get_secret_value(), err)
    typer.secho(problem, fg="red", err=True)
    return typer.Exit(2)


async def _console(
    settings: Settings,
    user: str,
    workspace: str,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> None:

    url = settings.database_url.get_secret_value()
    # The console shows the conversation only: the log goes to a file (warnings also to
    # stderr), with bot.logsafe's guard installed by configure_logging as everywhere.
    configure_logging(settings)
    configure_console_logging(settings.log_level_number, console_log_path(url))
    clock = OffsetClock()
    notifier = ConsoleNotifier(clock)
    try:
        app = await build_app(settings, clock=clock, notifier=notifier)
    except Exception as err:  # any failure to open or migrate the database
        raise _database_failure(settings, err) from None
    tune_gc()
    adapter = ConsoleAdapter(
        app.bot,
        user=user,
        workspace=workspace,
        notifier=notifier,
        export_dir=Path(settings.export_dir),
        stdin=stdin,
        stdout=stdout,
    )
    # The moved clock and the DMs waiting for others are kept beside the database.
    state = ConsoleState(state_path(url), clock, notifier)
    # Notices go to the terminal interactively; piped, to stderr (stdout stays the
    # conversation, as a script expects).
    notices = (stdout or sys.stdout) if adapter.interactive else (stderr or sys.stderr)

    def say(text: str | None) -> None:
        if text:
            notices.write(text + "\n")
            notices.flush()

    say(state.load())
    # Interactively the bot runs as it would in a workspace, sending nudges as they fall
    # due; a piped script stays deterministic and sends them after each line instead.
    scheduler = TickScheduler(app.bot.ticker, interval_seconds=settings.tick_seconds)
    if adapter.interactive:
        scheduler.start()
    try:
        await adapter.run()
    finally:
        scheduler.shutdown()
        say(state.save())
        await app.close()


@cli.command()
def console(
    user: str = typer.Option(None, "--user", "-u", help="Who is talking (default: your login)."),
    workspace: str = typer.Option("local", "--workspace", "-w", help="The workspace name."),
) -> None:
    """Talk to Tiara in this terminal (no Slack or Discord account needed)."""
    try:
        asyncio.run(_console(_settings(), user or _default_user(), workspace))
    except KeyboardInterrupt:  # Ctrl-C while a command ran: leave quietly, state kept
        typer.echo("")


_PLATFORMS = typer.Argument(
    None,
    help="slack, discord (both: slack discord) or console; default: every platform whose "
    "credentials are set, else the console.",
)


@cli.command()
def run(
    platforms: list[str] = _PLATFORMS,
    http: bool = typer.Option(
        False, "--http", help="Slack: serve HTTP at /slack/events instead of Socket Mode."
    ),
    port: int = typer.Option(None, "--port", help="HTTP port (default TIARA_PORT, 3000)."),
    host: str = typer.Option(None, "--host", help="HTTP address (default TIARA_HOST, 0.0.0.0)."),
) -> None:
    """Run Tiara on the platforms whose credentials are configured, else in the console."""
    settings = _settings()
    chosen = [p.casefold() for p in platforms or settings.platforms] or ["console"]
    unknown = [p for p in chosen if p not in ("slack", "discord", "console")]
    if unknown or ("console" in chosen and len(chosen) > 1):
        typer.secho(
            f"Unknown platform {(unknown or chosen)[0]!r}: use slack, discord (or both), or "
            "console.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    if chosen == ["console"]:
        asyncio.run(_console(settings, _default_user(), "local"))
        return
    _serve(
        settings,
        list(dict.fromkeys(chosen)),
        http=http,
        host=host or settings.host,
        port=settings.port if port is None else port,
    )


# What an OSError leaving the server means when it is the HTTP port that can't be had.
_BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})


def _serve(settings: Settings, platforms: list[str], *, http: bool, host: str, port: int) -> None:

    configure_logging(settings)
    try:
        _run_to_the_end(serve(settings, platforms, http=http, host=host, port=port))
    except ConfigError as err:  # settings, the database, a refused token: what to fix
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(2) from None
    except OSError as err:
        if not (isinstance(err, socket.gaierror) or err.errno in _BIND_ERRORS):
            raise  # not the port: a traceback is what helps
        # The port is taken or not ours to use, the address isn't this machine's.
        typer.secho(
            f"Can't serve on {host}:{port}: {err.strerror or err}. Choose another --port "
            "(TIARA_PORT) or --host (TIARA_HOST).",
            fg="red",
            err=True,
        )
        raise typer.Exit(2) from None


def _run_to_the_end(main: Coroutine[Any, Any, None], *, grace: float = 5.0) -> None:
    """Run ``main``, then give leftover tasks ``grace`` seconds to finish when cancelled.

    ``asyncio.run`` waits for every task forever after cancelling it; a library task that
    swallows its cancellation (slack_sdk's Socket Mode client can) would keep the process
    from ever exiting on SIGTERM.
    """
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main)
    finally:
        leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in leftover:
            task.cancel()
        if leftover:
            loop.run_until_complete(asyncio.wait(leftover, timeout=grace))
        loop.close()


@slack_cli.command("manifest")
def slack_manifest(
    socket: bool = typer.Option(True, "--socket", help="A Socket Mode app (the default)."),
    http: str = typer.Option(
        None, "--http", metavar="URL", help="An HTTP app served at URL (https://...)."
    ),
) -> None:
    """Print the Slack app manifest to paste into api.slack.com/apps ("From a manifest")."""

    try:
        manifest = (
            build_manifest(build_registry(), mode="http", url=http)
            if http is not None
            else build_manifest(build_registry(), mode="socket")
        )
    except ValueError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(2) from None
    sys.stdout.write(manifest_yaml(manifest))


@discord_cli.command("sync")
def discord_sync(
    guild: int = typer.Option(
        None,
        "--guild",
        help="Publish to this server only (shows at once; for trying Tiara out). Without it "
        "the commands are published to every server the app is in.",
    ),
) -> None:
    """Publish /tiara to Discord. Run it once after installing and after each upgrade that
    changes commands; starting Tiara never does."""

    settings = _settings()
    configure_logging(settings)
    try:
        count = asyncio.run(sync_commands(settings, guild, build_registry()))
    except DiscordConfigError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(2) from None
    where = f"server {guild}" if guild is not None else "every server (global)"
    typer.echo(f"Published /tiara ({count} top-level command) to {where}.")


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or upgrade the schema (to the latest revision by default)."""
    asyncio.run(_migrate("upgrade", revision))


@db_cli.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Downgrade the schema to an earlier revision."""
    asyncio.run(_migrate("downgrade", revision))


@db_cli.command("current")
def db_current() -> None:
    """Print the schema's current revision."""
    asyncio.run(_migrate("current", ""))


async def _migrate(action: str, revision: str) -> None:

    settings = _settings()
    try:
        store = Store(settings.database_url.get_secret_value())
    except Exception as err:
        raise _database_failure(settings, err) from None
    try:
        if action == "upgrade":
            await store.upgrade(revision)
        elif action == "downgrade":
            await store.downgrade(revision)
        typer.echo(f"Schema revision: {await store.current_revision() or 'none (empty)'}")
    except CommandError as err:
        typer.secho(f"Migration refused: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    except Exception as err:
        raise _database_failure(settings, err) from None
    finally:
        await store.close()


_PLATFORM = typer.Option("console", "--platform", "-p", help="slack, discord or console.")
_WORKSPACE = typer.Option(
    "local", "--workspace", "-w", help="The Slack team id, Discord server id or console name."
)


@workspace_cli.command("show")
def workspace_show(platform: str = _PLATFORM, workspace: str = _WORKSPACE) -> None:
    """Show a workspace's follow-up policy, holidays, timezone and practice cadence."""
    asyncio.run(_workspace(platform, workspace, WorkspaceChanges()))


@workspace_cli.command("set")
def workspace_set(
    platform: str = _PLATFORM,
    workspace: str = _WORKSPACE,
    policy: str = typer.Option(
        None,
        "--policy",
        help="seeds: follow up after 2 weeks, twice; 3b7: a second contact on business "
        "day 3, one follow-up on day 7.",
    ),
    holidays: str = typer.Option(
        None,
        "--holidays",
        help="Comma-separated dates that are not business days, e.g. 2026-12-24,2026-12-25 "
        '("" clears them).',
    ),
    country: str = typer.Option(
        None,
        "--country",
        help="The country whose public holidays don't count as business days, e.g. US, "
        'optionally with a region: US-NY ("none" for no country).',
    ),
    timezone: str = typer.Option(None, "--timezone", help="The workspace's IANA timezone."),
    practice_channel: str = typer.Option(
        None,
        "--practice-channel",
        help='Where practice rounds are announced (a channel id or name; "" for none).',
    ),
    practice_day: str = typer.Option(
        None, "--practice-day", help="The weekday rounds start: mon, tue, ... sun."
    ),
    practice_time: str = typer.Option(
        None, "--practice-time", help="The time rounds start, workspace time (e.g. 10:00)."
    ),
    practice_every: int = typer.Option(
        None, "--practice-every", min=1, max=8, help="Weeks between rounds (1 to 8)."
    ),
) -> None:
    """Change a workspace's follow-up policy, holidays, timezone or practice cadence."""
    try:  # read as /tiara coach policy, holidays, cadence and channel read them
        changes = read_changes(
            policy=policy,
            holidays=holidays,
            country=country,
            timezone=timezone,
            channel=practice_channel,
            day=practice_day,
            time=practice_time,
            every=practice_every,
        )
    except UserError as err:
        raise typer.BadParameter(err.message, param_hint=f"--{err.option}") from None
    asyncio.run(_workspace(platform, workspace, changes))


async def _workspace(platform: str, workspace: str, changes: WorkspaceChanges) -> None:

    settings = _settings()
    try:
        store = Store(settings.database_url.get_secret_value())
    except Exception as err:  # not a URL, no driver for it
        raise _database_failure(settings, err) from None
    try:
        await store.upgrade()
        now = SystemClock().now()
        async with store.unit() as uow:
            found = await workspace_for(uow, platform, workspace, now, create=changes.changing)
            if found.workspace is None:
                typer.secho(
                    f"No workspace {platform}/{workspace} yet (it appears when someone there "
                    "first talks to Tiara). Known: " + (", ".join(found.known) or "none") + ".",
                    fg="yellow",
                    err=True,
                )
                raise typer.Exit(1)
            if found.created:
                typer.echo(f"Created workspace {platform}/{workspace}.")
            scope = WorkspaceScope(uow, found.workspace, now, settings.timezone)
            view = await configure(scope, changes)
        _show_workspace(f"{platform}/{workspace}", view, settings.timezone)
    except typer.Exit:
        raise
    except Exception as err:
        raise _database_failure(settings, err) from None
    finally:
        await store.close()


def _show_workspace(name: str, view: WorkspaceView, default_tz: str) -> None:
    typer.echo(f"Workspace {name}")
    typer.echo(f"  Follow-up policy: {view.policy}")
    typer.echo(f"  Public holidays: {view.public_holidays or 'none (no --country)'}")
    typer.echo(f"  Holidays: {', '.join(view.holidays) if view.holidays else 'none'}")
    typer.echo(f"  Timezone: {view.timezone or default_tz + ' (the default)'}")
    typer.echo(f"  Practice rounds: {view.cadence}; announced in {view.channel or 'no channel'}")
    if view.next_round_at is not None:
        typer.echo(f"  Next round: {format_when(view.next_round_at, view.tz)} ({view.tz})")


def main() -> None:
    cli(args=sys.argv[1:], prog_name="tiara")


if __name__ == "__main__":
    main()
