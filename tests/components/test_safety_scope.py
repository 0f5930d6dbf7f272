"""Past and hypothetical clause scopes (config/safety/scopes.yml, issue 11).

A symptom told as past history ("last year I had a fever during chemo") or asked about
in an "if" clause ("what should I do if my PICC line ever gets red?") is not escalated:
the message is marked ``symptom_mention`` (knowledge answer plus the one-line safety
reminder). A symptom happening now, in the same message or not, still escalates, and
crisis wording is never scoped.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest

from bot.components.safety import INTENT_RED_FLAG, build_screen
from bot.components.safety_lexicon import default_lexicon
from bot.components.safety_screen import (
    INTENT_CRISIS,
    INTENT_RED_FLAG_CRISIS,
    TEMPERATURE_REASON,
    SafetyScreen,
)
from bot.components.safety_text import normalise_text

SCOPES = default_lexicon().scopes
NOT_ESCALATED = (
    list(SCOPES.past_examples.matches)
    + list(SCOPES.hypothetical_examples.matches)
    + list(SCOPES.other_examples.matches)
)
ESCALATED = (
    list(SCOPES.past_examples.not_matches)
    + list(SCOPES.hypothetical_examples.not_matches)
    + list(SCOPES.other_examples.not_matches)
)
ALARMS = {INTENT_RED_FLAG, INTENT_RED_FLAG_CRISIS, INTENT_CRISIS}


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    return build_screen()


@pytest.mark.parametrize("text", NOT_ESCALATED)
def test_scoped_symptoms_are_not_escalated(screen: SafetyScreen, text: str) -> None:
    result = screen.screen(text)
    assert result.intent not in ALARMS, result
    assert result.symptom_mention, result


@pytest.mark.parametrize("text", ESCALATED)
def test_symptoms_now_still_escalate(screen: SafetyScreen, text: str) -> None:
    assert screen.screen(text).intent in ALARMS


def test_enough_examples() -> None:
    assert len(SCOPES.past_examples.matches) >= 5
    assert len(SCOPES.hypothetical_examples.matches) >= 5
    assert len(SCOPES.other_examples.matches) >= 5
    assert len(ESCALATED) >= 10


@pytest.mark.parametrize(
    "text, frame",
    [
        (
            "last year I had a fever during chemo, will it happen on CAPTEM?",
            "past_scope",
        ),
        ("what should I do if my PICC line ever gets red?", "hypothetical_scope"),
    ],
)
def test_scope_is_named(screen: SafetyScreen, text: str, frame: str) -> None:
    assert screen.screen(text).topic_frame == frame


def test_only_the_past_clause_is_scoped(screen: SafetyScreen) -> None:
    result = screen.screen("I had a DVT in 2021, but my chest hurts and I'm breathless")
    assert "clot" in result.mentioned
    assert set(result.red_flags) >= {"chest", "breathing"}


def test_past_reading_is_not_escalated_but_a_reading_now_is(
    screen: SafetyScreen,
) -> None:
    past = screen.screen("I had a temperature of 38.5 back in March, fine since")
    assert TEMPERATURE_REASON not in past.red_flags
    now = screen.screen("I had a fever back in March, today it is 38.5")
    assert TEMPERATURE_REASON in now.red_flags


def test_hypothetical_reading_still_escalates(screen: SafetyScreen) -> None:
    result = screen.screen("if my temperature is 38.5, who do I call?")
    assert TEMPERATURE_REASON in result.red_flags


@pytest.mark.parametrize(
    "text",
    [
        "I tried to kill myself last year and I'm thinking about it again",
        "if the scan is bad I'm going to take my own life, what do you think?",
    ],
)
def test_crisis_is_never_scoped(screen: SafetyScreen, text: str) -> None:
    assert screen.screen(text).crisis


def test_a_recent_anchor_needs_a_resolution(screen: SafetyScreen) -> None:
    resolved = "had a nosebleed last week, it stopped after a minute"
    assert screen.screen(resolved).intent not in ALARMS
    assert screen.screen("had a nosebleed last week").intent in ALARMS
    # negated, the resolution does not count
    assert (
        screen.screen("had a nosebleed last week, it hasn't stopped").intent in ALARMS
    )


def _clauses(screen: SafetyScreen, text: str) -> List[Tuple[str, ...]]:
    doc = screen._doc(normalise_text(text), sentinel=False)
    checker = screen._scope
    return [tuple(t.text for t in doc[s:e]) for s, e in checker.clauses(doc)]


def test_clauses_split_at_punctuation_and_but(screen: SafetyScreen) -> None:
    assert _clauses(screen, "had a fever in 2021, fine now but my leg hurts") == [
        ("had", "a", "fever", "in", "2021"),
        ("fine", "now"),
        ("my", "leg", "hurts"),
    ]


# -- negation inside a match and someone else's relative (screen engine) ---------------
@pytest.mark.parametrize(
    "text",
    ["my legs aren't swollen", "my calf is not red or sore", "his face isn't swollen"],
)
def test_negation_inside_a_match(screen: SafetyScreen, text: str) -> None:
    result = screen.screen(text)
    assert not result.red_flags and result.negated, result


@pytest.mark.parametrize(
    "text", ["I can't breathe", "my diarrhoea won't stop", "he's just not right"]
)
def test_a_negation_the_pattern_needs_is_not_a_negation(
    screen: SafetyScreen, text: str
) -> None:
    assert screen.screen(text).red_flags


@pytest.mark.parametrize(
    "text, first_person",
    [
        ("their husband went yellow", False),
        ("a mum at the clinic had a fever", False),
        ("my husband went yellow", True),
        ("her husband has a fever", True),  # "her" is someone the user knows
        ("what is CAPTEM?", False),
    ],
)
def test_someone_elses_relative_is_not_first_person(
    screen: SafetyScreen, text: str, first_person: bool
) -> None:
    assert screen._first_person(screen._doc(normalise_text(text))) is first_person


def test_third_party_story_is_not_escalated(screen: SafetyScreen) -> None:
    text = (
        "someone on facebook said their husband went yellow on chemo, is that common?"
    )
    assert screen.screen(text).intent not in ALARMS


def test_a_quotation_is_one_clause(screen: SafetyScreen) -> None:
    assert _clauses(screen, "the letter says 'no fever, no bleeding', what now") == [
        ("the", "letter", "says", "'", "no", "fever", ",", "no", "bleeding", "'"),
        ("what", "now"),
    ]
    # a lone apostrophe (a possessive) quotes nothing
    assert _clauses(screen, "my parents' house, I have a fever") == [
        ("my", "parents", "'", "house"),
        ("i", "have", "a", "fever"),
    ]


def test_a_lead_in_scopes_the_next_clause(screen: SafetyScreen) -> None:
    # "just in case," opens the question that follows it
    assert (
        screen.screen("just in case, what should I do about a nosebleed?").intent
        not in ALARMS
    )
    # stated as happening: still escalated
    assert screen.screen("just in case, I'm bleeding from my gums").intent in ALARMS


@pytest.mark.parametrize(
    "text",
    [
        "I don't have a fever or chills",
        "no fever, no sickness",
        "zero temperature and zero sickness",
        "no fits or seizures since I started",
    ],
)
def test_a_negated_list_is_negated_as_a_whole(screen: SafetyScreen, text: str) -> None:
    # the other symptoms of the list do not use up the negation window
    result = screen.screen(text)
    assert not result.red_flags, result


@pytest.mark.parametrize(
    "text",
    [
        "no fever but I have chills",
        "there's no blood in my stool but my nose is bleeding",
        "zero energy and a fever",
    ],
)
def test_a_symptom_outside_the_negated_list_escalates(
    screen: SafetyScreen, text: str
) -> None:
    assert screen.screen(text).red_flags


# -- someone else, not on treatment ----------------------------------------------------
def test_someone_not_on_treatment_is_named_and_only_their_clause(
    screen: SafetyScreen,
) -> None:
    text = "my son has a temp of 38.6, nobody here is on chemo"
    result = screen.screen(text)
    assert result.intent not in ALARMS and result.topic_frame == "other_scope", result
    # the user's own symptom in another clause still escalates
    mine = screen.screen(
        "my son has a fever, nobody here is on chemo, but I'm shivering"
    )
    assert mine.intent in ALARMS, mine


def test_only_the_listed_categories_are_withdrawn(screen: SafetyScreen) -> None:
    result = screen.screen("my dad has chest pain, he's not on any treatment")
    assert "chest" in result.red_flags, result
    assert "chest" not in SCOPES.other_categories


def test_a_child_cause_needs_no_treatment_word(screen: SafetyScreen) -> None:
    assert screen.screen("my kid has a nosebleed after a fall").intent not in ALARMS
    assert (
        screen.screen(
            "my kid has a nosebleed after a fall, his platelets are low"
        ).intent
        in ALARMS
    )
