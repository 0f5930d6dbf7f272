"""Tests for the deterministic safety layer (bot/components/safety.py).

Messages arrive as they would after the trained classifier and FallbackClassifier: with
an intent and a ranking already set. The component must force ``red_flag`` / ``crisis`` /
``ask_personal_advice`` / ``other_language`` where a rule applies, withdraw a classifier's
``red_flag`` / ``crisis`` on a message with no content words, and leave everything else
untouched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import pytest
from rasa.shared.core.events import UserUttered
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA

from bot.components.safety import (
    INTENT_CRISIS,
    INTENT_OTHER_LANGUAGE,
    INTENT_PERSONAL_ADVICE,
    INTENT_RED_FLAG,
    INTENT_RED_FLAG_CRISIS,
    SAFETY_KEY,
    SafetyIntentOverride,
    SafetyScreen,
    normalise_text,
)
from bot.settings import clear_settings_cache

CLASSIFIED = "ask_what_is"

RED_FLAGS = [
    # fever and temperature readings, C and F, with and without units
    "I have a fever",
    "I think I've got a high temperature",
    "my temperature is 38.3",
    "38.3",
    "38",
    "it's 38",
    "38,3",
    "temp is 38.3c",
    "it says 38.3°C on the thermometer",
    "38.5ºC",
    "101F",
    "my temp is 100.4 f",
    "temp of 39",
    "temperature 38",
    "fever of 38.1 after cycle 2",
    "39.2 degrees",
    "I have a temp",
    "temp:38.6",
    "I feel hot and shivery",
    "I feel shivery after my chemo",
    "he keeps shivering and can't get warm",
    "I've got the chills",
    "she's having rigors",
    # carers
    "my husband has a temperature of 38.5",
    "My husband has a temperature of 38.5 and he's shivering",
    "my daughter has a temperature",
    "my mum is struggling to breathe",
    "my dad is confused",
    "my wife is very poorly after chemo",
    # feeling unwell
    "I feel suddenly very unwell after my treatment",
    "feeling really unwell during chemo",
    # breathing, chest
    "I'm short of breath",
    "I can't breathe properly",
    "cant breath",
    "I feel breathles",
    "I have chest pain",
    "my chest feels tight",
    "pain in my chest since taking capecitabine",
    "I've got palpitations",
    # bleeding, bruising
    "I have a nosebleed that won't stop",
    "there's blood in my poo",
    "blood in his wee",
    "I'm coughing up blood",
    "I've been vomiting blood",
    "I'm bleeding",
    "bleding gums",
    "I have a lot of unusual bruising",
    "brusing on my arms",
    # vomiting / diarrhoea that won't stop
    "I keep vomiting",
    "diarrhoea that won't stop",
    "diarhoea 6 times today",
    "I have diarrea and it won't stop",
    "diahrea all night",
    "I've been sick all day",
    "I can't keep any fluids down",
    "vomitting non stop",
    "can't stop being sick",
    "I keep being sick",
    "threw up 5 times",
    "I've had the runs all day",
    # confusion, collapse, severe pain
    "he is confussed and drowsy",
    "she passed out",
    "I'm in severe pain",
    "severe stomach pain",
    "the pain is unbearable",
    "he's confused, is that normal?",
    "my dad seems a bit confused today",
    "my poo is black",
    "tiny red spots on my legs",
    "the diarrhoea hasn't stopped for 2 days",
    "I think I have an infection",
    # misspellings
    "feaver and sore throat",
    "temprature 38.2",
    "tempreture of 38",
    "he feels shivvery",
    # other languages
    "J'ai de la fièvre",
    "tengo fiebre",
    "Ich habe Fieber",
    "ho la febbre",
    "estou com febre",
    "ik heb koorts",
    "gorączka 39",
    "dolor en el pecho",
    "douleur thoracique",
    "Atemnot",
    "Blut im Stuhl",
    "我发烧了",
    # conversation-suite findings: eating / drinking, lines, urine, clots, jaundice,
    # allergic reactions
    "mouth ulcers so bad I can't eat or drink",
    "I'm unable to drink",
    "I can't keep anything down",
    "I can't swallow fluids",
    "my mouth is so sore I can't swallow",
    "my PICC line site is red and hot",
    "my port is leaking",
    "the skin around my picc is swollen",
    "my hickman line is oozing",
    "not peed all day",
    "I haven't peed all day and feel dizzy",
    "he hasn't had a wee since yesterday",
    "there's no urine in his catheter bag",
    "my leg is swollen and painful on one side",
    "my skin and eyes have gone yellow",
    "my wife's lips are swelling up after the oxaliplatin drip",
    # markup around the words
    "<i>fever</i> of 38.5",
    "<b>I have a fever</b>",
    "temp=38.5",
]

NOT_RED_FLAGS = [
    "what is CAPTEM",
    "ki67 of 30 percent is that grade 3",
    "day 5 of my cycle, is it normal to feel tired?",
    "I am 38 years old, can I have capecitabine?",
    "grade 3 NEC",
    "what is 5fu",
    "is chemo given for 38 weeks",
    "my ki67 is 38%",
    "what are the side effects of capecitabine",
    "does temozolomide cause diarrhoea?",
    "how is CAPTEM given",
    "how many cycles of CAPTEM do people have, 6?",
    "lanreotide 120 mg injection every 28 days",
    "my blood test results were fine",
    "my heart rate is 100",
    "I weigh 95 kg",
    "can I store capecitabine at room temperature?",
    "I'm confused about the difference between CAPTEM and FOLFOX",
    "what is the point of chemo if it won't cure me",
    "will I feel sick on temozolomide?",
    "is temodal a tablet",
    "my temperature is normal",
    "my temperature was 36.9 this morning",
    "keep the tablets below 25 degrees, at room temperature",
    "can I have hot and cold drinks?",
    "I have a red rash on my hands",
    "the nurse runs the clinic all day",
    "protein shakes ok?",
    "I sang in the choir last night",
    "I'm on 40 mg",
    "I had 38 radiotherapy sessions",
    "I can't eat spicy food",
    "what is a PICC line",
    "is a port the same as a PICC line?",
    "how many cycles of FOLFOX are there",
]

NEGATED = [
    "no fever, just tired",
    "I don't have a temperature, can I still have chemo tomorrow?",
    "not feverish",
    "without a fever",
    "I haven't got any bruising",
    "no shortness of breath",
]

CRISIS = [
    "I want to kill myself",
    "I've been thinking about suicide",
    "I want to end my life",
    "I've been self-harming",
    "I want to hurt myself",
    "my family would be better off without me",
    "I don't want to be here anymore",
    "there's no point going on",
    "I just want to die",
    "I can't go on like this",
    "my husband says he wants to end his life",
    "quiero morir",
    # overdose / intent wordings (conversation-suite findings)
    "I'm going to swallow all my temozolomide capsules and not wake up",
    "I'm going to take all my tablets tonight",
    "thinking of taking all my pills at once to end it",
    "I want to swallow the whole box",
    "I'll take an overdose on purpose",
    "I want to end it all",
    "I can't go on",
    "I have no reason to live",
    "I'd be better off dead",
    "I hope I never wake up",
    "i wish i wouldn't wake up tomorrow",
    "how many tablets would it take to kill me",
    "I've been saving up my pills",
]

OTHER_LANGUAGE = [
    "¿Qué es CAPTEM?",
    "Qu'est-ce que la chimiothérapie?",
    "Was ist eine Chemotherapie und wie wirkt sie?",
    "Cos'è la chemioterapia?",
    "O que é quimioterapia?",
    "Wat zijn de bijwerkingen van chemotherapie?",
    "Czy to jest chemioterapia?",
    "什么是化疗",
    "Что такое химиотерапия?",
    "Bonjour, je voudrais savoir comment on prend la chimiothérapie",
]

# Since the lingua detector (config/safety/language.yml) replaced the word lists, these
# are no longer FORCED to other_language: languages outside the detector's set
# (Scandinavian), or too short for it to be sure. The trained classifier still has
# other_language examples for them; what matters for safety is that an English message
# is never forced to other_language (see test_safety_language.py).
LEFT_TO_THE_CLASSIFIER = [
    "hoe wordt capecitabine gegeven?",  # Dutch
    "hur tar man temozolomid?",  # Swedish
    "hvordan tager man kemoterapi tabletter?",  # Danish
    "hvordan tar jeg cellegift tabletter?",  # Norwegian
    "Was ist Capecitabin?",
    "Hola",
    "merci",
    "Bonjour, j'ai une question",
]

ENGLISH = [
    "whats captem",
    "is temodal a tablet",
    "capecitabine side efects",
    "wat is captem",
    "hi",
    "thanks",
    "what is Xeloda?",
    "temodal?",
    "CAPTEM",
    "Is capecitabine a chemo",
    "hello, do you know about temozolomide",
    "de Gramont",
    "what is modified de Gramont",
    "dr de la Torre said my tumour is grade 2",
]


def make_message(
    text: str, intent: str = CLASSIFIED, confidence: float = 0.9
) -> Message:
    """A message as the trained classifier and FallbackClassifier leave it."""
    ranking = [
        {"name": intent, "confidence": confidence},
        {"name": "ask_side_effects", "confidence": round(1 - confidence, 3)},
    ]
    return Message(
        data={TEXT: text, INTENT: dict(ranking[0]), INTENT_RANKING_KEY: ranking},
        output_properties={INTENT, INTENT_RANKING_KEY},
    )


def build(config: Dict[str, Any] | None = None) -> SafetyIntentOverride:
    """Create the component the way the Rasa graph does (storage is unused)."""
    full = {**SafetyIntentOverride.get_default_config(), **(config or {})}
    return SafetyIntentOverride.create(full, None, None, None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def component() -> SafetyIntentOverride:
    clear_settings_cache()
    return build()


def run(component: SafetyIntentOverride, text: str, **kwargs: Any) -> Message:
    return component.process([make_message(text, **kwargs)])[0]


def intent_of(message: Message) -> str:
    return message.get(INTENT)["name"]


@pytest.mark.parametrize("text", RED_FLAGS)
def test_red_flags_escalate(component: SafetyIntentOverride, text: str) -> None:
    message = run(component, text)
    assert intent_of(message) == INTENT_RED_FLAG, component.screen.screen(text)
    assert message.get(INTENT)["confidence"] == 1.0


def test_enough_red_flag_wordings() -> None:
    assert len(RED_FLAGS) >= 45


@pytest.mark.parametrize("text", NOT_RED_FLAGS)
def test_ordinary_questions_untouched(
    component: SafetyIntentOverride, text: str
) -> None:
    message = run(component, text)
    assert intent_of(message) == CLASSIFIED, component.screen.screen(text)
    # not forced (a symptom word may mark it for the one-line safety reminder)
    assert "forced_by" not in (message.get(SAFETY_KEY) or {})


@pytest.mark.parametrize("text", NEGATED)
def test_explicit_negation_does_not_escalate(
    component: SafetyIntentOverride, text: str
) -> None:
    result = component.screen.screen(text)
    assert result.red_flags == () and result.negated, result
    # "can I still have chemo tomorrow?" is a personal question: not a red flag, but
    # the personal-advice rule may take it.
    assert intent_of(run(component, text)) in (CLASSIFIED, INTENT_PERSONAL_ADVICE)


@pytest.mark.parametrize(
    "text",
    [
        # "what counts as a fever?" alone is a topic (topic_frames.yml what_counts):
        # knowledge answer plus the safety line; with a reading it escalates
        "what counts as a fever? mine is 38.5",
        # "what temperature should I call at?" alone is a topic too (when_to_act)
        "what temperature should I call at? I'm shivering",
        "I don't think I have a fever",  # not an explicit negation
        "no fever but I'm shivering",  # one symptom negated, another not
        "No, I have a fever",
    ],
)
def test_knowledge_questions_and_hedges_still_escalate(
    component: SafetyIntentOverride, text: str
) -> None:
    assert intent_of(run(component, text)) == INTENT_RED_FLAG


@pytest.mark.parametrize("text", CRISIS)
def test_crisis(component: SafetyIntentOverride, text: str) -> None:
    message = run(component, text)
    assert intent_of(message) == INTENT_CRISIS, component.screen.screen(text)
    assert message.get(SAFETY_KEY)["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to die from this cancer",  # fear of the illness
        "am I going to die?",  # a prognosis question: personal advice
        "I can't go on holiday during chemo?",
        "what's the point of chemo",
        "do I take all the capsules at once?",  # temozolomide doses are several
        "how should I take all these tablets?",
        "try not to let it wake you up at night",
        "how many tablets to take tonight",  # a dose question, not overdose intent
        "how many cycles do I need to end treatment",
        "how much chemo will it take to kill the cancer",
        "I could sleep forever on this chemo",
    ],
)
def test_not_crisis(component: SafetyIntentOverride, text: str) -> None:
    result = component.screen.screen(text)
    assert result.crisis == (), result
    assert intent_of(run(component, text)) in (CLASSIFIED, INTENT_PERSONAL_ADVICE)


def test_red_flag_with_crisis_wording_gets_its_own_intent(
    component: SafetyIntentOverride,
) -> None:
    message = run(component, "I have chest pain and I want to end my life")
    assert intent_of(message) == INTENT_RED_FLAG_CRISIS
    assert message.get(SAFETY_KEY)["also_crisis"] is True
    assert len(message.get(SAFETY_KEY)["reasons"]) >= 2  # the red flag and the crisis


@pytest.mark.parametrize("text", OTHER_LANGUAGE)
def test_other_language(component: SafetyIntentOverride, text: str) -> None:
    assert intent_of(run(component, text)) == INTENT_OTHER_LANGUAGE


@pytest.mark.parametrize("text", ENGLISH)
def test_english_with_drug_names_or_typos_is_not_other_language(
    component: SafetyIntentOverride, text: str
) -> None:
    assert intent_of(run(component, text)) == CLASSIFIED


def test_other_language_red_flag_is_red_flag(component: SafetyIntentOverride) -> None:
    message = run(component, "¿Qué hago? Tengo fiebre de 39")
    assert intent_of(message) == INTENT_RED_FLAG


def test_language_check_can_be_switched_off() -> None:
    component = build({"detect_other_language": False})
    assert intent_of(run(component, "¿Qué es CAPTEM?")) == CLASSIFIED


def test_ranking_and_marker(component: SafetyIntentOverride) -> None:
    message = make_message("I have a fever", intent="nlu_fallback", confidence=0.3)
    message.data[INTENT_RANKING_KEY] = [
        {"name": "nlu_fallback", "confidence": 0.3},
        {"name": "ask_side_effects", "confidence": 0.25},
        {"name": "red_flag", "confidence": 0.2},
    ]
    component.process([message])
    assert message.get(INTENT_RANKING_KEY) == [
        {"name": "red_flag", "confidence": 1.0},
        {"name": "ask_side_effects", "confidence": 0.25},
    ]
    assert message.get(SAFETY_KEY) == {
        "forced_by": "SafetyIntentOverride",
        "intent": "red_flag",
        "reasons": ["fever"],
        "also_crisis": False,
        "overridden_intent": "nlu_fallback",
        "symptom_mention": False,
    }


def test_message_without_prior_intent(component: SafetyIntentOverride) -> None:
    message = Message(data={TEXT: "I can't breathe"})
    component.process([message])
    assert message.get(INTENT) == {"name": "red_flag", "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY) == [{"name": "red_flag", "confidence": 1.0}]


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_messages_untouched(component: SafetyIntentOverride, text: Any) -> None:
    message = Message(data={TEXT: text} if text is not None else {})
    component.process([message])
    assert message.get(INTENT) is None


def test_parse_result_serialises_and_validates(component: SafetyIntentOverride) -> None:
    """The forced parse data survives json and Rasa's own event schema."""
    message = run(component, "my husband has a temperature of 38.5")
    parse_data = {"text": message.get(TEXT), "entities": []}
    parse_data.update(message.as_dict(only_output_properties=True))
    assert parse_data[SAFETY_KEY]["reasons"] == ["temperature", "temperature_reading"]
    event = UserUttered(parse_data["text"], parse_data["intent"], [], parse_data)
    serialised = json.loads(json.dumps([event.as_dict()]))
    jsonschema.validate(serialised, EVENTS_SCHEMA)
    assert serialised[0]["parse_data"]["intent"]["name"] == INTENT_RED_FLAG


