"""Protocol details the generated round trips do not pin down, and every protocol's error shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from protocol_shapegen import SESSION, botocore_parse, build_request

from emulator.errors import AwsError
from emulator.protocols import get_protocol
from emulator.protocols.base import Request
from emulator.protocols.detect import detect
from emulator.protocols.query import build_tree
from emulator.protocols.rest import split_header_list, uri_pattern
from emulator.protocols.xml import format_timestamp

T_MS = dt.datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=dt.UTC)


def _op(service: str, name: str) -> Any:
    return SESSION.get_service_model(service).operation_model(name)


def _form(body: str) -> Request:
    return Request("POST", "/", "/", "", {"content-type": "application/x-www-form-urlencoded"}, body.encode(), request_id="rid-9")


# ------------------------------------------------------------------ errors, every protocol
ERROR_CASES = [
    ("json", "dynamodb", "ResourceNotFoundException", 400),
    ("json", "cloudwatch", "ResourceNotFound", 404),
    ("query", "iam", "NoSuchEntity", 404),
    ("query", "sts", "ExpiredTokenException", 400),
    ("ec2", "ec2", "InvalidInstanceID.NotFound", 400),
    ("rest-json", "bedrock-runtime", "ThrottlingException", 429),
    ("rest-json", "lambda", "ResourceNotFoundException", 404),
    ("rest-xml", "s3", "NoSuchKey", 404),
    ("rest-xml", "route53", "NoSuchHostedZone", 404),
    ("smithy-rpc-v2-cbor", "cloudwatch", "LimitExceeded", 400),
    ("query", None, "InternalFailure", 500),
]


@pytest.mark.parametrize(("protocol", "service", "code", "status"), ERROR_CASES)
def test_error_shape_reads_back_in_botocore(protocol: str, service: str | None, code: str, status: int) -> None:
    model = SESSION.get_service_model(service) if service else None
    message = 'Nothing here: <"&">'
    response = get_protocol(protocol).serialize_error(AwsError(code, message, status), model, None, "req-err-1")
    parsed = botocore_parse(protocol, None, response)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == message
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
    if protocol in ("query", "ec2", "rest-xml"):
        assert parsed["ResponseMetadata"]["RequestId"] == "req-err-1"
    if protocol in ("query", "json", "smithy-rpc-v2-cbor") and service == "cloudwatch":
        assert parsed["Error"].get("Type", "Sender") == "Sender"


def test_server_fault_type_is_receiver() -> None:
    response = get_protocol("smithy-rpc-v2-cbor").serialize_error(AwsError("InternalServiceFault", "oops", 500), SESSION.get_service_model("cloudwatch"), None, "r")
    assert response.headers["x-amzn-query-error"] == "InternalServiceFault;Receiver"
    assert botocore_parse("smithy-rpc-v2-cbor", None, response)["Error"]["Type"] == "Receiver"


# ------------------------------------------------------------------ query
def test_query_tree_and_lists() -> None:
    assert build_tree({"A.member.1.B": "x", "A.member.2.B": "y"}) == {"A": {"member": {"1": {"B": {"": "x"}}, "2": {"B": {"": "y"}}}}}
    op = _op("sts", "AssumeRole")
    q = get_protocol("query")
    # out-of-order indexes are sorted; an explicit empty list is []
    params = q.parse(_form("RoleArn=r&RoleSessionName=s&PolicyArns.member.2.arn=b&PolicyArns.member.1.arn=a&TransitiveTagKeys="), op)
    assert params == {"RoleArn": "r", "RoleSessionName": "s", "PolicyArns": [{"arn": "a"}, {"arn": "b"}], "TransitiveTagKeys": []}


def test_query_reads_get_query_strings() -> None:
    op = _op("sts", "GetCallerIdentity")
    req = Request("GET", "/", "/", "Action=GetCallerIdentity&Version=2011-06-15", {}, b"")
    assert get_protocol("query").parse(req, op) == {}
    op = _op("iam", "ListUsers")
    req = Request("GET", "/", "/", "Action=ListUsers&Version=2010-05-08&MaxItems=5&PathPrefix=%2Fa%2F", {}, b"")
    assert get_protocol("query").parse(req, op) == {"MaxItems": 5, "PathPrefix": "/a/"}


@pytest.mark.parametrize("body", ["DurationSeconds=1.5", "DurationSeconds=", "DurationSeconds.member.1=3"])
def test_query_bad_values(body: str) -> None:
    with pytest.raises(AwsError) as info:
        get_protocol("query").parse(_form("RoleArn=r&RoleSessionName=s&" + body), _op("sts", "AssumeRole"))
    assert info.value.status == 400 and info.value.code == "InvalidParameterValue"


def test_query_response_escapes_and_timestamps() -> None:
    op = _op("iam", "GetUser")
    text = 'a&b<c>"d"\r\ne\tf'
    out = {"User": {"Path": "/", "UserName": text, "UserId": "AIDA", "Arn": "arn", "CreateDate": T_MS}}
    response = get_protocol("query").serialize(op, out, _form(""))
    assert b"<CreateDate>2024-02-03T04:05:06.789Z</CreateDate>" in response.body
    parsed = botocore_parse("query", op, response)
    assert parsed["User"]["UserName"] == text
    assert parsed["User"]["CreateDate"] == T_MS
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult>')


def test_query_operation_without_output() -> None:
    op = _op("iam", "DeleteUser")
    response = get_protocol("query").serialize(op, {}, _form(""))
    assert b"<DeleteUserResponse" in response.body and b"<RequestId>rid-9</RequestId>" in response.body
    assert botocore_parse("query", op, response)["ResponseMetadata"]["RequestId"] == "rid-9"


def test_query_serializes_cloudwatch_for_old_clients() -> None:
    """Models that moved to json/cbor lost their resultWrapper; the query answer still needs one."""
    op = _op("cloudwatch", "ListMetrics")
    response = get_protocol("query").serialize(op, {"Metrics": [{"Namespace": "n", "MetricName": "m"}]}, _form(""))
    assert b"<ListMetricsResult><Metrics><member>" in response.body


# ------------------------------------------------------------------ ec2
def test_ec2_names_and_lists() -> None:
    op = _op("ec2", "DescribeInstances")
    params = {"InstanceIds": ["i-1", "i-2"], "Filters": [{"Name": "tag:Name", "Values": ["a", "b"]}], "MaxResults": 5, "DryRun": False}
    req = build_request(op, params, "ec2")
    assert b"InstanceId.1=i-1" in req.body and b"Filter.1.Value.2=b" in req.body
    assert get_protocol("ec2").parse(req, op) == params


def test_ec2_response_layout() -> None:
    op = _op("ec2", "DescribeInstances")
    out = {"Reservations": [{"ReservationId": "r-1", "Instances": [{"InstanceId": "i-1", "LaunchTime": T_MS}]}]}
    response = get_protocol("ec2").serialize(op, out, _form(""))
    body = response.body.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>rid-9</requestId>')
    assert "<reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId>" in body
    parsed = botocore_parse("ec2", op, response)
    assert parsed["Reservations"][0]["Instances"][0]["LaunchTime"] == T_MS
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"


def test_ec2_error_layout() -> None:
    response = get_protocol("ec2").serialize_error(AwsError("InvalidAMIID.Malformed", "Invalid id: \"ami-x\"", 400), None, None, "rid-e")
    assert response.body.endswith(b"</Errors><RequestID>rid-e</RequestID></Response>")


# ------------------------------------------------------------------ rest
def test_uri_patterns() -> None:
    pattern, labels = uri_pattern("/{Bucket}/{Key+}?uploads")
    m = pattern.match("/b/a/b%2Fc/d")
    assert m is not None and labels == ("Bucket", "Key") and m.groups() == ("b", "a/b%2Fc/d")
    pattern, labels = uri_pattern("/model/{modelId}/converse")
    assert pattern.match("/model/a%2Fb/converse") and not pattern.match("/model/a/b/converse")


def test_header_lists() -> None:
    assert split_header_list('a, "b,c", "d\\"e"') == ["a", "b,c", 'd"e']


def test_rest_json_status_code_headers_and_jsonvalue() -> None:
    op = _op("lambda", "Invoke")
    response = get_protocol("rest-json").serialize(op, {"StatusCode": 202, "FunctionError": "Unhandled", "LogResult": "bG9n", "Payload": b'{"x": 1}', "ExecutedVersion": "$LATEST"}, None)  # type: ignore[arg-type]
    assert response.status == 202
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    parsed = botocore_parse("rest-json", op, response)
    assert parsed["StatusCode"] == 202 and parsed["ExecutedVersion"] == "$LATEST"
    assert parsed["Payload"].read() == b'{"x": 1}'


def test_rest_json_query_and_timestamps() -> None:
    op = _op("lambda", "ListFunctions")
    req = build_request(op, {"MaxItems": 5, "Marker": "a b&c", "FunctionVersion": "ALL"})
    assert get_protocol("rest-json").parse(req, op) == {"MaxItems": 5, "Marker": "a b&c", "FunctionVersion": "ALL"}


def test_rest_xml_payload_and_attributes() -> None:
    op = _op("s3", "PutBucketAcl")
    params = {"Bucket": "bk", "AccessControlPolicy": {"Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "READ"}], "Owner": {"ID": "o"}}}
    req = build_request(op, params)
    assert b"xsi:type" in req.body
    assert get_protocol("rest-xml").parse(req, op) == params
    op = _op("s3", "GetObjectAcl")
    out = {"Owner": {"ID": "o"}, "Grants": [{"Grantee": {"Type": "Group", "URI": "http://acs"}, "Permission": "READ"}]}
    parsed = botocore_parse("rest-xml", op, get_protocol("rest-xml").serialize(op, out, req))
    parsed.pop("ResponseMetadata")
    assert parsed == out


@pytest.mark.parametrize(
    "body",
    [b"<not-closed>", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>".encode("utf-16")],
)
def test_rest_xml_malformed(body: bytes) -> None:
    op = _op("s3", "PutBucketTagging")
    req = Request("PUT", "/bk", "/bk", "tagging", {"content-type": "application/xml"}, body)
    with pytest.raises(AwsError) as info:
        get_protocol("rest-xml").parse(req, op)
    assert info.value.code == "MalformedXML" and info.value.status == 400


def test_timestamp_formats() -> None:
    assert format_timestamp(T_MS, None) == "2024-02-03T04:05:06.789Z"
    assert format_timestamp(T_MS, "rfc822") == "Sat, 03 Feb 2024 04:05:06 GMT"
    assert format_timestamp(T_MS.replace(microsecond=0), "unixTimestamp") == "1706933106"


# ------------------------------------------------------------------ detection
def test_detect_smithy_cbor_path() -> None:
    req = build_request(_op("cloudwatch", "ListMetrics"), {"Namespace": "n"}, "smithy-rpc-v2-cbor")
    found = detect(req)
    assert (found.service, found.operation, found.protocol) == ("cloudwatch", "ListMetrics", "smithy-rpc-v2-cbor")


def test_detect_rest_label_with_encoded_slash() -> None:
    req = build_request(_op("bedrock-runtime", "Converse"), {"modelId": "arn:aws:bedrock:us-east-1:000000000000:inference-profile/x.y", "messages": []})
    req.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=x"
    found = detect(req)
    assert (found.service, found.operation) == ("bedrock-runtime", "Converse")
    assert get_protocol("rest-json").parse(req, _op("bedrock-runtime", "Converse"))["modelId"].endswith("inference-profile/x.y")


def test_detect_query_services_sharing_a_signing_name() -> None:
    """RDS, DocumentDB and Neptune sign as "rds" with API version 2014-10-31: the request is
    RDS's (it was named DocumentDB's, the first of the three by name, and validated against
    DocumentDB's model, which refused a valid RDS CreateDBInstance)."""
    req = build_request(_op("rds", "CreateDBInstance"), {"DBInstanceIdentifier": "db1", "DBInstanceClass": "db.t3.micro", "Engine": "postgres"}, "query")
    req.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/rds/aws4_request, SignedHeaders=host, Signature=x"
    found = detect(req)
    assert (found.service, found.operation) == ("rds", "CreateDBInstance")


