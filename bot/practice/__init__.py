"""Peer practice: pairing cohort members for mock informational interviews."""
