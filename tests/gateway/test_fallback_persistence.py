"""The moto fallback's state on disk (emulator/gateway/fallback_state.py): what moto serves
(S3, SQS, SNS, SSM, Secrets Manager, KMS, EC2's VPCs and key pairs, IAM's roles) survives a
``kill -9`` right after the last acknowledged write, a reset deletes it, and an unreadable
snapshot is set aside. Through the wire with boto3, against servers of this module's own (each
test its own data directory)."""

from __future__ import annotations

import io
import json
import pickle
import threading
import time
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.utilities.docker_utilities import DockerModel

from emulator.testing.server import EmulatorServer

LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


class Parameters(defaultdict):  # type: ignore[type-arg]
    """As SSM's ParameterDict: a defaultdict whose __init__ takes other arguments."""

    def __init__(self, account: str) -> None:
        super().__init__(list)
        self.account = account


class Ordered(OrderedDict):  # type: ignore[type-arg]
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def _snapshots(data_dir: Path) -> list[str]:
    directory = data_dir / "fallback"
    return sorted(p.name for p in directory.glob("*.db")) if directory.is_dir() else []


def test_state_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir) as server:
        s3, sqs, sns, ssm = (server.client(name) for name in ("s3", "sqs", "sns", "ssm"))
        secrets, kms, ec2, iam = (server.client(name) for name in ("secretsmanager", "kms", "ec2", "iam"))

        # A long poll (waits inside moto) holds up neither the other SQS calls nor their snapshots.
        poll_queue = sqs.create_queue(QueueName="persist-poll")["QueueUrl"]
        polled: dict[str, Any] = {}
        poller = threading.Thread(target=lambda: polled.update(server.client("sqs").receive_message(QueueUrl=poll_queue, WaitTimeSeconds=3)))
        poller.start()
        time.sleep(0.3)
        started = time.monotonic()
        queue = sqs.create_queue(QueueName="persist-queue", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
        message_id = sqs.send_message(QueueUrl=queue, MessageBody="first message")["MessageId"]
        assert time.monotonic() - started < 1.5, "SQS writes waited for the long poll"
        poller.join()
        assert "Messages" not in polled

        s3.create_bucket(Bucket="persist-bucket")
        etag = s3.put_object(Bucket="persist-bucket", Key="dir/object.txt", Body=b"hello, disk", Metadata={"color": "blue"})["ETag"]
        topic = sns.create_topic(Name="persist-topic")["TopicArn"]
        ssm.put_parameter(Name="/persist/param", Value="v1", Type="String")
        ssm.put_parameter(Name="/persist/param", Value="v2", Type="String", Overwrite=True)
        secret_arn = secrets.create_secret(Name="persist-secret", SecretString="s3cr3t")["ARN"]
        key_id = kms.create_key(Description="persist key")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"plain text")["CiphertextBlob"]
        vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        key_pair = ec2.create_key_pair(KeyName="persist-pair")
        role = iam.create_role(RoleName="persist-role", AssumeRolePolicyDocument=TRUST)["Role"]
        iam.attach_role_policy(RoleName="persist-role", PolicyArn=LAMBDA_BASIC)
        server.kill()  # right after the last acknowledged write

        assert {"s3.db", "sqs.db", "sns.db", "ssm.db", "secretsmanager.db", "kms.db", "ec2.db", "iam.db"} <= set(_snapshots(data_dir))

        server.start()
        got = s3.get_object(Bucket="persist-bucket", Key="dir/object.txt")
        assert got["Body"].read() == b"hello, disk"
        assert got["ETag"] == etag and got["Metadata"] == {"color": "blue"}

        assert sqs.get_queue_url(QueueName="persist-queue")["QueueUrl"] == queue
        assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "45"
        received = sqs.receive_message(QueueUrl=queue)["Messages"]
        assert [(m["MessageId"], m["Body"]) for m in received] == [(message_id, "first message")]

        assert topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
        parameter = ssm.get_parameter(Name="/persist/param")["Parameter"]
        assert (parameter["Value"], parameter["Version"]) == ("v2", 2)
        assert secrets.get_secret_value(SecretId="persist-secret")["SecretString"] == "s3cr3t"
        assert secrets.describe_secret(SecretId="persist-secret")["ARN"] == secret_arn

        # KMS keys hold cryptography objects: the key still decrypts what it encrypted, and encrypts anew.
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"plain text"
        again = kms.encrypt(KeyId=key_id, Plaintext=b"after restart")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=again)["Plaintext"] == b"after restart"

        assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"] == "10.42.0.0/16"
        pair = ec2.describe_key_pairs(KeyNames=["persist-pair"])["KeyPairs"][0]
        assert (pair["KeyPairId"], pair["KeyFingerprint"]) == (key_pair["KeyPairId"], key_pair["KeyFingerprint"])

        restored = iam.get_role(RoleName="persist-role")["Role"]
        assert (restored["RoleId"], restored["Arn"]) == (role["RoleId"], role["Arn"])
        attached = iam.list_attached_role_policies(RoleName="persist-role")["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == [LAMBDA_BASIC]

        # And it keeps being saved: a write after the restart survives the next kill.
        s3.put_object(Bucket="persist-bucket", Key="second", Body=b"2")
        server.kill()
        server.start()
        assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="persist-bucket")["Contents"]) == ["dir/object.txt", "second"]


