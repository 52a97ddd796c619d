"""moto's functions wrapped where only moto's state tells that a request is wrong.

emulator/gateway/fallback_checks.py refuses bad input before moto sees it; what depends on
moto's state (an upload id, a change set's name, a pagination token moto keeps) is checked
here, inside moto, just before the function that would fail on it: with AWS's error and before
anything is changed (moto would raise a KeyError or a TypeError, the gateway would answer 500,
and some of them after a half-done change). ``install`` runs once, when the fallback starts
(MotoFallback.start); each wrapper cites the AWS behaviour it gives.

Some are fixes of moto failing on *valid* input, not checks: KMS ReplicateKey named by its key
ARN (moto looked the ARN up as a key id), Secrets Manager GetRandomPassword when
ExcludeCharacters removes every character of one included type (moto picked a required
character from nothing), EventBridge targets whose InputTemplate is text or that give a
standard queue a MessageGroupId (every matching PutEvents failed). And a CloudFormation
resource that moto cannot create fails its stack, as on AWS, instead of the call
(``_cloudformation_failures``).
"""

from __future__ import annotations

import base64
import functools
import inspect
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from emulator.errors import AwsError

log = logging.getLogger(__name__)
_installed = False
_lock = threading.Lock()


def _before(owner: type, name: str, check: Callable[[Any, dict[str, Any]], None]) -> None:
    """Run ``check(self, arguments)`` (arguments by parameter name) before ``owner.name``."""
    original = getattr(owner, name)
    signature = inspect.signature(original)

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        check(self, bound.arguments)
        return original(self, *args, **kwargs)

    setattr(owner, name, wrapper)


def install() -> None:
    global _installed
    from emulator.gateway import fallback_patches_lambda, sqs_semantics

    with _lock:
        if _installed:
            return
        _s3()
        _kms()
        _events()
        fallback_patches_lambda.install()
        _ecr()
        _cloudformation()
        _secretsmanager()
        _stepfunctions()
        _route53()
        _kinesis()
        _sqs()
        sqs_semantics.install()  # SQS's documented message semantics
        _sns()
        from emulator.gateway import fallback_patches_messaging

        fallback_patches_messaging.install()  # SNS -> SQS delivery as SNS does it
        from emulator.gateway import fallback_patches_services

        fallback_patches_services.install()  # SDK-visible answers: EventBridge, Lambda, KMS, Secrets Manager
        _installed = True


