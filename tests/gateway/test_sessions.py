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


def test_sessions_outlive_a_restart_and_reach_other_processes(tmp_path: Any) -> None:
    clock = Clock()
    first = Sessions("000000000000", clock, data_dir=tmp_path)
    creds = first.session_token(USER, {"DurationSeconds": 900}, "AIDAALICE")["Credentials"]
    kid = creds["AccessKeyId"]
    journal = tmp_path / "sessions.jsonl"
    assert journal.stat().st_mode & 0o777 == 0o600
    text = journal.read_text()
    assert kid in text and creds["SecretAccessKey"] not in text and creds["SessionToken"] not in text  # encrypted at rest
    # A restart (a new object on the same data dir) knows it, with its secret, token and expiry.
    again = Sessions("000000000000", clock, data_dir=tmp_path)
    session = again.get(kid)
    assert session is not None and session.key.secret_access_key == creds["SecretAccessKey"] and session.token == creds["SessionToken"]
    assert session.expires == clock.now + 900 and session.arn == USER.arn
    # Another process's new session is found when its key first shows up.
    later = again.session_token(USER, {"DurationSeconds": 900}, "AIDAALICE")["Credentials"]["AccessKeyId"]
    assert first.get(later) is not None
    # A line still being written (no newline yet) is neither read nor lost.
    with open(journal, "ab") as fh:
        fh.write(b'{"id": "ASIATORN')
    assert first.get("ASIATORN") is None
    # A reset empties the file; the other process forgets too once it looks again.
    first.reset()
    assert first.get(kid) is None and again.get("ASIAUNKNOWN") is None and again.get(kid) is None
    # Long-expired sessions are dropped when a restart finds them most of the file.
    kept = first.session_token(USER, {"DurationSeconds": 900}, "AIDAALICE")["Credentials"]["AccessKeyId"]
    for _ in range(3):
        first.session_token(USER, {"DurationSeconds": 900}, "AIDAALICE")
    clock.now += 900 + KEPT_EXPIRED + 1
    fresh = first.session_token(USER, {"DurationSeconds": 900}, "AIDAALICE")["Credentials"]["AccessKeyId"]
    compacted = Sessions("000000000000", clock, data_dir=tmp_path)
    assert compacted.get(fresh) is not None and compacted.get(kept, expired=True) is None
    assert journal.read_text().count("\n") == 1


def test_session_credentials_work_after_kill_9(tmp_path: Any) -> None:
    from emulator.testing.server import EmulatorServer

    server = EmulatorServer(data_dir=tmp_path / "d", extra_args=["--services", "iam"])
    with server:
        iam = server.client("iam")
        iam.create_user(UserName="alice")
        iam.put_user_policy(UserName="alice", PolicyName="all", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
        key = iam.create_access_key(UserName="alice")["AccessKey"]
        alice = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        creds = alice.get_session_token()["Credentials"]
        server.kill()
        server.start()
        sts = server.client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])
        assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/alice"
        server.reset(services=["sts"])
        try:
            sts.get_caller_identity()
        except Exception as exc:  # noqa: BLE001 - botocore's ClientError, asserted by its code
            assert getattr(exc, "response", {}).get("Error", {}).get("Code") in ("InvalidClientTokenId", "UnrecognizedClientException")
        else:
            raise AssertionError("a reset session still signs")
