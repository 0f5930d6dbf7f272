"""The assistant's Rasa-side code: NLU components, channels, tracker store, Rasa patches.

In a Rasa server process Rasa imports ``bot`` (its components, channels and stores) after
its own server modules and logging set-up; the two calls below then patch Rasa
(bot/rasa_patches.py) and keep user text out of the logs (bot/logging_filter.py). Under
``bot.cli`` (``netchemo-rasa``, how the Makefile and scripts/serve.py run Rasa) ``bot`` is
imported first, these calls find nothing to do yet, and bot/cli.py makes the same two
calls right after Rasa's logging set-up.

First of all, :func:`bot.runtime.install` sets what must be set before TensorFlow loads
(less memory; bot/runtime.py).
"""

from bot import runtime

runtime.install()


from bot.logging_filter import install_if_serving  # noqa: E402
from bot.rasa_patches import apply_if_rasa_loaded  # noqa: E402

apply_if_rasa_loaded()
install_if_serving()  # user text out of the logs (bot/logging_filter.py)
