"""Discord rendering: what a member sees fits Discord's limits and never pings anyone."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.render import (
    ALLOWED_MENTIONS,
    Outgoing,
    build_view,
    form_modal,
    inert,
    modal_values,
    render,
)
from bot.values import Button, Field, Form, FormField, Message

WJ = "\u2060"
HOSTILE = [
    "@everyone",
    "@here",
    "@EveryOne",
    "<@1>",
    "<@!12>",
    "<@&2>",
    "<#789>",
    "</tiara log:1>",
    "<t:1700000000:R>",
    "<id:customize>",
]
# What Discord would parse as a ping or mention if it reached a message unchanged.
MENTION = re.compile(
    r"@(everyone|here)|<@!?\d+>|<@&\d+>|<#\d+>|</[^<>]+:\d+>|<t:-?\d+(:[a-zA-Z])?>|<id:\w+>",
    re.IGNORECASE,
)
MASKED_LINK = re.compile(r"\[[^\]]*\]\(")
SUPPRESSED_URL = re.compile(r"<https?://[^\s<>]+>", re.IGNORECASE)
# Discord's own pattern for a bare link (one that would unfurl a preview).
BARE_URL = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]", re.IGNORECASE)
SHORTENED = "Shortened"


def shown_texts(out: Outgoing) -> list[str]:
    """Every piece of text a member reads in one message (buttons are checked separately)."""
    texts = [out.content or ""]
    for embed in out.embeds:
        data = embed.to_dict()
        texts += [data.get("title", ""), data.get("description", "")]
        texts += [data.get("footer", {}).get("text", "")]
        for field in data.get("fields", []):
            texts += [field["name"], field["value"]]
    return texts


def embed_total(embed: discord.Embed) -> int:
    data = embed.to_dict()
    total = len(data.get("title", "")) + len(data.get("description", ""))
    total += len(data.get("footer", {}).get("text", ""))
    return total + sum(len(f["name"]) + len(f["value"]) for f in data.get("fields", []))


def assert_discord_accepts(outs: list[Outgoing]) -> None:
    """Every limit Discord enforces on a message, checked on what would be sent."""
    assert 1 <= len(outs) <= 5
    for out in outs:
        assert out.content is not None or out.embeds or out.buttons, "an empty message"
        if out.content is not None:
            assert 1 <= len(out.content) <= 2000 and out.content.strip()
        assert len(out.embeds) <= 10
        assert sum(embed_total(embed) for embed in out.embeds) <= 6000
        for embed in out.embeds:
            data = embed.to_dict()
            assert data.get("title") or data.get("description") or data.get("fields")
            assert len(data.get("title", "")) <= 256
            assert len(data.get("description", "")) <= 4096
            assert len(data.get("footer", {}).get("text", "")) <= 2048
            assert len(data.get("fields", [])) <= 25
            for field in data.get("fields", []):
                assert 1 <= len(field["name"]) <= 256 and field["name"].strip()
                assert 1 <= len(field["value"]) <= 1024 and field["value"].strip()
        assert len(out.buttons) <= 25


def assert_inert(text: str) -> None:
    assert not MENTION.search(text), text
    assert not MASKED_LINK.search(text), text
    assert not BARE_URL.search(SUPPRESSED_URL.sub(" ", text)), text


def squash(text: str) -> str:
    return "".join(text.split())


# -- inert ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", HOSTILE)
def test_mention_tokens_show_as_typed_but_never_mention(token: str) -> None:
    for context in (f"hi {token}!", f"`{token}`", f"`/tiara log notes={token}`"):
        out = inert(context)
        assert not MENTION.search(out)
        assert out.replace(WJ, "") == context


def test_bare_links_get_no_preview_and_masked_links_show_their_address() -> None:
    assert inert("see https://example.com/a.") == "see <https://example.com/a>."
    assert inert("(https://example.com/x)") == "(<https://example.com/x>)"
    wiki = "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert inert(f"{wiki}, ok") == f"<{wiki}>, ok"
    assert inert("<https://example.com>") == "<https://example.com>"
    assert inert("HTTP://X.ORG") == "<HTTP://X.ORG>"
    masked = inert("[click me](https://evil.example)")
    assert masked == f"[click me]{WJ}(<https://evil.example>)"
    assert_inert(masked)
    assert inert("a [b] (c) and x=y *bold* `code`") == "a [b] (c) and x=y *bold* `code`"


hostile_text = st.lists(
    st.one_of(
        st.sampled_from([*HOSTILE, "https://a.example/p?q=1", "[x](https://b.example)", "`"]),
        st.sampled_from(["<", "@", "&", "!", "#", "/", ":", "t", "id", "]", "(", " ", "\n"]),
        st.text(max_size=8),
    ),
    max_size=30,
).map("".join)


@given(hostile_text)
def test_inert_leaves_no_mention_link_or_preview_in_any_text(text: str) -> None:
    out = inert(text)
    assert_inert(out)
    assert inert(out) == out
    for wrapped in (f"`{out}`", f"**{out}**", f"x{out}y"):
        assert not MENTION.search(wrapped)


@given(st.text().filter(lambda s: "http" not in s.lower() and WJ not in s))
def test_inert_only_adds_invisible_joiners(text: str) -> None:
    assert inert(text).replace(WJ, "") == text


def test_allowed_mentions_allow_nothing() -> None:
    assert ALLOWED_MENTIONS.to_dict()["parse"] == []
    assert not (ALLOWED_MENTIONS.everyone or ALLOWED_MENTIONS.users or ALLOWED_MENTIONS.roles)
    assert not ALLOWED_MENTIONS.replied_user


# -- messages ------------------------------------------------------------------------------


def test_usage_written_as_plain_text_uses_discord_slash_syntax_too() -> None:
    text = 'Start: /tiara request contact="Dana Lee" org=Acme\nSettings like quiet=22-7 stay.'
    [out] = render(Message(text=text))
    assert out.content == (
        "Start: /tiara request contact:Dana Lee org:Acme\nSettings like quiet=22-7 stay."
    )


def test_plain_text_is_content_and_code_spans_use_discord_slash_syntax() -> None:
    text = (
        'Saved.\n\nNext: `/tiara log contact="Dana Lee" when=tomorrow` or '
        '`/tiara log [when=<when>]`. Not here: notes=a, nor in `notes=a b` or `x="y"`.'
    )
    [out] = render(Message(text=text))
    assert out.embeds == () and out.buttons == ()
    assert out.content == (
        "Saved.\n\nNext: `/tiara log contact:Dana Lee when:tomorrow` or "
        '`/tiara log [when:<when>]`. Not here: notes=a, nor in `notes=a b` or `x="y"`.'
    )


def test_curly_quotes_and_mentions_inside_a_usage_span() -> None:
    [out] = render(Message(text='`/tiara log contact=“Ann Bo” notes="<@1> @here"`'))
    assert out.content is not None
    assert out.content.replace(WJ, "") == "`/tiara log contact:Ann Bo notes:<@1> @here`"
    assert not MENTION.search(out.content)


def test_titled_message_is_one_embed_with_fields_side_by_side() -> None:
    message = Message(
        text="Change any of them, e.g. `/tiara settings quiet=22-7`",
        title="Your settings",
        fields=(Field("Timezone", "Europe/Paris"), Field("Nudges", "on")),
    )
    [out] = render(message)
    assert out.content is None
    [embed] = out.embeds
    assert embed.title == "Your settings"
    assert embed.description == "Change any of them, e.g. `/tiara settings quiet:22-7`"
    assert [(f.name, f.value, f.inline) for f in embed.fields] == [
        ("Timezone", "Europe/Paris", True),
        ("Nudges", "on", True),
    ]
    assert embed.colour != discord.Colour.brand_red()


def test_long_field_values_stack_and_blank_fields_are_still_sent() -> None:
    message = Message(text="", title="T", fields=(Field("Notes", "word " * 30), Field("", " ")))
    [out] = render(message)
    fields = out.embeds[0].to_dict()["fields"]
    assert [f["inline"] for f in fields] == [False, False]
    assert all(f["name"] and f["value"] for f in fields)


def test_errors_look_like_errors() -> None:
    [plain] = render(Message(text="No such meeting M9.", error=True))
    assert plain.content == "⚠️ No such meeting M9."
    [titled] = render(Message(text="Try again.", title="Can't save", error=True))
    assert titled.embeds[0].title == "⚠️ Can't save"
    assert titled.embeds[0].colour == discord.Colour.brand_red()
    [untitled] = render(Message(text="\n\nBad value.", fields=(Field("a", "b"),), error=True))
    assert untitled.embeds[0].description == "⚠️ Bad value."
    assert untitled.embeds[0].colour == discord.Colour.brand_red()


def test_member_text_is_inert_everywhere_in_a_message() -> None:
    hostile = " ".join(HOSTILE) + " https://x.example [a](https://y.example)"
    message = Message(text=hostile, title=hostile, fields=(Field(hostile, hostile),))
    for out in render(message):
        for text in shown_texts(out):
            assert_inert(text)


def test_long_text_is_split_at_paragraphs_and_keeps_every_word() -> None:
    paragraphs = [f"Paragraph {n}: " + "lorem ipsum " * 60 for n in range(10)]
    text = "\n\n".join(paragraphs)
    outs = render(Message(text=text))
    assert_discord_accepts(outs)
    assert len(outs) > 1
    assert all(o.content and o.content.startswith("Paragraph") for o in outs)
    assert squash("".join(o.content or "" for o in outs)) == squash(text)


def test_too_much_text_is_cut_with_a_note_saying_how_to_see_the_rest() -> None:
    outs = render(Message(text="word " * 5000, buttons=(Button("More", ("meetings",)),)))
    assert_discord_accepts(outs)
    assert len(outs) == 5
    assert outs[-1].content is not None
    assert SHORTENED in outs[-1].content and "`/tiara show" in outs[-1].content
    assert outs[-1].buttons and not any(o.buttons for o in outs[:-1])


def test_too_much_in_an_embed_is_cut_with_a_footer() -> None:
    fields = tuple(Field(f"Item {n}", "x" * 1500) for n in range(200))
    outs = render(Message(text="y " * 20000, title="Everything", fields=fields))
    assert_discord_accepts(outs)
    assert len(outs) == 5
    assert outs[0].embeds[0].title == "Everything"
    assert all(o.embeds[0].title is None for o in outs[1:])
    assert SHORTENED in (outs[-1].embeds[0].footer.text or "")
    assert all(len(f.value or "") == 1024 for o in outs for f in o.embeds[0].fields)


def test_a_shortened_field_value_says_so() -> None:
    [out] = render(Message(text="", title="T", fields=(Field("Notes", "z" * 2000),)))
    assert (out.embeds[0].fields[0].value or "").endswith("…")
    assert SHORTENED in (out.embeds[0].footer.text or "")


def test_buttons_go_on_the_last_message_25_at_a_time() -> None:
    buttons = tuple(Button(f"B{n}", ("show",)) for n in range(30))
    outs = render(Message(text="Pick one.", buttons=buttons))
    assert [len(o.buttons) for o in outs] == [25, 5]
    assert outs[0].content == "Pick one." and outs[1].content is None and not outs[1].embeds
    outs = render(Message(text="word " * 5000, buttons=buttons))
    assert len(outs) == 5 and [len(o.buttons) for o in outs] == [0, 0, 0, 0, 25]


def test_an_empty_message_still_sends_something() -> None:
    assert_discord_accepts(render(Message(text="")))
    [only] = render(Message(text=" ", buttons=(Button("Go", ("help",)),)))
    assert only.content is None and len(only.buttons) == 1


messages = st.builds(
    Message,
    text=st.lists(
        st.one_of(hostile_text, st.text(max_size=300), st.just("x" * 2500), st.just("\n\n")),
        max_size=40,
    ).map("".join),
    title=st.one_of(st.none(), st.text(max_size=400), hostile_text),
    fields=st.lists(
        st.builds(Field, st.text(max_size=300), st.one_of(st.text(max_size=80), hostile_text)),
        max_size=70,
    ).map(tuple),
    buttons=st.lists(st.builds(Button, st.text(max_size=5), st.just(("x",))), max_size=80).map(
        tuple
    ),
    error=st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_any_message_fits_discord_and_mentions_no_one(message: Message) -> None:
    outs = render(message)
    assert_discord_accepts(outs)
    assert len(outs) <= 5
    for out in outs:
        for text in shown_texts(out):
            assert not MENTION.search(text), text
    shown = [button for out in outs for button in out.buttons]
    assert shown == list(message.buttons[: len(shown)])
    assert len(shown) >= min(len(message.buttons), 25)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=30_000), st.booleans())
def test_text_of_any_length_fits(size: int, titled: bool) -> None:
    text = ("A sentence of words. " * (size // 21 + 1))[:size]
    outs = render(Message(text=text, title="T" if titled else None))
    assert_discord_accepts(outs)


# -- buttons -------------------------------------------------------------------------------


def view_rows(view: discord.ui.View) -> list[list[dict[str, Any]]]:
    return [row["components"] for row in view.to_components()]


def test_buttons_come_five_a_row_with_their_styles_and_ids() -> None:
    pairs = [
        (Button(f"Button {n}", ("show",), style=("primary", "danger", None)[n % 3]), f"tiara:{n}")
        for n in range(12)
    ]
    view = build_view(pairs)
    assert view.timeout is None and view.is_persistent()
    rows = view_rows(view)
    assert [len(row) for row in rows] == [5, 5, 2]
    first = rows[0][:3]
    assert [b["style"] for b in first] == [
        discord.ButtonStyle.primary.value,
        discord.ButtonStyle.danger.value,
        discord.ButtonStyle.secondary.value,
    ]
    assert [b["custom_id"] for row in rows for b in row] == [f"tiara:{n}" for n in range(12)]
    assert rows[0][0]["label"] == "Button 0"


def test_button_labels_are_short_inert_and_never_blank() -> None:
    view = build_view(
        [
            (Button("Remind <@1> and @everyone " + "x" * 100, ("show",)), "a"),
            (Button("  ", ("meetings", "list")), "b"),
        ]
    )
    long, blank = view_rows(view)[0]
    assert len(long["label"]) == 80 and long["label"].endswith("…")
    assert not MENTION.search(long["label"])
    assert blank["label"] == "meetings list"


def test_more_than_25_buttons_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    pairs = [(Button(str(n), ("x",)), f"id{n}") for n in range(30)]
    with caplog.at_level(logging.WARNING):
        view = build_view(pairs)
    assert [len(row) for row in view_rows(view)] == [5, 5, 5, 5, 5]
    assert "25" in caplog.text


@pytest.mark.parametrize("custom_id", ["", "x" * 101])
def test_a_bad_custom_id_is_refused(custom_id: str) -> None:
    with pytest.raises(ValueError):
        build_view([(Button("ok", ("x",)), custom_id)])


# -- modals --------------------------------------------------------------------------------

FORM = Form(
    "Log a meeting",
    (
        FormField("contact", "Who did you meet?", required=True, placeholder="e.g. Dana Lee"),
        FormField("notes", "Notes", multiline=True, max_length=10_000),
        FormField("when", "When " * 20, placeholder="p" * 300, max_length=5),
    ),
)


def modal_inputs(modal: discord.ui.Modal) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each (label, text input) pair of a modal as Discord receives it."""
    data = modal.to_dict()
    return [(c, c["component"]) for c in data["components"]]


