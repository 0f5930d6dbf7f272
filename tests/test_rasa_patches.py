"""bot/rasa_patches.py: each patch does what it says, and Rasa's patched code is unchanged."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError, validate

import bot.rasa_patches as patches
from scripts.serve import free_port

ROOT = Path(__file__).resolve().parents[1]

# sha256 (first 16 hex digits) of Rasa 3.6.21's source of each patched function. When this
# test fails, Rasa changed the code we patch: read the new code, adapt bot/rasa_patches.py,
# then update the hash.
RASA_SOURCES = {
    "RemoteAction.run": "ccabf6f1160d527a",
    "RemoteAction._validate_action_result": "f8cdb4be68123961",
    "rasa.server.add_root_route": "acc5f7c278af32f8",
    "Agent.handle_message": "ba53507e4d5532a3",
    "Event.resolve_by_type": "b5cf570fa7f286c7",
    "RasaModel.load": "84fd81c0fdd01a80",
    "DaskGraphRunner.run": "45f0f52f574f3aa9",
    "RasaModel._rasa_predict": "7f745b0f9cb647c9",
}

# Patch 5 wraps a function that this one calls: its order (logging, structlog, command) is
# what the patch relies on.
HOOKED_SOURCES = {"rasa.__main__.main": "2f38a2b1d86fd943"}


@pytest.fixture(scope="module", autouse=True)
def applied() -> None:
    patches.apply()


def test_patched_rasa_code_is_the_code_that_was_checked() -> None:
    assert set(patches.ORIGINALS) == set(RASA_SOURCES)
    for name, original in patches.ORIGINALS.items():
        digest = hashlib.sha256(inspect.getsource(original).encode()).hexdigest()[:16]
        assert digest == RASA_SOURCES[name], f"Rasa's {name} changed: review the patch"


def test_the_code_around_the_logging_hook_is_the_code_that_was_checked() -> None:
    import rasa.__main__

    digest = hashlib.sha256(inspect.getsource(rasa.__main__.main).encode()).hexdigest()
    assert digest[:16] == HOOKED_SOURCES["rasa.__main__.main"], "review patch 5"


def test_the_logging_hook_runs_once_after_rasa_configured_structlog(
    monkeypatch,
) -> None:
    import rasa.__main__

    calls: list[str] = []
    monkeypatch.setattr(
        rasa.__main__, "configure_structlog", lambda *a: calls.append("rasa")
    )
    hook = lambda: calls.append("ours")  # noqa: E731
    patches.call_after_logging_setup(hook)
    patches.call_after_logging_setup(hook)  # idempotent: wrapped once
    rasa.__main__.configure_structlog(20)
    assert calls == ["rasa", "ours"]


def test_apply_is_idempotent() -> None:
    from rasa.core.actions.action import RemoteAction

    run = RemoteAction.run
    patches.apply()
    assert RemoteAction.run is run
    assert not getattr(run.__wrapped__, "_netchemo_patched", False)


def test_event_table_resolves_every_event_type_as_rasa_does() -> None:
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    original = patches.ORIGINALS["Event.resolve_by_type"]
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert len(names) > 20  # user, bot, action, slot, ... : the walk found them
    for name in sorted(names):
        assert Event.resolve_by_type(name) is original(name)
    assert Event.resolve_by_type("topic") is None  # Rasa's backwards compatibility
    assert Event.resolve_by_type("no-such-event", default=Event) is Event
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no-such-event")


def test_event_table_finds_a_class_defined_after_it_was_built() -> None:
    from rasa.shared.core.events import Event, UserUttered

    Event.resolve_by_type("user")  # builds the table

    class LateEvent(UserUttered):
        type_name = "netchemo_test_late_event"

    assert Event.resolve_by_type("netchemo_test_late_event") is LateEvent


def test_cached_validator_accepts_and_rejects_like_jsonschema() -> None:
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    good = {"events": [{"event": "slot", "name": "topic", "value": "captem"}]}
    bad = {"events": [{"event": "no_such_event"}], "responses": "not a list"}
    assert patches.validate_action_result(None, good) is True
    validate(good, schema)
    with pytest.raises(ValidationError) as ours:
        patches.validate_action_result(None, bad)
    with pytest.raises(ValidationError) as theirs:
        validate(bad, schema)
    assert ours.value.message.startswith(theirs.value.message)
    assert "Failed to validate Action server response" in ours.value.message
    assert patches.action_result_validator() is patches.action_result_validator()


REPLIES = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "topic", "value": "captem"}]},
    {"events": [{"event": "slot", "value": "captem"}]},  # slot needs a name
    {"events": [{"event": "bot", "text": "CAPTEM is...", "data": {}}]},
    {"events": [{"event": "bot", "text": 7}]},
    {"events": [{"event": "user", "text": "hi", "parse_data": {"intent": {}}}]},
    {"events": [{"event": "followup", "name": "action_x"}, {"event": "restart"}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "topic"}]},  # no event type
    {"events": [{"event": 3}]},
    {"events": ["slot"]},
    {"events": {"event": "slot"}},
    {"events": [{"event": "slot", "name": "t", "value": 1, "timestamp": "now"}]},
    {"responses": [{"text": "hi"}], "events": None},
    {"responses": "not a list"},
    {"responses": ["text"]},
    [],
]


@pytest.mark.parametrize("reply", REPLIES)
def test_the_short_way_and_the_full_check_give_one_verdict(reply: Any) -> None:
    from rasa.core.actions.action import RemoteAction

    try:
        validate(reply, RemoteAction.action_response_format_spec())
        expected = True
    except ValidationError:
        expected = False
    assert patches.event_type_validators() is not None  # the schema has that shape
    assert patches.valid_by_event_type(reply) is expected
    if expected:
        assert patches.validate_action_result(None, reply) is True
    else:
        with pytest.raises(ValidationError):
            patches.validate_action_result(None, reply)


@pytest.mark.parametrize(
    "raw, expected",
    [("", 8.0), ("2.5", 2.5), ("soon", 8.0), ("-1", 8.0), ("0", 8.0)],
)
def test_action_timeout_from_the_environment(monkeypatch, raw, expected) -> None:
    monkeypatch.setenv(patches.TIMEOUT_ENV, raw)
    assert patches.action_timeout_s() == expected


def test_root_route_has_no_version_banner() -> None:
    import rasa
    from sanic import Sanic

    app = Sanic(f"patch_test_{time.monotonic_ns()}")
    patches.add_root_route(app)
    handler = next(r.handler for r in app.router.routes if r.path == "")
    reply = asyncio.run(handler(None))
    assert reply.status == 200
    assert rasa.__version__ not in reply.body.decode() and b"Rasa" not in reply.body


# ---- the bounded custom-action call, against real sockets ---------------------------------


@pytest.fixture
async def hung_server() -> AsyncIterator[str]:
    """An HTTP server that accepts connections and never answers (a SIGSTOPped server)."""
    held = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the test closes the connection

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def run_parts() -> dict[str, Any]:
    """A domain, NLG, tracker and output channel like the Rasa server's."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(ROOT / "bot" / "domain"))
    return {
        "output_channel": CollectingOutputChannel(),
        "nlg": TemplatedNaturalLanguageGenerator(domain.responses),
        "tracker": DialogueStateTracker.from_events("patch-test", [], domain.slots),
        "domain": domain,
    }


