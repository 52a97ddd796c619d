"""PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction.

SELECT reads one partition when the WHERE clause has an equality on the
partition key (of the table or the index) and scans otherwise, as DynamoDB
does; UPDATE and DELETE need an equality on every key attribute. Writes go
through the engine's write path, so indexes, stream records and PITR history
follow. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.html
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from emulator.dynamodb import keys as keycodec
from emulator.dynamodb.batch import idempotent, transaction_canceled
from emulator.dynamodb.core import (
    Capacity,
    Item,
    ItemKey,
    check_return_consumed,
    loads,
    read_units,
)
from emulator.dynamodb.expressions.ast import (
    And,
    Arith,
    Between,
    Call,
    Compare,
    Cond,
    Const,
    Operand,
    Path,
)
from emulator.dynamodb.expressions.condition import evaluate
from emulator.dynamodb.expressions.projection import Projection
from emulator.dynamodb.expressions.update import Update
from emulator.dynamodb.lifecycle.partiql_parser import Statement, parse
from emulator.dynamodb.reads import range_bounds
from emulator.dynamodb.tables import Index, Table
from emulator.dynamodb.types import type_of, validate_item, validate_value
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

PAGE_BYTES = 1024 * 1024  # a SELECT page reads at most 1 MB, like Query and Scan
TOKEN_PREFIX = "ExecuteTransaction:"  # ExecuteTransaction's ClientRequestTokens, apart from TransactWriteItems'
KEY_EQUALITY = "Where clause does not contain a mandatory equality on all key attributes"


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def conditional_failed() -> AwsError:
    return AwsError("ConditionalCheckFailedException", "The conditional request failed", 400)


def _terms(node: Cond | None) -> list[Cond]:
    if node is None:
        return []
    if isinstance(node, And):
        return _terms(node.left) + _terms(node.right)
    return [node]


def _equality(term: Cond) -> tuple[str, dict[str, Any]] | None:
    if isinstance(term, Compare) and term.op == "=":
        for a, b in ((term.left, term.right), (term.right, term.left)):
            if isinstance(a, Path) and len(a.elements) == 1 and isinstance(b, Const):
                return str(a.elements[0]), b.value
    return None


def _check_operand(operand: Operand) -> None:
    """The checks UpdateItem makes of its ExpressionAttributeValues, on every literal or
    parameter an UPDATE's SET writes (a set's duplicates, nesting beyond 32 levels, ...)."""
    if isinstance(operand, Const):
        validate_value(operand.value)
    elif isinstance(operand, Arith):
        _check_operand(operand.left)
        _check_operand(operand.right)
    elif isinstance(operand, Call):
        for arg in operand.args:
            _check_operand(arg)


_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _sort_key_condition(term: Cond, range_key: str, range_type: str) -> tuple[str, list[dict[str, Any]]] | None:
    """A term a Query's key condition can hold: the sort key compared with a literal or
    parameter of the key's type (=, <, <=, >, >=, BETWEEN, begins_with), as (op, values)."""

    def is_key(op: Operand) -> bool:
        return isinstance(op, Path) and op.elements == (range_key,)

    def value(op: Operand) -> dict[str, Any] | None:
        # Of the key's type; an empty S or B is no key value (the filter judges it).
        if isinstance(op, Const) and type_of(op.value) == range_type and op.value[range_type] not in ("", b""):
            return op.value
        return None

    if isinstance(term, Compare) and term.op in _FLIPPED:
        for a, b, op in ((term.left, term.right, term.op), (term.right, term.left, _FLIPPED[term.op])):
            v = value(b)
            if is_key(a) and v is not None:
                return op, [v]
    elif isinstance(term, Between) and is_key(term.subject):
        low, high = value(term.low), value(term.high)
        if low is not None and high is not None:
            return "BETWEEN", [low, high]
    elif isinstance(term, Call) and term.name == "begins_with" and range_type in ("S", "B") and len(term.args) == 2:
        subject, prefix = term.args
        if is_key(subject) and isinstance(prefix, Const) and type_of(prefix.value) == range_type:
            return "begins_with", [prefix.value]
    return None