# ------------------------------------------------------------------ S3
def _s3() -> None:
    from moto.s3.exceptions import InvalidContinuationToken, NoSuchUpload
    from moto.s3.models import S3Backend

    from emulator.gateway import s3_select, s3_sse_c, s3_stream, s3_versions
    from emulator.gateway.s3_checksums import install as checksums
    from emulator.gateway.s3_post_answer import install as post_answers
    from emulator.gateway.s3_request_payment import install as request_payment

    s3_stream.install()  # objects larger than memory: streamed GetObject, spooled PutObject
    s3_select.install()  # SelectObjectContent over CSV as CSVInput describes it, S3's Stats
    s3_versions.install()  # S3's versioning semantics
    checksums()  # multipart uploads' part checksums, ChecksumType (s3_checksums.py)
    request_payment()  # PutBucketRequestPayment / GetBucketRequestPayment (moto routes neither)

    def upload_exists(backend: Any, a: dict[str, Any]) -> None:
        """UploadPart, UploadPartCopy, CompleteMultipartUpload of an upload id that is not one
        (moto: KeyError). S3: ``404 NoSuchUpload``."""
        bucket = backend.get_bucket(a.get("bucket_name") or a.get("dest_bucket_name"))
        if a["multipart_id"] not in bucket.multiparts:
            raise NoSuchUpload(upload_id=a["multipart_id"])

    for name in ("upload_part", "upload_part_copy", "complete_multipart_upload", "is_truncated"):
        _before(S3Backend, name, upload_exists)

    def known_token(backend: Any, a: dict[str, Any]) -> None:
        """ListObjectsV2 with a ContinuationToken that no listing handed out (moto: TypeError).
        S3: ``InvalidArgument: The continuation token provided is incorrect``."""
        token = a.get("continuation_token")
        if token and token not in getattr(backend, "_pagination_tokens", {}) and not a.get("start_after"):
            raise InvalidContinuationToken()

    _before(S3Backend, "list_objects_v2", known_token)

    def valid_policy(backend: Any, a: dict[str, Any]) -> None:
        """PutBucketPolicy: S3 checks the policy (400 MalformedPolicy: s3_policy.py) of a
        bucket that exists (else 404 NoSuchBucket, which get_bucket raises); moto stored any."""
        from emulator.gateway.s3_policy import check_bucket_policy

        backend.get_bucket(a["bucket_name"])
        check_bucket_policy(a["policy"], a["bucket_name"])

    _before(S3Backend, "put_bucket_policy", valid_policy)

    def destinations_exist(backend: Any, a: dict[str, Any]) -> None:
        """PutBucketNotificationConfiguration: S3 checks each destination (it sends it a test
        event) and refuses the configuration when one does not exist: ``400 InvalidArgument:
        Unable to validate the following destination configurations``, each named by its ARN
        (ArgumentName1, ArgumentValue1...). moto stored any ARN of the right service."""
        backend.get_bucket(a["bucket_name"])
        config = a["notification_config"] or {}
        failed: dict[str, Any] = {}
        for kind, key, exists in (("QueueConfiguration", "Queue", _queue_exists), ("TopicConfiguration", "Topic", _topic_exists),
                                  ("CloudFunctionConfiguration", "CloudFunction", _function_exists)):
            items = config.get(kind) or []
            for item in items if isinstance(items, list) else [items]:
                arn = item.get(key) if isinstance(item, dict) else None
                if isinstance(arn, str) and arn not in failed.values() and not exists(arn):
                    n = len(failed) // 2 + 1
                    failed[f"ArgumentName{n}"] = arn
                    failed[f"ArgumentValue{n}"] = f"The destination {_DESTINATIONS[key]} does not exist"
        if failed:
            raise AwsError("InvalidArgument", "Unable to validate the following destination configurations", 400, extra=failed)

    _before(S3Backend, "put_bucket_notification_configuration", destinations_exist)

    def lock_keeps_versioning(backend: Any, a: dict[str, Any]) -> None:
        """A bucket with Object Lock keeps versioning enabled: S3 refuses to suspend it with
        ``409 InvalidBucketState`` (moto suspended it)."""
        bucket = backend.get_bucket(a["bucket_name"])
        if a["status"] != "Enabled" and getattr(bucket, "object_lock_enabled", False):
            raise AwsError("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.", 409)

    _before(S3Backend, "put_bucket_versioning", lock_keeps_versioning)
    _s3_keep_on_failure()
    _s3_composite_checksums()
    _s3_sdk_shapes()
    s3_sse_c.install()  # objects put with a customer-provided key are read with it only
    post_answers()  # POST-policy uploads answered as S3 documents them


def _s3_composite_checksums() -> None:
    """A multipart upload's COMPOSITE checksum is the checksum of its parts' checksums, ``-N``
    (S3: "Checking object integrity", multipart uploads). moto answered GetObject with it so,
    but HeadObject without its ``-N`` nor its x-amz-checksum-type (a client validating it as the
    object's checksum fails); and CopyObject gave the copy that value as if it were the whole
    object's, so that boto3, which validates GetObject's full-object checksums, failed reading
    the copy. A copy, one object written at once, has a FULL_OBJECT checksum of the source's
    algorithm: computed here over the copy's body, block by block."""
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    from emulator.gateway import s3_stream

    head_object = S3Response.head_object

    @functools.wraps(head_object)
    def head(self: Any, bucket_name: str, query: dict[str, Any], key_name: str, headers: dict[str, Any]) -> Any:
        status, response_headers, body = head_object(self, bucket_name, query, key_name, headers)
        if status == 200 and headers.get("x-amz-checksum-mode") == "ENABLED":
            key = self.backend.head_object(bucket_name, key_name, version_id=query.get("versionId", [None])[0])
            algorithm = getattr(key, "checksum_algorithm", None)
            if algorithm and key.checksum_type:
                if key.checksum_type == "COMPOSITE" and key.checksum_parts:
                    response_headers[f"x-amz-checksum-{algorithm.lower()}"] = f"{key.checksum_value}-{key.checksum_parts}"
                response_headers["x-amz-checksum-type"] = key.checksum_type
        return status, response_headers, body

    S3Response.head_object = head  # type: ignore[method-assign]

    copy_object = S3Backend.copy_object

    @functools.wraps(copy_object)
    def copy(self: Any, src_key: Any, dest_bucket_name: str, dest_key_name: str, *args: Any, **kwargs: Any) -> Any:
        result = copy_object(self, src_key, dest_bucket_name, dest_key_name, *args, **kwargs)
        if src_key.checksum_type == "COMPOSITE" and src_key.checksum_value and src_key.checksum_algorithm:
            new_key = self.get_object(dest_bucket_name, dest_key_name)
            hasher = s3_stream.checksum_hasher(src_key.checksum_algorithm)
            for block in s3_stream.ObjectBody.of(new_key).blocks():
                hasher.update(block)
            new_key.checksum_value = base64.b64encode(hasher.digest()).decode()
            new_key.checksum_type = "FULL_OBJECT"
            new_key.checksum_parts = None
        return result

    S3Backend.copy_object = copy  # type: ignore[method-assign]


