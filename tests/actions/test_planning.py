"""Answer planning: which entry, which facet, honest fallbacks, disclaimer last."""

from __future__ import annotations

import pytest

from actions.planning import DISCLAIMER, plan_answer, plan_suggestions, refers_back


def texts(plan):
    return [p.text or p.response for p in plan.parts]


def ends_with_disclaimer(plan) -> bool:
    return plan.parts[-1].response == DISCLAIMER


@pytest.mark.parametrize(
    "intent, entities, expected_entry, facet",
    [
        ("ask_what_is", ["captem"], "captem", "what_is"),
        ("ask_is_chemo", ["somatostatin_analogues", "chemotherapy"],
         "somatostatin_analogues", "is_chemo"),
        ("ask_why_not_chemo", ["chemotherapy"], "why_not_chemo", "what_is"),
        ("ask_why_not_chemo", [], "why_not_chemo", "what_is"),
        ("ask_which_chemo", ["chemotherapy"], "which_chemo", "used_for"),
        ("ask_which_chemo", ["nec"], "nec", "used_for"),
        ("ask_how_given", ["temozolomide"], "temozolomide", "how_given"),
        ("ask_brand_name", ["capecitabine"], "capecitabine", "brand_names"),
        ("ask_does_chemo_work", ["chemotherapy", "net_basics"], "chemo_myth", "what_is"),
        ("ask_side_effects", [], "side_effects_general", "side_effects"),
        ("ask_what_is", ["chemotherapy"], "chemotherapy", "what_is"),
    ],
)  # fmt: skip
def test_picks_entry_and_facet(
    real_kb, intent, entities, expected_entry, facet
) -> None:
    plan = plan_answer(
        real_kb, intent, entities, text="a question with several words in it"
    )
    assert plan.kb_ids[0] == expected_entry
    assert plan.topic == expected_entry
    assert plan.facet == facet
    assert ends_with_disclaimer(plan)


def test_every_entry_and_facet_answers_with_source_and_disclaimer(real_kb) -> None:
    for entry in real_kb.entries.values():
        for intent in ("ask_what_is", "ask_is_chemo", "ask_how_given", "ask_side_effects",
                       "ask_brand_name", "ask_which_chemo"):  # fmt: skip
            plan = plan_answer(
                real_kb, intent, [entry.id], text="tell me about it please now"
            )
            assert ends_with_disclaimer(plan), (entry.id, intent)
            kb_parts = [p for p in plan.parts if p.entry is not None]
            if not kb_parts:  # only allowed where the KB holds no reviewed side effects
                assert intent == "ask_side_effects", (entry.id, intent)
                assert texts(plan) == ["utter_no_reviewed_side_effects", DISCLAIMER]
                continue
            assert kb_parts, (entry.id, intent)
            assert all(p.source in real_kb.sources for p in kb_parts)


def test_follow_ups_use_the_topic_under_discussion(real_kb) -> None:
    slots = {"topic": "captem", "facet": "what_is"}
    plan = plan_answer(
        real_kb, "ask_how_given", [], text="is it taken as tablets?", **slots
    )
    assert plan.kb_ids == ["captem"] and plan.facet == "how_given"
    plan = plan_answer(
        real_kb, "ask_brand_name", [], text="what's its brand name?", **slots
    )
    assert plan.kb_ids == ["captem"] and plan.facet == "brand_names"
    plan = plan_answer(
        real_kb, "ask_is_chemo", [], text="so is it chemo or not?", **slots
    )
    assert plan.kb_ids == ["captem"] and plan.facet == "is_chemo"


def test_followup_topic_keeps_the_last_facet(real_kb) -> None:
    plan = plan_answer(
        real_kb,
        "followup_topic",
        ["folfiri"],
        topic="folfox",
        facet="how_given",
        text="and FOLFIRI?",
    )
    assert plan.kb_ids == ["folfiri"] and plan.facet == "how_given"


def test_followup_without_topic_asks_which(real_kb) -> None:
    plan = plan_answer(real_kb, "followup_topic", [], text="and?")
    assert texts(plan) == ["utter_ask_which_topic"]


def test_unknown_topic_is_honest_and_points_to_the_team(real_kb) -> None:
    plan = plan_answer(
        real_kb, "ask_what_is", [], text="what is pembrolizumab used for in melanoma"
    )
    assert texts(plan) == ["utter_no_reviewed_info", DISCLAIMER]
    assert plan.kb_ids == []


def test_missing_side_effects_says_so(real_kb) -> None:
    entry = next(e for e in real_kb.entries.values() if "side_effects" not in e.facets)
    plan = plan_answer(
        real_kb, "ask_side_effects", [entry.id], text="side effects of this drug"
    )
    assert texts(plan) == ["utter_no_reviewed_side_effects", DISCLAIMER]
    assert plan.parts[0].values == {"title": entry.title}


