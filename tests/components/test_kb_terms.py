"""The Rasa component wrapper: entities in Rasa's format, built from the KB at creation."""

from __future__ import annotations

from unittest.mock import MagicMock

from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from bot.components.kb_terms import KBTermExtractor


def make_component(kb_dir=None) -> KBTermExtractor:
    config = {**KBTermExtractor.get_default_config(), "kb_dir": kb_dir}
    return KBTermExtractor.create(config, MagicMock(), MagicMock(), MagicMock())


def test_process_adds_kb_term_entities() -> None:
    component = make_component()
    message = Message.build(text="is Xeloda a tablet?")
    component.process([message])
    (entity,) = message.get(ENTITIES)
    assert entity["entity"] == "kb_term"
    assert entity["value"] == "capecitabine"
    assert (entity["start"], entity["end"]) == (3, 9)
    assert entity["extractor"] == "KBTermExtractor"


def test_process_keeps_other_entities_and_handles_empty_text() -> None:
    component = make_component()
    message = Message.build(text="what is FOLFOX")
    message.set(ENTITIES, [{"entity": "other", "value": "x", "start": 0, "end": 1}])
    empty = Message.build(text="")
    component.process([message, empty])
    assert [e["entity"] for e in message.get(ENTITIES)] == ["other", "kb_term"]
    assert not empty.get(ENTITIES)


def test_built_from_the_configured_kb(tmp_kb_dir) -> None:
    path = tmp_kb_dir / "entries" / "captem.yml"
    path.write_text(
        path.read_text().replace("misspellings: [", "misspellings: [zorblax, ")
    )
    component = make_component(str(tmp_kb_dir))
    assert component.entities_for("what is zorblax")[0]["value"] == "captem"