def _s3_sdk_shapes() -> None:
    """Where moto's answer differs from S3's in a way an SDK sees.

    GetObjectAttributes: the AWS SDK for JavaScript v3 joins the list header
    x-amz-object-attributes with ", " (botocore with ","); moto split on "," only, so every
    name after the first kept its space and was not returned (ObjectSize, Checksum missing).

    DeleteObjects with ``<Quiet>true</Quiet>``: S3 answers only the keys it failed to delete
    ("In quiet mode the response includes only keys where the delete operation encountered an
    error"); moto listed every deleted key.

    ListObjects (v1): S3 returns NextMarker only when the request has a delimiter, and then it
    is the last key or common prefix of the page (clients without a delimiter continue from the
    last key); moto returned an opaque hash in both cases.

    CompleteMultipartUpload answers the object's checksum and its type, and an object put at
    once has a FULL_OBJECT one (moto: neither)."""
    import xmltodict
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    get_object_attributes = S3Backend.get_object_attributes

    @functools.wraps(get_object_attributes)
    def object_attributes(self: Any, key: Any, attributes_to_get: list[str]) -> Any:
        return get_object_attributes(self, key, [name.strip() for name in attributes_to_get])

    S3Backend.get_object_attributes = object_attributes  # type: ignore[method-assign]

    delete_keys = S3Response._bucket_response_delete_keys

    @functools.wraps(delete_keys)
    def quiet_delete(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        status, headers, body = delete_keys(self, bucket_name, *args, **kwargs)
        try:
            quiet = str((xmltodict.parse(self.body).get("Delete") or {}).get("Quiet", "")).strip().lower() == "true"
        except Exception:  # noqa: BLE001 - moto parsed this body already; an odd one keeps moto's answer
            quiet = False
        if quiet and status == 200 and isinstance(body, (str, bytes)):
            text = body.decode() if isinstance(body, bytes) else body
            body = re.sub(r"<Deleted>.*?</Deleted>", "", text, flags=re.DOTALL)
        return status, headers, body

    S3Response._bucket_response_delete_keys = quiet_delete  # type: ignore[method-assign]

    list_objects = S3Backend.list_objects

    @functools.wraps(list_objects)
    def list_v1(self: Any, bucket: Any, prefix: str | None, delimiter: str | None, marker: str | None, max_keys: int | None) -> Any:
        keys, folders, truncated, next_marker = list_objects(self, bucket, prefix, delimiter, marker, max_keys)
        if next_marker:
            next_marker = max(key.name for key in keys) if delimiter and keys else None
        return keys, folders, truncated, next_marker

    S3Backend.list_objects = list_v1  # type: ignore[method-assign]

    key_post = S3Response._key_response_post

    @functools.wraps(key_post)
    def completed(self: Any, request: Any, body: bytes, bucket_name: str, query: dict[str, Any], key_name: str) -> Any:
        status, headers, answer = key_post(self, request, body, bucket_name, query, key_name)
        if status == 200 and "uploadId" in query and isinstance(answer, (str, bytes)):
            text = answer.decode() if isinstance(answer, bytes) else answer
            if "<CompleteMultipartUploadResult" in text and "</ETag>" in text:
                answer = text.replace("</ETag>", "</ETag>" + _completed_checksum(self.backend.get_object(bucket_name, key_name)), 1)
                answer = _completed_location(answer, request, bucket_name, key_name)
                if isinstance(headers, dict) and headers.get("x-amz-version-id") == "null":
                    # S3 names a version only in a bucket that has (or had) versioning.
                    bucket = self.backend.buckets.get(bucket_name)
                    if bucket is not None and not getattr(bucket, "versioning_status", None):
                        headers = {k: v for k, v in headers.items() if k != "x-amz-version-id"}
        return status, headers, answer

    S3Response._key_response_post = completed  # type: ignore[method-assign]

    put_object = S3Backend.put_object

    @functools.wraps(put_object)
    def put_full_object(self: Any, *args: Any, **kwargs: Any) -> Any:
        # An object written at once has a FULL_OBJECT checksum: S3 says so in GetObject's and
        # HeadObject's x-amz-checksum-type and GetObjectAttributes' ChecksumType; moto left the
        # type unset. moto's PutObject names the algorithm after this call, so the checksum's
        # value tells; a completed multipart upload sets its own type after this.
        key = put_object(self, *args, **kwargs)
        if key is not None and getattr(key, "checksum_value", None) and not getattr(key, "checksum_type", None):
            key.checksum_type = "FULL_OBJECT"
        return key

    S3Backend.put_object = put_full_object  # type: ignore[method-assign]


def _completed_location(answer: str, request: Any, bucket: str, key: str) -> str:
    """CompleteMultipartUpload's Location: the object's URL at this endpoint, in the request's
    addressing style (moto wrote http://BUCKET.s3.amazonaws.com/KEY, off this endpoint)."""
    try:
        host = request.headers.get("host") or ""
        scheme = urlsplit(str(request.url)).scheme or "http"
    except Exception:  # noqa: BLE001 - an odd request object keeps moto's answer
        return answer
    if not host:
        return answer
    path = quote(key, safe="/~")
    url = f"{scheme}://{host}/{path}" if host.startswith(bucket + ".") else f"{scheme}://{host}/{bucket}/{path}"
    return re.sub(r"<Location>.*?</Location>", lambda _: f"<Location>{escape(url)}</Location>", answer, count=1, flags=re.DOTALL)


def _completed_checksum(key: Any) -> str:
    """CompleteMultipartUpload's checksum elements: the object's checksum (``-N`` for a
    COMPOSITE one, as HeadObject gives it) and its type. moto answered neither, so an SDK's
    upload helper (lib-storage's Upload, boto3's transfer) saw no checksum of what it sent."""
    algorithm = getattr(key, "checksum_algorithm", None) if key is not None else None
    value = getattr(key, "checksum_value", None) if key is not None else None
    if not algorithm or not value:
        return ""
    kind = getattr(key, "checksum_type", None)
    parts = getattr(key, "checksum_parts", None)
    if kind == "COMPOSITE" and parts:
        value = f"{value}-{parts}"
    element = f"Checksum{algorithm.upper()}"
    return f"<{element}>{value}</{element}>" + (f"<ChecksumType>{kind}</ChecksumType>" if kind else "")


def _s3_keep_on_failure() -> None:
    """moto's FakeBucket.set_lifecycle and set_cors empty the bucket's rules, then check the new
    ones and raise (MalformedXML, InvalidRequest) half-way: a refused PutBucketLifecycleConfiguration
    or PutBucketCors deleted the configuration the bucket had. S3 changes nothing when it
    refuses one; here the previous rules are put back."""
    from moto.s3.models import FakeBucket

    for name, attribute in (("set_lifecycle", "rules"), ("set_cors", "cors")):
        original = getattr(FakeBucket, name)

        def keeping(self: Any, rules: Any, _original: Callable[..., Any] = original, _attribute: str = attribute) -> None:
            previous = list(getattr(self, _attribute))
            try:
                _original(self, rules)
            except BaseException:
                setattr(self, _attribute, previous)
                raise

        setattr(FakeBucket, name, functools.wraps(original)(keeping))


_DESTINATIONS = {"Queue": "queue", "Topic": "topic", "CloudFunction": "Lambda function"}


def _arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(region, account, resource) of an ARN, None if it is not one."""
    parts = arn.split(":", 5)
    return (parts[3], parts[4], parts[5]) if len(parts) == 6 and parts[0] == "arn" else None


def _queue_exists(arn: str) -> bool:
    from moto.sqs.models import sqs_backends

    parts = _arn_parts(arn)
    try:
        return parts is not None and parts[2] in sqs_backends[parts[1]][parts[0]].queues
    except KeyError:  # a region moto has no backend for
        return False


def _topic_exists(arn: str) -> bool:
    from moto.sns.models import sns_backends

    parts = _arn_parts(arn)
    try:
        return parts is not None and arn in sns_backends[parts[1]][parts[0]].topics
    except KeyError:
        return False


def _function_exists(arn: str) -> bool:
    from moto.awslambda.models import lambda_backends
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    parts = _arn_parts(arn)
    try:
        return parts is not None and lambda_backends[parts[1]][parts[0]].get_function(arn) is not None
    except (KeyError, ServiceException, HTTPException):  # moto's UnknownFunctionException is an HTTPException
        return False


# ------------------------------------------------------------------ KMS
def _kms() -> None:
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    def key_exists(response: Any, a: dict[str, Any]) -> None:
        """CreateGrant and ListGrants of a key that does not exist (moto: KeyError): moto's
        own check, as its other operations make it: ``NotFoundException: Invalid keyId x`` or
        ``Key '<arn>' does not exist``."""
        key_id = response._get_param("KeyId")
        if isinstance(key_id, str):
            response._validate_cmk_id(key_id)

    _before(KmsResponse, "create_grant", key_exists)
    _before(KmsResponse, "list_grants", key_exists)

    original = KmsBackend.replicate_key

    @functools.wraps(original)
    def replicate_key(self: Any, key_id: str, replica_region: str) -> Any:
        """ReplicateKey names its key by id or ARN (moto looked the ARN up as an id: KeyError);
        only a multi-Region key can be replicated (moto: AttributeError). KMS:
        ``UnsupportedOperationException``."""
        key_id = self.get_key_id(key_id)
        key = self.keys.get(key_id)
        if key is not None and not key.multi_region:
            raise AwsError("UnsupportedOperationException", f"{key.arn} is not a multi-Region key. Only multi-Region keys can be replicated.", 400)
        return original(self, key_id, replica_region)

    KmsBackend.replicate_key = replicate_key  # type: ignore[method-assign]


# ------------------------------------------------------------------ SQS


def _sqs() -> None:
    from moto.sqs.models import Queue

    def pending_message_groups(self: Any) -> set[str]:
        """The groups of the queue's in-flight messages, from a copy of the set taken in one C
        call. A long-poll ReceiveMessage runs outside the package's lock
        (fallback_locking.lock_set) while another request receives or deletes: moto's
        comprehension over the live set then failed with "Set changed size during iteration"
        (a 500)."""
        return {message.group_id for message in list(self._pending_messages) if message.group_id is not None}

    Queue.pending_message_groups = property(pending_message_groups)  # type: ignore[method-assign,assignment]
    _sqs_sequence_numbers()


def _sqs_sequence_numbers() -> None:
    """Every message sent to a FIFO queue gets a SequenceNumber, returned by SendMessage(Batch)
    and as the message's SequenceNumber attribute, and it "continues to increase for a particular
    MessageGroupId" (SQS API reference). moto gave one only to messages sent with an explicit
    MessageDeduplicationId, so a queue with ContentBasedDeduplication had none; and moto's were
    random digits, not increasing. Here each FIFO message gets the next of one increasing
    counter (20 digits, as SQS's are), started from the clock so that it keeps increasing across
    restarts."""
    from moto.sqs.models import SQSBackend

    send_message = SQSBackend.send_message
    lock = threading.Lock()
    last = [0]

    def next_number() -> str:
        with lock:
            last[0] = max(last[0] + 1, time.time_ns())
            return f"{last[0]:020d}"

    @functools.wraps(send_message)
    def sending(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send_message(self, queue_name, *args, **kwargs)
        if self.get_queue(queue_name).fifo_queue and message is not None:
            message.sequence_number = next_number()
        return message

    SQSBackend.send_message = sending  # type: ignore[method-assign]


# ------------------------------------------------------------------ SNS


def _sns() -> None:
    from moto.sns.exceptions import SNSNotFoundError
    from moto.sns.models import SNSBackend

    def topic_exists(backend: Any, a: dict[str, Any]) -> None:
        """Publish to a topic ARN that names no topic: SNS answers ``404 NotFound: Topic does
        not exist``; moto, having failed to find a topic, looked the ARN up as a platform
        endpoint and answered "Endpoint does not exist". An endpoint's ARN (``:endpoint/``)
        is left to moto."""
        arn = a.get("arn")
        if isinstance(arn, str) and ":endpoint/" not in arn and arn not in backend.topics:
            raise SNSNotFoundError("Topic does not exist")

    _before(SNSBackend, "publish", topic_exists)


# ------------------------------------------------------------------ Kinesis


def _kinesis() -> None:
    from moto.kinesis.models import KinesisBackend

    original = KinesisBackend.get_shard_iterator

    @functools.wraps(original)
    def get_shard_iterator(self: Any, stream_arn: str | None, stream_name: str | None, *args: Any, **kwargs: Any) -> Any:
        """GetShardIterator names its stream by StreamName or StreamARN (newer SDKs and the
        CLI send the ARN). moto wrote the given name into the iterator, None for an ARN, so the
        next GetRecords failed with "Stream None ... not found"."""
        if not stream_name and stream_arn:
            stream_name = self.describe_stream(stream_arn=stream_arn, stream_name=None).stream_name
        return original(self, stream_arn, stream_name, *args, **kwargs)

    KinesisBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]

    deregister = KinesisBackend.deregister_stream_consumer

    @functools.wraps(deregister)
    def deregister_stream_consumer(self: Any, stream_arn: str | None, consumer_name: str | None, consumer_arn: str | None) -> None:
        """DeregisterStreamConsumer by StreamARN and ConsumerName removes that consumer. moto
        kept only the named one and removed every other consumer of the stream."""
        if stream_arn and not consumer_arn:
            stream = self._find_stream_by_arn(stream_arn)
            stream.consumers = [c for c in stream.consumers if c.consumer_name != consumer_name]
            return
        deregister(self, stream_arn, consumer_name, consumer_arn)  # type: ignore[arg-type]

    KinesisBackend.deregister_stream_consumer = deregister_stream_consumer  # type: ignore[method-assign]


# ------------------------------------------------------------------ EventBridge
def _events() -> None:
    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPatternParser

    def an_object(parser: Any, a: dict[str, Any]) -> None:
        """An event pattern is a JSON object (moto: AttributeError on a list). EventBridge:
        ``InvalidEventPatternException: Event pattern is not valid. Reason: Filter is not an object``."""
        if not isinstance(a["pattern"], dict):
            raise InvalidEventPatternException(reason="Filter is not an object")

    _before(EventPatternParser, "_validate_event_pattern", an_object)
    _events_text_input()
    _events_policy_statement()


def _events_policy_statement() -> None:
    """PutPermission's Policy may give its Statement as one object rather than a list, as any
    policy may (moto iterated over the object's keys: TypeError on valid input)."""
    from moto.events.models import EventBus

    original = EventBus.add_policy

    @functools.wraps(original)
    def add_policy(self: Any, policy: dict[str, Any]) -> None:
        if isinstance(policy.get("Statement"), dict):
            policy = {**policy, "Statement": [policy["Statement"]]}
        original(self, policy)

    EventBus.add_policy = add_policy  # type: ignore[method-assign]


def _events_text_input() -> None:
    """An InputTransformer's InputTemplate that is not JSON is text, delivered as it is
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html:
    ``"<instance> is in state <state>"``); moto parsed every template as JSON, so every PutEvents
    matching such a target failed (JSONDecodeError): a bug on valid input, fixed here for the
    targets moto delivers to (SQS queues, CloudWatch Logs log groups). And a standard queue
    target with SqsParameters (MessageGroupId) failed every delivery (KeyError)."""
    import json

    from jsonpath_ng.ext import parse as json_path
    from moto.events import utils
    from moto.events.models import Rule

    parse: Callable[..., Any] = utils.EventTemplateParser.parse

    def parse_text(input_template: str | None, input_paths_map: dict[str, Any], event: Any) -> Any:
        try:
            return parse(input_template=input_template, input_paths_map=input_paths_map, event=event)
        except json.JSONDecodeError:
            text = input_template or ""
            for name, path in (input_paths_map or {}).items():
                found = json_path(path).find(event)
                value = utils.EventTemplateParser._stringify(found[0].value) if found else None
                if value:
                    text = text.replace(f"<{name}>", value)
            return text.replace("<aws.events.event.json>", json.dumps(event))

    utils.EventTemplateParser.parse = staticmethod(parse_text)  # type: ignore[method-assign,assignment]

    to_sqs, to_logs = Rule._send_to_sqs_queue, Rule._send_to_cw_log_group

    def send_to_sqs(self: Any, resource_id: str, event: Any, group_id: str | None = None) -> None:
        if group_id and not resource_id.endswith(".fifo"):
            # SqsParameters' MessageGroupId with a standard queue: moto looked the queue's
            # ContentBasedDeduplication up (KeyError: a standard queue has none); the message
            # goes to the queue, as EventBridge sends it.
            group_id = None
        if not isinstance(event, str):
            return to_sqs(self, resource_id, event, group_id)
        from moto.sqs import sqs_backends

        sqs_backends[self.account_id][self.region_name].send_message(queue_name=resource_id, message_body=event, group_id=group_id)
        return None

    def send_to_logs(self: Any, name: str, event: Any) -> None:
        if not isinstance(event, str):
            return to_logs(self, name, event)
        from moto.core.utils import unix_time_millis
        from moto.logs import logs_backends
        from moto.moto_api._internal import mock_random

        backend = logs_backends[self.account_id][self.region_name]
        stream = str(mock_random.uuid4())
        backend.create_log_stream(name, stream)
        backend.put_log_events(name, stream, [{"timestamp": unix_time_millis(), "message": event}])
        return None

    Rule._send_to_sqs_queue = send_to_sqs  # type: ignore[method-assign]
    Rule._send_to_cw_log_group = send_to_logs  # type: ignore[method-assign]


# ------------------------------------------------------------------ Lambda
# ------------------------------------------------------------------ ECR
def _ecr() -> None:
    from moto.ecr.exceptions import RepositoryNotFoundException
    from moto.ecr.models import ECRBackend

    def repository_exists(backend: Any, a: dict[str, Any]) -> None:
        """PutImage to a repository that does not exist (moto: a bare Exception). ECR:
        ``RepositoryNotFoundException``."""
        if a["repository_name"] not in backend.repositories:
            raise RepositoryNotFoundException(a["repository_name"], backend.account_id)

    _before(ECRBackend, "put_image", repository_exists)


# ------------------------------------------------------------------ CloudFormation
def _cloudformation() -> None:
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse

    def change_set_exists(backend: Any, a: dict[str, Any]) -> None:
        """ExecuteChangeSet and DeleteChangeSet of a change set that does not exist (moto:
        UnboundLocalError). CloudFormation: ``404 ChangeSetNotFound``."""
        name = a["change_set_name"]
        if name not in backend.change_sets and not any(cs.change_set_name == name for cs in backend.change_sets.values()):
            raise AwsError("ChangeSetNotFound", f"ChangeSet [{name}] does not exist", 404)

    _before(CloudFormationBackend, "execute_change_set", change_set_exists)
    _before(CloudFormationBackend, "delete_change_set", change_set_exists)

    def known_token(response: Any, a: dict[str, Any]) -> None:
        """DescribeStacks' NextToken is the id of the last stack of the previous page (moto:
        ValueError on another). CloudFormation refuses a token it did not issue."""
        token = response._get_param("NextToken")
        if token:
            stacks = response.cloudformation_backend.describe_stacks(response._get_param("StackName"))
            if token not in [stack.stack_id for stack in stacks]:
                raise AwsError("ValidationError", "Invalid NextToken", 400)

    _before(CloudFormationResponse, "describe_stacks", known_token)
    _cloudformation_failures()


def _cloudformation_failures() -> None:
    """A resource that cannot be created fails the stack, not the CreateStack call: CloudFormation
    creates resources after it answered, and a provider's error (a property of the wrong type,
    say) shows as CREATE_FAILED and a rollback (DescribeStacks, DescribeStackEvents). moto creates
    them during the call, and an exception of its resource code (ValueError on VisibilityTimeout
    "abc") became a 500 with the stack left CREATE_IN_PROGRESS. Here the stack fails and is
    rolled back instead, with the error as the event's reason; the exception is logged with its
    traceback, so a moto bug on a valid template stays visible. moto's own client errors (its
    ValidationError...) still answer the call, as before."""
    from moto.cloudformation.models import Stack
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    original = Stack.create_resources

    @functools.wraps(original)
    def create_resources(self: Any) -> None:
        try:
            original(self)
        except (ServiceException, HTTPException, AwsError):
            raise
        except Exception as exc:
            log.warning("CloudFormation stack %s: creating its resources failed; rolled back", self.name, exc_info=True)
            self.status = "CREATE_FAILED"
            self._add_stack_event("CREATE_FAILED", resource_status_reason=f"Resource creation failed: {type(exc).__name__}: {exc}")
            self.status = "ROLLBACK_IN_PROGRESS"
            self._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason="The following resource(s) failed to create. Rollback requested by user.")
            try:
                self.resource_map.delete()
                self.status = "ROLLBACK_COMPLETE"
            except Exception:
                log.warning("CloudFormation stack %s: rolling back failed", self.name, exc_info=True)
                self.status = "ROLLBACK_FAILED"
            self._add_stack_event(self.status)

    Stack.create_resources = create_resources  # type: ignore[method-assign]


# ------------------------------------------------------------------ Secrets Manager
def _secretsmanager() -> None:
    import string

    from moto.secretsmanager import models

    original = models.random_password
    classes = (("exclude_lowercase", string.ascii_lowercase), ("exclude_uppercase", string.ascii_uppercase),
               ("exclude_numbers", string.digits), ("exclude_punctuation", string.punctuation))

    @functools.wraps(original)
    def random_password(password_length: int, exclude_characters: str, exclude_numbers: bool, exclude_punctuation: bool,
                        exclude_uppercase: bool, exclude_lowercase: bool, include_space: bool, require_each_included_type: bool) -> str:
        """A character type whose every character ExcludeCharacters removes is excluded: moto
        required one character of it anyway, picked from nothing (IndexError), for a request
        that AWS serves. (When nothing is left at all, fallback_checks refused it.)"""
        flags = {"exclude_lowercase": exclude_lowercase, "exclude_uppercase": exclude_uppercase,
                 "exclude_numbers": exclude_numbers, "exclude_punctuation": exclude_punctuation}
        removed = set(exclude_characters or "")
        for flag, characters in classes:
            if not flags[flag] and set(characters) <= removed:
                flags[flag] = True
        return original(password_length, exclude_characters, flags["exclude_numbers"], flags["exclude_punctuation"],
                        flags["exclude_uppercase"], flags["exclude_lowercase"], include_space, require_each_included_type)

    models.random_password = random_password


# ------------------------------------------------------------------ Step Functions
def _stepfunctions() -> None:
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist
    from moto.stepfunctions.models import StepFunctionBackend

    def same_machine(backend: Any, a: dict[str, Any]) -> None:
        """CreateStateMachine is idempotent for the same name, definition and role; another
        definition or role under a name in use is ``StateMachineAlreadyExists`` (moto returned
        the existing machine, unchanged, as if it had been created)."""
        backend._validate_name(a["name"])
        backend._validate_role_arn(a["roleArn"])
        arn = f"arn:{_partition(backend.region_name)}:states:{backend.region_name}:{backend.account_id}:stateMachine:{a['name']}"
        try:
            machine = backend.describe_state_machine(arn)
        except StateMachineDoesNotExist:
            return
        if machine.definition != a["definition"] or machine.roleArn != a["roleArn"]:
            raise AwsError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'", 400)

    _before(StepFunctionBackend, "create_state_machine", same_machine)


def _partition(region: str) -> str:
    from moto.utilities.utils import get_partition

    return str(get_partition(region))


# ------------------------------------------------------------------ Route 53
def _route53() -> None:
    from moto.route53.models import Route53Backend

    def no_cname_at_apex(backend: Any, a: dict[str, Any]) -> None:
        """A CNAME record set cannot be the zone's own name (DNS: the apex has its SOA and NS
        records). Route 53: ``InvalidChangeBatch: [RRSet of type CNAME with DNS name
        example.com. is not permitted at apex in zone example.com.]``; moto created it."""
        zone = backend.get_hosted_zone(a["zoneid"])
        apex = zone.name.rstrip(".").lower()
        for change in a["change_list"] or []:
            rrset = change.get("ResourceRecordSet") if isinstance(change, dict) else None
            if not isinstance(rrset, dict) or change.get("Action") not in ("CREATE", "UPSERT") or rrset.get("Type") != "CNAME":
                continue
            name = rrset.get("Name")
            if isinstance(name, str) and name.rstrip(".").lower() == apex:
                raise AwsError("InvalidChangeBatch", f"[RRSet of type CNAME with DNS name {apex}. is not permitted at apex in zone {apex}.]", 400)

    _before(Route53Backend, "change_resource_record_sets", no_cname_at_apex)
