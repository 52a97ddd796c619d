"""Helpers shared by the security tests (imported as a plain module: names are unique)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer


class Users:
    """Creates IAM users (through the emulator's IAM API) and clients signed with their keys."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.iam = server.client("iam")
        self.keys: dict[str, dict[str, str]] = {}

    def create(self, name: str, *statements: dict[str, Any], managed: list[str] | None = None) -> dict[str, str]:
        self.iam.create_user(UserName=name)
        if statements:
            self.iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
        for arn in managed or []:
            self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.keys[name] = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        return self.keys[name]

    def client(self, name: str, service: str) -> Any:
        return self.server.client(service, **self.keys[name])


def error_code(call: Callable[[], Any]) -> str | None:
    """Run ``call``; return None on success or the AWS error code."""
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    return dict(info.value.response["Error"]) | {"HTTPStatusCode": info.value.response["ResponseMetadata"]["HTTPStatusCode"]}


DENIED = ("AccessDeniedException", "AccessDenied")


def passes_authorization(call: Callable[[], Any]) -> None:
    """The call passed authorization: it succeeded, or the service answered another error."""
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, checked below
        response = getattr(exc, "response", None)
        assert response is not None, exc
        assert response["Error"]["Code"] not in DENIED, response["Error"]
