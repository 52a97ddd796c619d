"""Documents that AWS refuses and moto stored (state machine definitions, policies, S3 bucket
configurations, record sets...) are refused with AWS's error, the refused call changes nothing,
and what AWS accepts still works (emulator/gateway/fallback_checks*.py, fallback_patches.py).
Through the wire with boto3; the server log must show no "unhandled error"."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from fallback_probe import ACCOUNT, SFN_TRUST, TRUST, client, lambda_zip

from emulator.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("no_unhandled_errors")




def refused(call: Callable[[], Any], code: str, status: int | None = 400) -> dict[str, Any]:
    """Run ``call``: it must fail with ``code`` and ``status`` (None: moto's, not checked
    here); returns the error."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response["Error"]["Code"] == code, response
    assert status is None or response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    return dict(response["Error"])


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def machine(states: dict[str, Any], start: str = "A") -> str:
    return json.dumps({"StartAt": start, "States": states})


# ------------------------------------------------------------------ Step Functions
VALID_MACHINE = json.dumps({
    "Comment": "every kind of state and transition",
    "StartAt": "Choose",
    "States": {
        "Choose": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Both"}], "Default": "Each"},
        "Both": {"Type": "Parallel", "Next": "Done", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Wait", "Seconds": 1, "Next": "B3"}, "B3": {"Type": "Succeed"}}},
        ]},
        "Each": {"Type": "Map", "Next": "Old", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I", "States": {
            "I": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": True}}}},
        "Old": {"Type": "Map", "Iterator": {"StartAt": "J", "States": {"J": {"Type": "Pass", "End": True}}}, "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.again", "BooleanEquals": True, "Next": "Choose"}], "Default": "Done"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "E", "Cause": "c"},
    },
})
JSONATA_MACHINE = json.dumps({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "T"},
    "T": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Arguments": {"ApiEndpoint": "https://example.com", "Method": "GET"}, "End": True}}})


@pytest.mark.parametrize(("definition", "message"), [
    ("not json", "INVALID_JSON_DESCRIPTION: "),
    ("[1]", "SCHEMA_VALIDATION_FAILED: Expected value of type: OBJECT at /'"),
    ("{}", "SCHEMA_VALIDATION_FAILED: These fields are required: [StartAt, States] at /'"),
    (json.dumps({"StartAt": "A"}), "SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"),
    (machine({"P": {"Type": "Pass", "End": True}}, start="X"), "MISSING_TRANSITION_TARGET: Missing 'Next' target: X at /StartAt'"),
    (machine({"A": {"Type": "Bogus", "End": True}}), "SCHEMA_VALIDATION_FAILED: The value for the field 'Type' must be one of [Choice, Fail, Map, Parallel, Pass, Succeed, Task, Wait] at /States/A/Type'"),
    (machine({"A": {"End": True}}), "SCHEMA_VALIDATION_FAILED: These fields are required: [Type] at /States/A'"),
    (machine({"A": {"Type": "Pass", "Next": "Nowhere"}}), "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next'"),
    (machine({"A": {"Type": "Task", "End": True}}), "SCHEMA_VALIDATION_FAILED: These fields are required: [Resource] at /States/A'"),
    (machine({"A": {"Type": "Choice", "Default": "B"}, "B": {"Type": "Succeed"}}), "SCHEMA_VALIDATION_FAILED: These fields are required: [Choices] at /States/A'"),
    (machine({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Z"}], "Default": "B"}, "B": {"Type": "Succeed"}}),
     "MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /States/A/Choices[0]/Next'"),
    (machine({"A": {"Type": "Pass", "End": True}, "B": {"Type": "Pass", "End": True}}), "MISSING_TRANSITION_TARGET: State \"B\" is not reachable. at /States/B'"),
    (machine({"A": {"Type": "Pass"}}), "SCHEMA_VALIDATION_FAILED: Exactly one of these fields is required: [End, Next] at /States/A'"),
    (machine({"A": {"Type": "Pass", "Next": "B", "End": True}, "B": {"Type": "Succeed"}}), "SCHEMA_VALIDATION_FAILED: Only one of these fields is allowed: [End, Next] at /States/A'"),
    (machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}), "MISSING_END_STATE: Workflow has no terminal state. at /'"),
    (machine({"A": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "X", "States": {"Y": {"Type": "Pass", "End": True}}}]}}),
     "MISSING_TRANSITION_TARGET: Missing 'Next' target: X at /States/A/Branches[0]/StartAt"),
    (machine({"A": {"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Task", "End": True}}}}}),
     "SCHEMA_VALIDATION_FAILED: These fields are required: [Resource] at /States/A/ItemProcessor/States/I'"),
    (machine({"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]}}),
     "MISSING_TRANSITION_TARGET: Missing 'Next' target: Z at /States/A/Catch[0]/Next'"),
])
def test_state_machine_definition_refused(server: EmulatorServer, definition: str, message: str) -> None:
    iam, sfn = client(server, "iam"), client(server, "stepfunctions")
    try:
        role = iam.create_role(RoleName="sfn-doc-role", AssumeRolePolicyDocument=SFN_TRUST)["Role"]["Arn"]
    except ClientError:
        role = iam.get_role(RoleName="sfn-doc-role")["Role"]["Arn"]
    error = refused(lambda: sfn.create_state_machine(name="never-machine", definition=definition, roleArn=role), "InvalidDefinition")
    assert error["Message"].startswith("Invalid State Machine Definition: '") and message in error["Message"], error
    assert all(m["name"] != "never-machine" for m in sfn.list_state_machines()["stateMachines"])
    # ValidateStateMachineDefinition finds the same problem, as a diagnostic.
    answer = sfn.validate_state_machine_definition(definition=definition)
    assert answer["result"] == "FAIL" and answer["truncated"] is False
    codes = {d["code"] for d in answer["diagnostics"]}
    assert message.split(":", 1)[0] in codes and all(d["severity"] == "ERROR" for d in answer["diagnostics"])


