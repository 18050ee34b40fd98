"""Timezones: the names members may choose, the abbreviations they type, and how dates
are written where a zone is (Babel's data)."""

from __future__ import annotations

import difflib
from functools import lru_cache
from zoneinfo import available_timezones

from babel.core import Locale, get_global
from babel.languages import get_official_languages

from bot.values import UserError
from storage.models import Member

__all__ = [
    "AUTO_TIMEZONE",
    "ZONE_ABBREVIATIONS",
    "default_date_order",
    "effective_timezone",
    "is_fixed_offset",
    "resolve_timezone",
    "timezone_names",
    "zones_for_abbreviation",
]

_NOT_MEMBER_ZONES = ("localtime", "posixrules", "Factory")


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {
        name.casefold(): name
        for name in available_timezones()
        if name not in _NOT_MEMBER_ZONES and not name.startswith(("posix/", "right/"))
    }


AUTO_TIMEZONE = "auto"  # settings timezone=auto: follow the platform profile


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every timezone a member can choose, by canonical IANA name, sorted."""
    return tuple(sorted(_zones_by_folded_name().values()))


# Abbreviations members type for a timezone: the real zones they most likely mean (first
# is the likeliest), and what that zone is called. Each is confirmed with a button.
_EASTERN = (("America/New_York",), "US Eastern time")
_CENTRAL = (("America/Chicago", "Asia/Shanghai"), "US Central time")
_MOUNTAIN = (("America/Denver", "America/Phoenix"), "US Mountain time")
_PACIFIC = (("America/Los_Angeles",), "US Pacific time")
_UK = (("Europe/London",), "UK time")
_CENTRAL_EU = (("Europe/Berlin", "Europe/Paris"), "Central European time")
ZONE_ABBREVIATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    **dict.fromkeys(("EST", "EDT", "ET"), _EASTERN),
    **dict.fromkeys(("CST", "CDT", "CT"), _CENTRAL),
    **dict.fromkeys(("MST", "MDT", "MT"), _MOUNTAIN),
    **dict.fromkeys(("PST", "PDT", "PT"), _PACIFIC),
    **dict.fromkeys(("AKST", "AKDT"), (("America/Anchorage",), "Alaska time")),
    "HST": (("Pacific/Honolulu",), "Hawaii time"),
    **dict.fromkeys(("AST", "ADT"), (("America/Halifax",), "Atlantic time")),
    **dict.fromkeys(("NST", "NDT"), (("America/St_Johns",), "Newfoundland time")),
    **dict.fromkeys(("GMT", "BST"), _UK),
    "WET": (("Europe/Lisbon",), "Western European time"),
    **dict.fromkeys(("CET", "CEST", "MET", "MEST"), _CENTRAL_EU),
    **dict.fromkeys(("EET", "EEST"), (("Europe/Athens",), "Eastern European time")),
    "MSK": (("Europe/Moscow",), "Moscow time"),
    "IST": (("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"), "India time"),
    "PKT": (("Asia/Karachi",), "Pakistan time"),
    "SGT": (("Asia/Singapore",), "Singapore time"),
    "HKT": (("Asia/Hong_Kong",), "Hong Kong time"),
    "PHT": (("Asia/Manila",), "Philippine time"),
    "JST": (("Asia/Tokyo",), "Japan time"),
    "KST": (("Asia/Seoul",), "Korea time"),
    "WIB": (("Asia/Jakarta",), "Western Indonesia time"),
    **dict.fromkeys(("AEST", "AEDT"), (("Australia/Sydney",), "Eastern Australia time")),
    **dict.fromkeys(("ACST", "ACDT"), (("Australia/Adelaide",), "Central Australia time")),
    "AWST": (("Australia/Perth",), "Western Australia time"),
    **dict.fromkeys(("NZST", "NZDT"), (("Pacific/Auckland",), "New Zealand time")),
    "SAST": (("Africa/Johannesburg",), "South Africa time"),
    "WAT": (("Africa/Lagos",), "West Africa time"),
    "CAT": (("Africa/Maputo",), "Central Africa time"),
    "EAT": (("Africa/Nairobi",), "East Africa time"),
    "BRT": (("America/Sao_Paulo",), "Brasília time"),
    "ART": (("America/Argentina/Buenos_Aires",), "Argentina time"),
}
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu"})


def zones_for_abbreviation(text: str) -> tuple[tuple[str, ...], str] | None:
    """The real zones an abbreviation such as "EST" or "cst" stands for, and their name."""
    return ZONE_ABBREVIATIONS.get(text.strip().upper())


def is_fixed_offset(name: str) -> bool:
    """A zone that is only an offset from UTC, with no place's daylight saving (EST,
    Etc/GMT+5): members rarely mean one. UTC itself is a deliberate choice."""
    if name in _UTC_NAMES:
        return False
    return name.startswith("Etc/") or name.upper() in ZONE_ABBREVIATIONS or "GMT" in name


def resolve_timezone(name: str) -> str:
    """Return the canonical IANA name for ``name`` (any case), or raise a friendly error."""
    cleaned = name.strip().replace(" ", "_")
    canonical = _zones_by_folded_name().get(cleaned.casefold())
    if canonical is None:
        close = difflib.get_close_matches(cleaned, sorted(_zones_by_folded_name().values()), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        shown = name.strip() if len(name.strip()) <= 40 else name.strip()[:40] + "…"
        raise UserError(
            f"{shown!r} is not a timezone I know.{hint} Use an IANA name such as "
            "America/Chicago, Europe/Berlin or Asia/Kolkata."
        )
    return canonical


@lru_cache(maxsize=512)
def default_date_order(tz: str) -> str:
    """How dates are written where ``tz`` is (Babel's data): "dmy" in Europe/Berlin, "mdy"
    in America/New_York, "ymd" in Asia/Tokyo; "mdy" where no country is known (UTC)."""
    territory = get_global("zone_territories").get(tz)
    if not territory or territory in ("001", "ZZ"):
        return "mdy"
    for language in get_official_languages(territory, de_facto=True):
        try:
            pattern = Locale.parse(f"{language}_{territory}").date_formats["short"].pattern
        except (ValueError, LookupError, TypeError):
            continue
        at = {"d": pattern.find("d"), "m": pattern.find("M"), "y": pattern.find("y")}
        if min(at.values()) >= 0:
            return "".join(sorted(at, key=at.__getitem__))
    return "mdy"


def effective_timezone(member: Member, default: str) -> str:
    """The timezone times are shown and read in for ``member``: the one they chose, else
    their platform profile's, else the workspace's, else ``default``."""
    return member.timezone or member.platform_timezone or member.workspace.timezone or default
