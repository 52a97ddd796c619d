"""What rest-json and rest-xml share: URI labels, query string, headers, status code.

Mirrors botocore's ``BaseRestSerializer`` / ``BaseRestParser``: members with
``location`` ``uri`` / ``querystring`` / ``header`` / ``headers`` /
``statusCode`` live outside the body; the input/output shape's ``payload``
names the one member that *is* the body (a blob/string is the raw body, a
structure is encoded, an event stream is framed); without ``payload`` the body
carries every member that has no location.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import orjson
from botocore.model import OperationModel, Shape

from emulator.errors import AwsError
from emulator.protocols import eventstream
from emulator.protocols.base import RESPONSE_HEADERS, Protocol, Request, Response
from emulator.protocols.xml import parse_scalar, scalar_text

_LABEL_RE = re.compile(r"\{([^}]+)\}")


@lru_cache(maxsize=4096)
def uri_pattern(request_uri: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regex over the *raw* (still percent-encoded) path and its label names."""
    path = request_uri.split("?", 1)[0]
    pattern = "^"
    labels: list[str] = []
    pos = 0
    for m in _LABEL_RE.finditer(path):
        pattern += re.escape(path[pos : m.start()])
        label = m.group(1)
        if label.endswith("+"):
            labels.append(label[:-1])
            pattern += "(.*)"
        else:
            labels.append(label)
            pattern += "([^/]*)"
        pos = m.end()
    tail = path[pos:]
    pattern += re.escape(tail.rstrip("/")) + "/?$" if tail.rstrip("/") or pos else re.escape(tail) + "$"
    return re.compile(pattern), tuple(labels)


def split_header_list(value: str) -> list[str]:
    """RFC 7230 list header: comma separated, double-quoted items may contain commas."""
    items: list[str] = []
    buf = ""
    quoted = False
    i = 0
    while i < len(value):
        c = value[i]
        if quoted:
            if c == "\\" and i + 1 < len(value):
                buf += value[i + 1]
                i += 1
            elif c == '"':
                quoted = False
            else:
                buf += c
        elif c == '"' and not buf.strip():
            quoted = True
            buf = ""
        elif c == ",":
            items.append(buf.strip())
            buf = ""
        else:
            buf += c
        i += 1
    items.append(buf.strip())
    return items


def _quote_header_item(value: str) -> str:
    if '"' in value or "," in value:
        return '"' + value.replace('"', '\\"') + '"'
    return value


