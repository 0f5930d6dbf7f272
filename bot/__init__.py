"""The assistant's Rasa-side code: NLU components, channels, tracker store, Rasa patches."""

from bot.rasa_patches import apply_if_rasa_loaded

apply_if_rasa_loaded()
