"""Low and high temperatures and "feeling unwell" in the deterministic safety layer.

Issue 10 row 1: a low temperature (below ``red_flags.low_temperature_threshold_c``,
default 36.0 C) or feeling unwell with a normal one is urgent during chemo, exactly like a
high temperature, and must not depend on the trained classifier. Every test here runs the
safety layer alone (``SafetyIntentOverride`` / ``SafetyScreen`` / the plain functions in
``bot/components/temperature.py``): the classifier's intent is a made-up knowledge intent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.safety import (
    INTENT_RED_FLAG,
    LOW_TEMPERATURE_REASON,
    SAFETY_KEY,
    TEMPERATURE_REASON,
    SafetyIntentOverride,
    SafetyScreen,
    normalise_text,
)
from bot.components.temperature import Reading, find_readings, judge, weather_number
from bot.settings import clear_settings_cache

CLASSIFIED = "ask_what_is"

LOW = [
    "35.4",
    "35.9",
    "35.99",
    "95.5F",
    "95.5 F",
    "temp of 35",
    "35.5°C",
    "35.5 °C",
    "35.5 degrees",
    "it says 35.5ºC",
    "35,5",
    "my temperature is 35.4",
    "my temperature dropped to 35.5",
    "my temp is 34.9",
    "temp 95",
    "temperature 95.9 F",
    "my husband's temperature is 35.8 and he feels cold",
    "thermometer says 35.6",
    "the nurse said 35.7 is fine but I'm shivering",
    "temp was 35.5 at 7:05pm",
    "im on captem and my temp is 35.2 what do i do",
]

NORMAL = [
    "36.0",
    "36",
    "37.4",
    "96.8F",
    "99.3F",
    "98.6 F",
    "my temperature is 36.0",
    "my temperature is 36.5",
    "temp 36.8 this morning",
    "temperature has been 37.2 all day",
    "my temp is 37",
    "I took my temperature at 10:35 and it was 36.8",
    "temp 97.5F",
]

HIGH = [
    "37.5",
    # written formats: an apostrophe as the decimal mark, a half sign, a reading that
    # ends a sentence before a label word, a bank holiday (a date, not travel)
    "38'4 under the tongue",
    "temp 38½ on the old glass thermometer",
    "Mon 36.8, Tue 37.0, today 37.9. day 12 of xeloda",
    "38.3 on a bank holiday sunday, on FOLFIRI",
    "99.5F",
    "38.3",
    "101F",
    "my temperature is 38.1",
    "temp at 10:35 was 38.5",
    "38.5 at 10:35",
    "thermometer says 38 point 4",
    "39 degrees in my ear and shivery",
    "had a warm bath but still 38.9",
    "temp 38.6, should I call 111?",
    "38.4 after my shower, shivering",
    "had a hot shower but still 38.9",
    "thirty eight point six and shivery",
    "a hundred and two on the thermometer",
    "three nine point one",
    "one hundred point six, on capecitabine",
]

# Numbers that are not temperatures, several of them in the low range.
NOT_TEMPERATURES = [
    "39 degrees on holiday in Spain, can I sunbathe on captem?",
    "I had chemo 36 hours ago",
    "ki-67 of 35",
    "ki67 35%",
    "my ki 67 is 35",
    "I am 35 years old",
    "I'm 35",
    "I was 35 when I was diagnosed",
    "I was diagnosed on 12/03/2021",
    "35 mg of lanreotide",
    "cycle 3 day 35",
    "35 weeks pregnant",
    "my albumin is 35.2",
    "my potassium was 35 last time",
    "there were 35 patients in the trial",
    "it's 35 degrees outside, can I go in the sun on capecitabine?",
    "it's 95F and sunny today, can I go out on capecitabine?",
    "store capecitabine below 30°C",
    "can I keep temozolomide in the fridge",
    "my appointment is at 10:35",
    "it's 39 degrees in lisbon this week",
    "the bath water is 38 degrees",
    "if it gets worse do we ring the ward or 111",
    "is 112 the emergency number in Spain?",
    "it's 40 degrees here in Athens, can I walk to the shops on capecitabine?",
    "is 40 degrees too hot for a shower on chemo?",
    "room one hundred and one at the day unit",
    "I'm forty one and on capecitabine",
    "my chromogranin came back at 100.5, what does it mean",
    "hot yoga is 38 degrees, is that ok on treatment?",
]

UNWELL = [
    "I feel really unwell",
    "feeling shivery",
    "I feel awful since my chemo",
    "I feel terrible since my chemo",
    "he's just not right",
    "I'm just not right since chemo",
    "something's not right, had chemo yesterday",
    "I don't feel right",
    "I don't feel well",
    "I'm not feeling great since my infusion",
    "my mum is not herself",
    "I'm not myself",
    "she isn't right since chemo",
    "I feel rubbish since chemo",
    "feeling grim after chemo",
    "I'm cold and shaky",
    "he can't get warm",
    # feeling unwell with a normal temperature: still urgent
    "I feel really unwell but my temperature is normal",
    "I feel awful, my temperature is 36.8",
    "temp is only 36.9 but I feel terrible",
    "my temperature is fine but he's just not right",
]

NOT_UNWELL = [
    "I don't feel unwell",
    "not feeling unwell, just tired",
    "will I not feel well after chemo?",
    "you won't feel right for a few days, is that normal?",
    "that's not right, CAPTEM is taken as tablets",
    "is it not right to ask for a second opinion",
    "what is CAPTEM",
]


def make_message(text: str) -> Message:
    """A message as the trained classifier leaves it (a knowledge intent)."""
    ranking = [
        {"name": CLASSIFIED, "confidence": 0.9},
        {"name": "ask_side_effects", "confidence": 0.1},
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


def run(component: SafetyIntentOverride, text: str) -> Message:
    return component.process([make_message(text)])[0]


def intent_of(message: Message) -> str:
    return message.get(INTENT)["name"]


def readings(component: SafetyIntentOverride, text: str) -> List[float]:
    normalised = normalise_text(text)
    screen = component.screen
    return screen.temperature_readings_c(normalised, screen._doc(normalised))


def test_default_thresholds_come_from_the_settings_file(
    component: SafetyIntentOverride,
) -> None:
    assert component.screen.low_temperature_threshold_c == 36.0
    assert component.screen.temperature_threshold_c == 37.5


@pytest.mark.parametrize("text", LOW)
def test_low_temperature_escalates(component: SafetyIntentOverride, text: str) -> None:
    message = run(component, text)
    assert intent_of(message) == INTENT_RED_FLAG, component.screen.screen(text)
    assert message.get(INTENT)["confidence"] == 1.0
    assert LOW_TEMPERATURE_REASON in message.get(SAFETY_KEY)["reasons"]


@pytest.mark.parametrize("text", NORMAL)
def test_normal_reading_alone_does_not_escalate(
    component: SafetyIntentOverride, text: str
) -> None:
    message = run(component, text)
    assert intent_of(message) == CLASSIFIED, component.screen.screen(text)
    # not forced (a symptom word may mark it for the one-line safety reminder)
    assert "forced_by" not in (message.get(SAFETY_KEY) or {})
    assert readings(component, text), "the number should be read as a temperature"


@pytest.mark.parametrize("text", HIGH)
def test_high_temperature_still_escalates(
    component: SafetyIntentOverride, text: str
) -> None:
    message = run(component, text)
    assert intent_of(message) == INTENT_RED_FLAG, component.screen.screen(text)
    assert TEMPERATURE_REASON in message.get(SAFETY_KEY)["reasons"]
    assert LOW_TEMPERATURE_REASON not in message.get(SAFETY_KEY)["reasons"]


@pytest.mark.parametrize("text", NOT_TEMPERATURES)
def test_other_numbers_are_not_low_temperatures(
    component: SafetyIntentOverride, text: str
) -> None:
    result = component.screen.screen(text)
    assert LOW_TEMPERATURE_REASON not in result.red_flags, result
    assert TEMPERATURE_REASON not in result.red_flags, result
    assert intent_of(run(component, text)) != INTENT_RED_FLAG, result


@pytest.mark.parametrize(
    "text, expected",
    [
        ("35.4", [35.4]),
        ("95.5F", [35.28]),
        ("96.8 f", [36.0]),
        ("35,5", [35.5]),
        ("temp of 35", [35.0]),
        ("I took my temperature at 10:35 and it was 36.8", [36.8]),
        ("I had chemo 36 hours ago", []),
        ("ki-67 of 35", []),
        ("35 years", []),
        ("12/03/2035", []),
        ("35 mg", []),
        ("37 point 9 this morning", [37.9]),
        ("100 degrees in texas", []),
        ("38 degrees in bed tonight", [38.0]),
    ],
)
def test_readings(component: SafetyIntentOverride, text: str, expected: list) -> None:
    assert readings(component, text) == expected


@pytest.mark.parametrize("text", UNWELL)
def test_feeling_unwell_escalates_whatever_the_temperature(
    component: SafetyIntentOverride, text: str
) -> None:
    message = run(component, text)
    assert intent_of(message) == INTENT_RED_FLAG, component.screen.screen(text)


@pytest.mark.parametrize("text", NOT_UNWELL)
def test_not_unwell(component: SafetyIntentOverride, text: str) -> None:
    assert intent_of(run(component, text)) != INTENT_RED_FLAG, component.screen.screen(
        text
    )


@pytest.mark.parametrize(
    "text",
    ["my temp feels low", "low temperature and shivery", "my temperature is 33.5C"],
)
def test_low_temperature_wording_escalates(
    component: SafetyIntentOverride, text: str
) -> None:
    assert intent_of(run(component, text)) == INTENT_RED_FLAG


def test_a_normal_reading_decides_over_the_word_low(
    component: SafetyIntentOverride,
) -> None:
    """As for "my temperature is 37.2": the reading, not the word, decides."""
    assert intent_of(run(component, "my temp is a bit low, 36.2")) == CLASSIFIED


def write_settings(tmp_path: Path, high: float, low: float) -> Path:
    path = tmp_path / f"safety-{high}-{low}.yml"
    path.write_text(
        "red_flags:\n"
        f"  temperature_threshold_c: {high}\n"
        f"  low_temperature_threshold_c: {low}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "text, at_36_0, at_35_5",
    [
        ("temperature 35.7", True, False),
        ("temp 35.5", True, False),  # exactly the threshold: "below" it is low
        ("temp 35.4", True, True),
        ("96F", True, False),  # 35.56 C
        ("95.5F", True, True),  # 35.28 C
        ("temp 36.0", False, False),
    ],
)
def test_low_threshold_from_settings_file(
    tmp_path: Path, text: str, at_36_0: bool, at_35_5: bool
) -> None:
    clear_settings_cache()
    default = build({"settings_path": str(write_settings(tmp_path, 37.5, 36.0))})
    lower = build({"settings_path": str(write_settings(tmp_path, 37.5, 35.5))})
    assert lower.screen.low_temperature_threshold_c == 35.5
    assert (intent_of(run(default, text)) == INTENT_RED_FLAG) is at_36_0
    assert (intent_of(run(lower, text)) == INTENT_RED_FLAG) is at_35_5
    clear_settings_cache()


def test_screen_refuses_a_low_threshold_above_the_high_one() -> None:
    with pytest.raises(ValueError):
        SafetyScreen(37.5, low_temperature_threshold_c=37.5)


@pytest.mark.parametrize(
    "reading, low, normal, high",
    [
        (Reading(35.9, strong=True), True, False, False),
        (Reading(35.9, strong=False), False, False, False),  # "my albumin is 35.9"
        (Reading(33.0, strong=True), False, False, False),  # below the body range
        (Reading(36.0, strong=False), False, True, False),
        (Reading(37.49, strong=False), False, True, False),
        (Reading(37.5, strong=False), False, False, True),
    ],
)
def test_judge(reading: Reading, low: bool, normal: bool, high: bool) -> None:
    verdict = judge([reading], 36.0, 37.5)
    assert (verdict.low, verdict.normal, verdict.high) == (low, normal, high)


def test_weather_is_not_a_body_temperature() -> None:
    text = normalise_text("35 degrees outside today")
    assert find_readings(text, text.split()) == []
    text = normalise_text("heatwave here, 39 degrees in the shade")
    assert find_readings(text, text.split()) == []
    text = normalise_text("my temperature is 35 degrees and it's cold outside")
    assert find_readings(text, text.split()) == [Reading(35.0, strong=True)]


def test_symptom_categories_are_logged_at_debug_only(
    component: SafetyIntentOverride, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 9 row 8: even the categories ("chest, fever") are health information."""
    secret = "zebraquartz has chest pain and a fever, temp 35.1"
    with caplog.at_level(logging.DEBUG, logger="bot.components.safety"):
        run(component, secret)
    records = [r for r in caplog.records if r.name.startswith("bot.components")]
    assert any("chest" in r.getMessage() for r in records), "labels at DEBUG"
    assert all(r.levelno < logging.INFO for r in records)
    assert all("zebraquartz" not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "text",
    [
        "it's going to be 35 degrees this weekend, any tips for keeping cool on CAPTEM?",
        "it was 34 degrees on holiday and I burned, does chemo make you burn easier?",
    ],
)
def test_holiday_and_keeping_cool_are_the_weather(text: str) -> None:
    normalised = normalise_text(text)
    assert find_readings(normalised, normalised.split()) == []


