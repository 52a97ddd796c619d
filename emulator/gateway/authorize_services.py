"""Authorization's resources for services served by moto: SQS, SNS, Secrets Manager, KMS, Lambda,
SSM parameters, Kinesis, EventBridge and Step Functions.

Each resolver gives the (action, resource ARN) pairs of a request as the Service Authorization
Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/) lists them for
the service's common operations; an operation not mapped here is authorized on ``*`` as before,
and so is every request of the root key (allowed without a look at the resource).
Actions are ``action_for``'s (emulator/gateway/authorize_requirements.py, where the operations
authorized as another action are: sqs:SendMessage for SendMessageBatch, lambda:InvokeFunction
for Invoke, ...). The authorizer registers them in ``RESOLVERS`` there (``register``).

A name or partial ARN that moto must resolve (a secret's name to its ARN with its 6-character
suffix, a KMS alias to its key) is read from moto's backend of the request's account and
Region: a dict read, never a scan per request, and never a backend made. Nothing here raises:
on any failure the best ARN that can be built from the request is used, and moto then answers
a missing resource with its own error (an allowed caller still gets NonExistentQueue,
ResourceNotFoundException, NotFoundException, ...).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from emulator.gateway.authorize_requirements import action_for

Requirement = tuple[str, str]  # (action, resource ARN)
Resolver = Callable[[str, dict[str, Any], str, str], list[Requirement]]


# ------------------------------------------------------------------ moto's state
def _backend(service: str, region: str, account: str) -> Any:
    """moto's backend of ``service`` in the account and Region, or None (none is made)."""
    from emulator.gateway import security  # it imports this module

    runtime = security._current() if security._current is not None else None
    fallback = runtime.fallback if runtime is not None else None
    if fallback is None or account != fallback.account_id:
        return None
    fallback.start()  # its saved state is loaded
    from moto.backends import get_backend

    accounts = dict.get(get_backend(service), account)  # type: ignore[call-overload]
    return dict.get(accounts, region) if isinstance(accounts, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _safe(service: str) -> Callable[[Resolver], Resolver]:
    """A resolver that never raises: on a failure the operation is authorized on ``*``."""

    def wrap(resolver: Resolver) -> Resolver:
        @functools.wraps(resolver)
        def resolve(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
            try:
                return resolver(op, params, region, account)
            except Exception:  # noqa: BLE001 - a request moto will refuse: it says why
                return [(action_for(service, op), "*")]

        return resolve

    return wrap


# ------------------------------------------------------------------ SQS
def queue_arn(url_or_name: str, region: str, account: str) -> str:
    """``arn:aws:sqs:REGION:ACCOUNT:NAME`` of a queue URL (``http://host/ACCOUNT/NAME``) or name."""
    if url_or_name.startswith("arn:"):
        return url_or_name
    if "/" in url_or_name:
        parts = [p for p in urlsplit(url_or_name).path.split("/") if p]
        if len(parts) >= 2:
            return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"
        if parts:
            return f"arn:aws:sqs:{region}:{account}:{parts[-1]}"
        return "*"
    return f"arn:aws:sqs:{region}:{account}:{url_or_name}"


@_safe("sqs")
def sqs_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The queue (Service Authorization Reference, "Amazon SQS"): from QueueUrl, or QueueName
    (CreateQueue; GetQueueUrl, in QueueOwnerAWSAccountId's account), or SourceArn (the message
    move tasks); ListQueues and CancelMessageMoveTask ``*``."""
    action = action_for("sqs", op)
    url = _str(params.get("QueueUrl"))
    if url is not None:
        return [(action, queue_arn(url, region, account))]
    name = _str(params.get("QueueName"))
    if name is not None and op in ("CreateQueue", "GetQueueUrl"):
        owner = _str(params.get("QueueOwnerAWSAccountId")) or account
        return [(action, queue_arn(name, region, owner))]
    source = _str(params.get("SourceArn"))
    if source is not None:
        return [(action, source)]
    return [(action, "*")]


# ------------------------------------------------------------------ SNS
def _topic_of_subscription(arn: str) -> str:
    """A subscription's ARN is its topic's and ``:<id>``; anything else (``PendingConfirmation``) ``*``."""
    parts = arn.split(":")
    return ":".join(parts[:6]) if arn.startswith("arn:") and len(parts) == 7 else "*"


@_safe("sns")
def sns_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The topic: TopicArn (or Publish's TargetArn), a subscription's topic (SubscriptionArn),
    the topic CreateTopic makes (Name), the tagged resource (ResourceArn); the platform
    applications, SMS and the List* without a topic ``*``."""
    action = action_for("sns", op)
    for member in ("TopicArn", "TargetArn"):
        value = _str(params.get(member))
        if value is not None:
            return [(action, value)]
    subscription = _str(params.get("SubscriptionArn"))
    if subscription is not None:
        return [(action, _topic_of_subscription(subscription))]
    name = _str(params.get("Name"))
    if op == "CreateTopic" and name is not None:
        return [(action, f"arn:aws:sns:{region}:{account}:{name}")]
    resource = _str(params.get("ResourceArn"))
    if resource is not None:
        return [(action, resource)]
    return [(action, "*")]


# ------------------------------------------------------------------ Secrets Manager
_SECRET_SUFFIX = re.compile(r"^(.+)-[A-Za-z0-9]{6}$")


def secret_arn(ident: str, region: str, account: str) -> str:
    """The secret's full ARN (``...:secret:NAME-AbCdEf``) for a name, a partial ARN (no suffix)
    or a full ARN, as moto's store holds it (keyed by name); one not there: the ARN as given,
    or built from the name without the suffix."""
    name = ident
    if ident.startswith("arn:"):
        parts = ident.split(":", 6)
        if len(parts) != 7 or parts[5] != "secret":
            return ident
        region, account, name = parts[3], parts[4], parts[6]
    built = ident if ident.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"
    try:
        store = getattr(_backend("secretsmanager", region, account), "secrets", None)
    except Exception:  # noqa: BLE001 - no Secrets Manager state: the ARN built
        return built
    if not isinstance(store, dict):
        return built
    if ident.startswith("arn:"):
        m = _SECRET_SUFFIX.match(name)
        found = dict.get(store, m.group(1)) if m else None
        if found is not None and getattr(found, "arn", None) == ident:
            return ident  # a full ARN
    arn = getattr(dict.get(store, name), "arn", None)  # a name, or a partial ARN
    return arn if isinstance(arn, str) and arn else built


@_safe("secretsmanager")
def secretsmanager_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The secret (SecretId). CreateSecret's is not known before moto makes its random suffix:
    it is authorized on ``arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`` (ours: the ARN
    without the suffix; a policy on ``secret:NAME*`` or ``secret:prefix/*`` matches it, one on
    ``secret:NAME-??????`` does not). BatchGetSecretValue needs secretsmanager:GetSecretValue on
    each secret of SecretIdList too (its API reference); ListSecrets, GetRandomPassword ``*``."""
    action = action_for("secretsmanager", op)
    ident = _str(params.get("SecretId"))
    if ident is not None:
        return [(action, secret_arn(ident, region, account))]
    name = _str(params.get("Name"))
    if op == "CreateSecret" and name is not None:
        return [(action, f"arn:aws:secretsmanager:{region}:{account}:secret:{name}")]
    if op == "BatchGetSecretValue":
        ids = params.get("SecretIdList")
        reqs: list[Requirement] = [(action, "*")]
        if isinstance(ids, list):
            reqs.extend(("secretsmanager:GetSecretValue", secret_arn(i, region, account)) for i in ids if isinstance(i, str) and i)
        return reqs
    return [(action, "*")]


# ------------------------------------------------------------------ KMS
# (account, region, alias name) -> the key id it named when last looked up; checked against
# moto's key on each use (one dict read), looked up again (a walk over the keys) when stale.
_ALIASES: dict[tuple[str, str, str], str] = {}


def _alias_target(alias: str, region: str, account: str) -> str | None:
    """The id of the key an alias (``alias/NAME``) names in moto's KMS, or None."""
    backend = _backend("kms", region, account)
    keys = getattr(backend, "keys", None)
    if not isinstance(keys, dict):
        return None
    cache_key = (account, region, alias)
    known = _ALIASES.get(cache_key)
    if known is not None:
        key = dict.get(keys, known)
        if key is not None and alias in getattr(key, "aliases", {}):
            return known
    for key_id, key in list(keys.items()):
        if alias in getattr(key, "aliases", {}):
            if len(_ALIASES) >= 4096:
                _ALIASES.clear()
            _ALIASES[cache_key] = key_id
            return str(key_id)
    return None


def key_arn(ident: str, region: str, account: str) -> str:
    """The KMS key's ARN for a key id, a key ARN, an alias name or an alias ARN (an alias moto
    does not know: its own ARN)."""
    alias = ident
    if ident.startswith("arn:"):
        parts = ident.split(":", 5)
        if len(parts) != 6 or not parts[5].startswith("alias/"):
            return ident  # a key's ARN
        region, account, alias = parts[3], parts[4], parts[5]
    elif not ident.startswith("alias/"):
        return f"arn:aws:kms:{region}:{account}:key/{ident}"
    try:
        target = _alias_target(alias, region, account)
    except Exception:  # noqa: BLE001 - no KMS state
        target = None
    return f"arn:aws:kms:{region}:{account}:key/{target}" if target else f"arn:aws:kms:{region}:{account}:{alias}"


def _alias_arn(alias: str, region: str, account: str) -> str:
    return alias if alias.startswith("arn:") else f"arn:aws:kms:{region}:{account}:{alias}"


_KEY_ID = re.compile(r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def _ciphertext_key(blob: Any, region: str, account: str) -> str:
    """The key a ciphertext was made under (moto's blobs start with the key's id, 36 bytes),
    ``*`` when it names none moto has."""
    if isinstance(blob, str):
        blob = base64.b64decode(blob)
    if not isinstance(blob, (bytes, bytearray)) or len(blob) < 36:
        return "*"
    key_id = bytes(blob[:36]).decode("ascii", "replace")
    if not _KEY_ID.match(key_id):
        return "*"
    backend = _backend("kms", region, account)
    keys = getattr(backend, "keys", None)
    return f"arn:aws:kms:{region}:{account}:key/{key_id}" if isinstance(keys, dict) and key_id in keys else "*"


@_safe("kms")
def kms_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The key (KeyId: an id, a key ARN, an alias or an alias's ARN; Decrypt without one: the
    key of its ciphertext). ReEncrypt is kms:ReEncryptFrom on its source and kms:ReEncryptTo on
    its destination; CreateAlias, UpdateAlias and DeleteAlias act on the alias and on its keys
    (their API references, "Required permissions"). CreateKey, ListKeys, ListAliases and the
    custom key stores ``*``."""
    action = action_for("kms", op)
    if op == "ReEncrypt":
        source = _str(params.get("SourceKeyId"))
        src = key_arn(source, region, account) if source else _ciphertext_key(params.get("CiphertextBlob"), region, account)
        destination = _str(params.get("DestinationKeyId"))
        return [("kms:ReEncryptFrom", src), ("kms:ReEncryptTo", key_arn(destination, region, account) if destination else "*")]
    alias = _str(params.get("AliasName"))
    if alias is not None and op in ("CreateAlias", "UpdateAlias", "DeleteAlias"):
        reqs: list[Requirement] = [(action, _alias_arn(alias, region, account))]
        if op != "CreateAlias":
            current = key_arn(alias, region, account)  # the key the alias names now
            if ":key/" in current:
                reqs.append((action, current))
        target = _str(params.get("TargetKeyId"))
        if target is not None:
            new = key_arn(target, region, account)
            if new not in (r for _, r in reqs):
                reqs.append((action, new))
        return reqs
    if op == "ListAliases":
        return [(action, "*")]
    ident = _str(params.get("KeyId"))
    if ident is not None:
        return [(action, key_arn(ident, region, account))]
    if op == "Decrypt":
        return [(action, _ciphertext_key(params.get("CiphertextBlob"), region, account))]
    return [(action, "*")]


# ------------------------------------------------------------------ Lambda
def function_arn(name: str, qualifier: str | None, region: str, account: str) -> str:
    """``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`` of a FunctionName (a name, a
    partial ARN ``ACCOUNT:function:NAME``, an ARN; each maybe with ``:QUALIFIER``) and Qualifier."""
    parts = name.split(":")
    if name.startswith("arn:") and len(parts) >= 7 and parts[5] == "function":
        region, account, fn, found = parts[3], parts[4], parts[6], parts[7] if len(parts) > 7 else None
    elif len(parts) >= 3 and parts[1] == "function":
        account, fn, found = parts[0], parts[2], parts[3] if len(parts) > 3 else None
    elif name.startswith("arn:"):
        return name
    else:
        fn, found = parts[0], parts[1] if len(parts) > 1 else None
    qualifier = qualifier or found
    return f"arn:aws:lambda:{region}:{account}:function:{fn}" + (f":{qualifier}" if qualifier else "")


# Event source mappings are authorized on "*" (CreateEventSourceMapping: the lambda:FunctionArn
# condition key names the function) or on their own ARN: left as they were.
_LAMBDA_UNMAPPED = frozenset({"CreateEventSourceMapping", "UpdateEventSourceMapping", "ListEventSourceMappings",
                              "GetEventSourceMapping", "DeleteEventSourceMapping"})


@_safe("lambda")
def lambda_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The function (FunctionName with its qualifier, or Qualifier: a version or alias's ARN
    is the qualified one); the tagged resource (Resource, ResourceArn); the rest ``*``."""
    action = action_for("lambda", op)
    if op in _LAMBDA_UNMAPPED:
        return [(action, "*")]
    name = _str(params.get("FunctionName"))
    if name is not None:
        return [(action, function_arn(name, _str(params.get("Qualifier")), region, account))]
    for member in ("Resource", "ResourceArn"):
        value = _str(params.get(member))
        if value is not None and value.startswith("arn:"):
            return [(action, value)]
    return [(action, "*")]


# ------------------------------------------------------------------ SSM parameters
def parameter_arn(name: str, region: str, account: str) -> str:
    """``arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`` (``/a/b`` and ``a`` alike: one slash); a
    name's version or label selector (``name:3``) is not part of it."""
    if name.startswith("arn:"):
        return name
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.split(':', 1)[0].lstrip('/')}"


_SSM_PARAMETER_OPS = frozenset({"GetParameter", "PutParameter", "DeleteParameter", "GetParameterHistory", "LabelParameterVersion",
                                "UnlabelParameterVersion"})
_SSM_TAG_OPS = frozenset({"AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"})


@_safe("ssm")
def ssm_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The parameter (Name; each of Names; GetParametersByPath's Path; a Parameter's tags);
    the other SSM operations ``*``."""
    action = action_for("ssm", op)
    name = _str(params.get("Name"))
    if op in _SSM_PARAMETER_OPS and name is not None:
        return [(action, parameter_arn(name, region, account))]
    names = params.get("Names")
    if op in ("GetParameters", "DeleteParameters") and isinstance(names, list):
        found = [(action, parameter_arn(n, region, account)) for n in dict.fromkeys(n for n in names if isinstance(n, str) and n)]
        return found or [(action, "*")]
    path = _str(params.get("Path"))
    if op == "GetParametersByPath" and path is not None:
        return [(action, parameter_arn(path, region, account))]
    resource = _str(params.get("ResourceId"))
    if op in _SSM_TAG_OPS and params.get("ResourceType") == "Parameter" and resource is not None:
        return [(action, parameter_arn(resource, region, account))]
    return [(action, "*")]


# ------------------------------------------------------------------ Kinesis
@_safe("kinesis")
def kinesis_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The stream (StreamARN, or StreamName: ``arn:aws:kinesis:REGION:ACCOUNT:stream/NAME``), a
    consumer (ConsumerARN), the resource of a tag or policy call (ResourceARN), GetRecords' the
    stream its ShardIterator was handed out for; ListStreams ``*``."""
    action = action_for("kinesis", op)
    for member in ("ConsumerARN", "StreamARN", "ResourceARN"):
        value = _str(params.get(member))
        if value is not None:
            return [(action, value)]
    name = _str(params.get("StreamName"))
    iterator = _str(params.get("ShardIterator"))
    if name is None and op == "GetRecords" and iterator is not None:
        # moto's iterators are base64 of ``stream:shard:sequence`` (GetShardIterator's answer).
        name = base64.b64decode(iterator).decode().split(":", 1)[0] or None
    if name is not None:
        return [(action, f"arn:aws:kinesis:{region}:{account}:stream/{name}")]
    return [(action, "*")]


# ------------------------------------------------------------------ EventBridge
def event_bus_arn(name: str | None, region: str, account: str) -> str:
    """``arn:aws:events:REGION:ACCOUNT:event-bus/NAME``; no name: the default bus."""
    name = name or "default"
    return name if name.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{name}"


def rule_arn(rule: str, bus: str | None, region: str, account: str) -> str:
    """``arn:aws:events:REGION:ACCOUNT:rule/NAME`` on the default bus, ``rule/BUS/NAME`` on another."""
    if rule.startswith("arn:"):
        return rule
    if bus is not None and bus.startswith("arn:"):
        parts = bus.split(":", 5)
        if len(parts) == 6:
            region, account = parts[3], parts[4]
        bus = bus.rsplit("event-bus/", 1)[-1]
    if not bus or bus == "default":
        return f"arn:aws:events:{region}:{account}:rule/{rule}"
    return f"arn:aws:events:{region}:{account}:rule/{bus}/{rule}"


_RULE_OPS = frozenset({"PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule"})
_TARGET_OPS = frozenset({"PutTargets", "RemoveTargets", "ListTargetsByRule"})
_BUS_OPS = frozenset({"CreateEventBus", "DeleteEventBus", "DescribeEventBus", "UpdateEventBus"})


@_safe("events")
def events_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The rule (its Name, or Rule for its targets, on EventBusName or the default bus), the
    event bus (PutEvents: each entry's, the default when none; the bus operations' Name;
    PutPermission and RemovePermission), the tagged resource (ResourceARN); the rest ``*``."""
    action = action_for("events", op)
    bus = _str(params.get("EventBusName"))
    if op in _RULE_OPS and _str(params.get("Name")) is not None:
        return [(action, rule_arn(params["Name"], bus, region, account))]
    if op in _TARGET_OPS and _str(params.get("Rule")) is not None:
        return [(action, rule_arn(params["Rule"], bus, region, account))]
    if op == "PutEvents":
        entries = params.get("Entries")
        buses = [e.get("EventBusName") if isinstance(e, dict) else None for e in entries] if isinstance(entries, list) else []
        return [(action, event_bus_arn(b, region, account)) for b in dict.fromkeys(b if isinstance(b, str) and b else None for b in buses)] or [(action, "*")]
    if op in _BUS_OPS:
        return [(action, event_bus_arn(_str(params.get("Name")), region, account))]
    if op in ("PutPermission", "RemovePermission"):
        return [(action, event_bus_arn(bus, region, account))]
    resource = _str(params.get("ResourceARN"))
    if resource is not None:
        return [(action, resource)]
    return [(action, "*")]


# ------------------------------------------------------------------ Step Functions
_STATES_MEMBERS = ("executionArn", "stateMachineArn", "stateMachineAliasArn", "stateMachineVersionArn", "activityArn", "mapRunArn", "resourceArn")


@_safe("stepfunctions")
def stepfunctions_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The state machine (stateMachineArn; CreateStateMachine's name), the execution
    (executionArn), the activity (activityArn; CreateActivity's name), an alias, version or
    map run, the tagged resource; ListStateMachines, ListActivities and the task tokens ``*``."""
    action = action_for("stepfunctions", op)
    for member in _STATES_MEMBERS:
        value = _str(params.get(member))
        if value is not None:
            return [(action, value)]
    name = _str(params.get("name"))
    if op == "CreateStateMachine" and name is not None:
        return [(action, f"arn:aws:states:{region}:{account}:stateMachine:{name}")]
    if op == "CreateActivity" and name is not None:
        return [(action, f"arn:aws:states:{region}:{account}:activity:{name}")]
    return [(action, "*")]


# botocore service name -> resolver; the authorizer (emulator/gateway/authorize.py) registers
# them in authorize_requirements.RESOLVERS.
SERVICE_RESOLVERS: dict[str, Resolver] = {
    "sqs": sqs_requirements,
    "sns": sns_requirements,
    "secretsmanager": secretsmanager_requirements,
    "kms": kms_requirements,
    "lambda": lambda_requirements,
    "ssm": ssm_requirements,
    "kinesis": kinesis_requirements,
    "events": events_requirements,
    "stepfunctions": stepfunctions_requirements,
}
