"""All ``/tiara`` subcommands. Importing this package registers them."""

from bot.commands import general, prompts, reminders, tracker
from bot.commands._registry import registry

__all__ = ["general", "prompts", "registry", "reminders", "tracker"]