async def run_action(url: str) -> tuple[list, float]:
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    action = RemoteAction("action_answer_question", EndpointConfig(url=url))
    started = time.monotonic()
    events = await action.run(**run_parts())
    return events, time.monotonic() - started


def unavailable_text() -> str:
    import yaml

    domain = yaml.safe_load((ROOT / "bot/domain/availability.yml").read_text())
    return domain["responses"][patches.UNAVAILABLE_RESPONSE][0]["text"]


def assert_unavailable_reply(events: list) -> None:
    from rasa.shared.core.events import BotUttered

    assert len(events) == 1 and isinstance(events[0], BotUttered)
    assert events[0].metadata.get("utter_action") == patches.UNAVAILABLE_RESPONSE
    assert events[0].text.startswith(unavailable_text().split("{")[0].strip())


async def test_a_hung_action_server_gets_the_unavailable_reply_in_time(
    monkeypatch, hung_server
) -> None:
    monkeypatch.setenv(patches.TIMEOUT_ENV, "1")
    events, took = await run_action(hung_server)
    assert_unavailable_reply(events)
    assert 0.9 < took < 3.0


async def test_a_refused_action_server_gets_the_unavailable_reply(monkeypatch) -> None:
    monkeypatch.setenv(patches.TIMEOUT_ENV, "5")
    events, took = await run_action(f"http://127.0.0.1:{free_port()}/webhook")
    assert_unavailable_reply(events)
    assert took < 3.0