def test_managed_policies_and_reset(tmp_path: Path) -> None:
    """moto serves all of IAM here (no native IAM): GetPolicy of an AWS managed policy answers
    the same id and attachment count after a restart. A reset deletes the snapshots it covers."""
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as server:
        iam, s3, sqs = server.client("iam"), server.client("s3"), server.client("sqs")
        iam.create_role(RoleName="reset-role", AssumeRolePolicyDocument=TRUST)
        iam.attach_role_policy(RoleName="reset-role", PolicyArn=LAMBDA_BASIC)
        policy = iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]
        assert policy["AttachmentCount"] == 1
        s3.create_bucket(Bucket="reset-bucket")
        queue = sqs.create_queue(QueueName="reset-queue")["QueueUrl"]
        server.kill()

        server.start()
        after = iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]
        assert (after["PolicyId"], after["AttachmentCount"]) == (policy["PolicyId"], 1)
        assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="reset-role")["AttachedPolicies"]] == [LAMBDA_BASIC]
        # Other AWS managed policies are there too, attachable.
        iam.attach_role_policy(RoleName="reset-role", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        assert sqs.get_queue_url(QueueName="reset-queue")["QueueUrl"] == queue

        server.reset(services=["s3"])
        assert "s3.db" not in _snapshots(data_dir)
        assert {"iam.db", "sqs.db"} <= set(_snapshots(data_dir))
        server.reset()
        assert _snapshots(data_dir) == []
        server.kill()

        server.start()
        assert s3.list_buckets()["Buckets"] == []
        assert sqs.list_queues().get("QueueUrls", []) == []
        with pytest.raises(ClientError) as info:
            iam.get_role(RoleName="reset-role")
        assert info.value.response["Error"]["Code"] == "NoSuchEntity"
        assert iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]["AttachmentCount"] == 0


def test_persistence_off_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir, env={"EMULATOR_FALLBACK_PERSISTENCE": "false"}) as server:
        s3, sqs = server.client("s3"), server.client("sqs")
        s3.create_bucket(Bucket="memory-bucket")
        s3.put_object(Bucket="memory-bucket", Key="k", Body=b"v")
        sqs.send_message(QueueUrl=sqs.create_queue(QueueName="memory-queue")["QueueUrl"], MessageBody="m")
        server.stop()  # a clean shutdown: nothing to flush either
    assert not (data_dir / "fallback").exists()


