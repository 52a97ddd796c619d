"""awsJson 1.0 / 1.1: ``POST /`` with ``X-Amz-Target`` and a JSON body.

Errors: ``{"__type": "<Code>", "message": "..."}`` plus ``x-amzn-ErrorType``;
services marked ``awsQueryCompatible`` (CloudWatch sent as json with
``x-amzn-query-mode``) also get ``x-amzn-query-error: Code;Sender`` so botocore
reports the query-era code. An output event stream (CloudWatch Logs StartLiveTail) is
eventstream.rpc_output's.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from botocore.model import OperationModel, ServiceModel

from emulator.errors import AwsError
from emulator.protocols import eventstream
from emulator.protocols.base import Protocol, Request, Response
from emulator.protocols.shapes import json_decoder, json_default
from emulator.services import crc32_services

_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME  # datetimes go through json_default -> epoch seconds


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=json_default, option=_OPTS)


try:
    import anycrc

    _ANYCRC32: Any = anycrc.Model("CRC32")
except ImportError:  # an install without it: zlib's for every size
    _ANYCRC32 = None

# Endpoint prefixes whose answers carry x-amz-crc32 (services.crc32_services: DynamoDB).
_CRC32_PREFIXES = crc32_services()


def _with_crc32(service: ServiceModel | None, headers: dict[str, str], body: bytes) -> dict[str, str]:
    # endpoint_prefix is a cached property of the model: one attribute read and a set lookup.
    if service is not None and service.endpoint_prefix in _CRC32_PREFIXES:
        # The CRC32 of the body as sent, in decimal: botocore retries an answer that does not
        # match it (retryhandler.CRC32Checker), as other SDKs check DynamoDB's answers.
        # zlib's for small bodies; past 1 KB anycrc's (the same CRC-32, ~4x faster on a 20-item
        # Query page: 2 against 8 µs for 25 KB, but slower than zlib's call on a few bytes).
        headers["x-amz-crc32"] = str(zlib.crc32(body) if len(body) < 1024 or _ANYCRC32 is None else _ANYCRC32.calc(body))
    return headers


class JsonProtocol(Protocol):
    name = "json"
    raw_json = True

    def parse(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        body = request.body
        if not body.strip():
            data: Any = {}
        else:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise AwsError("SerializationException", "Start of structure or map found where not expected." if body[:1] == b"[" else f"Unable to parse the request body as JSON: {exc.msg}", 400) from exc
        if not isinstance(data, dict):
            raise AwsError("SerializationException", "Start of list found where not expected" if isinstance(data, list) else "Unexpected JSON value where an object was expected", 400)
        shape = operation.input_shape
        if shape is None:
            return {}
        decoder = json_decoder(shape)
        result: dict[str, Any] = decoder(data) if decoder is not None else data
        return result

    def content_type(self, service: ServiceModel | None) -> str:
        version = (service.metadata.get("jsonVersion") if service is not None else None) or "1.0"
        return f"application/x-amz-json-{version}"

    def serialize(self, operation: OperationModel, output: dict[str, Any], request: Request) -> Response:
        if operation.has_event_stream_output:  # botocore caches it: one attribute read per answer
            shape = operation.output_shape
            assert shape is not None
            return Response(200, {"content-type": "application/vnd.amazon.eventstream"}, b"", stream=eventstream.rpc_output(shape, output))
        service = operation.service_model
        body = dumps(output)
        return Response(200, _with_crc32(service, {"content-type": self.content_type(service)}, body), body)

    def serialize_error(self, error: AwsError, service: ServiceModel | None, request: Request | None, request_id: str) -> Response:
        body: dict[str, Any] = {"__type": error.code, "message": error.message}
        body.update(error.extra)
        headers = {"content-type": self.content_type(service), "x-amzn-errortype": error.code, **error.headers}
        if service is not None and "awsQueryCompatible" in service.metadata:
            headers["x-amzn-query-error"] = f"{error.code};{'Sender' if error.sender_fault else 'Receiver'}"
        raw = dumps(body)
        return Response(error.status, _with_crc32(service, headers, raw), raw)
