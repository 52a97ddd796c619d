"""Authorization through the wire: users with different policies, each signing with its own keys."""

from __future__ import annotations

from typing import Any

import pytest
from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}
TABLE = "sec_orders"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:000000000000:table/{TABLE}"
MODEL = "amazon.titan-text-lite-v1"


@pytest.fixture(scope="module")
def matrix(sec_server: EmulatorServer, users: Users) -> Users:
    root_ddb = sec_server.client("dynamodb")
    root_ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    root_ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    sec_server.client("logs").create_log_group(logGroupName="sec-app")
    sec_server.client("logs").create_log_stream(logGroupName="sec-app", logStreamName="s1")
    users.create("nobody")
    users.create("reader", {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Describe*"], "Resource": f"arn:aws:dynamodb:*:*:table/{TABLE}"})
    users.create(
        "writer",
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": [TABLE_ARN, f"{TABLE_ARN}/index/*"]},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
    )
    users.create("ec2user", {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"})
    users.create("bedrockuser", {"Effect": "Allow", "Action": ["bedrock:InvokeModel"], "Resource": "arn:aws:bedrock:*::foundation-model/*"})
    users.create(
        "monitor",
        {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:DescribeLogStreams"], "Resource": "arn:aws:logs:*:*:log-group:sec-app*"},
    )
    users.create("querier", {"Effect": "Allow", "Action": "logs:StartQuery", "Resource": "arn:aws:logs:*:*:log-group:sec-app*"})
    users.create("admin", managed=["arn:aws:iam::aws:policy/AdministratorAccess"])
    users.create("iamreader", managed=["arn:aws:iam::aws:policy/IAMReadOnlyAccess"])
    return users


def _ddb(name: str, users: Users) -> Any:
    return users.client(name, "dynamodb")


CASES: list[tuple[str, str, str, dict[str, Any], bool]] = [
    # DynamoDB
    ("nobody", "dynamodb", "get_item", {"TableName": TABLE, "Key": {"pk": {"S": "a"}}}, False),
    ("reader", "dynamodb", "get_item", {"TableName": TABLE, "Key": {"pk": {"S": "a"}}}, True),
    ("reader", "dynamodb", "describe_table", {"TableName": TABLE}, True),
    ("reader", "dynamodb", "put_item", {"TableName": TABLE, "Item": {"pk": {"S": "a"}}}, False),
    ("reader", "dynamodb", "list_tables", {}, False),
    ("writer", "dynamodb", "put_item", {"TableName": TABLE, "Item": {"pk": {"S": "w"}}}, True),
    ("writer", "dynamodb", "delete_item", {"TableName": TABLE, "Key": {"pk": {"S": "w"}}}, False),
    ("writer", "dynamodb", "get_item", {"TableName": "sec_other", "Key": {"pk": {"S": "a"}}}, False),
    ("admin", "dynamodb", "list_tables", {}, True),
    # EC2
    ("ec2user", "ec2", "describe_instances", {}, True),
    ("ec2user", "ec2", "run_instances", {"ImageId": "ami-12345678", "MinCount": 1, "MaxCount": 1}, False),
    ("reader", "ec2", "describe_instances", {}, False),
    # Bedrock Runtime
    ("bedrockuser", "bedrock-runtime", "converse", {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": {"maxTokens": 1}}, True),
    ("bedrockuser", "bedrock-runtime", "converse_stream", {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}, False),
    ("reader", "bedrock-runtime", "converse", {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}, False),
    # CloudWatch and Logs
    ("monitor", "cloudwatch", "put_metric_data", {"Namespace": "Sec", "MetricData": [{"MetricName": "m", "Value": 1.0}]}, True),
    ("monitor", "cloudwatch", "delete_alarms", {"AlarmNames": ["x"]}, False),
    ("nobody", "cloudwatch", "put_metric_data", {"Namespace": "Sec", "MetricData": [{"MetricName": "m", "Value": 1.0}]}, False),
    ("monitor", "logs", "describe_log_streams", {"logGroupName": "sec-app"}, True),
    ("monitor", "logs", "describe_log_streams", {"logGroupName": "other-app"}, False),
    ("monitor", "logs", "create_log_group", {"logGroupName": "sec-app2"}, False),
    # Queries over several groups need the action on each of them
    ("querier", "logs", "start_query", {"logGroupNames": ["sec-app"], "startTime": 0, "endTime": 1, "queryString": "fields @message"}, True),
    ("querier", "logs", "start_query", {"logGroupNames": ["sec-app", "other-app"], "startTime": 0, "endTime": 1, "queryString": "fields @message"}, False),
    # IAM
    ("iamreader", "iam", "list_users", {}, True),
    ("iamreader", "iam", "create_user", {"UserName": "mallory"}, False),
    ("nobody", "iam", "list_users", {}, False),
    ("admin", "iam", "get_user", {"UserName": "reader"}, True),
    # Services served by the moto fallback are authorized too
    ("nobody", "s3", "list_buckets", {}, False),
    ("admin", "s3", "list_buckets", {}, True),
    ("nobody", "sts", "get_caller_identity", {}, True),  # needs no permission on AWS either
]


@pytest.mark.parametrize(("user", "service", "method", "kwargs", "allowed"), CASES, ids=[f"{c[0]}-{c[2]}-{'allow' if c[4] else 'deny'}-{i}" for i, c in enumerate(CASES)])
def test_authorization_matrix(matrix: Users, user: str, service: str, method: str, kwargs: dict[str, Any], allowed: bool) -> None:
    client = matrix.client(user, service)
    code = error_code(lambda: getattr(client, method)(**kwargs))
    if allowed:
        # Allowed: success, or a service error that is not about authorization.
        assert code not in DENIED, code
    else:
        assert code in DENIED, code


def test_denied_wording_and_codes_per_protocol(matrix: Users) -> None:
    err = error_of(lambda: _ddb("reader", matrix).put_item(TableName=TABLE, Item={"pk": {"S": "a"}}))
    assert err["Code"] == "AccessDeniedException"
    assert err["HTTPStatusCode"] == 400
    assert err["Message"] == (
        f"User: arn:aws:iam::000000000000:user/reader is not authorized to perform: dynamodb:PutItem on resource: {TABLE_ARN} "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )
    err = error_of(lambda: _ddb("writer", matrix).delete_item(TableName=TABLE, Key={"pk": {"S": "a"}}))
    assert err["Message"] == (
        f"User: arn:aws:iam::000000000000:user/writer is not authorized to perform: dynamodb:DeleteItem on resource: {TABLE_ARN} "
        "with an explicit deny in an identity-based policy"
    )
    ec2 = error_of(lambda: matrix.client("reader", "ec2").describe_instances())
    assert ec2["Code"] == "UnauthorizedOperation" and ec2["HTTPStatusCode"] == 403
    assert "ec2:DescribeInstances" in ec2["Message"]
    iam = error_of(lambda: matrix.client("nobody", "iam").list_users())
    assert iam["Code"] == "AccessDenied" and iam["HTTPStatusCode"] == 403
    bedrock = error_of(lambda: matrix.client("reader", "bedrock-runtime").converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}]))
    assert bedrock["Code"] == "AccessDeniedException" and bedrock["HTTPStatusCode"] == 403
    assert f"bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/{MODEL}" in bedrock["Message"]


def test_explicit_deny_beats_allow_in_another_policy(matrix: Users, sec_server: EmulatorServer) -> None:
    iam = sec_server.client("iam")
    matrix.create("conflicted", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    client = matrix.client("conflicted", "dynamodb")
    assert error_code(lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})) is None
    arn = iam.create_policy(PolicyName="deny-orders", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"dynamodb:*","Resource":"' + TABLE_ARN + '"}]}')["Policy"]["Arn"]
    iam.attach_user_policy(UserName="conflicted", PolicyArn=arn)
    # Policy changes take effect on the next request.
    assert error_code(lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})) == "AccessDeniedException"
    assert error_code(lambda: client.list_tables()) is None
    iam.detach_user_policy(UserName="conflicted", PolicyArn=arn)
    assert error_code(lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})) is None


def test_leading_keys_restrict_items_to_the_users_own_partition(matrix: Users) -> None:
    matrix.create(
        "tenant1",
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": TABLE_ARN,
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}},
        },
    )
    client = matrix.client("tenant1", "dynamodb")
    assert error_code(lambda: client.put_item(TableName=TABLE, Item={"pk": {"S": "tenant1"}, "v": {"N": "1"}})) is None
    assert error_code(lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": "tenant1"}})) is None
    assert error_code(lambda: client.put_item(TableName=TABLE, Item={"pk": {"S": "tenant2"}})) == "AccessDeniedException"
    assert error_code(lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": "tenant2"}})) == "AccessDeniedException"


def test_source_ip_condition_on_the_wire(matrix: Users) -> None:
    matrix.create("remote-only", {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}})
    matrix.create("local-only", {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}})
    assert error_code(lambda: matrix.client("remote-only", "dynamodb").list_tables()) == "AccessDeniedException"
    assert error_code(lambda: matrix.client("local-only", "dynamodb").list_tables()) is None


def test_check_api_for_other_surfaces(sec_server: EmulatorServer) -> None:
    """``emulator.gateway.security.check`` gives the OpenAI routes the same decisions."""
    from emulator.context import Principal
    from emulator.gateway import security
    from emulator.runtime import Runtime
    from emulator.settings import load_settings

    runtime = Runtime(load_settings({"data_dir": sec_server.data_dir, "services": ["iam"]}))
    bob = Principal("AKIA0", "bedrockuser", "arn:aws:iam::000000000000:user/bedrockuser", "000000000000")
    resource = "arn:aws:bedrock:us-east-1::foundation-model/m"
    assert security.check(bob, "bedrock:InvokeModel", resource, runtime=runtime).allowed
    assert not security.check(bob, "bedrock:InvokeModelWithResponseStream", resource, runtime=runtime).allowed
    with pytest.raises(Exception) as info:
        security.authorize(bob, "bedrock:InvokeModelWithResponseStream", resource, runtime=runtime)
    assert getattr(info.value, "code", None) == "AccessDeniedException" and info.value.status == 403  # type: ignore[attr-defined]


def test_s3_policies_on_buckets_and_objects(sec_server: EmulatorServer, users: Users) -> None:
    """S3 (served by the moto fallback) is authorized on its own IAM actions and ARNs:
    s3:ListBucket for ListObjectsV2, s3:GetObject for HeadObject, the object's ARN
    arn:aws:s3:::bucket/key, s3:PutObject for a copy plus s3:GetObject on its source."""
    root = sec_server.client("s3")
    for bucket in ("sec-s3-pub", "sec-s3-private"):
        root.create_bucket(Bucket=bucket)
    root.put_object(Bucket="sec-s3-pub", Key="o", Body=b"z")
    root.put_object(Bucket="sec-s3-private", Key="secret", Body=b"s")
    users.create(
        "s3user",
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::sec-s3-pub", "arn:aws:s3:::sec-s3-pub/*"]},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::sec-s3-pub/uploads/*"},
    )
    s3 = users.client("s3user", "s3")
    assert s3.get_object(Bucket="sec-s3-pub", Key="o")["Body"].read() == b"z"
    assert s3.head_object(Bucket="sec-s3-pub", Key="o")["ContentLength"] == 1
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sec-s3-pub")["Contents"]] == ["o"]
    s3.put_object(Bucket="sec-s3-pub", Key="uploads/a", Body=b"1")
    s3.copy_object(Bucket="sec-s3-pub", Key="uploads/copy", CopySource="sec-s3-pub/o")
    denied = error_of(lambda: s3.put_object(Bucket="sec-s3-pub", Key="elsewhere", Body=b"1"))
    assert (denied["Code"], denied["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert 's3:PutObject on resource: "arn:aws:s3:::sec-s3-pub/elsewhere"' in denied["Message"]  # S3 quotes the resource
    # A copy needs s3:GetObject on its source too.
    copy = error_of(lambda: s3.copy_object(Bucket="sec-s3-pub", Key="uploads/leak", CopySource="sec-s3-private/secret"))
    assert 's3:GetObject on resource: "arn:aws:s3:::sec-s3-private/secret"' in copy["Message"]
    assert error_code(lambda: s3.list_objects_v2(Bucket="sec-s3-private")) == "AccessDenied"
    assert error_code(lambda: s3.get_object(Bucket="sec-s3-private", Key="secret")) == "AccessDenied"
    assert error_code(lambda: s3.list_buckets()) == "AccessDenied"  # s3:ListAllMyBuckets


def test_s3_delete_objects_is_decided_key_by_key(sec_server: EmulatorServer, users: Users) -> None:
    """DeleteObjects has no permission of its own: it is s3:DeleteObject on each key, so the
    textbook policy (s3:DeleteObject on ``arn:aws:s3:::bucket/*``) deletes them, and a key the
    caller may not delete is answered with AccessDenied in Errors, the others deleted."""
    root = sec_server.client("s3")
    root.create_bucket(Bucket="sec-s3-del")
    for key in ("tmp/a", "tmp/b", "keep/c", "keep/d"):
        root.put_object(Bucket="sec-s3-del", Key=key, Body=b"x")
    users.create("s3deleter", {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::sec-s3-del"},
                 {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::sec-s3-del/tmp/*"})
    result = users.client("s3deleter", "s3").delete_objects(Bucket="sec-s3-del", Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/c"}]})
    assert [d["Key"] for d in result.get("Deleted", [])] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("keep/c", "AccessDenied")]
    users.create("s3textbook", {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::sec-s3-del"},
                 {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::sec-s3-del/*"},
                 {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::sec-s3-del/keep/d"})
    result = users.client("s3textbook", "s3").delete_objects(Bucket="sec-s3-del", Delete={"Objects": [{"Key": "tmp/b"}, {"Key": "keep/c"}, {"Key": "keep/d"}]})
    assert sorted(d["Key"] for d in result.get("Deleted", [])) == ["keep/c", "tmp/b"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("keep/d", "AccessDenied")]
    assert [o["Key"] for o in root.list_objects_v2(Bucket="sec-s3-del")["Contents"]] == ["keep/d"]


def test_s3_missing_key_without_list_bucket_is_access_denied(sec_server: EmulatorServer, users: Users) -> None:
    """GetObject / HeadObject of a key that does not exist: 404 NoSuchKey for a caller allowed
    s3:ListBucket on the bucket, 403 AccessDenied for one that is not (GetObject's API reference);
    a bucket that does not exist is NoSuchBucket for anyone allowed the read."""
    root = sec_server.client("s3")
    root.create_bucket(Bucket="sec-s3-miss")
    root.put_object(Bucket="sec-s3-miss", Key="there", Body=b"t")
    root.create_bucket(Bucket="sec-s3-miss-versioned")
    root.put_bucket_versioning(Bucket="sec-s3-miss-versioned", VersioningConfiguration={"Status": "Enabled"})
    root.put_object(Bucket="sec-s3-miss-versioned", Key="gone", Body=b"g")
    root.delete_object(Bucket="sec-s3-miss-versioned", Key="gone")  # a delete marker is its latest version
    users.create("s3reader-nolist", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    users.create("s3reader-list", {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"})
    blind = users.client("s3reader-nolist", "s3")
    assert blind.get_object(Bucket="sec-s3-miss", Key="there")["Body"].read() == b"t"
    assert blind.head_object(Bucket="sec-s3-miss", Key="there")["ContentLength"] == 1
    denied = error_of(lambda: blind.get_object(Bucket="sec-s3-miss", Key="nope"))
    assert (denied["Code"], denied["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert denied["Message"] == ("User: arn:aws:iam::000000000000:user/s3reader-nolist is not authorized to perform: s3:ListBucket on resource: "
                                 '"arn:aws:s3:::sec-s3-miss" because no identity-based policy allows the s3:ListBucket action')
    assert error_of(lambda: blind.head_object(Bucket="sec-s3-miss", Key="nope"))["HTTPStatusCode"] == 403
    assert error_of(lambda: blind.get_object(Bucket="sec-s3-miss-versioned", Key="gone"))["Code"] == "AccessDenied"
    assert error_of(lambda: blind.get_object(Bucket="sec-s3-no-such-bucket", Key="nope"))["Code"] == "NoSuchBucket"
    lister = users.client("s3reader-list", "s3")
    missing = error_of(lambda: lister.get_object(Bucket="sec-s3-miss", Key="nope"))
    assert (missing["Code"], missing["HTTPStatusCode"]) == ("NoSuchKey", 404)
    assert error_of(lambda: lister.head_object(Bucket="sec-s3-miss", Key="nope"))["HTTPStatusCode"] == 404
    assert error_of(lambda: lister.get_object(Bucket="sec-s3-miss-versioned", Key="gone"))["Code"] == "NoSuchKey"
    assert error_of(lambda: root.get_object(Bucket="sec-s3-miss", Key="nope"))["Code"] == "NoSuchKey"  # the root user may list it
