"""DynamoDB resource-based policies through the wire: PutResourcePolicy, GetResourcePolicy,
DeleteResourcePolicy, CreateTable's ResourcePolicy, and their enforcement by the gateway's
authorizer for IAM users signing with their own keys.

A server of this module's own (a test resets it, and the suite's shared server keeps other
tests' tables), on the storage the suite runs on (``EMULATOR_TEST_STORAGE``: SQLite, or a
scratch PostgreSQL database); the restart test runs a SQLite server of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.gateway.policy import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Decision
from emulator.gateway.resource_policy import caller_of, combine, parse_resource_policy
from emulator.testing.plugin import storage_args
from emulator.testing.server import EmulatorServer

ACCOUNT = "000000000000"
REGION = "us-east-1"
Statement = dict[str, Any]


def arn_of(table: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def policy(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    return dict(info.value.response["Error"])


def create(ddb: Any, name: str | None = None, **kwargs: Any) -> str:
    name = name or f"rp-{uuid.uuid4().hex[:10]}"
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    extra: dict[str, Any] = {}
    if kwargs.pop("gsi", False):
        attrs.append({"AttributeName": "g", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [{"IndexName": "byG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=attrs,
                     BillingMode="PAY_PER_REQUEST", **extra, **kwargs)
    return name


class Users:
    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.iam = server.client("iam")
        self.keys: dict[str, dict[str, str]] = {}

    def create(self, *statements: Statement, name: str | None = None) -> tuple[str, Any]:
        """A new IAM user (with an inline policy of ``statements``) and a DynamoDB client signed with its key."""
        name = name or f"rp-user-{uuid.uuid4().hex[:8]}"
        self.iam.create_user(UserName=name)
        if statements:
            self.iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy(*statements))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.keys[name] = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        return name, self.client(name, "dynamodb")

    def client(self, name: str, service: str, **kwargs: Any) -> Any:
        return self.server.client(service, **self.keys[name], **kwargs)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with storage_args() as args, EmulatorServer(extra_args=args) as srv:
        yield srv


@pytest.fixture
def ddb(server: EmulatorServer) -> Any:
    return server.client("dynamodb")


@pytest.fixture
def users(server: EmulatorServer) -> Users:
    return Users(server)


def allow(who: str, actions: list[str] | str, resources: list[str] | str, **extra: Any) -> Statement:
    return {"Effect": "Allow", "Principal": {"AWS": who}, "Action": actions, "Resource": resources, **extra}


# ------------------------------------------------------------------ the API
def test_put_get_delete_round_trip_with_revision_ids(ddb: Any) -> None:
    table = create(ddb)
    arn = arn_of(table)
    missing = error_of(lambda: ddb.get_resource_policy(ResourceArn=arn))
    assert missing == {"Code": "PolicyNotFoundException", "Message": f"Resource-based policy not found for the provided ResourceArn: {arn}"}

    doc = policy(allow(ACCOUNT, "dynamodb:GetItem", arn))
    first = ddb.put_resource_policy(ResourceArn=arn, Policy=doc)["RevisionId"]
    assert first.isdigit()
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert (got["Policy"], got["RevisionId"]) == (doc, first)
    # The same document again: idempotent, the same revision.
    assert ddb.put_resource_policy(ResourceArn=arn, Policy=doc)["RevisionId"] == first

    doc2 = policy(allow(ACCOUNT, ["dynamodb:GetItem", "dynamodb:Query"], arn))
    stale = error_of(lambda: ddb.put_resource_policy(ResourceArn=arn, Policy=doc2, ExpectedRevisionId="123"))
    assert stale["Code"] == "PolicyNotFoundException"
    assert stale["Message"] == (f"Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id 123, "
                                f"but the policy associated to target table {table} has revision id {first}.")
    exists = error_of(lambda: ddb.put_resource_policy(ResourceArn=arn, Policy=doc2, ExpectedRevisionId="NO_POLICY"))
    assert exists["Code"] == "PolicyNotFoundException"
    assert f"expecting none to be present for table {table}, but a policy exists with revision id {first}" in exists["Message"]
    second = ddb.put_resource_policy(ResourceArn=arn, Policy=doc2, ExpectedRevisionId=first)["RevisionId"]
    assert int(second) > int(first)
    assert ddb.get_resource_policy(ResourceArn=arn)["Policy"] == doc2

    assert error_of(lambda: ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=first))["Code"] == "PolicyNotFoundException"
    assert ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=second)["RevisionId"] == second
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn))["Code"] == "PolicyNotFoundException"
    # Deleting nothing is no error (but with an ExpectedRevisionId it is).
    assert "RevisionId" not in ddb.delete_resource_policy(ResourceArn=arn)
    assert error_of(lambda: ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=second))["Code"] == "PolicyNotFoundException"
    # NO_POLICY: attach only where none is.
    assert ddb.put_resource_policy(ResourceArn=arn, Policy=doc, ExpectedRevisionId="NO_POLICY")["RevisionId"].isdigit()


def test_create_table_with_a_policy_which_describe_table_does_not_show(ddb: Any) -> None:
    name = f"rp-{uuid.uuid4().hex[:10]}"
    doc = policy(allow(ACCOUNT, "dynamodb:*", [arn_of(name), f"{arn_of(name)}/index/*"]))
    out = create(ddb, name, ResourcePolicy=doc)
    assert ddb.get_resource_policy(ResourceArn=arn_of(out))["Policy"] == doc
    described = json.dumps(ddb.describe_table(TableName=name)["Table"], default=str)
    assert "Policy" not in described and "dynamodb:*" not in described
    # An invalid policy creates no table.
    bad = f"rp-{uuid.uuid4().hex[:10]}"
    err = error_of(lambda: create(ddb, bad, ResourcePolicy="{not json"))
    assert err["Code"] == "ValidationException"
    assert bad not in ddb.list_tables()["TableNames"]


def test_errors(ddb: Any) -> None:
    table = create(ddb, gsi=True)
    arn = arn_of(table)
    put = ddb.put_resource_policy

    def code(resource: str, doc: str) -> dict[str, Any]:
        return error_of(lambda: put(ResourceArn=resource, Policy=doc))

    good = policy(allow(ACCOUNT, "dynamodb:GetItem", arn))
    assert code(arn_of("rp-no-such-table"), good) == {"Code": "ResourceNotFoundException", "Message": "Requested resource not found: Table: rp-no-such-table not found"}
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn_of("rp-no-such-table")))["Code"] == "ResourceNotFoundException"
    assert error_of(lambda: ddb.delete_resource_policy(ResourceArn=arn_of("rp-no-such-table")))["Code"] == "ResourceNotFoundException"
    assert code(f"arn:aws:dynamodb:{REGION}:111122223333:table/{table}", good)["Code"] == "ResourceNotFoundException"  # another account's
    assert code(f"{arn}/stream/2020-01-01T00:00:00.000", good)["Code"] == "ResourceNotFoundException"
    # An index takes no policy of its own: the table's governs it.
    index = code(f"{arn}/index/byG", good)
    assert index["Code"] == "ValidationException" and "index" in index["Message"]
    assert code("not-an-arn", good)["Code"] == "ValidationException"

    for doc in (
        "{not json",
        "[]",
        json.dumps({"Version": "2011-01-01", "Statement": [allow(ACCOUNT, "dynamodb:GetItem", arn)]}),  # wrong Version
        json.dumps({"Version": "2012-10-17"}),  # no Statement
        policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": arn}),  # no Principal
        policy(allow("not-a-principal", "dynamodb:GetItem", arn)),
        policy({"Effect": "Allow", "Principal": {"CanonicalUser": "x"}, "Action": "dynamodb:GetItem", "Resource": arn}),
        policy(allow(ACCOUNT, "s3:GetObject", arn)),  # not a DynamoDB action
        policy(allow(ACCOUNT, "dynamodb:NoSuchAction", arn)),
        policy(allow(ACCOUNT, "dynamodb:GetRecords", arn)),  # a stream's action, on a table
        policy(allow(ACCOUNT, "dynamodb:GetItem", arn_of("rp-some-other-table"))),  # another resource
        policy(allow(ACCOUNT, "dynamodb:GetItem", "arn:aws:s3:::bucket")),
        policy({"Effect": "Maybe", "Principal": "*", "Action": "dynamodb:GetItem", "Resource": arn}),
        policy(allow(ACCOUNT, "dynamodb:GetItem", arn, Condition={"NoSuchOperator": {"aws:SourceIp": "1.2.3.4"}})),
        policy(allow(ACCOUNT, "dynamodb:GetItem", arn, Sid="a"), allow(ACCOUNT, "dynamodb:Query", arn, Sid="a")),  # duplicate Sid
    ):
        err = code(arn, doc)
        assert err["Code"] == "ValidationException", doc
    assert "Invalid policy document" in code(arn, "{not json")["Message"]

    # 20 KB, whitespace included: exactly at the limit is fine, one byte more is not.
    padded = good[:-1] + " " * (20 * 1024 - len(good)) + "}"
    assert len(padded.encode()) == 20 * 1024
    assert put(ResourceArn=arn, Policy=padded)["RevisionId"]
    too_large = code(arn, good[:-1] + " " * (20 * 1024 - len(good) + 1) + "}")
    assert too_large["Code"] == "ValidationException" and "20480" in too_large["Message"]
    # Resources the table's policy may name: the table and its indexes, also as patterns.
    assert put(ResourceArn=arn, Policy=policy(allow(ACCOUNT, "dynamodb:Query", [f"{arn}/index/byG", f"{arn}/index/*", arn,
                                                                                f"arn:aws:dynamodb:*:*:table/{table}"])))["RevisionId"]


def test_the_policy_goes_away_with_the_table_and_is_not_restored_from_a_backup(ddb: Any) -> None:
    table = create(ddb)
    arn = arn_of(table)
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(ACCOUNT, "dynamodb:GetItem", arn)))
    backup = ddb.create_backup(TableName=table, BackupName="rp-backup")["BackupDetails"]["BackupArn"]
    restored = f"{table}-restored"
    ddb.restore_table_from_backup(TargetTableName=restored, BackupArn=backup)
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn_of(restored)))["Code"] == "PolicyNotFoundException"
    assert ddb.get_resource_policy(ResourceArn=arn)["Policy"]
    ddb.delete_table(TableName=table)
    create(ddb, table)
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn))["Code"] == "PolicyNotFoundException"


# ------------------------------------------------------------------ enforcement
def test_a_user_without_identity_policy_reads_the_table_whose_policy_allows_it(ddb: Any, users: Users) -> None:
    name, client = users.create()
    open_table, closed_table = create(ddb, gsi=True), create(ddb)
    for t in (open_table, closed_table):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    arn = arn_of(open_table)
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(user_arn(name), ["dynamodb:GetItem", "dynamodb:Query"], arn)))
    assert client.get_item(TableName=open_table, Key={"pk": {"S": "a"}})["Item"]["pk"] == {"S": "a"}
    refused = error_of(lambda: client.get_item(TableName=closed_table, Key={"pk": {"S": "a"}}))
    assert refused["Code"] == "AccessDeniedException"
    assert refused["Message"] == (f"User: {user_arn(name)} is not authorized to perform: dynamodb:GetItem on resource: {arn_of(closed_table)} "
                                  "because no identity-based policy allows the dynamodb:GetItem action")
    assert error_of(lambda: client.put_item(TableName=open_table, Item={"pk": {"S": "b"}}))["Code"] == "AccessDeniedException"
    # The index's ARN is not named by the policy yet; then it is.
    query = {"TableName": open_table, "IndexName": "byG", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "x"}}}
    assert error_of(lambda: client.query(**query))["Code"] == "AccessDeniedException"
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(user_arn(name), ["dynamodb:GetItem", "dynamodb:Query"], [arn, f"{arn}/index/*"])))
    assert client.query(**query)["Count"] == 1
    # Gone with DeleteResourcePolicy.
    ddb.delete_resource_policy(ResourceArn=arn)
    assert error_of(lambda: client.get_item(TableName=open_table, Key={"pk": {"S": "a"}}))["Code"] == "AccessDeniedException"


def test_a_deny_in_the_resource_policy_beats_the_identity_policys_allow(ddb: Any, users: Users) -> None:
    name, client = users.create({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    table = create(ddb)
    arn = arn_of(table)
    client.put_item(TableName=table, Item={"pk": {"S": "a"}})
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy({"Effect": "Deny", "Principal": {"AWS": user_arn(name)}, "Action": "dynamodb:PutItem", "Resource": arn}))
    refused = error_of(lambda: client.put_item(TableName=table, Item={"pk": {"S": "b"}}))
    assert refused == {"Code": "AccessDeniedException",
                       "Message": f"User: {user_arn(name)} is not authorized to perform: dynamodb:PutItem on resource: {arn} with an explicit deny in a resource-based policy"}
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    # Tables are regional: us-west-2 has no table of that name (the identity policy allows the
    # call; the table is not found), and the same name made there is another table, which the
    # first table's policy does not govern.
    west = users.client(name, "dynamodb", region_name="us-west-2")
    assert error_of(lambda: west.put_item(TableName=table, Item={"pk": {"S": "b"}}))["Code"] == "ResourceNotFoundException"
    create(users.server.client("dynamodb", region_name="us-west-2"), table)
    assert west.put_item(TableName=table, Item={"pk": {"S": "b"}}) is not None
    assert "Item" not in west.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert error_of(lambda: client.put_item(TableName=table, Item={"pk": {"S": "b"}}))["Code"] == "AccessDeniedException"
    # A transaction's Put is authorized as dynamodb:PutItem on its table.
    assert error_of(lambda: client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "c"}}}}]))["Code"] == "AccessDeniedException"
    # A Deny for the account denies everyone in it (the root user too).
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy({"Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "dynamodb:GetItem", "Resource": arn}))
    assert error_of(lambda: client.get_item(TableName=table, Key={"pk": {"S": "a"}}))["Code"] == "AccessDeniedException"
    assert error_of(lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}))["Code"] == "AccessDeniedException"
    assert ddb.put_item(TableName=table, Item={"pk": {"S": "d"}}) is not None


def test_conditions_of_the_resource_policy_are_evaluated(ddb: Any, users: Users) -> None:
    name, client = users.create()
    table = create(ddb)
    arn = arn_of(table)
    for pk in ("mine", "theirs"):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}})
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(user_arn(name), "dynamodb:GetItem", arn,
                                                                 Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["mine"]}})))
    assert client.get_item(TableName=table, Key={"pk": {"S": "mine"}})["Item"]
    assert error_of(lambda: client.get_item(TableName=table, Key={"pk": {"S": "theirs"}}))["Code"] == "AccessDeniedException"
    # Policy variables too.
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow("*", "dynamodb:GetItem", arn,
                                                                 Condition={"StringEquals": {"aws:username": "${aws:username}", "dynamodb:LeadingKeys": "mine"}})))
    assert client.get_item(TableName=table, Key={"pk": {"S": "mine"}})["Item"]


def test_root_keeps_its_powers_but_for_an_explicit_deny(ddb: Any) -> None:
    table = create(ddb)
    arn = arn_of(table)
    # A policy that allows only someone else: root needs no Allow.
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(user_arn("someone-else"), "dynamodb:GetItem", arn)))
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    # A Deny naming everyone applies to root too ...
    deny_all = policy({"Effect": "Deny", "Principal": "*", "Action": "dynamodb:*", "Resource": arn})
    locked = error_of(lambda: ddb.put_resource_policy(ResourceArn=arn, Policy=deny_all))
    assert locked["Code"] == "ValidationException" and "ConfirmRemoveSelfResourceAccess" in locked["Message"]
    ddb.put_resource_policy(ResourceArn=arn, Policy=deny_all, ConfirmRemoveSelfResourceAccess=True)
    refused = error_of(lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}))
    assert refused["Code"] == "AccessDeniedException" and "explicit deny in a resource-based policy" in refused["Message"]
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn))["Code"] == "AccessDeniedException"
    # ... but root may always delete the policy, and is then back in.
    ddb.delete_resource_policy(ResourceArn=arn)
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]


def test_the_policy_operations_are_iam_actions(ddb: Any, users: Users) -> None:
    table = create(ddb)
    arn = arn_of(table)
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(ACCOUNT, "dynamodb:GetItem", arn)))
    _, nobody = users.create()
    for call in (lambda: nobody.get_resource_policy(ResourceArn=arn), lambda: nobody.delete_resource_policy(ResourceArn=arn),
                 lambda: nobody.put_resource_policy(ResourceArn=arn, Policy=policy(allow(ACCOUNT, "dynamodb:GetItem", arn)))):
        err = error_of(call)
        assert err["Code"] == "AccessDeniedException"
    assert "dynamodb:GetResourcePolicy on resource: " + arn in error_of(lambda: nobody.get_resource_policy(ResourceArn=arn))["Message"]
    _, reader = users.create({"Effect": "Allow", "Action": "dynamodb:GetResourcePolicy", "Resource": arn})
    assert reader.get_resource_policy(ResourceArn=arn)["Policy"]
    # CreateTable with a ResourcePolicy also needs dynamodb:PutResourcePolicy on the new table.
    _, creator = users.create({"Effect": "Allow", "Action": "dynamodb:CreateTable", "Resource": "*"})
    name = f"rp-{uuid.uuid4().hex[:10]}"
    err = error_of(lambda: create(creator, name, ResourcePolicy=policy(allow(ACCOUNT, "dynamodb:GetItem", arn_of(name)))))
    assert err["Code"] == "AccessDeniedException" and "dynamodb:PutResourcePolicy" in err["Message"]
    assert create(creator, name) == name


def test_confirm_remove_self_resource_access(ddb: Any, users: Users) -> None:
    name, admin = users.create({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    table = create(ddb)
    arn = arn_of(table)
    lockout = policy({"Effect": "Deny", "Principal": {"AWS": user_arn(name)}, "Action": "dynamodb:PutResourcePolicy", "Resource": arn})
    err = error_of(lambda: admin.put_resource_policy(ResourceArn=arn, Policy=lockout))
    assert err["Code"] == "ValidationException" and "ConfirmRemoveSelfResourceAccess" in err["Message"]
    assert error_of(lambda: admin.get_resource_policy(ResourceArn=arn))["Code"] == "PolicyNotFoundException"
    # Someone else's lockout needs no confirmation.
    assert ddb.put_resource_policy(ResourceArn=arn, Policy=lockout)["RevisionId"]
    ddb.delete_resource_policy(ResourceArn=arn)
    assert admin.put_resource_policy(ResourceArn=arn, Policy=lockout, ConfirmRemoveSelfResourceAccess=True)["RevisionId"]
    denied = error_of(lambda: admin.put_resource_policy(ResourceArn=arn, Policy=policy(allow(ACCOUNT, "dynamodb:GetItem", arn))))
    assert denied["Code"] == "AccessDeniedException"
    assert admin.get_resource_policy(ResourceArn=arn)["Policy"] == lockout


def test_an_assumed_role_session_is_named_by_its_role(server: EmulatorServer, ddb: Any, users: Users) -> None:
    name, _ = users.create({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    iam = server.client("iam")
    role_name = f"rp-role-{uuid.uuid4().hex[:8]}"
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    creds = users.client(name, "sts").assume_role(RoleArn=role, RoleSessionName="job")["Credentials"]
    session = server.client("dynamodb", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    table = create(ddb)
    arn = arn_of(table)
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    assert error_of(lambda: session.get_item(TableName=table, Key={"pk": {"S": "a"}}))["Code"] == "AccessDeniedException"
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(role, "dynamodb:GetItem", arn)))
    assert session.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy(allow(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/job", "dynamodb:GetItem", arn)))
    assert session.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]


def test_stream_policies(ddb: Any, users: Users) -> None:
    table = create(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    name, client = users.create()
    streams = users.client(name, "dynamodbstreams")
    assert error_of(lambda: streams.describe_stream(StreamArn=stream))["Code"] == "AccessDeniedException"
    # A stream's policy names the stream and stream actions only.
    table_action = error_of(lambda: ddb.put_resource_policy(ResourceArn=stream, Policy=policy(allow(ACCOUNT, "dynamodb:GetItem", stream))))
    assert table_action["Code"] == "ValidationException"
    assert error_of(lambda: ddb.put_resource_policy(ResourceArn=stream, Policy=policy(allow(ACCOUNT, "dynamodb:GetRecords", arn_of(table)))))["Code"] == "ValidationException"
    doc = policy(allow(user_arn(name), ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"], stream))
    ddb.put_resource_policy(ResourceArn=stream, Policy=doc)
    assert ddb.get_resource_policy(ResourceArn=stream)["Policy"] == doc
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn_of(table)))["Code"] == "PolicyNotFoundException"
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["eventName"] for r in streams.get_records(ShardIterator=iterator)["Records"]] == ["INSERT"]
    # The stream's policy is not the table's.
    assert error_of(lambda: client.get_item(TableName=table, Key={"pk": {"S": "a"}}))["Code"] == "AccessDeniedException"
    ddb.delete_table(TableName=table)
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=stream))["Code"] == "ResourceNotFoundException"


def test_reset_forgets_policies(server: EmulatorServer, ddb: Any) -> None:
    table = create(ddb)
    arn = arn_of(table)
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy({"Effect": "Deny", "Principal": "*", "Action": "dynamodb:PutItem", "Resource": arn}))
    server.reset(services=["dynamodb"])
    create(ddb, table)
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn))["Code"] == "PolicyNotFoundException"
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})


# ------------------------------------------------------------------ restart (SQLite)
def test_a_restart_keeps_the_policy_and_its_enforcement(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path).start()
    try:
        ddb = server.client("dynamodb")
        users = Users(server)
        name, _ = users.create()
        table = create(ddb)
        arn = arn_of(table)
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
        doc = policy(allow(user_arn(name), "dynamodb:GetItem", arn))
        revision = ddb.put_resource_policy(ResourceArn=arn, Policy=doc)["RevisionId"]
        server.stop()
        server.start()
        ddb = server.client("dynamodb")
        got = ddb.get_resource_policy(ResourceArn=arn)
        assert (got["Policy"], got["RevisionId"]) == (doc, revision)
        client = Users(server).iam.create_access_key(UserName=name)["AccessKey"]
        user_ddb = server.client("dynamodb", aws_access_key_id=client["AccessKeyId"], aws_secret_access_key=client["SecretAccessKey"])
        assert user_ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
        assert "policy" not in json.dumps(ddb.describe_table(TableName=table)["Table"], default=str).lower()
    finally:
        server.cleanup()


# ------------------------------------------------------------------ evaluation (unit)
def test_principals_and_the_combination_with_identity_policies() -> None:
    """What the authorizer joins, including callers of another account (which this emulator,
    with one account, never has on the wire)."""
    arn = arn_of("t")
    other = "111122223333"
    doc, _ = parse_resource_policy(policy(
        allow(other, "dynamodb:GetItem", arn),
        allow(user_arn("alice"), "dynamodb:PutItem", arn),
        allow(ACCOUNT, "dynamodb:Query", arn),
        {"Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "dynamodb:DeleteItem", "Resource": arn},
        {"Effect": "Deny", "NotPrincipal": {"AWS": user_arn("alice")}, "Action": "dynamodb:UpdateItem", "Resource": arn},
    ), ACCOUNT)
    alice = caller_of(user_arn("alice"), ACCOUNT, False, {"aws:principalarn": f"arn:aws:iam::{ACCOUNT}:user/team/alice"})
    bob = caller_of(user_arn("bob"), ACCOUNT, False)
    root = caller_of(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, True)
    stranger = caller_of(f"arn:aws:iam::{other}:user/carol", other, False)

    def decide(caller: Any, action: str) -> str:
        return doc.for_caller(caller).evaluate(action, arn).decision

    assert decide(alice, "dynamodb:PutItem") == ALLOWED
    assert decide(bob, "dynamodb:PutItem") == IMPLICIT_DENY
    # The own account in an Allow: its root user; its users still need an identity policy.
    assert (decide(root, "dynamodb:Query"), decide(bob, "dynamodb:Query")) == (ALLOWED, IMPLICIT_DENY)
    # ... in a Deny: everyone in it.
    assert {decide(c, "dynamodb:DeleteItem") for c in (alice, bob, root)} == {EXPLICIT_DENY}
    assert (decide(alice, "dynamodb:UpdateItem"), decide(bob, "dynamodb:UpdateItem")) == (IMPLICIT_DENY, EXPLICIT_DENY)
    # Another account named in an Allow: delegated to its principals.
    assert decide(stranger, "dynamodb:GetItem") == ALLOWED

    def joined(identity: str, resource: str | None, same: bool) -> tuple[str, str]:
        d = combine("dynamodb:GetItem", arn, Decision(identity, "dynamodb:GetItem", arn),
                    None if resource is None else Decision(resource, "dynamodb:GetItem", arn), same)
        return d.decision, d.source

    assert joined(ALLOWED, None, True) == (ALLOWED, "identity")
    assert joined(IMPLICIT_DENY, ALLOWED, True) == (ALLOWED, "resource")
    assert joined(ALLOWED, EXPLICIT_DENY, True) == (EXPLICIT_DENY, "resource")
    assert joined(EXPLICIT_DENY, ALLOWED, True) == (EXPLICIT_DENY, "identity")
    assert joined(IMPLICIT_DENY, IMPLICIT_DENY, True)[0] == IMPLICIT_DENY
    # Another account's caller needs both.
    assert joined(ALLOWED, ALLOWED, False)[0] == ALLOWED
    assert joined(ALLOWED, None, False) == (IMPLICIT_DENY, "resource")
    assert joined(IMPLICIT_DENY, ALLOWED, False)[0] == IMPLICIT_DENY
