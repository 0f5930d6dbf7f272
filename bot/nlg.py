"""The Rasa server's response templating, with the deployment settings always filled in.

Rasa fills a response's ``{placeholders}`` from the conversation's slots and the values an
action passes. The contact wording and the temperature thresholds of
``config/safety.yml`` (``{helpline}``, ``{emergency_number}``, ``{crisis_line}``,
``{temperature_*}``) are also slots (``bot/domain/settings.generated.yml``, written by
``make``), but a model trained without that file (a plain ``rasa train`` on a fresh clone)
has no such slots and would send "call {helpline} now" word for word. This generator adds
the values from the settings file the server was started with
(:func:`bot.responses.settings_values`), so the urgent, crisis and boundary replies are
complete however the model was trained; they win over the slots' copy made at training
time, so the file read at start-up is the one source.

Enabled in ``bot/endpoints.yml``::

    nlg:
      type: bot.nlg.SettingsNaturalLanguageGenerator

Rasa's public extension point for a generator class (``nlg.type`` as a module path,
``rasa.core.nlg.generator._load_from_module_name_in_endpoint_config``): the class is built
with ``endpoint_config`` and ``domain`` and, being a ``TemplatedNaturalLanguageGenerator``,
gets the model's responses when a model is loaded (``rasa.core.agent.Agent``). Checked
against Rasa 3.6.21; ``tests/actions/test_responses.py`` fails if that contract changes.
"""

from __future__ import annotations

from typing import Any, Dict

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.responses import settings_values


class SettingsNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's templated responses, with the settings' placeholder values always present.

    The settings are read once, when the server starts: a broken ``config/safety.yml``
    stops the start (``bot.settings.SettingsError``) instead of breaking every reply.
    """

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
    ) -> None:
        """Create the generator (Rasa passes the endpoint block and the domain)."""
        super().__init__(domain.responses if domain is not None else {})
        self.settings: Dict[str, str] = settings_values()

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> Dict[str, Any] | None:
        """The response ``utter_action`` for this conversation and channel, filled in."""
        filled = {**tracker.current_slot_values(), **self.settings}
        return self.generate_from_slots(utter_action, filled, output_channel, **kwargs)
