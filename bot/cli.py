"""The ``tiara`` command line: run the bot, open the console, manage the database."""

from __future__ import annotations

import asyncio
import getpass
import sys

import typer

from bot.config import Settings

__all__ = ["main"]

cli = typer.Typer(
    help="Tiara, an informational-interview coach for Slack, Discord and the terminal.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as err:  # pydantic's ValidationError names the bad variable
        typer.secho(f"Configuration error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "student"


async def _console(settings: Settings, user: str, workspace: str) -> None:
    from adapters.console import ConsoleAdapter
    from bot.app import build_app, configure_logging

    configure_logging(settings)
    app = await build_app(settings)
    try:
        await ConsoleAdapter(app.bot, user=user, workspace=workspace).run()
    finally:
        await app.close()


@cli.command()
def console(
    user: str = typer.Option(None, "--user", "-u", help="Who is talking (default: your login)."),
    workspace: str = typer.Option("local", "--workspace", "-w", help="The workspace name."),
) -> None:
    """Talk to Tiara in this terminal (no Slack or Discord account needed)."""
    asyncio.run(_console(_settings(), user or _default_user(), workspace))


@cli.command()
def run() -> None:
    """Run Tiara on the platform whose credentials are configured, else in the console."""
    settings = _settings()
    platform = settings.platform
    if platform == "console":
        asyncio.run(_console(settings, _default_user(), "local"))
        return
    typer.secho(
        f"{platform.capitalize()} credentials are set, but the {platform} adapter is not part "
        "of this version yet. Unset them to use the console: `tiara console`.",
        fg="yellow",
        err=True,
    )
    raise typer.Exit(2)


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
    from storage.store import Store

    store = Store(_settings().database_url.get_secret_value())
    try:
        if action == "upgrade":
            await store.upgrade(revision)
        elif action == "downgrade":
            await store.downgrade(revision)
        typer.echo(f"Schema revision: {await store.current_revision() or 'none (empty)'}")
    finally:
        await store.close()


def main() -> None:
    cli(args=sys.argv[1:], prog_name="tiara")


if __name__ == "__main__":
    main()
