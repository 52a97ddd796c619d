"""Authorization of Bedrock's control plane (guardrails, inference profiles, model invocation
jobs, tags), of guardrails used by Bedrock Runtime, and of IAM groups, through the wire: each
operation is decided on the resource ARN the Service Authorization Reference gives it, and a
refusal names that resource.

An allowed call goes on to the handler, which may then answer that the resource is not there
(no model is installed in this server): anything but AccessDenied* means the policy allowed it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from security_helpers import DENIED, Users, error_of, passes_authorization

MODEL = "meta.llama3-8b-instruct-v1:0"


def _allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"




def _denied(call: Any, action: str, resource: str) -> None:
    err = error_of(call)
    assert err["Code"] in DENIED, err
    assert err["HTTPStatusCode"] == 403
    assert f"is not authorized to perform: {action} on resource: {resource} " in err["Message"], err["Message"]


@pytest.fixture(scope="module")
def account(users: Users) -> str:
    found: str = users.server.client("sts").get_caller_identity()["Account"]
    return found


@pytest.fixture(scope="module")
def guardrails(users: Users) -> tuple[dict[str, str], dict[str, str]]:
    """Two guardrails made by the root user: (id, arn) of each."""
    ctl = users.server.client("bedrock")
    out = []
    for _ in range(2):
        made = ctl.create_guardrail(name=_name("gr"), blockedInputMessaging="no", blockedOutputsMessaging="no",
                                    wordPolicyConfig={"wordsConfig": [{"text": "forbidden"}]})
        out.append({"id": made["guardrailId"], "arn": made["guardrailArn"]})
    return out[0], out[1]


# ----------------------------------------------------------------- guardrails
def test_guardrail_policy_names_one_guardrail(users: Users, account: str, guardrails: tuple[dict[str, str], dict[str, str]]) -> None:
    mine, other = guardrails
    assert mine["arn"] == f"arn:aws:bedrock:us-east-1:{account}:guardrail/{mine['id']}"
    user = _name("gr-user")
    users.create(user, _allow(["bedrock:GetGuardrail", "bedrock:UpdateGuardrail", "bedrock:TagResource"], mine["arn"]))
    ctl = users.client(user, "bedrock")
    assert ctl.get_guardrail(guardrailIdentifier=mine["id"])["guardrailId"] == mine["id"]
    assert ctl.get_guardrail(guardrailIdentifier=mine["arn"])["guardrailArn"] == mine["arn"]
    # By id or by ARN, the other guardrail is refused on its own ARN.
    _denied(lambda: ctl.get_guardrail(guardrailIdentifier=other["id"]), "bedrock:GetGuardrail", other["arn"])
    _denied(lambda: ctl.get_guardrail(guardrailIdentifier=other["arn"]), "bedrock:GetGuardrail", other["arn"])
    # Actions the policy does not name are refused on the allowed guardrail too.
    _denied(lambda: ctl.create_guardrail_version(guardrailIdentifier=mine["id"]), "bedrock:CreateGuardrailVersion", mine["arn"])
    _denied(lambda: ctl.delete_guardrail(guardrailIdentifier=mine["id"]), "bedrock:DeleteGuardrail", mine["arn"])
    # Tags: on the resourceARN.
    ctl.tag_resource(resourceARN=mine["arn"], tags=[{"key": "team", "value": "a"}])
    _denied(lambda: ctl.tag_resource(resourceARN=other["arn"], tags=[{"key": "team", "value": "a"}]), "bedrock:TagResource", other["arn"])
    _denied(lambda: ctl.list_tags_for_resource(resourceARN=mine["arn"]), "bedrock:ListTagsForResource", mine["arn"])
    # Listing and creating are not on one guardrail.
    _denied(ctl.list_guardrails, "bedrock:ListGuardrails", "*")
    _denied(lambda: ctl.create_guardrail(name=_name("gr"), blockedInputMessaging="no", blockedOutputsMessaging="no",
                                         wordPolicyConfig={"wordsConfig": [{"text": "x"}]}),
            "bedrock:CreateGuardrail", f"arn:aws:bedrock:us-east-1:{account}:guardrail/*")


def test_create_guardrail_allowed_on_the_guardrail_type(users: Users, account: str) -> None:
    user = _name("gr-maker")
    users.create(user, _allow("bedrock:CreateGuardrail", f"arn:aws:bedrock:us-east-1:{account}:guardrail/*"))
    made = users.client(user, "bedrock").create_guardrail(name=_name("gr"), blockedInputMessaging="no", blockedOutputsMessaging="no",
                                                          wordPolicyConfig={"wordsConfig": [{"text": "x"}]})
    assert made["guardrailArn"].startswith(f"arn:aws:bedrock:us-east-1:{account}:guardrail/")


def test_apply_guardrail_and_inference_with_a_guardrail(users: Users, guardrails: tuple[dict[str, str], dict[str, str]]) -> None:
    mine, other = guardrails
    user = _name("gr-runtime")
    users.create(user, _allow("bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/*"), _allow("bedrock:ApplyGuardrail", mine["arn"]))
    runtime = users.client(user, "bedrock-runtime")
    content = [{"text": {"text": "a forbidden word"}}]
    out = runtime.apply_guardrail(guardrailIdentifier=mine["id"], guardrailVersion="DRAFT", source="INPUT", content=content)
    assert out["action"] == "GUARDRAIL_INTERVENED"
    _denied(lambda: runtime.apply_guardrail(guardrailIdentifier=other["id"], guardrailVersion="DRAFT", source="INPUT", content=content),
            "bedrock:ApplyGuardrail", other["arn"])
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    # Converse / InvokeModel with a guardrail also need bedrock:ApplyGuardrail on it.
    _denied(lambda: runtime.converse(modelId=MODEL, messages=messages, guardrailConfig={"guardrailIdentifier": other["id"], "guardrailVersion": "DRAFT"}),
            "bedrock:ApplyGuardrail", other["arn"])
    _denied(lambda: runtime.invoke_model(modelId=MODEL, body=b'{"prompt": "hi"}', guardrailIdentifier=other["arn"], guardrailVersion="DRAFT"),
            "bedrock:ApplyGuardrail", other["arn"])
    passes_authorization(lambda: runtime.converse(modelId=MODEL, messages=messages, guardrailConfig={"guardrailIdentifier": mine["id"], "guardrailVersion": "DRAFT"}))
    # Without the model, the guardrail does not help.
    lone = _name("gr-only")
    users.create(lone, _allow("bedrock:ApplyGuardrail", mine["arn"]))
    _denied(lambda: users.client(lone, "bedrock-runtime").converse(modelId=MODEL, messages=messages,
                                                                   guardrailConfig={"guardrailIdentifier": mine["id"], "guardrailVersion": "DRAFT"}),
            "bedrock:InvokeModel", f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}")


# ---------------------------------------------------------- models and profiles
def test_foundation_model_and_inference_profile_arns(users: Users, account: str) -> None:
    user = _name("profiles")
    base = f"arn:aws:bedrock:us-east-1:{account}"
    users.create(user, _allow("bedrock:GetFoundationModel", f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"),
                 _allow(["bedrock:GetInferenceProfile", "bedrock:DeleteInferenceProfile"], f"{base}:application-inference-profile/*"),
                 _allow("bedrock:GetInferenceProfile", f"{base}:inference-profile/us.*"))
    ctl = users.client(user, "bedrock")
    passes_authorization(lambda: ctl.get_foundation_model(modelIdentifier=MODEL))
    _denied(lambda: ctl.get_foundation_model(modelIdentifier="amazon.titan-embed-text-v2:0"),
            "bedrock:GetFoundationModel", "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")
    # A system-defined profile's id (dots) is an inference-profile; an application profile's an
    # application-inference-profile.
    passes_authorization(lambda: ctl.get_inference_profile(inferenceProfileIdentifier=f"us.{MODEL}"))
    _denied(lambda: ctl.get_inference_profile(inferenceProfileIdentifier=f"eu.{MODEL}"), "bedrock:GetInferenceProfile", f"{base}:inference-profile/eu.{MODEL}")
    passes_authorization(lambda: ctl.get_inference_profile(inferenceProfileIdentifier="abcdefgh1234"))
    passes_authorization(lambda: ctl.delete_inference_profile(inferenceProfileIdentifier=f"{base}:application-inference-profile/abcdefgh1234"))
    _denied(lambda: ctl.delete_inference_profile(inferenceProfileIdentifier=f"us.{MODEL}"), "bedrock:DeleteInferenceProfile", f"{base}:inference-profile/us.{MODEL}")
    _denied(ctl.list_inference_profiles, "bedrock:ListInferenceProfiles", "*")
    _denied(ctl.list_foundation_models, "bedrock:ListFoundationModels", "*")


def test_create_inference_profile_needs_the_new_profile_and_its_source(users: Users, account: str) -> None:
    source = f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"
    new = f"arn:aws:bedrock:us-east-1:{account}:application-inference-profile/*"
    only_new = _name("ap-new")
    users.create(only_new, _allow("bedrock:CreateInferenceProfile", new))
    def call(name: str) -> Any:
        return lambda: users.client(name, "bedrock").create_inference_profile(inferenceProfileName=_name("ap"), modelSource={"copyFrom": source})

    _denied(call(only_new), "bedrock:CreateInferenceProfile", source)
    both = _name("ap-both")
    users.create(both, _allow("bedrock:CreateInferenceProfile", [new, source]))
    passes_authorization(call(both))
    only_source = _name("ap-source")
    users.create(only_source, _allow("bedrock:CreateInferenceProfile", source))
    _denied(call(only_source), "bedrock:CreateInferenceProfile", new)


# --------------------------------------------------------------------- jobs
def _job_params(model: str) -> dict[str, Any]:
    return {"jobName": _name("job"), "roleArn": "arn:aws:iam::123456789012:role/batch", "modelId": model,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://in/records.jsonl"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://out/"}}}


def test_model_invocation_job_arns(users: Users, account: str) -> None:
    base = f"arn:aws:bedrock:us-east-1:{account}:model-invocation-job"
    user = _name("jobs")
    users.create(user, _allow(["bedrock:GetModelInvocationJob", "bedrock:StopModelInvocationJob"], f"{base}/aaaaaaaaaaaa"))
    ctl = users.client(user, "bedrock")
    passes_authorization(lambda: ctl.get_model_invocation_job(jobIdentifier="aaaaaaaaaaaa"))
    passes_authorization(lambda: ctl.stop_model_invocation_job(jobIdentifier=f"{base}/aaaaaaaaaaaa"))
    _denied(lambda: ctl.get_model_invocation_job(jobIdentifier="bbbbbbbbbbbb"), "bedrock:GetModelInvocationJob", f"{base}/bbbbbbbbbbbb")
    _denied(lambda: ctl.stop_model_invocation_job(jobIdentifier=f"{base}/bbbbbbbbbbbb"), "bedrock:StopModelInvocationJob", f"{base}/bbbbbbbbbbbb")
    _denied(ctl.list_model_invocation_jobs, "bedrock:ListModelInvocationJobs", "*")


def test_create_model_invocation_job_needs_invoke_model_on_its_model(users: Users, account: str) -> None:
    jobs = f"arn:aws:bedrock:us-east-1:{account}:model-invocation-job/*"
    model_arn = f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"
    creator = _name("job-creator")
    users.create(creator, _allow("bedrock:CreateModelInvocationJob", jobs))
    ctl = users.client(creator, "bedrock")
    _denied(lambda: ctl.create_model_invocation_job(**_job_params(MODEL)), "bedrock:InvokeModel", model_arn)
    invoker = _name("job-invoker")
    # The job's service role is passed to Bedrock: iam:PassRole on it too.
    users.create(invoker, _allow("bedrock:CreateModelInvocationJob", jobs), _allow("bedrock:InvokeModel", model_arn),
                 _allow("iam:PassRole", "arn:aws:iam::123456789012:role/batch"))
    passes_authorization(lambda: users.client(invoker, "bedrock").create_model_invocation_job(**_job_params(MODEL)))
    # A cross-Region profile: the profile and the model it routes to.
    _denied(lambda: users.client(invoker, "bedrock").create_model_invocation_job(**_job_params(f"us.{MODEL}")),
            "bedrock:InvokeModel", f"arn:aws:bedrock:us-east-1:{account}:inference-profile/us.{MODEL}")
    # Invoking is not creating.
    model_only = _name("job-model")
    users.create(model_only, _allow("bedrock:InvokeModel", model_arn))
    _denied(lambda: users.client(model_only, "bedrock").create_model_invocation_job(**_job_params(MODEL)), "bedrock:CreateModelInvocationJob", jobs)


# ------------------------------------------------------------------ IAM groups
def test_group_operations_are_authorized_on_the_group_arn(users: Users, account: str) -> None:
    iam = users.iam
    team, other = _name("devs"), _name("ops")
    iam.create_group(GroupName=team, Path="/team/")
    iam.create_group(GroupName=other)
    member = _name("member")
    users.create(member)
    team_arn = f"arn:aws:iam::{account}:group/team/{team}"
    admin = _name("group-admin")
    users.create(admin, _allow(["iam:AddUserToGroup", "iam:RemoveUserFromGroup", "iam:PutGroupPolicy", "iam:GetGroup"], team_arn))
    client = users.client(admin, "iam")
    client.add_user_to_group(GroupName=team, UserName=member)
    assert [u["UserName"] for u in client.get_group(GroupName=team)["Users"]] == [member]
    client.put_group_policy(GroupName=team, PolicyName="p", PolicyDocument='{"Version": "2012-10-17", "Statement": []}')
    client.remove_user_from_group(GroupName=team, UserName=member)
    other_arn = f"arn:aws:iam::{account}:group/{other}"
    _denied(lambda: client.add_user_to_group(GroupName=other, UserName=member), "iam:AddUserToGroup", other_arn)
    _denied(lambda: client.put_group_policy(GroupName=other, PolicyName="p", PolicyDocument='{"Version": "2012-10-17", "Statement": []}'),
            "iam:PutGroupPolicy", other_arn)
    _denied(lambda: client.delete_group(GroupName=team), "iam:DeleteGroup", team_arn)


def test_add_user_to_group_is_not_decided_on_the_user(users: Users, account: str) -> None:
    group = _name("grp")
    users.iam.create_group(GroupName=group)
    member = _name("member")
    users.create(member)
    user = _name("user-scoped")
    users.create(user, _allow("iam:AddUserToGroup", f"arn:aws:iam::{account}:user/{member}"))
    _denied(lambda: users.client(user, "iam").add_user_to_group(GroupName=group, UserName=member), "iam:AddUserToGroup",
            f"arn:aws:iam::{account}:group/{group}")


def test_create_and_rename_group(users: Users, account: str) -> None:
    old, new = _name("old"), _name("new")
    user = _name("renamer")
    users.create(user, _allow(["iam:CreateGroup", "iam:UpdateGroup"], f"arn:aws:iam::{account}:group/app/{old}"))
    client = users.client(user, "iam")
    _denied(lambda: client.create_group(GroupName=old), "iam:CreateGroup", f"arn:aws:iam::{account}:group/{old}")
    client.create_group(GroupName=old, Path="/app/")
    # The new name needs the action too ("permissions on both the source object and the target object").
    _denied(lambda: client.update_group(GroupName=old, NewGroupName=new), "iam:UpdateGroup", f"arn:aws:iam::{account}:group/app/{new}")
    users.iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                              f'"Action": "iam:UpdateGroup", "Resource": ["arn:aws:iam::{account}:group/app/{old}", "arn:aws:iam::{account}:group/app/{new}"]}}]}}')
    client.update_group(GroupName=old, NewGroupName=new)
    assert users.iam.get_group(GroupName=new)["Group"]["Arn"] == f"arn:aws:iam::{account}:group/app/{new}"
