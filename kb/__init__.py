"""The curated knowledge base: YAML entries in ``kb/entries`` and the code that loads them.

Import :func:`load_kb` (cached) or :func:`read_kb` (uncached) to get a validated
:class:`KnowledgeBase`. Nothing is read at import time.
"""

from kb.loader import DEFAULT_KB_DIR, KBError, load_kb, read_kb
from kb.model import FACETS, KINDS, Entry, Facet, KnowledgeBase, Source

__all__ = [
    "DEFAULT_KB_DIR",
    "FACETS",
    "KINDS",
    "Entry",
    "Facet",
    "KBError",
    "KnowledgeBase",
    "Source",
    "load_kb",
    "read_kb",
]
