"""awsQuery: ``Action``/``Version`` form parameters in, XML out.

Input follows botocore's ``QuerySerializer`` flattening rules in reverse:
``Prefix.member.N`` lists (``Prefix.N`` when flattened, with the list member's
``locationName`` replacing the last component), ``Prefix.entry.N.key/value``
maps, ``locationName`` for member names. Values become the Python types a boto3
caller passes (int, float, bool, datetime, bytes).

Output: ``<OpResponse xmlns=..><OpResult>..</OpResult><ResponseMetadata>
<RequestId>..</RequestId></ResponseMetadata></OpResponse>`` as botocore's
``QueryParser`` reads it; errors are ``<ErrorResponse><Error><Type>..``
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-responses.html).
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from emulator.errors import AwsError
from emulator.protocols.base import Protocol, Request, Response
from emulator.protocols.xml import XmlWriter, escape, parse_scalar, text_element

_LEAF = ""  # key under which a node keeps its own value ("" never is a path component AWS uses)
_MAX_DEPTH = 64
_MAX_INDEX = 100_000

Node = dict[str, Any]


def build_tree(params: dict[str, str]) -> Node:
    """``{"A.member.1.B": "x"}`` -> ``{"A": {"member": {"1": {"B": {"": "x"}}}}}``."""
    root: Node = {}
    for key, value in params.items():
        parts = key.split(".")
        if len(parts) > _MAX_DEPTH:
            raise AwsError("MalformedQueryString", f"Parameter name {key[:100]!r} is nested too deeply", 400)
        node = root
        for part in parts:
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            node = nxt
        node[_LEAF] = value
    return root


def indexed_children(node: Node) -> list[Node]:
    """The ``.1``, ``.2``, ... children of a node, in index order."""
    items: list[tuple[int, Node]] = []
    for k, v in node.items():
        if k.isdigit():
            i = int(k)
            if i < 1 or i > _MAX_INDEX:
                raise AwsError("MalformedQueryString", f"List index {k} is out of range", 400)
            items.append((i, v))
    items.sort(key=lambda kv: kv[0])
    return [v for _, v in items]


class QueryProtocol(Protocol):
    name = "query"
    content_type_header = "text/xml"

    # ---------------------------------------------------------- names
    def member_name(self, shape: Shape, default: str) -> str:
        return str(shape.serialization.get("name") or default)

    def struct_member_key(self, member: Shape, key: str) -> str:
        name = self.member_name(member, key)
        if member.type_name == "list" and self.is_flattened(member) and member.member.serialization.get("name"):
            # botocore replaces '.Original' with the list member's locationName.
            name = self.member_name(member.member, "")
        return name

    def is_flattened(self, shape: Shape) -> bool:
        return bool(shape.serialization.get("flattened"))

    # ---------------------------------------------------------- parse
    def request_params(self, request: Request) -> dict[str, str]:
        params: dict[str, str] = {}
        for key, values in request.query.items():
            params[key] = values[-1]
        if request.method != "GET" and request.body:
            if request.content_type not in ("application/x-www-form-urlencoded", ""):
                raise AwsError("MalformedQueryString", f"Unsupported content type {request.content_type!r}; expected application/x-www-form-urlencoded", 400)
            params.update(request.form)
        return params

    def parse(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        shape = operation.input_shape
        params = self.request_params(request)
        if shape is None:
            return {}
        tree = build_tree(params)
        result = self.decode_structure(shape, tree)
        return result

    def decode(self, shape: Shape, node: Node) -> Any:
        t = shape.type_name
        if t == "structure":
            return self.decode_structure(shape, node)
        if t == "list":
            return self.decode_list(shape, node)
        if t == "map":
            return self.decode_map(shape, node)
        text = node.get(_LEAF)
        if text is None:
            raise AwsError("InvalidParameterValue", f"Value for parameter {shape.name} must be a scalar", 400)
        return parse_scalar(shape, text, "InvalidParameterValue")

    def decode_structure(self, shape: Shape, node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, member in shape.members.items():
            child = node.get(self.struct_member_key(member, key))
            if child is None:
                continue
            value = self.decode(member, child)
            if value is not None:
                out[key] = value
        return out

    def decode_list(self, shape: Shape, node: Node) -> list[Any] | None:
        items: Node = node
        if not self.is_flattened(shape):
            wrapped = node.get(self.member_name(shape.member, "member"))
            if wrapped is None:
                # "Prefix=" is how botocore sends an empty list.
                return [] if node.get(_LEAF) is not None else None
            items = wrapped
        return [self.decode(shape.member, item) for item in indexed_children(items)]

    def decode_map(self, shape: Shape, node: Node) -> dict[Any, Any] | None:
        entries = node if self.is_flattened(shape) else node.get("entry")
        if entries is None:
            return {} if node.get(_LEAF) is not None else None
        key_name = self.member_name(shape.key, "key")
        value_name = self.member_name(shape.value, "value")
        out: dict[Any, Any] = {}
        for entry in indexed_children(entries):
            k = entry.get(key_name)
            if k is None:
                raise AwsError("InvalidParameterValue", f"Map entry for {shape.name} has no {key_name}", 400)
            v = entry.get(value_name)
            out[self.decode(shape.key, k)] = self.decode(shape.value, v) if v is not None else None
        return out

    # ---------------------------------------------------------- serialize
    def namespace(self, service: ServiceModel | None) -> str:
        if service is None:
            return ""
        ns = service.metadata.get("xmlNamespace")
        if not ns:
            ns = f"https://{service.metadata.get('endpointPrefix', service.service_name)}.amazonaws.com/doc/{service.api_version}/"
        return str(ns) if str(ns).endswith("/") else str(ns) + "/"

    @staticmethod
    def request_id(request: Request | None) -> str:
        rid = getattr(request, "request_id", "") if request is not None else ""
        return rid or str(uuid.uuid4())

    def serialize(self, operation: OperationModel, output: dict[str, Any], request: Request) -> Response:
        name = operation.name
        ns = self.namespace(operation.service_model)
        out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{name}Response xmlns="{escape(ns)}">']
        shape = operation.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper") or f"{name}Result"
            out.append(f"<{wrapper}>")
            XmlWriter().structure_members(out, shape, output or {})
            out.append(f"</{wrapper}>")
        out.append(f"<ResponseMetadata>{text_element('RequestId', self.request_id(request))}</ResponseMetadata></{name}Response>")
        return Response(200, {"content-type": self.content_type_header}, "".join(out).encode("utf-8"))

    def serialize_error(self, error: AwsError, service: ServiceModel | None, request: Request | None, request_id: str) -> Response:
        ns = self.namespace(service)
        extra = "".join(text_element(k, str(v)) for k, v in error.extra.items() if not isinstance(v, dict | list))
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{escape(ns)}"><Error>'
            f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>"
            f"{text_element('Code', error.code)}{text_element('Message', error.message)}{extra}</Error>"
            f"{text_element('RequestId', request_id)}</ErrorResponse>"
        )
        return Response(error.status, {"content-type": self.content_type_header, **error.headers}, body.encode("utf-8"))
