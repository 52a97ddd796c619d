"""Every protocol through a real server and unmodified boto3 clients.

The services are scripted (protocol_server.ScriptedHandler): the handler sees
what our parse() produced, boto3 sees what our serialize() wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import botocore.model
import pytest
from botocore.exceptions import ClientError, EventStreamError
from protocol_server import ProtocolServer

from emulator.errors import AwsError

T0 = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
NATIVE = ("sts", "ec2", "bedrock-runtime", "cloudwatch", "dynamodb", "logs", "iam", "lambda", "route53")


@pytest.fixture(scope="module")
def server() -> Iterator[ProtocolServer]:
    srv = ProtocolServer(NATIVE).start()
    try:
        yield srv
    finally:
        srv.stop()


def _client_error(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    return info.value.response


def _last_call(server: ProtocolServer, service: str) -> tuple[str, dict[str, Any]]:
    return server.handlers[service].calls[-1]


# ------------------------------------------------------------------ query
def test_query_sts_round_trip(server: ProtocolServer) -> None:
    server.script(
        "sts",
        "AssumeRole",
        lambda p: {
            "Credentials": {"AccessKeyId": "ASIA1", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": T0},
            "AssumedRoleUser": {"AssumedRoleId": "AROA:x", "Arn": p["RoleArn"] + "/" + p["RoleSessionName"]},
            "PackedPolicySize": 7,
        },
    )
    sts = server.client("sts")
    out = sts.assume_role(
        RoleArn="arn:aws:iam::000000000000:role/r",
        RoleSessionName="sess",
        DurationSeconds=900,
        PolicyArns=[{"arn": "arn:aws:iam::aws:policy/A1234567890123456789"}, {"arn": "arn:aws:iam::aws:policy/B1234567890123456789"}],
        Tags=[{"Key": "k", "Value": "v & <w>"}],
    )
    op, params = _last_call(server, "sts")
    assert op == "AssumeRole"
    assert params["DurationSeconds"] == 900
    assert [p["arn"] for p in params["PolicyArns"]] == ["arn:aws:iam::aws:policy/A1234567890123456789", "arn:aws:iam::aws:policy/B1234567890123456789"]
    assert params["Tags"] == [{"Key": "k", "Value": "v & <w>"}]
    assert out["Credentials"]["Expiration"] == T0
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:iam::000000000000:role/r/sess"
    assert out["PackedPolicySize"] == 7
    assert out["ResponseMetadata"]["RequestId"] == out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_query_error(server: ProtocolServer) -> None:
    server.script("iam", "GetUser", AwsError("NoSuchEntity", "The user with name nobody cannot be found.", 404))
    resp = _client_error(server.client("iam").get_user, UserName="nobody")
    assert resp["Error"]["Code"] == "NoSuchEntity"
    assert resp["Error"]["Message"] == "The user with name nobody cannot be found."
    assert resp["Error"]["Type"] == "Sender"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert resp["ResponseMetadata"]["RequestId"]


def test_query_modeled_error_class(server: ProtocolServer) -> None:
    server.script("iam", "CreateUser", AwsError("EntityAlreadyExists", "User with name bob already exists.", 409))
    iam = server.client("iam")
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as info:
        iam.create_user(UserName="bob")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


# ------------------------------------------------------------------ ec2
def test_ec2_round_trip(server: ProtocolServer) -> None:
    server.script(
        "ec2",
        "RunInstances",
        lambda p: {
            "ReservationId": "r-1",
            "OwnerId": "000000000000",
            "Instances": [
                {
                    "InstanceId": f"i-{n}",
                    "ImageId": p["ImageId"],
                    "State": {"Code": 16, "Name": "running"},
                    "LaunchTime": T0,
                    "EbsOptimized": p.get("EbsOptimized", False),
                    "Tags": p["TagSpecifications"][0]["Tags"],
                    "SecurityGroups": [{"GroupId": g, "GroupName": g} for g in p["SecurityGroupIds"]],
                }
                for n in range(p["MaxCount"])
            ],
        },
    )
    ec2 = server.client("ec2")
    out = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=2,
        SecurityGroupIds=["sg-1", "sg-2"],
        EbsOptimized=True,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}],
    )
    _, params = _last_call(server, "ec2")
    assert params["MaxCount"] == 2 and params["EbsOptimized"] is True
    assert params["SecurityGroupIds"] == ["sg-1", "sg-2"]
    assert params["TagSpecifications"] == [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}]
    assert [i["InstanceId"] for i in out["Instances"]] == ["i-0", "i-1"]
    assert out["Instances"][0]["LaunchTime"] == T0
    assert out["Instances"][1]["SecurityGroups"][1]["GroupId"] == "sg-2"
    assert out["Instances"][0]["Tags"] == [{"Key": "Name", "Value": "web"}]


def test_ec2_filters_and_error(server: ProtocolServer) -> None:
    server.script("ec2", "DescribeInstances", AwsError("InvalidInstanceID.NotFound", "The instance ID 'i-404' does not exist", 400))
    ec2 = server.client("ec2")
    resp = _client_error(ec2.describe_instances, InstanceIds=["i-404"], Filters=[{"Name": "instance-state-name", "Values": ["running", "stopped"]}])
    assert resp["Error"]["Code"] == "InvalidInstanceID.NotFound"
    assert resp["Error"]["Message"] == "The instance ID 'i-404' does not exist"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    _, params = _last_call(server, "ec2")
    assert params == {"InstanceIds": ["i-404"], "Filters": [{"Name": "instance-state-name", "Values": ["running", "stopped"]}]}


# ------------------------------------------------------------------ rest-json
def test_rest_json_converse(server: ProtocolServer) -> None:
    server.script(
        "bedrock-runtime",
        "Converse",
        lambda p: {
            "output": {"message": {"role": "assistant", "content": [{"text": "echo: " + p["messages"][0]["content"][0]["text"]}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
            "metrics": {"latencyMs": 12},
        },
    )
    br = server.client("bedrock-runtime")
    out = br.converse(modelId="arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.meta.llama3:0", messages=[{"role": "user", "content": [{"text": "hi"}]}], inferenceConfig={"maxTokens": 8, "temperature": 0.25})
    _, params = _last_call(server, "bedrock-runtime")
    assert params["modelId"] == "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.meta.llama3:0"
    assert params["inferenceConfig"] == {"maxTokens": 8, "temperature": 0.25}
    assert out["output"]["message"]["content"][0]["text"] == "echo: hi"
    assert out["usage"]["totalTokens"] == 5


def test_rest_json_blob_payload_and_headers(server: ProtocolServer) -> None:
    server.script("bedrock-runtime", "InvokeModel", lambda p: {"body": p["body"][::-1], "contentType": "application/x-test"})
    br = server.client("bedrock-runtime")
    out = br.invoke_model(modelId="arn:aws:bedrock:us-east-1:000000000000:inference-profile/x.y", body=b'{"prompt": "x"}', contentType="application/json", accept="application/json", trace="ENABLED")
    _, params = _last_call(server, "bedrock-runtime")
    assert params == {"modelId": "arn:aws:bedrock:us-east-1:000000000000:inference-profile/x.y", "body": b'{"prompt": "x"}', "contentType": "application/json", "accept": "application/json", "trace": "ENABLED"}
    assert out["body"].read() == b'{"prompt": "x"}'[::-1]
    assert out["contentType"] == "application/x-test"


def test_rest_json_error(server: ProtocolServer) -> None:
    server.script("bedrock-runtime", "Converse", AwsError("ValidationException", "The provided model identifier is invalid.", 400))
    br = server.client("bedrock-runtime")
    with pytest.raises(br.exceptions.ValidationException) as info:
        br.converse(modelId="nope.model", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    resp = info.value.response
    assert resp["Error"]["Code"] == "ValidationException"
    assert resp["Error"]["Message"] == "The provided model identifier is invalid."
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_rest_json_event_stream(server: ProtocolServer) -> None:
    async def events(p: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        yield {"messageStart": {"role": "assistant"}}
        for i, word in enumerate(["one ", "two ", "three"]):
            yield {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": word}}}
            assert i < 3
        yield {"contentBlockStop": {"contentBlockIndex": 0}}
        yield {"messageStop": {"stopReason": "end_turn"}}
        yield {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 3, "totalTokens": 4}, "metrics": {"latencyMs": 1}}}

    server.script("bedrock-runtime", "ConverseStream", lambda p: {"stream": events(p)})
    br = server.client("bedrock-runtime")
    out = br.converse_stream(modelId="m", messages=[{"role": "user", "content": [{"text": "count"}]}])
    got = list(out["stream"])
    assert got[0] == {"messageStart": {"role": "assistant"}}
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in got if "contentBlockDelta" in e) == "one two three"
    assert got[-1]["metadata"]["usage"]["totalTokens"] == 4
    assert out["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"


def test_rest_json_event_stream_error_mid_stream(server: ProtocolServer) -> None:
    async def events(p: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        yield {"messageStart": {"role": "assistant"}}
        raise AwsError("ModelStreamErrorException", "The model failed mid-stream.", 424)

    server.script("bedrock-runtime", "ConverseStream", lambda p: {"stream": events(p)})
    br = server.client("bedrock-runtime")
    out = br.converse_stream(modelId="m", messages=[{"role": "user", "content": [{"text": "x"}]}])
    stream = iter(out["stream"])
    assert next(stream) == {"messageStart": {"role": "assistant"}}
    with pytest.raises(EventStreamError) as info:
        next(stream)
    assert info.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert info.value.response["Error"]["Message"] == "The model failed mid-stream."


# ------------------------------------------------------------------ json
def test_json_dynamodb(server: ProtocolServer) -> None:
    server.script(
        "dynamodb",
        "DescribeTable",
        lambda p: {"Table": {"TableName": p["TableName"], "CreationDateTime": T0, "ItemCount": 3, "TableStatus": "ACTIVE"}},
    )
    ddb = server.client("dynamodb")
    out = ddb.describe_table(TableName="table-1")
    assert out["Table"]["CreationDateTime"] == T0 and out["Table"]["ItemCount"] == 3
    server.script("dynamodb", "GetItem", AwsError("ResourceNotFoundException", "Requested resource not found", 400))
    with pytest.raises(ddb.exceptions.ResourceNotFoundException) as info:
        ddb.get_item(TableName="table-1", Key={"pk": {"B": b"\x00\xff"}})
    assert info.value.response["Error"]["Message"] == "Requested resource not found"
    _, params = _last_call(server, "dynamodb")
    assert params["Key"] == {"pk": {"B": b"\x00\xff"}}


# ------------------------------------------------------------------ cloudwatch: json (query mode), cbor, query
def _cw_scripts(server: ProtocolServer) -> None:
    server.script("cloudwatch", "PutMetricData", {})
    server.script(
        "cloudwatch",
        "GetMetricData",
        lambda p: {"MetricDataResults": [{"Id": q["Id"], "Label": q["Id"], "Timestamps": [p["StartTime"]], "Values": [1.5], "StatusCode": "Complete"} for q in p["MetricDataQueries"]]},
    )
    server.script("cloudwatch", "DescribeAlarms", AwsError("InvalidNextToken", "The next token specified is invalid.", 400))


@pytest.mark.parametrize("wire", ["json", "smithy-rpc-v2-cbor", "query"])
def test_cloudwatch_every_wire_protocol(server: ProtocolServer, monkeypatch: pytest.MonkeyPatch, wire: str) -> None:
    # botocore picks the first protocol of its priority list that the model offers; put ours first.
    order = (wire, *(p for p in botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS if p != wire))
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", order)
    _cw_scripts(server)
    cw = server.client("cloudwatch")
    assert cw.meta.service_model.resolved_protocol == wire
    cw.put_metric_data(
        Namespace="App",
        MetricData=[{"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": T0, "Values": [1.0, 2.5], "Counts": [1.0, 2.0], "Unit": "Milliseconds"}],
    )
    _, params = _last_call(server, "cloudwatch")
    assert params["MetricData"][0]["Timestamp"] == T0
    assert params["MetricData"][0]["Values"] == [1.0, 2.5]
    assert params["MetricData"][0]["Dimensions"] == [{"Name": "Host", "Value": "a"}]
    out = cw.get_metric_data(
        MetricDataQueries=[{"Id": "q1", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Latency"}, "Period": 60, "Stat": "Sum"}}],
        StartTime=T0,
        EndTime=T0 + dt.timedelta(hours=1),
    )
    assert out["MetricDataResults"] == [{"Id": "q1", "Label": "q1", "Timestamps": [T0], "Values": [1.5], "StatusCode": "Complete"}]
    with pytest.raises(cw.exceptions.InvalidNextToken) as info:
        cw.describe_alarms(NextToken="bad")
    assert info.value.response["Error"]["Code"] == "InvalidNextToken"
    assert info.value.response["Error"]["Message"] == "The next token specified is invalid."
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsupported_operation_is_an_aws_error(server: ProtocolServer) -> None:
    resp = _client_error(server.client("logs").describe_destinations)
    assert resp["Error"]["Code"] == "UnknownOperationException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_rest_json_no_content_and_status_code_member(server: ProtocolServer) -> None:
    server.script("lambda", "DeleteLayerVersion", {})
    lam = server.client("lambda")
    out = lam.delete_layer_version(LayerName="layer-1", VersionNumber=3)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert out["ResponseMetadata"]["HTTPHeaders"]["content-length"] == "0"
    assert _last_call(server, "lambda") == ("DeleteLayerVersion", {"LayerName": "layer-1", "VersionNumber": 3})
    server.script("lambda", "Invoke", lambda p: {"StatusCode": 202, "Payload": p.get("Payload", b"")})
    out = lam.invoke(FunctionName="fn-1", InvocationType="Event", Payload=b'{"k": 1}', ClientContext="e30=")
    assert out["StatusCode"] == 202 and out["Payload"].read() == b'{"k": 1}'
    assert _last_call(server, "lambda")[1] == {"FunctionName": "fn-1", "InvocationType": "Event", "Payload": b'{"k": 1}', "ClientContext": "e30="}


def test_rest_xml_through_server(server: ProtocolServer) -> None:
    server.script(
        "route53",
        "CreateHostedZone",
        lambda p: {
            "HostedZone": {"Id": "/hostedzone/Z1", "Name": p["Name"], "CallerReference": p["CallerReference"], "Config": p.get("HostedZoneConfig", {})},
            "ChangeInfo": {"Id": "/change/C1", "Status": "PENDING", "SubmittedAt": T0},
            "DelegationSet": {"NameServers": ["ns1.example", "ns2.example"]},
            "Location": "https://route53.amazonaws.com/2013-04-01/hostedzone/Z1",
        },
    )
    r53 = server.client("route53")
    out = r53.create_hosted_zone(Name="example.com.", CallerReference="ref-1", HostedZoneConfig={"Comment": "c & d", "PrivateZone": False})
    _, params = _last_call(server, "route53")
    assert params == {"Name": "example.com.", "CallerReference": "ref-1", "HostedZoneConfig": {"Comment": "c & d", "PrivateZone": False}}
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["Location"].endswith("/Z1") and out["ChangeInfo"]["SubmittedAt"] == T0
    assert out["DelegationSet"]["NameServers"] == ["ns1.example", "ns2.example"]
    assert out["HostedZone"]["Config"] == {"Comment": "c & d", "PrivateZone": False}
    server.script("route53", "GetHostedZone", AwsError("NoSuchHostedZone", "No hosted zone found with ID: Z9", 404))
    with pytest.raises(r53.exceptions.NoSuchHostedZone) as info:
        r53.get_hosted_zone(Id="Z9")
    assert info.value.response["Error"]["Message"] == "No hosted zone found with ID: Z9"
    assert _last_call(server, "route53")[1] == {"Id": "Z9"}


def test_fallback_services_and_gateway_errors_in_each_protocol(server: ProtocolServer) -> None:
    """moto answers what is not native; errors raised before dispatch use the request's protocol."""
    sns = server.client("sns")
    arn = sns.create_topic(Name="t1")["TopicArn"]
    assert arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    for service, call in [("sns", "list_topics"), ("ec2", "describe_instances"), ("dynamodb", "list_tables"), ("bedrock-runtime", "list_async_invokes"), ("route53", "list_hosted_zones")]:
        client = server.client(service, aws_secret_access_key="wrong-secret-key-000000000000000000000000")
        resp = _client_error(getattr(client, call))
        # The code is the gateway's choice (EC2 says AuthFailure); the protocol must carry it intact.
        assert resp["ResponseMetadata"]["HTTPStatusCode"] in (401, 403), (service, resp)
        assert resp["Error"]["Code"] in ("SignatureDoesNotMatch", "AuthFailure", "InvalidSignatureException"), (service, resp)
        assert resp["Error"]["Message"]