def test_state_machine_definitions_aws_accepts(server: EmulatorServer) -> None:
    iam, sfn = client(server, "iam"), client(server, "stepfunctions")
    role = iam.create_role(RoleName="sfn-ok-role", AssumeRolePolicyDocument=SFN_TRUST)["Role"]["Arn"]
    for i, definition in enumerate((VALID_MACHINE, JSONATA_MACHINE)):
        answer = sfn.validate_state_machine_definition(definition=definition)
        assert (answer["result"], answer["diagnostics"], answer["truncated"]) == ("OK", [], False)
        arn = sfn.create_state_machine(name=f"sfn-ok-{i}", definition=definition, roleArn=role)["stateMachineArn"]
        assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == definition
        # The same request again is idempotent; another definition under the name is not.
        assert sfn.create_state_machine(name=f"sfn-ok-{i}", definition=definition, roleArn=role)["stateMachineArn"] == arn
    other = machine({"A": {"Type": "Pass", "End": True}})
    error = refused(lambda: sfn.create_state_machine(name="sfn-ok-0", definition=other, roleArn=role), "StateMachineAlreadyExists")
    assert error["Message"] == f"State Machine Already Exists: 'arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:sfn-ok-0'"
    assert sfn.describe_state_machine(stateMachineArn=arn.replace("sfn-ok-1", "sfn-ok-0"))["definition"] == VALID_MACHINE


