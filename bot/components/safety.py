"""Deterministic safety layer: force ``red_flag`` / ``crisis`` / ``ask_personal_advice`` /
``other_language`` intents.

``SafetyIntentOverride`` runs LAST in the NLU pipeline (after the trained classifier and
``FallbackClassifier``). It never lets a statistical model decide whether a message about
a fever, bleeding, suicide or a dose gets the safe answer:

1. Red flags (spaCy ``Matcher`` over a blank English tokenizer, no model download):
   fever / high or low temperature / shivering / rigors, a temperature reading at or
   above the high threshold or below the low threshold in ``config/safety.yml`` (C or F;
   see ``bot/components/temperature.py``), feeling unwell whatever the temperature
   ("I feel awful since my chemo", "he's just not right"), not able to eat
   or drink, no urine, breathlessness, chest pain, bleeding, unusual bruising, vomiting
   or diarrhoea that will not stop, a red / hot / swollen / leaking PICC or port site,
   confusion, collapse, severe pain; common misspellings, carer wording and red-flag
   words in other languages. -> intent ``red_flag`` (confidence 1.0).
2. Crisis phrases (suicide, self-harm, overdose intent, "better off without me", ...)
   -> intent ``crisis``, unless a physical red flag is also present: then ``red_flag``
   wins (it is the more time-critical answer) and ``message["safety"]["also_crisis"]``
   is ``True`` so the dialogue can add the crisis lines too.
3. Personal treatment decisions (doses, missed doses, stopping or delaying, other
   medicines / alcohol / food, "is it right for me", prognosis, "what does my result
   mean for me") -> intent ``ask_personal_advice``. Red flags and crisis always win.
4. Otherwise, messages mostly in a non-Latin script, or mostly common French / Spanish /
   German / Italian / Portuguese / Dutch / Polish function words -> ``other_language``.
5. The reverse check: if the classifier itself chose ``red_flag`` or ``crisis`` but the
   screen found nothing and the message has no content words at all (only numbers,
   markup, template syntax or function words: ``{{7*7}}``, ``500 or 1000``), the
   prediction has nothing to stand on and becomes ``nlu_fallback``. Messages with
   content words keep the classifier's safety intent (over-escalation is the safe error).

Forced predictions are marked with ``message["safety"]`` (an output property, so it shows
in the parse result and tracker): ``{"forced_by", "intent", "reasons", "also_crisis",
"overridden_intent"}``. ``reasons`` are category labels, never user text.

The matching logic is the plain class :class:`SafetyScreen` (no Rasa needed), so it can
be unit-tested and reused (e.g. by a channel) directly.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Sequence, Tuple

import spacy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from spacy.matcher import Matcher
from spacy.tokens import Doc

from bot.components.temperature import find_readings, judge
from bot.settings import DEFAULT_LOW_TEMPERATURE_THRESHOLD_C, load_settings

logger = logging.getLogger(__name__)

INTENT_RED_FLAG = "red_flag"
# A red flag and crisis wording in one message: its own rule sends the urgent message, then
# crisis support, with domain responses only (data/stories/rules_safety.yml).
INTENT_RED_FLAG_CRISIS = "red_flag_crisis"
INTENT_CRISIS = "crisis"
INTENT_OTHER_LANGUAGE = "other_language"
INTENT_PERSONAL_ADVICE = "ask_personal_advice"
SAFETY_INTENTS: FrozenSet[str] = frozenset(
    {INTENT_RED_FLAG, INTENT_RED_FLAG_CRISIS, INTENT_CRISIS}
)
NO_CONTENT_REASON = "no_content"
SAFETY_KEY = "safety"
TEMPERATURE_REASON = "temperature_reading"
LOW_TEMPERATURE_REASON = "low_temperature_reading"
TEMPERATURE_MENTION = "temperature"

# ---------------------------------------------------------------------------------------
# Normalisation. Text is lower-cased, accents are stripped ("fièvre" -> "fievre",
# "gorączka" -> "goraczka") and curly apostrophes straightened before tokenising; then
# each token's NORM is mapped through TYPOS so patterns are written once, in canonical
# spelling. spaCy's own norms already turn "n't"/"nt" into "not" and "ca" into "can"
# ("can't", "cant", "cannot" -> "can not").
# ---------------------------------------------------------------------------------------
_TYPO_GROUPS: Dict[str, Sequence[str]] = {
    "fever": ("feaver", "fevar", "fevor", "fevre", "feavor", "fver", "feverr", "fevah"),
    "fevers": ("feavers", "fevres"),
    "feverish": ("feaverish", "feverrish", "feverishh", "fevrish"),
    "temperature": (
        "temprature",
        "tempreture",
        "temperture",
        "tempature",
        "temparature",
        "tempurature",
        "temperatue",
        "tempertaure",
        "temprture",
        "tempeture",
        "temperatur",
        "temperatura",
        "temperatuur",
        "temperaturu",
    ),
    "shivery": ("shivvery", "shivry", "shiverry", "shivey"),
    "shivering": ("shivvering", "shiverring", "shivring", "shiveing"),
    "shivers": ("shivvers",),
    "rigors": ("rigours", "rigers", "rigor", "rigour"),
    "chills": ("chils", "chillls"),
    "breathless": ("breathles", "breathlesss", "brethless", "breatheless", "breathlss"),
    "breathlessness": ("breathlesness", "breathlessnes"),
    "breathe": ("breth", "brethe", "breate", "breathee"),
    "breathing": ("breathin", "brething", "breating", "breathng"),
    "diarrhoea": ("durchfall", "diarrhee", "diarreia", "diarree", "biegunka"),
    "vomiting": (
        "vomitting",
        "vomitng",
        "vommiting",
        "vommitting",
        "vomitin",
        "vomming",
    ),
    "vomit": ("vommit", "vomet"),
    "vomited": ("vomitted", "vommited", "vommitted"),
    "bruising": ("brusing", "bruiseing", "bruisng", "bruzing", "bruseing"),
    "bruises": ("bruses", "bruzes"),
    "bruise": ("bruse", "bruize"),
    "bleeding": ("bleding", "bleeeding", "bledding", "bleading", "bleedin", "bleedng"),
    "bleed": ("blead", "bleedd"),
    "nosebleed": ("nosebleeds", "nosebleeding", "nosebled"),
    "confused": (
        "confussed",
        "confuzed",
        "confussd",
        "confusd",
        "confued",
        "confusedd",
    ),
    "confusion": ("confussion", "confusian", "confution"),
    "unwell": ("unwel", "unwelll"),
    "palpitations": ("palpatations", "palpitation", "palpatation", "palpitaions"),
    "seizure": ("siezure", "seisure", "seizures", "siezures", "seizing"),
    "unconscious": ("unconcious", "unconsious"),
    "goraczka": ("goraczke", "goraczki", "goraczce"),
}
TYPOS: Dict[str, str] = {
    variant: canonical
    for canonical, variants in _TYPO_GROUPS.items()
    for variant in variants
}
# diarrhoea is misspelled in more ways than any list can hold: diarhoea, diarrea,
# diahrea, diarrhea, diorrhea, diarreah, ... (length >= 6 keeps out "dire").
_DIARRHOEA_RE = re.compile(r"^d[iy][aeo]?h?r{1,2}h?[aeo]{1,3}h?s?$")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
# Markup and template delimiters separate words: "<i>fever</i>" must read as "fever",
# "captem?</b>" as "captem ?" and "temp=38.5" as "temp 38.5". spaCy would otherwise keep
# "fever</i" as one token and no pattern could see the word.
_SEPARATORS = str.maketrans({c: " " for c in "<>/\\{}[]|="})
# Whole HTML-like tags ("<img src=x onerror=...>"), removed when deciding whether a
# message has any content words at all.
_TAG_RE = re.compile(r"<\s*/?\s*[a-z!][^<>]*>", re.IGNORECASE)


def normalise_text(text: str) -> str:
    """Lower-case, strip accents, straighten apostrophes, split markup (keeps scripts).

    ``< > / \\ { } [ ] | =`` become spaces, so HTML or template syntax around a word
    never hides it from the matchers.

    Args:
        text: raw user text.

    Returns:
        The normalised text (same script; Latin accents removed).
    """
    # "º" (ordinal indicator, often typed for degrees) would decompose to "o".
    text = (
        text.replace("\u00ba", "\u00b0").translate(_APOSTROPHES).translate(_SEPARATORS)
    )
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).lower()


def canonical_norm(norm: str) -> str:
    """Map a token norm to its canonical spelling (typos, some foreign words)."""
    mapped = TYPOS.get(norm)
    if mapped:
        return mapped
    if 6 <= len(norm) <= 12 and norm[0] == "d" and _DIARRHOEA_RE.match(norm):
        return "diarrhoea"
    return norm


# ---------------------------------------------------------------------------------------
# Pattern mini-language (compiled to spaCy Matcher patterns on the canonical NORM):
#   "a|b|c"   one token, any of the alternatives; "being+sick" is a two-token alternative
#   "x?"      the group is optional           "_"  any one token, optional
#   "#"       a number-like token             "@NAME" a macro from _MACROS
# Alternatives are tokenised like user text ("can't" -> "can not"), so write them naturally.
# ---------------------------------------------------------------------------------------
_MACROS: Dict[str, str] = {
    "POSS": ("my|his|her|their|your|our|the|mums|dads|husbands|wifes|partners"),
    "VERY": "very|really|so|quite|extremely|suddenly|seriously|terribly|properly",
    "VD": (
        "vomiting|vomit|vomits|vomited|puking|puke|diarrhoea|the+runs|being+sick|been+sick"
        "|was+sick|is+sick|throwing+up|thrown+up|threw+up|loose+stools|loose+poo"
        "|watery+poo|watery+stools"
    ),
    "STOP": (
        "stop|stopped|stopping|stops|settle|settled|settling|ease|eased|easing|improve"
        "|improved|improving|gone|go+away|going+away|clear|cleared|end|ended|let+up"
        "|calm+down|slow+down"
    ),
    "NOT": "not|never",
    # "can't" / "cannot" tokenise to "can not"
    "CANT": (
        "can+not|could+not|unable+to|unable|not+able+to|struggling+to|struggle+to"
        "|struggled+to"
    ),
    "SELF": "myself|himself|herself|themselves|themself|meself|ourselves|yourself",
    "POO": (
        "poo|poos|poop|stool|stools|urine|wee|pee|vomit|sick|spit|phlegm|mucus|sputum"
        "|toilet|nappy|pants|underwear|bowel|bowels|motions|motion|wees|pees"
    ),
    "PAIN": (
        "pain|pains|ache|aches|aching|headache|headaches|cramps|cramping|stomachache"
        "|tummyache|bellyache|stomach+ache|tummy+ache|belly+ache|tummy+pain"
    ),
    "MEDS": (
        "tablets|tablet|pills|pill|capsules|capsule|caps|tabs|meds|medication|medications"
        "|medicine|medicines|painkillers|drugs|sleeping+pills|sleeping+tablets|morphine"
        "|chemo|paracetamol|oxycodone|opioids|stash|lot|supply"
    ),
    # Who a personal question is about. Single tokens only (each multi-token
    # alternative multiplies the Matcher patterns); "my husband" is written
    # "@POSS? @WHO" in the patterns.
    "WHO": "i|we|he|she|they|you|u|mum|dad|husband|wife|partner",
    # like WHO without the generic "you" ("do you take it with food" is general)
    "ME": "i|we|he|she|they|mum|dad|husband|wife|partner",
    "SEVERE": (
        "severe|extreme|excruciating|unbearable|terrible|agonising|agonizing|horrendous"
        "|intense|crippling|awful|worst|horrible|dreadful|really+bad|very+bad|so+bad"
        "|really+severe|very+severe"
    ),
}

# Physical red flags: category -> patterns. All are negation-aware (see _negated).
RED_FLAG_PATTERNS: Dict[str, List[str]] = {
    # Any mention of (a) temperature. Over-escalates knowledge questions such as "what
    # temperature should I call at?" on purpose (the urgent answer gives the threshold);
    # "room temperature" is excluded below, and the label is dropped when the message
    # states readings that are all in the normal range ("my temperature is 37.2").
    TEMPERATURE_MENTION: [
        "temperature|temperatures",
        "high|raised|spiking|spiked|running|got|have|has|had|a|with|checked|check _ temp",
        "temp|temps of|is|was|went|spiked|spiking|up|high|reading|reads|at|keeps",
        # a low temperature is a red flag too
        "low|lower|dropped|dropping|falling|cold temp|temps",
        "temp|temps feels|feel|seems|seem|dropped|dropping|fallen|falling|fell|gone|went"
        "|low|under|below",
    ],
    "fever": [
        "fever|fevers|feverish|febrile|pyrexia|pyrexial|hyperthermia|fevery",
        "feel|feeling|feels|felt|going|gone|been|is|am|are|was|were|'s|really|very|so|all"
        " hot and|&|n shivery|shivering|cold|shaky|sweaty|clammy",
        "burning up",
        "feel|feeling|feels|felt @VERY? hot|boiling|burning",
        "hot to the? touch",
        "shivery|shivering|shivers|rigors|chills|shaking",
        "cold sweats|sweat",
        # other languages (accents stripped)
        "fievre|fiebre|fieber|febbre|febre|koorts|goraczka|calentura|gorecz|febra",
        "frissons|frisson|escalofrios|escalofrio|schuttelfrost|brividi|calafrios|rillingen"
        "|dreszcze|koude+rillingen",
    ],
    "infection": [
        "sepsis|septic",
        "have|has|got|getting|caught|developed|think an|a? infection|infections",
    ],
    "unwell": [
        "unwell",
        "feel|feeling|feels|felt @VERY? @VERY? ill|poorly|awful|terrible|dreadful"
        "|horrendous|horrible|rough",
        "@VERY ill|poorly",
        "taken ill|poorly",
        "suddenly worse",
        "not himself|herself|themselves|myself",
        # feeling unwell with a normal temperature is a red flag too (The Christie)
        "feel|feeling|feels|felt @VERY? rubbish|lousy|grim|crap|crappy|wretched"
        "|like+death|like+rubbish|like+crap",
        "@NOT feel|feeling|feels|felt _? right|well|myself|good|great",
        "@ME|something|son|daughter am|is|are|'s|seems|seem|looks|look|been just|really"
        "|quite|definitely|simply? not right|well|himself|herself|themselves",
        "@CANT get|keep|stay warm",
        "feel|feeling|feels|felt|am|is|'s @VERY? cold|freezing and|&|n shaky|shivery"
        "|shivering|clammy|sweaty|unwell",
        "malaise",
        "me siento|encuentro muy? mal",
        "me sens|sent tres? mal",
        "mich sehr? schlecht|krank",
        "sto molto? male",
        "dehydrated|dehydration",
        "@CANT drink|eat+or+drink anything|any|fluids|water|liquids|at+all",
        # "mouth ulcers so bad I can't eat or drink", "I can't swallow", "unable to
        # drink"; but not "I can't eat spicy food" or "I can't drink alcohol on chemo".
        "@CANT eat+or+drink|eat+and+drink|eat+nor+drink|eat+drink",
        "@CANT drink|swallow .|!|?|,|;|and|or|because|since|enough"
        "|properly|fluids|water|liquids|liquid|drinks|my+own+saliva|at+all",
        "@CANT swallow anything|any|food|fluids|water|liquids|drinks",
        "not|hardly drinking|eating+or+drinking anything|enough|fluids",
    ],
    # No urine for hours ("not peed all day", "hasn't had a wee since yesterday").
    "no_urine": [
        "not|never|hardly|barely peeing|weeing|urinating|passing+urine|passed+urine"
        "|passing+water|passed+water|peed|weed|urinated|pee|wee|pees|wees|urinate",
        "not|never|hardly|barely had|done|passed|produced|made|been+for a|any|much? wee"
        "|pee|urine|wees|pees",
        "no|hardly+any|barely+any|very+little urine|wee|pee|wees|pees",
        "@CANT pee|wee|urinate|pass+urine|pass+water",
    ],
    # A swollen, painful leg or arm (possible blood clot).
    "clot": [
        "leg|legs|calf|calves|arm|thigh _ _? swollen|swelling|swelled|puffy",
        "swollen|swelling|painful|red|hot leg|calf|arm|thigh",
        "blood clot|clots",
        "dvt|thrombosis|embolism",
    ],
    # Yellow skin or eyes (jaundice).
    "jaundice": [
        "jaundice|jaundiced",
        "skin|eyes|eye|whites _ _ _ _? yellow|yellowish|yellowing|yellowy",
        "yellow|yellowish skin|eyes|eye",
        "turned|turning|gone|going|look|looks|looking yellow",
    ],
    # Allergic reaction, often during or soon after an infusion.
    "allergic_reaction": [
        "lips|lip|tongue|face|throat|mouth|eyes|eyelids _ _? swelling|swollen|swell"
        "|swelled|puffy|tingling|tight|closing",
        "swelling|swollen of? @POSS? lips|lip|tongue|face|throat",
        "allergic reaction|reactions",
        "anaphylaxis|anaphylactic|hives",
        "rash all over",
    ],
    # PICC line, port or central line site that looks infected or is leaking.
    "line_site": [
        "picc|piccline|portacath|port-a-cath|hickman|cannula|central+line|port+site"
        "|line+site|my+port|my+line|the+port|his+port|her+port|his+line|her+line _ _ _ _"
        " red|redness|hot|warm|swollen|swelling|leaking|leaky|leak|leaks|oozing|weeping"
        "|painful|sore|tender|inflamed|infected|pus|hurts|hurting|throbbing|bleeding"
        "|blocked|puffy|lump",
        "red|redness|hot|swollen|swelling|leaking|oozing|pus|pain|painful|sore|inflamed"
        "|infected around|near|at|by|where|from|over @POSS? picc|piccline|portacath"
        "|hickman|cannula|central+line|port|line+site|port+site",
    ],
    "breathing": [
        "breathless|breathlessness|breathlessly|wheezing|wheezy|gasping",
        "short|shortness of breath",
        "out of breath",
        "can|could|will not breathe|breath|breathing",
        "unable|struggling|struggle|struggles|struggled|fighting|gasping|fight|gasp"
        " to|for? breathe|breath|air",
        "difficulty|difficulties|trouble|problems|problem|hard|difficult|labored"
        "|laboured|painful to|with|when? breathe|breath|breathing",
        "breathing is|feels|seems|has+been|became|getting @VERY? hard|difficult|laboured"
        "|labored|heavy|fast|rapid|shallow|noisy|bad|worse|strange|funny|weird",
        "catch @POSS? breath",
        "can|could not catch @POSS? breath",
        "atemnot|luftnot|kurzatmig|essouffle|essoufflee|kortademig|benauwd|dusznosc"
        "|dispnea|dyspnee|dyspnoe|dyspnoea|dyspnea",
        "dificultad|dificultades|falta para|de respirar|aire|ar",
        "no|nao puedo|consigo respirar",
        "difficulte|difficultes|mal a|pour respirer",
        "mancanza di respiro|aria",
        "fiato corto",
        "affanno",
        "non riesco a respirare",
    ],
    "chest": [
        "chest pain|pains|ache|aches|aching|tightness|tight|pressure|hurts|hurting"
        "|discomfort|heavy|heaviness|crushing",
        "chest feels|is tight|heavy|painful|sore",
        "pain|pains|tightness|ache|pressure|heaviness in|across|on|around @POSS? chest",
        "tight|heavy|crushing|painful chest",
        "heart attack",
        "angina|palpitations",
        "heart is? racing|pounding|fluttering|thumping",
        "racing|pounding|irregular heart|heartbeat",
        "dolor|dolores en|de el? pecho",
        "dolor toracico",
        "douleur|douleurs thoracique|thoraciques",
        "douleur|douleurs|mal a|dans la poitrine",
        "brustschmerz|brustschmerzen|herzrasen",
        "schmerzen|druck in|auf der brust",
        "dolore|dolori al|nel petto",
        "dolore toracico",
        "dor|dores no peito",
        "dor toracica",
        "pijn op de borst",
        "bol w klatce",
    ],
    "bleeding": [
        "bleeding|bleed|bleeds|bled|haemorrhage|hemorrhage|haemorrhaging|hemorrhaging"
        "|nosebleed|haematemesis|melaena|melena|haematuria|hematuria",
        "nose -? bleed|bleeds|bleeding",
        "blood in|on|from|when @POSS? @POO",
        "blood in|on|from|when @POSS? my? nose|mouth|gums|bum|back+passage",
        "bloody @POO|diarrhoea|nose|phlegm|mucus",
        "cough|coughing|coughed|coughs|vomiting|vomit|vomited|spitting|spat|passing"
        "|passed|peeing|weeing|pooing|bringing|brought|throwing|sick|sicking up? blood",
        "black|tarry|maroon @POO",
        "poo|poos|poop|stool|stools|motions|wee|urine|pee|sick|vomit is|are|looks|look|was"
        "|were @VERY? black|tarry|bloody",
        "sangrado|sangrando|sangra|hemorragia|saignement|saignements|saigne|blutung"
        "|blutungen|blutet|sanguinamento|sanguina|sangramento|bloeding|bloedt|krwawienie"
        "|krwawi",
        "sangre en",
        "sang dans",
        "blut im|in",
        "sangue nelle|nel|na|no|nas|nos",
        "bloed in|bij",
        "krew w",
    ],
    "bruising": [
        "bruising|bruises|bruise|bruised|bruisy|petechiae|petechia",
        "purple|blood spots|dots|patches",
        "tiny|small|pinprick red|purple spots|dots",
        "moratones|moreton|moretones|hematomas|hematomes|bleus|hamatome|lividi"
        "|siniaki",
        "blaue|blauwe flecken|plekken",
        "manchas roxas|moradas",
    ],
    "confusion": [
        "confused|confusion|disorientated|disoriented|disorientation|delirious|delirium",
        "not making sense",
        "talking nonsense|gibberish",
        "hard|difficult|impossible|unable to wake|rouse",
        "will|would not wake|rouse",
        "can|could not wake|rouse him|her|them|my|mum|dad|husband|wife|partner",
        "unresponsive|unconscious|collapsed|collapse|collapses|fainted|fainting|faint"
        "|seizure|convulsing|convulsions",
        "passed|blacked out",
        "having|had a fit",
        "verwirrt|verward|desorientado|desorientada|confuso|confusa|desoriente",
    ],
    "severe_pain": [
        "@SEVERE _ _ @PAIN",
        "@PAIN is|are|has+been|getting|so|really|very severe|unbearable|excruciating"
        "|terrible|awful|agonising|agonizing|worse|bad|horrendous",
        "agony|agonising|agonizing",
        "dolor fuerte|intenso|insoportable|severo|terrible",
        "mucho|muchisimo|fuerte dolor",
        "douleur|douleurs intense|intenses|insupportable|insupportables|forte|atroce",
        "forte|fortes douleur|douleurs",
        "starke|heftige|unertragliche|extreme schmerzen",
        "dolore|dolori forte|forti|intenso|insopportabile",
        "forte dolore",
        "dor forte|intensa|insuportavel",
        "muita dor",
        "hevige|ernstige|erge pijn",
        "silny|ogromny bol",
    ],
}

# Persistent vomiting / diarrhoea: "diarrhoea" alone is a side-effect question; with a
# qualifier it is a red flag.
RED_FLAG_PATTERNS["vomiting_diarrhoea"] = [
    "@VD _ _ _ @NOT @STOP",
    "@VD _ _ _ non|nonstop|constantly|continuously|constant",
    "@CANT stop @VD",
    "keep|keeps|kept|constantly|continuously|repeatedly|nonstop|still @VD",
    "non -? stop @VD",
    "@VD _ _ _ all day|night|morning|afternoon|evening|weekend|week",
    "@VD _ _ for # hours|days|hrs",
    "@VD _ _ _ over|than|#|several|many|lots|loads|multiple # times",
    "@VD _ _ _ #|several|many|lots|loads|multiple times",
    "severe|uncontrollable|constant|continuous|persistent|explosive|profuse|violent"
    "|nonstop|terrible|awful|horrendous|relentless|really+bad|very+bad @VD",
    "sick all day|night",
    "sick _ _ # times",
    "@CANT keep|keeping|hold|holding _ _ _ down",
    "not keeping|holding _ _ _ down",
]

# Crisis phrases. Not negation-aware (over-escalation is safe: "I'm not suicidal"
# still gets the crisis lines), except "want to die" ("I don't want to die" is fear of
# the illness, not suicidal intent).
CRISIS_PATTERNS: Dict[str, List[str]] = {
    "suicide": [
        "suicide|suicidal|suicidio|suicidarme|suicidar|selbstmord|suizid|suizidal"
        "|zelfmoord|samobojstwo|suicidaire|suicida",
        "kill|killing|end|ending|off|offing|top|topping @SELF",
        "end|ending|take|taking @POSS own? life",
        "end|ending|finish it all",
        "better off without|dead me|him|her|us",
        "better off dead",
        "better off if|when i|he|she was|were|am dead|gone",
        "not want to be here anymore|any+more|no+more",
        "not want to be alive",
        "not want to live|exist|wake+up|live+anymore|go+on+anymore|go+on+like+this"
        "|go+on+living|carry+on+anymore|carry+on+like+this|carry+on+living",
        "no point in|of? going+on|carrying+on|living|life|anymore|any+more",
        "what is|'s the point in|of? living|going+on|life|anything",
        "nothing|no+reason|no+one to live for",
        "not worth living",
        "wish i|he|she was|were dead",
        "wish i|he|she could die",
        "rather be dead",
        # "I can't go on" but not "I can't go on holiday": the message end counts as
        # punctuation (see SafetyScreen._doc).
        "can|could not go|carry on .|!|?|,|;|anymore|any+more|like+this|living|with+life",
        "can not cope|take|bear it|this|life? anymore|any+more",
        "take|taking|took|taken an|a overdose",
        "overdose on",
        "overdose|od deliberately|intentionally|on+purpose",
        "lethal|fatal|deadly dose|amount|overdose|quantity",
        # "swallow all my temozolomide capsules", "take the whole box" (but see
        # CRISIS_EXCLUSION_PATTERNS for "do I take all the capsules at once?")
        "take|taking|took|taken|swallow|swallowing|swallowed|down|downing|neck all|every"
        " @POSS? _? _? @MEDS",
        "take|taking|took|taken|swallow|swallowing|swallowed the|a whole|entire lot|box"
        "|bottle|packet|pack|supply|strip|tub",
        "how many|much _ _ _ _ to|would|will|could|it+takes+to kill|end @SELF|me|it+all",
        "how many|much _ _ _ _ to|could|it+takes+to die|overdose|od",
        "enough _? _? to kill|end @SELF|me|it+all",
        "enough _? _? to die|overdose|od",
        # "...and not wake up", "I hope I never wake up"
        "and|to|then|just|&|n|or not|never wake|waking up",
        "hope|wish|want|pray i|we? do|would|will|did? not|never wake|waking up",
        "saving|saved|stockpiling|stockpiled|hoarding|hoarded|collecting|collected|storing"
        " up? @POSS? _? @MEDS",
        "never wake|waking up again",
        "no|nothing reason|purpose|point to|for live|living|life|be+alive|stay+alive"
        "|keep+going",
        "give|giving|given up on life|living",
        "quiero morir|morirme|matarme",
        "me quiero morir",
        "je veux mourir",
        "me tuer",
        "ich will|mochte sterben",
        "mich umbringen",
        "voglio morire",
        "uccidermi",
        "quero morrer",
        "me matar",
        "ik wil dood",
        "chce umrzec",
    ],
    "self_harm": [
        "self -? harm|harming|harmed|injury|injure|injuring|injured",
        "selfharm|selfharming",
        "hurt|hurting|harm|harming|cut|cutting @SELF",
    ],
}
CRISIS_NEGATABLE = [
    "want|wants|wanted|wanna|plan|planning to die",
    "want|wants|wanna die",
    "wish i|he|she would|could die",
]

# Spans that cancel an overlapping crisis match. Only questions about HOW to take a
# normal dose: temozolomide doses are several capsules taken together, so "do I take
# all the capsules at once?" is a dosing question, not overdose intent. "can I take all
# my tablets" and "what if I take all my pills" are not excluded (over-escalation).
CRISIS_EXCLUSION_PATTERNS: List[str] = [
    "do|does|did|should|shall|must|when|how|where @POSS? @WHO need|have? to? take"
    "|swallow",
    "how|when to take|swallow",
    "supposed|meant to take|swallow",
]

# Spans that cancel an overlapping red-flag match (not crisis matches).
EXCLUSION_PATTERNS: List[str] = [
    "room|fridge|storage|store|ambient|oven|bath|water temperature|temp",
    "store|stored|storing|storage|kept|keep at|below|under|above|in a? room|cool|normal?"
    " temperature|temp",
    # "confused about the difference between CAPTEM and FOLFOX" is about information;
    # "he is confused what day it is" is not, so question words do not exclude.
    "confused|confusing|confusion about|between|regarding|re|whether",
    "confused|confusion as to",
    "confusing",
    "blood test|tests|count|counts|results|result|levels|level|pressure|sugar|work"
    "|cells|cell|transfusion|group|type|thinners|thinner",
    "bleed|bleeding risk|risks",
    "faint|fainter|faintest line|lines|smell|hope|idea|chance|trace",
    "fever|fevers few? _? _ ago",
    # "I wish I wouldn't wake up" is crisis wording, not drowsiness
    "hope|wish|want|pray i|we? do|would|will|did? not|never wake|waking",
    "temperature|temp|temperatures is|was|'s|are|were|has+been|stays|stayed @VERY? normal"
    "|fine|ok|okay|good|stable|down",
    # "will I not feel well after chemo?", "you won't feel right for a few days": what
    # to expect, not how someone feels now.
    "will|would|might|may @WHO? not feel|feeling well|right|good|great",
]


# Personal treatment decisions -> ``ask_personal_advice`` (the answer gives general
# information if any, the personal-advice boundary and the disclaimer). Not
# negation-aware. General knowledge questions ("what is CAPTEM", "how is FOLFOX given",
# "what are the side effects of capecitabine", "what is ki67", "why am I not on chemo")
# must not match: every pattern needs a dose / decision / "for me" cue, not just a
# drug name. Over-capture of a borderline question is acceptable: the reply still
# carries the general information.
_MACROS["INTERACTANT"] = (
    "ibuprofen|paracetamol|acetaminophen|aspirin|nurofen|advil|tylenol|calpol|naproxen"
    "|diclofenac|codeine|cocodamol|codamol|tramadol|morphine|warfarin|rivaroxaban"
    "|apixaban|edoxaban|dabigatran|heparin|phenytoin|allopurinol|antacid|antacids"
    "|gaviscon|omeprazole|lansoprazole|supplement|supplements|vitamin|vitamins|herbal"
    "|herbs|cbd|cannabis|turmeric|curcumin|echinacea|ginseng|ginkgo|grapefruit"
    "|grapefruits|pomelo|alcohol|wine|beer|booze|drink+alcohol|st+john|st+johns|wort"
    "|antibiotic|antibiotics|vaccine|vaccines|vaccination|jab|flu+jab|painkiller"
    "|painkillers|folic|brivudine|sorivudine|antihistamine|antihistamines|laxative"
    "|laxatives|loperamide|imodium|anti-sickness|antiemetic|ondansetron|metoclopramide"
    "|steroids|dexamethasone|homeopathy|homeopathic|melatonin|probiotics|fish+oil"
    "|multivitamin|multivitamins|metformin|statin|statins|a+drink|a+glass|a+pint"
    "|a+few+drinks|glass+of+wine"
)
_MACROS["DRUG"] = (
    "chemo|chemotherapy|treatment|captem|capecitabine|xeloda|temozolomide|temodal"
    "|folfox|folfiri|capox|xelox|cisplatin|carboplatin|etoposide|oxaliplatin|5fu"
    "|fluorouracil|streptozocin|streptozotocin|everolimus|sunitinib|lanreotide"
    "|octreotide|prrt|lutathera|tablets|capsules"
)
_MACROS["TREATMENT"] = _MACROS["DRUG"] + "|it|them|this"
_MACROS["RESULT"] = (
    "ki67|ki-67|mib1|grade|stage|scan|scans|ct|mri|pet|bloods|results|result|levels"
    "|level|count|counts|cga|chromogranin|5hiaa|platelets|neutrophils|biopsy|markers"
    "|marker"
)
PERSONAL_ADVICE_PATTERNS: Dict[str, List[str]] = {
    "dose": [
        "dose|doses|dosage|dosages|dosing|dosed",
        "how many mg|mgs|milligrams|milligram|grams|tablets|tablet|pills|pill|capsules"
        "|capsule|caps|tabs|units|ml",
        "how much _ _ _ _ take|taking|took|prescribed|given|be+on|get",
        "mg|mgs|milligrams|milligram per|a|every kg|kilo|metre|meter|square|m2",
        "m2|bsa|body+surface+area",
        "what|which|how+much|how+many|the|many mg|mgs|milligrams",
        "what|which strength",
        "number|figure|amount|quantity in|of mg|mgs|milligrams|tablets|pills|capsules",
        "just give|tell|say me|us a|the number|figure|amount",
        "give|tell|say me|us a|the number|figure|amount .|!|,|please|then|in|of",
        "double|increase|decrease|reduce|lower|raise|change|adjust|halve|split|cut"
        " @POSS? tablets|pills|capsules|chemo|capecitabine|temozolomide|xeloda|temodal",
        "is|are|that|this|it|mg|mgs|milligrams _ _ _ _? too much|many|strong|weak",
        "can|could|should|do|may @POSS? @ME crush|split|chew|open|dissolve|halve|cut|break",
        "double up",
        "take|taking|have|had|took extra|another|more|fewer|less|half|double|an+extra"
        " tablet|tablets|pill|pills|capsule|capsules|dose",
    ],
    "missed_dose": [
        "missed|miss|missing|forgot|forget|forgotten|forgetting|skipped|skip|skipping"
        " _ _ _ dose|doses|tablet|tablets|capsule|capsules|pill|pills|meds|medication"
        "|medicine|injection|jab|infusion|@DRUG",
        "accidentally|mistakenly|wrongly took|taken|swallowed|had|doubled",
        "forgot|forget|forgotten|forgetting to take|have",
        "vomited|vomit|threw+up|puked|spat+out|been+sick|was+sick _ _ _ after|before"
        " taking|i+took|swallowing",
        "took _ _ _ _ twice|by+mistake|by+accident|accidentally|too+many|too+much|late",
        "taken _ _ _ _ by+mistake|by+accident|accidentally|too+many|too+much",
        "take|taking _ _ _ _ by+mistake|by+accident|accidentally",
    ],
    "stop_or_delay": [
        "should|can|could|may|must|shall|would @POSS? @ME skip|stop|delay|postpone|pause"
        "|cancel|quit|defer|halt|interrupt|miss|come+off|restart|resume|take+a+break"
        "|have+a+break",
        "ok|okay|safe|fine|alright|allowed|possible|dangerous|bad|wise|better|best to"
        " skip|stop|delay|postpone|pause|cancel|quit|defer|halt|interrupt|miss|come+off",
        "if @POSS? @ME skip|skipped|stop|stopped|delay|delayed|postpone|postponed|pause|miss"
        "|quit|come+off|came+off",
        "should|can|could|shall @POSS? @ME still? keep+going|keep+taking|carry+on|continue"
        "|go+ahead",
        "can|could|should|may @POSS? @ME take|have _ _ _ _ early|earlier|late|later|sooner"
        "|instead",
        "@ME will|shall|might skip|stop|delay|postpone|pause|cancel|quit|defer|miss"
        "|come+off",
        "want|wants|wanting|going|planning|considering|decided|deciding|tempted to skip"
        "|stop"
        "|delay|postpone|pause|cancel|quit|defer|come+off",
        "thinking|thought about|of skipping|stopping|delaying|postponing|pausing|quitting"
        "|cancelling|coming+off",
    ],
    "interaction": [
        "interact|interacts|interaction|interactions|interfere|interferes|contraindicated"
        "|contraindication",
        "can|could|should|may|shall|do|would|will|is|are not? @POSS? @WHO? take|have|use|drink"
        "|eat|mix|combine|smoke|try|get|keep|continue _? _? @INTERACTANT",
        "ok|okay|safe|fine|alright|allowed to take|have|use|drink|eat|mix|combine|smoke"
        " _? _? @INTERACTANT",
        "@INTERACTANT _ _ _ _ with|while|whilst|alongside|during|plus",
        "is|are that|it|this|they ok|okay|safe|fine|alright with|alongside|during"
        " @POSS? @TREATMENT",
        "@INTERACTANT _? on|during @TREATMENT",
        "can|could|should|may|shall|to @POSS? @WHO? take|have|use|drink|eat|mix|combine"
        " _ _ _ with|while|whilst|alongside|together|same",
    ],
    "food_timing": [
        "empty|full stomach",
        "@ME take|have|swallow _ _ _ _ with|without|after|before food|meal|meals"
        "|eating|breakfast|dinner|lunch|supper|snack",
        "when|what+time|which+time should|do|shall|must|can @POSS? @ME take",
        "can|should|could|do|may @POSS? @ME take _ _ _ at|in+the|before night|morning|evening"
        "|bedtime|bed",
        "take|taken|taking _ _ _ _ morning|night|evening|bedtime _? or|vs|versus",
    ],
    "suitability": [
        "right|suitable|best|good|appropriate|safe|ok|okay|worth|worthwhile|better|needed"
        "|necessary|effective|work|working|help|option|recommended|choice|decision"
        "|enough _? _? for me|him|her|us|my+mum|my+dad|my+husband|my+wife|my+partner"
        "|my+son|my+daughter|my+case|my+tumour|my+cancer|my+net",
        "should|shall @POSS? @ME still? have|get|start|try|go+on|choose|pick|take|be+on|ask+for"
        "|accept|refuse|decline|consider|switch|change|go+for|agree|do+it|do+that"
        "|go+ahead|say+no|say+yes|trust|ask+to|ask+for|ask+about",
        "think|reckon @POSS? @ME should|shall|need+to",
        "can|could @POSS? @ME still have|take|get|start|go+ahead",
        "worth @ME|me having|taking|trying|it",
        "which|what chemo|chemotherapy|treatment|regimen|drug|option|one should|would"
        "|shall @POSS? @WHO have|get|take|choose|be+on|go+for|pick",
        "what|which _ _ _ you|u recommend|suggest|advise|prescribe",
        "you|u recommend|suggest|advise|prescribe for+me|i|we|me|for+my|for+him|for+her",
        "can|could|should @POSS? @ME conceive|breastfeed|get+pregnant|have+a+baby",
        "if you|u were me",
        "in my shoes|position|situation",
    ],
    "prognosis": [
        "how long do|does|have|has|will|would|might|could|can|'ve @POSS? @WHO live|survive",
        "how long do|does|have|has @POSS? @WHO have|has|got .|?|!|,|;|left|to+live|now|with",
        "how long _ _ _ _ live|survive",
        "how many years|months|weeks will|do|does|have|has @POSS? @WHO have|live|got|left",
        "am|are|is i|he|she|they|we|my+dad|my+mum|my+husband|my+wife|my+partner"
        " going+to+die|dying",
        "is|are|has|have my|his|her|our cancer|tumour|tumours|net|nec|disease terminal"
        "|curable|incurable|treatable|spreading|growing|spread|grown|cured|worse",
        "will|would|can|could|is|going+to @TREATMENT cure|cured me|him|her",
        "what happens|will+happen|happens+next to me|him|her|us",
        "how long have|has @POSS? @WHO got",
        "prognosis|prognoses|outlook|life+expectancy|survival+rate|survival+rates"
        "|survival+chances|chance+of+survival|chances+of+survival|time+left"
        "|months+to+live|years+to+live",
        "my|his|her|our chances|chance|odds",
        "will @POSS? @WHO survive|be+cured|beat+it|beat+this",
    ],
    "results": [
        "mean|means|meaning|say|says|tell|tells for|about me|him|her|us|my",
        "mean|means|say|says on|in my|his|her report|letter|results|scan|notes",
        "what|which stage|grade am|is|are @ME|my",
        "my|his|her @RESULT _ _ _ _ mean|means",
        "my|his|her @RESULT _ _ _ _ is|are|'s|was|were that|this|it|they|mine _? good"
        "|bad|normal|high|low|serious|worrying|concerning|dangerous|ok|okay|worse|better",
        "is|are that|this|it|they|mine|these|those too low|high",
        "is|are that|this|it|they _ _? for me|him|her",
        "my|his|her _? @RESULT _ _ _? high|low|raised|abnormal|elevated|up|down|dropped"
        "|rising|rose|went+up|gone+up|going+up",
    ],
}
# Spans that cancel an overlapping personal-advice match.
PERSONAL_EXCLUSION_PATTERNS: List[str] = [
    "how much time|longer|does+it+cost|do+they+cost|is+it|are+they",
]

# Words that carry no content of their own: a message made only of these (plus numbers,
# markup and punctuation) gives a classifier's red_flag / crisis nothing to stand on
# ("500 or 1000", "ok then roughly, is it more like 500 or 1000?", "{{7*7}}"). Markup
# and script words from injection probes are included; real words that can describe a
# symptom ("alert", "drop") are not.
_NO_CONTENT_WORDS_TEXT = (
    "a an the and or but nor so yet if then than as of to in on at by for with from"
    " into onto about around over under up down out off per via vs versus is are am was"
    " were be been being do does did done have has had having will would shall should"
    " can could may might must it its it's this that these those there here what which"
    " who whom whose when where why how i me my you your he him his she her we us our"
    " they them their s t d m ll re ve ok okay okey k yes yeah yep no nope not please"
    " pls plz just only more less like roughly approx approximately about around maybe"
    " perhaps ish really very quite well hmm hm um umm uh er erm oh ah lol haha anyway"
    " also too any some all each every one two three four five six seven eight nine"
    " ten hundred thousand mg ml x img src onerror onload script javascript href div"
    " span iframe svg http https www html sql null undefined nan eval"
)


def _words(text: str) -> FrozenSet[str]:
    """A frozenset of the whitespace-separated words in ``text``."""
    return frozenset(text.split())


NO_CONTENT_WORDS: FrozenSet[str] = _words(_NO_CONTENT_WORDS_TEXT)


# Negation: a cue within these few tokens before a red-flag match, with only filler
# words in between, suppresses that match ("no fever", "not feverish", "without a
# fever", "I don't have a temperature", "sin fiebre", "kein Fieber"). Deliberately
# narrow: for safety we prefer over-escalation, so knowledge questions ("what counts as
# a fever?") and anything less explicit ("I don't think I have a fever") still escalate.
NEGATION_CUES: FrozenSet[str] = _words(
    "no not without never nor sin sans pas kein keine keinen keinem keiner senza sem"
    " geen zonder nessuna nessun ningun ninguna"
)
NEGATION_FILLERS: FrozenSet[str] = _words(
    "a an any the got have has had having been signs sign symptoms symptom of real"
    " much obvious new feel feeling feels felt de d di da du des un une una uno ein"
    " eine einen hay tengo tiene tenido ho ha tenho tem heb heeft habe hat ai avoir"
    " more further significant"
)
NEGATION_WINDOW = 4

# Non-Latin scripts: tokens are not split for CJK and others, so these are substrings.
NON_LATIN_RED_FLAGS: Dict[str, Sequence[str]] = {
    "fever": (
        "发烧",
        "發燒",
        "发热",
        "發熱",
        "発熱",
        "熱が",
        "高烧",
        "температур",
        "жар",
        "лихорадк",
        "озноб",
        "حمى",
        "حمّى",
        "حرارة",
        "बुखार",
        "열이",
        "고열",
        "ไข้",
        "πυρετ",
        "חום",
        "تب",
    ),
    "breathing": ("呼吸困难", "呼吸困難", "одышк", "задыха", "ضيق في التنفس", "सांस"),
    "chest": ("胸痛", "боль в груди", "ألم في الصدر", "सीने में दर्द"),
    "bleeding": ("出血", "кровотеч", "кровь в", "نزيف", "खून"),
}
NON_LATIN_CRISIS: Sequence[str] = (
    "自杀",
    "自殺",
    "самоубийств",
    "покончить с собой",
    "хочу умереть",
    "انتحار",
    "आत्महत्या",
    "자살",
    "死にたい",
    "想死",
)

# ---------------------------------------------------------------------------------------
# Language check
# ---------------------------------------------------------------------------------------
ENGLISH_WORDS: FrozenSet[str] = _words(
    "the a an is are am was were be been being i you he she it we they me him us them"
    " my your his her our their its what whats which who whom how why when where do"
    " does did done can could will would should shall may might must have has had not"
    " no yes and or but if of to in on at for with about from by this that these those"
    " there here s t m d ll re ve get got give take taking side effects effect chemo"
    " chemotherapy tablet tablets pill pills hi hello hey thanks thank please ok okay"
    " so as also too any some all more most much many very just only like want need"
    " know tell mean means long often after before during while treatment drug drugs"
    " medicine cancer tumour tumor dose doctor nurse team help question ask am wat u r"
    " ur pls plz thx ty ta cheers yeah yep yup nope bye cya lol"
)
_FOREIGN_WORDS: Dict[str, str] = {
    "es": "el la los las un una unos unas de del que qué es son y o en con por para"
    " como cómo cuál cual cuando cuándo dónde donde mi mis tu su sus me te se lo le les"
    " no sí si muy más pero porque quimioterapia tengo tiene estoy está esta hay hola"
    " gracias buenos buenas días dias puedo puede efectos secundarios tratamiento cáncer"
    " medicamento pastillas al este esto eso ser hacer sobre también ya yo usted favor"
    " quiero necesito muchas muchos",
    "fr": "le la les un une des de du et ou est sont que qui quoi quel quelle quels"
    " comment pourquoi quand où je tu il elle nous vous ils mon ma mes ton ta son sa"
    " ses ne pas avec pour dans sur par c j qu ce cette ai suis bonjour merci oui non"
    " chimiothérapie chimio effets secondaires traitement médicament au aux très mais"
    " parce aussi avoir être y en beaucoup",
    "de": "der die das den dem des ein eine einen einem und oder ist sind was wie wer"
    " warum wann wo welche welcher ich du er sie es wir ihr mein meine mit für fur auf"
    " von zu nicht kein keine bei nach auch aber habe hat haben bin hallo danke bitte"
    " guten tag chemotherapie nebenwirkungen behandlung medikament tabletten ja nein"
    " sehr mir mich im am schön",
    "it": "il lo la i gli le un uno una di del della dei e è o che cosa cos come perché"
    " perche quando dove quale sono ho ha hanno mi ti si non con per in su da mio mia"
    " ciao grazie buongiorno chemioterapia effetti collaterali trattamento farmaco anche"
    " ma molto questo questa",
    "pt": "o a os as um uma de do da dos das e é que como quando onde qual porque por"
    " para com em no na não nao sim eu você voce meu minha seu sua tenho tem estou está"
    " olá ola obrigado obrigada quimioterapia efeitos colaterais tratamento remédio mas"
    " muito isso este esta",
    "nl": "de het een en of is zijn hoe wie waarom wanneer waar welke ik jij je hij zij"
    " wij we mijn met voor op van niet geen ook maar heb heeft hebben ben hallo dank"
    " bedankt alstublieft chemotherapie bijwerkingen behandeling medicijn tabletten dat"
    " dit er te naar bij uit wordt worden gegeven hoeveel waarom",
    # Scandinavian: words that are also English ("man", "for", "men") are left out.
    "sv": "och eller är hur vad varför när vilken jag han hon vi ni min mitt med för"
    " på av inte ingen också har hej tack snälla cellgifter biverkningar behandling"
    " läkemedel tabletter tar kan ska",
    "da": "og eller er hvordan hvad hvorfor hvornår hvor jeg han hun vi min mit med på"
    " af ikke også har hej tak kemoterapi bivirkninger behandling tabletter tager",
    "nb": "og eller er hvordan hva hvorfor når hvor jeg han hun vi min mitt med på av"
    " ikke også har hei takk cellegift bivirkninger behandling tabletter tar",
    "pl": "i w z na do jest są nie tak co jak czy dlaczego kiedy gdzie mam ma mój moja"
    " się to dzień dobry dziękuję chemioterapia skutki uboczne leczenie lek",
}
FOREIGN_WORDS: Dict[str, FrozenSet[str]] = {
    lang: frozenset(words.split()) for lang, words in _FOREIGN_WORDS.items()
}


def _index_foreign_words() -> Dict[str, Tuple[str, ...]]:
    """word -> the languages whose list contains it."""
    index: Dict[str, Tuple[str, ...]] = {}
    for lang, vocabulary in FOREIGN_WORDS.items():
        for word in vocabulary:
            index[word] = index.get(word, ()) + (lang,)
    return index


_FOREIGN_INDEX = _index_foreign_words()
_COMMON_WORDS: FrozenSet[str] = (
    ENGLISH_WORDS | NEGATION_CUES | NEGATION_FILLERS | frozenset(_FOREIGN_INDEX)
)
_LETTER_RE = re.compile(r"[^\W\d_]")
_NON_LATIN_LETTER_RE = re.compile(
    r"[^\W\d_a-zA-Z\u00c0-\u024f\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff]"
)
_DENSE_SCRIPT_RE = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_WORD_ANY_SCRIPT_RE = re.compile(r"[^\W\d_]+")


_Match = Tuple[str, int, int]


@dataclass(frozen=True)
class _Rule:
    """One DSL line: a spaCy Matcher plus a cheap gate.

    The matcher only runs if every set in ``gate`` shares a word with the message, so
    the ~290 rules cost a few set checks for an ordinary question.
    """

    label: str
    matcher: Matcher
    gate: Tuple[FrozenSet[str], ...]


class _RuleSet:
    """Rules indexed by their most selective gate word, so a message only visits the
    rules that one of its words can trigger."""

    def __init__(self, rules: List[_Rule]) -> None:
        self.rules = rules
        self._always: List[int] = []
        self._index: Dict[str, List[int]] = {}
        for i, rule in enumerate(rules):
            if not rule.gate:
                self._always.append(i)
                continue
            trigger = min(
                rule.gate,
                key=lambda g: (sum(w in _COMMON_WORDS for w in g), len(g)),
            )
            for word in trigger:
                self._index.setdefault(word, []).append(i)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, norms: Iterable[str]) -> List[_Rule]:
        """Rules (in definition order) that a message with these norms may match."""
        hits = set(self._always)
        for norm in norms:
            found = self._index.get(norm)
            if found:
                hits.update(found)
        return [self.rules[i] for i in sorted(hits)]


@dataclass(frozen=True)
class SafetyResult:
    """What the screen found in one message.

    Attributes:
        red_flags: red-flag categories found (sorted), e.g. ``("fever",)``.
        crisis: crisis categories found (sorted).
        personal_advice: personal-advice categories found (sorted), e.g. ``("dose",)``;
            only looked for when there is no red flag and no crisis.
        other_language: True if the message looks like it is not in English.
        negated: red-flag categories suppressed by an explicit negation.
    """

    red_flags: Tuple[str, ...] = ()
    crisis: Tuple[str, ...] = ()
    personal_advice: Tuple[str, ...] = ()
    other_language: bool = False
    negated: Tuple[str, ...] = ()

    @property
    def intent(self) -> str | None:
        """The intent to force, or None to leave the classifier's prediction alone.

        Priority: red flag (with crisis wording: red_flag_crisis) > crisis > personal
        advice > other language.
        """
        if self.red_flags:
            return INTENT_RED_FLAG_CRISIS if self.crisis else INTENT_RED_FLAG
        if self.crisis:
            return INTENT_CRISIS
        if self.personal_advice:
            return INTENT_PERSONAL_ADVICE
        if self.other_language:
            return INTENT_OTHER_LANGUAGE
        return None


class SafetyScreen:
    """Deterministic red-flag / crisis / language screen for one message at a time.

    Build once (compiles ~290 small matchers: about half a second), then call
    :meth:`screen` (about 0.05-0.15 ms for a typical message; 1-2.5 ms for a
    2000-character message, the channels' limit, full of question wording).
    """

    def __init__(
        self,
        temperature_threshold_c: float,
        detect_other_language: bool = True,
        detect_personal_advice: bool = True,
        low_temperature_threshold_c: float = DEFAULT_LOW_TEMPERATURE_THRESHOLD_C,
    ) -> None:
        """Compile the matchers.

        Args:
            temperature_threshold_c: readings at or above this (deg C) are red flags.
            low_temperature_threshold_c: readings below this (deg C) are red flags.
            detect_other_language: whether to flag non-English messages.
            detect_personal_advice: whether to flag personal dose / treatment questions.
        """
        self.temperature_threshold_c = float(temperature_threshold_c)
        self.low_temperature_threshold_c = float(low_temperature_threshold_c)
        if self.low_temperature_threshold_c >= self.temperature_threshold_c:
            raise ValueError("the low temperature threshold must be below the high one")
        self.detect_other_language = detect_other_language
        self.detect_personal_advice = detect_personal_advice
        self._nlp = spacy.blank("en")
        self._red = self._rules(RED_FLAG_PATTERNS)
        self._crisis = self._rules(CRISIS_PATTERNS)
        self._crisis_negatable = self._rules({"suicide": CRISIS_NEGATABLE})
        self._crisis_exclusions = self._rules({"exclude": CRISIS_EXCLUSION_PATTERNS})
        self._personal = self._rules(PERSONAL_ADVICE_PATTERNS)
        self._personal_exclusions = self._rules(
            {"exclude": PERSONAL_EXCLUSION_PATTERNS}
        )
        self._exclusions = self._rules({"exclude": EXCLUSION_PATTERNS})
        self._non_latin_red = [
            (label, re.compile("|".join(re.escape(s) for s in words)))
            for label, words in NON_LATIN_RED_FLAGS.items()
        ]
        self._non_latin_crisis = re.compile(
            "|".join(re.escape(s) for s in NON_LATIN_CRISIS)
        )

    # -- building -------------------------------------------------------------------
    def _norms(self, text: str) -> List[str]:
        return [t.norm_ for t in self._doc(normalise_text(text), sentinel=False)]

    def _alternatives(self, group: str) -> List[List[str]]:
        """Each alternative of a DSL group as its list of canonical token norms."""
        result = []
        for alternative in group.split("|"):
            norms = self._norms(alternative.replace("+", " "))
            if not norms:
                raise ValueError(f"empty alternative in safety pattern group {group!r}")
            result.append(norms)
        return result

    def _compile(
        self, pattern: str
    ) -> Tuple[List[List[Dict[str, Any]]], List[FrozenSet[str]]]:
        """Compile one DSL pattern to spaCy token patterns and its gate.

        The gate lists, for each required group, the norms of which at least one must
        occur in a message for the pattern to possibly match.

        An alternative may tokenise to several tokens ("can't" -> "can not", German
        "im" -> "i m"): such alternatives become separate token sequences.
        """
        options: List[List[List[Dict[str, Any]]]] = []
        gate: List[FrozenSet[str]] = []
        for group in pattern.split():
            optional = group.endswith("?") and len(group) > 1
            group = group[:-1] if optional else group
            group = "|".join(
                _MACROS[alt[1:]] if alt.startswith("@") else alt
                for alt in group.split("|")
            )
            if group == "_":
                options.append([[{"OP": "?"}]])
                continue
            if group == "#":
                options.append([[{"LIKE_NUM": True}]])
                continue
            words = [alt for alt in group.split("|") if alt != "#"]
            number = len(words) < len(group.split("|"))
            alternatives = self._alternatives("|".join(words))
            if not optional and not number:
                gate.append(frozenset(a[0] for a in alternatives))
            singles = sorted({a[0] for a in alternatives if len(a) == 1})
            multis = [a for a in alternatives if len(a) > 1]
            variants: List[List[Dict[str, Any]]] = []
            if number:
                if optional:
                    raise ValueError(f"optional number group in {pattern!r}")
                variants.append([{"LIKE_NUM": True}])
            if singles:
                spec: Dict[str, Any] = {"NORM": {"IN": singles}}
                if optional and not multis:
                    spec["OP"] = "?"
                variants.append([spec])
            variants += [[{"NORM": n} for n in multi] for multi in multis]
            if optional and multis:
                variants.append([])
            options.append(variants)
        token_patterns = [
            [spec for part in combo for spec in part]
            for combo in itertools.product(*options)
        ]
        return token_patterns, sorted(gate, key=len)

    def _rules(self, patterns: Dict[str, List[str]]) -> _RuleSet:
        """One small gated Matcher per DSL line (see :class:`_Rule`)."""
        rules: List[_Rule] = []
        for label, lines in patterns.items():
            for line in lines:
                token_patterns, gate = self._compile(line)
                matcher = Matcher(self._nlp.vocab)
                matcher.add(label, token_patterns)
                rules.append(_Rule(label, matcher, tuple(gate)))
        return _RuleSet(rules)

    @staticmethod
    def _run(rules: _RuleSet, doc: Doc, norms: FrozenSet[str]) -> List[_Match]:
        """Matches of all rules whose gate passes for this message."""
        found: List[_Match] = []
        for rule in rules.candidates(norms):
            for group in rule.gate:
                if group.isdisjoint(norms):
                    break
            else:
                found += [(rule.label, s, e) for _, s, e in rule.matcher(doc)]
        return found

    # -- screening ------------------------------------------------------------------
    def _doc(self, normalised: str, sentinel: bool = True) -> Doc:
        """Tokenise and set canonical norms.

        Args:
            normalised: output of :func:`normalise_text`.
            sentinel: append " ." so patterns can treat the end of the message like
                punctuation ("I can't go on" vs "I can't go on holiday").
        """
        doc = self._nlp.make_doc(normalised + " ." if sentinel else normalised)
        for token in doc:
            norm = token.norm_
            canonical = canonical_norm(norm)
            if canonical != norm:
                token.norm_ = canonical
        return doc

    @staticmethod
    def _negated(doc: Doc, start: int) -> bool:
        """True if an explicit negation cue sits just before ``doc[start]``."""
        i = start - 1
        while i >= 0 and start - i <= NEGATION_WINDOW:
            norm = doc[i].norm_
            if norm in NEGATION_CUES:
                return True
            if norm not in NEGATION_FILLERS:
                return False
            i -= 1
        return False

    def _red_flags(self, doc: Doc, norms: FrozenSet[str]) -> Tuple[set, set]:
        found: set = set()
        negated: set = set()
        matches = self._run(self._red, doc, norms)
        if not matches:
            return found, negated
        excluded = [(s, e) for _, s, e in self._run(self._exclusions, doc, norms)]
        for label, start, end in matches:
            if any(s < end and start < e for s, e in excluded):
                continue
            if self._negated(doc, start):
                negated.add(label)
            else:
                found.add(label)
        return found, negated

    @staticmethod
    def _not_excluded(matches: List[_Match], excluded: List[_Match]) -> List[_Match]:
        """Matches that overlap none of the ``excluded`` spans."""
        if not excluded:
            return matches
        return [
            (label, start, end)
            for label, start, end in matches
            if not any(s < end and start < e for _, s, e in excluded)
        ]

    def _crisis_found(self, doc: Doc, norms: FrozenSet[str]) -> set:
        matches = self._run(self._crisis, doc, norms)
        if matches:
            excluded = self._run(self._crisis_exclusions, doc, norms)
            matches = self._not_excluded(matches, excluded)
        found = {label for label, _, _ in matches}
        for label, start, _ in self._run(self._crisis_negatable, doc, norms):
            if not self._negated(doc, start):
                found.add(label)
        return found

    def _personal_found(self, doc: Doc, norms: FrozenSet[str]) -> set:
        matches = self._run(self._personal, doc, norms)
        if matches:
            excluded = self._run(self._personal_exclusions, doc, norms)
            matches = self._not_excluded(matches, excluded)
        return {label for label, _, _ in matches}

    @staticmethod
    def has_content(text: str | None) -> bool:
        """True if ``text`` has at least one content word.

        HTML-like tags are removed first; then numbers, punctuation, template syntax and
        the function / filler words in ``NO_CONTENT_WORDS`` do not count. Any letter in
        a non-Latin script counts as content.

        Args:
            text: raw user text.

        Returns:
            Whether there is anything a symptom or a crisis could be read from.
        """
        if not text:
            return False
        words = _WORD_ANY_SCRIPT_RE.findall(normalise_text(_TAG_RE.sub(" ", text)))
        return any(
            (len(w) >= 2 or not w.isascii()) and w not in NO_CONTENT_WORDS
            for w in words
        )

    def temperature_readings_c(self, normalised: str, doc: Doc) -> List[float]:
        """Temperatures (deg C) stated in the text; other numbers are ignored.

        See :func:`bot.components.temperature.find_readings` for what counts as a
        reading ("38.3", "101F", "temp of 35"; not "ki67 of 38", "36 hours").

        Args:
            normalised: output of :func:`normalise_text`.
            doc: the tokenised message (for context words).

        Returns:
            The readings in degrees C.
        """
        return [r.celsius for r in find_readings(normalised, (t.norm_ for t in doc))]

    def is_other_language(self, text: str) -> bool:
        """True if ``text`` is mostly non-Latin script or mostly foreign function words.

        English with drug names or typos ("whats captem", "capecitabine side efects")
        is not caught: foreign words must clearly outnumber English ones.

        Args:
            text: raw user text.

        Returns:
            Whether to answer with the other-language response.
        """
        letters = len(_LETTER_RE.findall(text))
        if letters == 0:
            return False
        # CJK characters carry about a word each: weight them so "什么是 CAPTEM" counts
        # as mostly Chinese.
        dense = len(_DENSE_SCRIPT_RE.findall(text))
        non_latin = len(_NON_LATIN_LETTER_RE.findall(text)) + 2 * dense
        if non_latin / (letters + 2 * dense) > 0.5:
            return True
        words = _WORD_ANY_SCRIPT_RE.findall(unicodedata.normalize("NFC", text.lower()))
        if not words:
            return False
        english = 0
        totals: Dict[str, int] = {}
        exclusives: Dict[str, int] = {}
        for word in words:
            is_english = word in ENGLISH_WORDS
            english += is_english
            for lang in _FOREIGN_INDEX.get(word, ()):
                totals[lang] = totals.get(lang, 0) + 1
                if not is_english:
                    exclusives[lang] = exclusives.get(lang, 0) + 1
        best_total, best_exclusive = max(
            ((totals[lang], exclusives.get(lang, 0)) for lang in totals),
            default=(0, 0),
        )
        # Clearly more foreign function words than English ones ("que es captem",
        # "was ist Capecitabin"), at least one of them not also an English word.
        if best_total >= 2 and best_exclusive >= 1 and best_total > english:
            return True
        # Very short messages ("hola", "merci beaucoup") or inverted punctuation.
        if english == 0:
            if "\u00bf" in text or "\u00a1" in text:
                return True
            # every word from one language's list ("hola", "merci beaucoup"), so
            # "de Gramont" (a regimen) is not caught. At least one of them must be a
            # real word (3+ letters): a lone one- or two-letter function word ("ta",
            # "la", "o", "e") is as likely English chat, a typo or an initial.
            if (
                best_exclusive >= 1
                and len(words) <= 3
                and best_total == len(words)
                and any(len(w) >= 3 and w in _FOREIGN_INDEX for w in words)
            ):
                return True
        return False

    def screen(self, text: str | None) -> SafetyResult:
        """Screen one message.

        Args:
            text: raw user text (``None`` or empty gives an empty result).

        Returns:
            What was found; ``result.intent`` is the intent to force, if any.
        """
        if not text or not text.strip():
            return SafetyResult()
        normalised = normalise_text(text)
        doc = self._doc(normalised)

        norms = frozenset(t.norm_ for t in doc)
        red, negated = self._red_flags(doc, norms)
        for label, regex in self._non_latin_red:
            if regex.search(normalised):
                red.add(label)
        verdict = judge(
            find_readings(normalised, norms),
            self.low_temperature_threshold_c,
            self.temperature_threshold_c,
        )
        if verdict.high:
            red.add(TEMPERATURE_REASON)
        if verdict.low:
            red.add(LOW_TEMPERATURE_REASON)
        if verdict.normal and not (verdict.high or verdict.low):
            # "my temperature is 37.2": the reading, not the word, decides. A word for
            # feeling unwell still escalates ("I feel awful, my temperature is 36.8").
            red.discard(TEMPERATURE_MENTION)

        crisis = self._crisis_found(doc, norms)
        if self._non_latin_crisis.search(normalised):
            crisis.add("suicide")

        personal: set = set()
        if not red and not crisis and self.detect_personal_advice:
            personal = self._personal_found(doc, norms)
        other = False
        if not red and not crisis and not personal and self.detect_other_language:
            other = self.is_other_language(_TAG_RE.sub(" ", text))
        return SafetyResult(
            red_flags=tuple(sorted(red)),
            crisis=tuple(sorted(crisis)),
            personal_advice=tuple(sorted(personal)),
            other_language=other,
            negated=tuple(sorted(negated - red)),
        )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class SafetyIntentOverride(GraphComponent, IntentClassifier):
    """Forces ``red_flag`` / ``crisis`` / ``ask_personal_advice`` / ``other_language``
    regardless of the classifier, and withdraws a classifier's ``red_flag`` / ``crisis``
    on a message with no content words (it becomes ``nlu_fallback``).

    Put it LAST in the pipeline (after ``FallbackClassifier``). Config:
    ``settings_path`` (default: ``$NETCHEMO_SETTINGS`` or ``config/safety.yml``; read
    when the model is loaded, so a changed threshold needs a restart, not a retrain),
    ``detect_other_language`` and ``detect_personal_advice`` (both default ``True``).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults for the component's config in config.yml."""
        return {
            "settings_path": None,
            "detect_other_language": True,
            "detect_personal_advice": True,
        }

    def __init__(self, config: Dict[str, Any], screen: SafetyScreen) -> None:
        """Wrap a compiled :class:`SafetyScreen`."""
        self.component_config = config
        self._screen = screen

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyIntentOverride:
        """Read the settings and compile the matchers when the model is loaded."""
        path = config.get("settings_path")
        settings = load_settings(Path(path) if path else None)
        screen = SafetyScreen(
            settings.red_flags.temperature_threshold_c,
            detect_other_language=bool(config.get("detect_other_language", True)),
            detect_personal_advice=bool(config.get("detect_personal_advice", True)),
            low_temperature_threshold_c=settings.red_flags.low_temperature_threshold_c,
        )
        logger.debug(
            "SafetyIntentOverride ready (below %.1f C or from %.1f C, settings %s)",
            screen.low_temperature_threshold_c,
            screen.temperature_threshold_c,
            settings.source,
        )
        return cls(config, screen)

    @property
    def screen(self) -> SafetyScreen:
        """The underlying screen (for tests and diagnostics)."""
        return self._screen

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the predicted intent where a safety rule applies.

        Args:
            messages: messages with the classifier's ``intent`` / ``intent_ranking``.

        Returns:
            The same messages, changed in place where a rule fired.
        """
        for message in messages:
            text = message.get(TEXT)
            result = self._screen.screen(text)
            intent_name = result.intent
            if intent_name is not None:
                self._force_intent(
                    message,
                    intent_name,
                    self._reasons(result),
                    also_crisis=intent_name == INTENT_RED_FLAG_CRISIS,
                )
                continue
            previous = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if previous in SAFETY_INTENTS and not self._screen.has_content(text):
                # The classifier alone chose red_flag / crisis for a message with
                # nothing to read a symptom or a crisis from ("{{7*7}}", "500 or
                # 1000", a bare HTML tag): withdraw it, so the bot asks to rephrase.
                self._force_intent(
                    message,
                    DEFAULT_NLU_FALLBACK_INTENT_NAME,
                    [NO_CONTENT_REASON],
                    drop=SAFETY_INTENTS,
                )
        return messages

    @staticmethod
    def _reasons(result: SafetyResult) -> List[str]:
        """Category labels for the intent the screen chose."""
        name = result.intent
        if name == INTENT_OTHER_LANGUAGE:
            return ["other_language"]
        if name == INTENT_CRISIS:
            return list(result.crisis)
        if name == INTENT_PERSONAL_ADVICE:
            return list(result.personal_advice)
        if name == INTENT_RED_FLAG_CRISIS:
            return list(result.red_flags) + list(result.crisis)
        return list(result.red_flags)

    def _force_intent(
        self,
        message: Message,
        name: str,
        reasons: List[str],
        drop: FrozenSet[str] = frozenset(),
        also_crisis: bool = False,
    ) -> None:
        """Set ``name`` as the intent (confidence 1.0, first in the ranking) and mark it.

        Args:
            message: the message to change in place.
            name: the intent to force.
            reasons: category labels for ``message["safety"]`` (never user text).
            drop: further intents to remove from the ranking.
            also_crisis: a red flag was forced but crisis wording was found too.
        """
        previous = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        forced = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        # Keep the classifier's own ranking after the forced intent; drop the
        # FallbackClassifier's entry (its low-confidence verdict no longer applies) and
        # any older entry for the forced intent.
        removed = drop | {name, DEFAULT_NLU_FALLBACK_INTENT_NAME}
        ranking = [
            entry
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY) not in removed
        ]
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(forced)] + ranking, add_to_output=True)
        message.set(
            SAFETY_KEY,
            {
                "forced_by": type(self).__name__,
                "intent": name,
                "reasons": reasons,
                "also_crisis": also_crisis,
                "overridden_intent": previous,
            },
            add_to_output=True,
        )
        # Category labels only, and at DEBUG: even the symptom categories ("chest,
        # fever") are health information about the person. Never the user's text.
        logger.debug(
            "Safety override: %s -> %s (%s)", previous, name, ", ".join(reasons)
        )
