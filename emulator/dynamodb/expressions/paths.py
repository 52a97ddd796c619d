"""Document paths over items: reading, overlap checks and projection.

https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.Attributes.html
"""

from __future__ import annotations

from typing import Any

from emulator.dynamodb import types

from .ast import PathElement, invalid, path_display

AV = dict[str, Any]
Elements = tuple[PathElement, ...]


def get_path(item: dict[str, AV] | None, elements: Elements) -> AV | None:
    """The value at a path, or None when any step is missing or of the wrong type."""
    if not item:
        return None
    first = elements[0]
    if not isinstance(first, str):
        return None
    current = item.get(first)
    for element in elements[1:]:
        if current is None:
            return None
        if isinstance(element, int):
            seq = current.get("L")
            if not isinstance(seq, list) or element >= len(seq):
                return None
            current = seq[element]
        else:
            mapping = current.get("M")
            if not isinstance(mapping, dict):
                return None
            current = mapping.get(element)
    return current


class _Node:
    __slots__ = ("children", "end", "through")

    def __init__(self) -> None:
        self.children: dict[PathElement, _Node] = {}
        self.end: Elements | None = None  # the path that ends here
        self.through: Elements | None = None  # some path passing through here


def build_trie(paths: list[Elements], kind: str) -> _Node:
    """A trie of paths, raising DynamoDB's overlap/conflict errors
    (e.g. ``a`` and ``a.b`` overlap; ``a.b`` and ``a[1]`` conflict)."""
    root = _Node()
    for path in paths:
        node = root
        for element in path:
            if node.end is not None:
                raise _overlap(kind, node.end, path)
            if node.children and element not in node.children:
                sibling_kind = isinstance(next(iter(node.children)), int)
                if sibling_kind != isinstance(element, int):
                    other = node.through
                    assert other is not None
                    raise invalid(
                        kind,
                        f"Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {path_display(other)}, path two: {path_display(path)}",
                    )
            node.through = node.through or path
            node = node.children.setdefault(element, _Node())
        if node.end is not None or node.children:
            raise _overlap(kind, node.end or node.through or path, path)
        node.end = path
        node.through = node.through or path
    return root


def check_update_paths(paths: list[Elements], kind: str) -> None:
    """Raise DynamoDB's overlap or conflict error for an update expression's paths, given in
    textual order.

    An overlap anywhere is reported before any conflict; it names the earlier path that the
    first overlapping one overlaps. Among conflicts, the last pair met is reported. (This is
    dynalite's rule, whose author checked its update errors against DynamoDB.)
    """
    conflict: tuple[Elements, Elements] | None = None
    # Paths under different top-level attributes never meet, so each is compared only with the
    # earlier ones under its own attribute (a 4 KB expression can hold ~1000 paths).
    by_attribute: dict[PathElement, list[Elements]] = {}
    for path in paths:
        earlier_paths = by_attribute.setdefault(path[0], [])
        for earlier in earlier_paths:
            for one, two in zip(earlier, path, strict=False):
                if isinstance(one, int) != isinstance(two, int):
                    conflict = (earlier, path)
                    break
                if one != two:
                    break
            else:
                raise _overlap(kind, earlier, path)
        earlier_paths.append(path)
    if conflict is not None:
        raise invalid(
            kind,
            f"Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {path_display(conflict[0])}, path two: {path_display(conflict[1])}",
        )


def _overlap(kind: str, one: Elements, two: Elements) -> Exception:
    return invalid(
        kind,
        f"Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {path_display(one)}, path two: {path_display(two)}",
    )


def _project_value(value: AV, node: _Node) -> AV | None:
    if node.end is not None:
        return types.copy_value(value)
    keys = list(node.children)
    if isinstance(keys[0], int):
        seq = value.get("L")
        if not isinstance(seq, list):
            return None
        out_list = []
        for index in sorted(k for k in keys if isinstance(k, int)):
            if index < len(seq):
                projected = _project_value(seq[index], node.children[index])
                if projected is not None:
                    out_list.append(projected)
        return {"L": out_list} if out_list else None
    mapping = value.get("M")
    if not isinstance(mapping, dict):
        return None
    out_map = {}
    for key, child in node.children.items():
        assert isinstance(key, str)
        if key in mapping:
            projected = _project_value(mapping[key], child)
            if projected is not None:
                out_map[key] = projected
    return {"M": out_map} if out_map else None


def project(item: dict[str, AV] | None, root: _Node) -> dict[str, AV]:
    """The parts of an item the trie selects; nested maps keep only the selected keys and
    lists keep only the selected elements, in index order, as DynamoDB returns them."""
    out: dict[str, AV] = {}
    if not item:
        return out
    for name, child in root.children.items():
        if isinstance(name, str) and name in item:
            projected = _project_value(item[name], child)
            if projected is not None:
                out[name] = projected
    return out