def test_modal_shape_as_discord_receives_it() -> None:
    modal = form_modal(FORM, custom_id="tiara:form:log", defaults={"contact": "Dana <@1>"})
    data = modal.to_dict()
    assert data["title"] == "Log a meeting" and data["custom_id"] == "tiara:form:log"
    (contact_label, contact), (_, notes), (when_label, when) = modal_inputs(modal)
    assert contact_label["type"] == 18 and contact_label["label"] == "Who did you meet?"
    assert contact["type"] == 4 and contact["custom_id"] == "contact"
    assert contact["style"] == discord.TextStyle.short.value and contact["required"] is True
    assert contact["placeholder"] == "e.g. Dana Lee"
    assert contact["value"] == "Dana <@1>"  # a default is the member's own text, unchanged
    assert notes["style"] == discord.TextStyle.long.value and notes["required"] is False
    assert notes["max_length"] == 4000 and "value" not in notes and "placeholder" not in notes
    assert len(when_label["label"]) == 45 and when_label["label"].endswith("…")
    assert len(when["placeholder"]) == 100 and when["max_length"] == 5


def test_modal_defaults_are_cut_to_fit_and_blank_ones_left_out() -> None:
    modal = form_modal(
        FORM, custom_id="f", defaults={"contact": "", "notes": None, "when": 1234567}
    )
    (_, contact), (_, notes), (_, when) = modal_inputs(modal)
    assert "value" not in contact and "value" not in notes
    assert when["value"] == "12345"


