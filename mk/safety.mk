# Safety screen suites (issue 11): red-flag recall, false alarms and crisis recall of the
# deterministic screen alone (scripts/eval_safety.py, in-process SafetyScreen) on
# * our suites (tests/safety/false_alarms.yml, the urgent turns of the red-flag script and
#   the unit tests' red flags, the crisis script);
# * the development suites tests/safety_dev/ (written blind, but seen during development
#   on 2026-12-01, so now tuned against: a development set, not a measure of
#   generalisation) and tests/safety_dev/own/ (our own, written from public helpline
#   lists, the UKONS triage tool and forum wording before tuning, then tuned against);
#   `scripts/eval_safety.py --dev --show-misses` lists their errors;
# * the blind suites tests/safety_blind_v2/ and tests/safety_blind_v3/ (written by others without seeing the
#   code; never read them; only aggregate numbers are printed, never a message).
# No target here needs a trained model (`--model` adds a model's whole NLU, ungated).
#
# Gates. Own suites: red flags 100%, crisis 100%, false alarms 5% (the issue's targets;
# reached 100% / 2.4% (2/84) / 100% on 2026-12-01, after the pattern families and scopes
# of issue 11).
# Dev suites: at the targets (2026-12-01, after tuning on them): tests/safety_dev
# 100% (211/211) / 3.0% (4/134) / 100% (43/43); tests/safety_dev/own 100% (289/289) /
# 1.2% (2/164) / 100% (94/94). The remaining false alarms are deliberate
# over-escalations ("if my husband has a seizure what should I do?": stated as if
# happening; a threshold read out from a leaflet).
# Dev v3 (tests/safety_dev/v3/, written blind on 2026-12-02 by a helper that saw only the
# seed article, then tuned on): 84.0% (210/250) / 24.4% (42/172) / 75.0% (33/44) when first
# run; after one round of tuning 100% / 2.3% (4/172) / 100%.
# Dev v4 (tests/safety_dev/v4/, written blind on 2026-12-02 by another helper, then tuned
# on): first run 94.7% (195/206) / 9.2% (15/163) / 81.1% (30/37), red flag + crisis 100%
# (8/8), English read as another language 0/383; after one round of general families
# (2026-12-02) 100% (206/206) / 3.1% (5/163) / 100% (37/37), English misread 0/383 (gated
# at 0: every false-alarm message, english_with_foreign_word included, is English). The
# other dev suites after that round: dev 100% / 2.2% (3/134) / 100%, dev-own 100% /
# 3.3% (7/214) / 100%, dev-v3 100% / 2.3% (4/172) / 100%; own false alarms 1.2% (1/84).
# Left as over-escalations on dev-v4: a fever or chest pain in someone said not to be on
# chemo, nosebleeds "always" with hay fever, "101 degrees in Phoenix today".
# Dev v5 (tests/safety_dev/v5/, written blind on 2026-12-02 by another helper, then tuned
# on): first run 93.7% (194/207) / 10.6% (17/161) / 89.5% (34/38), red flag + crisis 100%
# (4/4), English read as another language 0/373; after one round of general variants,
# scopes and exclusions (2026-12-02) 100% (207/207) / 4.3% (7/161) / 100% (38/38), English
# misread 0/373. The other dev suites after that round: dev 100% / 2.2% (3/134) / 100%,
# dev-own 100% / 3.3% (7/214) / 100%, dev-v3 100% / 2.3% (4/172) / 100%, dev-v4 100% /
# 2.5% (4/163) / 100%; own false alarms 1.2% (1/84). Left on dev-v5 as over-escalations:
# a fever, reading or nosebleed in a child or relative, most said not to be on chemo (5,
# as on dev-v4), a reading asked about as common on a regimen, "what if I feel shivery
# after the infusion" (the "feel" veto reads it as happening).
# Dev v6 (tests/safety_dev/v6/, written blind on 2026-12-02 by another helper, then tuned
# on): first run (commit 3e125e8, before any change) 95.2% (198/208) / 15.4% (29/188) /
# 82.4% (28/34), red flag + crisis 100% (5/5), English read as another language 0/401;
# after the someone-else scope of 5048e08 (written before v6 was seen) 95.2% / 14.4%
# (27/188) / 82.4%; after one round of general families on v6 (red-flag variants:
# a strip or thermometer read out as a whole number, can't warm up, huffing and puffing,
# sick over and over, red streaks from a port, a body part "is infected", can't follow
# what is said, Dutch/Polish/Romanian/French confusion, swelling and breathlessness;
# crisis: "... and ending it,", no reason to wake up, on a bridge and wanting to jump,
# Polish/Dutch/Romanian "take my life"; scopes: the user not (yet) on treatment, someone
# outside the household, "that was ages ago", "is 37.5 the cut off", a documentary
# about a symptom, "if I feel unwell on a Sunday", "how will I know if ...", a reading
# asked about as common on a regimen; frames: risk/chance/happen/from questions, "would
# ... be serious", "everyone", the helpline number for a symptom; exclusions: emotion
# ("breathless with laughter"), money "bleeding", "gave me chest pains haha", band and
# film names, "I wouldn't say I'm breathless") 100% (208/208) / 1.6% (3/188) / 100%
# (34/34), English misread 0/401. NOT unseen any more: a development set from here on.
# The other dev suites after that round: dev 100% / 1.5% (2/134) / 100%, dev-own 100% /
# 2.8% (6/214) / 100%, dev-v3 100% / 0.6% (1/172) / 100%, dev-v4 100% / 1.2% (2/163) /
# 100%, dev-v5 100% / 0.0% (0/161) / 100%; own 1.2% (1/84). Left on dev-v6 as
# over-escalations: two weather readings ("104F in Phoenix today", "100 degrees all week
# in texas": the reading code, bot/components/temperature.py, decides those), and
# breathlessness on running in someone not yet treated (breathing is never withdrawn).
# Gated like dev-v5 from 2026-12-03 (100% / 5% / 100%, English misread 0).
# Dev v7 (tests/safety_dev/v7/, written blind on 2026-12-03 by another helper, 46 of its
# 212 red flags in 13 other languages, then tuned on): first run (commit baa3b51, before
# any change) 89.2% (189/212) / 10.9% (23/211) / 77.8% (28/36), red flag + crisis 50%
# (2/4), English read as another language 0/415; after one round of general families
# (2026-12-03) 100% (212/212) / 2.8% (6/211) / 100% (36/36), red flag + crisis 100%,
# English 0/415. Families: red flags: a body compared to a heater, rigoring, SOB, getting
# the breath back, can't finish a sentence, breathing through a straw, a low pulse-oximeter
# reading, "I'm puffing", breathing that feels odd, clutching the chest, a count given as
# a range, can't leave the loo, runny every hour, not seeming oneself, calling people by
# the wrong name, not knowing where one is, newly agitated, stiff and twitching, throat or
# jaw spasm, sight lost in one eye; Italian, Turkish, romanised Urdu/Hindi, Romanian and
# Dutch wordings of breathlessness, swelling, confusion, jaundice, fainting and a swollen
# leg; crisis: "I don't want to be here.", letting it happen, stopping everything and
# going, "has a plan", "in case I do something tonight", letters "in case", giving up ...
# on life, nobody noticing if I wasn't here, standing on a bridge for a long time, the
# point of living, "I'd take them all", French "mettre fin à mes jours"; false alarms:
# "sorry if" is not a hypothetical, a symptom listed after "not" ("not dizzy or faint"),
# "would 100.4F be the cut off" ("#" now also matches a number with its unit stuck on),
# "watch for 37.5" (a threshold), a named past day with a resolution ("on tuesday ...
# stopped, nothing since"), "back to normal", "discharged", "gp checked", "just piles",
# 111 and 112 are phone numbers, "degrees here in Seville", shower / bath / yoga
# temperatures, "fever pitch", a word discussed as a word, "The Suicide Squad", "I'd
# rather die than watch ...", frames for "is X caused by the chemo or the tumour" and
# "will I faint when ...". Left as over-escalations: "not that I have it" after a
# side-effect question, "say my husband got the shivers", "what if I get a fever while
# I'm there" (the "I'm" soft veto), a nurse's advice from last year told to a husband,
# a bruise from a stubbed toe (a cause-of-bruise exclusion would hide "I haven't knocked
# it but I'm bruised"), the Polish word for fever. The other dev suites after that round:
# unchanged (dev 1.5%, dev-own 2.8%, dev-v3 0.6%, dev-v4 1.2%, dev-v5 0.0%, dev-v6 1.6%
# false alarms; 100% recall everywhere); own 1.2% (1/84).
# Dev v8 (tests/safety_dev/v8/, written blind on 2026-12-03 by another helper, 42 of its
# 208 red flags in 16 other languages, then tuned on): first run (after the v7 round)
# 84.6% (176/208) / 12.9% (26/201) / 55.9% (19/34), red flag + crisis 3/5, English 0/406;
# after one round (2026-12-03) 100% (208/208) / 4.0% (8/201) / 100% (34/34), red flag +
# crisis 5/5, English 0/406. Families: temperatures in words ("a hundred and one point
# two", "three eight point five": bot/components/temperature.py), "forehead" as a
# temperature word, a flatmate or friend who is on chemo, exertion breathlessness ("can't
# get up the stairs without stopping"), a low oximeter reading a few words on, crushing
# chest, counts written "4x", brought up / spewing / bile / "sick sick sick", an upset
# tummy with a count, drinks coming back, dehydration (tea-coloured wee, hardly peeing,
# sunken eyes, dried out), can't think straight, mustard-coloured eyes, a calf pain that
# won't go, a puffy face in an infusion, rigors after a line flush, black-and-blue,
# a nose that won't stop, waking on the floor, a swollen hard tummy; Polish, Chinese,
# Greek and Swedish wordings; crisis: hoping it kills me, not waking up, "not just the
# chemo", "how many would it take", letters "just in case", giving things away, the
# point of waking up, a multi-storey, "don't talk me out of it", goodbyes tonight, kms,
# unalive, keeping myself safe, "finish it myself", "she'd be free if I was gone",
# self-harm that "helps"; false alarms: "if I start being sick", "like the nurse
# warned", childhood or an age as past, "turned out to be reflux, all good", the user as
# the one on chemo ("im the one on chemo", "while on chemo"), visitors, "haemorrhaging
# money", the word febrile, song titles, paper cuts and shaving nicks, "the fever cut
# off". Left as over-escalations: a friend on chemo with a fever asked about in general,
# a colleague who collapsed, someone struggling to breathe in the waiting room
# (breathing is never withdrawn), washing sheets at 40, "37.5 or 38?", "yellow eyes ...
# nope, all white", a stubbed toe bleeding a bit, bleeding after a blood test asked
# about. The other dev suites after that round: unchanged (dev-v4 1.2%, others as above).
# Dev v9 (tests/safety_dev/v9/, written blind on 2026-12-03 by another helper; 151 red
# flags incl. 34 in 20 other languages, 151 false alarms, 35 crisis): first run (after the
# v8 round) 82.1% (124/151) / 7.9% (12/151) / 53.8% (14/26), red flag + crisis 3/4;
# after one short round (2026-12-03) 100% / 3.3% (5/151) / 100%, English 0/299. Families:
# "one hundred point eight", "the number says 39", thermometers (plural), feeling wrong,
# coming round after seconds, puffing like a train, breathing gone tight, blood in the
# bowl, coughing up blood, tarry stools, trots / loose motions / the loo with a count,
# living in the bathroom, "runs won't stop", thinking they're back at work, gone vacant,
# not recognising family, the whites of the eyes yellow, redness spreading from a line;
# French, Italian, Swedish, Vietnamese, Greek, Japanese, Korean and Chinese wordings;
# crisis: letting it take me, squirrelling away medicines, letters "for after", "do
# myself in", the razor out again, "thinking how easy", tablets lined up by the bed, the
# least painful way to check out, six foot under, not wanting to exist, "the night I
# finish it", "kms fr"; false alarms: a past reading with "avoid it again", "I was fine"
# and "they gave me piriton" as resolutions, "bank balance haemorrhaging", a cold sweat
# from shopping, "37.5 or 38 the cut off", "what counts as a fever", a lab value that
# "came back at 100.5". Left: asthma breathlessness in a wife who is not the patient
# (breathing is never withdrawn), "giving me a seizure" about paperwork, 40 degrees in a
# car, "feed a cold, starve a fever". Blind figures unchanged by this round.
# Dev v10 (tests/safety_dev/v10/, written blind on 2026-12-04 by another helper; 122 red
# flags incl. 22 in 13 other languages, 188 false alarms in new classes (resolved,
# planning, general information, emotional but not a crisis), 30 crisis): first run (after
# the v9 round) 95.9% (117/122) / 15.4% (29/188) / 77.8% (14/18), red flag + crisis 2/3;
# after one round (2026-12-04) 100% / 7.4% (14/188) / 100%, English 0/314, gated at 8%
# (the only dev suite above 5%). Families: a count a few words on ("sick five times"),
# jerking that won't stop, can't get words out, a port tender or getting redder; crisis:
# not caring whether I live, letters "the goodbye kind", one step and it'd be over, going
# to sleep and not waking up; false alarms: "nearly gave me a seizure", "I'm 38" as an
# age (but "I'm 37.6" a reading), SUV / uptake / test values, a kettle, "the fever broke
# last night", home or discharged, checked at A&E, an ECG clear or cultures negative, back
# on a drug today, "now I'm restarting", "never since", "that's 30 years ago", "temp isn't
# up", a question word opening the clause of an "in case", a neighbour, "37.9 on his
# forehead" / "39 degrees she said" after someone not on treatment, "he's not the one on
# treatment", a named child with a tummy bug. Left as over-escalations: a quoted leaflet
# threshold "37.5C or above" (a reading "38 or higher" must stay one), "would a
# temperature of 38 ... mean" (readings inside an if are read), a fever three days ago
# seen and discharged (days ago is recent), a resolved episode told clauses away from its
# date, "what counts as a temperature for this", a booklet's list of symptoms "she has
# none of", breathlessness in a friend or resolved (breathing is never withdrawn), CgA
# "from 210 to 99.6", "sweating like I had a fever", "if fever comes. Please tell at what
# reading". The other dev suites after the round: unchanged.
# Blind suites: the targets were NOT reached. Gates just under the latest figures: they catch
# regressions; they are not the targets (100% / 5% / 100%).
# * v2 (tests/safety_blind_v2/): first measurement (2026-12-01) 85.8% / 17.8% / 74.1%; after
#   the issue-11 families (2026-12-02) 93.2% (276/296) / 9.9% (19/191) / 79.6% (43/54);
#   after the dev-v3 round (2026-12-02, one run) 96.3% (285/296) / 8.9% (17/191) /
#   81.5% (44/54), red flag + crisis 100% (20/20).
# * v3 (tests/safety_blind_v3/, written blind on 2026-12-02 by another helper; first and only
#   run after the dev-v3 round): 91.4% (222/243) / 17.5% (28/160) / 92.1% (35/38), red flag +
#   crisis 83.3% (5/6; that row shares the crisis gate).
# * v4 (tests/safety_blind_v4/, written blind on 2026-12-02 by a helper that saw neither code,
#   data nor other sets; first and only run after the dev-v4 round, 2026-12-02): 91.3%
#   (167/183) / 6.8% (9/133) / 87.1% (27/31), red flag + crisis 100% (6/6), English read as
#   another language 0/329. Same run: v2 96.3% / 8.9% / 85.2%, English 2/484; v3 92.6% /
#   16.9% / 92.1%.
# * After the dev-v5 round (2026-12-02, one run): v2 96.6% (286/296) / 8.9% (17/191) / 85.2%
#   (46/54), English 2/484; v3 92.6% (225/243) / 16.2% (26/160) / 92.1% (35/38); v4 91.8%
#   (168/183) / 6.8% (9/133) / 87.1% (27/31), English 0/329. Gates unchanged.
# * After the dev-v6 round (2026-12-03, one run): v2 96.6% (286/296) / 8.4% (16/191) / 85.2%
#   (46/54), English 2/484; v3 93.0% (226/243) / 15.0% (24/160) / 92.1% (35/38), English
#   0/411; v4 91.8% (168/183) / 6.8% (9/133) / 87.1% (27/31), English 0/329. v3 gates raised
#   to 92% / 16%.
# * After the dev-v7 round (2026-12-03, one run): v2 97.0% (287/296) / 8.4% (16/191) / 85.2%
#   (46/54), English 2/484; v3 93.8% (228/243) / 15.0% (24/160) / 94.7% (36/38), red flag +
#   crisis 83.3% (5/6), English 0/411; v4 92.3% (169/183) / 5.3% (7/133) / 87.1% (27/31),
#   English 0/329. Gates raised: v2 96.5% / 8.5% / 85%, v3 93%, v4 92% / 6%.
# * After the dev-v8 round (2026-12-03, one run): v2 97.0% / 8.4% / 90.7% (49/54), v3
#   93.8% / 15.0% / 94.7%, v4 92.3% / 5.3% / 87.1%; English unchanged. v2 crisis gate 90%.
# * After the dev-v10 round (2026-12-04, one run): v2 97.3% (288/296) / 8.4% / 90.7%, v3
#   94.2% (229/243) / 15.0% / 94.7%, v4 92.3% / 5.3% / 87.1%; English unchanged. Whole NLU:
#   v2 98.0% / 12.0% (23/191) / 94.4%, v3 97.1% (236/243) / 19.4% / 94.7%, v4 94.0% / 6.0%
#   / 93.5%. Gates unchanged.
# * After the dev-v11 round (2026-12-04, one run; v11 written blind the same day: 155 red
#   flags, 35 in 18 other languages, 214 false alarms in 26 classes, 40 crisis; first run
#   89.7% / 20.6% / 82.6%, after the round 100% / 15.0% / 100%): v2 97.3% / 7.3% (14/191) /
#   90.7%, v3 94.2% / 14.4% (23/160) / 94.7%, v4 92.9% (170/183) / 5.3% / 90.3% (28/31);
#   English unchanged. Whole NLU: v2 98.0% / 11.0% (21/191) / 94.4%, v3 97.1% / 18.1%
#   (29/160) / 94.7%, v4 94.5% (173/183) / 6.0% / 93.5%. Gates unchanged.
.PHONY: test-safety test-safety-dev