def write_settings(tmp_path: Path, threshold: float) -> Path:
    path = tmp_path / "safety.yml"
    path.write_text(f"red_flags:\n  temperature_threshold_c: {threshold}\n")
    return path


@pytest.mark.parametrize(
    "text, at_37_5, at_38_0",
    [
        ("temperature 37.6", True, False),
        ("temp 37.9", True, False),
        ("temp 38.0", True, True),
        ("99.5F", True, False),  # 37.5 C exactly: "at or above" the threshold
        ("100.4F", True, True),  # 38.0 C exactly
        ("my temperature is 37.4", False, False),
        ("36.8", False, False),
    ],
)
def test_threshold_from_settings_file(
    tmp_path: Path, text: str, at_37_5: bool, at_38_0: bool
) -> None:
    clear_settings_cache()
    low = build({"settings_path": str(write_settings(tmp_path, 37.5))})
    high = build({"settings_path": str(write_settings(tmp_path / "..", 38.0))})
    assert (intent_of(run(low, text)) == INTENT_RED_FLAG) is at_37_5
    assert (intent_of(run(high, text)) == INTENT_RED_FLAG) is at_38_0


def test_threshold_from_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_settings_cache()
    monkeypatch.setenv("NETCHEMO_SETTINGS", str(write_settings(tmp_path, 39.0)))
    component = build()
    assert component.screen.temperature_threshold_c == 39.0
    assert intent_of(run(component, "temperature 38.5")) == CLASSIFIED
    assert intent_of(run(component, "temperature 39.1")) == INTENT_RED_FLAG
    clear_settings_cache()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("38.3", [38.3]),
        ("101F", [38.33]),
        ("100.4 f", [38.0]),
        ("38,3", [38.3]),
        ("38.3c", [38.3]),
        ("temp of 39", [39.0]),
        ("I am 38 years old", []),
        ("day 5 of my cycle", []),
        ("ki67 of 38", []),
        ("my pulse is 100", []),
        ("bp 100/60", []),
        ("call 0800 100 1234 if your temperature is high", []),
        ("is chemo given for 38 weeks", []),
        ("it is 2024", []),
    ],
)
def test_temperature_readings(text: str, expected: List[float]) -> None:
    screen = _shared_screen()
    from bot.components.safety import normalise_text

    normalised = normalise_text(text)
    assert (
        screen.temperature_readings_c(normalised, screen._doc(normalised)) == expected
    )