def test_revert_restores_rasa_and_apply_patches_again() -> None:
    from rasa.core.actions.action import RemoteAction

    patches.revert()
    try:
        assert not getattr(RemoteAction.run, "_netchemo_patched", False)
        assert (
            RemoteAction._validate_action_result is not patches.validate_action_result
        )
        from rasa.shared.core.events import Event

        assert Event.resolve_by_type is not patches.resolve_event_type
        from rasa.engine.runner.dask import DaskGraphRunner

        assert DaskGraphRunner.run is not patches.run_in_order
    finally:
        patches.apply()
    assert getattr(RemoteAction.run, "_netchemo_patched", False)
    assert RemoteAction._validate_action_result is patches.validate_action_result


def test_a_diet_model_loaded_for_prediction_predicts_exactly_as_rasas_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Patch 7: a small DIET, trained here, loaded with and without the patch."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("cv"), context
    )
    config = {
        **DIETClassifier.get_default_config(),
        "epochs": 3,
        "number_of_transformer_layers": 0,
        "entity_recognition": False,
        "random_seed": 1,
    }
    resource = Resource("diet")
    examples = {
        "greet": ["hello", "hi there", "good morning"],
        "goodbye": ["bye", "see you later", "good night"],
        "ask": ["what is captem", "what is folfox", "is temozolomide chemo"],
    }
    data = TrainingData(
        [Message.build(text=t, intent=i) for i, ts in examples.items() for t in ts]
    )
    tokenizer.process_training_data(data)
    featurizer.train(data)
    featurizer.process_training_data(data)
    DIETClassifier.create(config, storage, resource, context).train(data)

    graphs_called: list[bool] = []

    def rankings(
        load_context: ExecutionContext = context,
    ) -> list[list[tuple[str, float]]]:
        model = DIETClassifier.load(config, storage, resource, load_context)
        texts = ("hey", "what is it", "ciao", "is it chemo", "bye bye")
        ranked = []
        for text in texts:  # one at a time, as the server parses
            message = Message(data={"text": text})
            tokenizer.process([message])
            featurizer.process([message])
            model.process([message])
            ranking = message.get("intent_ranking")
            ranked.append([(r["name"], r["confidence"]) for r in ranking])
        graphs_called.append(patches._CONCRETE in model.model.__dict__)
        return ranked

    with caplog.at_level("WARNING", logger=patches.__name__):
        patched = rankings()
    assert not caplog.records  # the patched path, not the fallback to Rasa's
    assert graphs_called == [True]  # patch 9: later messages called the graph directly
    # fine-tuning takes Rasa's own load through the patch (it is not the patched path)
    finetuning = ExecutionContext(GraphSchema({}), "test", is_finetuning=True)
    assert rankings(finetuning) == patched
    patches.revert()
    try:
        assert rankings() == patched
    finally:
        patches.apply()


class Recorder:
    """A graph node as dask calls it: parents' ``(name, output)`` tuples in, one out."""

    def __init__(self, name: str, calls: list[str], fail: bool = False) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    def __call__(self, *parents: Any) -> tuple[str, Any]:
        self.calls.append(self.name)
        if self.fail:
            raise RuntimeError("node failed")
        return self.name, f"{self.name}{parents!r}"


