"""The Slack adapter: Tiara as a Slack app (manifest, slash command, events and DMs)."""
