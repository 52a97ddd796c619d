"""API explorer: call any operation of any service the server can run, as the signed-in key.

GET /api picks a service and an operation (botocore's service models) and prefills a JSON
skeleton of the operation's input; POST /api/call runs it through ``Console.invoke`` (the
same authorization and validation as the API) and shows the output or AWS's error. The
input is never logged: it may hold secrets.
"""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel, Shape

from emulator import services
from emulator.console import html as h
from emulator.errors import AwsError
from emulator.protocols.base import Response
from emulator.protocols.shapes import decode_json_value

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

SKELETON_DEPTH = 4  # levels of required structures expanded in the input skeleton
STREAM_LIMIT = 1024 * 1024  # bytes of a streaming output member shown
ENUM_SHOWN = 12  # enum values listed in a member's type
NUMBERS = ("integer", "long", "float", "double", "bigdecimal", "biginteger", "byte", "short")
INPUT_NOTE = (
    "Members as in the operation's input shape (the names the SDKs use). Blobs are base64 strings, "
    "timestamps ISO 8601 text or epoch seconds."
)
JSON_TYPES: dict[type, str] = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}
_TAG = re.compile(r"<[^>]*>")
_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s|$)", re.DOTALL)


# ------------------------------------------------------------------ models
def summary(doc: str | None) -> str:
    """The first sentence of a model's HTML documentation, as plain text."""
    text = " ".join(html.unescape(_TAG.sub(" ", doc or "")).split())
    match = _SENTENCE.match(text)
    return match.group(1) if match else text


def placeholder(shape: Shape, depth: int = 0) -> Any:
    """A value of the shape's JSON type; a structure gets its required members, down to
    SKELETON_DEPTH levels (recursive shapes stop there)."""
    t = shape.type_name
    if t == "structure":
        if depth >= SKELETON_DEPTH or shape.metadata.get("document"):
            return {}
        return {name: placeholder(shape.members[name], depth + 1) for name in shape.required_members if name in shape.members}
    if t == "list":
        return []
    if t == "map":
        return {}
    if t == "boolean":
        return False
    if t in NUMBERS:
        return 0
    return ""  # string, blob (base64), timestamp (ISO 8601)


def skeleton(op: OperationModel) -> str:
    shape = op.input_shape
    return json.dumps(placeholder(shape) if shape is not None else {}, indent=2)


def type_of(shape: Shape, depth: int = 0) -> str:
    t = shape.type_name
    if t == "structure":
        if shape.serialization.get("eventstream"):
            return f"event stream {shape.name}"
        return "document" if shape.metadata.get("document") else f"structure {shape.name}"
    if depth > 2:
        return t
    if t == "list":
        return f"list of {type_of(shape.member, depth + 1)}"
    if t == "map":
        return f"map of {type_of(shape.key, depth + 1)} to {type_of(shape.value, depth + 1)}"
    enum = shape.metadata.get("enum")
    if t == "string" and enum:
        more = f", … ({len(enum)} in all)" if len(enum) > ENUM_SHOWN else ""
        return f"string, one of: {', '.join(enum[:ENUM_SHOWN])}{more}"
    return f"{t} (streaming)" if t == "blob" and shape.serialization.get("streaming") else t


def event_stream(op: OperationModel) -> bool:
    return bool(op.has_event_stream_output or op.has_event_stream_input)


def refusal(service: str, op: OperationModel) -> str:
    side = "output" if op.has_event_stream_output else "input"
    return (f"{service} {op.name} has an event-stream {side}, which the API explorer does not support: "
            "call it with an SDK or the AWS CLI.")


