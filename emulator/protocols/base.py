"""The protocol interface and the request/response types every layer shares.

A protocol turns the bytes of a request into the operation's input dict and an
output dict (or an ``AwsError``) back into bytes. It is driven entirely by
botocore's service model: no service names appear in ``emulator/protocols``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.model import OperationModel, ServiceModel

from emulator.errors import AwsError


@dataclass
class Request:
    """An HTTP request as the ASGI server handed it over, body fully read."""

    method: str
    path: str  # percent-decoded path
    raw_path: str  # path exactly as sent (SigV4 canonical URI uses it)
    query_string: str  # raw query string, without '?'
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ','
    body: bytes
    client_ip: str = ""
    scheme: str = "http"
    # The id the app answers with (x-amzn-requestid); XML protocols also put it in the body.
    request_id: str = ""
    # The body as received when a Content-Encoding (gzip) was decoded into ``body``;
    # SigV4 hashes the bytes the client signed, i.e. these. None: ``body`` is as received.
    wire_body: bytes | None = None
    # The path-style path ("/bucket" + raw_path) of a virtual-hosted-style S3 request, whose
    # bucket is in the Host header (protocols/detect.py sets it): the operation and its URI
    # labels are matched against it, and SigV2 signs it. For an S3 POST-policy upload, the
    # object's path once its form is verified (gateway/post_policy.py). None: ``raw_path``.
    route_path: str | None = None
    # The form fields of a verified S3 POST-policy upload (lower-cased names): the request's
    # x-amz-* values and ACL for bucket-policy conditions (gateway/s3_policy.py).
    post_fields: dict[str, str] | None = None
    # An S3 object upload larger than ``max_body_bytes``: its body, spooled to a file as it came
    # (gateway/s3_stream.UploadSpool), ``body`` then empty. None: the body is ``body``.
    body_file: Any = None

    @cached_property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @cached_property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @cached_property
    def form(self) -> dict[str, str]:
        """The urlencoded form body (query protocol), last value wins."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AwsError("MalformedQueryString", "The request body is not valid UTF-8", 400) from exc
        out: dict[str, str] = {}
        for key, values in parse_qs(text, keep_blank_values=True).items():
            out[key] = values[-1]
        return out


# An output dict may carry, under this key, response headers that the service sends but
# botocore's model does not declare (Bedrock's X-Amzn-Bedrock-Input-Token-Count on
# InvokeModel): the REST protocols send them as they are ({name: value}). Never a member
# name (botocore's are CamelCase words); in-process callers (``App.invoke``) see it as is.
RESPONSE_HEADERS = "__response_headers__"


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # A streaming body (event streams, server-sent events). When set, ``body`` is ignored.
    stream: AsyncIterator[bytes] | None = None


class Protocol(ABC):
    """One wire format. Subclasses implement parse/serialize/serialize_error."""

    name: str = ""
    # True when serialize() encodes outputs with orjson: values may then be orjson.Fragment
    # (JSON encoded already), which it embeds as they are (see RequestContext.raw_json).
    raw_json: bool = False

    def parse(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        raise AwsError("InternalFailure", f"protocol {self.name} cannot parse requests", 500)

    def serialize(self, operation: OperationModel, output: dict[str, Any], request: Request) -> Response:
        raise AwsError("InternalFailure", f"protocol {self.name} cannot serialize responses", 500)

    @abstractmethod
    def serialize_error(self, error: AwsError, service: ServiceModel | None, request: Request | None, request_id: str) -> Response:
        """The protocol's error shape, so botocore raises ClientError with ``error.code``."""


def unquote_path(raw: str) -> str:
    return unquote(raw)
