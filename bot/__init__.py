"""The assistant's Rasa-side code: NLU components, channels, tracker store, Rasa patches."""

from bot.logging_filter import install_if_serving
from bot.rasa_patches import apply_if_rasa_loaded

apply_if_rasa_loaded()
install_if_serving()  # user text out of the logs (bot/logging_filter.py)
