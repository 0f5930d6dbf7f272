"""Matching logic: naming messages from the domain, and each kind of expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from convtest.checks import Button, Reply, check_reply, find_button
from convtest.domain import ResponseCatalog
from convtest.script import Expectations

DISCLAIMER = "This is general information, not medical advice."
URGENT = "This could be urgent. Call {helpline} now, day or night."
BOUNDARY = "I can't advise on your own treatment. If you feel unwell, call {helpline}."


@pytest.fixture()
def catalog() -> ResponseCatalog:
    return ResponseCatalog.from_responses(
        {
            "utter_disclaimer": [{"text": DISCLAIMER}],
            "utter_urgent_red_flag": [{"text": URGENT}],
            "utter_personal_boundary": [{"text": BOUNDARY}],
            "utter_greet": [{"text": "Hello."}, {"text": "Hi there,\n  {name}!"}],
            "utter_offer_topics": [{"text": "Did you mean one of these?"}],
            "utter_image_only": [{"image": "x.png"}],
        }
    )


def msg(text: str) -> dict[str, Any]:
    return {"recipient_id": "u", "text": text}


def kb(entry: str, facet: str = "what_is") -> dict[str, Any]:
    return {"recipient_id": "u", "custom": {"kb_answer": {"id": entry, "facet": facet}}}


def answer(catalog: ResponseCatalog, *items: dict[str, Any]) -> Reply:
    return Reply.from_rest(list(items), catalog)


def checks(expect: Expectations, reply: Reply) -> list[str]:
    return [f.check for f in check_reply(expect, reply)]


def test_catalog_names_texts_with_placeholders_and_spacing(
    catalog: ResponseCatalog,
) -> None:
    assert catalog.names_for("This could be urgent. Call 111 now, day or night.") == {
        "utter_urgent_red_flag"
    }
    assert catalog.names_for("Hi there, Sam!") == {"utter_greet"}
    assert catalog.names_for("  Hello.  ") == {"utter_greet"}
    assert catalog.names_for("Hello. And more") == frozenset()
    assert catalog.names_for("Hi there,") == frozenset()
    assert "utter_image_only" in catalog.names


def test_known_values_are_matched_exactly() -> None:
    """Settings values are filled as the bot fills them: an unfilled reply matches nothing."""
    catalog = ResponseCatalog.from_responses(
        {"utter_urgent_red_flag": [{"text": URGENT}]}, known={"helpline": "0800 1"}
    )
    assert catalog.names_for("This could be urgent. Call 0800 1 now, day or night.")
    assert not catalog.names_for("This could be urgent. Call 111 now, day or night.")
    assert not catalog.names_for(URGENT)


def test_values_only_the_sender_knows_keep_every_word_in_order() -> None:
    catalog = ResponseCatalog.from_responses(
        {"utter_q": [{"text": "About {title}:\n\n{questions}\n\nTap a button."}]}
    )
    assert catalog.names_for("About CAPTEM: 1. Why? 2. When? Tap a button.")
    assert catalog.names_for("About CAPTEM:\n\n1. Why?\n\nTap   a button.")
    assert not catalog.names_for("About CAPTEM: 1. Why? Tap a button. And more")
    assert not catalog.names_for("Tap a button. About CAPTEM:")


def test_channel_variants_for_other_channels_are_left_out() -> None:
    catalog = ResponseCatalog.from_responses(
        {
            "utter_saved": [
                {"text": "Saved. Type my questions."},
                {"channel": "telegram", "text": "Saved. Send /questions."},
                {"channel": "collector", "text": "Saved over REST."},  # Rasa's name
            ]
        }
    )
    assert catalog.names_for("Saved. Type my questions.") == {"utter_saved"}
    assert catalog.names_for("Saved over REST.") == {"utter_saved"}
    assert catalog.names_for("Saved. Send /questions.") == frozenset()


def test_a_carried_response_name_wins_over_the_text(catalog: ResponseCatalog) -> None:
    reply = answer(catalog, {"text": "Hello.", "response": "utter_goodbye"})
    assert reply.messages[0].names == {"utter_goodbye"}


def test_the_real_domain_is_named_with_the_real_settings() -> None:
    from bot import responses

    root = Path(__file__).resolve().parents[1]
    catalog = ResponseCatalog.from_domain(root / "bot" / "domain")
    urgent = responses.text("utter_urgent_red_flag")
    assert catalog.names_for(urgent) == {"utter_urgent_red_flag"}
    side_effects = responses.text("utter_no_reviewed_side_effects", title="CAPTEM")
    assert catalog.names_for(side_effects) == {"utter_no_reviewed_side_effects"}
    assert catalog.names_for(responses.text("utter_greet", "telegram")) == frozenset()


def test_catalog_reads_domain_folder(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nresponses:\n  utter_a:\n    - text: >-\n        one\n        two\n'
    )
    (tmp_path / "b.yml").write_text('version: "3.1"\nintents: [greet]\n')
    catalog = ResponseCatalog.from_domain(tmp_path)
    assert catalog.names_for("one two") == {"utter_a"}
    (tmp_path / "c.yml").write_text("responses: [\n")
    with pytest.raises(ValueError, match="c.yml"):
        ResponseCatalog.from_domain(tmp_path)


def test_reply_parses_rest_payload(catalog: ResponseCatalog) -> None:
    reply = answer(
        catalog,
        msg("CAPTEM is a combination."),
        kb("captem"),
        {
            "recipient_id": "u",
            "text": "Did you mean one of these?",
            "buttons": [{"title": "What is CAPTEM?", "payload": "/ask_what_is"}],
        },
        msg(DISCLAIMER),
    )
    assert reply.labels() == [
        '"CAPTEM is a combination."',
        "[kb_answer captem]",
        "utter_offer_topics",
        "utter_disclaimer",
    ]
    assert reply.buttons == (Button("What is CAPTEM?", "/ask_what_is"),)
    assert "What is CAPTEM?" in reply.full_text()
    with pytest.raises(ValueError):
        Reply.from_rest({"text": "x"}, catalog)


def test_substantive_answer_passes_all_checks(catalog: ResponseCatalog) -> None:
    reply = answer(
        catalog,
        msg("CAPTEM is two drugs taken as tablets."),
        kb("captem", "how_given"),
        msg(DISCLAIMER),
    )
    expect = Expectations(
        responses=("utter_disclaimer",),
        not_responses=("utter_urgent_red_flag",),
        contains=("TABLETS", "two  drugs"),
        not_contains=("injection",),
        matches=(r"capt\w+",),
        not_matches=(r"\d+\s*(mg|milligram)",),
        kb_entry=("folfiri", "captem"),
        kb_facet="how_given",
        buttons=0,
        disclaimer=True,
        urgent_first=False,
        no_kb_answer=False,
    )
    assert check_reply(expect, reply) == []


def test_each_expectation_can_fail(catalog: ResponseCatalog) -> None:
    reply = answer(catalog, msg("Take 500 mg twice a day."), msg("Hello."))
    expect = Expectations(
        responses=("utter_urgent_red_flag", "utter_disclaimer"),
        not_responses=("utter_greet",),
        contains=("specialist",),
        not_contains=("twice",),
        matches=("oncolog",),
        not_matches=(r"\d+\s*(mg|milligram)",),
        kb_entry=("captem",),
        kb_facet="how_given",
        buttons=("What is CAPTEM?",),
        disclaimer=True,
        urgent_first=True,
        no_kb_answer=False,
    )
    failures = check_reply(expect, reply)
    assert [f.check for f in failures] == [
        "disclaimer",
        "urgent_first",
        "responses",
        "not_responses",
        "kb_entry",
        "kb_facet",
        "no_kb_answer",
        "buttons",
        "contains",
        "not_contains",
        "matches",
        "not_matches",
    ]
    by_check = {f.check: f for f in failures}
    assert by_check["not_matches"].actual == "found '500 mg'"
    assert by_check["kb_entry"].actual == "no kb_answer payload"
    assert by_check["disclaimer"].actual == "last message utter_greet"
    assert "- utter_urgent_red_flag" in by_check["responses"].diff
    assert '+ "Take 500 mg twice a day."' in by_check["responses"].diff


def test_responses_must_appear_in_order_with_others_between(
    catalog: ResponseCatalog,
) -> None:
    reply = answer(
        catalog,
        msg(URGENT.replace("{helpline}", "111")),
        msg("KB text"),
        msg(DISCLAIMER),
    )
    assert (
        checks(
            Expectations(responses=("utter_urgent_red_flag", "utter_disclaimer")), reply
        )
        == []
    )
    assert checks(
        Expectations(responses=("utter_disclaimer", "utter_urgent_red_flag")), reply
    ) == ["responses"]


def test_position_checks(catalog: ResponseCatalog) -> None:
    urgent = msg("This could be urgent. Call 111 now, day or night.")
    good = answer(catalog, urgent, msg(DISCLAIMER))
    late = answer(catalog, msg("Fever can be serious."), urgent, msg(DISCLAIMER))
    assert checks(Expectations(urgent_first=True, disclaimer=True), good) == []
    assert checks(Expectations(urgent_first=True), late) == ["urgent_first"]
    assert checks(Expectations(urgent_first=False), late) == ["urgent_first"]
    assert checks(Expectations(disclaimer=False), good) == ["disclaimer"]
    # the disclaimer must be LAST, not just present
    assert checks(
        Expectations(disclaimer=True), answer(catalog, msg(DISCLAIMER), urgent)
    ) == ["disclaimer"]


def test_no_kb_answer_and_button_count(catalog: ResponseCatalog) -> None:
    reply = answer(
        catalog,
        {
            "recipient_id": "u",
            "text": "Did you mean one of these?",
            "buttons": [
                {"title": "A", "payload": "/a"},
                {"title": "B", "payload": "/b"},
            ],
        },
        kb("captem"),
    )
    assert checks(Expectations(no_kb_answer=True), reply) == ["no_kb_answer"]
    assert checks(Expectations(buttons=2), reply) == []
    assert checks(Expectations(buttons=3), reply) == ["buttons"]
    assert checks(Expectations(buttons=("a", "b")), reply) == []


def test_empty_reply_fails_unless_silent_expected(catalog: ResponseCatalog) -> None:
    empty = answer(catalog)
    assert checks(Expectations(), empty) == ["reply"]
    assert checks(Expectations(silent=True), empty) == []
    assert checks(Expectations(silent=True), answer(catalog, msg("Hello."))) == [
        "silent"
    ]


def test_find_button_by_number_or_title() -> None:
    buttons = (Button("What is CAPTEM?", "/a"), Button("None of these", "/b"))
    assert find_button(buttons, 2) == buttons[1]
    assert find_button(buttons, 3) is None
    assert find_button(buttons, "what is  captem?") == buttons[0]
    assert find_button(buttons, "Other") is None


def test_placeholder_only_messages_do_not_name_every_text() -> None:
    catalog = ResponseCatalog.from_responses(
        {
            "utter_topic": [{"text": "{title}"}],
            "utter_what": [{"text": "What is {title}?"}],
        }
    )
    assert catalog.names_for("anything at all") == frozenset()
    assert catalog.names_for("What is CAPTEM?") == frozenset({"utter_what"})


def test_an_unfilled_placeholder_fails_any_step(catalog: ResponseCatalog) -> None:
    reply = answer(catalog, msg("Please call {helpline} now."), msg(DISCLAIMER))
    assert checks(Expectations(), reply) == ["placeholder"]
    buttons = answer(
        catalog,
        {"recipient_id": "u", "text": "Pick", "buttons": [{"title": "About {title}"}]},
    )
    assert checks(Expectations(), buttons) == ["placeholder"]
    json_payload = answer(
        catalog,
        {
            "recipient_id": "u",
            "text": "Ok",
            "buttons": [{"title": "Ok", "payload": '/x{"a":1}'}],
        },
    )
    assert checks(Expectations(), json_payload) == []
