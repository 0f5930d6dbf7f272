"""Temperature readings in a message, for the deterministic safety layer.

Plain functions, no Rasa and no spaCy: :func:`find_readings` finds the numbers in a
normalised message (see ``bot.components.safety.normalise_text``) that are stated body
temperatures, and :func:`judge` compares them with the two red-flag thresholds from
``config/safety.yml``. ``SafetyScreen`` calls both. The words that tell a reading from
other numbers (temperature and body context, weather and storage, labels such as "ki67"
or "kg", service phone numbers) are reviewed data in ``config/safety/temperature.yml``;
this module keeps the engine: number formats, units, ranges, spoken numbers and times.

A number is a reading when it has a unit (°, C, F, degrees), or is in a plausible range
(34-45 read as C, 90-113 as F) and the message talks about temperature or fever, the
number has a decimal part ("38.3"), or the message is little more than the number ("38",
"it's 38"). Numbers labelled as something else ("ki67 of 38", "38 years old", "36 hours",
"pulse 100", "10:35", "12/03") are never readings.

A LOW reading needs more than that, because ordinary numbers between 34 and 36 are
common ("my albumin is 35.2", "it's 35 degrees outside"): the message must talk about
temperature, fever, shivering or feeling cold, or the number has a unit or stands
almost alone and nothing in the message is about the weather or storage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import FrozenSet, Iterable, List, Tuple

from bot.components.safety_lexicon import default_lexicon
from bot.components.temperature_words import TemperatureWords

# A 2-3 digit number, optionally with one or two decimals ("38", "38.3", "38,3",
# "100.4"), not part of a longer number, a date ("12/03"), a time ("10:35") or a word,
# optionally followed by a unit.
_NUMBER_RE = re.compile(
    r"(?<![a-z0-9.,/])(?<!\d:)"
    r"(?P<num>\d{2,3}(?:[.,]\d{1,2})?)"
    r"(?![\d/]|[.,:]\d)"
    r"(?:\s*(?P<unit>"
    r"°\s*(?:c|f|celsius|centigrade|fahrenheit)?"
    r"|(?:deg|degs|degree|degrees)\s*(?:c|f|celsius|centigrade|fahrenheit)?"
    r"|celsius|centigrade|fahrenheit|c|f"
    r")(?![a-z]))?"
)
# A decimal said in words ("38 point 2") is read as "38.2" (padded to the same length).
_SPOKEN_DECIMAL_RE = re.compile(
    r"(?<![a-z0-9.,/])(\d{2,3})\s+point\s+(\d{1,2})(?![\d/]|[.,:]\d)"
)
# "it's 38 degrees (here) in Madrid", "101 degrees in Phoenix": degrees in a named place (not
# "in my ear", "in the night") are the weather, and "bath water" is water, unless a body
# word says otherwise.
_DEGREES_IN_PLACE_RE = re.compile(
    r"(?:deg|degs|degree|degrees|°\s*[cf]?)\s+(?:(?:out\s+)?here\s+|today\s+)?(?:in|at)\s+"
    r"(?!(?:my|his|her|their|our|your|the|a|an|this|that|bed|hospital|clinic|night|"
    r"morning|evening|afternoon|ear|mouth|armpit|home|work|him|me|them|us)\b)[a-z]"
    r"|\b(?:bath|hot|paddling)\s+(?:water|tub)\b"
    # "is 40 degrees too hot for a shower", "hot yoga at 40 degrees": water or a room
    r"|\b(?:shower|showers|bath|baths|yoga|sauna|steam\s+room)\b[^.!?]{0,30}?"
    r"\b\d{2,3}(?:[.,]\d{1,2})?\s*(?:°|deg|degs|degree|degrees)"
    r"|\b\d{2,3}(?:[.,]\d{1,2})?\s*(?:°|deg|degs|degree|degrees)\b[^.!?]{0,30}?"
    r"\b(?:shower|showers|bath|baths|yoga|sauna|steam\s+room)\b"
)
# Temperatures said in words: "thirty eight point five", "a hundred and one point two",
# "three eight point five" (digits one by one). Rewritten as digits, padded to the same
# length so that offsets still match the message.
_DIGIT_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_DIGIT = "(" + "|".join(_DIGIT_WORDS) + r"|\d)"
_POINT = rf"(?:\s+point\s+{_DIGIT})?"


def _digit(word: str) -> str:
    return str(_DIGIT_WORDS[word]) if word in _DIGIT_WORDS else word


def _decimal(match: re.Match, whole: str, group: int) -> str:
    """``whole`` plus the spoken decimal in ``group`` (if said), padded to the match."""
    if match.group(group):
        whole += "." + _digit(match.group(group))
    return whole.ljust(len(match.group()))


def _tens(match: re.Match) -> str:
    first = "3" if match.group(1) == "thirty" else "4"
    return _decimal(match, first + _digit(match.group(2)), 3)


def _hundred(match: re.Match) -> str:
    return _decimal(match, "10" + _digit(match.group(1) or "0"), 2)


def _digits(match: re.Match) -> str:
    return _decimal(match, _digit(match.group(1)) + _digit(match.group(2)), 3)


_SPOKEN_NUMBER_RES = (
    # thirty eight (point five)
    (re.compile(rf"\b(thirty|forty)[\s-]+{_DIGIT}\b{_POINT}"), _tens),
    # (a) hundred (and) one (point two)
    (
        re.compile(rf"\b(?:(?:a|one)\s+)?hundred(?:\s+(?:and\s+)?{_DIGIT}\b)?{_POINT}"),
        _hundred,
    ),
    # three eight point five
    (re.compile(rf"\b(three|four)\s+{_DIGIT}\s+point\s+{_DIGIT}\b"), _digits),
)


def _spoken_numbers(text: str) -> str:
    """Temperatures said in words rewritten as digits, keeping the text's length."""
    for regex, rewrite in _SPOKEN_NUMBER_RES:
        text = regex.sub(rewrite, text)
    return text


