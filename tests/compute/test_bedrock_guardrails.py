"""Bedrock Guardrails with boto3: the control plane (CreateGuardrail, GetGuardrail, ListGuardrails,
UpdateGuardrail, CreateGuardrailVersion, DeleteGuardrail, tags), ApplyGuardrail, and guardrails
around Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream with SmolLM2."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import MODEL_ID

BLOCKED_IN = "Sorry, the prompt is not allowed."
BLOCKED_OUT = "Sorry, the answer is not allowed."
NO_GUARDRAIL = "The guardrail identifier or version provided in the request does not exist."


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _message(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Message"])


@pytest.fixture(scope="module")
def control(compute_server: EmulatorServer) -> Any:
    return compute_server.client("bedrock")


@pytest.fixture
def make(control: Any) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create guardrails (unique names); every one is deleted at the end of the test."""
    made: list[str] = []

    def create(**params: Any) -> dict[str, Any]:
        params.setdefault("name", f"g-{uuid.uuid4().hex[:10]}")
        params.setdefault("blockedInputMessaging", BLOCKED_IN)
        params.setdefault("blockedOutputsMessaging", BLOCKED_OUT)
        out: dict[str, Any] = control.create_guardrail(**params)
        made.append(out["guardrailId"])
        return out

    yield create
    for ident in made:
        try:
            control.delete_guardrail(guardrailIdentifier=ident)
        except ClientError:
            pass


WORDS = {"wordsConfig": [{"text": "Project Zeus"}, {"text": "bananas", "inputAction": "NONE"}],
         "managedWordListsConfig": [{"type": "PROFANITY"}]}
PII = {"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}, {"type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK"},
                             {"type": "CREDIT_DEBIT_CARD_NUMBER", "action": "ANONYMIZE"}],
       "regexesConfig": [{"name": "booking", "pattern": r"BK-\d{6}", "action": "ANONYMIZE"}]}


def _apply(bedrock: Any, gid: str, text: str, source: str = "INPUT", version: str = "DRAFT") -> dict[str, Any]:
    out: dict[str, Any] = bedrock.apply_guardrail(guardrailIdentifier=gid, guardrailVersion=version, source=source,
                                                  content=[{"text": {"text": text}}])
    return out


# --------------------------------------------------------------------- control plane
def test_guardrail_crud_and_versions(control: Any, make: Callable[..., dict[str, Any]]) -> None:
    created = make(description="words", wordPolicyConfig=WORDS, tags=[{"key": "team", "value": "ml"}], clientRequestToken="tok-1")
    gid, arn = created["guardrailId"], created["guardrailArn"]
    assert created["version"] == "DRAFT" and arn == f"arn:aws:bedrock:us-east-1:000000000000:guardrail/{gid}"
    # clientRequestToken: the same request again is the same guardrail.
    name = control.get_guardrail(guardrailIdentifier=gid)["name"]
    again = control.create_guardrail(name=name, blockedInputMessaging="x", blockedOutputsMessaging="y", clientRequestToken="tok-1")
    assert again["guardrailId"] == gid
    with pytest.raises(ClientError) as err:
        control.create_guardrail(name=name, blockedInputMessaging="x", blockedOutputsMessaging="y")
    assert _code(err) == "ConflictException"

    got = control.get_guardrail(guardrailIdentifier=arn)
    assert (got["guardrailId"], got["version"], got["status"], got["description"]) == (gid, "DRAFT", "READY", "words")
    assert got["blockedInputMessaging"] == BLOCKED_IN and got["blockedOutputsMessaging"] == BLOCKED_OUT
    assert [w["text"] for w in got["wordPolicy"]["words"]] == ["Project Zeus", "bananas"]
    assert got["wordPolicy"]["words"][1]["inputAction"] == "NONE" and got["wordPolicy"]["words"][0]["inputAction"] == "BLOCK"
    assert got["wordPolicy"]["managedWordLists"][0]["type"] == "PROFANITY"
    assert "sensitiveInformationPolicy" not in got

    assert control.create_guardrail_version(guardrailIdentifier=gid, description="first")["version"] == "1"
    control.update_guardrail(guardrailIdentifier=gid, name=name, blockedInputMessaging="new in", blockedOutputsMessaging="new out",
                             sensitiveInformationPolicyConfig=PII)
    assert control.create_guardrail_version(guardrailIdentifier=gid, clientRequestToken="v2")["version"] == "2"
    assert control.create_guardrail_version(guardrailIdentifier=gid, clientRequestToken="v2")["version"] == "2"
    draft = control.get_guardrail(guardrailIdentifier=gid)
    assert draft["blockedInputMessaging"] == "new in" and "wordPolicy" not in draft
    assert [p["type"] for p in draft["sensitiveInformationPolicy"]["piiEntities"]] == ["EMAIL", "US_SOCIAL_SECURITY_NUMBER", "CREDIT_DEBIT_CARD_NUMBER"]
    assert draft["sensitiveInformationPolicy"]["regexes"][0]["pattern"] == r"BK-\d{6}"
    first = control.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    assert first["blockedInputMessaging"] == BLOCKED_IN and first["description"] == "first" and "wordPolicy" in first

    versions = control.list_guardrails(guardrailIdentifier=gid)["guardrails"]
    assert [v["version"] for v in versions] == ["DRAFT", "1", "2"] and {v["id"] for v in versions} == {gid}
    control.delete_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    assert [v["version"] for v in control.list_guardrails(guardrailIdentifier=gid)["guardrails"]] == ["DRAFT", "2"]
    with pytest.raises(ClientError) as err:
        control.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    assert _code(err) == "ResourceNotFoundException"
    assert control.create_guardrail_version(guardrailIdentifier=gid)["version"] == "3"  # numbers are not reused

    control.delete_guardrail(guardrailIdentifier=arn)
    for call in (lambda: control.get_guardrail(guardrailIdentifier=gid), lambda: control.delete_guardrail(guardrailIdentifier=gid),
                 lambda: control.list_guardrails(guardrailIdentifier=gid)):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "ResourceNotFoundException"


