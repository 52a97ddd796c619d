"""IAM policies and token quotas on the inference paths, through the wire.

One server with the real SmolLM2 model and a TOML config: every key may use 60
tokens per minute; the root key has its own per-key limits (a small daily quota).
Each test uses its own IAM user, so each has its own 60-second window.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.compute.openai_params import iam_requirement
from emulator.compute.quotas import SettlingStream, TokenMeter
from emulator.gateway.ratelimit import QuotaLimits, TokenQuotas
from emulator.testing.server import ACCESS_KEY, EmulatorServer
from emulator.testing.wait import wait_for

from .conftest import MODEL_ID

TPM = 60
ROOT_TPD = 120
ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}"
ALLOW_BEDROCK = {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}
USER = [{"role": "user", "content": [{"text": "Hi"}]}]


@pytest.fixture(scope="module")
def qserver(server_factory: Callable[..., EmulatorServer], tmp_path_factory: pytest.TempPathFactory) -> EmulatorServer:
    data_dir = tmp_path_factory.mktemp("quotas")
    config = data_dir / "emulator.toml"
    config.write_text(
        "[emulator.token_quotas]\n"
        f"tokens_per_minute = {TPM}\n"
        f"[emulator.token_quotas.keys.{ACCESS_KEY}]\n"
        "tokens_per_minute = 10000\n"
        f"tokens_per_day = {ROOT_TPD}\n"
        # Request rate limits apply to the OpenAI API under Bedrock's names (GET /v1/models/{id}).
        "[[emulator.rate_limits.rules]]\n"
        'service = "bedrock-runtime"\n'
        'operation = "GetFoundationModel"\n'
        "rate = 0.01\n"
        "burst = 2\n",
        encoding="utf-8",
    )
    # 4 slots: the held-stream test keeps up to 3 generations open at once.
    return server_factory(data_dir=data_dir, EMULATOR_CONFIG_FILE=str(config), EMULATOR_COMPUTE_SLOTS="4")


class Keys:
    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.iam = server.client("iam")

    def user(self, *statements: dict[str, Any]) -> dict[str, str]:
        name = "u-" + uuid.uuid4().hex[:10]
        self.iam.create_user(UserName=name)
        if statements:
            self.iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {"name": name, "aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}

    def bedrock(self, key: dict[str, str]) -> Any:
        return self.server.client("bedrock-runtime", aws_access_key_id=key["aws_access_key_id"], aws_secret_access_key=key["aws_secret_access_key"])

    def openai(self, key: dict[str, str]) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.server.endpoint + "/v1", api_key=f"{key['aws_access_key_id']}:{key['aws_secret_access_key']}", max_retries=0)


@pytest.fixture(scope="module")
def keys(qserver: EmulatorServer) -> Keys:
    return Keys(qserver)


def _audit(server: EmulatorServer, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    path: Path = server.data_dir / "audit.log"

    def found() -> list[dict[str, Any]]:
        if not path.exists():
            return []
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r for r in records if predicate(r)]

    result: list[dict[str, Any]] = wait_for(found, timeout=10)
    return result


def _prompt_tokens(server: EmulatorServer, prompt: str) -> int:
    """The raw prompt's token count (as the completions endpoint sends it), from Bedrock CountTokens."""
    body = json.dumps({"prompt": prompt}).encode()
    return int(server.client("bedrock-runtime").count_tokens(modelId=MODEL_ID, input={"invokeModel": {"body": body}})["inputTokens"])