# Clock times ("10:35", "7:05pm") are blanked out before looking for numbers.
_TIME_RE = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?:\s*[ap]\.?m\b\.?)?")
# "38'4": an apostrophe as the decimal mark (as some write it by hand), read as "38.4"
_APOSTROPHE_DECIMAL_RE = re.compile(r"(?<![\d'])(\d{2,3})'(\d)(?![\d'])")
# "a bank holiday" is a date, not the weather or travel ("38.3 on a bank holiday")
_BANK_HOLIDAY_RE = re.compile(r"\bbank\s+holidays?\b")
_HOLIDAY_WORDS = frozenset({"holiday", "holidays"})
# a number that ends a sentence: the word after it does not label it ("37.9. day 12")
_SENTENCE_END_RE = re.compile(r"\s*[.!?;]")
_WORD_RE = re.compile(r"[a-z0-9%]+(?:['\-][a-z0-9]+)*|%")

FAHRENHEIT_RANGE = (90.0, 113.0)
CELSIUS_RANGE = (34.0, 45.0)
# Readings kept after conversion; below LOW_READING_MIN_C a number is not judged low
# (it is more likely the weather than a body temperature) but does not count as
# normal either, so "my temperature is 33.5 C" still escalates on the word.
READINGS_RANGE_C = (CELSIUS_RANGE[0] - 4, CELSIUS_RANGE[1])
LOW_READING_MIN_C = CELSIUS_RANGE[0]
_EPSILON = 1e-9


@dataclass(frozen=True)
class Reading:
    """One stated temperature.

    Attributes:
        celsius: the value in degrees C (Fahrenheit converted, 2 decimals).
        strong: enough evidence to treat a value below the low threshold as a low
            body temperature (see the module docstring).
        start: character offset of the number in the normalised message (-1 if
            unknown), so the screen can tell which clause it is in.
    """

    celsius: float
    strong: bool
    start: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class TemperatureVerdict:
    """How a message's readings compare with the thresholds.

    Attributes:
        high: a reading at or above the high threshold.
        low: a strong reading from ``LOW_READING_MIN_C`` up to (not including) the low
            threshold.
        normal: at least one reading in the normal range (low threshold up to, not
            including, the high threshold).
    """

    high: bool = False
    low: bool = False
    normal: bool = False


def find_readings(
    normalised: str, norms: Iterable[str], words: TemperatureWords | None = None
) -> List[Reading]:
    """The temperatures stated in a message, in message order.

    Args:
        normalised: output of ``bot.components.safety.normalise_text``.
        norms: the canonical token norms of the message (for context words).
        words: the word lists (``config/safety/temperature.yml``); default: those of
            the default safety lexicon.

    Returns:
        One :class:`Reading` per number judged to be a temperature.
    """
    if words is None:
        words = default_lexicon().temperature
    readings: List[Reading] = []
    normalised, matches = _numbers(normalised)
    if not matches:
        return readings
    norm_set = frozenset(norms)
    has_context = not words.context.isdisjoint(norm_set)
    has_body_context = not words.body_context.isdisjoint(norm_set)
    environment = _environment(normalised, norm_set, words)
    other_words = len(_WORD_RE.findall(_NUMBER_RE.sub(" ", normalised)))
    bare = other_words <= 2 and len(matches) == 1
    if environment and not has_body_context:
        # "38 degrees in the shade", "35 degrees this weekend": the weather, unless the
        # message also speaks of a (body) temperature, fever, shivering or feeling cold
        return readings
    # a whole number after "I'm" is an age ("I'm 35") unless the message speaks of
    # temperature ("I'm 39 on the thermometer") and no other number is plainly the
    # reading ("I'm 38 and my temp is 36.8": an age)
    plain_readings = sum(_plain_reading(m) for m in matches)
    for match in matches:
        raw, unit = match.group("num"), (match.group("unit") or "").replace(" ", "")
        value = float(raw.replace(",", "."))
        has_decimal = "." in raw or "," in raw
        whole_label = not has_decimal and (plain_readings > 0 or not has_context)
        explicit = bool(unit)
        if unit.endswith("f") or unit.endswith("fahrenheit"):
            scale = "F"
        elif (
            unit.endswith(("c", "celsius", "centigrade"))
            or CELSIUS_RANGE[0] <= value <= CELSIUS_RANGE[1]
        ):
            scale = "C"
        elif FAHRENHEIT_RANGE[0] <= value <= FAHRENHEIT_RANGE[1]:
            scale = "F"
        else:
            continue
        if not explicit:
            if raw in words.service_numbers:
                continue
            if _labelled_as_something_else(normalised, match, words, whole_label):
                continue
            if not (has_context or has_decimal or bare):
                continue
        celsius = value if scale == "C" else (value - 32.0) * 5.0 / 9.0
        celsius = round(celsius, 2)
        if READINGS_RANGE_C[0] <= celsius <= READINGS_RANGE_C[1]:
            strong = has_body_context or ((explicit or bare) and not environment)
            readings.append(Reading(celsius, strong, match.start("num")))
    return readings