def test_modal_refuses_ids_discord_would_refuse() -> None:
    with pytest.raises(ValueError):
        form_modal(FORM, custom_id="x" * 101)
    twice = Form("Twice", (FormField("a", "A"), FormField("a", "B")))
    with pytest.raises(ValueError):
        form_modal(twice, custom_id="f")


@given(
    title=st.text(max_size=45),
    fields=st.lists(
        st.builds(
            FormField,
            name=st.text(min_size=1, max_size=100),
            label=st.text(max_size=200),
            required=st.booleans(),
            multiline=st.booleans(),
            max_length=st.integers(min_value=1, max_value=100_000),
            placeholder=st.text(max_size=300),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda f: f.name,
    ),
    default=st.one_of(st.none(), st.text(max_size=5000), st.integers()),
)
def test_any_form_makes_a_modal_within_discord_limits(
    title: str, fields: list[FormField], default: object
) -> None:
    form = Form(title, tuple(fields))
    modal = form_modal(form, custom_id="c", defaults={f.name: default for f in fields})
    data = modal.to_dict()
    assert 1 <= len(data["title"]) <= 45 and data["title"].strip()
    assert 1 <= len(data["components"]) <= 5
    for label, text_input in modal_inputs(modal):
        assert 1 <= len(label["label"]) <= 45 and label["label"].strip()
        assert 1 <= text_input["max_length"] <= 4000
        assert len(text_input.get("placeholder", "")) <= 100
        assert len(text_input.get("value", "")) <= text_input["max_length"]


# -- modal submissions ---------------------------------------------------------------------


def test_values_come_back_from_both_submission_shapes() -> None:
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": "contact", "value": "Dana Lee"}]},
        {"type": 18, "id": 3, "component": {"type": 4, "custom_id": "notes", "value": "a\nb"}},
        {"type": 18, "component": {"type": 4, "custom_id": "when", "value": ""}},
        {"type": 18, "component": {"type": 3, "custom_id": "pick", "values": ["x"]}},
        {"type": 10, "content": "text display"},
    ]
    assert modal_values(rows) == {"contact": "Dana Lee", "notes": "a\nb", "when": ""}


def test_a_modal_round_trips_through_a_submission() -> None:
    modal = form_modal(FORM, custom_id="f", defaults={"contact": "Dana", "when": "now"})
    submitted = modal.to_dict()["components"]
    assert modal_values(submitted) == {"contact": "Dana", "notes": "", "when": "now"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "components", "component", "custom_id", "value", "x"]),
            inner | st.sampled_from([1, 4, 18]),
            max_size=5,
        )
    ),
    max_leaves=25,
)


@given(json_values)
def test_odd_submissions_never_raise(components: Any) -> None:
    values = modal_values(components)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
