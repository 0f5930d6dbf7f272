"""Compare one bot reply (the REST channel's list of messages) with a step's expectations."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convtest.domain import ResponseCatalog, normalise_space
from convtest.script import Expectations

DISCLAIMER = "utter_disclaimer"
URGENT = "utter_urgent_red_flag"
# Keys under which a channel may pass Rasa's response name on with a message.
NAME_KEYS = ("response", "utter_action")
# A {name} that reached the person as written: Rasa leaves a placeholder it has no value
# for in the text. Checked on every reply of every script.
UNFILLED = re.compile(r"{[A-Za-z_][A-Za-z0-9_]*}")


@dataclass(frozen=True)
class Button:
    """A button offered by the bot."""

    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One message of a reply, with the response names its text matches."""

    text: str | None = None
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] | None = None
    names: frozenset[str] = frozenset()

    @property
    def kb_answer(self) -> dict[str, Any] | None:
        """The ``custom.kb_answer`` payload, if this message carries one."""
        if isinstance(self.custom, dict) and isinstance(
            self.custom.get("kb_answer"), dict
        ):
            return self.custom["kb_answer"]
        return None

    def label(self) -> str:
        """Short description for diffs: the response name, or the start of the text."""
        if self.names:
            return "/".join(sorted(self.names))
        if self.kb_answer is not None:
            return f"[kb_answer {self.kb_answer.get('id')}]"
        if self.text is not None:
            short = normalise_space(self.text)
            return f'"{short[:60]}..."' if len(short) > 60 else f'"{short}"'
        if self.custom is not None:
            return f"[custom {sorted(self.custom)}]"
        return "[empty message]"


@dataclass(frozen=True)
class Reply:
    """Everything the bot sent back for one user message."""

    messages: tuple[BotMessage, ...]

    @classmethod
    def from_rest(cls, payload: Any, catalog: ResponseCatalog) -> Reply:
        """Build from the REST channel's JSON list. A message is named by the response
        name it carries, else by its text (``catalog``).

        Raises:
            ValueError: if the payload is not a list of message objects.
        """
        if not isinstance(payload, list):
            raise ValueError(
                f"the REST channel returned {type(payload).__name__}, not a list"
            )
        messages: list[BotMessage] = []
        for item in payload:
            if not isinstance(item, dict):
                raise ValueError(
                    f"the REST channel returned a non-object message: {item!r}"
                )
            text = item.get("text") if isinstance(item.get("text"), str) else None
            buttons = tuple(
                Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
                for b in item.get("buttons") or []
                if isinstance(b, dict)
            )
            custom = (
                item.get("custom") if isinstance(item.get("custom"), dict) else None
            )
            carried = [item[k] for k in NAME_KEYS if isinstance(item.get(k), str)]
            if carried:
                names = frozenset(carried[:1])
            else:
                names = catalog.names_for(text) if text is not None else frozenset()
            messages.append(
                BotMessage(text=text, buttons=buttons, custom=custom, names=names)
            )
        return cls(messages=tuple(messages))

    @property
    def buttons(self) -> tuple[Button, ...]:
        """Every button offered in this reply, in order."""
        return tuple(b for m in self.messages for b in m.buttons)

    @property
    def kb_answers(self) -> list[dict[str, Any]]:
        """Every ``kb_answer`` payload in this reply."""
        return [m.kb_answer for m in self.messages if m.kb_answer is not None]

    def full_text(self) -> str:
        """All message texts and button titles, one per line (what contains/matches search)."""
        lines = [m.text for m in self.messages if m.text]
        lines += [b.title for b in self.buttons]
        return "\n".join(lines)

    def labels(self) -> list[str]:
        """One label per message, for diffs."""
        return [m.label() for m in self.messages]


@dataclass(frozen=True)
class Failure:
    """One unmet expectation: which check, what was expected, what the bot did."""

    check: str
    expected: str
    actual: str
    diff: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.check}: expected {self.expected}; got {self.actual}"


def _diff(expected: Sequence[str], actual: Sequence[str]) -> tuple[str, ...]:
    """``- expected`` / ``+ actual`` lines (unchanged lines prefixed with two spaces)."""
    return tuple(
        line
        for line in difflib.ndiff(list(expected), list(actual))
        if not line.startswith("?")
    )


def _find_in_order(expected: Sequence[str], reply: Reply) -> bool:
    """True if the named responses appear in this order (other messages may come between)."""
    pos = 0
    for message in reply.messages:
        if pos < len(expected) and expected[pos] in message.names:
            pos += 1
    return pos == len(expected)


def _check_responses(expect: Expectations, reply: Reply) -> list[Failure]:
    failures: list[Failure] = []
    if expect.responses and not _find_in_order(expect.responses, reply):
        failures.append(
            Failure(
                "responses",
                ", ".join(expect.responses) + " (in this order)",
                ", ".join(reply.labels()) or "no messages",
                _diff(expect.responses, reply.labels()),
            )
        )
    for name in expect.not_responses:
        hits = [i for i, m in enumerate(reply.messages, start=1) if name in m.names]
        if hits:
            failures.append(
                Failure("not_responses", f"no {name}", f"{name} as message {hits[0]}")
            )
    return failures


