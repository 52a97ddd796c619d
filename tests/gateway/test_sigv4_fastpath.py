"""The cached parts of SigV4 verification and detection (bench/RESULTS.md, gateway third round):
what is cached must never let a request through that the uncached path would refuse."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator import services
from emulator.errors import AwsError
from emulator.gateway import sigv4
from emulator.gateway.keys import KeyStore
from emulator.gateway.validation import checker_for
from emulator.protocols.base import Request
from emulator.protocols.detect import credential_scope, detect

ACCESS = "AKIAFASTPATHTEST0001"
SECRET = "fast-path-secret-key-00000000000000000000"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    store = KeyStore(Path(tmp_path_factory.mktemp("keys")))
    store.ensure_root(ACCESS, SECRET)
    return store


def signed(target: str = "DynamoDB_20120810.DescribeLimits", body: bytes = b"{}", secret: str = SECRET) -> Request:
    aws = AWSRequest("POST", "http://127.0.0.1:4566/", headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}, data=body)
    SigV4Auth(Credentials(ACCESS, secret), "dynamodb", "us-east-1").add_auth(aws)
    headers = {k.lower(): v for k, v in aws.headers.items()}
    headers["host"] = "127.0.0.1:4566"
    return Request("POST", "/", "/", "", headers, body)


def with_auth(request: Request, auth: str) -> Request:
    return dataclasses.replace(request, headers=dict(request.headers, authorization=auth))


def test_cached_head_still_checks_every_signature(keys: KeyStore) -> None:
    good = signed()
    for _ in range(3):  # the head is cached after the first
        key, parsed = sigv4.verify(good, keys, "json")
        assert key.access_key_id == ACCESS and parsed.region == "us-east-1" and parsed.service == "dynamodb"
    auth = good.headers["authorization"]
    flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    with pytest.raises(AwsError) as info:
        sigv4.verify(with_auth(good, flipped), keys, "json")
    assert info.value.code == "InvalidSignatureException" and info.value.status == 403
    # The same head with another body: the body hash is still computed and checked.
    with pytest.raises(AwsError) as info:
        sigv4.verify(dataclasses.replace(good, body=b'{"Limit": 1}'), keys, "json")
    assert info.value.code == "InvalidSignatureException"
    # A key signed with another secret, same head text.
    with pytest.raises(AwsError):
        sigv4.verify(signed(secret="another-secret"), keys, "json")


def test_fields_in_another_order_take_the_generic_path(keys: KeyStore) -> None:
    good = signed()
    fast = sigv4.verify(good, keys, "json")[1]
    head, _, sig = good.headers["authorization"].rpartition(", Signature=")
    algo, _, rest = head.partition(" ")
    cred, signed_headers = rest.split(", ")
    reordered = f"{algo} Signature={sig}, {signed_headers}, {cred}"
    assert credential_scope(with_auth(good, reordered)) == credential_scope(good) == (ACCESS, fast.date, "us-east-1", "dynamodb")
    slow = sigv4.verify(with_auth(good, reordered), keys, "json")[1]
    assert (slow.access_key_id, slow.date, slow.region, slow.service, list(slow.signed_headers), slow.signature) == (
        fast.access_key_id, fast.date, fast.region, fast.service, list(fast.signed_headers), fast.signature
    )


def test_incomplete_heads_get_awss_errors_even_when_signature_is_last(keys: KeyStore) -> None:
    good = signed()
    sig = good.headers["authorization"].rpartition("Signature=")[2]
    cases = {
        f"AWS4-HMAC-SHA256 Credential={ACCESS}/20240101/us-east-1/dynamodb/aws4_request, Signature={sig}": "SignedHeaders",
        f"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={sig}": "Credential",
        f"AWS4-HMAC-SHA256 Credential={ACCESS}/20240101/us-east-1, SignedHeaders=host, Signature={sig}": "Credential should be scoped",
    }
    for auth, expected in cases.items():
        with pytest.raises(AwsError) as info:
            sigv4.verify(with_auth(good, auth), keys, "json")
        assert info.value.code == "IncompleteSignatureException" and expected in info.value.message, auth
    # A cached head does not excuse a missing X-Amz-Date.
    sigv4.verify(good, keys, "json")
    no_date = dataclasses.replace(good, headers={k: v for k, v in good.headers.items() if k != "x-amz-date"})
    with pytest.raises(AwsError) as info:
        sigv4.verify(no_date, keys, "json")
    assert info.value.code == "IncompleteSignatureException" and "X-Amz-Date" in info.value.message


@pytest.mark.parametrize("secret", ["short", "x" * 40, "k" * 80])
def test_hmac_from_cached_hash_states_is_hmac_sha256(secret: str) -> None:
    inner, outer, scope = sigv4._key_and_scope(secret, "20240101", "eu-west-1", "dynamodb")
    assert scope == "20240101/eu-west-1/dynamodb/aws4_request"
    key = sigv4.signing_key(secret, "20240101", "eu-west-1", "dynamodb")
    for message in (b"", b"AWS4-HMAC-SHA256\n20240101T000000Z\n" + b"a" * 200):
        h = inner.copy()
        h.update(message)
        mac = outer.copy()
        mac.update(h.digest())
        assert mac.hexdigest() == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_detect_caches_targets_without_changing_answers() -> None:
    request = signed("DynamoDB_20120810.GetItem")
    first, second = detect(request), detect(request)
    assert (first.service, first.operation, first.protocol, first.region, first.signing_service) == ("dynamodb", "GetItem", "json", "us-east-1", "dynamodb")
    assert (second.service, second.operation, second.protocol, second.region) == (first.service, first.operation, first.protocol, first.region)
    lower = detect(signed("DynamoDB_20120810.getitem"))  # case-insensitive operation names, as before
    assert lower.operation == "GetItem"
    unknown = detect(signed("DynamoDB_20120810.NoSuchOperation"))
    assert unknown.service == "dynamodb" and unknown.operation is None
    with pytest.raises(AwsError) as info:
        detect(signed("NoSuchService_2020.GetItem"))
    assert info.value.code == "UnknownOperationException"
    assert credential_scope(request) == (ACCESS, request.headers["x-amz-date"][:8], "us-east-1", "dynamodb")
    assert credential_scope(Request("POST", "/", "/", "", {"authorization": "AWS4-HMAC-SHA256 nothing"}, b"")) is None


def test_validator_lookup_by_model_matches_the_compiled_checker() -> None:
    op = services.operation_model("dynamodb", "GetItem")
    assert op is not None
    fn = checker_for(op)
    assert fn is not None and checker_for(op) is fn
    problems: list[tuple[str, str]] = []
    fn({"TableName": "x", "Key": {}}, "", problems)  # TableName shorter than 3
    assert problems