# ------------------------------------------------------------------ event streams in other protocols
def _stream_model(protocol: str) -> Any:
    from botocore.model import ServiceModel

    return ServiceModel(
        {
            "metadata": {"protocol": protocol, "protocols": [protocol], "apiVersion": "2020-01-01", "targetPrefix": "Svc", "endpointPrefix": "svc", "signatureVersion": "v4", "jsonVersion": "1.0"},
            "operations": {"Watch": {"name": "Watch", "http": {"method": "POST", "requestUri": "/watch"}, "input": {"shape": "In"}, "output": {"shape": "Out"}}},
            "shapes": {
                "In": {"type": "structure", "members": {}},
                "Out": {"type": "structure", "members": {"Count": {"shape": "Int"}, "Events": {"shape": "Stream"}}, "payload": "Events"},
                "Stream": {"type": "structure", "eventstream": True, "members": {"Tick": {"shape": "Tick"}, "Oops": {"shape": "Oops"}}},
                "Tick": {"type": "structure", "event": True, "members": {"N": {"shape": "Int"}, "At": {"shape": "Ts"}}},
                "Oops": {"type": "structure", "exception": True, "members": {"Message": {"shape": "Str"}}},
                "Int": {"type": "integer"},
                "Ts": {"type": "timestamp"},
                "Str": {"type": "string"},
            },
        },
        service_name="svc",
    )


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "json", "rest-xml", "rest-json"])
def test_event_streams_in_every_rest_and_rpc_protocol(protocol: str) -> None:
    op = _stream_model(protocol).operation_model("Watch")

    async def events() -> Any:
        yield {"Tick": {"N": 1, "At": T_MS}}
        yield {"Tick": {"N": 2}}
        raise AwsError("Oops", "it broke", 500)

    response = get_protocol(protocol).serialize(op, {"Count": 7, "Events": events()}, None)  # type: ignore[arg-type]
    parsed = botocore_parse(protocol, op, response)
    stream = iter(parsed["Events"])
    first = next(stream)["Tick"]
    assert first["N"] == 1 and first["At"] == T_MS
    assert next(stream) == {"Tick": {"N": 2}}
    with pytest.raises(Exception) as info:
        next(stream)
    assert getattr(info.value, "response", {})["Error"] == {"Code": "Oops", "Message": "it broke"}
    if protocol in ("smithy-rpc-v2-cbor", "json"):
        assert parsed["Count"] == 7  # the initial-response event carries the non-stream members
