"""Applying update expressions (and legacy AttributeUpdates) to an item.

https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html

Every operand is evaluated against the item as it was *before* the update, then
the actions are applied to a copy; since no two action paths may overlap, the
order of SET/ADD/DELETE doesn't matter. REMOVEs of list elements run last and
from the highest index down, so each index names an element of the original
list (DynamoDB: "REMOVE a[1], a[2]" removes the original second and third).
"""

from __future__ import annotations

import functools
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


def _container(item: Item, path: Elements) -> list[AV] | dict[str, AV]:
    """The list or map holding the last element of a nested ``path``.

    DynamoDB rejects an action on x.y or x[1] when x is missing or is not a map
    (a list for an index), whatever the action; only y itself may be missing.
    """
    parent = get_path(item, path[:-1])
    if parent is None:
        raise _bad_path()
    holder = parent.get("L") if isinstance(path[-1], int) else parent.get("M")
    if not isinstance(holder, list | dict):
        raise _bad_path()
    return holder


def _remove_at(item: Item, path: Elements) -> None:
    if len(path) == 1:
        item.pop(str(path[0]), None)
        return
    # A missing y (or an index past the end of the list) is silently ignored.
    holder = _container(item, path)
    last = path[-1]
    if isinstance(holder, list):
        assert isinstance(last, int)
        if last < len(holder):
            del holder[last]
    else:
        holder.pop(str(last), None)


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


def _operand_paths(node: Operand) -> list[Elements]:
    if isinstance(node, Path):
        return [node.elements]
    if isinstance(node, Call):
        return [p for arg in node.args for p in _operand_paths(arg)]
    if isinstance(node, Arith):
        return _operand_paths(node.left) + _operand_paths(node.right)
    return []


def static_type(node: Operand) -> str | None:
    """The type an operand's value is known to have before the item is read (None: it
    depends on the item). ``if_not_exists`` counts as the type of its fallback."""
    if isinstance(node, Const):
        return types.type_of(node.value)
    if isinstance(node, Arith):
        return "N"
    if isinstance(node, Call):
        if node.name == "list_append":
            return "L"
        if node.name == "if_not_exists":
            return static_type(node.args[1])
    return None


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
        clauses: tuple[str, ...] | None = None,
    ) -> None:
        self.sets = sets or []
        self.removes = removes or []
        self.adds = adds or []
        self.deletes = deletes or []
        self.legacy = legacy
        # The expression's clauses in textual order (None: legacy AttributeUpdates).
        self.clauses = clauses
        self.changed_paths: list[Elements] = [p for p, _ in self.sets] + list(self.removes) + [p for p, _ in self.adds] + [p for p, _ in self.deletes]
        # The paths SET operands read (``a = pk.x + :n``): DynamoDB refuses a nested path into a
        # key attribute anywhere in the expression, not only where it is written.
        self.read_paths: list[Elements] = [p for _, op in self.sets for p in _operand_paths(op)]
        # Also raises DynamoDB's overlap/conflict errors for expressions.
        self._trie = build_trie(self.changed_paths, kind)
        # What REMOVE removed isn't part of the new item (and a removed list index would
        # now name the element that shifted into its place).
        self._new_trie = build_trie([p for p, _ in self.sets] + [p for p, _ in self.adds] + [p for p, _ in self.deletes], kind)

    @functools.cached_property
    def static_types(self) -> dict[str, str | None]:
        """Whole top-level attributes that SET, ADD or DELETE write, with the type of what they
        write when it is known before the item is read (DynamoDB checks index key types
        against it up front)."""
        out: dict[str, str | None] = {}
        for path, op in self.sets:
            if len(path) == 1:
                out[str(path[0])] = static_type(op)
        for path, value in self.adds + self.deletes:
            if len(path) == 1:
                out[str(path[0])] = types.type_of(value)
        return out

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
                # Each operand is checked before the next is read: a non-list first operand
                # is reported even when the second names a missing attribute.
                left = self._typed(node.args[0], item, "L")
                right = self._typed(node.args[1], item, "L")
                return {"L": list(left["L"]) + list(right["L"])}
            raise _invalid(f"Invalid UpdateExpression: The function is not allowed in an update expression; function: {node.name}")
        if isinstance(node, Arith):
            left = self._typed(node.left, item, "N")
            right = self._typed(node.right, item, "N")
            return {"N": types.add_numbers(left["N"], right["N"], subtract=node.op == "-")}
        raise TypeError(f"unexpected operand {node!r}")

    def _typed(self, node: Operand, item: Item, kind: str) -> AV:
        value = self._value(node, item)
        if types.type_of(value) != kind:
            raise _bad_type(False)
        return value

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
            # Deleting from a missing set is a no-op, but not below a missing or scalar parent.
            if len(path) > 1:
                _container(item, path)
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
        values = [(path, types.copy_value(self._value(op, original))) for path, op in self.sets]
        try:
            return self._apply(original, values)
        except AwsError:
            if self.clauses is not None:
                self._raise_first_error(original, values)
            raise

    def _raise_first_error(self, original: Item, values: list[tuple[Elements, AV]]) -> None:
        """Report the action that fails first in textual order, as dynalite (checked against
        DynamoDB by its author) does: it applies the actions in the order written, after
        evaluating every SET operand. Whether an action fails doesn't depend on the others (no
        two paths overlap), so each is tried alone on the original item."""
        sizes = {"SET": len(self.sets), "REMOVE": len(self.removes), "ADD": len(self.adds), "DELETE": len(self.deletes)}
        order = [(clause, index) for clause in self.clauses or () for index in range(sizes[clause])]
        for clause, index in order:
            trial = types.copy_item(original)
            if clause == "SET":
                _set_at(trial, values[index][0], types.copy_value(values[index][1]))
            elif clause == "REMOVE":
                _remove_at(trial, self.removes[index])
            elif clause == "ADD":
                self._add(trial, *self.adds[index])
            else:
                self._delete(trial, *self.deletes[index])

    def _apply(self, original: Item, values: list[tuple[Elements, AV]]) -> Item:
        new = types.copy_item(original)
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