def test_list_guardrails_paging_and_tags(control: Any, make: Callable[..., dict[str, Any]]) -> None:
    ids = {make(wordPolicyConfig=WORDS, tags=[{"key": "team", "value": "ml"}])["guardrailId"] for _ in range(3)}
    seen: list[str] = []
    page = control.list_guardrails(maxResults=2)
    seen += [g["id"] for g in page["guardrails"]]
    while page.get("nextToken"):
        page = control.list_guardrails(maxResults=2, nextToken=page["nextToken"])
        seen += [g["id"] for g in page["guardrails"]]
    assert ids <= set(seen) and len(seen) == len(set(seen))
    assert all(g["version"] == "DRAFT" for g in control.list_guardrails()["guardrails"])

    arn = control.get_guardrail(guardrailIdentifier=min(ids))["guardrailArn"]
    assert control.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "team", "value": "ml"}]
    control.tag_resource(resourceARN=arn, tags=[{"key": "env", "value": "dev"}])
    control.untag_resource(resourceARN=arn, tagKeys=["team"])
    assert control.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "env", "value": "dev"}]
    with pytest.raises(ClientError) as err:
        control.list_tags_for_resource(resourceARN=arn.rsplit("/", 1)[0] + "/zzzzzzzzzzzz")
    assert _code(err) == "ResourceNotFoundException"


