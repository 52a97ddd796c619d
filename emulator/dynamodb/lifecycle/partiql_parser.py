"""A parser for the PartiQL subset DynamoDB accepts: SELECT, INSERT, UPDATE
(SET/REMOVE), DELETE, with ``?`` parameters.

Conditions and operands are built straight into the resolved expression AST
of emulator/dynamodb/expressions (Path, Const, Compare, Call, ...), so they are
evaluated by the same code as ConditionExpression/FilterExpression.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.dynamodb import types
from emulator.dynamodb.expressions.ast import (
    And,
    Arith,
    Between,
    Call,
    Compare,
    Cond,
    Const,
    In,
    Not,
    Operand,
    Or,
    Path,
)
from emulator.errors import AwsError

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<qid>"(?:[^"]|"")*")
    | (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
    | (?P<id>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<op><<|>>|<=|>=|<>|!=|[=<>()\[\]{},.:*?+\-])
    )""",
    re.VERBOSE,
)


def malformed(detail: str = "") -> AwsError:
    return AwsError("ValidationException", "Statement wasn't well formed, can't be processed: " + (detail or "Unexpected end of statement"), 400)


@dataclass
class Tok:
    kind: str  # str | qid | num | id | op | end
    text: str
    value: Any = None


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise malformed(f"Unexpected character '{text[pos:].strip()[:1]}'")
        kind = m.lastgroup or ""
        raw = m.group(kind)
        if kind == "str":
            out.append(Tok("str", raw, raw[1:-1].replace("''", "'")))
        elif kind == "qid":
            out.append(Tok("qid", raw, raw[1:-1].replace('""', '"')))
        else:
            out.append(Tok(kind, raw, raw))
        pos = m.end()
    out.append(Tok("end", ""))
    return out


@dataclass
class Statement:
    kind: str  # SELECT | INSERT | UPDATE | DELETE | EXISTS
    table: str
    index: str | None = None
    projection: list[tuple[str | int, ...]] | None = None  # None: *
    where: Cond | None = None
    item: dict[str, Any] | None = None  # INSERT
    sets: list[tuple[tuple[str | int, ...], Operand]] = field(default_factory=list)
    removes: list[tuple[str | int, ...]] = field(default_factory=list)
    returning: str | None = None  # ALL_OLD | MODIFIED_OLD | ALL_NEW | MODIFIED_NEW
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # SELECT: (key attribute, ascending)


