"""Applying update expressions (and legacy AttributeUpdates) to an item.

https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html

Every operand is evaluated against the item as it was *before* the update, then
the actions are applied to a copy; since no two action paths may overlap, the
order of SET/ADD/DELETE doesn't matter. REMOVEs of list elements run last and
from the highest index down, so each index names an element of the original
list (DynamoDB: "REMOVE a[1], a[2]" removes the original second and third).
"""

from __future__ import annotations

from typing import Any

from emulator.dynamodb import types
from emulator.errors import AwsError

from .ast import Arith, Call, Const, Operand, Path
from .paths import Elements, build_trie, get_path, project

AV = dict[str, Any]
Item = dict[str, AV]


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _bad_path() -> AwsError:
    return _invalid("The document path provided in the update expression is invalid for update")


def _bad_type(legacy: bool) -> AwsError:
    if legacy:
        return _invalid("Type mismatch for attribute to update")
    return _invalid("An operand in the update expression has an incorrect data type")


def _missing() -> AwsError:
    return _invalid("The provided expression refers to an attribute that does not exist in the item")


def _set_at(item: Item, path: Elements, value: AV) -> None:
    # Each step below the top-level attribute is one more level of nesting.
    if len(path) > 1 and len(path) - 1 + types.nesting_depth(value) > types.MAX_NESTING:
        raise _invalid("Nesting Levels have exceeded supported limits")
    if len(path) == 1:
        item[str(path[0])] = value
        return
    parent = get_path(item, path[:-1])
    last = path[-1]
    if parent is None:
        raise _bad_path()
    if isinstance(last, int):
        seq = parent.get("L")
        if not isinstance(seq, list):
            raise _bad_path()
        # Setting an index past the end appends (DynamoDB documents this for SET).
        if last < len(seq):
            seq[last] = value
        else:
            seq.append(value)
    else:
        mapping = parent.get("M")
        if not isinstance(mapping, dict):
            raise _bad_path()
        mapping[last] = value


def _remove_at(item: Item, path: Elements) -> None:
    if len(path) == 1:
        item.pop(str(path[0]), None)
        return
    parent = get_path(item, path[:-1])
    # DynamoDB rejects REMOVE x.y when x is missing or not a container, but
    # silently ignores a missing y (or an index past the end of the list).
    if parent is None:
        raise _bad_path()
    last = path[-1]
    if isinstance(last, int):
        seq = parent.get("L")
        if not isinstance(seq, list):
            raise _bad_path()
        if last < len(seq):
            del seq[last]
    else:
        mapping = parent.get("M")
        if not isinstance(mapping, dict):
            raise _bad_path()
        mapping.pop(last, None)


def _set_union(current: AV, addition: AV) -> AV:
    kind = types.type_of(current)
    seen = types.set_keys(current)
    out = list(current[kind])
    for element in addition[kind]:
        key = types.set_keys({kind: [element]}).pop()
        if key not in seen:
            seen.add(key)
            out.append(types.normalize_number(element) if kind == "NS" else element)
    return {kind: out}


def _set_difference(current: AV, removal: AV) -> AV | None:
    kind = types.type_of(current)
    drop = types.set_keys(removal)
    out = [e for e in current[kind] if types.set_keys({kind: [e]}).pop() not in drop]
    return {kind: out} if out else None


def _ascending_key(path: Elements) -> tuple[tuple[int, Any], ...]:
    return tuple((1, e) if isinstance(e, int) else (0, e) for e in path)


def _sort_key(path: Elements) -> tuple[tuple[int, Any], ...]:
    # Higher list indexes first; names in any stable order.
    return tuple((1, -e) if isinstance(e, int) else (0, e) for e in path)


