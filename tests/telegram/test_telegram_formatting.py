"""Unit tests: escaping, **bold**, splitting, sources, commands, settings (button tokens:
tests/channels/test_guard.py)."""

import pytest
from rasa.shared.exceptions import RasaException

from bot.channels.telegram import TelegramBotAPI, TelegramSettings
from bot.channels.telegram.commands import parse_command
from bot.channels.telegram.formatting import (
    MAX_MESSAGE_LENGTH,
    format_sources,
    rendered_length,
    split_message,
    to_telegram_html,
    utf16_len,
)
from tests.telegram.fake_telegram import parse_telegram_html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ki-67 < 3% & grade 1", "Ki-67 &lt; 3% &amp; grade 1"),
        ("<b>not a tag</b>", "&lt;b&gt;not a tag&lt;/b&gt;"),
        ("snake_case and *stars*", "snake_case and *stars*"),
        ("**CAPTEM** is chemo", "<b>CAPTEM</b> is chemo"),
        ("**a < b**", "<b>a &lt; b</b>"),
        ("odd ** stars", "odd ** stars"),
        ('say "hi"', 'say "hi"'),
        (
            "[NHS](https://www.nhs.uk/a?b=1&c=2)",
            '<a href="https://www.nhs.uk/a?b=1&amp;c=2">NHS</a>',
        ),
        ("[bad](javascript:alert(1))", "[bad](javascript:alert(1))"),
    ],
)
def test_to_telegram_html(text: str, expected: str) -> None:
    rendered = to_telegram_html(text)
    assert rendered == expected
    parse_telegram_html(rendered)  # Telegram would accept it


def test_every_special_character_survives_round_trip() -> None:
    text = "a<b>c&d&amp;e_f*g`h[i](j) </b> &lt; 5-FU & <3"
    assert parse_telegram_html(to_telegram_html(text)) == text


def test_short_text_is_not_split() -> None:
    assert split_message("Hello.") == ["Hello."]
    assert split_message("   ") == []


def _paragraphs(count: int, length: int) -> str:
    return "\n\n".join(f"P{i} " + "word " * (length // 5) for i in range(count))


def test_split_on_paragraphs_keeps_order_and_content() -> None:
    text = _paragraphs(12, 900)
    parts = split_message(text)
    assert len(parts) > 1
    assert all(rendered_length(p) <= MAX_MESSAGE_LENGTH for p in parts)
    # nothing lost, nothing reordered, and splits fall between paragraphs
    assert "\n\n".join(parts).split() == text.split()
    for part in parts:
        assert part.startswith("P")


def test_split_on_lines_then_words() -> None:
    one_paragraph_many_lines = "\n".join("line " * 30 for _ in range(60))
    parts = split_message(one_paragraph_many_lines)
    assert len(parts) > 1
    assert all(p.startswith("line") and p.endswith("line") for p in parts)
    one_line = "word " * 2000
    parts = split_message(one_line)
    assert all(rendered_length(p) <= MAX_MESSAGE_LENGTH for p in parts)
    assert all(p.split() == ["word"] * len(p.split()) for p in parts)  # no cut words


def test_split_hard_cuts_an_endless_word() -> None:
    parts = split_message("x" * 10_000)
    assert [len(p) for p in parts] == [4096, 4096, 1808]


def test_split_counts_escaped_length_and_utf16() -> None:
    # "&" becomes "&amp;" (5 characters); an emoji is 2 UTF-16 units.
    text = " ".join(["&&&&"] * 1000)
    parts = split_message(text)
    assert all(utf16_len(to_telegram_html(p)) <= MAX_MESSAGE_LENGTH for p in parts)
    emoji = " ".join(["\U0001F48A"] * 3000)
    parts = split_message(emoji)
    assert len(parts) == 3  # 8,999 UTF-16 units, although only 5,999 code points
    assert all(utf16_len(to_telegram_html(p)) <= MAX_MESSAGE_LENGTH for p in parts)


def test_split_with_small_limit() -> None:
    assert split_message("aa bb cc dd", limit=5) == ["aa bb", "cc dd"]
    assert split_message("one\n\ntwo\nthree", limit=9) == ["one", "two\nthree"]


def test_format_sources() -> None:
    kb_answer = {
        "id": "captem",
        "sources": [
            {
                "id": "nhs",
                "title": "Chemotherapy & you",
                "publisher": "NHS <website>",
                "url": "https://www.nhs.uk/conditions/chemotherapy/?a=1&b=2",
            }
        ],
    }
    (line,) = format_sources(kb_answer)
    assert (
        parse_telegram_html(line) == "Source: Chemotherapy & you \u2014 NHS <website>"
    )
    assert 'href="https://www.nhs.uk/conditions/chemotherapy/?a=1&amp;b=2"' in line
    (two,) = format_sources(
        {"sources": [{"title": "A"}, {"title": "B", "url": "javascript:x"}]}
    )
    assert parse_telegram_html(two) == "Sources: A; B"
    assert "href" not in two
    assert format_sources({"sources": []}) == []
    assert format_sources({}) == []


@pytest.mark.parametrize("limit", [60, 200, 600, MAX_MESSAGE_LENGTH])
def test_long_sources_are_split_within_the_limit(limit: int) -> None:
    """Every source is listed, and no line is longer than a message may be."""
    sources = [
        {
            "title": f"Source {i}: " + "a rather long official title " * 6,
            "publisher": "Medicines and Healthcare products Regulatory Agency (MHRA)",
            "url": f"https://www.example.org/{i}?a=1&b=2",
        }
        for i in range(4)
    ]
    lines = format_sources({"sources": sources}, limit)
    assert lines and all(utf16_len(line) <= limit for line in lines)
    shown = " ".join(parse_telegram_html(line) for line in lines)
    assert shown.startswith("Sources: ")
    for i in range(4):
        assert f"Source {i}:" in shown
    if limit >= 600:  # room for a whole source: every title keeps its link
        assert all(line.count("<a href=") >= 1 for line in lines)


@pytest.mark.parametrize(
    "text, command",
    [
        ("/start", "start"),
        ("/START", "start"),
        ("/start deep-link-payload", "start"),
        ("/help@net_chemo_test_bot", "help"),
        ("/forget", "forget"),
        ("/help@SomeOtherBot", None),
        ('/ask_what_is{"kb_term": "captem"}', None),
        ("/ask_what_is", "ask_what_is"),
        ("what is /start", None),
        ("hello", None),
    ],
)
def test_parse_command(text: str, command: str) -> None:
    assert parse_command(text, "net_chemo_test_bot") == command


def _settings(**overrides: str) -> dict:
    values = {
        "access_token": "1:abc",
        "mode": "webhook",
        "secret": "s3cret_-",
        "webhook_url": "https://x.org/webhooks/telegram/webhook",
    }
    values.update(overrides)
    return values


def test_settings_validation() -> None:
    settings = TelegramSettings.from_credentials(_settings(api_base=""))
    assert settings.api_base == "https://api.telegram.org"
    assert settings.mode == "webhook"
    polling = TelegramSettings.from_credentials(
        _settings(mode="POLLING", secret="", webhook_url="")
    )
    assert polling.mode == "polling"
    for bad in (
        _settings(access_token=""),
        _settings(secret=""),  # webhook without a secret
        _settings(secret="has space"),
        _settings(webhook_url=""),
        _settings(mode="carrier-pigeon"),
    ):
        with pytest.raises(RasaException):
            TelegramSettings.from_credentials(bad)


def test_api_client_never_shows_the_token() -> None:
    assert "abc" not in repr(TelegramBotAPI("1:abc"))
