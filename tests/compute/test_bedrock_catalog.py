"""Bedrock's control plane model catalog with boto3: ListFoundationModels, GetFoundationModel,
ListInferenceProfiles and GetInferenceProfile over the local model store, and a listed
inference profile id served by Bedrock Runtime's Converse."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.compute.embeddings import EMBEDDING_MODELS
from emulator.compute.models import install_default
from emulator.testing.server import EmulatorServer

from .conftest import MODEL_ID

MESSAGES = [{"role": "user", "content": [{"text": "Say hi"}]}]
ACCOUNT = "000000000000"
SECOND_ID = "tiny-chat.q4-1"
REMOTE_ID = "acme.chat-model"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _ids(summaries: list[dict[str, Any]]) -> list[str]:
    return [str(s["modelId"]) for s in summaries]


@pytest.fixture(scope="session")
def control(compute_server: EmulatorServer) -> Any:
    return compute_server.client("bedrock")


@pytest.fixture(scope="module")
def catalog_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with three text models: SmolLM2, the same GGUF under a second name, and a remote
    model (never called: listing it needs no server behind the URL)."""
    models = tmp_path_factory.mktemp("catalog-models")
    default = install_default(models)
    os.symlink(default.resolve(), models / "Tiny_Chat.Q4_1.gguf")
    remote = {"models": [{"name": "acme.chat-model", "url": "http://127.0.0.1:9/v1", "model": "acme/chat-model", "created": 1700000000}]}
    (models / "remote.json").write_text(json.dumps(remote), encoding="utf-8")
    return models


@pytest.fixture(scope="module")
def catalog_server(server_factory: Callable[..., EmulatorServer], catalog_models: Path) -> EmulatorServer:
    return server_factory(EMULATOR_MODELS_DIR=str(catalog_models))