def toy_runner(fail: str = "") -> tuple[Any, list[str]]:
    """A ``DaskGraphRunner`` over a small inference graph, its nodes recorders."""
    from rasa.engine.graph import (
        ExecutionContext,
        GraphComponent,
        GraphSchema,
        SchemaNode,
    )
    from rasa.engine.runner.dask import DaskGraphRunner

    def node(needs: dict[str, str], target: bool = False) -> SchemaNode:
        return SchemaNode(needs, GraphComponent, "load", "run", {}, is_target=target)

    schema = GraphSchema(
        {
            "tokens": node({"messages": "__message__"}),
            "features": node({"messages": "tokens"}),
            "intent": node({"messages": "features", "tokens": "tokens"}, True),
            "policy": node({"tracker": "__tracker__", "parse": "intent"}, True),
            "unresolved": node({"x": "__not_given__"}),
            "unused": node({"messages": "tokens"}),
        }
    )
    calls: list[str] = []
    runner = DaskGraphRunner.__new__(DaskGraphRunner)
    runner._graph_schema = schema
    runner._execution_context = ExecutionContext(schema, model_id="toy")
    runner._instantiated_nodes = {
        name: Recorder(name, calls, fail=name == fail) for name in schema.nodes
    }
    return runner, calls


@pytest.mark.parametrize(
    "targets", [None, ["intent"], ["policy", "tokens"], ["unresolved"], ["__message__"]]
)
def test_the_graph_runs_in_order_with_dasks_results(targets: Any) -> None:
    from rasa.engine.runner.dask import DaskGraphRunner

    inputs = {"__message__": ["what is captem"], "__tracker__": "tracker"}
    runner, calls = toy_runner()
    expected = patches.ORIGINALS["DaskGraphRunner.run"](runner, inputs, targets)
    dask_calls = sorted(calls)
    calls.clear()
    for _twice in range(2):  # the second run uses the cached plan
        assert DaskGraphRunner.run is patches.run_in_order
        assert runner.run(inputs, targets) == expected
        assert sorted(calls) == dask_calls  # the same nodes, each once
        assert "unused" not in calls
        for name, needs in patches.graph_plan(runner._graph_schema):
            for parent in needs:
                if parent in calls and name in calls:
                    assert calls.index(parent) < calls.index(name)
        calls.clear()


def test_a_failing_node_and_a_clashing_input_raise_as_with_dask() -> None:
    from rasa.engine.exceptions import GraphRunError

    runner, _calls = toy_runner(fail="features")
    inputs = {"__message__": ["hi"], "__tracker__": "t"}
    for run in (patches.ORIGINALS["DaskGraphRunner.run"], patches.run_in_order):
        with pytest.raises(GraphRunError, match="Error running runner"):
            run(runner, inputs, ["intent"])
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(runner, {"__message__": "tokens"}, ["intent"])


def test_training_runs_keep_dask() -> None:
    runner, calls = toy_runner()
    runner._execution_context.model_id = None
    seen: list[Any] = []
    original = patches.ORIGINALS["DaskGraphRunner.run"]
    patches.ORIGINALS["DaskGraphRunner.run"] = lambda *args: seen.append(args) or {}
    try:
        assert patches.run_in_order(runner, {}, ["intent"]) == {}
    finally:
        patches.ORIGINALS["DaskGraphRunner.run"] = original
    assert seen == [(runner, {}, ["intent"])] and calls == []


def test_graph_inputs_pass_only_what_the_traced_signature_accepts() -> None:
    import numpy as np
    import tensorflow as tf

    specs = [tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec(None, tf.int64)]
    signature = patches.graph_signature(specs)
    good = (np.zeros((2, 3), np.float32), np.arange(4))
    tensors = patches.graph_inputs(good, signature)
    assert tensors is not None and [t.shape.as_list() for t in tensors] == [[2, 3], [4]]
    for bad in (
        (np.zeros((2, 4), np.float32), np.arange(4)),  # a fixed dimension differs
        (np.zeros((2, 3), np.float64), np.arange(4)),  # another dtype
        (np.zeros((2, 3, 1), np.float32), np.arange(4)),  # another rank
        ([[0.0, 0.0, 0.0]], np.arange(4)),  # not an array
        (np.zeros((2, 3), np.float32),),  # an input missing
    ):
        assert patches.graph_inputs(bad, signature) is None