def test_personal_advice_gives_general_info_only(real_kb) -> None:
    plan = plan_answer(
        real_kb, "ask_personal_advice", ["captem"], text="can I drink on captem"
    )
    assert plan.kb_ids == ["captem"]
    assert all(
        p.response is None for p in plan.parts
    )  # boundary + disclaimer come from the rule
    assert (
        plan_answer(real_kb, "ask_personal_advice", [], text="how long do I have").parts
        == []
    )


def test_refers_back() -> None:
    assert refers_back("is it a tablet?")
    assert refers_back("brand name?")
    assert not refers_back("what are the usual side effects of chemotherapy drugs")


def test_suggestions_for_a_named_topic(real_kb) -> None:
    ranking = [
        {"name": "ask_how_given", "confidence": 0.4},
        {"name": "ask_what_is", "confidence": 0.3},
        {"name": "greet", "confidence": 0.2},
        {"name": "ask_is_chemo", "confidence": 0.1},
    ]
    out = plan_suggestions(real_kb, ranking, ["captem"], None)
    assert [s.payload for s in out] == [
        '/ask_how_given{"kb_term": "captem"}',
        '/ask_what_is{"kb_term": "captem"}',
        '/ask_is_chemo{"kb_term": "captem"}',
    ]
    assert out[0].label == "how_given"


def test_suggestions_without_topic(real_kb) -> None:
    ranking = [
        {"name": "ask_why_not_chemo"},
        {"name": "ask_how_given"},
        {"name": "ask_does_chemo_work"},
    ]
    out = plan_suggestions(real_kb, ranking, [], None)
    assert [s.payload for s in out] == ["/ask_why_not_chemo", "/ask_does_chemo_work"]
    assert plan_suggestions(real_kb, [{"name": "greet"}], [], None) == []


def test_fixed_topic_question_adds_the_named_topics_use(real_kb) -> None:
    plan = plan_answer(
        real_kb, "ask_why_not_chemo", ["pancreatic_net", "chemotherapy"],
        text="just diagnosed with a pancreatic NET, will I need chemo?",
    )  # fmt: skip
    assert plan.kb_ids == ["why_not_chemo", "pancreatic_net"]
    assert [p.facet for p in plan.parts if p.entry] == ["what_is", "used_for"]
    assert ends_with_disclaimer(plan)


def test_missing_facet_of_a_concept_answers_without_apology(real_kb) -> None:
    plan = plan_answer(
        real_kb,
        "ask_how_given",
        ["captem_prrt_trial"],
        text="can they be given together",
    )
    assert plan.kb_ids == ["captem_prrt_trial"]
    assert "utter_no_reviewed_facet" not in texts(plan)


def test_pronoun_follow_up_beats_the_broad_default(real_kb) -> None:
    plan = plan_answer(
        real_kb, "ask_is_chemo", ["chemotherapy"], topic="folfox", text="is it chemo?"
    )
    assert plan.kb_ids == ["folfox"] and plan.facet == "is_chemo"
    plan = plan_answer(
        real_kb, "ask_is_chemo", ["chemotherapy"], text="what counts as chemo"
    )
    assert plan.kb_ids == ["chemo_vs_targeted"]


def test_concepts_are_offered_under_their_own_title(real_kb) -> None:
    ranking = [{"name": "ask_is_chemo"}, {"name": "ask_how_given"}]
    out = plan_suggestions(real_kb, ranking, ["future_of_chemo"], None)
    assert [(s.label, s.payload) for s in out] == [
        ("topic", '/ask_what_is{"kb_term": "future_of_chemo"}')
    ]


def test_unlikely_readings_are_not_offered_and_drugs_get_the_common_questions(
    real_kb,
) -> None:
    ranking = [
        {"name": "ask_is_chemo", "confidence": 0.4},
        {"name": "ask_side_effects", "confidence": 0.05},
    ]
    out = plan_suggestions(real_kb, ranking, ["folfox"], None)
    assert [s.label for s in out] == [
        "is_chemo",
        "what_is",
        "how_given",
    ]
    lasagne = [
        {"name": "out_of_scope", "confidence": 0.5},
        {"name": "ask_which_chemo", "confidence": 0.02},
    ]
    assert plan_suggestions(real_kb, lasagne, [], None) == []


@pytest.mark.parametrize(
    "entities",
    [
        ["capecitabine", "temozolomide", "chemotherapy"],
        ["somatostatin_analogues", "everolimus", "chemotherapy"],
        ["prrt", "tace"],
    ],
)
def test_two_topics_both_chemo_get_both_is_chemo_facets(real_kb, entities) -> None:
    """'Are X and Y both chemo?' answers whether each one is chemo, in the order named."""
    plan = plan_answer(
        real_kb, "ask_is_chemo", entities, text="are these two both chemo?"
    )
    named = [e for e in entities if e != "chemotherapy"]
    kb_parts = [p for p in plan.parts if p.entry is not None]
    assert [p.entry.id for p in kb_parts] == named
    assert {p.facet for p in kb_parts} == {"is_chemo"}
    assert all(p.text for p in kb_parts)
    assert ends_with_disclaimer(plan)