def test_update_state_machine(server: EmulatorServer) -> None:
    iam, sfn = client(server, "iam"), client(server, "stepfunctions")
    role = iam.create_role(RoleName="sfn-up-role", AssumeRolePolicyDocument=SFN_TRUST)["Role"]["Arn"]
    arn = sfn.create_state_machine(name="sfn-up", definition=VALID_MACHINE, roleArn=role)["stateMachineArn"]
    message = refused(lambda: sfn.update_state_machine(stateMachineArn=arn, definition=machine({"A": {"Type": "Pass", "Next": "B"}})), "InvalidDefinition")["Message"]
    assert message == "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next'"
    assert refused(lambda: sfn.update_state_machine(stateMachineArn=arn), "MissingRequiredParameter")["Message"].startswith("Either the definition, the role ARN")
    assert refused(lambda: sfn.update_state_machine(stateMachineArn=arn, roleArn="garbage"), "InvalidArn")["Message"] == "Invalid Role Arn: 'garbage'"
    logging = {"level": "ALL", "includeExecutionData": False, "destinations": []}
    refused(lambda: sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration=logging), "InvalidLoggingConfiguration")
    found = sfn.describe_state_machine(stateMachineArn=arn)
    assert found["definition"] == VALID_MACHINE and found["roleArn"] == role
    sfn.update_state_machine(stateMachineArn=arn, definition=JSONATA_MACHINE)
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == JSONATA_MACHINE


def test_validate_state_machine_definition(server: EmulatorServer) -> None:
    sfn = client(server, "stepfunctions")
    answer = sfn.validate_state_machine_definition(definition="not json")
    assert answer["result"] == "FAIL" and [d["code"] for d in answer["diagnostics"]] == ["INVALID_JSON_DESCRIPTION"]
    many = machine({"A": {"Type": "Pass", "End": True}, **{f"S{i}": {"Type": "Pass", "End": True} for i in range(5)}})
    answer = sfn.validate_state_machine_definition(definition=many, maxResults=2, type="EXPRESS", severity="WARNING")
    assert answer["truncated"] is True and len(answer["diagnostics"]) == 2
    assert answer["diagnostics"][0] == {"severity": "ERROR", "code": "MISSING_TRANSITION_TARGET", "message": 'State "S0" is not reachable.', "location": "/States/S0"}
    assert len(sfn.validate_state_machine_definition(definition=many, maxResults=0)["diagnostics"]) == 5
    refused(lambda: sfn.validate_state_machine_definition(definition=many, type="BOGUS"), "ValidationException")


# ------------------------------------------------------------------ policies
def test_kms_key_policy(server: EmulatorServer) -> None:
    kms = client(server, "kms")
    keys = kms.list_keys()["Keys"]
    for text in ("not json", "[1]", "{}", policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})):
        refused(lambda t=text: kms.create_key(Policy=t), "MalformedPolicyDocumentException")
    assert kms.list_keys()["Keys"] == keys  # no key was made
    valid = policy({"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"})
    key = kms.create_key(Policy=valid)["KeyMetadata"]["KeyId"]
    message = refused(lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy="not json"), "MalformedPolicyDocumentException")["Message"]
    assert message == "The key policy is not valid. The policy is not valid JSON."
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == valid


def test_kms_key_specs_and_deletion(server: EmulatorServer) -> None:
    kms = client(server, "kms")
    keys = kms.list_keys()["Keys"]
    message = refused(lambda: kms.create_key(KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT"), "ValidationException")["Message"]
    assert message == "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256"
    refused(lambda: kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT"), "ValidationException")
    assert kms.list_keys()["Keys"] == keys
    for spec, usage in (("HMAC_256", "GENERATE_VERIFY_MAC"), ("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY")):
        assert kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyUsage"] == usage
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    message = refused(lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=1), "ValidationException")["Message"]
    assert message == "1 validation error detected: Value '1' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7"
    refused(lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=31), "ValidationException")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)


def test_secretsmanager_policy_and_value(server: EmulatorServer) -> None:
    sm = client(server, "secretsmanager")
    secret = sm.create_secret(Name="doc-secret", SecretString="s")["ARN"]
    valid = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    sm.put_resource_policy(SecretId=secret, ResourcePolicy=valid)
    for text in ("not json", "[1]", "{}", policy({"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"})):
        error = refused(lambda t=text: sm.put_resource_policy(SecretId=secret, ResourcePolicy=t), "MalformedPolicyDocumentException")
        assert error["Message"] == "This resource policy contains a syntax error."
    assert json.loads(sm.get_resource_policy(SecretId=secret)["ResourcePolicy"]) == json.loads(valid)
    message = refused(lambda: sm.create_secret(Name="never-both", SecretString="s", SecretBinary=b"b"), "InvalidParameterException")["Message"]
    assert message == "You can't specify both a binary secret value and a string secret value in the same secret."
    refused(lambda: sm.describe_secret(SecretId="never-both"), "ResourceNotFoundException", None)
    refused(lambda: sm.put_secret_value(SecretId=secret, SecretString="t", SecretBinary=b"b"), "InvalidParameterException")
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "s"


