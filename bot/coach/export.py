"""A member's own data to take away: a spreadsheet and a calendar.

The CSV opens correctly in Excel (UTF-8 with a byte-order mark, ISO dates) with one row
per meeting, then one per request, then one per contact met neither way; text that a
spreadsheet would take for a formula starts with an apostrophe. The calendar
(.ics) holds the upcoming meetings.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage.models import Contact, Meeting, OutreachRequest

__all__ = ["COLUMNS", "export_csv", "export_ics"]

COLUMNS = (
    "record",
    "id",
    "contact",
    "organization",
    "title",
    "email",
    "phone",
    "profile_url",
    "referred_by",
    "date",
    "time",
    "timezone",
    "venue",
    "thank_you_sent",
    "notes",
    "follow_ups",
    "via",
    "status",
    "outcome",
    "replied",
    "contact_notes",
    "last_contact",
)
MEETING_LENGTH = timedelta(minutes=30)  # informational interviews run 20 to 30 minutes
_UID_SPACE = uuid.UUID("5b0f3c1e-6a57-4d4e-9a0e-7f1c2b9d8e61")


# A spreadsheet runs a cell starting with these as a formula ("CSV injection"): a contact
# named =HYPERLINK(...) would become a live link. A leading apostrophe keeps it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _stamp(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _day(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).date().isoformat()


def export_csv(
    contacts: Sequence[Contact],
    requests: Sequence[OutreachRequest],
    meetings: Sequence[Meeting],
    *,
    tz: str,
) -> bytes:
    zone = ZoneInfo(tz)
    by_id = {c.id: c for c in contacts}

    def person(contact: Contact) -> dict[str, str]:
        referrer = by_id.get(contact.referred_by_id) if contact.referred_by_id else None
        return {
            "contact": contact.name,
            "organization": contact.organization or "",
            "title": contact.title or "",
            "email": contact.email or "",
            "phone": contact.phone or "",
            "profile_url": contact.profile_url or "",
            "referred_by": referrer.name if referrer else "",
            "contact_notes": contact.notes or "",
            "last_contact": _day(contact.last_contact_at, zone),
        }

    rows: list[dict[str, str]] = []
    for m in meetings:
        local = m.held_at.astimezone(zone)
        rows.append(
            {
                "record": "meeting",
                "id": f"M{m.seq}",
                **person(by_id.get(m.contact_id) or m.contact),
                "date": local.date().isoformat(),
                "time": local.strftime("%H:%M"),
                "timezone": tz,
                "venue": m.venue or "",
                "thank_you_sent": _stamp(m.thanks_at, zone),
                "notes": m.notes or "",
                "follow_ups": m.followups or "",
            }
        )
    for r in requests:
        local = r.sent_at.astimezone(zone)
        rows.append(
            {
                "record": "request",
                "id": f"R{r.seq}",
                **person(by_id.get(r.contact_id) or r.contact),
                "date": local.date().isoformat(),
                "time": local.strftime("%H:%M"),
                "timezone": tz,
                "via": r.via,
                "status": r.status,
                "outcome": r.outcome or "",
                "replied": _day(r.replied_at, zone),
            }
        )
    seen = {m.contact_id for m in meetings} | {r.contact_id for r in requests}
    for c in contacts:
        if c.id not in seen:
            rows.append({"record": "contact", **person(c)})
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
    return out.getvalue().encode("utf-8-sig")


def export_ics(meetings: Sequence[Meeting], *, now: datetime, calendar_key: str) -> bytes:
    """The meetings still to come as calendar events, each with a reminder an hour before.

    ``calendar_key`` (one per member) keeps each event's id the same from one export to the
    next, so importing again updates events instead of doubling them.
    """
    from icalendar import Alarm, Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//Tiara//Informational interviews//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Informational interviews")
    for m in meetings:
        if m.held_at <= now:
            continue
        contact = m.contact
        who = f"{contact.name} ({contact.organization})" if contact.organization else contact.name
        event = Event()
        event.add("uid", f"{uuid.uuid5(_UID_SPACE, f'{calendar_key}:{m.id}')}@tiara")
        event.add("dtstamp", now)
        event.add("dtstart", m.held_at)
        event.add("dtend", m.held_at + MEETING_LENGTH)
        event.add("summary", f"Informational interview with {who}")
        if m.venue:
            event.add("location", m.venue)
        event.add(
            "description",
            "Bring your TIARA questions (trends, insights, advice, resources, assignments); "
            "/tiara prompts suggests some. Send a thank-you within 24 hours.",
        )
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Informational interview with {who} in an hour")
        alarm.add("trigger", timedelta(hours=-1))
        event.add_component(alarm)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