# ------------------------------------------------------------------ output
async def plain(value: Any, path: str, notes: list[str]) -> Any:
    """An operation's output as JSON values: datetimes as ISO 8601, bytes as base64, a
    streaming body read (up to STREAM_LIMIT) and closed; ``notes`` says what was converted."""
    if isinstance(value, dict):
        return {str(k): await plain(v, f"{path}.{k}" if path else str(k), notes) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [await plain(v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        notes.append(f"{path}: bytes, shown base64-encoded.")
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "__aiter__"):
        return await read_stream(value, path, notes)
    return value


async def read_stream(stream: Any, path: str, notes: list[str]) -> str:
    data = bytearray()
    truncated = False
    try:
        async for chunk in stream:
            data += chunk
            if len(data) > STREAM_LIMIT:
                truncated = True
                del data[STREAM_LIMIT:]
                break
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    cut = f" (the first {STREAM_LIMIT} bytes only)" if truncated else ""
    for trim in range(4 if truncated else 1):  # a cut may split a UTF-8 character
        try:
            text = bytes(data[:len(data) - trim]).decode("utf-8")
        except UnicodeDecodeError:
            continue
        notes.append(f"{path}: a streaming body, shown as UTF-8 text{cut}.")
        return text
    notes.append(f"{path}: a streaming body, not UTF-8, shown base64-encoded{cut}.")
    return base64.b64encode(bytes(data)).decode("ascii")


# ------------------------------------------------------------------ page
def _services(c: Console) -> list[str]:
    return [name for name in sorted(services.index().by_name) if c.available(name)]


def _operation(c: Console, service: str, operation: str) -> OperationModel | None:
    if not operation or not c.available(service):
        return None
    model = services.service_model(service)
    return model.operation_model(operation) if operation in model.operation_names else None


def _service_form(c: Console, chosen: str) -> h.Markup:
    native: list[str] = []
    moto: list[str] = []
    fallback = c.runtime.fallback
    for name in _services(c):
        by_moto = name not in c.runtime.handlers and fallback is not None and fallback.supports(name)
        (moto if by_moto else native).append(name)

    def options(names: list[str]) -> str:
        return "".join(f'<option value="{h.esc(n)}"{" selected" if n == chosen else ""}>{h.esc(n)}</option>' for n in names)

    return h.Markup(
        f'<form method="get" action="{h.esc(h.url("/api"))}" class="row" id="service-form"><label class="wide">Service'
        f'<select name="service" id="service-select"><option value="">Choose a service…</option>'
        f'<optgroup label="Native">{options(native)}</optgroup><optgroup label="Served by moto">{options(moto)}</optgroup></select></label>'
        '<button type="submit">Choose</button></form>'
    )


def _operation_form(c: Console, service: str, chosen: str) -> h.Markup:
    names = services.service_model(service).operation_names
    opts = "".join(
        f'<option value="{h.esc(n)}"{" selected" if n == chosen else ""}>{h.esc(n)}{"" if c.has_op(service, n) else " (not served here)"}</option>'
        for n in names
    )
    return h.Markup(
        f'<form method="get" action="{h.esc(h.url("/api"))}" class="row" id="operation-form"><input type="hidden" name="service" value="{h.esc(service)}">'
        f'<label class="wide">Operation of {h.esc(service)} ({len(names)})<select name="operation" id="operation-select">'
        f'<option value="">Choose an operation…</option>{opts}</select></label><button type="submit">Choose</button></form>'
    )


def _members(op: OperationModel) -> h.Markup:
    shape = op.input_shape
    if shape is None:
        return h.Markup('<p class="muted">This operation takes no input.</p>')
    required = set(shape.required_members)
    rows = [(name, type_of(m), "required" if name in required else "optional", summary(m.documentation))
            for name, m in shape.members.items()]
    return h.table(["Member", "Type", "Required", "Description"], rows, "This operation takes no members.", cls="members")


def _call_form(c: Console, call: Call, service: str, op: OperationModel, text: str) -> h.Markup:
    if event_stream(op):
        return h.error_box(refusal(service, op))
    served = "" if c.has_op(service, op.name) else h.Markup(
        f'<div class="flash error">{h.esc(service)} {h.esc(op.name)} is not served by this server: a call returns UnknownOperationException.</div>')
    return h.Markup(
        f'{served}<form method="post" action="{h.esc(h.url("/api/call"))}" id="call-form">{h.csrf_field(call.csrf)}'
        f'<input type="hidden" name="service" value="{h.esc(service)}"><input type="hidden" name="operation" value="{h.esc(op.name)}">'
        f'<label>Input (JSON)<textarea name="params" id="params" rows="14" spellcheck="false">{h.esc(text)}</textarea></label>'
        f'<button type="submit" class="primary">Call {h.esc(op.name)}</button></form>'
        f'<p class="muted">{h.esc(INPUT_NOTE)} Runs as {h.esc(call.principal.user_name)} ({h.esc(call.principal.access_key_id)}) '
        f'in {h.esc(c.region_of(call))}, with that key\'s permissions.</p>'
    )


def _page(c: Console, call: Call, service: str, operation: str, text: str | None = None, result: str = "", status: int = 200) -> Response:
    chooser: list[str] = [_service_form(c, service)]
    rest: list[str] = []
    if service and not c.available(service):
        chooser.append(h.error_box(f"The service {service} is not available on this server."))
        status = max(status, 400)
    elif service:
        chooser.append(_operation_form(c, service, operation))
        op = _operation(c, service, operation)
        if operation and op is None:
            chooser.append(h.error_box(f"{service} has no operation {operation}."))
            status = max(status, 400)
        elif op is not None:
            rest.append(h.Markup(f'<section class="card"><h2>Call {h.esc(service)} {h.esc(op.name)}</h2>'
                                 f'{_call_form(c, call, service, op, skeleton(op) if text is None else text)}</section>'))
            rest.append(result)
            rest.append(h.Markup(
                f'<section class="card"><h2>About {h.esc(op.name)}</h2><p id="op-summary">{h.esc(summary(op.documentation))}</p>'
                f"<h3>Input members</h3>{_members(op)}</section>"
            ))
    if not rest:
        chooser.append(result)
    body = h.Markup('<section class="card"><h2>Operation</h2>' + "".join(chooser) + "</section>" + "".join(rest))
    return c.html(call, "API explorer", body, active="api", status=status)


def _error(err: AwsError) -> h.Markup:
    return h.Markup(
        '<section class="card" id="call-error"><h2>Error</h2>'
        f'<div class="flash error">{h.esc(err.code)}: {h.esc(err.message)}</div>'
        + h.kv_table([("Code", err.code), ("Message", err.message), ("HTTP status", err.status)])
        + "</section>"
    )


def _output(out: Any, notes: list[str]) -> h.Markup:
    note_html = "".join(f"<li>{h.esc(n)}</li>" for n in notes)
    return h.Markup(
        '<section class="card" id="call-output"><h2>Output</h2><div class="flash ok">The call succeeded.</div>'
        + h.pretty_json(out) + (f'<ul class="muted notes">{note_html}</ul>' if note_html else "") + "</section>"
    )


def _parse(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        params = json.loads(text)
    except ValueError as exc:
        raise AwsError("InvalidJSON", f"The input is not valid JSON: {exc}", 400) from None
    if not isinstance(params, dict):
        raise AwsError("InvalidJSON", f"The input must be a JSON object ({{...}}), not {JSON_TYPES.get(type(params), 'that')}.", 400)
    return params


def register(console: Console) -> None:
    @console.page("GET", "/api")
    async def explorer(c: Console, call: Call) -> Response:
        return _page(c, call, call.q("service").strip(), call.q("operation").strip())

    @console.page("GET", "/api/call")
    async def call_page(c: Console, call: Call) -> Response:
        # Where the region switch sends one back to after a call: the explorer itself.
        return c.redirect(h.url("/api"))

    @console.page("POST", "/api/call")
    async def run(c: Console, call: Call) -> Response:
        service, operation, text = call.f("service").strip(), call.f("operation").strip(), call.f("params")
        op = _operation(c, service, operation)
        if op is None or event_stream(op):  # the page says why: no such service or operation, or an event stream
            missing = "Choose a service." if not service else "Choose an operation." if c.available(service) and not operation else ""
            if missing:
                return _page(c, call, service, "", text, h.error_box(missing), status=400)
            return _page(c, call, service, operation, text, status=400)
        try:
            params = _parse(text)
        except AwsError as err:
            return _page(c, call, service, operation, text, h.error_box(err.message), status=400)
        try:
            if op.input_shape is not None:
                params = decode_json_value(op.input_shape, params)
            out = await c.invoke(call, service, operation, params)
        except AwsError as err:
            return _page(c, call, service, operation, text, _error(err))
        notes: list[str] = []
        shown = await plain(out, "", notes)
        return _page(c, call, service, operation, text, _output(shown, notes))

