"""Assistant text as Telegram shows it: HTML escaping, **bold**, links, splitting long
replies, and the Source line of a knowledge answer."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from bot.channels.guard import reply_text

CHANNEL_NAME = (
    "telegram"  # the output channel's name(): picks `channel: telegram` variants
)

# Telegram limits (https://core.telegram.org/bots/api).
MAX_MESSAGE_LENGTH = 4096  # characters after entity parsing, counted in UTF-16 units

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^\s()<>\"]+)\)")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def to_telegram_html(text: str) -> str:
    """Renders assistant text as Telegram HTML.

    Everything is escaped first, so a stray ``<``, ``&`` or ``_`` in KB text can never
    break a message; then the widget-style ``**bold**`` and ``[label](https://...)``
    become ``<b>`` and ``<a>``.
    """
    escaped = html.escape(text, quote=False)
    escaped = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)
    return _BOLD.sub(r"<b>\1</b>", escaped)


def rendered_length(text: str) -> int:
    """Length of ``text`` once rendered (HTML source, UTF-16 units).

    Telegram counts characters after parsing, so measuring the HTML source is a
    safe upper bound.
    """
    return utf16_len(to_telegram_html(text))


def split_message(
    text: str,
    limit: int = MAX_MESSAGE_LENGTH,
    measure: Callable[[str], int] = rendered_length,
) -> list[str]:
    """Splits ``text`` into parts whose rendered length is at most ``limit``.

    Splits on paragraph breaks first, then line breaks, then spaces; a single
    "word" longer than the limit is cut. Parts are packed greedily, in order.
    """
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n", " "):
        pieces = [p for p in text.split(separator) if p.strip()]
        if len(pieces) < 2:
            continue
        parts: list[str] = []
        current = ""
        for piece in pieces:
            piece = piece.strip()
            candidate = f"{current}{separator}{piece}" if current else piece
            if measure(candidate) <= limit:
                current = candidate
                continue
            if current:
                parts.append(current)
            if measure(piece) <= limit:
                current = piece
            else:
                parts.extend(split_message(piece, limit, measure))
                current = ""
        if current:
            parts.append(current)
        return parts
    return _hard_cut(text, limit, measure)


def _hard_cut(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    parts = []
    while text:
        low, high = 1, len(text)
        while low < high:  # longest prefix that fits
            middle = (low + high + 1) // 2
            if measure(text[:middle]) <= limit:
                low = middle
            else:
                high = middle - 1
        parts.append(text[:low])
        text = text[low:]
    return parts


def _source_fragment(source: dict[str, Any]) -> tuple[str, str] | None:
    """One source as (HTML with its link, the same as plain text), or None."""
    title = str(source.get("title") or source.get("id") or "").strip()
    if not title:
        return None
    label = html.escape(title, quote=False)
    plain = title
    url = str(source.get("url") or "")
    if url.startswith(("https://", "http://")):
        label = f'<a href="{html.escape(url, quote=True)}">{label}</a>'
    publisher = str(source.get("publisher") or "").strip()
    if publisher:
        label += f" — {html.escape(publisher, quote=False)}"
        plain += f" — {publisher}"
    return label, plain


def format_sources(
    kb_answer: dict[str, Any], limit: int = MAX_MESSAGE_LENGTH
) -> list[str]:
    """Renders every ``kb_answer`` source as short italic HTML lines (none: ``[]``).

    ``Source: title — publisher`` (``Sources: a; b`` for several), titles linked to
    their http(s) URL. Each line is at most ``limit`` long (HTML source, UTF-16 units),
    so the line can be sent as its own message: sources are packed greedily, and a
    single source too long for a line is sent as plain text, split on word boundaries.
    """
    sources = [s for s in kb_answer.get("sources") or [] if isinstance(s, dict)]
    fragments = [f for f in map(_source_fragment, sources) if f is not None]
    if not fragments:
        return []
    key = "source_label" if len(fragments) == 1 else "sources_label"
    prefix = html.escape(reply_text(key, CHANNEL_NAME), quote=False) + ": "

    def fits(body: str) -> bool:
        return utf16_len(f"<i>{body}</i>") <= limit

    lines: list[str] = []
    current = prefix
    for linked, plain in fragments:
        joiner = "" if current in (prefix, "") else "; "
        if fits(current + joiner + linked):
            current += joiner + linked
            continue
        if current not in (prefix, ""):
            lines.append(current)
            current = ""
        if fits(current + linked):
            current += linked
            continue
        # Too long even alone (a very low limit): plain text, split between words.
        lead = html.unescape(current)
        pieces = split_message(
            lead + plain,
            limit - len("<i></i>"),
            lambda t: utf16_len(html.escape(t, quote=False)),
        )
        lines.extend(html.escape(piece, quote=False) for piece in pieces)
        current = ""
    if current not in (prefix, ""):
        lines.append(current)
    return [f"<i>{line}</i>" for line in lines]
