"""All ``/tiara`` subcommands. Importing this package registers them."""

from bot.commands import coach, general, practice, prompts, reminders, tracker
from bot.commands._registry import registry

__all__ = ["coach", "general", "practice", "prompts", "registry", "reminders", "tracker"]