def _key_range(terms: list[Cond], range_key: str | None, range_type: str | None) -> tuple[bytes | None, bytes | None]:
    """[lo, hi) of the encoded sort keys the WHERE clause's sort-key conditions allow (None:
    unbounded), read as a Query reads its key condition; the whole clause still filters."""
    lo: bytes | None = None
    hi: bytes | None = None
    if range_key is None or range_type is None:
        return lo, hi
    for term in terms:
        found = _sort_key_condition(term, range_key, range_type)
        if found is None:
            continue
        t_lo, t_hi = range_bounds(*found)
        if t_lo is not None and (lo is None or t_lo > lo):
            lo = t_lo
        if t_hi is not None and (hi is None or t_hi < hi):
            hi = t_hi
    return lo, hi


def _only_in_transactions(statements: list[Statement]) -> None:
    if any(st.kind == "EXISTS" for st in statements):
        raise invalid("EXISTS is only supported in ExecuteTransaction")


def _capacity(caps: dict[str, Capacity], table: Table) -> Capacity:
    """The table's entry in a request's per-table consumed capacity, made on first use."""
    cap = caps.get(table.name)
    if cap is None:
        cap = caps[table.name] = Capacity(table.name)
    return cap


def _and(terms: list[Cond]) -> Cond | None:
    node: Cond | None = None
    for t in terms:
        node = t if node is None else And(node, t)
    return node


@dataclass
class WritePlan:
    """One validated INSERT/UPDATE/DELETE, run inside a storage transaction."""

    st: Statement
    table: Table
    key: ItemKey
    condition: Cond | None = None
    update: Update | None = None

    def check(self, old: Item | None) -> str | None:
        """None when the write may go ahead, else the cancellation code."""
        if self.st.kind == "INSERT":
            return "DuplicateItem" if old is not None else None
        if self.st.kind in ("UPDATE", "EXISTS") and old is None:
            return "ConditionalCheckFailed"
        if self.condition is not None and not evaluate(self.condition, old):
            return "ConditionalCheckFailed"
        return None

    def new_image(self, old: Item | None) -> Item | None:
        if self.st.kind == "INSERT":
            return dict(self.st.item or {})
        if self.st.kind == "DELETE":
            return None
        assert self.update is not None and old is not None
        return self.update.apply(old)


