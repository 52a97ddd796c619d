"""The per-operation checks (``fallback_checks.CHECKS``) of the moto-served services that have
no module of their own, each refusing what AWS refuses, as AWS words it, before moto sees it:
SQS queue attributes and redrive policies, SNS topic ARNs, endpoints, policies and attributes,
SSM tokens and documents, Secrets Manager values, replica regions and policies, KMS key
policies and specs, EventBridge targets and permissions, Kinesis shard iterators, Lambda code,
limits and principals, ECR manifests, CloudFormation templates and stack names, Organizations
policies. emulator/gateway/fallback_checks.py has the registry (``_on``), the shape validation
and the helpers these use; it imports this module (registering them) before the services' own
fallback_checks_<service>.py, so these come first in an operation's list.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

import orjson

from emulator.errors import AwsError
from emulator.gateway import cfn_template
from emulator.gateway.fallback_checks import (
    _integer,
    _json,
    _next_token,
    _on,
    _policy_problem,
    _regions,
)

if TYPE_CHECKING:
    from emulator.context import RequestContext


# ------------------------------------------------------------------ SQS
# Queue attributes that are numbers, and their ranges (SetQueueAttributes: "Valid values");
# the maximum message size is 1 MiB since August 2025. AWS: 400 InvalidAttributeValue,
# "Invalid value for the parameter VisibilityTimeout."
_SQS_NUMBERS = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
    "KmsDataKeyReusePeriodSeconds": (60, 86400),
}
_SQS_BOOLEANS = ("FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled")
_SQS_CHOICES = {"DeduplicationScope": ("messageGroup", "queue"), "FifoThroughputLimit": ("perQueue", "perMessageGroupId")}
# Attributes of FIFO queues only: a standard queue has no such attribute.
_SQS_FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
_ARN = re.compile(r"arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)")


def _sqs_invalid(name: str) -> AwsError:
    return AwsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.", 400)


def _sqs_redrive(value: str) -> None:
    """RedrivePolicy: a JSON map with deadLetterTargetArn (an SQS queue's ARN) and
    maxReceiveCount (1 to 1000). AWS: 400 InvalidParameterValue, "Value ... for parameter
    RedrivePolicy is invalid. Reason: ..."."""
    ok, policy = _json(value)
    prefix = f"Value {value} for parameter RedrivePolicy is invalid. Reason: "
    if not ok or not isinstance(policy, dict):
        raise AwsError("InvalidParameterValue", prefix + "Redrive policy is not a valid JSON map.", 400)
    if "deadLetterTargetArn" in policy:
        arn = policy["deadLetterTargetArn"]
        found = _ARN.fullmatch(arn) if isinstance(arn, str) else None
        if found is None or found.group(1) != "sqs":
            raise AwsError("InvalidParameterValue", prefix + "Invalid value for deadLetterTargetArn.", 400)
    if "maxReceiveCount" in policy:
        count = _integer(policy["maxReceiveCount"])
        if count is None or not 1 <= count <= 1000:
            raise AwsError("InvalidParameterValue", prefix + f"Invalid value for maxReceiveCount: {policy['maxReceiveCount']}, valid values are from 1 to 1000 both inclusive.", 400)


def _sqs_redrive_allow(value: str) -> None:
    ok, policy = _json(value)
    permission = policy.get("redrivePermission") if ok and isinstance(policy, dict) else None
    sources = policy.get("sourceQueueArns") if ok and isinstance(policy, dict) else None
    valid = permission in ("allowAll", "denyAll") or (
        permission == "byQueue" and isinstance(sources, list) and 1 <= len(sources) <= 10 and all(isinstance(s, str) for s in sources)
    )
    if not valid:
        raise AwsError(
            "InvalidParameterValue",
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the redrive allow policy, as it's in an unsupported format.",
            400,
        )


@_on("sqs", "CreateQueue", "SetQueueAttributes")
def _sqs_attributes(ctx: RequestContext) -> None:
    attributes = ctx.params.get("Attributes") or {}
    if not isinstance(attributes, dict):
        return
    if ctx.operation_name == "SetQueueAttributes":
        url = str(ctx.params.get("QueueUrl") or "")
        for name in attributes:
            # A queue's type is fixed when it is created; SetQueueAttributes knows no FifoQueue,
            # and a standard queue has none of the FIFO attributes.
            if name == "FifoQueue" or (name in _SQS_FIFO_ONLY and not url.endswith(".fifo")):
                raise AwsError("InvalidAttributeName", f"Unknown Attribute {name}.", 400)
    for name, value in attributes.items():
        if not isinstance(value, str):
            continue
        if name in _SQS_NUMBERS:
            low, high = _SQS_NUMBERS[name]
            number = _integer(value)
            if number is None or not low <= number <= high:
                raise _sqs_invalid(name)
        elif name in _SQS_BOOLEANS:
            if value.lower() not in ("true", "false"):
                raise _sqs_invalid(name)
        elif name in _SQS_CHOICES:
            if value not in _SQS_CHOICES[name]:
                raise _sqs_invalid(name)
        elif name == "Policy" and value:
            ok, policy = _json(value)
            if not ok or not isinstance(policy, dict):
                raise _sqs_invalid(name)
        elif name == "RedrivePolicy" and value:
            _sqs_redrive(value)
        elif name == "RedriveAllowPolicy" and value:
            _sqs_redrive_allow(value)


# ------------------------------------------------------------------ SNS
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[^:]+")


@_on("sns", "SetTopicAttributes", "GetTopicAttributes", "DeleteTopic", "Subscribe", "ListSubscriptionsByTopic",
     "AddPermission", "RemovePermission", "ConfirmSubscription", "Publish", "PublishBatch")
def _sns_topic_arn(ctx: RequestContext) -> None:
    """A TopicArn that is not one: AWS answers ``InvalidParameter: Invalid parameter: TopicArn``."""
    arn = ctx.params.get("TopicArn")
    if arn is not None and (not isinstance(arn, str) or _TOPIC_ARN.fullmatch(arn) is None):
        raise AwsError("InvalidParameter", "Invalid parameter: TopicArn", 400)


@_on("sns", "Publish")
def _sns_publish_target(ctx: RequestContext) -> None:
    if not any(ctx.params.get(name) for name in ("TopicArn", "TargetArn", "PhoneNumber")):
        raise AwsError("InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter", 400)
    target = ctx.params.get("TargetArn")
    if target is not None and not (isinstance(target, str) and re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+", target)):
        raise AwsError("InvalidParameter", "Invalid parameter: TargetArn", 400)


_SNS_PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")


@_on("sns", "Subscribe")
def _sns_endpoint(ctx: RequestContext) -> None:
    """The protocols SNS delivers to, and an endpoint of the protocol's kind; moto subscribes any,
    and every Publish to the topic then fails on the subscription."""
    protocol, endpoint = ctx.params.get("Protocol"), ctx.params.get("Endpoint")
    if protocol not in _SNS_PROTOCOLS:
        raise AwsError("InvalidParameter", f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}", 400)
    if not isinstance(endpoint, str):
        return
    if protocol in ("http", "https"):
        scheme, _, rest = endpoint.partition("://")
        host = rest.split("/", 1)[0]
        if scheme.lower() != protocol or not host or any(c.isspace() for c in endpoint):
            raise AwsError("InvalidParameter", "Invalid parameter: Endpoint must match the specified protocol", 400)
    elif protocol in ("email", "email-json") and re.fullmatch(r"[^@\s]+@[^@\s]+", endpoint) is None:
        raise AwsError("InvalidParameter", "Invalid parameter: Email address", 400)
    elif protocol == "lambda" and re.fullmatch(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:.+", endpoint) is None:
        raise AwsError("InvalidParameter", "Invalid parameter: Lambda endpoint ARN", 400)


def _sns_policy(value: Any) -> None:
    """A topic's access policy is a JSON object (SNS: InvalidParameter, "Policy Error")."""
    if not isinstance(value, str) or not value:
        return
    ok, policy = _json(value)
    if not ok:
        raise AwsError("InvalidParameter", "Invalid parameter: Policy Error: the policy is not valid JSON", 400)
    if not isinstance(policy, dict):
        raise AwsError("InvalidParameter", "Invalid parameter: Policy Error: the policy must be a JSON object", 400)


@_on("sns", "CreateTopic")
def _sns_create_topic(ctx: RequestContext) -> None:
    attributes = ctx.params.get("Attributes")
    if isinstance(attributes, dict):
        _sns_policy(attributes.get("Policy"))


@_on("sns", "SetTopicAttributes")
def _sns_set_topic_attributes(ctx: RequestContext) -> None:
    if ctx.params.get("AttributeName") == "Policy":
        _sns_policy(ctx.params.get("AttributeValue"))


def _sns_filter_policy(value: Any, scope: str | None, full: bool) -> None:
    """A subscription's FilterPolicy: a JSON object; with ``full``, moto's own validation of its
    content (SNSBackend._validate_filter_policy, which reads no state) runs here too, so that
    Subscribe refuses it before moto creates the subscription."""
    if not isinstance(value, str) or not value:
        return
    try:
        policy = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise AwsError("InvalidParameter", f"Invalid parameter: FilterPolicy: failed to parse JSON. {exc}", 400) from None
    if not isinstance(policy, dict):
        raise AwsError("InvalidParameter", "Invalid parameter: FilterPolicy: Filter policy must be a JSON object", 400)
    if full:
        from moto.core.exceptions import ServiceException
        from moto.sns.models import SNSBackend

        try:
            SNSBackend._validate_filter_policy(None, policy, scope)  # type: ignore[arg-type]
        except ServiceException as exc:  # SNSInvalidParameter: InvalidParameter, 400
            raise AwsError(str(exc.code), str(exc.message), 400) from None


@_on("sns", "Subscribe")
def _sns_subscribe(ctx: RequestContext) -> None:
    attributes = ctx.params.get("Attributes")
    if isinstance(attributes, dict):
        scope = attributes.get("FilterPolicyScope")
        _sns_filter_policy(attributes.get("FilterPolicy"), scope if scope == "MessageBody" else "MessageAttributes", True)


@_on("sns", "SetSubscriptionAttributes")
def _sns_set_subscription_attributes(ctx: RequestContext) -> None:
    if ctx.params.get("AttributeName") == "FilterPolicy":
        _sns_filter_policy(ctx.params.get("AttributeValue"), None, False)  # its scope is the subscription's: moto checks the rest


_SNS_JSON_ATTRIBUTES = ("DeliveryPolicy", "RedrivePolicy")


def _sns_attribute(name: Any, value: Any) -> None:
    """DeliveryPolicy (of a topic or a subscription) and RedrivePolicy (of a subscription) are
    JSON objects; RawMessageDelivery is true or false. moto stored any text (and a delivery to
    the subscription later failed on it)."""
    if not isinstance(value, str) or not value:
        return
    if name in _SNS_JSON_ATTRIBUTES:
        try:
            policy = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise AwsError("InvalidParameter", f"Invalid parameter: {name}: failed to parse JSON. {exc}", 400) from None
        if not isinstance(policy, dict):
            raise AwsError("InvalidParameter", f"Invalid parameter: {name}: the policy must be a JSON object", 400)
    elif name == "RawMessageDelivery" and value.lower() not in ("true", "false"):
        raise AwsError("InvalidParameter", f"Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [{value}]. Must be true or false.", 400)


@_on("sns", "CreateTopic", "Subscribe")
def _sns_attributes(ctx: RequestContext) -> None:
    attributes = ctx.params.get("Attributes")
    if isinstance(attributes, dict):
        for name, value in attributes.items():
            _sns_attribute(name, value)


@_on("sns", "SetTopicAttributes", "SetSubscriptionAttributes")
def _sns_set_attribute(ctx: RequestContext) -> None:
    _sns_attribute(ctx.params.get("AttributeName"), ctx.params.get("AttributeValue"))


_on("sns", "ListTopics", "ListSubscriptions", "ListSubscriptionsByTopic")(_next_token("InvalidParameter", "Invalid parameter: NextToken"))


# ------------------------------------------------------------------ SSM
_on("ssm", "GetParametersByPath", "GetParameterHistory", "DescribeParameters", "ListDocuments")(
    _next_token("InvalidNextToken", "The specified token is not valid.")
)


@_on("ssm", "CreateDocument", "UpdateDocument")
def _ssm_document(ctx: RequestContext) -> None:
    """A document's content, in its format (JSON, YAML), is an object: SSM answers other
    content with ``InvalidDocumentContent: The content for the document is not valid.``"""
    content = ctx.params.get("Content")
    document_format = ctx.params.get("DocumentFormat") or "JSON"
    if not isinstance(content, str) or not content:
        return
    if document_format == "JSON":
        ok, parsed = _json(content)
    elif document_format == "YAML":
        import yaml

        try:
            parsed, ok = yaml.safe_load(content), True
        except yaml.YAMLError:
            parsed, ok = None, False
    else:
        return
    if ok and not isinstance(parsed, dict):
        raise AwsError("InvalidDocumentContent", "The content for the document is not valid.", 400)


# ------------------------------------------------------------------ Secrets Manager
def _secretsmanager_regions(ctx: RequestContext) -> None:
    """Replica regions must be regions of the partition (moto has a backend for each);
    Secrets Manager answers another with InvalidParameterException."""
    known = _regions("secretsmanager")
    for replica in ctx.params.get("AddReplicaRegions") or []:
        region = replica.get("Region") if isinstance(replica, dict) else None
        if isinstance(region, str) and region not in known:
            raise AwsError("InvalidParameterException", f"Invalid replica region: {region}.", 400)



_on("secretsmanager", "CreateSecret", "ReplicateSecretToRegions")(_secretsmanager_regions)
_on("secretsmanager", "ListSecrets", "BatchGetSecretValue")(_next_token("InvalidNextTokenException", "The NextToken value is invalid."))


@_on("secretsmanager", "GetRandomPassword")
def _secretsmanager_password(ctx: RequestContext) -> None:
    """A password needs characters to be made of: Secrets Manager refuses a request that
    excludes every one (InvalidParameterException)."""
    import string

    p = ctx.params
    pool = ""
    if not p.get("ExcludeLowercase"):
        pool += string.ascii_lowercase
    if not p.get("ExcludeUppercase"):
        pool += string.ascii_uppercase
    if not p.get("ExcludeNumbers"):
        pool += string.digits
    if not p.get("ExcludePunctuation"):
        pool += string.punctuation
    if p.get("IncludeSpace"):
        pool += " "
    excluded = set(p.get("ExcludeCharacters") or "")
    if not any(c not in excluded for c in pool):
        raise AwsError("InvalidParameterException", "No characters are left to make a password of: every character type, or every character of the included types, is excluded.", 400)


@_on("secretsmanager", "CreateSecret", "PutSecretValue", "UpdateSecret")
def _secretsmanager_value(ctx: RequestContext) -> None:
    """A secret's value is a string or binary, not both (Secrets Manager:
    InvalidParameterException; moto stored both)."""
    if ctx.params.get("SecretString") is not None and ctx.params.get("SecretBinary") is not None:
        raise AwsError("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.", 400)


@_on("secretsmanager", "PutResourcePolicy")
def _secretsmanager_policy(ctx: RequestContext) -> None:
    """A secret's resource policy: Secrets Manager answers one that is not a policy document
    with ``MalformedPolicyDocumentException: This resource policy contains a syntax error.``"""
    if _policy_problem(ctx.params.get("ResourcePolicy"), principal=True) is not None:
        raise AwsError("MalformedPolicyDocumentException", "This resource policy contains a syntax error.", 400)


# ------------------------------------------------------------------ KMS
@_on("kms", "CreateKey", "PutKeyPolicy", "ReplicateKey")
def _kms_policy(ctx: RequestContext) -> None:
    """A key policy is a policy document whose statements name their principals: KMS answers
    another with ``MalformedPolicyDocumentException`` (moto stored any text, and every later
    GetKeyPolicy returned it)."""
    policy = ctx.params.get("Policy")
    if policy is None:
        return
    problem = _policy_problem(policy, principal=True)
    if problem is not None:
        raise AwsError("MalformedPolicyDocumentException", f"The key policy is not valid. {problem}", 400)


# The key usages each key spec allows (KMS developer guide, "Key spec reference").
_KMS_USAGES = {
    "SYMMETRIC_DEFAULT": ("ENCRYPT_DECRYPT",),
    "RSA_2048": ("ENCRYPT_DECRYPT", "SIGN_VERIFY"), "RSA_3072": ("ENCRYPT_DECRYPT", "SIGN_VERIFY"), "RSA_4096": ("ENCRYPT_DECRYPT", "SIGN_VERIFY"),
    "ECC_NIST_P256": ("SIGN_VERIFY", "KEY_AGREEMENT"), "ECC_NIST_P384": ("SIGN_VERIFY", "KEY_AGREEMENT"), "ECC_NIST_P521": ("SIGN_VERIFY", "KEY_AGREEMENT"),
    "ECC_SECG_P256K1": ("SIGN_VERIFY",), "ECC_NIST_EDWARDS25519": ("SIGN_VERIFY",),
    "ML_DSA_44": ("SIGN_VERIFY",), "ML_DSA_65": ("SIGN_VERIFY",), "ML_DSA_87": ("SIGN_VERIFY",),
    "SM2": ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"),
    "HMAC_224": ("GENERATE_VERIFY_MAC",), "HMAC_256": ("GENERATE_VERIFY_MAC",), "HMAC_384": ("GENERATE_VERIFY_MAC",), "HMAC_512": ("GENERATE_VERIFY_MAC",),
}


@_on("kms", "CreateKey")
def _kms_key_usage(ctx: RequestContext) -> None:
    """A key spec and a key usage given together go together (an HMAC key makes MACs, an ECC
    key signs...): KMS refuses another pair with ValidationException; moto made the key."""
    spec = ctx.params.get("KeySpec") or ctx.params.get("CustomerMasterKeySpec")
    usage = ctx.params.get("KeyUsage")
    allowed = _KMS_USAGES.get(spec) if isinstance(spec, str) else None
    if usage is not None and allowed is not None and usage not in allowed:
        raise AwsError("ValidationException", f"KeyUsage {usage} is not compatible with KeySpec {spec}", 400)


@_on("kms", "ScheduleKeyDeletion")
def _kms_deletion_window(ctx: RequestContext) -> None:
    """A waiting period of 7 to 30 days (botocore's model says 1 to 365)."""
    days = ctx.params.get("PendingWindowInDays")
    if isinstance(days, int) and not 7 <= days <= 30:
        bound = "greater than or equal to 7" if days < 7 else "less than or equal to 30"
        raise AwsError("ValidationException", f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {bound}", 400)


# ------------------------------------------------------------------ EventBridge
def _json_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


@_on("events", "PutTargets")
def _events_targets(ctx: RequestContext) -> None:
    """A target's input: constant JSON text (Input), a JSON path into the event (InputPath), or
    an InputTransformer whose InputPathsMap values are JSON paths; one of them at most.
    moto stores any, and every later PutEvents that the rule matches then fails in it."""
    for target in ctx.params.get("Targets") or []:
        if not isinstance(target, dict):
            continue
        given = [name for name in ("Input", "InputPath", "InputTransformer") if target.get(name) is not None]
        if len(given) > 1:
            raise AwsError("ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided.", 400)
        if "Input" in given and not _json(target["Input"])[0]:
            raise AwsError("ValidationException", f"Parameter Input is not valid. Reason: Input of target {target.get('Id')} is not valid JSON text.", 400)
        if "InputPath" in given and not _json_path(target["InputPath"]):
            raise AwsError("ValidationException", f"Parameter InputPath is not valid. Reason: '{target['InputPath']}' is not a valid JSON path.", 400)
        paths = (target.get("InputTransformer") or {}).get("InputPathsMap") or {}
        for key, path in paths.items():
            if not _json_path(path):
                raise AwsError("ValidationException", f"Parameter InputPathsMap is not valid. Reason: the value '{path}' of key '{key}' is not a valid JSON path.", 400)


@_on("events", "PutPermission")
def _events_permission(ctx: RequestContext) -> None:
    """An event bus policy (Policy, instead of Action, Principal and StatementId): a JSON policy
    whose statements each have a Sid (RemovePermission names them), an Effect, a Principal, an
    Action and a Resource. moto checked only that it was JSON, and failed (500) on the rest."""
    policy = ctx.params.get("Policy")
    if not isinstance(policy, str) or not policy:
        return
    ok, document = _json(policy)
    if not ok or not isinstance(document, dict):
        raise AwsError("ValidationException", "This policy contains invalid Json", 400)
    problem = _policy_problem(policy, principal=True)
    if problem is None:
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        for statement in statements:
            missing = [name for name in ("Sid", "Principal", "Action", "Resource") if name not in statement]
            if missing:
                problem = f"A Statement must contain a {missing[0]}."
                break
    if problem is not None:
        raise AwsError("ValidationException", f"This policy is not valid. {problem}", 400)


# ------------------------------------------------------------------ Kinesis
@_on("kinesis", "CreateStream")
def _kinesis_create_stream(ctx: RequestContext) -> None:
    """A provisioned stream (the default mode) needs its number of shards."""
    mode = (ctx.params.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    if mode == "PROVISIONED" and ctx.params.get("ShardCount") is None:
        raise AwsError("ValidationException", "ShardCount is required for a stream in PROVISIONED mode.", 400)


@_on("kinesis", "GetShardIterator")
def _kinesis_shard_iterator(ctx: RequestContext) -> None:
    """The iterator types' own parameters (Kinesis' InvalidArgumentException wording)."""
    kind = ctx.params.get("ShardIteratorType")
    number = ctx.params.get("StartingSequenceNumber")
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST") and (number is None) == (kind.endswith("SEQUENCE_NUMBER")):
        raise AwsError(
            "InvalidArgumentException",
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
            f"(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and "
            + ("no StartingSequenceNumber." if number is None else "also a StartingSequenceNumber."),
            400,
        )
    if kind == "AT_TIMESTAMP" and ctx.params.get("Timestamp") is None:
        raise AwsError("InvalidArgumentException", "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.", 400)


@_on("kinesis", "GetRecords")
def _kinesis_get_records(ctx: RequestContext) -> None:
    """A shard iterator is one that GetShardIterator handed out (moto's: base64 of
    ``stream:shard:sequence``); Kinesis: ``InvalidArgumentException: Invalid ShardIterator.``"""
    iterator = ctx.params.get("ShardIterator")
    if not isinstance(iterator, str):
        return
    try:
        parts = base64.decodebytes(iterator.encode("ascii")).decode("utf-8").split(":")
    except (binascii.Error, UnicodeError, ValueError):
        parts = []
    if len(parts) != 3 or _integer(parts[2]) is None:
        raise AwsError("InvalidArgumentException", "Invalid ShardIterator.", 400)


# ------------------------------------------------------------------ Lambda
@_on("lambda", "CreateFunction")
def _lambda_code(ctx: RequestContext) -> None:
    """A function's code: a .zip (ZipFile, or S3Bucket and S3Key) or a container image (ImageUri)."""
    code = ctx.params.get("Code")
    if not isinstance(code, dict):
        return
    if not (code.get("ZipFile") or (code.get("S3Bucket") and code.get("S3Key")) or code.get("ImageUri")):
        raise AwsError("InvalidParameterValueException", "Code must name the function's code: a ZipFile, an S3Bucket and S3Key, or an ImageUri.", 400)


def _lambda_zip(data: Any) -> None:
    """A .zip file's bytes: Lambda answers other bytes with ``InvalidParameterValueException:
    Could not unzip uploaded file. Please check your file, then try to upload again.``"""
    import io
    import zipfile

    if isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            data = b""
    if isinstance(data, bytes | bytearray) and data and not zipfile.is_zipfile(io.BytesIO(data)):
        raise AwsError("InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again.", 400)


@_on("lambda", "CreateFunction", "UpdateFunctionCode", "PublishLayerVersion")
def _lambda_zip_file(ctx: RequestContext) -> None:
    p = ctx.params
    holder = p.get("Code") if ctx.operation_name == "CreateFunction" else p.get("Content") if ctx.operation_name == "PublishLayerVersion" else p
    if isinstance(holder, dict):
        _lambda_zip(holder.get("ZipFile"))


@_on("lambda", "CreateFunction", "UpdateFunctionConfiguration")
def _lambda_limits(ctx: RequestContext) -> None:
    """A timeout of 900 seconds at most, and a function name (not an ARN) of 64 characters at
    most: Lambda's ValidationException (botocore's model allows more of both)."""
    timeout = ctx.params.get("Timeout")
    if isinstance(timeout, int) and timeout > 900:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900", 400)
    name = ctx.params.get("FunctionName")
    if ctx.operation_name == "CreateFunction" and isinstance(name, str) and ":" not in name and len(name) > 64:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64", 400)


_LAMBDA_PRINCIPAL = re.compile(r"\*|\d{12}|arn:aws[a-z-]*:[a-z]+::\d{12}:\S+|[a-z0-9.-]+\.[a-z0-9.-]+")


@_on("lambda", "AddPermission", "AddLayerVersionPermission")
def _lambda_principal(ctx: RequestContext) -> None:
    """Who a function's (or layer's) permission is for: ``*``, an account id, an IAM ARN, or a
    service principal (``s3.amazonaws.com``). Lambda: ``InvalidParameterValueException: The
    provided principal was invalid. Please check the principal and try again.`` (A duplicate
    StatementId: fallback_patches.py.)"""
    principal = ctx.params.get("Principal")
    if isinstance(principal, str) and _LAMBDA_PRINCIPAL.fullmatch(principal) is None:
        raise AwsError("InvalidParameterValueException", "The provided principal was invalid. Please check the principal and try again.", 400)


# ------------------------------------------------------------------ ECR
@_on("ecr", "PutImage")
def _ecr_manifest(ctx: RequestContext) -> None:
    manifest = ctx.params.get("imageManifest")
    if isinstance(manifest, str) and not _json(manifest)[0]:
        raise AwsError("InvalidParameterException", "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'", 400)


# ------------------------------------------------------------------ CloudFormation
@_on("cloudformation", "CreateStack", "UpdateStack", "CreateChangeSet", "GetTemplateSummary", "CreateStackSet", "UpdateStackSet")
def _cfn_template(ctx: RequestContext) -> None:
    """A template is read and its references resolved before anything is created
    (emulator/gateway/cfn_template.py): CloudFormation's ``ValidationError`` for each."""
    p = ctx.params
    if ctx.operation_name in ("UpdateStack", "CreateChangeSet") and p.get("UsePreviousTemplate") and (p.get("TemplateBody") or p.get("TemplateURL")):
        raise AwsError("ValidationError", "You cannot specify both usePreviousTemplate and Template Body/Template URL", 400)
    body = p.get("TemplateBody")
    if isinstance(body, str):
        parameters = {str(x.get("ParameterKey")): x.get("ParameterValue") for x in p.get("Parameters") or [] if isinstance(x, dict)}
        cfn_template.check(body, parameters if ctx.operation_name != "GetTemplateSummary" else None)


@_on("cloudformation", "CreateStack", "UpdateStack", "CreateChangeSet")
def _cfn_notification_arns(ctx: RequestContext) -> None:
    """Stack events go to the SNS topics that NotificationARNs names (moto: ValueError on
    another value, after the stack was stored)."""
    for arn in ctx.params.get("NotificationARNs") or []:
        if not isinstance(arn, str) or _TOPIC_ARN.fullmatch(arn) is None:
            raise AwsError("ValidationError", f"Notification ARN {arn} is not a valid SNS topic ARN.", 400)


_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]*")


@_on("cloudformation", "CreateStack", "CreateChangeSet", "CreateStackSet")
def _cfn_stack_name(ctx: RequestContext) -> None:
    """A new stack's name: a letter, then letters, digits and hyphens, 128 characters at most
    (CloudFormation's ValidationError; moto created ``my_stack``, which AWS refuses)."""
    member, field = ("StackSetName", "stackSetName") if ctx.operation_name == "CreateStackSet" else ("StackName", "stackName")
    name = ctx.params.get(member)
    if not isinstance(name, str) or name.startswith("arn:") or (ctx.operation_name == "CreateChangeSet" and ctx.params.get("ChangeSetType") != "CREATE"):
        return
    prefix = f"1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must "
    if _STACK_NAME.fullmatch(name) is None:
        raise AwsError("ValidationError", prefix + "satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*", 400)
    if len(name) > 128:
        raise AwsError("ValidationError", prefix + "have length less than or equal to 128", 400)


_on("cloudformation", "ListExports")(_next_token("ValidationError", "Invalid NextToken"))


# ------------------------------------------------------------------ Organizations
# The policy types whose content is an IAM-grammar policy document (a Statement); the others
# (tag, backup, AI services opt-out, chat applications, declarative policies) are JSON objects
# of their own grammar.
_ORG_STATEMENT_POLICIES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


@_on("organizations", "CreatePolicy", "UpdatePolicy")
def _organizations_policy(ctx: RequestContext) -> None:
    """Organizations: ``MalformedPolicyDocumentException: The provided policy document doesn't
    meet the requirements of the specified policy type.`` (UpdatePolicy does not name the type:
    its content must be a JSON object.)"""
    content = ctx.params.get("Content")
    if content is None:
        return
    ok, document = _json(content)
    malformed = not ok or not isinstance(document, dict)
    if not malformed and ctx.params.get("Type") in _ORG_STATEMENT_POLICIES:
        malformed = _policy_problem(content, principal=False) is not None
    if malformed:
        raise AwsError("MalformedPolicyDocumentException", "The provided policy document doesn't meet the requirements of the specified policy type.", 400)