@pytest.mark.parametrize("policy", [
    {"contentPolicyConfig": {"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]}},
    {"topicPolicyConfig": {"topicsConfig": [{"name": "investing", "definition": "Investment advice", "type": "DENY"}]}},
    {"contextualGroundingPolicyConfig": {"filtersConfig": [{"type": "GROUNDING", "threshold": 0.5}]}},
    {"sensitiveInformationPolicyConfig": {"piiEntitiesConfig": [{"type": "NAME", "action": "ANONYMIZE"}]}},
    {"sensitiveInformationPolicyConfig": {"regexesConfig": [{"name": "bad", "pattern": "(unclosed", "action": "BLOCK"}]}},
])
def test_refused_policies(control: Any, make: Callable[..., dict[str, Any]], policy: dict[str, Any]) -> None:
    """What needs a classifier (or a fuzzy PII type) is refused, never accepted and left unenforced."""
    name = f"refused-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as err:
        control.create_guardrail(name=name, blockedInputMessaging="x", blockedOutputsMessaging="y", **policy)
    assert _code(err) == "ValidationException"
    assert "not supported by this emulator" in _message(err) or "not valid" in _message(err)
    assert name not in [g["name"] for g in control.list_guardrails()["guardrails"]]
    gid = make(wordPolicyConfig=WORDS)["guardrailId"]
    with pytest.raises(ClientError) as err:
        control.update_guardrail(guardrailIdentifier=gid, name=name, blockedInputMessaging="x", blockedOutputsMessaging="y", **policy)
    assert _code(err) == "ValidationException"
    assert "wordPolicy" in control.get_guardrail(guardrailIdentifier=gid)


# ------------------------------------------------------------------- ApplyGuardrail
def test_apply_words_and_profanity(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    gid = make(wordPolicyConfig=WORDS)["guardrailId"]
    blocked = _apply(bedrock, gid, "Tell me about PROJECT   zeus please")
    assert blocked["action"] == "GUARDRAIL_INTERVENED" and blocked["outputs"] == [{"text": BLOCKED_IN}]
    assert blocked["assessments"][0]["wordPolicy"]["customWords"] == [{"match": "Project Zeus", "action": "BLOCKED", "detected": True}]
    assert blocked["usage"]["wordPolicyUnits"] == 1 and blocked["usage"]["contentPolicyUnits"] == 0
    # Whole words only.
    clean = _apply(bedrock, gid, "project zeusy is fine")
    assert clean["action"] == "NONE" and clean["outputs"] == [] and "wordPolicy" not in clean["assessments"][0]
    profane = _apply(bedrock, gid, "What the Shit is this")
    assert profane["action"] == "GUARDRAIL_INTERVENED"
    assert profane["assessments"][0]["wordPolicy"]["managedWordLists"][0]["type"] == "PROFANITY"
    # inputAction NONE: detected and reported, no intervention; the output side blocks it.
    detected = _apply(bedrock, gid, "I like bananas")
    assert detected["action"] == "NONE" and detected["assessments"][0]["wordPolicy"]["customWords"][0]["action"] == "NONE"
    assert _apply(bedrock, gid, "I like bananas", "OUTPUT")["outputs"] == [{"text": BLOCKED_OUT}]


def test_apply_sensitive_information(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    gid = make(sensitiveInformationPolicyConfig=PII)["guardrailId"]
    masked = _apply(bedrock, gid, "Mail bob@example.com about booking BK-123456, card 4111 1111 1111 1111.")
    assert masked["action"] == "GUARDRAIL_INTERVENED"
    assert masked["outputs"] == [{"text": "Mail {EMAIL} about booking {booking}, card {CREDIT_DEBIT_CARD_NUMBER}."}]
    pii = masked["assessments"][0]["sensitiveInformationPolicy"]
    assert {(p["type"], p["match"], p["action"]) for p in pii["piiEntities"]} == {
        ("EMAIL", "bob@example.com", "ANONYMIZED"), ("CREDIT_DEBIT_CARD_NUMBER", "4111 1111 1111 1111", "ANONYMIZED")}
    assert pii["regexes"] == [{"name": "booking", "match": "BK-123456", "regex": r"BK-\d{6}", "action": "ANONYMIZED", "detected": True}]
    assert masked["usage"]["sensitiveInformationPolicyUnits"] == 1 and masked["usage"]["sensitiveInformationPolicyFreeUnits"] == 1
    blocked = _apply(bedrock, gid, "My SSN is 123-45-6789, mail me at bob@example.com", "OUTPUT")
    assert blocked["outputs"] == [{"text": BLOCKED_OUT}]
    assert _apply(bedrock, gid, "card 4111 1111 1111 1112 fails the Luhn check")["action"] == "NONE"
    # Several texts: each is masked in its place.
    many = bedrock.apply_guardrail(guardrailIdentifier=gid, guardrailVersion="DRAFT", source="INPUT",
                                   content=[{"text": {"text": "a@b.io"}}, {"text": {"text": "nothing"}}])
    assert many["outputs"] == [{"text": "{EMAIL}"}, {"text": "nothing"}]


def test_apply_input_output_flags_and_versions(control: Any, bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    words = {"wordsConfig": [{"text": "secret", "inputEnabled": False}, {"text": "classified", "outputAction": "NONE"}]}
    gid = make(wordPolicyConfig=words)["guardrailId"]
    assert _apply(bedrock, gid, "a secret")["action"] == "NONE"
    assert _apply(bedrock, gid, "a secret", "OUTPUT")["action"] == "GUARDRAIL_INTERVENED"
    assert _apply(bedrock, gid, "classified", "INPUT")["action"] == "GUARDRAIL_INTERVENED"
    out = _apply(bedrock, gid, "classified", "OUTPUT")
    assert out["action"] == "NONE" and out["assessments"][0]["wordPolicy"]["customWords"][0]["detected"] is True
    # A version is a snapshot: DRAFT changes, version 1 does not.
    version = control.create_guardrail_version(guardrailIdentifier=gid)["version"]
    control.update_guardrail(guardrailIdentifier=gid, name=control.get_guardrail(guardrailIdentifier=gid)["name"],
                             blockedInputMessaging="x", blockedOutputsMessaging="y", wordPolicyConfig={"wordsConfig": [{"text": "other"}]})
    assert _apply(bedrock, gid, "classified", version=version)["action"] == "GUARDRAIL_INTERVENED"
    assert _apply(bedrock, gid, "classified")["action"] == "NONE"
    for ident, ver in ((gid, "9"), ("zzzzzzzzzzzz", "DRAFT")):
        with pytest.raises(ClientError) as err:
            _apply(bedrock, ident, "hi", version=ver)
        assert _code(err) == "ResourceNotFoundException"


# ------------------------------------------------------------------------- Converse
def _converse(bedrock: Any, gid: str, content: list[dict[str, Any]], trace: str = "enabled", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": content}],
                                           inferenceConfig={"maxTokens": 3, "temperature": 0},
                                           guardrailConfig={"guardrailIdentifier": gid, "guardrailVersion": "DRAFT", "trace": trace}, **extra)
    return out


def test_converse_blocked_input_never_reaches_the_model(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    gid = make(wordPolicyConfig=WORDS)["guardrailId"]
    blocked = _converse(bedrock, gid, [{"text": "Tell me about Project Zeus"}])
    assert blocked["output"]["message"]["content"] == [{"text": BLOCKED_IN}]
    assert blocked["stopReason"] == "guardrail_intervened"
    assert blocked["usage"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}  # the model was not called
    words = blocked["trace"]["guardrail"]["inputAssessment"][gid]["wordPolicy"]["customWords"]
    assert words[0]["match"] == "Project Zeus" and "outputAssessments" not in blocked["trace"]["guardrail"]
    assert "trace" not in _converse(bedrock, gid, [{"text": "Tell me about Project Zeus"}], trace="disabled")
    fine = _converse(bedrock, gid, [{"text": "Say hi"}])
    assert fine["usage"]["outputTokens"] > 0 and fine["stopReason"] != "guardrail_intervened"
    assert fine["trace"]["guardrail"]["outputAssessments"][gid][0]["invocationMetrics"]["usage"]["wordPolicyUnits"] == 1


def test_converse_guard_content_selects_what_is_assessed(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    gid = make(wordPolicyConfig=WORDS)["guardrailId"]
    # Only the guardContent block is assessed: the word in the plain text block passes (the
    # input assessment finds nothing; the answer is the model's, assessed as output).
    passed = _converse(bedrock, gid, [{"text": "Context: Project Zeus is a codename."}, {"guardContent": {"text": {"text": "Say hi"}}}])
    assert "wordPolicy" not in passed["trace"]["guardrail"]["inputAssessment"][gid] and passed["usage"]["outputTokens"] > 0
    blocked = _converse(bedrock, gid, [{"text": "Say hi"}, {"guardContent": {"text": {"text": "about project zeus"}}}])
    assert blocked["output"]["message"]["content"] == [{"text": BLOCKED_IN}]
    # The system prompt is assessed only in guardContent blocks.
    system = _converse(bedrock, gid, [{"text": "Say hi"}], system=[{"text": "Never mention Project Zeus."}])
    assert "wordPolicy" not in system["trace"]["guardrail"]["inputAssessment"][gid] and system["usage"]["outputTokens"] > 0
    system = _converse(bedrock, gid, [{"text": "Say hi"}], system=[{"guardContent": {"text": {"text": "Never mention Project Zeus."}}}])
    assert system["output"]["message"]["content"] == [{"text": BLOCKED_IN}] and system["usage"]["inputTokens"] == 0


def test_converse_output_blocked_and_masked(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    # Output-only regexes that any answer matches.
    block = make(sensitiveInformationPolicyConfig={"regexesConfig": [{"name": "any", "pattern": r"\S", "action": "BLOCK", "inputEnabled": False}]})
    blocked = _converse(bedrock, block["guardrailId"], [{"text": "Say hi"}])
    assert blocked["output"]["message"]["content"] == [{"text": BLOCKED_OUT}] and blocked["stopReason"] == "guardrail_intervened"
    trace = blocked["trace"]["guardrail"]
    assert trace["modelOutput"] and trace["modelOutput"][0] != BLOCKED_OUT
    assert trace["outputAssessments"][block["guardrailId"]][0]["sensitiveInformationPolicy"]["regexes"][0]["action"] == "BLOCKED"
    assert blocked["usage"]["outputTokens"] > 0  # the model ran
    mask = make(sensitiveInformationPolicyConfig={"regexesConfig": [{"name": "w", "pattern": r"[A-Za-z]+", "action": "ANONYMIZE"}]})
    masked = _converse(bedrock, mask["guardrailId"], [{"text": "Say hi"}])
    text = masked["output"]["message"]["content"][0]["text"]
    assert "{w}" in text and not any(c.isalpha() for c in text.replace("{w}", ""))


def test_converse_unknown_guardrail(bedrock: Any) -> None:
    for config in ({"guardrailIdentifier": "zzzzzzzzzzzz", "guardrailVersion": "DRAFT"}, {"guardrailIdentifier": "zzzzzzzzzzzz"}):
        with pytest.raises(ClientError) as err:
            bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": "Hi"}]}], guardrailConfig=config)
        assert (_code(err), _message(err)) == ("ValidationException", NO_GUARDRAIL)


def test_converse_stream_with_a_guardrail(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    gid = make(wordPolicyConfig=WORDS)["guardrailId"]

    def events(text: str, ident: str) -> list[dict[str, Any]]:
        out = bedrock.converse_stream(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": text}]}], inferenceConfig={"maxTokens": 3},
                                      guardrailConfig={"guardrailIdentifier": ident, "guardrailVersion": "DRAFT", "trace": "enabled",
                                                       "streamProcessingMode": "sync"})
        return list(out["stream"])

    blocked = events("what is project zeus", gid)
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in blocked if "contentBlockDelta" in e) == BLOCKED_IN
    assert next(e["messageStop"]["stopReason"] for e in blocked if "messageStop" in e) == "guardrail_intervened"
    metadata = next(e["metadata"] for e in blocked if "metadata" in e)
    assert metadata["usage"]["outputTokens"] == 0 and gid in metadata["trace"]["guardrail"]["inputAssessment"]
    out_gid = make(sensitiveInformationPolicyConfig={"regexesConfig": [{"name": "any", "pattern": r"\S", "action": "BLOCK", "inputEnabled": False}]})["guardrailId"]
    answered = events("Say hi", out_gid)
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in answered if "contentBlockDelta" in e) == BLOCKED_OUT
    metadata = next(e["metadata"] for e in answered if "metadata" in e)
    assert metadata["usage"]["outputTokens"] > 0 and metadata["trace"]["guardrail"]["modelOutput"]


# ---------------------------------------------------------------------- InvokeModel
def test_invoke_model_with_guardrail_headers(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    gid = make(wordPolicyConfig=WORDS)["guardrailId"]

    def invoke(prompt: str, **extra: Any) -> dict[str, Any]:
        body = {"prompt": prompt, "max_gen_len": 3, **extra}
        out = bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(body), guardrailIdentifier=gid, guardrailVersion="DRAFT", trace="ENABLED")
        doc: dict[str, Any] = json.loads(out["body"].read())
        return doc

    blocked = invoke("Tell me about Project Zeus")
    assert blocked["generation"] == BLOCKED_IN and blocked["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert blocked["generation_token_count"] == 0
    assert blocked["amazon-bedrock-trace"]["guardrail"]["input"][gid]["wordPolicy"]["customWords"][0]["match"] == "Project Zeus"
    fine = invoke("Say hi")
    assert fine["amazon-bedrock-guardrailAction"] == "NONE" and fine["generation_token_count"] > 0
    assert gid in fine["amazon-bedrock-trace"]["guardrail"]["outputs"][0]
    # Input tags: only the tagged part is assessed.
    tag = "amazon-bedrock-guardrails-guardContent_xyz"
    tagged = invoke(f"Project Zeus. <{tag}>Say hi</{tag}>", **{"amazon-bedrock-guardrailConfig": {"tagSuffix": "xyz"}})
    assert tagged["amazon-bedrock-guardrailAction"] == "NONE"
    tagged = invoke(f"Say hi <{tag}>project zeus</{tag}>", **{"amazon-bedrock-guardrailConfig": {"tagSuffix": "xyz"}})
    assert tagged["amazon-bedrock-guardrailAction"] == "INTERVENED"

    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "Hi", "max_gen_len": 1}), guardrailIdentifier=gid)
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "Hi", "max_gen_len": 1}), guardrailIdentifier=gid, guardrailVersion="7")
    assert (_code(err), _message(err)) == ("ValidationException", NO_GUARDRAIL)


def test_invoke_model_output_and_stream(bedrock: Any, make: Callable[..., dict[str, Any]]) -> None:
    gid = make(sensitiveInformationPolicyConfig={"regexesConfig": [{"name": "any", "pattern": r"\S", "action": "BLOCK", "inputEnabled": False}]})["guardrailId"]
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 3, "messages": [{"role": "user", "content": "Say hi"}]})
    doc = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=body, guardrailIdentifier=gid, guardrailVersion="DRAFT")["body"].read())
    assert doc["content"][0]["text"] == BLOCKED_OUT and doc["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert "amazon-bedrock-trace" not in doc
    chunks = [json.loads(e["chunk"]["bytes"]) for e in bedrock.invoke_model_with_response_stream(
        modelId=MODEL_ID, body=json.dumps({"prompt": "Say hi", "max_gen_len": 3}), guardrailIdentifier=gid, guardrailVersion="DRAFT")["body"]]
    assert "".join(c["generation"] for c in chunks) == BLOCKED_OUT
    assert chunks[-1]["amazon-bedrock-guardrailAction"] == "INTERVENED" and chunks[-1]["generation_token_count"] > 0
    words = make(wordPolicyConfig=WORDS)["guardrailId"]
    chunks = [json.loads(e["chunk"]["bytes"]) for e in bedrock.invoke_model_with_response_stream(
        modelId=MODEL_ID, body=json.dumps({"prompt": "project zeus", "max_gen_len": 3}), guardrailIdentifier=words, guardrailVersion="DRAFT")["body"]]
    assert "".join(c["generation"] for c in chunks) == BLOCKED_IN and chunks[-1]["amazon-bedrock-guardrailAction"] == "INTERVENED"


# ------------------------------------------------------------------ persistence, reset
def test_guardrails_survive_a_restart_and_reset_forgets_them(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    control = server.client("bedrock")
    gid = control.create_guardrail(name="kept", blockedInputMessaging="x", blockedOutputsMessaging="y", wordPolicyConfig=WORDS)["guardrailId"]
    control.create_guardrail_version(guardrailIdentifier=gid)
    before = control.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    before.pop("ResponseMetadata")
    server.stop()
    server.start()
    control = server.client("bedrock")
    after = control.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    after.pop("ResponseMetadata")
    assert after == before
    assert _apply(server.client("bedrock-runtime"), gid, "project zeus", version="1")["action"] == "GUARDRAIL_INTERVENED"
    assert not list((tmp_path / "data" / "bedrock").glob("*.tmp"))  # written through a temporary file, then replaced

    assert server.reset(services=["bedrock"]) == ["bedrock"]
    assert control.list_guardrails()["guardrails"] == []
    with pytest.raises(ClientError) as err:
        _apply(server.client("bedrock-runtime"), gid, "hi")
    assert _code(err) == "ResourceNotFoundException"
