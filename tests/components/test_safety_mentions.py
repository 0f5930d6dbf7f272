"""Symptom as a topic versus a symptom now (issue 11), and the classifier-only red_flag
on a normal temperature reading.

A message that asks about a symptom as a side effect, negates it, reports a normal or
past reading, asks in general, reads out a scan report or is about the weather is not
escalated: it is marked ``safety.symptom_mention`` so the answer carries one line. A
symptom happening now still escalates.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import yaml
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.planning import DISCLAIMER, SAFETY_LINE, Part, Plan, with_safety_line
from bot.components.safety import (
    INTENT_RED_FLAG,
    SAFETY_KEY,
    SafetyIntentOverride,
    build_screen,
)
from bot.components.safety_lexicon import REPO_ROOT, default_lexicon
from bot.components.safety_screen import SafetyScreen
from bot.settings import clear_settings_cache

FRAMES = default_lexicon().frames.frames
FRAME_POSITIVE = [(f.id, t) for f in FRAMES for t in f.matches]
FRAME_NEGATIVE = [(f.id, t) for f in FRAMES for t in f.not_matches]
FALSE_ALARMS = yaml.safe_load(
    (REPO_ROOT / "tests" / "safety" / "false_alarms.yml").read_text(encoding="utf-8")
)["messages"]

# Still urgent: a symptom happening now, even worded like a question.
STILL_URGENT = [
    "I have a high temperature, is that common with temozolomide?",
    "is it normal to feel breathless and have chest pain after cisplatin?",
    "my temp is 38.5, is that a side effect of capecitabine?",
    "had a fever last week and it's still not gone",
    "what should I do, I've got a fever on chemo",
    "my husband has diarrhoea 8 times today, does capecitabine cause that?",
    "no fever but I'm shivering",
    "in general, is a temperature of 38 an emergency on chemo?",
    "what is happening, chest pain and can't breathe",
]

# A negated opening verb ("can't", "don't") states a symptom; it is not the "can
# capecitabine cause ...?" question that the topic frames read.
NEGATED_OPENINGS = [
    "can't get off the loo, on capecitabine",
    "cant get away from the toilet on FOLFOX",
    "don't feel right, been sick all day on cisplatin",
]

# Normal readings the trained classifier tended to send to red_flag.
NORMAL_READINGS = [
    "my temperature is 36.8",
    "temp 37.1",
    "temp was 36.8 this morning",
    "my temp is 36.9 today",
]
# Not withdrawn: something else than the reading is there, or nothing at all.
KEPT = [
    "my temperature is 36.8 but I feel awful",
    "temp 37.1 and shivering",
    "temp 36.8 and my chest hurts",
    "I have a temperature",
]


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    return build_screen()


@pytest.fixture(scope="module")
def component() -> SafetyIntentOverride:
    clear_settings_cache()
    full = SafetyIntentOverride.get_default_config()
    return SafetyIntentOverride.create(full, None, None, None)  # type: ignore[arg-type]


def classified(
    text: str, intent: str, ranking: List[str], confidence: float = 0.8
) -> Message:
    names = [intent] + [n for n in ranking if n != intent]
    data: Dict[str, Any] = {
        TEXT: text,
        INTENT: {"name": intent, "confidence": confidence},
        INTENT_RANKING_KEY: [
            {"name": n, "confidence": confidence / (i + 1)} for i, n in enumerate(names)
        ],
    }
    return Message(data=data)


@pytest.mark.parametrize("frame, text", FRAME_POSITIVE)
def test_frame_examples_are_not_escalated(
    screen: SafetyScreen, frame: str, text: str
) -> None:
    result = screen.screen(text)
    assert result.intent != INTENT_RED_FLAG, result
    # the first frame that applies is named (or a negation already did it)
    assert result.symptom_mention and (result.topic_frame or result.negated), result


@pytest.mark.parametrize("frame, text", FRAME_NEGATIVE)
def test_frame_counter_examples_escalate(
    screen: SafetyScreen, frame: str, text: str
) -> None:
    assert screen.screen(text).red_flags, (frame, text)


@pytest.mark.parametrize("text", STILL_URGENT)
def test_symptom_now_still_escalates(screen: SafetyScreen, text: str) -> None:
    assert screen.screen(text).red_flags


def test_false_alarm_suite_rate(screen: SafetyScreen) -> None:
    alarms = [m["text"] for m in FALSE_ALARMS if screen.screen(m["text"]).intent]
    alarms = [
        t
        for t in alarms
        if screen.screen(t).intent in {"red_flag", "red_flag_crisis", "crisis"}
    ]
    assert len(FALSE_ALARMS) >= 80
    # The gate of scripts/eval_safety.py for this suite (see mk/safety.mk).
    assert len(alarms) / len(FALSE_ALARMS) <= 0.05, alarms


@pytest.mark.parametrize(
    "text",
    [
        "is a high temperature common with temozolomide?",
        "does capecitabine cause diarrhoea?",
        "no fever at all",
        "temp was 36.8 this morning, all fine",
        "what should someone do if they get a fever on chemo?",
    ],
)
def test_symptom_mention_is_marked(component: SafetyIntentOverride, text: str) -> None:
    message = component.process([classified(text, "ask_side_effects", [])])[0]
    assert message.get(INTENT)["name"] == "ask_side_effects"
    assert message.get(SAFETY_KEY)["symptom_mention"] is True


def test_ordinary_question_is_not_marked(component: SafetyIntentOverride) -> None:
    message = component.process([classified("what is CAPTEM?", "ask_what_is", [])])[0]
    assert message.get(SAFETY_KEY) is None


@pytest.mark.parametrize("text", NORMAL_READINGS)
def test_classifier_red_flag_on_a_normal_reading_is_withdrawn(
    component: SafetyIntentOverride, text: str
) -> None:
    message = classified(text, INTENT_RED_FLAG, ["ask_side_effects", "out_of_scope"])
    message = component.process([message])[0]
    assert message.get(INTENT)["name"] == "ask_side_effects"
    safety = message.get(SAFETY_KEY)
    assert safety["reasons"] == ["normal_temperature_reading"]
    assert safety["symptom_mention"] is True
    names = [e["name"] for e in message.get(INTENT_RANKING_KEY)]
    assert INTENT_RED_FLAG not in names


@pytest.mark.parametrize("text", NEGATED_OPENINGS)
def test_negated_opening_is_not_a_question(screen: SafetyScreen, text: str) -> None:
    result = screen.screen(text)
    assert result.red_flags and result.topic_frame is None, result


def test_negated_opening_detection(screen: SafetyScreen) -> None:
    doc = screen._doc("can't get off the loo")
    assert screen._negated_opening(doc, 0)
    assert not screen._negated_opening(screen._doc("can capecitabine cause it"), 0)
    # the last token has nothing after it
    assert not screen._negated_opening(screen._doc("can"), 1)


@pytest.mark.parametrize("text", KEPT)
def test_classifier_red_flag_kept_otherwise(
    component: SafetyIntentOverride, text: str
) -> None:
    message = classified(text, INTENT_RED_FLAG, ["ask_side_effects"])
    assert component.process([message])[0].get(INTENT)["name"] == INTENT_RED_FLAG


# The screen finds evidence against a red flag the classifier alone chose.
RULED_OUT = [
    "thankfully no vomiting this cycle",  # every symptom word negated
    "had diarrhoea two weeks ago, all settled",  # every symptom word in the past
    "is a high temperature common with temozolomide?",  # a topic frame
    "no fever at all, just reading up on oxaliplatin",  # a negated red flag
    # the weather, and not a word about a symptom
    "it's 38 degrees in Perth today, any tips for staying cool on capecitabine?",
]
# No such evidence: the classifier's red flag stands whatever its confidence. A number
# read as something else is none when the message has any symptom word, or none of the
# weather: the rest may still say the person is unwell (and data/nlu/safety.yml has
# counter-examples so that the classifier learns better).
NO_EVIDENCE = [
    "I had chemo 36 hours ago",
    "it's 38 degrees in Madrid and I feel dreadful",
    "I had chemo 2 days ago and I'm not right",
    "been vomiting since yesterday",
    "my flatmate has food poisoning",
]


@pytest.mark.parametrize("text", RULED_OUT)
def test_screen_evidence_withdraws_an_unsure_classifier_red_flag(
    component: SafetyIntentOverride, text: str
) -> None:
    message = classified(text, INTENT_RED_FLAG, ["ask_side_effects"], confidence=0.85)
    assert component.screen.screen(text).rules_out_red_flag
    out = component.process([message])[0]
    assert out.get(INTENT)["name"] == "ask_side_effects"
    assert out.get(SAFETY_KEY)["symptom_mention"] is True
    assert INTENT_RED_FLAG not in [e["name"] for e in out.get(INTENT_RANKING_KEY)]


@pytest.mark.parametrize("text", RULED_OUT)
def test_a_confident_classifier_red_flag_stands(
    component: SafetyIntentOverride, text: str
) -> None:
    message = classified(text, INTENT_RED_FLAG, ["ask_side_effects"], confidence=0.95)
    assert component.process([message])[0].get(INTENT)["name"] == INTENT_RED_FLAG


@pytest.mark.parametrize("text", NO_EVIDENCE)
def test_classifier_red_flag_without_evidence_against_is_kept(
    component: SafetyIntentOverride, text: str
) -> None:
    assert not component.screen.screen(text).rules_out_red_flag
    message = classified(text, INTENT_RED_FLAG, ["ask_what_is"], confidence=0.55)
    assert component.process([message])[0].get(INTENT)["name"] == INTENT_RED_FLAG


def test_overrule_confidence_is_configurable() -> None:
    clear_settings_cache()
    config = dict(SafetyIntentOverride.get_default_config())
    config["classifier_overrules_screen_at"] = 0.5
    component = SafetyIntentOverride.create(config, None, None, None)  # type: ignore[arg-type]
    message = classified(RULED_OUT[0], INTENT_RED_FLAG, ["ask_what_is"])
    assert component.process([message])[0].get(INTENT)["name"] == INTENT_RED_FLAG


def test_safety_line_goes_before_the_disclaimer() -> None:
    plan = Plan([Part(text="answer"), Part(response=DISCLAIMER)], "captem", "what_is")
    parts = with_safety_line(plan).parts
    assert [p.response for p in parts] == [None, SAFETY_LINE, DISCLAIMER]


def test_safety_line_at_the_end_without_disclaimer() -> None:
    plan = Plan([Part(text="general text")], "captem", "what_is")
    assert with_safety_line(plan).parts[-1].response == SAFETY_LINE


def test_safety_line_is_a_domain_response() -> None:
    domain = yaml.safe_load(
        (REPO_ROOT / "bot" / "domain" / "safety.yml").read_text(encoding="utf-8")
    )
    text = domain["responses"][SAFETY_LINE][0]["text"]
    assert "{helpline}" in text


def test_small_talk_never_replaces_a_withdrawn_red_flag() -> None:
    clear_settings_cache()
    config = dict(SafetyIntentOverride.get_default_config())
    config["small_talk_intents"] = ["goodbye"]
    component = SafetyIntentOverride.create(config, None, None, None)  # type: ignore[arg-type]
    text = "had a temp last month, fine now"
    message = classified(text, INTENT_RED_FLAG, ["goodbye", "ask_side_effects"])
    assert component.process([message])[0].get(INTENT)["name"] == "ask_side_effects"


@pytest.mark.parametrize(
    "text, ruled_out",
    [
        ("no diarrhoea at all this cycle", True),
        ("not had any nausea", True),
        ("my son has diarrhoea, nobody here is on chemo", True),
        ("if i get diarrhoea what should i do", True),
        ("bit of diarrhoea today", False),
        ("no diarrhoea but the nausea is bad today", False),
    ],
)
def test_symptom_words_ruled_out(
    screen: SafetyScreen, text: str, ruled_out: bool
) -> None:
    result = screen.screen(text)
    assert result.symptom_words, result
    assert result.words_ruled_out is ruled_out, result