def _check_text(expect: Expectations, reply: Reply) -> list[Failure]:
    failures: list[Failure] = []
    text = reply.full_text()
    folded = normalise_space(text).casefold()
    for needle in expect.contains:
        if normalise_space(needle).casefold() not in folded:
            failures.append(Failure("contains", repr(needle), "not in the reply"))
    for needle in expect.not_contains:
        if normalise_space(needle).casefold() in folded:
            failures.append(
                Failure("not_contains", f"no {needle!r}", "found in the reply")
            )
    for pattern in expect.matches:
        if not re.search(pattern, text, re.IGNORECASE):
            failures.append(
                Failure("matches", f"text matching /{pattern}/", "no match")
            )
    for pattern in expect.not_matches:
        found = re.search(pattern, text, re.IGNORECASE)
        if found:
            failures.append(
                Failure(
                    "not_matches",
                    f"nothing matching /{pattern}/",
                    f"found {found.group(0)!r}",
                )
            )
    return failures


def _check_kb(expect: Expectations, reply: Reply) -> list[Failure]:
    failures: list[Failure] = []
    answers = reply.kb_answers
    ids = [str(a.get("id")) for a in answers]
    if expect.kb_entry and not set(expect.kb_entry) & set(ids):
        wanted = " or ".join(expect.kb_entry)
        failures.append(
            Failure(
                "kb_entry", wanted, ", ".join(ids) if ids else "no kb_answer payload"
            )
        )
    if expect.kb_facet is not None:
        facets = [str(a.get("facet")) for a in answers]
        if expect.kb_facet not in facets:
            failures.append(
                Failure(
                    "kb_facet",
                    expect.kb_facet,
                    ", ".join(facets) or "no kb_answer payload",
                )
            )
    if expect.no_kb_answer is True and answers:
        failures.append(
            Failure(
                "no_kb_answer", "no kb_answer payload", f"kb_answer {', '.join(ids)}"
            )
        )
    if expect.no_kb_answer is False and not answers:
        failures.append(Failure("no_kb_answer", "a kb_answer payload", "none"))
    return failures


def _check_buttons(expect: Expectations, reply: Reply) -> list[Failure]:
    offered = [b.title for b in reply.buttons]
    if expect.buttons is None:
        return []
    if isinstance(expect.buttons, int):
        if len(offered) != expect.buttons:
            return [
                Failure(
                    "buttons",
                    f"{expect.buttons} button(s)",
                    f"{len(offered)}: {offered}" if offered else "no buttons",
                )
            ]
        return []
    have = {normalise_space(t).casefold() for t in offered}
    missing = [t for t in expect.buttons if normalise_space(t).casefold() not in have]
    if missing:
        return [
            Failure(
                "buttons",
                ", ".join(repr(t) for t in expect.buttons),
                ", ".join(repr(t) for t in offered) or "no buttons",
                _diff(list(expect.buttons), offered),
            )
        ]
    return []


def _check_position(expect: Expectations, reply: Reply) -> list[Failure]:
    failures: list[Failure] = []
    msgs = reply.messages
    labels = reply.labels()
    if expect.disclaimer is True and (not msgs or DISCLAIMER not in msgs[-1].names):
        failures.append(
            Failure(
                "disclaimer",
                f"{DISCLAIMER} as the last message",
                f"last message {labels[-1]}" if labels else "no messages",
            )
        )
    if expect.disclaimer is False and any(DISCLAIMER in m.names for m in msgs):
        failures.append(
            Failure("disclaimer", f"no {DISCLAIMER}", f"{DISCLAIMER} was sent")
        )
    if expect.urgent_first is True and (not msgs or URGENT not in msgs[0].names):
        failures.append(
            Failure(
                "urgent_first",
                f"{URGENT} as the first message",
                f"first message {labels[0]}" if labels else "no messages",
                _diff([URGENT], labels),
            )
        )
    if expect.urgent_first is False and any(URGENT in m.names for m in msgs):
        failures.append(Failure("urgent_first", f"no {URGENT}", f"{URGENT} was sent"))
    return failures


def _check_placeholders(reply: Reply) -> list[Failure]:
    """No message or button may show a ``{placeholder}`` (whatever the step expects)."""
    lines = [m.text for m in reply.messages if m.text] + [
        b.title for b in reply.buttons
    ]
    for line in lines:
        found = UNFILLED.search(line)
        if found:
            return [
                Failure(
                    "placeholder",
                    "every {placeholder} filled",
                    f"{found.group(0)} in {normalise_space(line)[:60]!r}",
                )
            ]
    return []


def check_reply(expect: Expectations, reply: Reply) -> list[Failure]:
    """Every way ``reply`` falls short of ``expect`` (empty list = step passed)."""
    if not reply.messages:
        if expect.silent:
            return []
        return [
            Failure(
                "reply",
                "the bot to answer",
                "no messages at all (the bot said nothing)",
            )
        ]
    if expect.silent:
        return [Failure("silent", "no messages", ", ".join(reply.labels()))]
    failures: list[Failure] = _check_placeholders(reply)
    for check in (
        _check_position,
        _check_responses,
        _check_kb,
        _check_buttons,
        _check_text,
    ):
        failures.extend(check(expect, reply))
    return failures


def find_button(buttons: Sequence[Button], ref: Any) -> Button | None:
    """The button a step refers to: 1-based number, or title (case and spacing ignored)."""
    if isinstance(ref, int):
        return buttons[ref - 1] if 1 <= ref <= len(buttons) else None
    wanted = normalise_space(str(ref)).casefold()
    for button in buttons:
        if normalise_space(button.title).casefold() == wanted:
            return button
    return None
