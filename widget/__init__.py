"""Web chat widget (JS/CSS in src/, demo forum in demo/) and its static server (serve.py)."""
