"""The few places where Rasa itself is patched, each with the reason. Checked against
rasa 3.6.21; ``tests/test_rasa_patches.py`` fails when the patched Rasa code changes, so a Rasa
upgrade makes someone look at this file again.

1. **A bounded custom-action call with a kind reply when it fails.** ``RemoteAction.run``
   waits up to 5 minutes (``DEFAULT_REQUEST_TIMEOUT``) for the action server, and when the
   call fails the processor logs a trace and drops the action's events, so a person asking a
   knowledge question while the action server is down or hung waits minutes and then gets
   nothing. Patched: the call is bounded by ``ACTION_SERVER_TIMEOUT`` seconds (default 8) and
   a failure (refused, hung, 5xx, bad reply) is answered with the domain response
   ``utter_action_unavailable``; the conversation goes on normally once the action server is
   back. Safety replies never wait for the action server at all: their rules use domain
   responses only (data/stories/rules_safety.yml). While the call waits, the message gives
   its admission place to the next one in the queue (``bot.channels.admission.outside``),
   so a hung action server does not stall the messages queued behind it.
2. **The action server's reply schema is checked with a validator built once.**
   ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``, which re-checks
   the (large, constant) schema itself on every call: about 14 ms per custom action on this
   machine, most of the Rasa server's CPU. Same check, same error, validator cached.
   Valid replies (nearly all) take a shorter way to the same verdict: every event's schema
   is a ``oneOf`` of one subschema per event type, each fixed by ``"event": {"const": ...}``,
   so an event is valid exactly when the rest of its schema and the one subschema of its own
   type accept it; the other 22 are not tried. Anything that way rejects is checked again by
   the full validator, which raises the error.
3. **No version banner.** ``GET /`` answers ``Hello from Rasa: 3.6.21``; the version helps
   nobody but an attacker. Patched to ``{"status": "ok"}`` (health checks only need a 200).
4. **Say so when the tracker database was unreachable.** Rasa's ``FailSafeTrackerStore``
   answers from a fresh in-memory conversation when the store fails and logs it, so the
   person gets an answer without context and the turn is silently missing from the
   database. ``Agent.handle_message`` is wrapped: when ``bot/tracker_store.py`` flagged the
   database as unreachable during this message, the kind ``utter_store_unavailable``
   response of bot/domain/availability.yml ("try again shortly") is sent after the replies
   (safety replies, chosen by rules without the store, still come first).
5. **A hook after Rasa's logging set-up** (:func:`call_after_logging_setup`, used by
   bot/cli.py only). ``rasa.__main__.main`` configures logging, then structlog (replacing
   its processors), then runs the command. Under bot/cli.py the package ``bot`` is imported
   before Rasa, so patches 1-4 and the user-text log filter cannot wait for Rasa to import
   ``bot``: ``configure_structlog`` as ``rasa.__main__`` calls it is wrapped to apply them
   right after it. Not part of :func:`apply`.
6. **Event classes found by a table, not a walk of the class tree.** Loading a tracker
   turns each stored event into its class with ``Event.resolve_by_type``, which walks every
   subclass of ``Event`` (``all_subclasses``, with an ``inspect.isabstract`` call for each)
   for every event: about 3.6 ms of the 24 ms of CPU per message in the profile
   (docs/performance.md). Patched: a ``type_name -> class`` table built by the same walk,
   first match kept as Rasa's loop does, and rebuilt when a name is not in it (a class
   imported later); an unknown name still gets Rasa's own answer.

7. **Trained TensorFlow models are built for prediction only.** ``RasaModel.load`` (DIET)
   builds the network by *training it on one example* (``fit``, with Adam's slots and the
   traced training graph), then overwrites the weights from the checkpoint: about 190 MB of
   the model process's memory that prediction never uses (docs/performance.md). Patched:
   the network is built by one prediction, the checkpoint restored into it (every variable
   that prediction uses must be matched, or Rasa's own load runs instead), and the label
   embeddings and prediction graph made again with the trained weights. Same predictions
   to the last digit (``tests/test_rasa_patches.py``); fine-tuning still takes Rasa's path.
8. **The inference graph is run in order, without dask.** ``DaskGraphRunner.run`` builds
   the minimal schema and a dask graph for every run (three runs per message: NLU, then a
   policy prediction per action) and dask's local scheduler adds its bookkeeping: about
   2 ms of CPU per message for a graph that is a fixed chain. Patched: the minimal schema
   and a dependency order are computed once per target list; then each node is called with
   its parents' outputs exactly as dask called it (the same ``(node name, output)``
   tuples, an unresolved input passed as its name), and ``RuntimeError`` becomes
   ``GraphRunError`` as before. Training keeps Rasa's runner: a runner without a model id
   (training, fingerprinting) is passed to dask unchanged.
9. **DIET's prediction graph is called directly.** ``RasaModel._rasa_predict`` calls its
   ``tf.function``, whose dispatcher works out for every message which traced graph fits
   the inputs (about half of the TensorFlow time per parse in the profile). The function
   has a fixed input signature, so there is exactly one graph: patched, it is taken once
   (``get_concrete_function``) and called directly, with the inputs checked against the
   traced signature here (dtype and compatible shape; anything else takes TensorFlow's own
   checks) instead of by TensorFlow's general argument handling. Same outputs
   (``tests/test_rasa_patches.py`` compares the rankings with Rasa's own path); eager mode
   and the first call (which builds the function) stay Rasa's.

:func:`apply` is idempotent. ``bot/__init__.py`` calls :func:`apply_if_rasa_loaded`: every
Rasa process of this project imports ``bot`` (components, channels and the tracker store live
there) after Rasa's server modules are loaded, so the patches are in place before the first
request; a unit test or tool that imports ``bot`` without Rasa's server pays no import cost.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from jsonschema.protocols import Validator
    from rasa.core.channels.channel import OutputChannel
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

TIMEOUT_ENV = "ACTION_SERVER_TIMEOUT"
DEFAULT_TIMEOUT_S = 8.0
UNAVAILABLE_RESPONSE = "utter_action_unavailable"
_APPLIED = "_netchemo_patched"


def action_timeout_s() -> float:
    """Seconds to wait for the action server (env ``ACTION_SERVER_TIMEOUT``, default 8)."""
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_TIMEOUT_S
    except ValueError:
        logger.warning(
            "%s=%r is not a number; using %s", TIMEOUT_ENV, raw, DEFAULT_TIMEOUT_S
        )
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


@functools.lru_cache(maxsize=1)
def action_result_validator() -> Validator:
    """The validator of action-server replies, its schema checked once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.lru_cache(maxsize=1)