# ------------------------------------------------------------------ foundation models
def test_list_foundation_models(control: Any) -> None:
    summaries = control.list_foundation_models()["modelSummaries"]
    assert sorted(_ids(summaries)) == sorted([MODEL_ID, *EMBEDDING_MODELS])
    smol = next(s for s in summaries if s["modelId"] == MODEL_ID)
    assert smol == {
        "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}",
        "modelId": MODEL_ID,
        "modelName": "SmolLM2 135M Instruct",
        "providerName": "HuggingFaceTB",  # the GGUF's general.organization
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"],
        "modelLifecycle": {"status": "ACTIVE"},
    }
    titan = next(s for s in summaries if s["modelId"] == "amazon.titan-embed-text-v2:0")
    assert titan["providerName"] == "Amazon" and titan["outputModalities"] == ["EMBEDDING"]
    assert titan["responseStreamingSupported"] is False and titan["inferenceTypesSupported"] == ["ON_DEMAND"]
    assert titan["modelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"


def test_list_foundation_models_filters(control: Any) -> None:
    def ids(**kw: Any) -> list[str]:
        return sorted(_ids(control.list_foundation_models(**kw)["modelSummaries"]))

    assert ids(byProvider="HuggingFaceTB") == ids(byProvider="huggingfacetb") == [MODEL_ID]
    assert ids(byProvider="cohere") == ["cohere.embed-english-v3", "cohere.embed-multilingual-v3"]
    assert ids(byProvider="Nobody") == []
    assert ids(byOutputModality="TEXT") == [MODEL_ID]
    assert ids(byOutputModality="EMBEDDING") == sorted(EMBEDDING_MODELS)
    assert ids(byOutputModality="IMAGE") == []
    assert ids(byInferenceType="ON_DEMAND") == sorted([MODEL_ID, *EMBEDDING_MODELS])
    assert ids(byInferenceType="PROVISIONED") == []
    assert ids(byCustomizationType="FINE_TUNING") == []
    assert ids(byProvider="cohere", byOutputModality="TEXT") == []
    assert ids(projectIdentifier="default") == sorted([MODEL_ID, *EMBEDDING_MODELS])
    with pytest.raises(ClientError) as err:
        control.list_foundation_models(projectIdentifier="my-project")
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        control.list_foundation_models(byOutputModality="AUDIO")
    assert _code(err) == "ValidationException"


def test_foundation_models_follow_the_request_region(compute_server: EmulatorServer) -> None:
    eu = compute_server.client("bedrock", region_name="eu-west-1")
    smol = eu.get_foundation_model(modelIdentifier=MODEL_ID)["modelDetails"]
    assert smol["modelArn"] == f"arn:aws:bedrock:eu-west-1::foundation-model/{MODEL_ID}"


def test_get_foundation_model(control: Any) -> None:
    listed = {s["modelId"]: s for s in control.list_foundation_models()["modelSummaries"]}
    by_id = control.get_foundation_model(modelIdentifier=MODEL_ID)["modelDetails"]
    assert by_id == listed[MODEL_ID]
    by_arn = control.get_foundation_model(modelIdentifier=listed[MODEL_ID]["modelArn"])["modelDetails"]
    assert by_arn == by_id
    cohere = control.get_foundation_model(modelIdentifier="cohere.embed-english-v3")["modelDetails"]
    assert cohere == listed["cohere.embed-english-v3"]
    assert control.get_foundation_model(modelIdentifier=MODEL_ID, projectIdentifier="default")["modelDetails"] == by_id

    unknown = ["anthropic.claude-3-haiku-20240307-v1:0", f"us.{MODEL_ID}",
               "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0"]
    for ident in unknown:
        with pytest.raises(ClientError) as err:
            control.get_foundation_model(modelIdentifier=ident)
        assert _code(err) == "ResourceNotFoundException", ident
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        control.get_foundation_model(modelIdentifier=MODEL_ID, projectIdentifier="my-project")
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:  # outside the operation's modelIdentifier pattern
        control.get_foundation_model(modelIdentifier=f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/{MODEL_ID}/abcdefabcdef")
    assert _code(err) == "ValidationException"


def test_catalog_of_a_bigger_store(catalog_server: EmulatorServer) -> None:
    control = catalog_server.client("bedrock")
    summaries = {s["modelId"]: s for s in control.list_foundation_models(byOutputModality="TEXT")["modelSummaries"]}
    assert sorted(summaries) == sorted([MODEL_ID, SECOND_ID, REMOTE_ID])
    assert summaries[SECOND_ID]["modelName"] == "Tiny Chat" and summaries[SECOND_ID]["providerName"] == "HuggingFaceTB"
    assert summaries[REMOTE_ID]["providerName"] == "acme"  # the remote model's "org/model" name
    assert _ids(control.list_foundation_models(byProvider="ACME")["modelSummaries"]) == [REMOTE_ID]


# ----------------------------------------------------------------- inference profiles
def _profile(region: str, model_id: str, prefix: str) -> dict[str, Any]:
    return {
        "inferenceProfileArn": f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{prefix}{model_id}",
        "inferenceProfileId": f"{prefix}{model_id}",
        "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}"}],
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def _strip(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in profile.items() if k not in ("inferenceProfileName", "description", "createdAt", "updatedAt")}


def test_list_inference_profiles(control: Any) -> None:
    profiles = control.list_inference_profiles()["inferenceProfileSummaries"]
    assert [_strip(p) for p in profiles] == [_profile("us-east-1", MODEL_ID, "us.")]  # no profiles for embedding models
    assert profiles[0]["inferenceProfileName"] == "US HuggingFaceTB SmolLM2 135M Instruct"
    assert profiles[0]["createdAt"] == profiles[0]["updatedAt"] and profiles[0]["description"]
    assert control.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"] == profiles
    assert control.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    with pytest.raises(ClientError) as err:
        control.list_inference_profiles(typeEquals="APPLICATION", projectIdentifier="my-project")
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        control.list_inference_profiles(projectIdentifier="my-project")
    assert _code(err) == "ValidationException"


@pytest.mark.parametrize(("region", "prefix"), [("us-west-2", "us."), ("eu-central-1", "eu."), ("ap-northeast-1", "apac."),
                                                ("us-gov-west-1", "us-gov."), ("sa-east-1", "global.")])
def test_profiles_follow_the_region_group(compute_server: EmulatorServer, region: str, prefix: str) -> None:
    control = compute_server.client("bedrock", region_name=region)
    profiles = control.list_inference_profiles()["inferenceProfileSummaries"]
    expected = _profile(region, MODEL_ID, prefix)
    if region.startswith("us-gov-"):
        expected = json.loads(json.dumps(expected).replace("arn:aws:", "arn:aws-us-gov:"))
    assert [_strip(p) for p in profiles] == [expected]


def test_get_inference_profile(control: Any) -> None:
    listed = control.list_inference_profiles()["inferenceProfileSummaries"][0]
    by_id = control.get_inference_profile(inferenceProfileIdentifier=f"us.{MODEL_ID}")
    by_id.pop("ResponseMetadata")
    assert by_id == listed
    by_arn = control.get_inference_profile(inferenceProfileIdentifier=listed["inferenceProfileArn"])
    by_arn.pop("ResponseMetadata")
    assert by_arn == listed
    unknown = [MODEL_ID, f"eu.{MODEL_ID}", "us.anthropic.claude-3-haiku-20240307-v1:0", "us.amazon.titan-embed-text-v2:0",
               f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/abcdefghijkl"]
    for ident in unknown:
        with pytest.raises(ClientError) as err:
            control.get_inference_profile(inferenceProfileIdentifier=ident)
        assert _code(err) == "ResourceNotFoundException", ident


def test_list_inference_profiles_paging(catalog_server: EmulatorServer) -> None:
    control = catalog_server.client("bedrock")
    everything = control.list_inference_profiles()["inferenceProfileSummaries"]
    assert [p["inferenceProfileId"] for p in everything] == sorted(f"us.{m}" for m in (MODEL_ID, SECOND_ID, REMOTE_ID))
    seen: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"maxResults": 2}
    pages = 0
    while True:
        out = control.list_inference_profiles(**kwargs)
        pages += 1
        seen += out["inferenceProfileSummaries"]
        if "nextToken" not in out:
            break
        kwargs["nextToken"] = out["nextToken"]
    assert pages == 2 and seen == everything
    paginated = [p for pg in control.get_paginator("list_inference_profiles").paginate(PaginationConfig={"PageSize": 1})
                 for p in pg["inferenceProfileSummaries"]]
    assert paginated == everything
    for token in ("not-a-token", "bzp4eXo=", "bzo5OQ=="):  # base64 of "o:xyz" (no number), of "o:99" (past the end)
        with pytest.raises(ClientError) as err:
            control.list_inference_profiles(maxResults=1, nextToken=token)
        assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:  # botocore checks the minimum itself, not the maximum
        control.list_inference_profiles(maxResults=1001)
    assert _code(err) == "ValidationException"


def test_converse_through_a_listed_profile(control: Any, bedrock: Any) -> None:
    profile = control.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"][0]
    for model_id in (profile["inferenceProfileId"], profile["inferenceProfileArn"]):
        out = bedrock.converse(modelId=model_id, messages=MESSAGES, inferenceConfig={"maxTokens": 2, "temperature": 0})
        assert out["output"]["message"]["role"] == "assistant"
        assert 1 <= out["usage"]["outputTokens"] <= 2


def test_store_changes_show_at_once(catalog_server: EmulatorServer, catalog_models: Path) -> None:
    """The catalog is the store's: a model added to the models dir is listed on the next call."""
    control = catalog_server.client("bedrock")
    target = catalog_models / "Later-Model.Q4_1.gguf"
    os.symlink((catalog_models / "Tiny_Chat.Q4_1.gguf").resolve(), target)
    try:
        assert "later-model.q4-1" in _ids(control.list_foundation_models()["modelSummaries"])
        assert control.get_inference_profile(inferenceProfileIdentifier="us.later-model.q4-1")["type"] == "SYSTEM_DEFINED"
    finally:
        target.unlink()
    assert "later-model.q4-1" not in _ids(control.list_foundation_models()["modelSummaries"])


# -------------------------------------------------------- application inference profiles
APP_ARN = re.compile(rf"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/[a-z0-9]{{12}}")


def _get(control: Any, ident: str) -> dict[str, Any]:
    out: dict[str, Any] = control.get_inference_profile(inferenceProfileIdentifier=ident)
    out.pop("ResponseMetadata")
    return out


def test_application_profiles(compute_server: EmulatorServer, control: Any, bedrock: Any) -> None:
    model_arn = f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}"
    created = control.create_inference_profile(inferenceProfileName="team-a chat", description="Team A costs",
                                               modelSource={"copyFrom": model_arn}, tags=[{"key": "team", "value": "a"}])
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201 and created["status"] == "ACTIVE"
    arn = created["inferenceProfileArn"]
    assert APP_ARN.fullmatch(arn), arn
    profile_id = arn.rsplit("/", 1)[1]
    got = _get(control, arn)
    assert _get(control, profile_id) == got
    assert {k: v for k, v in got.items() if k not in ("createdAt", "updatedAt")} == {
        "inferenceProfileName": "team-a chat", "description": "Team A costs", "inferenceProfileArn": arn,
        "models": [{"modelArn": model_arn}], "inferenceProfileId": profile_id, "status": "ACTIVE", "type": "APPLICATION"}

    system = control.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"][0]
    second = control.create_inference_profile(inferenceProfileName="team-b", modelSource={"copyFrom": system["inferenceProfileArn"]},
                                              clientRequestToken="token-b")["inferenceProfileArn"]
    assert _get(control, second)["models"] == system["models"] and "description" not in _get(control, second)
    again = control.create_inference_profile(inferenceProfileName="team-b-again", modelSource={"copyFrom": model_arn},
                                             clientRequestToken="token-b")
    assert again["inferenceProfileArn"] == second  # a repeated clientRequestToken is ignored

    apps = control.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["inferenceProfileArn"] for p in apps] == [arn, second] and all(p["type"] == "APPLICATION" for p in apps)
    everything = control.list_inference_profiles()["inferenceProfileSummaries"]
    assert everything == [system, *apps]
    assert control.list_inference_profiles(maxResults=2)["inferenceProfileSummaries"] == everything[:2]
    other_region = compute_server.client("bedrock", region_name="us-west-2")
    assert other_region.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    with pytest.raises(ClientError) as err:
        other_region.get_inference_profile(inferenceProfileIdentifier=profile_id)
    assert _code(err) == "ResourceNotFoundException"

    for model_id in (arn, second):
        out = bedrock.converse(modelId=model_id, messages=MESSAGES, inferenceConfig={"maxTokens": 2, "temperature": 0})
        assert 1 <= out["usage"]["outputTokens"] <= 2

    refused = [({"inferenceProfileName": "team-a chat", "modelSource": {"copyFrom": model_arn}}, "ConflictException"),
               ({"inferenceProfileName": "ghost", "modelSource": {"copyFrom": "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0"}},
                "ResourceNotFoundException"),
               ({"inferenceProfileName": "ghost", "modelSource": {"copyFrom": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/eu.{MODEL_ID}"}},
                "ResourceNotFoundException"),
               ({"inferenceProfileName": "embed", "modelSource": {"copyFrom": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"}},
                "ValidationException"),
               ({"inferenceProfileName": "nested", "modelSource": {"copyFrom": arn}}, "ValidationException")]
    for kwargs, code in refused:
        with pytest.raises(ClientError) as err:
            control.create_inference_profile(**kwargs)
        assert _code(err) == code, kwargs

    with pytest.raises(ClientError) as err:
        control.delete_inference_profile(inferenceProfileIdentifier=system["inferenceProfileArn"])
    assert _code(err) == "ValidationException"
    assert control.delete_inference_profile(inferenceProfileIdentifier=arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    control.delete_inference_profile(inferenceProfileIdentifier=second.rsplit("/", 1)[1])
    assert control.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    for ident in (arn, profile_id):
        with pytest.raises(ClientError) as err:
            control.get_inference_profile(inferenceProfileIdentifier=ident)
        assert _code(err) == "ResourceNotFoundException"
        with pytest.raises(ClientError) as err:
            control.delete_inference_profile(inferenceProfileIdentifier=ident)
        assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=arn, messages=MESSAGES, inferenceConfig={"maxTokens": 1})
    assert _code(err) == "ResourceNotFoundException"


def test_application_profiles_survive_a_restart(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    control = server.client("bedrock")
    arn = control.create_inference_profile(inferenceProfileName="kept",
                                           modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}"})["inferenceProfileArn"]
    before = _get(control, arn)
    server.stop()
    server.start()
    control = server.client("bedrock")
    assert _get(control, arn) == before
    assert control.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == [before]
    assert not list((tmp_path / "data" / "bedrock").glob("*.tmp"))  # written through a temporary file, then replaced


def test_reset_forgets_application_profiles(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    """``POST /_emulator/reset`` leaves the account as new: no application profile, and its ARN
    no longer resolves in the runtime; the system-defined profiles stay (they are the models')."""
    server = server_factory(data_dir=tmp_path / "data")
    control, runtime = server.client("bedrock"), server.client("bedrock-runtime")
    arn = control.create_inference_profile(inferenceProfileName="gone",
                                           modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}"})["inferenceProfileArn"]
    assert server.reset(services=["bedrock"]) == ["bedrock"]
    assert control.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    assert control.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"]
    with pytest.raises(ClientError) as err:
        control.get_inference_profile(inferenceProfileIdentifier=arn)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError):
        runtime.converse(modelId=arn, messages=[{"role": "user", "content": [{"text": "Hi"}]}], inferenceConfig={"maxTokens": 2})


def test_application_profile_tags(compute_server: EmulatorServer, control: Any) -> None:
    """Tags given at creation read back through ListTagsForResource (Terraform reads them so),
    TagResource merges, UntagResource drops; an ARN of another kind goes to the moto fallback."""
    arn = control.create_inference_profile(inferenceProfileName="tagged", tags=[{"key": "team", "value": "ml"}],
                                           modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}"})["inferenceProfileArn"]
    try:
        assert control.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "team", "value": "ml"}]
        control.tag_resource(resourceARN=arn, tags=[{"key": "team", "value": "ops"}, {"key": "env", "value": "dev"}])
        assert sorted((t["key"], t["value"]) for t in control.list_tags_for_resource(resourceARN=arn)["tags"]) == [("env", "dev"), ("team", "ops")]
        control.untag_resource(resourceARN=arn, tagKeys=["team"])
        assert control.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "env", "value": "dev"}]
        missing = arn.rsplit("/", 1)[0] + "/zzzzzzzzzzzz"
        with pytest.raises(ClientError) as err:
            control.list_tags_for_resource(resourceARN=missing)
        assert _code(err) == "ResourceNotFoundException"
    finally:
        control.delete_inference_profile(inferenceProfileIdentifier=arn)
    # A custom model's ARN: moto's resource, tagged by moto.
    model_arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-lite-v1/abcdefghijkl"
    with pytest.raises(ClientError) as err:
        control.list_tags_for_resource(resourceARN=model_arn)
    assert _code(err) == "ResourceNotFoundException" and "inference profile" not in str(err.value)
