"""Nudges: the direct messages the bot owes members, planned as rows and sent by a tick."""