class Update:
    """A compiled update: SET (path, operand), REMOVE path, ADD/DELETE (path, value)."""

    def __init__(
        self,
        sets: list[tuple[Elements, Operand]] | None = None,
        removes: list[Elements] | None = None,
        adds: list[tuple[Elements, AV]] | None = None,
        deletes: list[tuple[Elements, AV]] | None = None,
        *,
        legacy: bool = False,
        kind: str = "UpdateExpression",
    ) -> None:
        self.sets = sets or []
        self.removes = removes or []
        self.adds = adds or []
        self.deletes = deletes or []
        self.legacy = legacy
        self.changed_paths: list[Elements] = [p for p, _ in self.sets] + list(self.removes) + [p for p, _ in self.adds] + [p for p, _ in self.deletes]
        # Also raises DynamoDB's overlap/conflict errors for expressions.
        self._trie = build_trie(self.changed_paths, kind)
        # What REMOVE removed isn't part of the new item (and a removed list index would
        # now name the element that shifted into its place).
        self._new_trie = build_trie([p for p, _ in self.sets] + [p for p, _ in self.adds] + [p for p, _ in self.deletes], kind)

    @property
    def changed_attributes(self) -> set[str]:
        """Top-level attribute names the update touches (to refuse key changes, for example)."""
        return {str(p[0]) for p in self.changed_paths}

    def _value(self, node: Operand, item: Item) -> AV:
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Path):
            value = get_path(item, node.elements)
            if value is None:
                raise _missing()
            return value
        if isinstance(node, Call):
            if node.name == "if_not_exists":
                first = node.args[0]
                assert isinstance(first, Path)
                existing = get_path(item, first.elements)
                return existing if existing is not None else self._value(node.args[1], item)
            if node.name == "list_append":
                left, right = self._value(node.args[0], item), self._value(node.args[1], item)
                if types.type_of(left) != "L" or types.type_of(right) != "L":
                    raise _bad_type(False)
                return {"L": list(left["L"]) + list(right["L"])}
            raise _invalid(f"Invalid UpdateExpression: The function is not allowed in an update expression; function: {node.name}")
        if isinstance(node, Arith):
            left, right = self._value(node.left, item), self._value(node.right, item)
            if types.type_of(left) != "N" or types.type_of(right) != "N":
                raise _bad_type(False)
            return {"N": types.add_numbers(left["N"], right["N"], subtract=node.op == "-")}
        raise TypeError(f"unexpected operand {node!r}")

    def _add(self, item: Item, path: Elements, value: AV) -> None:
        current = get_path(item, path)
        kind = types.type_of(value)
        if current is None:
            _set_at(item, path, types.normalize_value(value))
            return
        current_kind = types.type_of(current)
        if kind != current_kind:
            raise _bad_type(self.legacy)
        if kind == "N":
            _set_at(item, path, {"N": types.add_numbers(current["N"], value["N"])})
        elif kind in types.SET_TYPES:
            _set_at(item, path, _set_union(current, value))
        elif kind == "L" and self.legacy:
            # Legacy ADD appends to lists (AttributeValueUpdate's documentation).
            _set_at(item, path, {"L": list(current["L"]) + [types.copy_value(v) for v in value["L"]]})
        else:
            raise _bad_type(self.legacy)

    def _delete(self, item: Item, path: Elements, value: AV) -> None:
        current = get_path(item, path)
        if current is None:
            return
        if types.type_of(current) != types.type_of(value):
            raise _bad_type(self.legacy)
        remaining = _set_difference(current, value)
        if remaining is None:
            # DynamoDB removes an attribute whose set becomes empty.
            _remove_at(item, path)
        else:
            _set_at(item, path, remaining)

    def apply(self, item: Item | None) -> Item:
        """A NEW item with the update applied (``item`` is left untouched; None means no item)."""
        original = item or {}
        new = types.copy_item(original)
        values = [(path, types.copy_value(self._value(op, original))) for path, op in self.sets]
        # Indexes past the end of a list append, in index order.
        for path, value in sorted(values, key=lambda pv: _ascending_key(pv[0])):
            _set_at(new, path, value)
        for path, value in self.adds:
            self._add(new, path, value)
        for path, value in self.deletes:
            self._delete(new, path, value)
        for path in sorted(self.removes, key=_sort_key):
            _remove_at(new, path)
        return new

    def updated_attributes(self, old_item: Item | None, new_item: Item | None, which: str = "new") -> Item:
        """What ReturnValues UPDATED_OLD ("old") / UPDATED_NEW ("new") return: the updated
        paths projected from the item before / after the update."""
        if which == "old":
            return project(old_item, self._trie)
        return project(new_item, self._new_trie)

    def __repr__(self) -> str:
        return f"Update(sets={self.sets!r}, removes={self.removes!r}, adds={self.adds!r}, deletes={self.deletes!r})"
