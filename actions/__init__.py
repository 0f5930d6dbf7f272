"""The rasa_sdk action server: thin actions that answer from ``kb/``."""
