"""The rasa_sdk actions: events, dispatched messages, payloads, disclaimer last."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from actions.answer import ActionAnswerQuestion
from actions.suggest import ActionOfferTopics


async def test_answer_what_is_captem(
    dispatcher, make_tracker, domain, real_kb, disclaimer_name
) -> None:
    tracker = make_tracker("ask_what_is", ["captem"], text="what is CAPTEM?")
    events = await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert events == [SlotSet("topic", "captem"), SlotSet("facet", "what_is")]
    first, last = dispatcher.messages[0], dispatcher.messages[-1]
    assert (
        "capecitabine" in first["text"].lower()
        and "temozolomide" in first["text"].lower()
    )
    payload = first["custom"]["kb_answer"]
    assert payload["id"] == "captem" and payload["sources"][0]["id"] == "seed"
    # Every source of the entry, the one the text rests on first, each once.
    ids = [s["id"] for s in payload["sources"]]
    assert ids == ["seed"] + [
        s for s in real_kb.entries["captem"].sources if s != "seed"
    ]
    assert len(ids) > 1 and all(
        s["title"] and s["publisher"] for s in payload["sources"]
    )
    assert last["response"] == disclaimer_name
    assert disclaimer_name in domain["responses"]


async def test_why_not_on_chemo(
    dispatcher, make_tracker, domain, disclaimer_name
) -> None:
    tracker = make_tracker(
        "ask_why_not_chemo", ["chemotherapy"], text="why am I not on chemo?"
    )
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["custom"]["kb_answer"]["id"] == "why_not_chemo"
    assert dispatcher.messages[-1]["response"] == disclaimer_name


async def test_unknown_topic(dispatcher, make_tracker, domain, disclaimer_name) -> None:
    tracker = make_tracker(
        "ask_what_is", [], text="what is the drug called zibotentan really"
    )
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_no_reviewed_info"
    assert "utter_no_reviewed_info" in domain["responses"]
    assert not dispatcher.messages[0].get("custom")
    assert dispatcher.messages[-1]["response"] == disclaimer_name


async def test_follow_up_reads_slots(dispatcher, make_tracker, domain) -> None:
    tracker = make_tracker(
        "ask_how_given", [], slots={"topic": "temozolomide"}, text="is it a tablet?"
    )
    events = await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert events == [SlotSet("facet", "how_given")]  # the topic is unchanged: no event
    assert dispatcher.messages[0]["custom"]["kb_answer"]["id"] == "temozolomide"
    assert dispatcher.messages[0]["custom"]["kb_answer"]["facet"] == "how_given"


async def test_personal_advice_leaves_boundary_to_the_rule(
    dispatcher, make_tracker, domain
) -> None:
    tracker = make_tracker(
        "ask_personal_advice", ["captem"], text="should I stop my captem"
    )
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert [m.get("response") for m in dispatcher.messages] == [None]
    assert "utter_personal_boundary" in domain["responses"]


async def test_offer_topics_buttons(dispatcher, make_tracker, domain, real_kb) -> None:
    ranking = [{"name": "ask_how_given"}, {"name": "ask_is_chemo"}]
    tracker = make_tracker(
        "nlu_fallback", ["folfox"], text="folfox thing", ranking=ranking
    )
    assert await ActionOfferTopics().run(dispatcher, tracker, domain) == []
    (message,) = dispatcher.messages
    assert message["response"] == "utter_offer_topics"
    title = real_kb.entries["folfox"].title
    titles = [b["title"] for b in message["buttons"]]
    assert titles == [  # the likeliest readings first, topped up with the general one
        f"How is {title} given?",
        f"Is {title} chemotherapy?",
        f"What is {title}?",
    ]


async def test_offer_topics_nothing_likely(dispatcher, make_tracker, domain) -> None:
    tracker = make_tracker("nlu_fallback", [], text="hmm", ranking=[{"name": "greet"}])
    await ActionOfferTopics().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"
    assert not dispatcher.messages[0].get("buttons")


MENTION = {"symptom_mention": True}


async def test_offer_topics_symptom_mention_line_before_buttons(
    dispatcher, make_tracker, domain
) -> None:
    # "fever with folfox thing?": the screen read the fever as a topic, NLU was unsure
    ranking = [{"name": "ask_side_effects"}, {"name": "ask_is_chemo"}]
    tracker = make_tracker(
        "nlu_fallback", ["folfox"], text="x", ranking=ranking, safety=MENTION
    )
    await ActionOfferTopics().run(dispatcher, tracker, domain)
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_symptom_safety_line", "utter_offer_topics"]
    assert dispatcher.messages[-1]["buttons"]


async def test_offer_topics_symptom_mention_line_on_rephrase(
    dispatcher, make_tracker, domain
) -> None:
    tracker = make_tracker(
        "nlu_fallback", [], text="x", ranking=[{"name": "greet"}], safety=MENTION
    )
    await ActionOfferTopics().run(dispatcher, tracker, domain)
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_symptom_safety_line", "utter_ask_rephrase"]


async def test_offer_topics_symptom_mention_line_on_single_answer(
    dispatcher, make_tracker, domain, disclaimer_name
) -> None:
    ranking = [{"name": "ask_brand_name"}, {"name": "ask_what_is"}]
    tracker = make_tracker(
        "nlu_fallback", ["neoadjuvant"], text="x", ranking=ranking, safety=MENTION
    )
    await ActionOfferTopics().run(dispatcher, tracker, domain)
    responses = [m.get("response") for m in dispatcher.messages]
    assert responses[-2:] == ["utter_symptom_safety_line", disclaimer_name]


async def test_single_concept_is_answered_not_offered(
    dispatcher, make_tracker, domain, disclaimer_name
) -> None:
    ranking = [{"name": "ask_brand_name"}, {"name": "ask_what_is"}]
    tracker = make_tracker(
        "nlu_fallback", ["neoadjuvant"], text="chemo before surgery", ranking=ranking
    )
    events = await ActionOfferTopics().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["custom"]["kb_answer"]["id"] == "neoadjuvant"
    assert not any(m.get("buttons") for m in dispatcher.messages)
    assert dispatcher.messages[-1]["response"] == disclaimer_name
    assert {e["name"] for e in events} == {"topic", "facet"}
