"""The spaCy KB-term matcher: every KB term, brands, abbreviations, spacing and misspellings."""

from __future__ import annotations

from typing import List

import pytest

from bot.components.term_matching import (
    TermMatcher,
    damerau_levenshtein,
    fuzzy_limit,
)


@pytest.fixture(scope="module")
def matcher(real_kb) -> TermMatcher:
    return TermMatcher(real_kb)


def ids(matcher: TermMatcher, text: str) -> List[str]:
    return matcher.entry_ids(text)


def test_every_kb_term_is_recognised_in_a_sentence(matcher, real_kb) -> None:
    missed = []
    for entry in real_kb.entries.values():
        for term, _kind in entry.terms():
            found = ids(matcher, f"can you tell me about {term} please")
            if entry.id not in found:
                missed.append((entry.id, term, found))
    assert missed == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("what is CAPTEM?", ["captem"]),
        ("what is captim", ["captem"]),  # misspelling listed in the KB
        ("is xeloda the same as capecitabine", ["capecitabine"]),
        # the pair is a name of the combination, which answers "what's the difference"
        ("whats the difference between capecitabine and temozolomide", ["captem"]),
        (
            "is capecitabine stronger than temozolomide",
            ["capecitabine", "temozolomide"],
        ),
        ("is temodal a tablet", ["temozolomide"]),
        ("what is 5fu", ["fluorouracil"]),
        ("what is 5-FU", ["fluorouracil"]),
        ("what is 5 fu", ["fluorouracil"]),
        (
            "is sandostatin a chemotherapy drug?",
            ["somatostatin_analogues", "chemotherapy"],
        ),
        (
            "is lanreotid chemo",
            ["somatostatin_analogues", "chemotherapy"],
        ),  # typo, not listed
        ("temozolomyde side effects", ["temozolomide"]),  # typo, not listed
        ("oxaliplatine and cisplaten", ["oxaliplatin", "cisplatin"]),
        ("what's a MiNEN", ["minen"]),
        ("my ki 67 is 30", ["grading_ki67"]),
        ("can chemo and PRRT be given together", ["captem_prrt_trial"]),
        ("tell me about the dumpling thing", ["intraoperative_chemo"]),
    ],
)
def test_recognises(matcher, text: str, expected: List[str]) -> None:
    assert ids(matcher, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hello there",
        "thank you so much, this helped",
        "what's the weather like",
        "",
        "   ",
    ],
)
def test_plain_messages_have_no_terms(matcher, text: str) -> None:
    assert ids(matcher, text) == []


def test_spans_and_match_kinds(matcher) -> None:
    text = "is captim a tablet?"
    (match,) = matcher.find(text)
    assert text[match.start : match.end] == "captim"
    assert match.how == "exact" and match.confidence == 1.0
    (fuzzy,) = matcher.find("is temozolomyde a tablet?")
    assert fuzzy.how == "fuzzy" and fuzzy.confidence < 1.0


def test_span_never_includes_trailing_punctuation(matcher) -> None:
    text = "my dad has neuroendocrine carcinoma, what now"
    (match,) = matcher.find(text)
    assert match.text == "neuroendocrine carcinoma"


def test_edit_distance() -> None:
    assert damerau_levenshtein("captem", "captim", 2) == 1
    assert damerau_levenshtein("captem", "catpem", 2) == 1  # transposition
    assert damerau_levenshtein("abc", "xyz12345", 2) == 3  # stops early past the limit
    assert fuzzy_limit(4) == 0 and fuzzy_limit(6) == 1 and fuzzy_limit(12) == 2


def test_markup_does_not_hide_terms(matcher) -> None:
    text = "<b>what is CAPTEM?</b>"
    (match,) = matcher.find(text)
    assert match.entry_id == "captem" and text[match.start : match.end] == "CAPTEM"


@pytest.mark.parametrize(
    "text, brand",
    [
        ("is xeloda a tablet", True),
        ("what is Sandostatin LAR", True),
        ("is affinitor a tablet", True),  # a listed misspelling nearest the brand
        ("what is temodoll", True),  # a fuzzy match of a brand
        ("what is capecitabine", False),
        ("is temozolamide a tablet", False),  # a misspelling of the generic name
        ("what is TMZ", False),  # an abbreviation is not a brand
        ("what is a netspot scan", False),  # no brand answer in that entry
    ],
)
def test_brand_names(matcher, text: str, brand: bool) -> None:
    (match,) = matcher.find(text)
    assert matcher.is_brand(match) is brand