class Parser:
    def __init__(self, text: str, parameters: list[dict[str, Any]] | None) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.params = list(parameters or [])
        self.used = 0

    # ------------------------------------------------------------ tokens
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def next(self) -> Tok:
        t = self.toks[self.i]
        if t.kind != "end":
            self.i += 1
        return t

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "id" and self.tok.text.upper() in words

    def kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise malformed(f"Expected {word}" + (f" but found '{self.tok.text}'" if self.tok.text else ""))
        self.next()

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def op(self, text: str) -> None:
        if not self.is_op(text):
            raise malformed(f"Expected '{text}'" + (f" but found '{self.tok.text}'" if self.tok.text else ""))
        self.next()

    def name(self) -> str:
        t = self.next()
        if t.kind in ("id", "qid"):
            return str(t.value)
        raise malformed(f"Unexpected token '{t.text}'" if t.text else "")

    # ---------------------------------------------------------- statements
    def statement(self) -> Statement:
        if self.is_kw("SELECT"):
            st = self.select()
        elif self.is_kw("EXISTS"):
            # EXISTS(SELECT ...): a transaction's condition check on one item.
            self.next()
            self.op("(")
            st = self.select()
            self.op(")")
            st.kind = "EXISTS"
        elif self.is_kw("INSERT"):
            st = self.insert()
        elif self.is_kw("UPDATE"):
            st = self.update()
        elif self.is_kw("DELETE"):
            st = self.delete()
        else:
            raise malformed(f"Unsupported statement starting with '{self.tok.text}'" if self.tok.text else "")
        if self.tok.kind != "end":
            raise malformed(f"Unexpected token '{self.tok.text}'")
        if self.used != len(self.params):
            raise AwsError("ValidationException", "Number of parameters in request and statement don't match.", 400)
        return st

    def target(self) -> tuple[str, str | None]:
        table = self.name()
        index = None
        if self.is_op("."):
            self.next()
            index = self.name()
        return table, index

    def select(self) -> Statement:
        self.kw("SELECT")
        projection: list[tuple[str | int, ...]] | None
        if self.is_op("*"):
            self.next()
            projection = None
        else:
            projection = [self.path().elements]
            while self.is_op(","):
                self.next()
                projection.append(self.path().elements)
        self.kw("FROM")
        table, index = self.target()
        st = Statement("SELECT", table, index, projection)
        if self.is_kw("WHERE"):
            self.next()
            st.where = self.cond()
        if self.is_kw("ORDER"):
            self.next()
            self.kw("BY")
            while True:
                attr = self.name()
                ascending = True
                if self.is_kw("ASC", "DESC"):
                    ascending = self.next().text.upper() == "ASC"
                st.order_by.append((attr, ascending))
                if not self.is_op(","):
                    break
                self.next()
        return st

    def insert(self) -> Statement:
        self.kw("INSERT")
        self.kw("INTO")
        table = self.name()
        self.kw("VALUE")
        value = self.value()
        if types.type_of(value) != "M":
            raise AwsError("ValidationException", "Unsupported operation: Inserting a non-tuple value is not supported", 400)
        return Statement("INSERT", table, item=value["M"])

    def update(self) -> Statement:
        self.kw("UPDATE")
        st = Statement("UPDATE", self.name())
        if not self.is_kw("SET", "REMOVE"):
            raise malformed("Expected SET or REMOVE")
        while self.is_kw("SET", "REMOVE"):
            if self.next().text.upper() == "SET":
                while True:
                    path = self.path()
                    self.op("=")
                    st.sets.append((path.elements, self.set_operand()))
                    if not self.is_op(","):
                        break
                    self.next()
            else:
                while True:
                    st.removes.append(self.path().elements)
                    if not self.is_op(","):
                        break
                    self.next()
        self.kw("WHERE")
        st.where = self.cond()
        st.returning = self.returning()
        return st

    def delete(self) -> Statement:
        self.kw("DELETE")
        self.kw("FROM")
        st = Statement("DELETE", self.name())
        self.kw("WHERE")
        st.where = self.cond()
        st.returning = self.returning()
        return st

    def returning(self) -> str | None:
        if not self.is_kw("RETURNING"):
            return None
        self.next()
        which = self.next().text.upper()
        when = self.next().text.upper()
        self.op("*")
        if which not in ("ALL", "MODIFIED") or when not in ("OLD", "NEW"):
            raise malformed("RETURNING must be ALL OLD *, MODIFIED OLD *, ALL NEW * or MODIFIED NEW *")
        return f"{which}_{when}"

    # ------------------------------------------------------------ operands
    def path(self) -> Path:
        elements: list[str | int] = [self.name()]
        while True:
            if self.is_op("."):
                self.next()
                elements.append(self.name())
            elif self.is_op("["):
                self.next()
                t = self.next()
                if t.kind == "num" and t.text.isdigit():
                    elements.append(int(t.text))
                elif t.kind == "str":
                    elements.append(str(t.value))
                else:
                    raise malformed("Invalid path index")
                self.op("]")
            else:
                return Path(tuple(elements))

    def param(self) -> dict[str, Any]:
        if self.used >= len(self.params):
            raise AwsError("ValidationException", "Number of parameters in request and statement don't match.", 400)
        value = self.params[self.used]
        self.used += 1
        types.validate_value(value)
        return types.normalize_value(value)

    def value(self) -> dict[str, Any]:
        """A literal (or ``?``) as an AttributeValue."""
        t = self.tok
        if t.kind == "str":
            self.next()
            return {"S": t.value}
        if t.kind == "num" or self.is_op("-"):
            negative = False
            if self.is_op("-"):
                self.next()
                negative = True
            n = self.next()
            if n.kind != "num":
                raise malformed(f"Unexpected token '{n.text}'")
            return {"N": types.normalize_number(("-" if negative else "") + n.text)}
        if self.is_op("?"):
            self.next()
            return self.param()
        if self.is_kw("TRUE", "FALSE"):
            return {"BOOL": self.next().text.upper() == "TRUE"}
        if self.is_kw("NULL"):
            self.next()
            return {"NULL": True}
        if self.is_op("["):
            self.next()
            items: list[dict[str, Any]] = []
            while not self.is_op("]"):
                items.append(self.value())
                if not self.is_op(","):
                    break
                self.next()
            self.op("]")
            return {"L": items}
        if self.is_op("{"):
            self.next()
            members: dict[str, Any] = {}
            while not self.is_op("}"):
                key = self.next()
                if key.kind not in ("str", "qid"):
                    raise malformed("Tuple keys must be strings")
                self.op(":")
                members[str(key.value)] = self.value()
                if not self.is_op(","):
                    break
                self.next()
            self.op("}")
            return {"M": members}
        if self.is_op("<<"):
            self.next()
            elements: list[dict[str, Any]] = []
            while not self.is_op(">>"):
                elements.append(self.value())
                if not self.is_op(","):
                    break
                self.next()
            self.op(">>")
            kinds = {types.type_of(e) for e in elements}
            if len(kinds) != 1 or next(iter(kinds)) not in ("S", "N", "B"):
                raise AwsError("ValidationException", "Unsupported operation: a set must contain elements of one type: string, number or binary", 400)
            kind = next(iter(kinds))
            return types.normalize_value({kind + "S": [e[kind] for e in elements]})
        raise malformed(f"Unexpected token '{t.text}'" if t.text else "")

    def operand(self) -> Operand:
        if self.tok.kind in ("id", "qid") and not self.is_kw("TRUE", "FALSE", "NULL"):
            if self.tok.kind == "id" and self.toks[self.i + 1].kind == "op" and self.toks[self.i + 1].text == "(":
                fn = self.next().text.lower()
                if fn != "size":
                    raise malformed(f"Unsupported function in this position: {fn}")
                self.op("(")
                arg = self.path()
                self.op(")")
                return Call("size", (arg,))
            return self.path()
        return Const(self.value())

    def set_operand(self) -> Operand:
        if self.tok.kind == "id" and self.toks[self.i + 1].text == "(" and self.tok.text.lower() in ("list_append", "if_not_exists", "set_add", "set_delete"):
            fn = self.next().text.lower()
            self.op("(")
            a = self.operand()
            self.op(",")
            b = self.operand()
            self.op(")")
            return Call(fn, (a, b))
        left = self.operand()
        if self.is_op("+", "-"):
            op = self.next().text
            return Arith(op, left, self.operand())
        return left

    # ---------------------------------------------------------- conditions
    def cond(self) -> Cond:
        node = self.and_cond()
        while self.is_kw("OR"):
            self.next()
            node = Or(node, self.and_cond())
        return node

    def and_cond(self) -> Cond:
        node = self.not_cond()
        while self.is_kw("AND"):
            self.next()
            node = And(node, self.not_cond())
        return node

    def not_cond(self) -> Cond:
        if self.is_kw("NOT"):
            self.next()
            return Not(self.not_cond())
        return self.primary()

    def primary(self) -> Cond:
        if self.is_op("("):
            self.next()
            node = self.cond()
            self.op(")")
            return node
        if self.tok.kind == "id" and self.toks[self.i + 1].text == "(":
            fn = self.tok.text.lower()
            if fn in ("begins_with", "contains", "attribute_type", "exists"):
                self.next()
                self.op("(")
                first = self.operand()
                if fn == "exists":
                    raise malformed("EXISTS is only supported in ExecuteTransaction condition checks")
                self.op(",")
                second = self.operand()
                self.op(")")
                return Call(fn, (first, second))
        left = self.operand()
        if self.is_op("=", "<>", "!=", "<", "<=", ">", ">="):
            op = self.next().text
            return Compare("<>" if op == "!=" else op, left, self.operand())
        if self.is_kw("BETWEEN"):
            self.next()
            low = self.operand()
            self.kw("AND")
            return Between(left, low, self.operand())
        if self.is_kw("IN"):
            self.next()
            close = "]" if self.is_op("[") else ")"
            self.next()
            options = [self.operand()]
            while self.is_op(","):
                self.next()
                options.append(self.operand())
            self.op(close)
            return In(left, tuple(options))
        if self.is_kw("IS"):
            self.next()
            negate = False
            if self.is_kw("NOT"):
                self.next()
                negate = True
            if self.is_kw("MISSING"):
                self.next()
                test: Cond = Call("attribute_not_exists", (left,))
            elif self.is_kw("NULL"):
                self.next()
                test = Call("attribute_type", (left, Const({"S": "NULL"})))
            else:
                raise malformed("Expected MISSING or NULL after IS")
            return Not(test) if negate else test
        raise malformed(f"Unexpected token '{self.tok.text}'" if self.tok.text else "")


def parse(text: Any, parameters: list[dict[str, Any]] | None = None) -> Statement:
    if not isinstance(text, str) or not text.strip():
        raise AwsError("ValidationException", "1 validation error detected: Value null at 'statement' failed to satisfy constraint: Member must not be null", 400)
    return Parser(text, parameters).statement()
