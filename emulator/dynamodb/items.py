"""Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem, and the
pieces batches and transactions reuse (request compilation, return values)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.dynamodb import expressions as ex
from emulator.dynamodb.core import (
    MAX_ITEM_SIZE,
    Capacity,
    EngineCore,
    Item,
    ItemKey,
    check_return_consumed,
    read_units,
)
from emulator.dynamodb.tables import Table, invalid, params_invalid
from emulator.dynamodb.types import (
    equals,
    item_size,
    normalized_sized_item,
    type_of,
    validate_item,
)
from emulator.errors import AwsError

RETURN_VALUES = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")


# Without any of these a request has no expression, legacy condition or placeholder
# to compile or check: the common PutItem/GetItem skips that machinery.
_PUT_EXPRESSION_PARAMS = ("ConditionExpression", "Expected", "ConditionalOperator", "ExpressionAttributeNames", "ExpressionAttributeValues")
# The expressions that take ExpressionAttributeValues, named when values come without them.
_CONDITION_VALUES = ("ConditionExpression",)
_UPDATE_VALUES = ("UpdateExpression", "ConditionExpression")
_GET_EXPRESSION_PARAMS = ("ProjectionExpression", "AttributesToGet", "ExpressionAttributeNames", "ExpressionAttributeValues")


def _uses_any(params: dict[str, Any], names: tuple[str, ...]) -> bool:
    for name in names:
        if params.get(name) is not None:
            return True
    return False


def null_member(member: str) -> AwsError:
    return invalid(f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")


def conditional_failed(old: Item | None, on_failure: Any) -> AwsError:
    extra = {"Item": old} if on_failure == "ALL_OLD" and old is not None else None
    return AwsError("ConditionalCheckFailedException", "The conditional request failed", 400, extra=extra)


def check_return_values(value: Any, allowed: tuple[str, ...]) -> str:
    if value is None:
        return "NONE"
    if value not in RETURN_VALUES:
        raise invalid(
            f"1 validation error detected: Value '{value}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(RETURN_VALUES)}]"
        )
    if value not in allowed:
        raise invalid("Return values set to invalid value")
    return str(value)


def check_on_failure(value: Any) -> str:
    if value is None:
        return "NONE"
    if value not in ("NONE", "ALL_OLD"):
        raise invalid(
            f"1 validation error detected: Value '{value}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        )
    return str(value)


def new_item(item: Any, where: str = "Item") -> Item:
    return new_item_sized(item, where)[0]


def new_item_sized(item: Any, where: str = "Item", prepared: tuple[Item, int] | None = None) -> tuple[Item, int]:
    """The validated, normalized item and its size as DynamoDB counts it. ``prepared``:
    what ``types.prepared_item`` already found for this very item (the checks passed)."""
    if prepared is not None:
        return prepared
    if item is None:
        raise null_member(where[0].lower() + where[1:])
    validate_item(item, where=where)
    return normalized_sized_item(item)


def _index_keys(table: Table) -> list[tuple[str, str, str]]:
    """(attribute, type, index name) of every index key, global indexes first."""
    out = []
    for idx in [*table.gsis.values(), *table.lsis.values()]:
        for name, typ in ((idx.hash_key, idx.hash_type), (idx.range_key, idx.range_type)):
            if name is not None and typ is not None:
                out.append((name, typ, idx.name))
    return out


def _check_index_key_types(table: Table, static_types: dict[str, str | None]) -> None:
    """DynamoDB refuses an update that writes a value of the wrong type to an index key
    attribute when that type is known from the request alone, before reading the item."""
    for name, typ, index_name in _index_keys(table):
        actual = static_types.get(name)
        if actual is not None and actual != typ:
            raise params_invalid(f"Type mismatch for Index Key {name} Expected: {typ} Actual: {actual} IndexName: {index_name}")


def _check_set_index_types(table: Table, update: Any, new: Item) -> None:
    """A SET whose value comes from the item (``gk = other``) is checked once it is known."""
    assigned = {name for name, typ in update.static_types.items() if typ is None}
    for name, typ, _ in _index_keys(table):
        if name in assigned and name in new and type_of(new[name]) != typ:
            raise invalid("The update expression attempted to update the secondary index key to unsupported type")


@dataclass
class WriteOp:
    """One validated write (PutItem, UpdateItem, DeleteItem or ConditionCheck), ready to run."""

    kind: str  # "Put" | "Update" | "Delete" | "ConditionCheck"
    table: Table
    key: ItemKey
    item: Item | None = None  # Put
    update: Any = None  # Update
    condition: Any = None
    on_failure: str = "NONE"
    size: int | None = None  # item size of a Put, computed once

    def new_image(self, engine: ItemOps, old: Item | None) -> Item | None:
        """The item after the write (None: deleted / unchanged for ConditionCheck)."""
        if self.kind == "Put":
            return self.item
        if self.kind == "Delete":
            return None
        if self.kind == "ConditionCheck":
            return old
        base = dict(old) if old is not None else dict(self.key.item)
        new = self.update.apply(base) if self.update is not None else base
        engine.check_key_unchanged(self.table, self.key, new)
        if self.update is not None and (self.table.gsis or self.table.lsis):
            _check_set_index_types(self.table, self.update, new)
        if item_size(new) > MAX_ITEM_SIZE:
            # UpdateItem's own wording for the limit (PutItem's lacks "to update").
            raise invalid("Item size to update has exceeded the maximum allowed size")
        engine.check_index_keys(self.table, new)
        return new


class ItemOps(EngineCore):
    # ------------------------------------------------------- compilation
    @staticmethod
    def context(params: dict[str, Any]) -> ex.ExpressionContext:
        return ex.ExpressionContext(params.get("ExpressionAttributeNames"), params.get("ExpressionAttributeValues"))

    @staticmethod
    def condition(params: dict[str, Any], ctx: ex.ExpressionContext) -> Any:
        ex.check_no_mixing(params, ("Expected", "ConditionalOperator"), ("ConditionExpression",))
        text = params.get("ConditionExpression")
        if text is not None:
            return ex.compile_condition(text, ctx, "ConditionExpression")
        if params.get("Expected"):
            return ex.condition_from_expected(params["Expected"], params.get("ConditionalOperator"))
        if params.get("ConditionalOperator") is not None:
            raise invalid("ConditionalOperator can only be used when Expected or QueryFilter or ScanFilter is specified")
        return None

    @staticmethod
    def projection(params: dict[str, Any], ctx: ex.ExpressionContext) -> Any:
        ex.check_no_mixing(params, ("AttributesToGet",), ("ProjectionExpression",))
        text = params.get("ProjectionExpression")
        if text is not None:
            return ex.compile_projection(text, ctx)
        names = params.get("AttributesToGet")
        if names is not None:
            if len(set(names)) != len(names):
                raise invalid(f"One or more parameter values were invalid: Duplicate value in attribute name: {next(n for n in names if names.count(n) > 1)}")
            return ex.projection_from_attributes(names)
        return None

    @staticmethod
    def check_key_paths(table: Table, paths: Iterable[Sequence[Any]]) -> None:
        """Refuse document paths into key attributes (``pk.x``, ``gsi_key[0]``) as DynamoDB does.

        ``paths``: element tuples of a projection, filter or update. The table's keys are
        checked first, then the global and the local secondary indexes' keys.
        """
        nested = {str(p[0]) for p in paths if len(p) > 1}
        if not nested:
            return
        for name in table.key_names:
            if name in nested:
                raise invalid(f"Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: {name}")
        index_keys: list[str | None] = [k for g in table.gsis.values() for k in (g.hash_key, g.range_key)]
        index_keys += [lsi.range_key for lsi in table.lsis.values()]
        for index_key in index_keys:
            if index_key is not None and index_key in nested:
                raise invalid(f"Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: {index_key}")

    def check_key_unchanged(self, table: Table, key: ItemKey, new: Item) -> None:
        for name in table.key_names:
            av = new.get(name)
            if av is None or not equals(av, key.item[name]):
                raise params_invalid(f"Cannot update attribute {name}. This attribute is part of the key")

    def compile_put(self, table: Table, params: dict[str, Any], where: str = "Item", prepared: tuple[Item, int] | None = None) -> WriteOp:
        item, size = new_item_sized(params.get("Item"), where, prepared)
        key = self.key_from_item(table, item)
        self.check_size(size)
        self.check_index_keys(table, item)
        cond = None
        if _uses_any(params, _PUT_EXPRESSION_PARAMS):
            ctx = self.context(params)
            cond = self.condition(params, ctx)
            ctx.finish(_CONDITION_VALUES)
        return WriteOp("Put", table, key, item=item, condition=cond, on_failure=check_on_failure(params.get("ReturnValuesOnConditionCheckFailure")), size=size)

    def compile_delete(self, table: Table, params: dict[str, Any]) -> WriteOp:
        if params.get("Key") is None:
            raise null_member("key")
        key = self.key_from_key(table, params["Key"])
        ctx = self.context(params)
        cond = self.condition(params, ctx)
        ctx.finish(_CONDITION_VALUES)
        return WriteOp("Delete", table, key, condition=cond, on_failure=check_on_failure(params.get("ReturnValuesOnConditionCheckFailure")))

    def compile_update(self, table: Table, params: dict[str, Any]) -> WriteOp:
        if params.get("Key") is None:
            raise null_member("key")
        key = self.key_from_key(table, params["Key"])
        ctx = self.context(params)
        ex.check_no_mixing(params, ("AttributeUpdates", "Expected", "ConditionalOperator"), _UPDATE_VALUES)
        update = None
        if params.get("UpdateExpression") is not None:
            update = ex.compile_update(params["UpdateExpression"], ctx)
        elif params.get("AttributeUpdates"):
            update = ex.update_from_attribute_updates(params["AttributeUpdates"])
        cond = self.condition(params, ctx)
        # Unused placeholders are a request error, reported before any check against the key schema.
        ctx.finish(_UPDATE_VALUES)
        if update is not None:
            for name in table.key_names:
                if name in update.changed_attributes:
                    raise params_invalid(f"Cannot update attribute {name}. This attribute is part of the key")
            if table.gsis or table.lsis:  # asked only where an index key can be written
                _check_index_key_types(table, update.static_types)
            self.check_key_paths(table, [*update.changed_paths, *update.read_paths])
        return WriteOp("Update", table, key, update=update, condition=cond, on_failure=check_on_failure(params.get("ReturnValuesOnConditionCheckFailure")))

    def compile_condition_check(self, table: Table, params: dict[str, Any]) -> WriteOp:
        if params.get("Key") is None:
            raise null_member("key")
        if params.get("ConditionExpression") is None:
            raise null_member("conditionExpression")
        key = self.key_from_key(table, params["Key"])
        ctx = self.context(params)
        cond = ex.compile_condition(params["ConditionExpression"], ctx, "ConditionExpression")
        ctx.finish(_CONDITION_VALUES)
        return WriteOp("ConditionCheck", table, key, condition=cond, on_failure=check_on_failure(params.get("ReturnValuesOnConditionCheckFailure")))

    # ------------------------------------------------------------ output
    def _write_output(self, op: WriteOp, params: dict[str, Any], rv: str, old: Item | None, new: Item | None, cap: Capacity, rcc: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if rv == "ALL_OLD" and old is not None:
            out["Attributes"] = old
        elif rv == "ALL_NEW" and new is not None:
            out["Attributes"] = new
        elif rv in ("UPDATED_OLD", "UPDATED_NEW") and op.update is not None:
            which = "old" if rv == "UPDATED_OLD" else "new"
            attrs = op.update.updated_attributes(old, new, which=which)
            if attrs:
                out["Attributes"] = attrs
        consumed = cap.render(rcc)
        if consumed is not None:
            out["ConsumedCapacity"] = consumed
        if params.get("ReturnItemCollectionMetrics") == "SIZE":
            metrics = self.item_collection_metrics(op.table, op.key)
            if metrics is not None:
                out["ItemCollectionMetrics"] = metrics
        return out

    def run_write(self, op: WriteOp, params: dict[str, Any], rv: str) -> dict[str, Any]:
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        cap = Capacity(op.table.name)
        with self.storage.transaction():
            old, old_size = self.get_item_sized(op.table, op.key)
            if op.condition is not None and not op.condition.evaluate(old):
                raise conditional_failed(old, op.on_failure)
            new = op.new_image(self, old)
            if op.kind == "Delete" and old is None:
                cap.write += 1.0  # deleting a missing item still costs one unit
            else:
                self.write(op.table, op.key, old, new, cap, new_size=op.size, old_size=old_size)
        return self._write_output(op, params, rv, old, new, cap, rcc)

    # -------------------------------------------------------- operations
    def put_item(self, params: dict[str, Any], prepared: tuple[Item, int] | None = None) -> dict[str, Any]:
        """``prepared``: ``types.prepared_item(params["Item"])``, when the caller has it."""
        table = self.table(params.get("TableName"))
        rv = check_return_values(params.get("ReturnValues"), ("NONE", "ALL_OLD"))
        op = self.compile_put(table, params, prepared=prepared)
        return self.run_write(op, params, rv)

    def delete_item(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self.table(params.get("TableName"))
        rv = check_return_values(params.get("ReturnValues"), ("NONE", "ALL_OLD"))
        op = self.compile_delete(table, params)
        return self.run_write(op, params, rv)

    def update_item(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self.table(params.get("TableName"))
        rv = check_return_values(params.get("ReturnValues"), RETURN_VALUES)
        op = self.compile_update(table, params)
        return self.run_write(op, params, rv)

    def get_item(self, params: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        """``raw``: the item may come out as stored JSON (``raw_item``), for callers that
        encode the output with orjson; else it is a dict."""
        table = self.table(params.get("TableName"))
        if params.get("Key") is None:
            raise null_member("key")
        key = self.key_from_key(table, params["Key"])
        proj = None
        if _uses_any(params, _GET_EXPRESSION_PARAMS):
            ctx = self.context(params)
            proj = self.projection(params, ctx)
            ctx.finish()
            if proj is not None:
                self.check_key_paths(table, proj.paths)
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        found, size = self.read_item(table, key, proj, raw)
        out: dict[str, Any] = {}
        if found is not None:
            out["Item"] = found
        cap = Capacity(table.name, read=read_units(size, bool(params.get("ConsistentRead"))))
        if rcc:
            out["ConsumedCapacity"] = cap.render(rcc)
        return out