def _plain_reading(match: re.Match) -> bool:
    """A number with a decimal point or a temperature unit ("36.8", "38C")."""
    raw = match.group("num")
    return "." in raw or "," in raw or bool(match.group("unit"))


def _numbers(normalised: str) -> Tuple[str, List[re.Match]]:
    """The text with clock times blanked and spoken numbers written as digits (same
    length, so offsets still match the message), and its number matches."""
    normalised = _TIME_RE.sub(lambda m: " " * len(m.group()), normalised)
    normalised = _APOSTROPHE_DECIMAL_RE.sub(r"\1.\2", normalised)
    normalised = _spoken_numbers(normalised)
    normalised = _SPOKEN_DECIMAL_RE.sub(
        lambda m: f"{m.group(1)}.{m.group(2)}".ljust(len(m.group())), normalised
    )
    return normalised, list(_NUMBER_RE.finditer(normalised))


def _environment(
    normalised: str, norms: FrozenSet[str], words: TemperatureWords
) -> bool:
    """The message speaks of the weather, storage or water ("38 degrees in Perth");
    "holiday" only when it is not "a bank holiday"."""
    found = words.environment & norms
    if found and found <= _HOLIDAY_WORDS:
        without_dates = _BANK_HOLIDAY_RE.sub(" ", normalised)
        if not any(w in _HOLIDAY_WORDS for w in _WORD_RE.findall(without_dates)):
            found = frozenset()
    return bool(found) or bool(_DEGREES_IN_PLACE_RE.search(normalised))


def weather_number(
    normalised: str, norms: Iterable[str], words: TemperatureWords | None = None
) -> bool:
    """True if a number in the body-temperature range is read as the weather, storage
    or water rather than a reading ("it's 38 degrees in Perth", "bath water at 39"):
    an environment word and no body-context word (:func:`find_readings` reads no
    temperature in such a message)."""
    if words is None:
        words = default_lexicon().temperature
    normalised, matches = _numbers(normalised)
    norm_set = frozenset(norms)
    if not _environment(
        normalised, norm_set, words
    ) or not words.body_context.isdisjoint(norm_set):
        return False
    for match in matches:
        value = float(match.group("num").replace(",", "."))
        if CELSIUS_RANGE[0] <= value <= CELSIUS_RANGE[1]:
            return True
        if FAHRENHEIT_RANGE[0] <= value <= FAHRENHEIT_RANGE[1]:
            return True
    return False


def _labelled_as_something_else(
    normalised: str, match: re.Match, words: TemperatureWords, whole_label: bool
) -> bool:
    """True if the word before or after the number says what else it is (a word of
    ``labels_before_whole`` only when ``whole_label``: a whole number, in a message
    with no temperature word or with another number that has a decimal or a unit; so
    "I'm 35" and "I'm 38 and my temp is 36.8" are ages while "I'm 38.2" and "I'm 39 on
    the thermometer" are readings)."""
    before = [
        w
        for w in _WORD_RE.findall(normalised[: match.start()])[-4:]
        if w not in words.fillers_before
    ]
    tail = normalised[match.end() : match.end() + 24]
    after = [] if _SENTENCE_END_RE.match(tail) else _WORD_RE.findall(tail)
    labels = words.labels_before
    if whole_label:
        labels = labels | words.labels_before_whole
    if before and (before[-1] in labels or before[-1].isdigit()):
        return True
    return bool(after and (after[0] in words.labels_after or after[0].isdigit()))


def judge(
    readings: Iterable[Reading], low_threshold_c: float, high_threshold_c: float
) -> TemperatureVerdict:
    """Compare readings with the red-flag thresholds.

    Args:
        readings: from :func:`find_readings`.
        low_threshold_c: readings below this are low (``red_flags.low_temperature_
            threshold_c``).
        high_threshold_c: readings at or above this are high
            (``red_flags.temperature_threshold_c``).

    Returns:
        Which kinds of reading the message has (a message can have several).
    """
    high = low = normal = False
    for reading in readings:
        celsius = reading.celsius
        if celsius >= high_threshold_c - _EPSILON:
            high = True
        elif celsius >= low_threshold_c - _EPSILON:
            normal = True
        elif reading.strong and celsius >= LOW_READING_MIN_C - _EPSILON:
            low = True
    return TemperatureVerdict(high=high, low=low, normal=normal)