def test_events_put_permission(server: EmulatorServer) -> None:
    events = client(server, "events")
    bus = events.create_event_bus(Name="doc-bus")["EventBusArn"]
    statement = {"Sid": "one", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "events:PutEvents", "Resource": bus}
    for text, message in (("[1]", "This policy contains invalid Json"),
                          ("{}", "This policy is not valid. The policy must contain at least one Statement."),
                          (policy({k: v for k, v in statement.items() if k != "Sid"}), "This policy is not valid. A Statement must contain a Sid."),
                          (policy({k: v for k, v in statement.items() if k != "Principal"}), "This policy is not valid. A Statement must contain a Principal or NotPrincipal.")):
        assert refused(lambda t=text: events.put_permission(EventBusName="doc-bus", Policy=t), "ValidationException")["Message"] == message
    assert "Policy" not in events.describe_event_bus(Name="doc-bus")
    # Valid: a Statement given as one object (moto iterated over its keys).
    events.put_permission(EventBusName="doc-bus", Policy=json.dumps({"Version": "2012-10-17", "Statement": statement}))
    assert [s["Sid"] for s in json.loads(events.describe_event_bus(Name="doc-bus")["Policy"])["Statement"]] == ["one"]


def test_lambda_add_permission(server: EmulatorServer) -> None:
    iam, lam = client(server, "iam"), client(server, "lambda")
    role = iam.create_role(RoleName="doc-lam-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(FunctionName="doc-fn", Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": lambda_zip()}, Publish=True)
    lam.create_alias(FunctionName="doc-fn", Name="live", FunctionVersion="1")
    common = {"FunctionName": "doc-fn", "Action": "lambda:InvokeFunction"}
    lam.add_permission(StatementId="s3", Principal="s3.amazonaws.com", **common)
    error = refused(lambda: lam.add_permission(StatementId="s3", Principal="sns.amazonaws.com", **common), "ResourceConflictException", 409)
    assert error["Message"] == "The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement."
    message = refused(lambda: lam.add_permission(StatementId="bad", Principal="garbage", **common), "InvalidParameterValueException")["Message"]
    assert message == "The provided principal was invalid. Please check the principal and try again."
    statements = json.loads(lam.get_policy(FunctionName="doc-fn")["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["s3"]
    # Valid: the same id in the alias's own policy; an account, an ARN, "*" as principals.
    lam.add_permission(StatementId="s3", Principal="s3.amazonaws.com", Qualifier="live", **common)
    for i, principal in enumerate((ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "*")):
        lam.add_permission(StatementId=f"p{i}", Principal=principal, **common)


def test_organizations_policy(server: EmulatorServer) -> None:
    org = client(server, "organizations")
    org.create_organization(FeatureSet="ALL")
    before = org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    for content, kind in (("not json", "SERVICE_CONTROL_POLICY"), ("[1]", "SERVICE_CONTROL_POLICY"), ("{}", "SERVICE_CONTROL_POLICY"), ("not json", "TAG_POLICY")):
        error = refused(lambda c=content, k=kind: org.create_policy(Content=c, Description="d", Name="never", Type=k), "MalformedPolicyDocumentException")
        assert error["Message"] == "The provided policy document doesn't meet the requirements of the specified policy type."
    assert org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] == before
    scp = policy({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"})
    found = org.create_policy(Content=scp, Description="d", Name="doc-scp", Type="SERVICE_CONTROL_POLICY")["Policy"]
    refused(lambda: org.update_policy(PolicyId=found["PolicySummary"]["Id"], Content="[1]"), "MalformedPolicyDocumentException")
    assert org.describe_policy(PolicyId=found["PolicySummary"]["Id"])["Policy"]["Content"] == scp
    org.create_policy(Content=json.dumps({"tags": {"team": {"tag_key": {"@@assign": "Team"}}}}), Description="d", Name="doc-tags", Type="TAG_POLICY")


# ------------------------------------------------------------------ S3 bucket configurations
def _rule(**fields: Any) -> dict[str, Any]:
    return {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, **fields}


@pytest.mark.parametrize(("rules", "code", "message"), [
    ([_rule(Expiration={"Days": -1})], "InvalidArgument", "'Days' for Expiration action must be a positive integer"),
    ([_rule(Expiration={"Days": 0})], "InvalidArgument", "'Days' for Expiration action must be a positive integer"),
    ([_rule(Expiration={"Days": 1, "Date": "2030-01-01T00:00:00Z"})], "MalformedXML", None),
    ([_rule(Expiration={"Date": "2030-01-01T10:00:00Z"})], "InvalidArgument", "'Date' must be at midnight GMT"),
    ([_rule()], "InvalidRequest", "At least one action needs to be specified in a rule"),
    ([_rule(Expiration={"Days": 1})] * 2, "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule"),
    ([_rule(ID=f"r{i}", Expiration={"Days": 1}) for i in range(1001)], "MalformedXML", None),
    ([_rule(ID="x" * 256, Expiration={"Days": 1})], "InvalidArgument", "ID length should not exceed allowed limit of 255"),
    ([_rule(Status="Maybe", Expiration={"Days": 1})], "MalformedXML", None),
    ([_rule(NoncurrentVersionExpiration={"NoncurrentDays": 0})], "InvalidArgument", "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"),
    ([_rule(AbortIncompleteMultipartUpload={"DaysAfterInitiation": 0})], "InvalidArgument",
     "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"),
    ([_rule(Transitions=[{"Days": -1, "StorageClass": "GLACIER"}])], "InvalidArgument", "'Days' for Transition action must be a nonnegative integer"),
    ([_rule(Transitions=[{"Days": 30, "StorageClass": "BOGUS"}])], "MalformedXML", None),
])
def test_s3_lifecycle_refused(server: EmulatorServer, rules: list[dict[str, Any]], code: str, message: str | None) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="doc-lifecycle")
    kept = [_rule(ID="kept", Expiration={"Days": 30})]
    s3.put_bucket_lifecycle_configuration(Bucket="doc-lifecycle", LifecycleConfiguration={"Rules": kept})
    error = refused(lambda: s3.put_bucket_lifecycle_configuration(Bucket="doc-lifecycle", LifecycleConfiguration={"Rules": rules}), code)
    assert error["Message"] == (message or "The XML you provided was not well-formed or did not validate against our published schema")
    assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket="doc-lifecycle")["Rules"]] == ["kept"]


