"""Projection expressions and AttributesToGet.

https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ProjectionExpressions.html
"""

from __future__ import annotations

from typing import Any

from .paths import Elements, build_trie, project

AV = dict[str, Any]


class Projection:
    """The selected document paths; ``apply`` keeps only them (nested maps and list elements too)."""

    __slots__ = ("_trie", "paths")

    def __init__(self, paths: list[Elements], *, kind: str = "ProjectionExpression") -> None:
        self.paths = list(paths)
        # Raises "Two document paths overlap with each other ..." like DynamoDB.
        self._trie = build_trie(self.paths, kind)

    @property
    def top_level_names(self) -> set[str]:
        return {str(p[0]) for p in self.paths}

    def apply(self, item: dict[str, AV] | None) -> dict[str, AV]:
        return project(item, self._trie)

    def __repr__(self) -> str:
        return f"Projection({self.paths!r})"