def test_unreadable_snapshot_is_moved_aside(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    directory = data_dir / "fallback"
    directory.mkdir(parents=True)
    (directory / "sqs.pickle").write_bytes(b"not a pickle at all")  # the format before
    (directory / "s3.pickle").write_bytes(pickle.dumps({"format": 1, "package": "s3", "dicts": []})[:-4])  # torn
    (directory / "kms.db").write_bytes(b"not a database at all")
    (directory / ".sns.pickle.tmp").write_bytes(b"half a temporary file")
    with EmulatorServer(data_dir=data_dir) as server:
        sqs, s3, kms = server.client("sqs"), server.client("s3"), server.client("kms")
        assert sqs.list_queues().get("QueueUrls", []) == []
        assert s3.list_buckets()["Buckets"] == []
        assert kms.list_keys()["Keys"] == []
        sqs.create_queue(QueueName="fresh-queue")
        names = sorted(p.name for p in directory.iterdir())
        for aside in ("sqs.pickle.corrupt-", "s3.pickle.corrupt-", "kms.db.corrupt-"):
            assert [n for n in names if n.startswith(aside)], names
        assert "sqs.db" in names and "s3.db" not in names and "kms.db" not in names, names
        assert not [n for n in names if n.endswith((".pickle", ".tmp"))], names
        log = server.log_path.read_text()
        assert "snapshot of sqs" in log and "snapshot of s3" in log and "snapshot of kms" in log


def test_pickler_handles_what_moto_keeps() -> None:
    """What plain pickle refuses in moto's state: locks (SQS), defaultdicts of lambdas (SSM),
    cryptography keys (KMS); and subclasses whose __init__ wants other arguments than their
    reduce gives (SSM's ParameterDict)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from emulator.gateway.fallback_pickle import (
        Loading,
        SnapshotPickler,
        SnapshotUnpickler,
    )

    lock = threading.RLock()
    nested: defaultdict[str, Any] = defaultdict(lambda: defaultdict(dict))
    nested["a"]["b"]["c"] = 1
    parameters = Parameters("123")
    parameters["/p"].append("v")
    ordered = Ordered("o")
    ordered["x"] = 1
    event = threading.Event()
    event.set()
    state = {
        "rlock": lock, "lock": threading.Lock(), "condition": threading.Condition(lock), "event": event,
        "nested": nested, "parameters": parameters, "ordered": ordered,
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048), "ec": ec.generate_private_key(ec.SECP256R1()),
    }
    with pytest.raises(Exception):  # noqa: B017 - plain pickle refuses it (which objects first varies)
        pickle.dumps(state)
    buffer = io.BytesIO()
    SnapshotPickler(buffer, {}).dump(state)
    back = SnapshotUnpickler(io.BytesIO(buffer.getvalue()), Loading(None)).load()

    assert back["condition"]._lock is back["rlock"]  # one lock, as before
    assert back["event"].is_set()
    assert back["nested"]["a"]["b"] == {"c": 1}
    back["nested"]["new"]["x"]["y"] = 2  # the factory makes what the lambda made
    assert isinstance(back["nested"]["other"], defaultdict)
    assert type(back["parameters"]) is Parameters and back["parameters"].account == "123" and back["parameters"]["/p"] == ["v"]
    assert back["parameters"]["/q"] == []
    assert type(back["ordered"]) is Ordered and back["ordered"].name == "o" and dict(back["ordered"]) == {"x": 1}
    assert back["rsa"].private_numbers() == state["rsa"].private_numbers()
    assert back["ec"].private_numbers() == state["ec"].private_numbers()
    with back["rlock"], back["lock"]:
        pass


def test_s3_bodies_are_files_of_their_own(tmp_path: Path) -> None:
    """S3's snapshot holds metadata only: a PutObject does not re-write every stored byte."""
    data_dir = tmp_path / "d"
    big = bytes(range(256)) * 8192  # 2 MiB
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="blob-bucket")
        s3.put_object(Bucket="blob-bucket", Key="big", Body=big)
        s3.put_object(Bucket="blob-bucket", Key="copy", Body=big)  # the same content: one file
        s3.put_object(Bucket="blob-bucket", Key="small", Body=b"v1")
        s3.put_object(Bucket="blob-bucket", Key="small", Body=b"v2")  # the old body goes
        blobs = data_dir / "fallback" / "s3-blobs"
        assert len(list(blobs.iterdir())) == 2
        assert (data_dir / "fallback" / "s3.db").stat().st_size < len(big) // 4
        server.kill()
        server.start()
        s3 = server.client("s3")
        assert s3.get_object(Bucket="blob-bucket", Key="big")["Body"].read() == big
        assert s3.get_object(Bucket="blob-bucket", Key="copy")["Body"].read() == big
        assert s3.get_object(Bucket="blob-bucket", Key="small")["Body"].read() == b"v2"
        s3.delete_object(Bucket="blob-bucket", Key="big")
        s3.delete_object(Bucket="blob-bucket", Key="copy")
        assert len(list(blobs.iterdir())) == 1
        server.reset(services=["s3"])
        assert list(blobs.iterdir()) == []


def test_s3_versions_and_multipart_survive(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    part = b"p" * (5 * 1024 * 1024)
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="versioned")
        s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        first = s3.put_object(Bucket="versioned", Key="doc", Body=b"one")["VersionId"]
        s3.put_object(Bucket="versioned", Key="doc", Body=b"two")
        s3.delete_object(Bucket="versioned", Key="doc")  # a delete marker on top
        upload = s3.create_multipart_upload(Bucket="versioned", Key="big")["UploadId"]
        etags = [s3.upload_part(Bucket="versioned", Key="big", UploadId=upload, PartNumber=n, Body=part)["ETag"] for n in (1, 2)]
        s3.complete_multipart_upload(Bucket="versioned", Key="big", UploadId=upload,
                                     MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in zip((1, 2), etags, strict=True)]})
        server.kill()
        server.start()
        s3 = server.client("s3")
        versions = s3.list_object_versions(Bucket="versioned", Prefix="doc")
        assert len(versions["Versions"]) == 2 and len(versions["DeleteMarkers"]) == 1
        assert s3.get_object(Bucket="versioned", Key="doc", VersionId=first)["Body"].read() == b"one"
        with pytest.raises(ClientError):
            s3.get_object(Bucket="versioned", Key="doc")
        assert s3.get_object(Bucket="versioned", Key="big")["Body"].read() == part + part


