"""Shape-driven XML writing and reading shared by query, ec2 and rest-xml.

The element naming follows botocore's ``BaseXMLResponseParser`` exactly
(``_member_key_name``, ``_handle_list``, ``_handle_map``) so that whatever we
write, botocore reads back into the same dict:

* a structure member is ``<locationName|MemberName>``; a *flattened* list
  member whose list member shape has a ``locationName`` uses that name instead;
* a list is ``<Name><member>..</member></Name>`` (``member`` or the list
  member's ``locationName``, ``item`` for EC2), or repeated ``<Name>`` when
  flattened;
* a map is ``<Name><entry><key/><value/></entry></Name>``, or repeated
  ``<Name><key/><value/></Name>`` when flattened.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from decimal import Decimal
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ETree

from botocore.model import Shape

from emulator.errors import AwsError
from emulator.protocols.shapes import parse_timestamp

# Characters XML 1.0 cannot carry at all (not even as character references).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})


def escape(text: str) -> str:
    """Escape element text or an attribute value; ``\\r`` survives as a reference."""
    if _INVALID_XML.search(text):
        text = _INVALID_XML.sub("", text)
    return text.translate(_ESCAPES)


def format_timestamp(value: Any, fmt: str | None, default: str = "iso8601") -> str:
    """A timestamp as the model's ``timestampFormat`` (or the protocol default) says."""
    if not isinstance(value, dt.datetime):
        value = parse_timestamp(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    fmt = fmt or default
    if fmt == "unixTimestamp":
        ts = value.timestamp()
        return str(int(ts)) if ts == int(ts) else repr(round(ts, 3))
    if fmt == "rfc822":
        return format_datetime(value, usegmt=True)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_float(value: Any) -> str:
    f = float(value)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    if isinstance(value, Decimal):
        return str(value)
    return repr(f)


def scalar_text(shape: Shape, value: Any, timestamp_default: str = "iso8601") -> str:
    """The text form of a scalar value, shared by XML bodies, headers and query strings."""
    t = shape.type_name
    if t == "boolean":
        if isinstance(value, str):
            return "true" if value.lower() == "true" else "false"
        return "true" if value else "false"
    if t in ("integer", "long", "short", "byte"):
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(int(value)) if isinstance(value, int | float | Decimal) else str(value)
    if t in ("float", "double"):
        if isinstance(value, str):
            return value
        return format_float(value)
    if t == "blob":
        if isinstance(value, str):
            value = value.encode("utf-8")
        return base64.b64encode(bytes(value)).decode("ascii")
    if t == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat"), timestamp_default)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def member_key_name(shape: Shape, member_name: str) -> str:
    """botocore's ``_member_key_name``: the element name of a structure member."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        name = shape.member.serialization.get("name")
        if name is not None:
            return str(name)
    return str(shape.serialization.get("name") or member_name)


def ns_attr(shape: Shape) -> str:
    ns = shape.serialization.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f' xmlns="{escape(ns)}"'
    prefix = ns.get("prefix")
    attr = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {attr}="{escape(ns.get("uri", ""))}"'


class XmlWriter:
    """Appends the XML of shaped values to a list of string pieces."""

    def __init__(self, timestamp_default: str = "iso8601") -> None:
        self.timestamp_default = timestamp_default

    def structure_members(self, out: list[str], shape: Shape, value: dict[str, Any], skip_locations: bool = False) -> None:
        members = shape.members
        for key, member_value in value.items():
            if member_value is None:
                continue
            member = members.get(key)
            if member is None:
                continue  # not part of the model: never on the wire
            ser = member.serialization
            if ser.get("xmlAttribute"):
                continue
            if skip_locations and (ser.get("location") or ser.get("eventheader") or ser.get("eventpayload")):
                continue
            self.value(out, member, member_value, member_key_name(member, key))

    def _attributes(self, shape: Shape, value: dict[str, Any]) -> str:
        attrs = ""
        for key, member in shape.members.items():
            if member.serialization.get("xmlAttribute") and value.get(key) is not None:
                attrs += f' {member.serialization.get("name", key)}="{escape(scalar_text(member, value[key], self.timestamp_default))}"'
        return attrs

    def value(self, out: list[str], shape: Shape, value: Any, name: str, top: bool = False) -> None:
        t = shape.type_name
        if t == "structure":
            if not isinstance(value, dict):
                raise TypeError(f"{shape.name} must be a dict, got {type(value).__name__}")
            out.append(f"<{name}{ns_attr(shape) if top or shape.serialization.get('xmlNamespace') else ''}{self._attributes(shape, value)}>")
            self.structure_members(out, shape, value)
            out.append(f"</{name}>")
        elif t == "list":
            member = shape.member
            if shape.serialization.get("flattened"):
                for item in value:
                    self.value(out, member, item, name)
            else:
                item_name = member.serialization.get("name", "member")
                out.append(f"<{name}{ns_attr(shape)}>")
                for item in value:
                    self.value(out, member, item, item_name)
                out.append(f"</{name}>")
        elif t == "map":
            key_name = shape.key.serialization.get("name") or "key"
            value_name = shape.value.serialization.get("name") or "value"
            flat = bool(shape.serialization.get("flattened"))
            if not flat:
                out.append(f"<{name}{ns_attr(shape)}>")
            for k, v in value.items():
                out.append(f"<{name}>" if flat else "<entry>")
                self.value(out, shape.key, k, key_name)
                if v is not None:
                    self.value(out, shape.value, v, value_name)
                out.append(f"</{name}>" if flat else "</entry>")
            if not flat:
                out.append(f"</{name}>")
        else:
            out.append(f"<{name}{ns_attr(shape)}>{escape(scalar_text(shape, value, self.timestamp_default))}</{name}>")


def text_element(name: str, text: str) -> str:
    return f"<{name}>{escape(text)}</{name}>"


# ---------------------------------------------------------------- reading
def parse_document(body: bytes, code: str = "MalformedXML", message: str = "The XML you provided was not well-formed or did not validate against our published schema") -> ETree.Element:
    """Parse an XML request body; forbids DTDs (entity expansion) like AWS does."""
    # NUL bytes/BOMs mean UTF-16/32, where the DTD check below could not see "<!DOCTYPE";
    # AWS takes UTF-8 XML only.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or b"\x00" in body or body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise AwsError(code, message, 400)
    try:
        return ETree.fromstring(body)
    except ETree.ParseError as exc:
        raise AwsError(code, message, 400) from exc


def local_tag(node: ETree.Element) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[1] if isinstance(tag, str) and tag.startswith("{") else str(tag)


class XmlReader:
    """The inverse of ``XmlWriter`` for request bodies (rest-xml)."""

    def __init__(self, error_code: str = "MalformedXML") -> None:
        self.error_code = error_code

    def _bad(self, shape: Shape, text: str | None) -> AwsError:
        return AwsError(self.error_code, f"Invalid value {text!r} for {shape.name}", 400)

    def children_by_name(self, node: ETree.Element) -> dict[str, list[ETree.Element]]:
        out: dict[str, list[ETree.Element]] = {}
        for child in node:
            out.setdefault(local_tag(child), []).append(child)
        return out

    def structure(self, shape: Shape, node: ETree.Element, skip_locations: bool = True) -> dict[str, Any]:
        by_name = self.children_by_name(node)
        out: dict[str, Any] = {}
        for key, member in shape.members.items():
            ser = member.serialization
            if skip_locations and ser.get("location"):
                continue
            if ser.get("xmlAttribute"):
                attr_name = ser.get("name", key)
                for k, v in node.attrib.items():
                    local = k.rsplit("}", 1)[1] if k.startswith("{") else k
                    if local == attr_name.split(":")[-1]:
                        out[key] = self.scalar(member, v)
                continue
            nodes = by_name.get(member_key_name(member, key))
            if not nodes:
                continue
            if member.type_name in ("list", "map") and member.serialization.get("flattened"):
                out[key] = self.flattened(member, nodes)
            else:
                out[key] = self.value(member, nodes[-1])
        return out

    def flattened(self, shape: Shape, nodes: list[ETree.Element]) -> Any:
        if shape.type_name == "list":
            return [self.value(shape.member, n) for n in nodes]
        return dict(self._pair(shape, n) for n in nodes)

    def _pair(self, shape: Shape, node: ETree.Element) -> tuple[Any, Any]:
        key_name = shape.key.serialization.get("name") or "key"
        value_name = shape.value.serialization.get("name") or "value"
        key: Any = None
        val: Any = None
        for child in node:
            tag = local_tag(child)
            if tag == key_name:
                key = self.value(shape.key, child)
            elif tag == value_name:
                val = self.value(shape.value, child)
        if key is None:
            raise AwsError(self.error_code, f"Map entry without a {key_name} in {shape.name}", 400)
        return key, val

    def value(self, shape: Shape, node: ETree.Element) -> Any:
        t = shape.type_name
        if t == "structure":
            return self.structure(shape, node, skip_locations=False)
        if t == "list":
            return [self.value(shape.member, child) for child in node]
        if t == "map":
            return dict(self._pair(shape, child) for child in node)
        return self.scalar(shape, node.text or "")

    def scalar(self, shape: Shape, text: str) -> Any:
        return parse_scalar(shape, text, self.error_code)


def parse_scalar(shape: Shape, text: str, error_code: str = "InvalidParameterValue") -> Any:
    """A wire string (form field, header, XML text, query string) as the shape's Python type."""
    t = shape.type_name
    try:
        if t in ("integer", "long", "short", "byte"):
            return int(text.strip())
        if t in ("float", "double"):
            return float(text.strip())
        if t == "boolean":
            low = text.strip().lower()
            if low not in ("true", "false"):
                raise ValueError(text)
            return low == "true"
        if t == "blob":
            return base64.b64decode(text.strip(), validate=True)
        if t == "timestamp":
            return parse_timestamp(text)
    except AwsError as exc:
        raise AwsError(error_code, f"Invalid timestamp value {text!r} for {shape.name}", 400) from exc
    except ValueError as exc:  # binascii.Error is a ValueError
        raise AwsError(error_code, f"Value ({text}) for parameter {shape.name} is invalid.", 400) from exc
    return text