def test_s3_lifecycle_accepted(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="doc-lifecycle-ok")
    rules = [
        _rule(ID="expire", Expiration={"Days": 365}, Transitions=[{"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}, {"Days": 90, "StorageClass": "GLACIER"}]),
        _rule(ID="date", Filter={"Prefix": "logs/"}, Expiration={"Date": "2030-01-01T00:00:00Z"}),
        _rule(ID="versions", Filter={"Prefix": "v/"}, NoncurrentVersionExpiration={"NoncurrentDays": 30},
              NoncurrentVersionTransitions=[{"NoncurrentDays": 0, "StorageClass": "GLACIER_IR"}], Expiration={"ExpiredObjectDeleteMarker": True}),
        {"Status": "Disabled", "Filter": {"Prefix": "tmp/"}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket="doc-lifecycle-ok", LifecycleConfiguration={"Rules": rules})
    assert len(s3.get_bucket_lifecycle_configuration(Bucket="doc-lifecycle-ok")["Rules"]) == 4


def test_s3_cors(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="doc-cors")
    kept = [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.example.com"], "AllowedHeaders": ["x-amz-*"]}]
    s3.put_bucket_cors(Bucket="doc-cors", CORSConfiguration={"CORSRules": kept})
    message = refused(lambda: s3.put_bucket_cors(Bucket="doc-cors", CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.*.com"]}]}),
                      "InvalidRequest")["Message"]
    assert message == 'AllowedOrigin "https://*.*.com" can not have more than one wildcard.'
    message = refused(lambda: s3.put_bucket_cors(Bucket="doc-cors", CORSConfiguration={"CORSRules": [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]}),
                      "InvalidRequest")["Message"]
    assert message == "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"
    s3_unchecked = server.client("s3", config=Config(retries={"total_max_attempts": 1}, parameter_validation=False))
    refused(lambda: s3_unchecked.put_bucket_cors(Bucket="doc-cors", CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"]}]}), "MalformedXML")
    assert s3.get_bucket_cors(Bucket="doc-cors")["CORSRules"][0]["AllowedOrigins"] == ["https://*.example.com"]


def test_s3_versioning(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="doc-versioning")
    s3.put_bucket_versioning(Bucket="doc-versioning", VersioningConfiguration={"Status": "Enabled"})
    refused(lambda: s3.put_bucket_versioning(Bucket="doc-versioning", VersioningConfiguration={"Status": "Bogus"}), "MalformedXML")
    refused(lambda: s3.put_bucket_versioning(Bucket="doc-versioning", VersioningConfiguration={"Status": "Suspended", "MFADelete": "Bogus"}), "MalformedXML")
    assert s3.get_bucket_versioning(Bucket="doc-versioning")["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket="doc-versioning", VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket="doc-versioning")["Status"] == "Suspended"
    # A bucket with Object Lock keeps its versioning.
    s3.create_bucket(Bucket="doc-locked", ObjectLockEnabledForBucket=True)
    message = refused(lambda: s3.put_bucket_versioning(Bucket="doc-locked", VersioningConfiguration={"Status": "Suspended"}), "InvalidBucketState", 409)["Message"]
    assert message == "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
    assert s3.get_bucket_versioning(Bucket="doc-locked")["Status"] == "Enabled"


def test_s3_notification_destinations(server: EmulatorServer) -> None:
    s3, sqs, sns = client(server, "s3"), client(server, "sqs"), client(server, "sns")
    s3.create_bucket(Bucket="doc-notify")
    queue = sqs.create_queue(QueueName="doc-notify-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="doc-notify-topic")["TopicArn"]
    events = ["s3:ObjectCreated:*"]
    s3.put_bucket_notification_configuration(Bucket="doc-notify", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": events}], "TopicConfigurations": [{"TopicArn": topic, "Events": events}]})
    missing_queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:doc-missing"
    missing_function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:doc-missing"
    config = {"QueueConfigurations": [{"QueueArn": queue_arn, "Events": events}, {"QueueArn": missing_queue, "Events": events}],
              "LambdaFunctionConfigurations": [{"LambdaFunctionArn": missing_function, "Events": events}]}
    error = refused(lambda: s3.put_bucket_notification_configuration(Bucket="doc-notify", NotificationConfiguration=config), "InvalidArgument")
    assert error["Message"] == "Unable to validate the following destination configurations"
    assert (error["ArgumentName1"], error["ArgumentName2"]) == (missing_queue, missing_function)
    assert error["ArgumentValue1"] == "The destination queue does not exist"
    kept = s3.get_bucket_notification_configuration(Bucket="doc-notify")
    assert [c["QueueArn"] for c in kept["QueueConfigurations"]] == [queue_arn] and [c["TopicArn"] for c in kept["TopicConfigurations"]] == [topic]
    refused(lambda: s3.put_bucket_notification_configuration(Bucket="doc-notify", NotificationConfiguration={
        "TopicConfigurations": [{"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:doc-missing", "Events": events}]}), "InvalidArgument")


def test_s3_tags(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="doc-tags")
    s3.put_object(Bucket="doc-tags", Key="k", Body=b"x", Tagging="a=1")
    s3.put_bucket_tagging(Bucket="doc-tags", Tagging={"TagSet": [{"Key": "kept", "Value": "1"}]})
    assert refused(lambda: s3.put_bucket_tagging(Bucket="doc-tags", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}),
                   "InvalidTag")["Message"] == "Bucket tag count cannot be greater than 50"
    assert refused(lambda: s3.put_bucket_tagging(Bucket="doc-tags", Tagging={"TagSet": [{"Key": "k", "Value": "v" * 257}]}),
                   "InvalidTag")["Message"] == "The TagValue you have provided is too long, max 256"
    assert s3.get_bucket_tagging(Bucket="doc-tags")["TagSet"] == [{"Key": "kept", "Value": "1"}]
    s3.put_bucket_tagging(Bucket="doc-tags", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v" * 256} for i in range(50)]})
    duplicate = {"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    assert refused(lambda: s3.put_object_tagging(Bucket="doc-tags", Key="k", Tagging=duplicate), "InvalidTag")["Message"] == "Cannot provide multiple Tags with the same key"
    eleven = {"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
    assert refused(lambda: s3.put_object_tagging(Bucket="doc-tags", Key="k", Tagging=eleven), "BadRequest")["Message"] == "Object tags cannot be greater than 10"
    assert s3.get_object_tagging(Bucket="doc-tags", Key="k")["TagSet"] == [{"Key": "a", "Value": "1"}]
    refused(lambda: s3.put_object(Bucket="doc-tags", Key="never", Body=b"x", Tagging="a=1&a=2"), "InvalidTag")
    refused(lambda: s3.head_object(Bucket="doc-tags", Key="never"), "404", 404)


def test_s3_new_bucket(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    for name in ("Upper-Case", "under_score", "192.168.1.1", "two..dots", "-leading", "trailing-"):
        error = refused(lambda n=name: s3.create_bucket(Bucket=n), "InvalidBucketName")
        assert (error["Message"], error["BucketName"]) == ("The specified bucket is not valid.", name)
    error = refused(lambda: s3.create_bucket(Bucket="doc-nowhere", CreateBucketConfiguration={"LocationConstraint": "bogus-region-1"}),
                    "InvalidLocationConstraint")
    assert error["Message"] == "The specified location-constraint is not valid"
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not names & {"Upper-Case", "under_score", "doc-nowhere"}
    s3.create_bucket(Bucket="doc.dotted-name.1")
    s3.create_bucket(Bucket="doc-west", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})


# ------------------------------------------------------------------ the others
def test_route53_record_sets(server: EmulatorServer) -> None:
    r53 = client(server, "route53")
    zone = r53.create_hosted_zone(Name="doc.example.", CallerReference="doc-zone")["HostedZone"]["Id"]

    def change(name: str, kind: str, value: str | None, ttl: int | None = 60) -> Any:
        rrset: dict[str, Any] = {"Name": name, "Type": kind}
        if ttl is not None:
            rrset["TTL"] = ttl
        if value is not None:
            rrset["ResourceRecords"] = [{"Value": value}]
        return lambda: r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": rrset}]})

    before = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    message = refused(change("a.doc.example.", "A", "not-an-ip"), "InvalidChangeBatch")["Message"]
    assert message == "[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with 'not-an-ip'']"
    refused(change("a.doc.example.", "AAAA", "1.2.3.4"), "InvalidChangeBatch")
    message = refused(change("doc.example.", "CNAME", "elsewhere.example.org."), "InvalidChangeBatch")["Message"]
    assert message == "[RRSet of type CNAME with DNS name doc.example. is not permitted at apex in zone doc.example.]"
    message = refused(change("a.doc.example.", "A", "1.2.3.4", ttl=None), "InvalidInput")["Message"]
    assert message.startswith("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none")
    assert refused(change("a.doc.example.", "BOGUS", "1.2.3.4"), "InvalidInput")["Message"].startswith("Invalid XML ; cvc-enumeration-valid: Value 'BOGUS'")
    assert r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"] == before
    for args in (("a.doc.example.", "A", "192.0.2.1"), ("a.doc.example.", "AAAA", "2001:db8::1"), ("www.doc.example.", "CNAME", "a.doc.example.")):
        change(*args)()


def test_lambda_code_and_limits(server: EmulatorServer) -> None:
    iam, lam = client(server, "iam"), client(server, "lambda")
    role = iam.create_role(RoleName="doc-code-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    common = {"Runtime": "python3.12", "Role": role, "Handler": "index.handler"}
    message = refused(lambda: lam.create_function(FunctionName="never-zip", Code={"ZipFile": b"not a zip"}, **common), "InvalidParameterValueException")["Message"]
    assert message == "Could not unzip uploaded file. Please check your file, then try to upload again."
    message = refused(lambda: lam.create_function(FunctionName="never-zip", Code={"ZipFile": lambda_zip()}, Timeout=901, **common), "ValidationException")["Message"]
    assert message == "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"
    refused(lambda: lam.create_function(FunctionName="f" * 65, Code={"ZipFile": lambda_zip()}, **common), "ValidationException")
    refused(lambda: lam.get_function(FunctionName="never-zip"), "ResourceNotFoundException", 404)
    lam.create_function(FunctionName="doc-zip", Code={"ZipFile": lambda_zip()}, Timeout=900, **common)
    sha = lam.get_function(FunctionName="doc-zip")["Configuration"]["CodeSha256"]
    refused(lambda: lam.update_function_code(FunctionName="doc-zip", ZipFile=b"not a zip"), "InvalidParameterValueException")
    assert lam.get_function(FunctionName="doc-zip")["Configuration"]["CodeSha256"] == sha
    refused(lambda: lam.update_function_configuration(FunctionName="doc-zip", Timeout=1000), "ValidationException")
    refused(lambda: lam.publish_layer_version(LayerName="doc-layer", Content={"ZipFile": b"not a zip"}), "InvalidParameterValueException")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("python/lib.py", "X = 1\n")
    lam.publish_layer_version(LayerName="doc-layer", Content={"ZipFile": buf.getvalue()})


def test_sns_attributes(server: EmulatorServer) -> None:
    sns, sqs = client(server, "sns"), client(server, "sqs")
    refused(lambda: sns.create_topic(Name="never-doc-topic", Attributes={"DeliveryPolicy": "not json"}), "InvalidParameter")
    assert all(not t["TopicArn"].endswith(":never-doc-topic") for t in sns.list_topics()["Topics"])
    topic = sns.create_topic(Name="doc-topic")["TopicArn"]
    queue = sqs.create_queue(QueueName="doc-topic-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    message = refused(lambda: sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "maybe"}), "InvalidParameter")["Message"]
    assert message == "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [maybe]. Must be true or false."
    refused(lambda: sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RedrivePolicy": "[1]"}), "InvalidParameter")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    for name in ("DeliveryPolicy", "RedrivePolicy"):
        refused(lambda n=name: sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName=n, AttributeValue="not json"), "InvalidParameter")
    refused(lambda: sns.set_topic_attributes(TopicArn=topic, AttributeName="DeliveryPolicy", AttributeValue="not json"), "InvalidParameter")
    assert sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]["RawMessageDelivery"] == "true"


def test_cloudformation_stack_name(server: EmulatorServer) -> None:
    cfn = client(server, "cloudformation")
    template = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
    message = refused(lambda: cfn.create_stack(StackName="my_stack", TemplateBody=template), "ValidationError")["Message"]
    assert message == ("1 validation error detected: Value 'my_stack' at 'stackName' failed to satisfy constraint: "
                       "Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*")
    refused(lambda: cfn.create_stack(StackName="s" * 129, TemplateBody=template), "ValidationError")
    assert all(s["StackName"] != "my_stack" for s in cfn.describe_stacks()["Stacks"])
    cfn.create_stack(StackName="my-stack-1", TemplateBody=template)
