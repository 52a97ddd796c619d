"""The EC2 variant of awsQuery.

Input (botocore's ``EC2Serializer``): member names are ``queryName``, else the
``locationName`` capitalized, else the member name; every list is ``Name.N``
(no ``.member``, never an explicit empty list).

Output: ``<OpResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>..</requestId>..members..</OpResponse>`` with no result wrapper;
lists are ``<item>`` elements (the model's list member ``locationName``).
Errors: ``<Response><Errors><Error><Code/><Message/></Error></Errors>
<RequestID/></Response>``
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
"""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from emulator.errors import AwsError
from emulator.protocols.base import Request, Response
from emulator.protocols.query import Node, QueryProtocol, indexed_children
from emulator.protocols.xml import XmlWriter, escape, text_element


class Ec2Protocol(QueryProtocol):
    name = "ec2"

    def member_name(self, shape: Shape, default: str) -> str:
        ser = shape.serialization
        if "queryName" in ser:
            return str(ser["queryName"])
        name = ser.get("name")
        if name:
            return str(name[0].upper() + name[1:])
        return default

    def struct_member_key(self, member: Shape, key: str) -> str:
        return self.member_name(member, key)

    def decode_list(self, shape: Shape, node: Node) -> list[Any] | None:
        return [self.decode(shape.member, item) for item in indexed_children(node)]

    def serialize(self, operation: OperationModel, output: dict[str, Any], request: Request) -> Response:
        name = operation.name
        ns = self.namespace(operation.service_model)
        out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{name}Response xmlns="{escape(ns)}">', text_element("requestId", self.request_id(request))]
        shape = operation.output_shape
        if shape is not None:
            XmlWriter().structure_members(out, shape, output or {})
        out.append(f"</{name}Response>")
        return Response(200, {"content-type": self.content_type_header}, "".join(out).encode("utf-8"))

    def serialize_error(self, error: AwsError, service: ServiceModel | None, request: Request | None, request_id: str) -> Response:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"{text_element('Code', error.code)}{text_element('Message', error.message)}</Error></Errors>"
            f"{text_element('RequestID', request_id)}</Response>"
        )
        return Response(error.status, {"content-type": self.content_type_header, **error.headers}, body.encode("utf-8"))