class PartiQL:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc

    @property
    def engine(self) -> Any:
        return self.lc.engine

    def _table(self, st: Statement) -> tuple[Table, Index | None]:
        table = self.engine.find_table(st.table)  # in the request's region
        if table is None:
            raise AwsError("ResourceNotFoundException", f"Requested resource not found: Table: {st.table} not found", 400)
        index = None
        if st.index is not None:
            index = table.gsis.get(st.index) or table.lsis.get(st.index)
            if index is None:
                raise invalid(f"The table does not have the specified index: {st.index}")
        return table, index

    def _full_key(self, st: Statement, table: Table) -> tuple[ItemKey, Cond | None]:
        """The key named by the WHERE clause's equalities, and the rest of the clause."""
        found: dict[str, dict[str, Any]] = {}
        rest: list[Cond] = []
        for term in _terms(st.where):
            eq = _equality(term)
            if eq is not None and eq[0] in table.key_names and eq[0] not in found:
                found[eq[0]] = eq[1]
            else:
                rest.append(term)
        if set(found) != set(table.key_names):
            raise invalid(KEY_EQUALITY)
        return self.engine.key_from_key(table, found), _and(rest)

    # ------------------------------------------------------------- SELECT
    def select(self, st: Statement, limit: int | None, token: Any, consistent: bool = False, rcc: str | None = None) -> dict[str, Any]:
        """``rcc``: ReturnConsumedCapacity (checked), as a GetItem's when the WHERE clause
        names one item by its full key, else as the Query's or Scan's it reads as."""
        table, index = self._table(st)
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise invalid(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
        hash_key, hash_type = (index.hash_key, index.hash_type) if index else (table.hash_key, table.hash_type)
        index_id = index.index_id if index else 0
        hv = None
        for term in _terms(st.where):
            eq = _equality(term)
            if eq is not None and eq[0] == hash_key:
                hv = eq[1]
                break
        after: tuple[bytes, bytes] | None = None
        if token is not None:
            try:
                pk_b64, sk_b64 = orjson.loads(base64.urlsafe_b64decode(str(token).encode()))
                after = (base64.b64decode(pk_b64), base64.b64decode(sk_b64))
            except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
                raise invalid("The provided starting key is invalid: Invalid NextToken") from exc
        forward = self._order(st, hash_key, index.range_key if index else table.range_key, hv is not None)
        projection = Projection(list(st.projection)) if st.projection else None
        if index is None and after is None:
            key = self._point_key(st, table)
            if key is not None:
                # One item named by its full key: read as GetItem reads it (and billed so).
                found, found_size = self.engine.read_item(table, key)
                one: dict[str, Any] = {"Items": []}
                if found is not None and (st.where is None or evaluate(st.where, found)):
                    one["Items"].append(projection.apply(found) if projection else found)
                if rcc:
                    one["ConsumedCapacity"] = Capacity(table.name, read=read_units(found_size, consistent)).render(rcc)
                return one
        items: list[Item] = []
        seen = size = 0
        last: tuple[bytes, bytes] | None = None
        last_item: Item | None = None
        more = False
        if hv is not None and type_of(hv) != hash_type:
            rows: Any = ()
        elif hv is not None:
            # As a Query: the sort-key conditions ANDed with the partition key's equality
            # bound the read (Limit and capacity count the items within them).
            pk = keycodec.encode_key_value(hv)
            range_key, range_type = (index.range_key, index.range_type) if index else (table.range_key, table.range_type)
            lo, hi = _key_range(_terms(st.where), range_key, range_type)
            rows = self.engine.storage.query(table.table_id, index_id, pk, lo, hi, forward=forward, after=after[1] if after else None)
        else:
            rows = self.engine.storage.scan(table.table_id, index_id, after)
        for row in rows:
            if (limit is not None and seen >= limit) or size >= PAGE_BYTES:
                more = True
                break
            seen += 1  # noqa: SIM113 - counts rows read, not items returned
            size += row.size or len(row.data)
            last = (row.pk, row.sk)
            item = last_item = loads(row.data)
            if st.where is None or evaluate(st.where, item):
                items.append(projection.apply(item) if projection else item)
        out: dict[str, Any] = {"Items": items}
        if more and last is not None:
            out["NextToken"] = base64.urlsafe_b64encode(orjson.dumps([base64.b64encode(last[0]).decode(), base64.b64encode(last[1]).decode()])).decode()
            if last_item is not None:
                # The key of the last item read, as a Query's or Scan's LastEvaluatedKey.
                out["LastEvaluatedKey"] = self.engine._last_key(table, index, last_item)
        if rcc:
            cap = Capacity(table.name)
            cap.add_read(index, read_units(size, consistent))
            out["ConsumedCapacity"] = cap.render(rcc)
        return out

    def _point_key(self, st: Statement, table: Table) -> ItemKey | None:
        """The key of the one item the WHERE clause names by equalities on all the table's
        key attributes (of the key's types), else None."""
        found: dict[str, dict[str, Any]] = {}
        for term in _terms(st.where):
            eq = _equality(term)
            if eq is not None and eq[0] in table.key_names and eq[0] not in found:
                found[eq[0]] = eq[1]
        if len(found) != len(table.key_names):
            return None
        for name, typ in ((table.hash_key, table.hash_type), (table.range_key, table.range_type)):
            if name is not None and type_of(found[name]) != typ:
                return None
        try:
            key: ItemKey = self.engine.key_from_key(table, found)
        except AwsError:
            return None  # a value no key can hold (empty, too long): no item has it
        return key

    @staticmethod
    def _order(st: Statement, hash_key: str, range_key: str | None, one_partition: bool) -> bool:
        """The direction an ORDER BY asks for (True: ascending sort key). DynamoDB
        orders only by the key attributes of the table or index read, and only
        within the partition the WHERE clause names."""
        if not st.order_by:
            return True
        if st.where is None:
            raise invalid("Must have WHERE clause in the statement when using ORDER BY clause.")
        forward = True
        for attr, ascending in st.order_by:
            if attr == range_key:
                forward = ascending
            elif attr != hash_key:
                raise invalid(f"Order by is only supported on key attributes: {attr} is not a key attribute")
        if not one_partition:
            raise invalid("Must have WHERE clause in the statement with a hash key equality condition when using ORDER BY clause.")
        return forward

    def get_one(self, st: Statement) -> tuple[Table, Item | None, int]:
        """A SELECT naming one item by its full key (batches and transactions): the table,
        the item answered and the size of the item read (0 when there is none)."""
        table, index = self._table(st)
        if index is not None:
            raise invalid("Batch and transaction reads do not support index reads")
        key, rest = self._full_key(st, table)
        item, size = self.engine.read_item(table, key)
        if item is not None and rest is not None and not evaluate(rest, item):
            item = None
        if item is not None and st.projection:
            item = Projection(list(st.projection)).apply(item)
        return table, item, size

    # ------------------------------------------------------------- writes
    def plan(self, st: Statement) -> WritePlan:
        table, _ = self._table(st)
        if st.kind == "INSERT":
            item = dict(st.item or {})
            validate_item(item)  # as PutItem checks its Item: names, sets, nesting, ...
            key = self.engine.key_from_item(table, item)
            self.engine.check_item_size(item)
            self.engine.check_index_keys(table, item)
            return WritePlan(st, table, key)
        key, rest = self._full_key(st, table)
        plan = WritePlan(st, table, key, condition=rest)
        if st.kind == "UPDATE":
            sets: list[tuple[tuple[str | int, ...], Operand]] = []
            adds: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
            deletes: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
            for path, operand in st.sets:
                _check_operand(operand)
                if str(path[0]) in table.key_names:
                    raise invalid(f"One or more parameter values were invalid: Cannot update attribute {path[0]}. This attribute is part of the key")
                if isinstance(operand, Call) and operand.name in ("set_add", "set_delete"):
                    value = operand.args[1]
                    if not isinstance(value, Const) or type_of(value.value) not in ("SS", "NS", "BS"):
                        raise invalid(f"{operand.name} requires a set value")
                    (adds if operand.name == "set_add" else deletes).append((path, value.value))
                else:
                    sets.append((path, operand))
            for path in st.removes:
                if str(path[0]) in table.key_names:
                    raise invalid(f"One or more parameter values were invalid: Cannot update attribute {path[0]}. This attribute is part of the key")
            plan.update = Update(sets, list(st.removes), adds, deletes)
        return plan

    def new_image(self, plan: WritePlan, old: Item | None) -> Item | None:
        """The item after the write, checked as the engine checks UpdateItem's."""
        new = plan.new_image(old)
        if new is not None and plan.st.kind == "UPDATE":
            self.engine.check_key_unchanged(plan.table, plan.key, new)
            self.engine.check_item_size(new)
            self.engine.check_index_keys(plan.table, new)
        return new

    def apply(
        self,
        plan: WritePlan,
        old: Item | None,
        new: Item | None = None,
        computed: bool = False,
        caps: dict[str, Capacity] | None = None,
        old_size: int | None = None,
        factor: float = 1.0,
    ) -> tuple[Item | None, Item | None]:
        """Make the write; ``caps``: the request's consumed capacity per table, charged as
        the equivalent PutItem/UpdateItem/DeleteItem (``factor`` 2: in a transaction, as
        TransactWriteItems, where EXISTS is a condition check)."""
        if plan.st.kind == "EXISTS":
            if caps is not None:
                _capacity(caps, plan.table).read += read_units((old_size or 0) if old is not None else 0, True) * factor
            return old, old
        if not computed:
            new = self.new_image(plan, old)
        if plan.st.kind == "DELETE" and old is None:
            if caps is not None:
                _capacity(caps, plan.table).write += factor  # deleting a missing item still costs one unit
            return old, None
        cap = _capacity(caps, plan.table) if caps is not None else None
        self.engine.write(plan.table, plan.key, old, new, cap, factor=factor, old_size=old_size)
        return old, new

    @staticmethod
    def returned(plan: WritePlan, old: Item | None, new: Item | None) -> list[Item]:
        mode = plan.st.returning
        if mode is None:
            return []
        if mode == "ALL_OLD":
            return [old] if old else []
        if mode == "ALL_NEW":
            return [new] if new else []
        assert plan.update is not None
        attrs = plan.update.updated_attributes(old, new, which="old" if mode == "MODIFIED_OLD" else "new")
        return [attrs] if attrs else []

    def run_write(self, plan: WritePlan, on_failure: Any = None, caps: dict[str, Capacity] | None = None) -> list[Item]:
        with self.engine.storage.transaction():
            old, old_size = self.engine.get_item_sized(plan.table, plan.key)
            code = plan.check(old)
            if code == "DuplicateItem":
                raise AwsError("DuplicateItemException", "Duplicate primary key exists in table", 400)
            if code is not None:
                err = conditional_failed()
                if on_failure == "ALL_OLD" and old is not None:
                    err.extra["Item"] = old
                raise err
            old, new = self.apply(plan, old, caps=caps, old_size=old_size)
        return self.returned(plan, old, new)

    # ---------------------------------------------------------------- API
    def execute_statement(self, params: dict[str, Any]) -> dict[str, Any]:
        st = parse(params.get("Statement"), params.get("Parameters"))
        _only_in_transactions([st])
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        if st.kind == "SELECT":
            if params.get("ConsistentRead") and st.index is not None:
                _table, index = self._table(st)
                if index is not None and index.kind == "GSI":
                    raise invalid("Consistent reads are not supported on global secondary indexes")
            return self.select(st, params.get("Limit"), params.get("NextToken"), bool(params.get("ConsistentRead")), rcc)
        if params.get("NextToken") is not None or params.get("Limit") is not None:
            raise invalid("NextToken and Limit are only supported for SELECT statements")
        caps: dict[str, Capacity] = {}
        out: dict[str, Any] = {"Items": self.run_write(self.plan(st), params.get("ReturnValuesOnConditionCheckFailure"), caps)}
        if rcc:
            # One table: the capacity the equivalent PutItem/UpdateItem/DeleteItem reports.
            out["ConsumedCapacity"] = _capacity(caps, self._table(st)[0]).render(rcc)
        return out

    def batch_execute_statement(self, params: dict[str, Any]) -> dict[str, Any]:
        statements = params.get("Statements")
        if not isinstance(statements, list) or not 1 <= len(statements) <= 25:
            raise invalid("1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length less than or equal to 25 and greater than or equal to 1")
        parsed = [parse(s.get("Statement"), s.get("Parameters")) for s in statements]
        _only_in_transactions(parsed)
        kinds = {"read" if st.kind == "SELECT" else "write" for st in parsed}
        if len(kinds) > 1:
            raise invalid("Batch statements must be all reads or all writes")
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        # Per table, in the order of the statements: as BatchGetItem's (each read as a
        # GetItem) or BatchWriteItem's (each write as its PutItem/UpdateItem/DeleteItem).
        caps: dict[str, Capacity] = {}
        responses: list[dict[str, Any]] = []
        for spec, st in zip(statements, parsed, strict=True):
            resp: dict[str, Any] = {"TableName": st.table}
            try:
                if st.kind == "SELECT":
                    table, item, size = self.get_one(st)
                    _capacity(caps, table).read += read_units(size, bool(spec.get("ConsistentRead")))
                    if item is not None:
                        resp["Item"] = item
                else:
                    self.run_write(self.plan(st), spec.get("ReturnValuesOnConditionCheckFailure"), caps)
            except AwsError as err:
                code = {
                    "ConditionalCheckFailedException": "ConditionalCheckFailed",
                    "DuplicateItemException": "DuplicateItem",
                    "ResourceNotFoundException": "ResourceNotFound",
                    "ValidationException": "ValidationError",
                    "ItemCollectionSizeLimitExceededException": "ItemCollectionSizeLimitExceeded",
                }.get(err.code, "InternalServerError")
                resp["Error"] = {"Code": code, "Message": err.message}
                if "Item" in err.extra:
                    resp["Error"]["Item"] = err.extra["Item"]
            responses.append(resp)
        out: dict[str, Any] = {"Responses": responses}
        if rcc:
            out["ConsumedCapacity"] = [c.render(rcc) for c in caps.values()]
        return out

    def execute_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        statements = params.get("TransactStatements")
        if not isinstance(statements, list) or not 1 <= len(statements) <= 100:
            raise invalid("1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1")
        token = params.get("ClientRequestToken")
        # Same rules as TransactWriteItems: a repeat within 10 minutes is answered without
        # running again; other statements under the token are refused.
        fingerprint, replay = idempotent(self.engine._token_lookup, token, params, TOKEN_PREFIX)
        if replay is not None:
            return replay
        parsed = [parse(s.get("Statement"), s.get("Parameters")) for s in statements]
        kinds = {"read" if st.kind == "SELECT" else "write" for st in parsed}
        if len(kinds) > 1:
            raise invalid("Transaction statements must be all reads or all writes")
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        # Per table, as TransactGetItems' or TransactWriteItems': every unit doubled.
        caps: dict[str, Capacity] = {}
        if kinds == {"read"}:
            responses: list[dict[str, Any]] = []
            for st in parsed:
                table, item, size = self.get_one(st)
                _capacity(caps, table).read += read_units(size, True) * 2
                responses.append({"Item": item} if item is not None else {})
            read_out: dict[str, Any] = {"Responses": responses}
            if rcc:
                read_out["ConsumedCapacity"] = [c.render(rcc) for c in caps.values()]
            return read_out

        def run() -> dict[str, Any]:
            out = self._write_transaction(statements, parsed, caps)
            if rcc:
                out["ConsumedCapacity"] = [c.render(rcc) for c in caps.values()]
            return out

        # The token is kept (in the storage too) in the transaction of the writes.
        return self.engine.with_token(token, TOKEN_PREFIX, fingerprint, params, run)

    def _write_transaction(self, statements: list[dict[str, Any]], parsed: list[Statement], caps: dict[str, Capacity]) -> dict[str, Any]:
        plans = [self.plan(st) for st in parsed]
        seen: set[tuple[str, bytes, bytes]] = set()
        for p in plans:
            ident = (p.table.name, p.key.pk, p.key.sk)
            if ident in seen:
                raise invalid("Transaction request cannot include multiple operations on one item")
            seen.add(ident)
        with self.engine.storage.transaction():
            sized = [self.engine.get_item_sized(p.table, p.key) for p in plans]
            olds = [old for old, _ in sized]
            reasons: list[dict[str, Any]] = []
            news: list[Item | None] = []
            failed = False
            for spec, p, old in zip(statements, plans, olds, strict=True):
                code = p.check(old)
                news.append(None)
                if code is None:
                    try:
                        news[-1] = self.new_image(p, old) if p.st.kind != "EXISTS" else old
                    except AwsError as err:
                        # As in TransactWriteItems: a write that cannot be made cancels the lot.
                        reasons.append({"Code": "ValidationError", "Message": err.message})
                        failed = True
                        continue
                    reasons.append({"Code": "None"})
                    continue
                failed = True
                reason: dict[str, Any] = {"Code": code, "Message": "The conditional request failed" if code == "ConditionalCheckFailed" else "Duplicate primary key exists in table"}
                if spec.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                    reason["Item"] = old
                reasons.append(reason)
            if failed:
                raise transaction_canceled(reasons)
            for p, (old, old_size), new in zip(plans, sized, news, strict=True):
                self.apply(p, old, new, computed=True, caps=caps, old_size=old_size, factor=2.0)
        return {}
