"""The console's Bedrock page over plain HTTP: foundation models, inference profiles, guardrails,
batch inference jobs and the OpenAI API's batches, created with boto3 (or the OpenAI API) and
shown as the API shows them; every action lands through its AWS operation (or flashes AWS's error)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer
from emulator.testing.wait import wait_for

from .conftest import csrf_of, sign_in_new_user

ROLE = "arn:aws:iam::123456789012:role/batch-inference"
FINAL = ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")


@pytest.fixture(autouse=True)
def _bedrock(need_service: Callable[[str], None]) -> None:
    need_service("bedrock")
    need_service("bedrock-runtime")


def _model(emulator: EmulatorServer) -> dict[str, Any]:
    models = [m for m in emulator.client("bedrock").list_foundation_models(byOutputModality="TEXT")["modelSummaries"]]
    if not models:
        pytest.fail("no text model installed (the models dir holds the default SmolLM2)")
    found: dict[str, Any] = models[0]
    return found


def _flashes(page: str, kind: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<div class="flash ' + kind + r'">([^<]*)</div>', page)]


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


# ------------------------------------------------------------------ models and profiles
def test_models_and_profiles_delete_an_application_profile(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    ctl = emulator.client("bedrock")
    model = _model(emulator)
    name = f"con-prof-{uuid.uuid4().hex[:6]}"
    arn = ctl.create_inference_profile(inferenceProfileName=name, description="Team A costs",
                                       modelSource={"copyFrom": model["modelArn"]})["inferenceProfileArn"]
    profile_id = arn.rsplit("/", 1)[1]

    page = web.get(console_url + "/bedrock")
    assert page.status_code == 200 and re.search(r'class="active" data-nav="bedrock"', page.text)
    row = re.search(r"<tr><td>" + re.escape(model["modelId"]) + r"</td><td>([^<]*)</td><td>([^<]*)</td><td>TEXT</td><td>TEXT</td><td>(yes|no)</td>", page.text)
    assert row is not None and row.groups() == (model["modelName"], model["providerName"], "yes")
    system = ctl.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"][0]
    assert f"<td>{system['inferenceProfileId']}</td>" in page.text and "SYSTEM_DEFINED" in page.text
    assert f"<td>{name}</td>" in page.text
    # Only the application profile has a delete button (a GET to its confirmation page).
    starts = re.findall(r'<form method="get" action="/_emulator/console/bedrock/delete-profile" [^>]*><input type="hidden" name="id" value="([^"]*)"', page.text)
    assert [unescape(s) for s in starts if profile_id in s] == [arn]
    assert not [s for s in starts if system["inferenceProfileId"] in s]

    confirm = web.get(console_url + "/bedrock/delete-profile", params={"id": arn})
    assert confirm.status_code == 200 and 'id="delete-profile"' in confirm.text and model["modelArn"] in confirm.text
    assert "<td>Team A costs</td>" in confirm.text
    assert ctl.get_inference_profile(inferenceProfileIdentifier=arn)["inferenceProfileArn"] == arn  # nothing deleted yet
    kept = web.get(console_url + "/bedrock/delete-profile", params={"id": system["inferenceProfileId"]})
    assert kept.status_code == 200 and "cannot be deleted" in kept.text and 'id="delete-profile"' not in kept.text

    token = csrf_of(confirm.text)
    assert web.post(console_url + "/bedrock/delete-profile", data={"id": arn}, allow_redirects=False).status_code == 403
    resp = web.post(console_url + "/bedrock/delete-profile", data={"_csrf": token, "id": arn})
    assert f"Inference profile {arn} deleted." in _flashes(resp.text, "ok") and resp.url.endswith("/bedrock")
    with pytest.raises(ClientError) as err:
        ctl.get_inference_profile(inferenceProfileIdentifier=arn)
    assert _code(err) == "ResourceNotFoundException"
    again = web.post(console_url + "/bedrock/delete-profile", data={"_csrf": token, "id": arn})
    assert any(f.startswith("ResourceNotFoundException: ") for f in _flashes(again.text, "error"))
    gone = web.get(console_url + "/bedrock/delete-profile", params={"id": arn})
    assert gone.status_code == 404 and "ResourceNotFoundException" in gone.text


# ------------------------------------------------------------------ guardrails
def _guardrail(emulator: EmulatorServer) -> dict[str, Any]:
    out: dict[str, Any] = emulator.client("bedrock").create_guardrail(
        name=f"con-guard-{uuid.uuid4().hex[:6]}", description="for the console <test>",
        blockedInputMessaging="Sorry, blocked.", blockedOutputsMessaging="Sorry, not shown.",
        wordPolicyConfig={"wordsConfig": [{"text": "zorblax"}], "managedWordListsConfig": [{"type": "PROFANITY"}]},
        sensitiveInformationPolicyConfig={
            "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}, {"type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK", "outputEnabled": False}],
            "regexesConfig": [{"name": "ticket", "pattern": "TCK-[0-9]{4}", "action": "ANONYMIZE", "description": "ticket ids"}],
        },
    )
    return out


def test_guardrail_list_details_and_the_test_form(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    guard = _guardrail(emulator)
    gid = guard["guardrailId"]
    listing = web.get(console_url + "/bedrock/guardrails")
    assert listing.status_code == 200 and f"<td>{gid}</td>" in listing.text and "for the console &lt;test&gt;" in listing.text

    page = web.get(console_url + "/bedrock/guardrail", params={"id": gid})
    assert page.status_code == 200
    text = page.text
    assert guard["guardrailArn"] in text and "Sorry, blocked." in text and "Sorry, not shown." in text
    assert "<tr><td>word</td><td>zorblax</td><td>BLOCK</td><td>BLOCK</td></tr>" in text
    assert "<tr><td>managed list</td><td>PROFANITY</td><td>BLOCK</td><td>BLOCK</td></tr>" in text
    assert "<tr><td>EMAIL</td><td>ANONYMIZE</td><td>ANONYMIZE</td></tr>" in text
    assert "<tr><td>US_SOCIAL_SECURITY_NUMBER</td><td>BLOCK</td><td>off</td></tr>" in text
    assert "<code>TCK-[0-9]{4}</code>" in text and "ticket ids" in text
    assert 'id="test-form"' in text and '<option value="DRAFT" selected>DRAFT</option>' in text

    token = csrf_of(text)
    typed = "Mail ana@example.com about <b>TCK-1234</b>"
    resp = web.post(console_url + "/bedrock/guardrail/test", data={"_csrf": token, "id": gid, "version": "DRAFT", "source": "INPUT", "text": typed})
    assert resp.status_code == 200 and 'id="test-result"' in resp.text
    result = resp.text[resp.text.index('id="test-result"'):]
    assert "GUARDRAIL_INTERVENED" in result
    assert '<pre class="guardrail-output">Mail {EMAIL} about &lt;b&gt;{ticket}&lt;/b&gt;</pre>' in result
    assert "<tr><td>PII</td><td>ana@example.com</td><td>EMAIL</td><td>ANONYMIZED</td></tr>" in result
    assert "<tr><td>regex</td><td>TCK-1234</td><td>ticket</td><td>ANONYMIZED</td></tr>" in result
    assert "<b>" not in resp.text  # escaped, in the form and in the result
    # The same answer as ApplyGuardrail gives a client.
    direct = emulator.client("bedrock-runtime").apply_guardrail(guardrailIdentifier=gid, guardrailVersion="DRAFT", source="INPUT",
                                                               content=[{"text": {"text": typed}}])
    assert direct["outputs"] == [{"text": "Mail {EMAIL} about <b>{ticket}</b>"}]

    blocked = web.post(console_url + "/bedrock/guardrail/test", data={"_csrf": token, "id": gid, "source": "OUTPUT", "text": "the zorblax says hi"})
    result = blocked.text[blocked.text.index('id="test-result"'):]
    assert "Sorry, not shown." in result and "<tr><td>custom word</td><td>zorblax</td><td></td><td>BLOCKED</td></tr>" in result
    clean = web.post(console_url + "/bedrock/guardrail/test", data={"_csrf": token, "id": gid, "source": "OUTPUT", "text": "SSN 123-45-6789 is fine here"})
    result = clean.text[clean.text.index('id="test-result"'):]
    assert ">NONE<" in result and "Output (unchanged)" in result and "SSN 123-45-6789 is fine here</pre>" in result  # SSN is off for OUTPUT

    missing = web.post(console_url + "/bedrock/guardrail/test", data={"_csrf": token, "id": gid, "version": "9", "source": "INPUT", "text": "x"})
    assert missing.status_code == 404 and "ResourceNotFoundException" in missing.text


def test_guardrail_versions_and_deletion(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    ctl = emulator.client("bedrock")
    gid = _guardrail(emulator)["guardrailId"]
    token = csrf_of(web.get(console_url + "/bedrock/guardrail", params={"id": gid}).text)
    resp = web.post(console_url + "/bedrock/guardrail/version", data={"_csrf": token, "id": gid, "description": "first <cut>"})
    assert "Guardrail version created." in _flashes(resp.text, "ok") and "Version 1." in _flashes(resp.text, "ok")
    assert resp.url.endswith(f"/bedrock/guardrail?id={gid}&version=1")
    assert [v["version"] for v in ctl.list_guardrails(guardrailIdentifier=gid)["guardrails"]] == ["DRAFT", "1"]
    assert ctl.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1")["description"] == "first <cut>"
    assert "first &lt;cut&gt;" in resp.text and '<option value="1" selected>1</option>' in resp.text
    tested = web.post(console_url + "/bedrock/guardrail/test", data={"_csrf": token, "id": gid, "version": "1", "source": "INPUT", "text": "bob@example.org"})
    assert '<pre class="guardrail-output">{EMAIL}</pre>' in tested.text

    # One numbered version, then the whole guardrail: each through its confirmation page.
    confirm = web.get(console_url + "/bedrock/delete-guardrail", params={"id": gid, "version": "1"})
    assert confirm.status_code == 200 and "Delete version 1 of " in confirm.text and 'id="delete-guardrail"' in confirm.text
    resp = web.post(console_url + "/bedrock/delete-guardrail", data={"_csrf": token, "id": gid, "version": "1"})
    assert f"Version 1 of guardrail {gid} deleted." in _flashes(resp.text, "ok")
    assert [v["version"] for v in ctl.list_guardrails(guardrailIdentifier=gid)["guardrails"]] == ["DRAFT"]

    page = web.get(console_url + "/bedrock/guardrail", params={"id": gid}).text
    assert 'id="delete-guardrail-start"' in page
    confirm = web.get(console_url + "/bedrock/delete-guardrail", params={"id": gid})
    assert confirm.status_code == 200 and "every version" in confirm.text
    assert ctl.get_guardrail(guardrailIdentifier=gid)["guardrailId"] == gid  # nothing deleted yet
    assert web.post(console_url + "/bedrock/delete-guardrail", data={"id": gid}, allow_redirects=False).status_code == 403
    resp = web.post(console_url + "/bedrock/delete-guardrail", data={"_csrf": token, "id": gid})
    assert f"Guardrail {gid} deleted." in _flashes(resp.text, "ok") and resp.url.endswith("/bedrock/guardrails")
    with pytest.raises(ClientError) as err:
        ctl.get_guardrail(guardrailIdentifier=gid)
    assert _code(err) == "ResourceNotFoundException"
    assert f"<td>{gid}</td>" not in resp.text
    again = web.post(console_url + "/bedrock/delete-guardrail", data={"_csrf": token, "id": gid})
    assert any(f.startswith("ResourceNotFoundException: ") for f in _flashes(again.text, "error"))
    assert web.get(console_url + "/bedrock/guardrail", params={"id": gid}).status_code == 404


# ------------------------------------------------------------------ batch inference jobs
def _job(emulator: EmulatorServer, bucket: str, model_id: str, key: str = "in/records.jsonl") -> str:
    arn: str = emulator.client("bedrock").create_model_invocation_job(
        jobName=f"con-job-{uuid.uuid4().hex[:6]}", roleArn=ROLE, modelId=model_id,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/{key}"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}})["jobArn"]
    return arn


def _wait(emulator: EmulatorServer, arn: str, *statuses: str) -> dict[str, Any]:
    ctl = emulator.client("bedrock")

    def reached() -> dict[str, Any] | None:
        job: dict[str, Any] = ctl.get_model_invocation_job(jobIdentifier=arn)
        return job if job["status"] in statuses else None

    found: dict[str, Any] = wait_for(reached, 120, interval=0.1)
    return found


def _row(page: str, arn: str) -> str:
    link = "/_emulator/console/bedrock/job?" + urlencode({"id": arn})
    start = page.index(link.replace("&", "&amp;"))
    return page[start:page.index("</tr>", start)]


def test_jobs_list_and_details(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    s3 = emulator.client("s3")
    model = _model(emulator)["modelId"]
    bucket = f"con-jobs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    record = {"recordId": "REC0000001", "modelInput": {"prompt": "Say hi", "max_gen_len": 2, "temperature": 0}}
    s3.put_object(Bucket=bucket, Key="in/records.jsonl", Body=json.dumps(record).encode() + b"\n")
    done = _job(emulator, bucket, model)
    failed = _job(emulator, f"con-none-{uuid.uuid4().hex[:8]}", model)  # no such bucket: fails while validating
    job = _wait(emulator, done, *FINAL)
    assert job["status"] == "Completed", job.get("message")
    bad = _wait(emulator, failed, *FINAL)
    assert bad["status"] == "Failed"

    page = web.get(console_url + "/bedrock/jobs")
    assert page.status_code == 200
    row = _row(page.text, done)
    assert ">Completed<" in row and "<td>1 processed / 1 ok / 0 failed of 1</td>" in row and model in row and "UTC" in row
    row = _row(page.text, failed)
    assert ">Failed<" in row and f"The S3 bucket {bad['inputDataConfig']['s3InputDataConfig']['s3Uri'][5:].split('/')[0]} does not exist." in row
    assert "Stop…" not in row

    details = web.get(console_url + "/bedrock/job", params={"id": done})
    assert details.status_code == 200 and job["jobName"] in details.text and "stop-job" not in details.text
    job_id = done.rsplit("/", 1)[1]
    links = [unescape(m) for m in re.findall(r'href="(/_emulator/console/s3/[^"]*)"', details.text)]
    assert f"/_emulator/console/s3/object?bucket={bucket}&key=in%2Frecords.jsonl" in links
    assert f"/_emulator/console/s3/bucket?name={bucket}&prefix=out%2F" in links
    assert f"/_emulator/console/s3/bucket?name={bucket}&prefix=out%2F{job_id}%2F" in links
    manifest = f"/_emulator/console/s3/object?bucket={bucket}&key=out%2F{job_id}%2Fmanifest.json.out"
    assert manifest in links
    assert web.get(emulator.endpoint + manifest).status_code == 200  # the link leads to the object
    failed_page = web.get(console_url + "/bedrock/job", params={"id": failed}).text
    assert ">Failed<" in failed_page and "manifest.json.out" not in failed_page  # it never got to write one
    missing = web.get(console_url + "/bedrock/job", params={"id": "nosuchjob123"})
    assert missing.status_code == 404 and "ResourceNotFoundException" in missing.text


def test_stop_a_job_with_a_confirmation_page(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    """A job on a stopped instance stays InProgress while its record waits for the model
    (ModelNotReadyException is retried for about half a minute): no model work at all."""
    ec2, s3 = emulator.client("ec2"), emulator.client("s3")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    try:
        def state() -> str:
            return str(ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"])

        wait_for(lambda: state() == "running" or None, 120)
        ec2.stop_instances(InstanceIds=[instance])
        wait_for(lambda: state() == "stopped" or None, 120)
        bucket = f"con-stop-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="in/r.jsonl", Body=b'{"recordId": "R1", "modelInput": {"prompt": "hi", "max_gen_len": 2}}\n')
        arn = _job(emulator, bucket, instance, "in/r.jsonl")
        _wait(emulator, arn, "Scheduled", "InProgress")

        row = _row(web.get(console_url + "/bedrock/jobs").text, arn)
        assert 'action="/_emulator/console/bedrock/stop-job"' in row
        confirm = web.get(console_url + "/bedrock/stop-job", params={"id": arn})
        assert confirm.status_code == 200 and 'id="stop-job"' in confirm.text
        assert emulator.client("bedrock").get_model_invocation_job(jobIdentifier=arn)["status"] in ("Scheduled", "InProgress")
        token = csrf_of(confirm.text)
        assert web.post(console_url + "/bedrock/stop-job", data={"id": arn}, allow_redirects=False).status_code == 403
        resp = web.post(console_url + "/bedrock/stop-job", data={"_csrf": token, "id": arn})
        assert f"Stopping job {arn.rsplit('/', 1)[1]}." in _flashes(resp.text, "ok") and "/bedrock/job?id=" in resp.url
        assert _wait(emulator, arn, *FINAL)["status"] == "Stopped"
        again = web.post(console_url + "/bedrock/stop-job", data={"_csrf": token, "id": arn})
        assert any(f.startswith("ValidationException: ") for f in _flashes(again.text, "error"))
        assert ">Stopped<" in again.text and 'id="stop-job"' not in again.text
    finally:
        ec2.terminate_instances(InstanceIds=[instance])


# ------------------------------------------------------------------ OpenAI batches
def test_openai_batches_are_listed(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    api = requests.Session()
    api.headers["authorization"] = f"Bearer {emulator.access_key}:{emulator.secret_key}"
    line = {"custom_id": "c1", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": _model(emulator)["modelId"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}}
    uploaded = api.post(emulator.endpoint + "/v1/files", data={"purpose": "batch"}, files={"file": ("in.jsonl", json.dumps(line).encode() + b"\n")})
    assert uploaded.status_code == 200, uploaded.text
    batch = api.post(emulator.endpoint + "/v1/batches", json={"input_file_id": uploaded.json()["id"], "endpoint": "/v1/chat/completions",
                                                              "completion_window": "24h"}).json()

    def finished() -> dict[str, Any] | None:
        doc: dict[str, Any] = api.get(emulator.endpoint + "/v1/batches/" + batch["id"]).json()
        return doc if doc["status"] in ("completed", "failed", "expired", "cancelled") else None

    doc = wait_for(finished, 120, interval=0.1)
    assert doc["status"] == "completed", doc
    page = web.get(console_url + "/bedrock/jobs").text
    start = page.index(f"<td>{batch['id']}</td>")
    row = page[start:page.index("</tr>", start)]
    assert ">completed<" in row and "<td>1 completed / 0 failed of 1</td>" in row and "/v1/chat/completions" in row
    assert f"<td>{doc['output_file_id']}</td>" in row


# ------------------------------------------------------------------ permissions
def test_a_user_without_bedrock_permissions_sees_the_aws_error(emulator: EmulatorServer, console_url: str) -> None:
    web, _, _ = sign_in_new_user(emulator, "con-nobedrock")
    gid = _guardrail(emulator)["guardrailId"]
    for path in ("/bedrock", "/bedrock/guardrails", "/bedrock/jobs"):
        page = web.get(console_url + path)
        assert page.status_code == 200 and "AccessDeniedException" in page.text, path
    jobs = web.get(console_url + "/bedrock/jobs").text
    assert jobs.count("AccessDeniedException") >= 2  # the jobs and the OpenAI batches
    for path, params in (("/bedrock/guardrail", {"id": gid}), ("/bedrock/delete-guardrail", {"id": gid}),
                         ("/bedrock/delete-profile", {"id": "us.x"}), ("/bedrock/job", {"id": "abc"}), ("/bedrock/stop-job", {"id": "abc"})):
        page = web.get(console_url + path, params=params)
        assert page.status_code == 403 and "AccessDeniedException" in page.text, path
    token = csrf_of(web.get(console_url + "/bedrock").text)
    tested = web.post(console_url + "/bedrock/guardrail/test", data={"_csrf": token, "id": gid, "source": "INPUT", "text": "a@b.co"})
    assert tested.status_code == 403 and "AccessDeniedException" in tested.text
    for path, data in (("/bedrock/delete-guardrail", {"id": gid}), ("/bedrock/guardrail/version", {"id": gid}), ("/bedrock/stop-job", {"id": "abc"}),
                       ("/bedrock/delete-profile", {"id": "abc"})):
        resp = web.post(console_url + path, data={"_csrf": token, **data})
        assert resp.status_code in (200, 403) and any(f.startswith("AccessDeniedException: ") for f in _flashes(resp.text, "error")), path
    assert emulator.client("bedrock").get_guardrail(guardrailIdentifier=gid)["guardrailId"] == gid