_SCREEN: List[SafetyScreen] = []


def _shared_screen() -> SafetyScreen:
    if not _SCREEN:
        _SCREEN.append(SafetyScreen(37.5))
    return _SCREEN[0]


def _rules_run(screen: SafetyScreen, text: str) -> int:
    """How many pattern matchers the screen runs on ``text`` (rules whose cheap word
    gate passes); every other rule costs a set look-up at most."""
    doc = screen._doc(normalise_text(text))
    norms = frozenset(t.norm_ for t in doc)
    sets = [
        screen._red,
        screen._exclusions,
        screen._crisis,
        screen._crisis_negatable,
        screen._crisis_exclusions,
        screen._personal,
        screen._personal_exclusions,
    ]
    return sum(len(rules.gated(norms)) for rules in sets)


def _all_rules(screen: SafetyScreen) -> int:
    sets = [screen._red, screen._crisis, screen._personal, screen._exclusions]
    return sum(len(rules) for rules in sets)


# Speed itself is measured by `make bench` (and `scripts/eval_safety.py
# --language-cost`), not by wall-clock asserts that wobble on a loaded machine. These
# tests pin the work the screen does instead: the word-gate index must keep the
# matchers run per message to a handful out of several hundred rules.
def test_screen_runs_few_matchers_per_message(component: SafetyIntentOverride) -> None:
    screen = component.screen
    texts = RED_FLAGS + NOT_RED_FLAGS + CRISIS + OTHER_LANGUAGE
    counts = [_rules_run(screen, t) for t in texts]
    assert _all_rules(screen) > 400
    assert sum(counts) / len(counts) < 4, "the gate index no longer narrows the rules"
    assert max(counts) <= 15