class RestProtocol(Protocol):
    """The HTTP-binding half; subclasses supply the body format."""

    body_error_code = "SerializationException"
    param_error_code = "SerializationException"
    content_type_header = "application/json"

    # ------------------------------------------------------------- body hooks
    def decode_body(self, shape: Shape, body: bytes, members_only: bool) -> dict[str, Any]:
        raise AwsError("InternalFailure", f"protocol {self.name} has no body decoder", 500)

    def encode_body(self, shape: Shape, value: dict[str, Any], members_only: bool) -> bytes:
        raise AwsError("InternalFailure", f"protocol {self.name} has no body encoder", 500)

    # ------------------------------------------------------------- parse
    def parse(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        out: dict[str, Any] = {}
        self.parse_location_members(request, operation, shape, out)
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            if not request.body:
                pass  # an empty body is an absent payload (botocore sends b"" for both)
            elif member.serialization.get("eventstream"):
                out[payload] = eventstream.decode_events(member, request.body, lambda m, b: self.decode_body(m, b, False))
            elif member.type_name == "blob":
                out[payload] = request.body
            elif member.type_name == "string":
                try:
                    out[payload] = request.body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise AwsError(self.body_error_code, "The request body is not valid UTF-8", 400) from exc
            elif request.body.strip():
                out[payload] = self.decode_body(member, request.body, False)
        elif request.body.strip() and any("location" not in m.serialization for m in shape.members.values()):
            out.update(self.decode_body(shape, request.body, True))
        return out

    def parse_location_members(self, request: Request, operation: OperationModel, shape: Shape, out: dict[str, Any]) -> None:
        labels: dict[str, str] = {}
        if any(m.serialization.get("location") == "uri" for m in shape.members.values()):
            pattern, names = uri_pattern(operation.http.get("requestUri", "/"))
            m = pattern.match(request.raw_path if request.route_path is None else request.route_path)
            if m is None:
                raise AwsError("ValidationException", f"The request path {request.path} does not match {operation.http.get('requestUri')}", 400)
            labels = {name: unquote(value) for name, value in zip(names, m.groups(), strict=True)}
        query = request.query
        claimed: set[str] = set()
        query_map: tuple[str, Shape] | None = None
        for key, member in shape.members.items():
            ser = member.serialization
            location = ser.get("location")
            if location is None:
                continue
            wire = ser.get("name", key)
            if location == "uri":
                value = labels.get(wire)
                if value is not None:
                    out[key] = parse_scalar(member, value, self.param_error_code)
            elif location == "querystring":
                if member.type_name == "map":
                    query_map = (key, member)
                    continue
                claimed.add(wire)
                values = query.get(wire)
                if values is None:
                    continue
                if member.type_name == "list":
                    out[key] = [parse_scalar(member.member, v, self.param_error_code) for v in values]
                else:
                    out[key] = parse_scalar(member, values[-1], self.param_error_code)
            elif location == "header":
                value = request.headers.get(wire.lower())
                if value is not None:
                    out[key] = self.parse_header(member, value)
            elif location == "headers":
                prefix = wire.lower()
                out_map = {name[len(prefix) :]: v for name, v in request.headers.items() if name.startswith(prefix)}
                if out_map:
                    out[key] = out_map
        if query_map is not None:
            key, member = query_map
            literal = {p.split("=")[0] for p in operation.http.get("requestUri", "").partition("?")[2].split("&") if p}
            qm: dict[str, Any] = {}
            for name, values in query.items():
                if name in claimed or name in literal or name.startswith("X-Amz-"):
                    continue
                if member.value.type_name == "list":
                    qm[name] = [parse_scalar(member.value.member, v, self.param_error_code) for v in values]
                else:
                    qm[name] = parse_scalar(member.value, values[-1], self.param_error_code)
            if qm:
                out[key] = qm

    def parse_header(self, shape: Shape, value: str) -> Any:
        if shape.type_name == "list":
            return [self.parse_header(shape.member, v) for v in split_header_list(value)]
        if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
            try:
                return orjson.loads(base64.b64decode(value))
            except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
                raise AwsError(self.param_error_code, f"Header value for {shape.name} is not base64-encoded JSON", 400) from exc
        return parse_scalar(shape, value.strip() if shape.type_name != "string" else value, self.param_error_code)

    # ------------------------------------------------------------- serialize
    def header_text(self, shape: Shape, value: Any) -> str:
        if shape.type_name == "list":
            if shape.member.type_name == "string":
                return ",".join(_quote_header_item(str(v)) for v in value if v is not None)
            return ",".join(self.header_text(shape.member, v) for v in value if v is not None)
        if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
            return base64.b64encode(orjson.dumps(value)).decode("ascii")
        return scalar_text(shape, value, "rfc822")

    def serialize(self, operation: OperationModel, output: dict[str, Any], request: Request) -> Response:
        response = self._serialize(operation, output, request)
        if response.status in (204, 304) or (request is not None and request.method == "HEAD"):
            # No body may follow these (RFC 9110 6.4.1); headers still carry the output members.
            response.body = b""
            response.stream = None
            if response.status in (204, 304):
                response.headers.pop("content-type", None)
        return response

    def _serialize(self, operation: OperationModel, output: dict[str, Any], request: Request) -> Response:
        status = int(operation.http.get("responseCode", 200))
        shape = operation.output_shape
        headers: dict[str, str] = {}
        if shape is None:
            return Response(status, {"content-type": self.content_type_header}, self.empty_body())
        output = output or {}
        for key, member in shape.members.items():
            value = output.get(key)
            if value is None:
                continue
            ser = member.serialization
            location = ser.get("location")
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                if member.type_name == "list" and not value:
                    continue
                headers[ser.get("name", key)] = self.header_text(member, value)
            elif location == "headers":
                prefix = ser.get("name", "")
                for k, v in value.items():
                    headers[prefix + str(k)] = str(v)
        extra = output.get(RESPONSE_HEADERS)  # headers the model does not declare (base.RESPONSE_HEADERS)
        if extra:
            headers.update(extra)
        payload = shape.serialization.get("payload")
        lower = {k.lower() for k in headers}
        if payload is not None:
            member = shape.members[payload]
            value = output.get(payload)
            if member.serialization.get("eventstream"):
                headers.setdefault("content-type", "application/vnd.amazon.eventstream")
                if value is None:
                    value = []
                return Response(status, headers, b"", stream=self.event_stream(member, value))
            if member.type_name in ("blob", "string"):
                if "content-type" not in lower:
                    headers["content-type"] = "application/octet-stream" if member.type_name == "blob" else "text/plain"
                if value is None:
                    body = b""
                elif isinstance(value, str):
                    body = value.encode("utf-8")
                else:
                    body = bytes(value)
                return Response(status, headers, body)
            if "content-type" not in lower:
                headers["content-type"] = self.content_type_header
            body = self.encode_body(member, value, False) if value is not None else self.empty_body()
            return Response(status, headers, body)
        if "content-type" not in lower:
            headers["content-type"] = self.content_type_header
        body_values = {k: v for k, v in output.items() if k in shape.members and "location" not in shape.members[k].serialization}
        return Response(status, headers, self.encode_body(shape, body_values, True) if body_values else self.empty_body())

    def empty_body(self) -> bytes:
        return b"{}"

    def event_stream(self, shape: Shape, events: Any) -> Any:
        raise AwsError("InternalFailure", f"protocol {self.name} cannot stream events", 500)