def _zip(source: str) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def test_objects_shared_between_packages_stay_shared(tmp_path: Path) -> None:
    """An SQS queue holds its Lambda event source mappings (the very objects Lambda's backend
    keeps): written by value into SQS's snapshot, they came back as copies that Lambda's later
    UpdateEventSourceMapping never reached, so a mapping disabled after a restart still
    consumed the queue's messages. And moto's LambdaFunction pickles without its Docker client
    attribute: every invoke after a restart (an SQS send to a mapped queue too) failed with an
    AttributeError (InternalFailure). And writes of a package into another's state that did not
    mark the other dirty (never saved)."""
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as server:
        iam, awslambda, sqs = server.client("iam"), server.client("lambda"), server.client("sqs")
        role = iam.create_role(RoleName="esm-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        awslambda.create_function(FunctionName="esm-fn", Runtime="python3.11", Role=role, Handler="index.handler",
                                  Code={"ZipFile": _zip("def handler(event, context):\n    return 1\n")})
        queue = sqs.create_queue(QueueName="esm-queue")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        uuid = awslambda.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="esm-fn", BatchSize=5)["UUID"]
        before = awslambda.get_function_configuration(FunctionName="esm-fn")
        # Writes of one package into another's state (fallback_state.FAN_OUT): an EventBridge
        # connection's secret, a Kinesis stream's CloudWatch metrics.
        events, kinesis, cloudwatch = server.client("events"), server.client("kinesis"), server.client("cloudwatch")
        events.create_connection(Name="conn", AuthorizationType="API_KEY", AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
        kinesis.create_stream(StreamName="metered", ShardCount=1)
        kinesis.put_record(StreamName="metered", Data=b"record", PartitionKey="p")
        secrets = [s["Name"] for s in server.client("secretsmanager").list_secrets()["SecretList"]]
        assert len(secrets) == 1 and secrets[0].startswith("events!connection/conn/")
        metrics = sorted(m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AWS/Kinesis")["Metrics"])
        assert metrics == ["IncomingBytes", "IncomingRecords"]
        server.kill()

        server.start()
        awslambda, sqs = server.client("lambda"), server.client("sqs")
        assert [s["Name"] for s in server.client("secretsmanager").list_secrets()["SecretList"]] == secrets
        assert sorted(m["MetricName"] for m in server.client("cloudwatch").list_metrics(Namespace="AWS/Kinesis")["Metrics"]) == metrics
        after = awslambda.get_function_configuration(FunctionName="esm-fn")
        assert {k: v for k, v in after.items() if k != "ResponseMetadata"} == {k: v for k, v in before.items() if k != "ResponseMetadata"}
        assert awslambda.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
        awslambda.update_event_source_mapping(UUID=uuid, Enabled=False)
        sqs.send_message(QueueUrl=queue, MessageBody="for the client")  # no mapping consumes it now
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
        assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in received] == [("for the client", "1")]




class LambdaLike(DockerModel):
    """As moto's LambdaFunction: a DockerModel whose __getstate__ drops the Docker client."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "f"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_DockerModel__docker_client"}


def test_docker_models_load_with_a_client_to_make() -> None:
    from emulator.gateway.fallback_pickle import (
        Loading,
        SnapshotPickler,
        SnapshotUnpickler,
    )

    buffer = io.BytesIO()
    SnapshotPickler(buffer, {}).dump(LambdaLike())
    back = SnapshotUnpickler(io.BytesIO(buffer.getvalue()), Loading(None)).load()
    assert back.name == "f" and back._DockerModel__docker_client is None  # docker_client makes one on demand


def test_s3_access_logs_written_by_reads_survive(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="logged")
        s3.create_bucket(Bucket="log-target")
        s3.put_bucket_acl(Bucket="log-target", GrantWrite="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
                          GrantReadACP="uri=http://acs.amazonaws.com/groups/s3/LogDelivery")
        s3.put_bucket_logging(Bucket="logged", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "log-target", "TargetPrefix": "logs/"}})
        s3.put_object(Bucket="logged", Key="k", Body=b"x")
        s3.get_object(Bucket="logged", Key="k")["Body"].read()  # a read: moto writes a log object for it
        before = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="log-target").get("Contents", []))
        server.kill()
        server.start()
        after = sorted(o["Key"] for o in server.client("s3").list_objects_v2(Bucket="log-target").get("Contents", []))
        assert before and set(before) <= set(after)
