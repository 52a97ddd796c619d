"""restXml: HTTP bindings (see rest.py) plus XML bodies.

The body is one root element: the payload member's ``locationName`` (or shape
name) when the shape names a payload, else the input/output shape's
``locationName``/name, carrying ``xmlNamespace`` where the model gives one.
Timestamps in bodies are ISO 8601, blobs base64. Errors are
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``,
or the bare ``<Error>`` document for services signed with the ``s3``/``s3v4``
signature versions (both are what botocore's ``RestXMLParser`` reads).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from botocore.model import ServiceModel, Shape

from emulator.errors import AwsError
from emulator.protocols import eventstream
from emulator.protocols.base import Request, Response
from emulator.protocols.rest import RestProtocol
from emulator.protocols.xml import (
    XmlReader,
    XmlWriter,
    escape,
    ns_attr,
    parse_document,
    text_element,
)
from emulator.services import signs_like_s3


class RestXmlProtocol(RestProtocol):
    name = "rest-xml"
    content_type_header = "application/xml"
    body_error_code = "MalformedXML"
    param_error_code = "InvalidArgument"

    def __init__(self) -> None:
        self.reader = XmlReader(self.body_error_code)

    def empty_body(self) -> bytes:
        return b""

    def decode_body(self, shape: Shape, body: bytes, members_only: bool) -> dict[str, Any]:
        root = parse_document(body, self.body_error_code)
        if shape.type_name != "structure":
            raise AwsError(self.body_error_code, f"Unexpected XML payload for {shape.name}", 400)
        return self.reader.structure(shape, root, skip_locations=members_only)

    def encode_body(self, shape: Shape, value: dict[str, Any], members_only: bool) -> bytes:
        name = shape.serialization.get("name") or shape.name
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        if members_only:
            out.append(f"<{name}{ns_attr(shape)}>")
            XmlWriter().structure_members(out, shape, value, skip_locations=True)
            out.append(f"</{name}>")
        else:
            XmlWriter().value(out, shape, value, name, top=True)
        return "".join(out).encode("utf-8")

    def _event_body(self, shape: Shape, value: dict[str, Any]) -> bytes:
        out: list[str] = []
        XmlWriter().value(out, shape, value, shape.name, top=True)
        return "".join(out).encode("utf-8")

    def event_stream(self, shape: Shape, events: Any) -> AsyncIterator[bytes]:
        return eventstream.frames(shape, events, self._event_body, "text/xml")

    def serialize_error(self, error: AwsError, service: ServiceModel | None, request: Request | None, request_id: str) -> Response:
        extra = "".join(text_element(k, str(v)) for k, v in error.extra.items() if not isinstance(v, dict | list))
        inner = f"{text_element('Code', error.code)}{text_element('Message', error.message)}{extra}"
        if signs_like_s3(service):
            body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}{text_element("RequestId", request_id)}</Error>'
        else:
            ns = service.metadata.get("xmlNamespace") if service is not None else None
            xmlns = f' xmlns="{escape(str(ns))}"' if isinstance(ns, str) else ""
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse{xmlns}><Error>'
                f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>{inner}</Error>"
                f"{text_element('RequestId', request_id)}</ErrorResponse>"
            )
        headers = {"content-type": self.content_type_header, **error.headers}
        if body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'):
            headers.setdefault("x-amz-request-id", request_id)  # where botocore reads S3's request id
        return Response(error.status, headers, body.encode("utf-8"))
