"""STS sessions (emulator/gateway/sessions.py) as time passes: live, expired (ExpiredToken, which
SDKs answer by refreshing assumed-role credentials), then forgotten. The server's clock cannot
be moved from outside, so the chain is driven in process, as ASGI, with the sessions' clock
under the test's hand; tests/security/test_security_sts.py covers the rest over the wire."""

from __future__ import annotations

import asyncio
import re
import tempfile
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.context import Principal
from emulator.gateway.sessions import KEPT_EXPIRED, SessionKeys, Sessions

ROOT_KEY, ROOT_SECRET = "AKIASESSIONTEST00001", "session-test-secret-0000000000000000000000"
USER = Principal("AKIAUSER", "alice", "arn:aws:iam::000000000000:user/alice", "000000000000", False)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_session_lifecycle() -> None:
    clock = Clock()
    sessions = Sessions("000000000000", clock)
    keys = SessionKeys({}, sessions)
    creds = sessions.session_token(USER, {"DurationSeconds": 900}, "AIDAALICE")["Credentials"]
    kid = creds["AccessKeyId"]
    assert kid.startswith("ASIA") and sessions.get(kid) is not None
    assert creds["Expiration"].timestamp() == clock.now + 900
    clock.now += 900
    assert sessions.get(kid) is None  # expired ...
    assert sessions.get(kid, expired=True) is not None and keys.get(kid) is not None  # ... but still known
    clock.now += KEPT_EXPIRED + 1
    assert sessions.get(kid, expired=True) is None and keys.get(kid) is None


def _call(app: Any, service: str, headers: dict[str, str], body: bytes, creds: Credentials) -> tuple[int, bytes]:
    aws = AWSRequest("POST", "http://127.0.0.1:4566/", headers=headers, data=body)
    SigV4Auth(creds, service, "us-east-1").add_auth(aws)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/", "raw_path": b"/",
        "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 4566),
        "headers": [(b"host", b"127.0.0.1:4566"), (b"content-length", str(len(body)).encode())]
        + [(k.lower().encode(), v.encode() if isinstance(v, str) else v) for k, v in aws.headers.items()],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.get_event_loop().run_until_complete(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_expired_session_gets_expired_token_through_the_chain() -> None:
    from emulator.app import create_app
    from emulator.runtime import Runtime
    from emulator.settings import load_settings

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with tempfile.TemporaryDirectory() as data:
            settings = load_settings({"data_dir": data, "root_access_key_id": ROOT_KEY, "root_secret_access_key": ROOT_SECRET,
                                      "services": ["dynamodb", "iam"]})
            app = create_app(Runtime(settings))
            loop.run_until_complete(app.startup())
            try:
                clock = Clock()
                clock.now = __import__("time").time()
                sessions: Sessions = app.runtime.components["sessions"]
                sessions.clock = clock
                status, body = _call(app, "sts", {"Content-Type": "application/x-www-form-urlencoded"}, b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900",
                                     Credentials(ROOT_KEY, ROOT_SECRET))
                assert status == 200, body
                found = {k: re.search(rf"<{k}>([^<]+)</{k}>".encode(), body) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
                kid, secret, token = (m.group(1).decode() for m in found.values() if m is not None)
                session_creds = Credentials(kid, secret, token)
                ddb = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"}
                status, body = _call(app, "dynamodb", ddb, b"{}", session_creds)
                assert status == 200, body
                clock.now += 901
                status, body = _call(app, "dynamodb", ddb, b"{}", session_creds)
                assert status == 400 and b"ExpiredTokenException" in body and b"The security token included in the request is expired" in body
                status, body = _call(app, "sts", {"Content-Type": "application/x-www-form-urlencoded"}, b"Action=GetCallerIdentity&Version=2011-06-15", session_creds)
                assert status == 403 and b"<Code>ExpiredToken</Code>" in body
            finally:
                loop.run_until_complete(app.shutdown())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