@pytest.mark.parametrize(
    "text, weather",
    [
        ("it's 38 degrees in Perth today, tips for staying cool?", True),
        ("bath water at 39 degrees, is that too hot?", True),
        ("99 degrees in Phoenix and the AC is broken", True),
        ("it's 38 degrees outside and I'm shivering", False),  # body context
        ("my temperature is 38", False),  # no environment word
        ("the oven was on 180", False),  # not in the body range
    ],
)
def test_weather_number(text: str, weather: bool) -> None:
    normalised = normalise_text(text)
    assert weather_number(normalised, normalised.split()) is weather


def test_reading_knows_where_it_is() -> None:
    """The offset lets the screen tell a past or hypothetical clause's reading."""
    text = normalise_text("fine last year, today it is 38.5")
    (reading,) = find_readings(text, text.split())
    assert text[reading.start : reading.start + 4] == "38.5"


@pytest.mark.parametrize(
    "text, high",
    [
        ("if my temp goes over 37.5 do I ring or go to A&E?", False),  # a threshold
        ("if my temperature is 38.5, who do I call?", True),  # stated: a reading
        ("my temp is over 38", True),  # no "if": a reading
        ("I had a temperature of 38.5 back in March, fine since", False),  # past
    ],
)
def test_thresholds_and_past_readings(text: str, high: bool) -> None:
    screen = SafetyScreen(37.5)
    assert ("temperature_reading" in screen.screen(text).red_flags) is high