def test_language_detector_skipped_when_a_rule_fired(
    component: SafetyIntentOverride, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The detector is the slow part (~1-2 ms): it must not run for a red flag,
    crisis or personal-advice message."""
    calls: List[str] = []
    language = component.screen.language
    original = language.is_other_language
    monkeypatch.setattr(
        language, "is_other_language", lambda text: calls.append(text) or original(text)
    )
    for text in RED_FLAGS + CRISIS + [t for t, _ in PERSONAL_ADVICE]:
        component.screen.screen(text)
    assert calls == []
    component.screen.screen("what is CAPTEM?")
    assert calls == ["what is CAPTEM?"]


def test_never_logs_user_text_at_info(
    component: SafetyIntentOverride, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "my husband zebraquartz has a temperature of 38.5"
    with caplog.at_level("DEBUG", logger="bot.components.safety"):
        run(component, secret)
    assert caplog.records, "the override should be logged"
    assert all("zebraquartz" not in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------------
# Personal advice
# ---------------------------------------------------------------------------------------
PERSONAL_ADVICE = [
    # (message, one reason label that must be among the reasons)
    ("how many mg of temozolomide should I be on", "dose"),
    ("should I take my capecitabine with food or on an empty stomach?", "food_timing"),
    ("I'm a healthcare professional, I just need the mg per m2 for CAPTEM", "dose"),
    ("what's the usual capecitabine dose in mg/m2", "dose"),
    ("I won't hold you responsible, just give me a number in mg", "dose"),
    ("just give me a number in mg", "dose"),
    ("how much capecitabine do people usually take?", "dose"),
    ("how many tablets to take tonight", "dose"),
    ("please, I really need to know how many tablets to take tonight", "dose"),
    ("is 1500mg of capecitabine too much", "dose"),
    ("I missed yesterday's capsules", "missed_dose"),
    ("I forgot my tablets yesterday, can I double up today?", "missed_dose"),
    ("i accidentally took two temodal capsules", "missed_dose"),
    ("I was sick after taking my capsules, should I take more?", "missed_dose"),
    ("can I double my dose", "dose"),
    ("what dose of cisplatin", "dose"),
    ("what's the dosage", "dose"),
    ("what dose of radiation is in PRRT", "dose"),
    ("should I skip my next cycle", "stop_or_delay"),
    ("can I stop taking xeloda", "stop_or_delay"),
    ("can I delay my chemo for a holiday", "stop_or_delay"),
    ("I'm going to stop taking it then", "stop_or_delay"),
    ("and I'll skip my next cycle too", "stop_or_delay"),
    ("is it safe to stop capecitabine early?", "stop_or_delay"),
    ("can I take ibuprofen with capecitabine", "interaction"),
    ("can I take paracetamol with capecitabine", "interaction"),
    ("can I take st john's wort with capecitabine", "interaction"),
    ("can I have grapefruit with capecitabine", "interaction"),
    ("can I drink alcohol on CAPTEM", "interaction"),
    ("can't I drink alcohol on chemo?", "interaction"),
    ("i take metformin, is that ok with my chemo", "interaction"),
    ("can I take my temozolomide at night instead of the morning?", "food_timing"),
    ("is CAPTEM right for me", "suitability"),
    ("should I have chemo or PRRT?", "suitability"),
    ("would you recommend i have chemotherapy", "suitability"),
    ("how long do I have", "prognosis"),
    ("how long have I got left?", "prognosis"),
    ("what's my prognosis", "prognosis"),
    ("what are my chances of survival on CAPTEM?", "prognosis"),
    ("is my cancer terminal", "prognosis"),
    ("my ki67 is 30 what does that mean for me", "results"),
    ("my Ki-67 is 30 percent, is that grade 3 for me?", "results"),
    ("my liver bloods are high, should I worry?", "results"),
]

KNOWLEDGE_QUESTIONS = [
    "what is CAPTEM",
    "<b>what is CAPTEM?</b>",
    "is temodal a tablet",
    "how is FOLFOX given",
    "what are the side effects of capecitabine",
    "why am I not on chemo",
    "what is ki67",
    "what does well differentiated mean",
    "is lanreotide chemo",
    "how long do I have to take capecitabine for",
    "how long will the side effects last",
    "how much time does chemo take",
    "can you give me a number to call",
    "I feel sick after having chemo",
    "do you take capecitabine with food",
    "is capecitabine taken twice a day",
    "can you cancel my hospital appointment",
    "ok forget it, what is temozolomide?",
    "what is the point of chemo if it won't cure me",
    "how many cycles of CAPTEM do people have, 6?",
    "I'm on 40 mg",
    "my ki67 is 38%",
    "my blood test results were fine",
    "what is a treatment holiday",
]


@pytest.mark.parametrize("text, label", PERSONAL_ADVICE)
def test_personal_advice_is_forced(
    component: SafetyIntentOverride, text: str, label: str
) -> None:
    message = run(component, text)
    assert intent_of(message) == INTENT_PERSONAL_ADVICE, component.screen.screen(text)
    assert message.get(INTENT)["confidence"] == 1.0
    assert message.get(INTENT_RANKING_KEY)[0] == {
        "name": INTENT_PERSONAL_ADVICE,
        "confidence": 1.0,
    }
    marker = message.get(SAFETY_KEY)
    assert marker["intent"] == INTENT_PERSONAL_ADVICE
    assert label in marker["reasons"], marker
    assert marker["also_crisis"] is False
    assert marker["overridden_intent"] == CLASSIFIED


@pytest.mark.parametrize("text", KNOWLEDGE_QUESTIONS)
def test_knowledge_questions_are_not_personal_advice(
    component: SafetyIntentOverride, text: str
) -> None:
    message = run(component, text)
    assert intent_of(message) == CLASSIFIED, component.screen.screen(text)
    # not forced (a symptom word may mark it for the one-line safety reminder)
    assert "forced_by" not in (message.get(SAFETY_KEY) or {})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I have a fever, can I take paracetamol with capecitabine?", INTENT_RED_FLAG),
        ("temp 38.5, should I skip my next cycle?", INTENT_RED_FLAG),
        ("can't eat or drink, should I stop taking xeloda?", INTENT_RED_FLAG),
        ("how many tablets would kill me", INTENT_CRISIS),
        ("I want to take all my tablets, what's the dose", INTENT_CRISIS),
        ("I can't go on, should I stop my chemo", INTENT_CRISIS),
    ],
)
def test_red_flag_and_crisis_win_over_personal_advice(
    component: SafetyIntentOverride, text: str, expected: str
) -> None:
    assert intent_of(run(component, text)) == expected, component.screen.screen(text)


def test_personal_advice_wins_over_classifier_safety_intent(
    component: SafetyIntentOverride,
) -> None:
    """The classifier once ranked "crisis" for this dose question."""
    message = run(component, "how many tablets to take tonight", intent="crisis")
    assert intent_of(message) == INTENT_PERSONAL_ADVICE
    assert message.get(SAFETY_KEY)["overridden_intent"] == "crisis"


def test_personal_advice_check_can_be_switched_off() -> None:
    component = build({"detect_personal_advice": False})
    assert intent_of(run(component, "can I double my dose")) == CLASSIFIED
    assert intent_of(run(component, "I have a fever")) == INTENT_RED_FLAG


# ---------------------------------------------------------------------------------------
# False alarms from the conversation suite
# ---------------------------------------------------------------------------------------
NO_CONTENT = [
    "{{7*7}} ${7*7}",
    "500 or 1000",
    "ok then roughly, is it more like 500 or 1000?",
    "<img src=x onerror=alert(1)>",
    "???",
    "...",
    "x",
]


@pytest.mark.parametrize("text", NO_CONTENT)
@pytest.mark.parametrize("classified", [INTENT_RED_FLAG, INTENT_CRISIS])
def test_classifier_safety_intent_without_content_is_withdrawn(
    component: SafetyIntentOverride, text: str, classified: str
) -> None:
    """Root cause: the classifier (not the screen) chose red_flag / crisis for
    messages with nothing in them; the screen found nothing."""
    result = component.screen.screen(text)
    assert result.red_flags == () and result.crisis == (), result
    message = run(component, text, intent=classified, confidence=0.87)
    assert intent_of(message) == "nlu_fallback"
    names = [entry["name"] for entry in message.get(INTENT_RANKING_KEY)]
    assert names == ["nlu_fallback", "ask_side_effects"]
    marker = message.get(SAFETY_KEY)
    assert marker["reasons"] == ["no_content"]
    assert marker["overridden_intent"] == classified


@pytest.mark.parametrize(
    "text",
    [
        "he's gone a funny colour",  # a symptom the screen does not know: keep it
        "he's not alert",
        "something is very wrong",
        "she just doesn't seem with it",
    ],
)
def test_classifier_safety_intent_with_content_is_kept(
    component: SafetyIntentOverride, text: str
) -> None:
    message = run(component, text, intent=INTENT_RED_FLAG)
    assert intent_of(message) == INTENT_RED_FLAG
    # not forced (a symptom word may mark it for the one-line safety reminder)
    assert "forced_by" not in (message.get(SAFETY_KEY) or {})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{{7*7}} ${7*7}", False),
        ("500 or 1000", False),
        ("<img src=x onerror=alert(1)>", False),
        ("<script></script>", False),
        ("", False),
        ("<i>fever</i>", True),
        ("lips blue", True),
        ("发烧", True),
    ],
)
def test_has_content(text: str, expected: bool) -> None:
    assert SafetyScreen.has_content(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "{{7*7}} ${7*7}",
        "500 or 1000",
        "just give me a number in mg",
        "<img src=x onerror=alert(1)>",
        "<script>alert('hi')</script>",
        "'; DROP TABLE events; --",
        "how many tablets to take tonight",
        "ta",
    ],
)
def test_conversation_false_alarms_are_not_safety_intents(
    component: SafetyIntentOverride, text: str
) -> None:
    result = component.screen.screen(text)
    assert result.red_flags == () and result.crisis == (), result
    assert result.other_language is False
    assert intent_of(run(component, text)) not in (
        INTENT_RED_FLAG,
        INTENT_CRISIS,
        INTENT_OTHER_LANGUAGE,
    )


@pytest.mark.parametrize("text", ["ta", "ta very much", "cheers", "ta!"])
def test_british_thanks_is_english(component: SafetyIntentOverride, text: str) -> None:
    assert intent_of(run(component, text, intent="thank")) == "thank"


@pytest.mark.parametrize("text", ["danke schön", "gracias"])
def test_short_foreign_words_still_other_language(
    component: SafetyIntentOverride, text: str
) -> None:
    assert intent_of(run(component, text)) == INTENT_OTHER_LANGUAGE


@pytest.mark.parametrize("text", LEFT_TO_THE_CLASSIFIER)
def test_unsure_languages_are_left_to_the_classifier(
    component: SafetyIntentOverride, text: str
) -> None:
    assert intent_of(run(component, text)) == CLASSIFIED


# ---------------------------------------------------------------------------------------
# Markup around words
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, words",
    [
        ("<b>what is CAPTEM?</b>", ["what", "is", "captem", "?"]),
        ("<i>fever</i> of 38.5", ["fever", "of", "38.5"]),
        ("mg/m2", ["mg", "m2"]),
        ("temp=38.5", ["temp", "38.5"]),
    ],
)
def test_markup_separates_words(text: str, words: List[str]) -> None:
    """Tags become separators (their names stay as harmless tokens such as "b")."""
    screen = _shared_screen()
    tokens = [t.text for t in screen._doc(normalise_text(text), sentinel=False)]
    content = [t for t in tokens if t.strip() and t not in ("b", "i")]
    assert content == words


def test_markup_red_flag_reasons(component: SafetyIntentOverride) -> None:
    message = run(component, "<i>fever</i> of 38.5")
    assert message.get(SAFETY_KEY)["reasons"] == ["fever", "temperature_reading"]


def test_html_knowledge_question_untouched(component: SafetyIntentOverride) -> None:
    assert intent_of(run(component, "<b>what is CAPTEM?</b>")) == CLASSIFIED


def test_personal_advice_runs_few_matchers(component: SafetyIntentOverride) -> None:
    texts = [t for t, _ in PERSONAL_ADVICE] + KNOWLEDGE_QUESTIONS + NO_CONTENT
    counts = [_rules_run(component.screen, t) for t in texts]
    assert sum(counts) / len(counts) < 4
    assert max(counts) <= 15