def event_type_validators() -> tuple[Validator, dict[str, Validator]] | None:
    """Patch 2's short way: the reply schema without the events' ``oneOf``, and one
    validator per event type; ``None`` when the schema is not of that shape."""
    import copy

    from rasa.core.actions.action import RemoteAction

    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    items = schema.get("properties", {}).get("events", {}).get("items", {})
    options = items.pop("oneOf", None)
    if not isinstance(options, list) or "event" not in items.get("required", []):
        return None
    by_type: dict[str, Any] = {}
    for option in options:
        const = option.get("properties", {}).get("event", {}).get("const")
        if not isinstance(const, str) or const in by_type:
            return None  # an option not fixed to one event type: only the full check
        by_type[const] = option
    cls = type(action_result_validator())
    return cls(schema), {name: cls(option) for name, option in by_type.items()}


def valid_by_event_type(result: Any) -> bool:
    """True when the short way accepts ``result`` (then the full schema does too)."""
    validators = event_type_validators()
    if validators is None:
        return False
    rest, by_type = validators
    if not rest.is_valid(result):
        return False
    for event in result.get("events") or []:  # each a dict with a string "event"
        validator = by_type.get(event["event"])
        if validator is None or not validator.is_valid(event):
            return False
    return True


def validate_action_result(_self: Any, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the cached validator: raises the same
    ``ValidationError`` (best match, with Rasa's hint appended) as ``jsonschema.validate``."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    if valid_by_event_type(result):
        return True
    error = best_match(action_result_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        "from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


async def unavailable_reply(
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    tracker: DialogueStateTracker,
) -> list[Event]:
    """The ``utter_action_unavailable`` response as the events of a failed action."""
    from rasa.core.actions.action import create_bot_utterance

    draft = await nlg.generate(UNAVAILABLE_RESPONSE, tracker, output_channel.name())
    if not draft:  # the response is missing from the domain: say so loudly in the log
        logger.error("domain has no response %s", UNAVAILABLE_RESPONSE)
        return []
    draft["utter_action"] = UNAVAILABLE_RESPONSE
    return [create_bot_utterance(draft)]


_EVENT_TYPES: dict[str, Any] = {}


def resolve_event_type(type_name: str, default: Any = None) -> Any:
    """Patch 6: ``Event.resolve_by_type`` through a table (see the module docstring)."""
    found = _EVENT_TYPES.get(type_name)
    if found is None:
        import rasa.shared.utils.common
        from rasa.shared.core.events import Event

        _EVENT_TYPES.clear()
        for cls in rasa.shared.utils.common.all_subclasses(Event):
            _EVENT_TYPES.setdefault(cls.type_name, cls)
        found = _EVENT_TYPES.get(type_name)
    if found is not None:
        return found
    return ORIGINALS["Event.resolve_by_type"](type_name, default)


def load_for_prediction(original: Callable[..., Any]) -> Callable[..., Any]:
    """Patch 7: ``RasaModel.load`` without the one-example training (module docstring)."""

    @functools.wraps(original)
    def load(
        cls: Any,
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        def rasas_own() -> Any:
            return original(
                cls,
                model_file_name,
                model_data_example,
                predict_data_example,
                finetune_mode,
                *args,
                **kwargs,
            )

        if finetune_mode or predict_data_example is None:
            return rasas_own()
        try:
            model = cls(*args, **kwargs)
            model.run_inference(predict_data_example)  # builds what prediction uses
            status = model.load_weights(model_file_name)
            status.expect_partial()  # the optimizer's slots and the training metrics
            status.assert_existing_objects_matched()
        except Exception as error:  # a model this was not checked on: Rasa's own way
            logger.warning(
                "%s: loaded by training one batch (%r)", model_file_name, error
            )
            return rasas_own()
        # The label embeddings and the traced prediction graph held the untrained weights.
        model.prepared_for_prediction = False
        model._tf_predict_step = None
        model.run_inference(predict_data_example)
        return model

    setattr(load, _APPLIED, True)
    return load


_PLANS = "_netchemo_plans"


def graph_plan(schema: Any) -> list[tuple[str, tuple[str, ...]]]:
    """Patch 8: the nodes of ``schema`` with their inputs, each after the nodes it needs."""
    order: list[tuple[str, tuple[str, ...]]] = []
    placed: set[str] = set()

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in placed or name not in schema.nodes:
            return  # done, or an input of the run (not a node)
        if name in path:
            raise ValueError(f"the graph has a cycle through {name!r}")
        needs = tuple(schema.nodes[name].needs.values())
        for parent in needs:
            place(parent, (*path, name))
        placed.add(name)
        order.append((name, needs))

    for name in schema.nodes:
        place(name, ())
    return order


def run_in_order(
    self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    """Patch 8: ``DaskGraphRunner.run`` without dask (see the module docstring)."""
    from rasa.engine.exceptions import GraphRunError

    if self._execution_context.model_id is None:  # training: not a trained model's run
        return ORIGINALS["DaskGraphRunner.run"](self, inputs, targets)
    run_targets = list(targets) if targets else list(self._graph_schema.target_names)
    plans = self.__dict__.setdefault(_PLANS, {})
    found = plans.get(tuple(run_targets))
    if found is None:
        plan = graph_plan(self._graph_schema.minimal_graph_schema(run_targets))
        found = plans[tuple(run_targets)] = (plan, {name for name, _needs in plan})
    plan, nodes = found
    results: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and value in nodes:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none "
                f"of the input names passed to the `run` method are the same as node "
                f"names in the graph schema."
            )
        results[name] = (name, value)
    try:
        for name, needs in plan:
            if name in results:  # an input given under a node's name replaces it
                continue
            node = self._instantiated_nodes[name]
            results[name] = node(*(results.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results[target] for target in run_targets)


setattr(run_in_order, _APPLIED, True)


_CONCRETE = "_netchemo_concrete_predict"


def graph_signature(
    specs: list[Any],
) -> list[tuple[Any, tuple[int | None, ...] | None]]:
    """Patch 9: each flat input's numpy dtype and dimensions (``None``: any) as traced."""
    return [
        (
            spec.dtype.as_numpy_dtype,
            None if spec.shape.rank is None else tuple(spec.shape.as_list()),
        )
        for spec in specs
    ]


def graph_inputs(batch_in: Any, signature: list[Any]) -> list[Any] | None:
    """Patch 9: ``batch_in`` as the graph's flat input tensors, or ``None`` when a value is
    not a numpy array of the traced dtype and of a shape the traced signature accepts."""
    import numpy as np
    import tensorflow as tf  # type: ignore[import-untyped]

    flat = tf.nest.flatten(batch_in)
    if len(flat) != len(signature):
        return None
    for value, (dtype, dims) in zip(flat, signature, strict=True):
        if not isinstance(value, np.ndarray) or value.dtype != dtype:
            return None
        if dims is not None and (
            len(dims) != value.ndim
            or any(
                d is not None and d != n for d, n in zip(dims, value.shape, strict=True)
            )
        ):
            return None
    return [tf.convert_to_tensor(value) for value in flat]


def predict_with_graph(self: Any, batch_in: Any) -> dict[str, Any]:
    """Patch 9: ``RasaModel._rasa_predict`` through the one traced graph (docstring)."""
    import tensorflow as tf
    from keras.utils import tf_utils  # type: ignore[import-untyped]
    from rasa.shared.constants import DIAGNOSTIC_DATA

    step = self._tf_predict_step
    if self._run_eagerly or step is None or not self.prepared_for_prediction:
        return ORIGINALS["RasaModel._rasa_predict"](self, batch_in)
    cached = self.__dict__.get(_CONCRETE)
    if cached is None or cached[0] is not step:  # a new function: take its graph once
        graph = step.get_concrete_function()
        specs = tf.nest.flatten(graph.structured_input_signature[0])
        cached = (step, graph, graph_signature(specs))
        self.__dict__[_CONCRETE] = cached  # not an attribute Keras should track
    self._training = False
    _step, graph, signature = cached
    tensors = graph_inputs(batch_in, signature)
    if tensors is None:  # not what the graph was traced for: TensorFlow's own checks
        result = graph(batch_in)
    else:
        result = graph._call_flat(tensors, captured_inputs=graph.captured_inputs)
    outputs = tf_utils.sync_to_numpy_or_python_type(result)
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(
            outputs[DIAGNOSTIC_DATA]
        )
    return outputs


setattr(predict_with_graph, _APPLIED, True)


def bounded_run(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``RemoteAction.run``: bounded wait; on failure the unavailable reply."""

    @functools.wraps(original)
    async def run(
        self: Any,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> list[Event]:
        from rasa.core.actions.action import ActionExecutionRejection

        from bot.channels.admission import outside

        timeout = action_timeout_s()
        try:
            async with outside():  # no admission place held while the call waits
                return await asyncio.wait_for(
                    original(self, output_channel, nlg, tracker, domain), timeout
                )
        except ActionExecutionRejection:
            raise  # Rasa's own protocol for "let another policy act": not a failure
        except asyncio.TimeoutError:
            logger.error(
                "action server did not answer %s within %.0f s", self.name(), timeout
            )
        except Exception as exc:  # refused, 5xx, invalid reply: one line, no user text
            logger.error("action %s failed: %s", self.name(), type(exc).__name__)
        return await unavailable_reply(output_channel, nlg, tracker)

    setattr(run, _APPLIED, True)
    return run


def add_root_route(app: Any) -> None:
    """``GET /`` for health checks, without Rasa's version banner."""
    from sanic import response

    @app.get("/")
    async def hello(_request: Any) -> Any:
        return response.json({"status": "ok"})


setattr(add_root_route, _APPLIED, True)


def store_notice(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``Agent.handle_message``: the ``store_unavailable`` sentence when needed."""

    @functools.wraps(original)
    async def handle_message(self: Any, message: Any) -> Any:
        from bot.channels.guard import reply_text
        from bot.tracker_store import STORE_UNAVAILABLE

        token = STORE_UNAVAILABLE.set(False)
        try:
            result = await original(self, message)
            if STORE_UNAVAILABLE.get():
                logger.warning("tracker store unreachable: this turn was not stored")
                channel = message.output_channel
                await channel.send_text_message(
                    message.sender_id, reply_text("store_unavailable", channel.name())
                )
                if isinstance(result, list):  # a collecting channel's own list
                    result = getattr(message.output_channel, "messages", result)
            return result
        finally:
            STORE_UNAVAILABLE.reset(token)

    setattr(handle_message, _APPLIED, True)
    return handle_message


PATCHED_MODULES = ("rasa.server", "rasa.core.actions.action", "rasa.core.agent")
# Rasa's own functions, as found before patching (the tests hash their source).
ORIGINALS: dict[str, Callable[..., Any]] = {}


def apply_if_rasa_loaded() -> None:
    """Apply the patches if Rasa's server modules are already imported (see docstring)."""
    if all(name in sys.modules for name in PATCHED_MODULES):
        apply()


def apply() -> None:
    """Apply the patches above (idempotent)."""
    import rasa.server
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import Event
    from rasa.utils.tensorflow.models import RasaModel

    if getattr(RemoteAction.run, _APPLIED, False):
        return
    ORIGINALS["DaskGraphRunner.run"] = DaskGraphRunner.run
    DaskGraphRunner.run = run_in_order  # type: ignore[method-assign]
    ORIGINALS["RasaModel._rasa_predict"] = RasaModel._rasa_predict
    RasaModel._rasa_predict = predict_with_graph  # type: ignore[method-assign]
    # the function inside the classmethod (``RasaModel.load`` would be bound to the class)
    ORIGINALS["RasaModel.load"] = RasaModel.__dict__["load"].__func__
    RasaModel.load = classmethod(  # type: ignore[method-assign,assignment]
        load_for_prediction(ORIGINALS["RasaModel.load"])
    )
    ORIGINALS["Event.resolve_by_type"] = Event.resolve_by_type
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore
    ORIGINALS["Agent.handle_message"] = Agent.handle_message
    Agent.handle_message = store_notice(Agent.handle_message)  # type: ignore
    ORIGINALS["RemoteAction.run"] = RemoteAction.run
    ORIGINALS[
        "RemoteAction._validate_action_result"
    ] = RemoteAction._validate_action_result
    ORIGINALS["rasa.server.add_root_route"] = rasa.server.add_root_route
    RemoteAction.run = bounded_run(RemoteAction.run)  # type: ignore[method-assign]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore
    rasa.server.add_root_route = add_root_route  # type: ignore[assignment]


def call_after_logging_setup(then: Callable[[], None]) -> None:
    """Patch 5: ``then()`` right after ``rasa.__main__.main`` has configured structlog,
    before it runs the command (idempotent for the same ``then``)."""
    import rasa.__main__

    current = rasa.__main__.configure_structlog
    if getattr(current, _APPLIED, None) is then:
        return

    @functools.wraps(current)
    def configure_structlog(*args: Any, **kwargs: Any) -> Any:
        result = current(*args, **kwargs)
        then()
        return result

    setattr(configure_structlog, _APPLIED, then)
    rasa.__main__.configure_structlog = configure_structlog


def revert() -> None:
    """Put Rasa's own functions back (``scripts/profile_turns.py --without-patches``)."""
    import rasa.server
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import Event
    from rasa.utils.tensorflow.models import RasaModel

    if not ORIGINALS:
        return
    DaskGraphRunner.run = ORIGINALS.pop("DaskGraphRunner.run")  # type: ignore
    RasaModel._rasa_predict = ORIGINALS.pop(  # type: ignore[method-assign]
        "RasaModel._rasa_predict"
    )
    RasaModel.load = classmethod(  # type: ignore[method-assign,assignment]
        ORIGINALS.pop("RasaModel.load")
    )
    Event.resolve_by_type = staticmethod(  # type: ignore[method-assign]
        ORIGINALS.pop("Event.resolve_by_type")
    )
    Agent.handle_message = ORIGINALS.pop("Agent.handle_message")  # type: ignore
    RemoteAction.run = ORIGINALS.pop("RemoteAction.run")  # type: ignore[method-assign]
    RemoteAction._validate_action_result = ORIGINALS.pop(  # type: ignore[method-assign]
        "RemoteAction._validate_action_result"
    )
    rasa.server.add_root_route = ORIGINALS.pop("rasa.server.add_root_route")