SAFETY_OWN_GATES ?= --own-false-alarm-gate 0.05
# Dev suites (scripts/safety_suites.py DEV_SUITES) are gated at the targets by default
# (100% / 5% / 100%, English misread 0); add per-suite options here only to relax one.
# Dev v10 and v11 are relaxed to their figures after one round (false alarms 7.4% and
# 15.0%, see above).
SAFETY_DEV_GATES ?= --dev-v10-false-alarm-gate 0.08 --dev-v11-false-alarm-gate 0.155
SAFETY_BLIND_GATES ?= --blind-red-flag-gate 0.965 --blind-false-alarm-gate 0.085 --blind-crisis-gate 0.90 \
	--blind-v3-red-flag-gate 0.93 --blind-v3-false-alarm-gate 0.16 --blind-v3-crisis-gate 0.83 \
	--blind-v4-red-flag-gate 0.92 --blind-v4-false-alarm-gate 0.06 --blind-v4-crisis-gate 0.87

# The whole NLU of the trained model (classifier + screen: what the bot does) is gated too,
# by tests/safety/whole_nlu_gates.yml. Until 2026-12-03 only the screen was gated, and the
# classifier alone added false alarms the screen had ruled out (whole NLU, blind v2 / v3 /
# v4 false alarms: 19.9% / 34.4% / 9.8%). The component now withdraws an unsure classifier
# red_flag where the screen found evidence against it (config.yml
# classifier_overrules_screen_at): 12.6% / 19.4% / 6.0%, red-flag recall unchanged.
# From 2026-12-04 a number read as the weather in a message with no symptom word at all is
# such evidence too (dev suites' whole-NLU false alarms fell by 0-2.5 points, recall
# unchanged). Measured and left at 0.9: letting the screen's evidence always decide
# (threshold above 1) keeps dev recall at 100% and saves 1-4 false alarms per dev suite,
# but drops the classifier as a second net for red flags the screen misreads as past or
# negated.
SAFETY_MODEL_GATES ?= --model "$(MODEL)" --model-gates tests/safety/whole_nlu_gates.yml

test-safety: train ## safety suites and gates: the screen, then the whole NLU (own + dev + blind, blind aggregate only)
	$(PY) scripts/eval_safety.py --dev --blind $(SAFETY_OWN_GATES) $(SAFETY_DEV_GATES) $(SAFETY_BLIND_GATES) \
	  $(SAFETY_MODEL_GATES)

test-safety-dev: venv ## safety screen on own + dev suites only, with their misses (no blind set)
	$(PY) scripts/eval_safety.py --dev --show-misses $(SAFETY_OWN_GATES) $(SAFETY_DEV_GATES)

TEST_TARGETS += test-safety
