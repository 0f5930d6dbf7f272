"""YAML loading that refuses duplicate keys.

``yaml.safe_load`` silently keeps the last of two equal keys in a mapping, so a second
``no_urine:`` in a reviewed lexicon file, or a repeated ``facets:`` in a KB entry, would
hide everything written under the first one. Every reviewed YAML file (the KB, the safety
lexicon, the deployment settings, the domain responses) is read through :func:`load`.
"""

from __future__ import annotations

from typing import IO, Any, Union

import yaml
from yaml.constructor import ConstructorError


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises :class:`ConstructorError` on a duplicate key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Build the mapping, first checking that no key appears twice."""
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: SafeLoader reports it itself
                continue
            if duplicate:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load(stream: Union[str, bytes, IO[str], IO[bytes]]) -> Any:
    """Parse one YAML document like ``yaml.safe_load``, refusing duplicate keys
    (``yaml.YAMLError`` on a duplicate, with its line)."""
    return yaml.load(stream, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
