"""Raw HTTP for tests: exact bytes on the wire, optionally signed by botocore's SigV4Auth.

For tests that must control what boto3 would normalize away (unknown targets,
malformed bodies, odd headers) while still being authenticated."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.testing.server import EmulatorServer


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def send(endpoint: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> RawResponse:
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def signed(
    server: EmulatorServer,
    method: str,
    path: str,
    *,
    service: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    access_key: str | None = None,
    secret_key: str | None = None,
) -> RawResponse:
    """Sign with botocore's SigV4Auth and send the exact bytes with http.client."""
    aws = AWSRequest(method=method, url=server.endpoint + path, headers=dict(headers or {}), data=body)
    creds = Credentials(access_key or server.access_key, secret_key or server.secret_key)
    SigV4Auth(creds, service, server.region).add_auth(aws)
    hdrs = dict(aws.headers.items())
    return send(server.endpoint, method, path, hdrs, body)


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