# ------------------------------------------------------------------ policies
def test_denied_user_gets_403_on_openai_and_access_denied_on_converse(qserver: EmulatorServer, keys: Keys) -> None:
    denied = keys.user(ALLOW_BEDROCK, {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": ARN})
    with pytest.raises(openai.PermissionDeniedError) as info:
        keys.openai(denied).chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    assert info.value.status_code == 403
    message = info.value.body["message"] if isinstance(info.value.body, dict) else str(info.value)
    assert message == (f"User: arn:aws:iam::000000000000:user/{denied['name']} is not authorized to perform: bedrock:InvokeModel "
                       f"on resource: {ARN} with an explicit deny in an identity-based policy")
    with pytest.raises(openai.PermissionDeniedError):
        keys.openai(denied).completions.create(model=MODEL_ID, prompt="Hi", max_tokens=4)
    with pytest.raises(openai.PermissionDeniedError):
        keys.openai(denied).embeddings.create(model=MODEL_ID, input="Hi")
    # Converse is authorized as bedrock:InvokeModel on AWS.
    with pytest.raises(ClientError) as err:
        keys.bedrock(denied).converse(modelId=MODEL_ID, messages=USER, inferenceConfig={"maxTokens": 4})
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "bedrock:InvokeModel" in err.value.response["Error"]["Message"]
    # The models list needs bedrock:ListFoundationModels, which this user has.
    assert keys.openai(denied).models.list().data[0].id == MODEL_ID  # the embedding models follow

    # The audit log records the OpenAI calls with their action, resource and decision.
    records = _audit(qserver, lambda r: r["user"] == denied["name"] and r["service"] == "openai" and r["status"] == 403)
    assert {r["action"] for r in records} == {"bedrock:InvokeModel"}
    assert all(r["resource"] == ARN and r["decision"] == "explicit_deny" for r in records)
    assert _audit(qserver, lambda r: r["user"] == denied["name"] and r["action"] == "bedrock:ListFoundationModels" and r["decision"] == "allow")


def test_allowed_user_works_and_stream_needs_its_own_action(qserver: EmulatorServer, keys: Keys) -> None:
    invoke_only = keys.user({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": ARN})
    client = keys.openai(invoke_only)
    reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0)
    assert reply.choices[0].message.content is not None and reply.usage is not None and reply.usage.completion_tokens <= 4
    # Another key with the same policy (each key has its own 60 tokens a minute).
    same = keys.user({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": ARN})
    out = keys.bedrock(same).converse(modelId=MODEL_ID, messages=USER, inferenceConfig={"maxTokens": 4})
    assert out["usage"]["outputTokens"] <= 4
    # stream=true is bedrock:InvokeModelWithResponseStream, as ConverseStream; not allowed here.
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, stream=True)
    assert "bedrock:InvokeModelWithResponseStream" in str(info.value)
    with pytest.raises(ClientError) as err:
        keys.bedrock(invoke_only).converse_stream(modelId=MODEL_ID, messages=USER, inferenceConfig={"maxTokens": 4})
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    # Another model's ARN is not covered by the policy (implicit deny), and listing models is not allowed.
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="other-model", messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    assert "because no identity-based policy allows the bedrock:InvokeModel action" in str(info.value)
    with pytest.raises(openai.PermissionDeniedError):
        client.models.list()
    records = _audit(qserver, lambda r: r["user"] == invoke_only["name"] and r["service"] == "openai")
    assert any(r["decision"] == "allow" and r["action"] == "bedrock:InvokeModel" and r["status"] == 200 for r in records)


def test_inference_profiles_need_the_profile_and_the_model(qserver: EmulatorServer, keys: Keys) -> None:
    """A cross-Region inference profile is authorized on the profile's ARN (with the account)
    and on the foundation model it routes to (Bedrock user guide, "Prerequisites for
    inference profiles"): either alone is not enough."""
    profile_arn = f"arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.{MODEL_ID}"
    for model_id in (f"us.{MODEL_ID}", profile_arn):
        # A user each: every key may use 60 tokens a minute on this server.
        both = keys.user({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": [profile_arn, ARN]})
        assert keys.bedrock(both).converse(modelId=model_id, messages=USER, inferenceConfig={"maxTokens": 2})["usage"]["outputTokens"] <= 2
    model_only = keys.user({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": ARN})
    with pytest.raises(ClientError) as err:
        keys.bedrock(model_only).converse(modelId=f"us.{MODEL_ID}", messages=USER, inferenceConfig={"maxTokens": 2})
    assert err.value.response["Error"]["Code"] == "AccessDeniedException" and f"on resource: {profile_arn}" in err.value.response["Error"]["Message"]
    profile_only = keys.user({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": profile_arn})
    with pytest.raises(ClientError) as err:
        keys.bedrock(profile_only).converse(modelId=profile_arn, messages=USER, inferenceConfig={"maxTokens": 2})
    assert f"on resource: {ARN}" in err.value.response["Error"]["Message"]


def test_request_rate_limits_apply_to_the_openai_api(qserver: EmulatorServer, keys: Keys) -> None:
    client = keys.openai(keys.user(ALLOW_BEDROCK))
    assert client.models.retrieve(MODEL_ID).id == MODEL_ID
    assert client.models.retrieve(MODEL_ID).id == MODEL_ID
    with pytest.raises(openai.RateLimitError) as info:
        client.models.retrieve(MODEL_ID)
    assert int(info.value.response.headers["retry-after"]) >= 1
    # Another key has its own bucket; listing is another operation.
    assert keys.openai(keys.user(ALLOW_BEDROCK)).models.retrieve(MODEL_ID).id == MODEL_ID
    assert client.models.list().data[0].id == MODEL_ID


# -------------------------------------------------------------------- quotas
def test_concurrent_reservations_never_exceed_the_limit(qserver: EmulatorServer, keys: Keys) -> None:
    key = keys.user(ALLOW_BEDROCK)
    client = keys.openai(key)
    per_request = _prompt_tokens(qserver, "Hi") + 16
    fits = TPM // per_request
    assert 1 <= fits < 6
    started = threading.Barrier(6)
    release = threading.Event()
    lock = threading.Lock()
    accepted: list[int] = []
    rejected: list[openai.RateLimitError] = []
    errors: list[BaseException] = []
    done = threading.Semaphore(0)

    def worker() -> None:
        reported = False
        try:
            started.wait(10)
            try:
                stream = client.completions.create(model=MODEL_ID, prompt="Hi", max_tokens=16, temperature=0, stream=True,
                                                   stream_options={"include_usage": True})
            except openai.RateLimitError as exc:
                with lock:
                    rejected.append(exc)
                return
            chunks = iter(stream)
            next(chunks)  # generating: the reservation is held until the stream ends
            done.release()
            reported = True
            release.wait(30)
            usage = [c.usage for c in chunks if c.usage is not None]
            with lock:
                accepted.append(usage[-1].total_tokens if usage else 0)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            with lock:
                errors.append(exc)
        finally:
            if not reported:
                done.release()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for _ in threads:
        assert done.acquire(timeout=60)
    # Every request has been accepted (and is still generating) or refused.
    release.set()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(accepted) == fits and len(rejected) == 6 - fits
    assert len(accepted) * per_request <= TPM
    assert all(0 < used <= per_request for used in accepted)
    for exc in rejected:
        assert exc.status_code == 429
        assert exc.response.headers.get("retry-after", "").isdigit() and int(exc.response.headers["retry-after"]) >= 1
        assert isinstance(exc.body, dict) and exc.body["code"] == "rate_limit_exceeded" and exc.body["type"] == "tokens"


def test_settling_releases_what_was_not_used(qserver: EmulatorServer, keys: Keys) -> None:
    key = keys.user(ALLOW_BEDROCK)
    client = keys.openai(key)
    reserved = _prompt_tokens(qserver, "Hi") + 40
    assert TPM < 2 * reserved  # without the release, a second request could not fit
    # A stop sequence ends the answer early: far fewer tokens than max_tokens are used.
    first = client.completions.create(model=MODEL_ID, prompt="Hi", max_tokens=40, temperature=0, stop=[" ", "\n", ".", "!"])
    assert first.usage is not None and first.usage.total_tokens + reserved <= TPM, first.usage
    second = client.completions.create(model=MODEL_ID, prompt="Hi", max_tokens=40, temperature=0, stop=[" ", "\n", ".", "!"])
    assert second.usage is not None and second.usage.total_tokens <= reserved
    # Now ~2 x (prompt + a token or two) are used: one more full reservation does not fit.
    with pytest.raises(openai.RateLimitError):
        client.completions.create(model=MODEL_ID, prompt="Hi", max_tokens=TPM - first.usage.total_tokens - second.usage.total_tokens)


def test_disconnected_stream_is_settled(qserver: EmulatorServer, keys: Keys) -> None:
    key = keys.user(ALLOW_BEDROCK)
    client = keys.openai(key)
    prompt = _prompt_tokens(qserver, "Hi")
    story = _prompt_tokens(qserver, "Once upon a time")
    # A raw prompt the model continues to max_tokens (~3 s here) unless stopped.
    stream = client.completions.create(model=MODEL_ID, prompt="Once upon a time", max_tokens=TPM - story, temperature=0, stream=True)
    next(iter(stream))
    # The whole minute is reserved while it streams.
    with pytest.raises(openai.RateLimitError):
        client.completions.create(model=MODEL_ID, prompt="Hi", max_tokens=1)
    stream.close()  # the client goes away mid-answer: only what was generated stays charged

    def fits() -> bool:
        # Fits only if the stream was settled well below its reservation.
        try:
            client.completions.create(model=MODEL_ID, prompt="Hi", max_tokens=TPM // 2 - prompt)
        except openai.RateLimitError:
            return False
        return True

    wait_for(fits, timeout=20, interval=0.2)


def test_bedrock_throttling_exception_and_too_large_request(qserver: EmulatorServer, keys: Keys) -> None:
    key = keys.user(ALLOW_BEDROCK)
    bedrock = keys.bedrock(key)
    # The request alone exceeds the per-minute limit (prompt + maxTokens > 60).
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=USER, inferenceConfig={"maxTokens": TPM})
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(openai.RateLimitError) as info:
        keys.openai(key).chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=TPM)
    assert "Request too large" in str(info.value)
    # Use up the minute: a raw prompt continued to max_gen_len (stop_reason "length").
    story = json.dumps({"prompt": "Once upon a time", "max_gen_len": TPM - _prompt_tokens(qserver, "Once upon a time") - 3, "temperature": 0})
    first = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=story)["body"].read())
    assert first["stop_reason"] == "length", first
    assert first["prompt_token_count"] + first["generation_token_count"] == TPM - 3
    for call in (
        lambda: bedrock.converse(modelId=MODEL_ID, messages=USER, inferenceConfig={"maxTokens": 4}),
        lambda: bedrock.converse_stream(modelId=MODEL_ID, messages=USER, inferenceConfig={"maxTokens": 4}),
        lambda: bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "Hi", "max_gen_len": 4})),
        lambda: bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps({"prompt": "Hi", "max_gen_len": 4})),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert int(err.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    # The OpenAI API shares the key's quota.
    with pytest.raises(openai.RateLimitError) as info:
        keys.openai(key).completions.create(model=MODEL_ID, prompt="Hi", max_tokens=4)
    assert "tokens per min (TPM)" in str(info.value) and int(info.value.response.headers["retry-after"]) >= 1


def test_daily_quota_per_key(qserver: EmulatorServer) -> None:
    # The root key: 10000 tokens a minute but only ROOT_TPD a day (a per-key override).
    bedrock = qserver.client("bedrock-runtime")
    used = 0
    for _ in range(10):
        try:
            out = bedrock.converse(modelId=MODEL_ID, messages=USER, inferenceConfig={"maxTokens": 16, "temperature": 0})
        except ClientError as err:
            assert err.response["Error"]["Code"] == "ThrottlingException"
            assert int(err.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
            break
        used += out["usage"]["totalTokens"]
    else:
        pytest.fail("the daily quota never throttled")
    assert 0 < used <= ROOT_TPD
    usage = json.loads((qserver.data_dir / "token_usage.json").read_text(encoding="utf-8"))
    assert [d["tokens"] for d in usage["daily"] if d["key"] == ACCESS_KEY] == [used]


# ---------------------------------------------------------------------- units
def test_iam_requirement_mirrors_bedrock() -> None:
    assert iam_requirement("POST", "/v1/chat/completions", {"model": MODEL_ID}, "us-east-1") == ("bedrock:InvokeModel", ARN)
    assert iam_requirement("POST", "/v1/completions", {"model": MODEL_ID, "stream": True}, "us-east-1") == ("bedrock:InvokeModelWithResponseStream", ARN)
    assert iam_requirement("POST", "/v1/embeddings", {"model": MODEL_ID, "stream": True}, "us-east-1") == ("bedrock:InvokeModel", ARN)
    assert iam_requirement("POST", "/v1/chat/completions", {"model": "arn:aws:bedrock:eu-west-1::foundation-model/x"}, "us-east-1")[1] == "arn:aws:bedrock:eu-west-1::foundation-model/x"
    assert iam_requirement("GET", "/v1/models", None, "eu-west-1") == ("bedrock:ListFoundationModels", "*")
    assert iam_requirement("GET", "/v1/models/m", None, "eu-west-1") == ("bedrock:GetFoundationModel", "arn:aws:bedrock:eu-west-1::foundation-model/m")


def test_settling_stream_settles_once_even_if_never_started() -> None:
    quotas = TokenQuotas(QuotaLimits(tokens_per_minute=100))
    runtime = SimpleNamespace(components={"token_quotas": quotas})

    async def events() -> AsyncIterator[int]:
        yield 1

    async def run() -> None:
        # Closed before the first item (client gone before the response started): nothing was used.
        meter = TokenMeter(runtime, quotas.reserve("k", 40), prompt_tokens=10)
        await SettlingStream(events(), meter, lambda: None).aclose()
        assert quotas.usage("k")["minute"] == 0
        # Drained: charged with the generation's usage, exactly once.
        meter = TokenMeter(runtime, quotas.reserve("k", 40), prompt_tokens=10)
        gen = SimpleNamespace(prompt_tokens=10, completion_tokens=5, pieces=5)
        stream = SettlingStream(events(), meter, lambda: gen)  # type: ignore[arg-type, return-value]
        assert [i async for i in stream] == [1]
        await stream.aclose()
        assert quotas.usage("k")["minute"] == 15
        # Stopped before the usage chunk: the prompt and the pieces seen.
        meter = TokenMeter(runtime, quotas.reserve("k", 40), prompt_tokens=10)
        early = SimpleNamespace(prompt_tokens=0, completion_tokens=0, pieces=3)
        await SettlingStream(events(), meter, lambda: early).aclose()  # type: ignore[arg-type, return-value]
        assert quotas.usage("k")["minute"] == 15 + 13

    asyncio.run(run())
