"""DynamoDB: tables, an item browser (scan and query) and an item editor (DynamoDB JSON)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from emulator.console import ddbjson
from emulator.console import html as h
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

PAGE_SIZE = 25
SK_OPS = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "begins_with": "begins_with", "between": "between"}


def _token(key: dict[str, Any] | None) -> str:
    return base64.urlsafe_b64encode(ddbjson.dumps(key).encode()).decode() if key else ""


def _untoken(token: str) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        return ddbjson.parse_item(base64.urlsafe_b64decode(token.encode()).decode(), "page token")
    except (ValueError, UnicodeDecodeError) as exc:
        raise AwsError("ValidationException", "The page token is invalid", 400) from exc


def sel(value: str, current: str) -> str:
    return " selected" if value == current else ""


def _key_value(kind: str, raw: str) -> dict[str, Any]:
    if kind == "B":
        return ddbjson.to_value({"B": raw}, "key")
    return {kind: raw}


def register(console: Console) -> None:
    @console.page("GET", "/dynamodb")
    async def tables(c: Console, call: Call) -> Response:
        if not c.available("dynamodb"):
            return c.html(call, "DynamoDB", h.unavailable("dynamodb"), active="dynamodb")
        rows = []
        error = ""
        try:
            names: list[str] = []
            start: str | None = None
            while True:
                params: dict[str, Any] = {"Limit": 100}
                if start:
                    params["ExclusiveStartTableName"] = start
                out = await c.invoke(call, "dynamodb", "ListTables", params)
                names.extend(out.get("TableNames", []))
                start = out.get("LastEvaluatedTableName")
                if not start or len(names) >= 1000:
                    break
            for name in names:
                try:
                    desc = (await c.invoke(call, "dynamodb", "DescribeTable", {"TableName": name}))["Table"]
                except AwsError as err:
                    rows.append((h.link(name, h.url("/dynamodb/table", name=name)), h.badge(err.code, "bad"), "", "", ""))
                    continue
                keys = ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in desc.get("KeySchema", []))
                mode = (desc.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
                rows.append((h.link(name, h.url("/dynamodb/table", name=name)), h.state_badge(desc.get("TableStatus")), keys, desc.get("ItemCount", 0), mode))
        except AwsError as err:
            error = f"{err.code}: {err.message}"
        create = h.Markup(
            f'<section class="card"><h2>Create table</h2><form method="post" action="{h.esc(h.url("/dynamodb/create"))}" class="row" id="create-table">'
            f"{h.csrf_field(call.csrf)}"
            '<label>Table name<input name="name" required pattern="[a-zA-Z0-9_.-]{3,255}"></label>'
            '<label>Partition key<input name="pk" required value="pk"></label>'
            '<label>Type<select name="pk_type"><option>S</option><option>N</option><option>B</option></select></label>'
            '<label>Sort key (optional)<input name="sk"></label>'
            '<label>Type<select name="sk_type"><option>S</option><option>N</option><option>B</option></select></label>'
            '<button type="submit" class="primary">Create table</button></form></section>'
        )
        body = h.Markup((h.error_box(error) if error else "") + f'<section class="card"><h2>Tables</h2>{h.table(["Name", "Status", "Key schema", "Items", "Billing"], rows, "No tables yet.", cls="tables")}</section>' + create)
        return c.html(call, "DynamoDB", body, active="dynamodb")

    @console.page("POST", "/dynamodb/create")
    async def create_table(c: Console, call: Call) -> Response:
        name = call.f("name").strip()
        pk, sk = call.f("pk").strip(), call.f("sk").strip()
        attrs = [{"AttributeName": pk, "AttributeType": call.f("pk_type", "S")}]
        schema = [{"AttributeName": pk, "KeyType": "HASH"}]
        if sk:
            attrs.append({"AttributeName": sk, "AttributeType": call.f("sk_type", "S")})
            schema.append({"AttributeName": sk, "KeyType": "RANGE"})
        try:
            await c.invoke(call, "dynamodb", "CreateTable", {"TableName": name, "AttributeDefinitions": attrs, "KeySchema": schema, "BillingMode": "PAY_PER_REQUEST"})
            call.session.flash("ok", f"Table {name} created.")
            return c.redirect(h.url("/dynamodb/table", name=name))
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
            return c.redirect(h.url("/dynamodb"))

    @console.page("POST", "/dynamodb/delete-table")
    async def delete_table(c: Console, call: Call) -> Response:
        name = call.f("name")
        await c.perform(call, "dynamodb", "DeleteTable", {"TableName": name}, f"Table {name} is being deleted.")
        return c.redirect(h.url("/dynamodb"))

    @console.page("GET", "/dynamodb/table")
    async def table(c: Console, call: Call) -> Response:
        name = call.q("name")
        title = f"Table {name}"
        if not c.available("dynamodb"):
            return c.html(call, title, h.unavailable("dynamodb"), active="dynamodb")
        try:
            desc = (await c.invoke(call, "dynamodb", "DescribeTable", {"TableName": name}))["Table"]
        except AwsError as err:
            return c.html(call, title, h.error_box(f"{err.code}: {err.message}"), active="dynamodb", status=404 if err.status == 400 else err.status)
        types = {a["AttributeName"]: a["AttributeType"] for a in desc.get("AttributeDefinitions", [])}
        key_names = [k["AttributeName"] for k in desc.get("KeySchema", [])]
        indexes = {i["IndexName"]: [k["AttributeName"] for k in i.get("KeySchema", [])] for i in desc.get("GlobalSecondaryIndexes", []) + desc.get("LocalSecondaryIndexes", [])}
        index = call.q("index") if call.q("index") in indexes else ""
        # Query and scan the table or one of its indexes: the key inputs follow the chosen key schema.
        query_keys = indexes[index] if index else key_names
        pk = query_keys[0]
        sk = query_keys[1] if len(query_keys) > 1 else None
        mode = call.q("mode", "scan")
        error = ""
        items: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        try:
            params: dict[str, Any] = {"TableName": name, "Limit": PAGE_SIZE}
            if index:
                params["IndexName"] = index
            start = _untoken(call.q("start"))
            if start:
                params["ExclusiveStartKey"] = start
            if mode == "query":
                if not call.q("pk"):
                    raise AwsError("ValidationException", f"Enter a value for the partition key {pk} to query.", 400)
                names = {"#pk": pk}
                values = {":pk": _key_value(types.get(pk, "S"), call.q("pk"))}
                cond = "#pk = :pk"
                op = call.q("skop")
                if sk and call.q("sk") and op in SK_OPS:
                    names["#sk"] = sk
                    values[":sk"] = _key_value(types.get(sk, "S"), call.q("sk"))
                    if op == "begins_with":
                        cond += " AND begins_with(#sk, :sk)"
                    elif op == "between":
                        values[":sk2"] = _key_value(types.get(sk, "S"), call.q("sk2"))
                        cond += " AND #sk BETWEEN :sk AND :sk2"
                    else:
                        cond += f" AND #sk {SK_OPS[op]} :sk"
                params.update(KeyConditionExpression=cond, ExpressionAttributeNames=names, ExpressionAttributeValues=values, ScanIndexForward=call.q("order", "asc") != "desc")
                out = await c.invoke(call, "dynamodb", "Query", params)
            else:
                out = await c.invoke(call, "dynamodb", "Scan", params)
            items = out.get("Items", [])
            last = out.get("LastEvaluatedKey")
        except AwsError as err:
            error = f"{err.code}: {err.message}"

        columns = list(dict.fromkeys(key_names + query_keys))
        for item in items:
            for attr in item:
                if attr not in columns:
                    columns.append(attr)
        columns = columns[: len(key_names) + 8]
        rows = []
        for item in items:
            key = {k: item[k] for k in key_names if k in item}
            actions = h.Markup(
                f'<button type="button" class="small edit-item" data-item="{h.esc(ddbjson.dumps(item, 2))}">Edit</button>'
                + h.post_button(h.url("/dynamodb/delete-item"), "Delete", call.csrf, {"name": name, "key": ddbjson.dumps(key), "back": call.request.query_string}, "small danger", "Delete this item?")
            )
            rows.append([ddbjson.short(item[col]) if col in item else "" for col in columns] + [actions])
        more = ""
        if last:
            q = dict(call.request.query)
            nxt = {k: v[0] for k, v in q.items()}
            nxt["start"] = _token(last)
            more = h.link("Next page →", h.url("/dynamodb/table", **nxt), "button")
        sk_inputs = ""
        if sk:
            ops = "".join(f'<option value="{h.esc(o)}"{sel(o, call.q("skop", "="))}>{h.esc(o)}</option>' for o in SK_OPS)
            sk_inputs = (
                f'<label>{h.esc(sk)} ({h.esc(types.get(sk, "S"))})<select name="skop">{ops}</select></label>'
                f'<label>value<input name="sk" value="{h.esc(call.q("sk"))}"></label><label>and (between)<input name="sk2" value="{h.esc(call.q("sk2"))}"></label>'
            )
        browser = h.Markup(
            f'<section class="card"><h2>Items</h2><form method="get" action="{h.esc(h.url("/dynamodb/table"))}" class="row" id="query-form">'
            f'<input type="hidden" name="name" value="{h.esc(name)}">'
            f'<label>Mode<select name="mode"><option value="scan"{sel("scan", mode)}>Scan</option><option value="query"{sel("query", mode)}>Query</option></select></label>'
            + (
                '<label>Table or index<select name="index"><option value="">table</option>'
                + "".join(f'<option value="{h.esc(i)}"{sel(i, index)}>{h.esc(i)}</option>' for i in indexes)
                + "</select></label>"
                if indexes
                else ""
            )
            + f'<label>{h.esc(pk)} ({h.esc(types.get(pk, "S"))})<input name="pk" value="{h.esc(call.q("pk"))}"></label>{sk_inputs}'
            f'<label>Order<select name="order"><option value="asc">ascending</option><option value="desc"{sel("desc", call.q("order"))}>descending</option></select></label>'
            f'<button type="submit">Run</button></form>'
            + (h.error_box(error) if error else "")
            + h.table([*columns, ""], rows, "No items.", cls="items")
            + f'<p class="muted">{len(items)} item(s) on this page.</p>{more}</section>'
        )
        example = {pk: {types.get(pk, "S"): "example" if types.get(pk, "S") != "N" else "1"}}
        if sk:
            example[sk] = {types.get(sk, "S"): "a" if types.get(sk, "S") != "N" else "1"}
        example["note"] = {"S": "hello"}
        editor = h.Markup(
            f'<section class="card"><h2>Item editor</h2><p class="muted">DynamoDB JSON, as the API takes it. Saving replaces the whole item (PutItem).</p>'
            f'<form method="post" action="{h.esc(h.url("/dynamodb/put-item"))}" id="item-editor">{h.csrf_field(call.csrf)}'
            f'<input type="hidden" name="name" value="{h.esc(name)}"><input type="hidden" name="back" value="{h.esc(call.request.query_string)}">'
            f'<textarea name="item" rows="10" spellcheck="false" id="item-json">{h.esc(json.dumps(example, indent=2))}</textarea>'
            f'<button type="submit" class="primary">Save item</button></form></section>'
        )
        info = h.kv_table(
            [
                ("Status", h.state_badge(desc.get("TableStatus"))),
                ("Key schema", ", ".join(f"{k['AttributeName']} ({k['KeyType']}, {types.get(k['AttributeName'], '?')})" for k in desc.get("KeySchema", []))),
                ("Item count", desc.get("ItemCount", 0)),
                ("Size (bytes)", desc.get("TableSizeBytes", 0)),
                ("ARN", desc.get("TableArn", "")),
                ("Indexes", ", ".join(i["IndexName"] for i in desc.get("GlobalSecondaryIndexes", []) + desc.get("LocalSecondaryIndexes", [])) or "none"),
            ]
        )
        head = h.Markup(
            f'<section class="card"><h2>Details</h2>{info}'
            + h.post_button(h.url("/dynamodb/delete-table"), "Delete table", call.csrf, {"name": name}, "danger", f"Delete table {name} and all its items?")
            + "</section>"
        )
        return c.html(call, title, head + browser + editor, active="dynamodb")

    def _back(call: Call, name: str) -> str:
        back = call.f("back")
        return h.BASE + "/dynamodb/table?" + back if back else h.url("/dynamodb/table", name=name)

    @console.page("POST", "/dynamodb/put-item")
    async def put_item(c: Console, call: Call) -> Response:
        name = call.f("name")
        try:
            item = ddbjson.parse_item(call.f("item"))
            await c.invoke(call, "dynamodb", "PutItem", {"TableName": name, "Item": item})
            call.session.flash("ok", "Item saved.")
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
        return c.redirect(_back(call, name))

    @console.page("POST", "/dynamodb/delete-item")
    async def delete_item(c: Console, call: Call) -> Response:
        name = call.f("name")
        try:
            key = ddbjson.parse_item(call.f("key"), "key")
            await c.invoke(call, "dynamodb", "DeleteItem", {"TableName": name, "Key": key})
            call.session.flash("ok", "Item deleted.")
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
        return c.redirect(_back(call, name))
