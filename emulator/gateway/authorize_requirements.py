"""Authorization's requirements: the IAM action and the resource ARNs each call needs.

Actions are ``<iam prefix>:<Operation>`` (``dynamodb:PutItem``, ``ec2:RunInstances``,
``bedrock:InvokeModel``); resources are the ARNs AWS documents for each action in the Service
Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/),
built per service (``RESOLVERS``); ``requirements`` gives a request's. The authorizer
(emulator/gateway/authorize.py) decides on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from emulator.compute.model_ids import normalize_model_id, strip_profile
from emulator.context import RequestContext
from emulator.gateway import s3_policy

# botocore service name -> IAM action prefix (where it differs from the signing name).
_PREFIX = {
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodb",
    "bedrock-runtime": "bedrock",
    "bedrock": "bedrock",
    "cloudwatch": "cloudwatch",
    "logs": "logs",
    "ec2": "ec2",
    "iam": "iam",
    "sts": "sts",
    "ses": "ses",
    "sesv2": "ses",
    "opensearch": "es",
    "stepfunctions": "states",
}

# Operations authorized as another action (Converse needs bedrock:InvokeModel on AWS; Lambda's
# Invoke is lambda:InvokeFunction, and InvokeWithResponseStream "requires permission for the
# lambda:InvokeFunction action"; SQS's batch operations need the permission of the operation
# they batch, the SQS Developer Guide's "Amazon SQS API permissions").
_ACTION_ALIASES = {
    ("bedrock-runtime", "Converse"): "InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "InvokeModelWithResponseStream",
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}


def iam_prefix(service: str, service_model: Any = None) -> str:
    found = _PREFIX.get(service)
    if found is not None:
        return found
    if service_model is not None:
        meta = service_model.metadata
        return str(meta.get("signingName") or meta.get("endpointPrefix") or service)
    return service


def action_for(service: str, operation: str, service_model: Any = None) -> str:
    return f"{iam_prefix(service, service_model)}:{_ACTION_ALIASES.get((service, operation), operation)}"


# ------------------------------------------------------------------ resources
Requirement = tuple[str, str]  # (action, resource ARN)


def _ddb_table(name: str, region: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:dynamodb:{region}:{account}:table/{name}"


_PARTIQL_RE = re.compile(r"^\s*(select|insert|update|delete|exists)\b", re.IGNORECASE)
_PARTIQL_TABLE_RE = re.compile(r"\b(?:from|into|update)\s+\"?([A-Za-z0-9_.\-]+)\"?", re.IGNORECASE)
_PARTIQL_ACTIONS = {"select": "PartiQLSelect", "insert": "PartiQLInsert", "update": "PartiQLUpdate", "delete": "PartiQLDelete", "exists": "PartiQLSelect"}


def _partiql(statement: Any, region: str, account: str) -> Requirement:
    text = statement if isinstance(statement, str) else ""
    m = _PARTIQL_RE.match(text)
    action = "dynamodb:" + _PARTIQL_ACTIONS[m.group(1).lower()] if m else "dynamodb:PartiQLSelect"
    t = _PARTIQL_TABLE_RE.search(text)
    table = t.group(1).split(".", 1)[0] if t else "*"
    return action, _ddb_table(table, region, account) if table != "*" else "*"


_DDB_MULTI = frozenset({"BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
# (op, table, index, region, account) -> requirements, for the one-table operations: the data
# plane asks the same few questions over and over (one ARN format per request otherwise).
_ddb_memo: dict[tuple[str, Any, Any, str, str], list[Requirement]] = {}


def dynamodb_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    if not params:
        # No parameters at all (DescribeLimits, ListTables without options): the operation
        # alone decides, so it is memoized like the one-table calls (a table name is never None).
        key: tuple[Any, ...] = (op, None, None, region, account)
    elif op not in _DDB_MULTI and type(table := params.get("TableName")) is str and table and op != "CreateTable":
        index = params.get("IndexName")
        key = (op, table, index if type(index) is str else None, region, account)
    else:
        return _dynamodb_requirements(op, params, region, account)
    found = _ddb_memo.get(key)
    if found is None:
        found = _dynamodb_requirements(op, params, region, account)
        if len(_ddb_memo) >= 4096:
            _ddb_memo.clear()
        _ddb_memo[key] = found
    return found


def _dynamodb_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    action = f"dynamodb:{op}"
    if op in ("BatchGetItem", "BatchWriteItem"):
        tables = params.get("RequestItems") or {}
        return [(action, _ddb_table(t, region, account)) for t in tables] or [(action, "*")]
    if op in ("TransactWriteItems", "TransactGetItems"):
        out = []
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
        for item in params.get("TransactItems") or []:
            for kind, inner in (item or {}).items():
                if isinstance(inner, dict) and kind in kinds and inner.get("TableName"):
                    out.append((f"dynamodb:{kinds[kind]}", _ddb_table(inner["TableName"], region, account)))
        return out or [(action, "*")]
    if op == "ExecuteStatement":
        return [_partiql(params.get("Statement"), region, account)]
    if op in ("BatchExecuteStatement", "ExecuteTransaction"):
        items = params.get("Statements") or params.get("TransactStatements") or []
        return [_partiql((s or {}).get("Statement"), region, account) for s in items] or [(action, "*")]
    table = params.get("TableName")
    if isinstance(table, str) and table:
        arn = _ddb_table(table, region, account)
        if op == "CreateTable":
            # "You need to specify the CreateTable and PutResourcePolicy IAM actions for authorizing
            # a user to create a table with a resource-based policy" (CreateTable's ResourcePolicy).
            return [(action, arn), ("dynamodb:PutResourcePolicy", arn)] if params.get("ResourcePolicy") is not None else [(action, arn)]
        index = params.get("IndexName")
        if isinstance(index, str) and index:
            arn = f"{arn}/index/{index}"
        return [(action, arn)]
    for key in ("StreamArn", "ResourceArn", "BackupArn", "ExportArn", "ImportArn"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return [(action, value)]
    table_arn = params.get("TableArn")
    if op == "ExportTableToPointInTime" and isinstance(table_arn, str) and table_arn:
        return [(action, table_arn)]  # on the table (so its resource-based policy governs it too)
    iterator = params.get("ShardIterator")
    if op == "GetRecords" and isinstance(iterator, str) and iterator.startswith("arn:") and "|" in iterator:
        # GetRecords acts on the stream its iterator was issued for (the emulator's iterators
        # start with the stream ARN: emulator/dynamodb/lifecycle/streams.py).
        return [(action, iterator.split("|", 1)[0])]
    return [(action, "*")]


# EC2 ids' prefixes -> their resource type in ARNs (the Service Authorization Reference, "Resource
# types defined by Amazon EC2"); images and snapshots have no account in their ARNs.
_EC2_ID_TYPES = {
    "i": "instance", "vpc": "vpc", "subnet": "subnet", "sg": "security-group", "vol": "volume", "eni": "network-interface",
    "igw": "internet-gateway", "rtb": "route-table", "acl": "network-acl", "eipalloc": "elastic-ip", "nat": "natgateway",
    "dopt": "dhcp-options", "pcx": "vpc-peering-connection", "vpce": "vpc-endpoint", "lt": "launch-template",
    "ami": "image", "snap": "snapshot",
}


def ec2_arn(ident: str, region: str, account: str) -> str:
    """The ARN of the EC2 resource an id names (``i-...``, ``vpc-...``, ``ami-...``); ``*`` for an
    id of a kind not in ``_EC2_ID_TYPES``."""
    kind = _EC2_ID_TYPES.get(ident.split("-", 1)[0]) if "-" in ident else None
    if kind is None:
        return "*"
    owner = "" if kind in ("image", "snapshot") else account
    return f"arn:aws:ec2:{region}:{owner}:{kind}/{ident}"


def _run_instances_requirements(params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """RunInstances acts on the instance and on what it launches it with: the image, the subnet,
    the security groups, its network interface and volumes, the key pair when one is named (the
    Service Authorization Reference's resource types for RunInstances; the EC2 User Guide's
    "Launch instances (RunInstances)" example policies allow it on each). A subnet or security
    group the request does not name (the default ones) is ``subnet/*``/``security-group/*`` here.
    Tags on creation (TagSpecifications) need ec2:CreateTags on each tagged resource too (EC2
    User Guide, "Grant permission to tag resources during creation"), with ec2:CreateAction the
    creating action (authorize_context.ec2_resource_keys)."""
    action = "ec2:RunInstances"
    base = f"arn:aws:ec2:{region}:{account}"
    out: list[Requirement] = [(action, f"{base}:instance/*")]
    image = params.get("ImageId")
    if isinstance(image, str) and image:
        out.append((action, f"arn:aws:ec2:{region}::image/{image}"))
    out.append((action, f"{base}:network-interface/*"))
    groups = [g for g in params.get("SecurityGroupIds") or [] if isinstance(g, str) and g]
    out.extend((action, f"{base}:security-group/{g}") for g in groups or ["*"])
    subnet = params.get("SubnetId")
    out.append((action, f"{base}:subnet/{subnet if isinstance(subnet, str) and subnet else '*'}"))
    out.append((action, f"{base}:volume/*"))
    key = params.get("KeyName")
    if isinstance(key, str) and key:
        out.append((action, f"{base}:key-pair/{key}"))
    # A specification without ResourceType tags the instance (as the EC2 handler takes it).
    kinds = [spec.get("ResourceType") or "instance" for spec in params.get("TagSpecifications") or [] if isinstance(spec, dict) and spec.get("Tags")]
    out.extend(("ec2:CreateTags", f"{base}:{kind}/*") for kind in dict.fromkeys(k for k in kinds if isinstance(k, str)))
    return out


def ec2_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    action = f"ec2:{op}"
    base = f"arn:aws:ec2:{region}:{account}"
    if op == "RunInstances":
        return _run_instances_requirements(params, region, account)
    if op in ("CreateTags", "DeleteTags"):
        # On each resource named (its ARN from its id's prefix).
        resources = [r for r in params.get("Resources") or [] if isinstance(r, str) and r]
        return [(action, arn) for arn in dict.fromkeys(ec2_arn(r, region, account) for r in resources)] or [(action, "*")]
    ids = params.get("InstanceIds")
    if op.startswith("Describe") or not ids:
        if isinstance(params.get("InstanceId"), str):
            return [(action, f"{base}:instance/{params['InstanceId']}")]
        image = params.get("ImageId")
        if isinstance(image, str) and not op.startswith("Describe"):
            return [(action, f"arn:aws:ec2:{region}::image/{image}")]
        return [(action, "*")]
    return [(action, f"{base}:instance/{i}") for i in ids]


def bedrock_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """Bedrock Runtime's: the model's (``_model_requirements``) and, for a call that applies a
    guardrail, bedrock:ApplyGuardrail on the guardrail (the Bedrock user guide, "Set up
    permissions to use guardrails": InvokeModel / Converse with a guardrail need
    bedrock:ApplyGuardrail on ``arn:aws:bedrock:<region>:<account>:guardrail/<id>``;
    ApplyGuardrail itself acts on the guardrail: the Service Authorization Reference)."""
    guardrail = _runtime_guardrail(op, params)
    if op == "ApplyGuardrail":
        return [("bedrock:ApplyGuardrail", guardrail_arn(guardrail, region, account) if guardrail else "*")]
    reqs = _model_requirements(action_for("bedrock-runtime", op), params.get("modelId"), region, account)
    if guardrail:
        reqs.append(("bedrock:ApplyGuardrail", guardrail_arn(guardrail, region, account)))
    return reqs


def _runtime_guardrail(op: str, params: dict[str, Any]) -> str | None:
    """The guardrail a runtime call applies: ApplyGuardrail's and InvokeModel*'s
    ``guardrailIdentifier``, Converse*'s ``guardrailConfig.guardrailIdentifier``."""
    config = params.get("guardrailConfig")
    found = config.get("guardrailIdentifier") if isinstance(config, dict) else params.get("guardrailIdentifier")
    return found if isinstance(found, str) and found else None


def _model_requirements(action: str, model: Any, region: str, account: str) -> list[Requirement]:
    """``action`` on the model a ``modelId`` names (its foundation model, or profile and model)."""
    if not isinstance(model, str) or not model:
        return [(action, "*")]
    # A cross-Region inference profile (its id or ARN) needs the action on the profile and on
    # the foundation model it routes to (Bedrock user guide, "Prerequisites for inference
    # profiles"); here the model runs in the request's Region. An application profile's ARN
    # needs it on the profile and on the models it copies (same guide), which the Bedrock
    # runtime handler tells through runtime.components["bedrock_profile_models"] (ARN -> ARNs).
    if model.startswith("arn:"):
        if ":inference-profile/" in model:
            return [(action, model), (action, f"arn:aws:bedrock:{region}::foundation-model/{strip_profile(normalize_model_id(model))}")]
        from emulator.gateway import security  # it imports this module

        runtime = security._current() if security._current is not None else None
        copied = runtime.components.get("bedrock_profile_models") if runtime is not None else None
        return [(action, model), *((action, arn) for arn in (copied(model) if copied is not None else []))]
    base = strip_profile(model)
    if base != model:
        return [(action, f"arn:aws:bedrock:{region}:{account}:inference-profile/{model}"),
                (action, f"arn:aws:bedrock:{region}::foundation-model/{base}")]
    return [(action, f"arn:aws:bedrock:{region}::foundation-model/{model}")]


# ------------------------------------------------------- Bedrock's control plane
# The resource types of the Service Authorization Reference ("Actions, resources, and condition
# keys for Amazon Bedrock"): an identifier that is not an ARN is made one in the request's
# Region and account (a foundation model's ARN has no account).
def guardrail_arn(ident: str, region: str, account: str) -> str:
    return ident if ident.startswith("arn:") else f"arn:aws:bedrock:{region}:{account}:guardrail/{ident}"


def _foundation_model_arn(ident: str, region: str, account: str) -> str:
    return ident if ident.startswith("arn:") else f"arn:aws:bedrock:{region}::foundation-model/{ident}"


def _profile_arn(ident: str, region: str, account: str) -> str:
    """A system-defined profile's id has its geography's prefix and the model's id
    (``us.meta.llama3-...``: dots); an application profile's is 12 letters and digits
    (emulator/handlers/bedrock_catalog.py makes them as AWS shows them)."""
    if ident.startswith("arn:"):
        return ident
    kind = "inference-profile" if "." in ident else "application-inference-profile"
    return f"arn:aws:bedrock:{region}:{account}:{kind}/{ident}"


def _job_arn(ident: str, region: str, account: str) -> str:
    return ident if ident.startswith("arn:") else f"arn:aws:bedrock:{region}:{account}:model-invocation-job/{ident}"


def _as_given(ident: str, region: str, account: str) -> str:
    return ident


# operation -> (the member naming its resource, the resource's ARN from it).
_BEDROCK_RESOURCES: dict[str, tuple[str, Callable[[str, str, str], str]]] = {
    "GetFoundationModel": ("modelIdentifier", _foundation_model_arn),
    "GetInferenceProfile": ("inferenceProfileIdentifier", _profile_arn),
    "DeleteInferenceProfile": ("inferenceProfileIdentifier", _profile_arn),
    "GetGuardrail": ("guardrailIdentifier", guardrail_arn),
    "UpdateGuardrail": ("guardrailIdentifier", guardrail_arn),
    "DeleteGuardrail": ("guardrailIdentifier", guardrail_arn),
    "CreateGuardrailVersion": ("guardrailIdentifier", guardrail_arn),
    "GetModelInvocationJob": ("jobIdentifier", _job_arn),
    "StopModelInvocationJob": ("jobIdentifier", _job_arn),
    "TagResource": ("resourceARN", _as_given),
    "UntagResource": ("resourceARN", _as_given),
    "ListTagsForResource": ("resourceARN", _as_given),
}


def bedrock_control_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """The ``bedrock`` service's: the resource an operation names (``_BEDROCK_RESOURCES``); a
    Create* the new resource's type (``<type>/*``: its id is not known yet); the List* and the
    operations served by moto (custom models, logging) ``*``.

    CreateInferenceProfile also acts on what it copies (``modelSource.copyFrom``: a foundation
    model or a system-defined profile), as the Bedrock user guide's example policy for creating
    application inference profiles allows it on those ARNs (recalled, not checked against the
    reference's table). CreateModelInvocationJob also needs bedrock:InvokeModel on the job's model
    (ours: AWS has the job's service role invoke it, while the emulator runs the records as the
    caller, in the compute role of a cluster without a check of their own; so the caller must be
    allowed what its records do, decided here, where the job is created)."""
    action = f"bedrock:{op}"
    found = _BEDROCK_RESOURCES.get(op)
    if found is not None:
        ident = params.get(found[0])
        return [(action, found[1](ident, region, account) if isinstance(ident, str) and ident else "*")]
    base = f"arn:aws:bedrock:{region}:{account}"
    if op == "CreateGuardrail":
        return [(action, f"{base}:guardrail/*")]
    if op == "CreateInferenceProfile":
        reqs: list[Requirement] = [(action, f"{base}:application-inference-profile/*")]
        model_source = params.get("modelSource")
        source = model_source.get("copyFrom") if isinstance(model_source, dict) else None
        if isinstance(source, str) and source.startswith("arn:"):
            reqs.append((action, source))
        return reqs
    if op == "CreateModelInvocationJob":
        return [(action, f"{base}:model-invocation-job/*"), *_model_requirements("bedrock:InvokeModel", params.get("modelId"), region, account)]
    return [(action, "*")]


def cloudwatch_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    action = f"cloudwatch:{op}"
    base = f"arn:aws:cloudwatch:{region}:{account}"
    names = params.get("AlarmNames")
    if isinstance(names, list) and names:
        return [(action, f"{base}:alarm:{n}") for n in names]
    name = params.get("AlarmName")
    if isinstance(name, str) and name:
        return [(action, f"{base}:alarm:{name}")]
    dash = params.get("DashboardName")
    if isinstance(dash, str) and dash:
        return [(action, f"arn:aws:cloudwatch::{account}:dashboard/{dash}")]
    arn = params.get("ResourceARN")
    if isinstance(arn, str) and arn:
        return [(action, arn)]
    return [(action, "*")]


def logs_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    action = f"logs:{op}"
    base = f"arn:aws:logs:{region}:{account}"
    group = params.get("logGroupName")
    ident = params.get("logGroupIdentifier")
    if not group and isinstance(ident, str) and ident:
        if ident.startswith("arn:"):
            return [(action, ident.removesuffix(":*"))]
        group = ident
    if isinstance(group, str) and group:
        stream = params.get("logStreamName")
        if isinstance(stream, str) and stream:
            return [(action, f"{base}:log-group:{group}:log-stream:{stream}")]
        return [(action, f"{base}:log-group:{group}")]
    # Operations over several groups (StartQuery, StartLiveTail) need the action on each.
    groups = params.get("logGroupIdentifiers") or params.get("logGroupNames")
    if isinstance(groups, list) and groups and all(isinstance(g, str) and g for g in groups):
        return [(action, g.removesuffix(":*") if g.startswith("arn:") else f"{base}:log-group:{g}") for g in groups]
    for key in ("resourceArn", "resourceIdentifier"):
        value = params.get(key)
        if isinstance(value, str) and value.startswith("arn:"):
            return [(action, value)]
    return [(action, "*")]


def _group_path(name: str) -> str | None:
    """A group's path as the IAM store of the process keeps it (emulator/gateway/iam_store.py);
    None when the group is not there (or no store is installed)."""
    from emulator.gateway import security  # it imports this module

    runtime = security._current() if security._current is not None else None
    store = runtime.components.get("iam_store") if runtime is not None else None
    group = store.groups.get(name) if store is not None else None
    path = group.get("Path") if isinstance(group, dict) else None
    return path if isinstance(path, str) else None


def _group_requirements(action: str, op: str, params: dict[str, Any], name: str, account: str) -> list[Requirement]:
    """The group's ARN, ``arn:aws:iam::<account>:group/<path><name>`` (the Service Authorization
    Reference's ``group`` resource type; AddUserToGroup and RemoveUserFromGroup act on the group
    only, not on the user), with the path the group has (CreateGroup: the one it will have; an
    unknown group: ``/``). UpdateGroup needs the action on the group as it is and as it will be:
    "the requester must have appropriate permissions on both the source object and the target
    object" (IAM API Reference, UpdateGroup)."""
    path = params.get("Path") if op == "CreateGroup" else _group_path(name)
    path = path if isinstance(path, str) and path else "/"
    arn = f"arn:aws:iam::{account}:group{path}{name}"
    if op != "UpdateGroup":
        return [(action, arn)]
    new_name, new_path = params.get("NewGroupName"), params.get("NewPath")
    new_name = new_name if isinstance(new_name, str) and new_name else name
    new_path = new_path if isinstance(new_path, str) and new_path else path
    target = f"arn:aws:iam::{account}:group{new_path}{new_name}"
    return [(action, arn)] if target == arn else [(action, arn), (action, target)]


def iam_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    action = f"iam:{op}"
    if op == "SimulatePrincipalPolicy" and isinstance(params.get("PolicySourceArn"), str):
        return [(action, params["PolicySourceArn"])]
    group = params.get("GroupName")
    if isinstance(group, str) and group:
        return _group_requirements(action, op, params, group, account)
    arn = params.get("PolicyArn")
    user = params.get("UserName")
    if isinstance(user, str) and user:
        return [(action, f"arn:aws:iam::{account}:user/{user}")]
    if isinstance(arn, str) and arn:
        return [(action, arn)]
    if op == "ListUsers":
        # As AWS reports it: "... on resource: arn:aws:iam::123456789012:user/"
        return [(action, f"arn:aws:iam::{account}:user{params.get('PathPrefix') or '/'}")]
    if op == "CreatePolicy" and isinstance(params.get("PolicyName"), str):
        return [(action, f"arn:aws:iam::{account}:policy{params.get('Path') or '/'}{params['PolicyName']}")]
    return [(action, "*")]


# S3 operations whose IAM action has another name (the Service Authorization Reference,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html);
# the others are authorized as their own name (s3:GetObject, s3:PutBucketPolicy, ...).
_S3_ACTIONS = {
    "ListBuckets": "ListAllMyBuckets",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "DeleteObjects": "DeleteObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
}


# A versionId names one version: its own action (list_amazons3.html).
_S3_VERSIONED = {
    "s3:GetObject": "s3:GetObjectVersion", "s3:GetObjectAcl": "s3:GetObjectVersionAcl", "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
    "s3:DeleteObject": "s3:DeleteObjectVersion", "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
}


def s3_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """S3's resources: the bucket, or the object (``arn:aws:s3:::bucket/key``); a copy also
    reads its source (s3:GetObject on it); a write that sets the new object's ACL needs
    s3:PutObjectAcl too. A request for one version of an object
    (``versionId``) needs the version's action (s3:GetObjectVersion, s3:DeleteObjectVersion, ...).
    DeleteObjects needs none of its own: it is s3:DeleteObject on each key, decided key by key
    (a denied one is answered with AccessDenied in Errors: s3_policy.object_check)."""
    if op == "DeleteObjects":
        return []
    action = "s3:" + _S3_ACTIONS.get(op, op)
    if params.get("VersionId"):
        action = _S3_VERSIONED.get(action, action)
    bucket, key = params.get("Bucket"), params.get("Key")
    if not isinstance(bucket, str) or not bucket:
        return [(action, "*")]
    reqs = [(action, f"arn:aws:s3:::{bucket}/{key}" if isinstance(key, str) and key else f"arn:aws:s3:::{bucket}")]
    source = params.get("CopySource")
    if isinstance(source, str) and source:
        # "bucket/key" or "/bucket/key", URL-encoded, maybe with "?versionId=...".
        path = unquote(source.split("?", 1)[0].lstrip("/"))
        reqs.append(("s3:GetObject", f"arn:aws:s3:::{path}"))
    if op in s3_policy.ACL_ON_WRITE and any(params.get(member) for member in s3_policy.ACL_MEMBERS):
        reqs.append(("s3:PutObjectAcl", reqs[0][1]))  # the new object's ACL is set too
    return reqs


def sts_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    """AssumeRole is authorized on the role (and then by its trust policy: gateway/sessions.py);
    passing session tags needs sts:TagSession, a source identity sts:SetSourceIdentity (IAM
    User Guide, "Passing session tags in AWS STS", "Permissions required to set source identity")."""
    role = params.get("RoleArn")
    if op in ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity") and isinstance(role, str) and role:
        reqs: list[Requirement] = [(f"sts:{op}", role)]
        if op == "AssumeRole" and (params.get("Tags") or params.get("TransitiveTagKeys")):
            reqs.append(("sts:TagSession", role))
        if op == "AssumeRole" and params.get("SourceIdentity"):
            reqs.append(("sts:SetSourceIdentity", role))
        return reqs
    return []


RESOLVERS: dict[str, Callable[[str, dict[str, Any], str, str], list[Requirement]]] = {
    "sts": sts_requirements,
    "s3": s3_requirements,
    "dynamodb": dynamodb_requirements,
    "dynamodbstreams": dynamodb_requirements,
    "ec2": ec2_requirements,
    "bedrock-runtime": bedrock_requirements,
    "bedrock": bedrock_control_requirements,
    "cloudwatch": cloudwatch_requirements,
    "logs": logs_requirements,
    "iam": iam_requirements,
}

# The services served by moto (SQS, SNS, Secrets Manager, KMS, Lambda, SSM, Kinesis, EventBridge,
# Step Functions): emulator/gateway/authorize_services.py, which registers them (``register``)
# when the authorizer (emulator/gateway/authorize.py) imports it.
SERVICE_RESOLVERS: dict[str, Callable[[str, dict[str, Any], str, str], list[Requirement]]] = {}


def register(resolvers: dict[str, Callable[[str, dict[str, Any], str, str], list[Requirement]]]) -> None:
    SERVICE_RESOLVERS.update(resolvers)
    RESOLVERS.update(resolvers)

# ------------------------------------------------------------------ iam:PassRole
# Operations that hand a role to a service: the caller needs iam:PassRole on the role (IAM User
# Guide, "Grant a user permissions to pass a role to an AWS service"; Bedrock user guide,
# "Required permissions for batch inference"), with iam:PassedToService, the service principal
# the role goes to (IAM User Guide, "Actions, resources, and condition keys for AWS Identity and
# Access Management"). (botocore service, operation) -> (that principal, the members holding a
# role ARN: a path of member names, "[]" for each element of a list).
PASS_ROLE: dict[tuple[str, str], tuple[str, tuple[tuple[str, ...], ...]]] = {
    ("bedrock", "CreateModelInvocationJob"): ("bedrock.amazonaws.com", (("roleArn",),)),
    ("lambda", "CreateFunction"): ("lambda.amazonaws.com", (("Role",),)),
    ("lambda", "UpdateFunctionConfiguration"): ("lambda.amazonaws.com", (("Role",),)),
    ("stepfunctions", "CreateStateMachine"): ("states.amazonaws.com", (("roleArn",),)),
    ("stepfunctions", "UpdateStateMachine"): ("states.amazonaws.com", (("roleArn",),)),
    ("events", "PutTargets"): ("events.amazonaws.com", (("Targets", "[]", "RoleArn"),)),
    ("firehose", "CreateDeliveryStream"): ("firehose.amazonaws.com", tuple((member, "RoleARN") for member in (
        "KinesisStreamSourceConfiguration", "S3DestinationConfiguration", "ExtendedS3DestinationConfiguration",
        "RedshiftDestinationConfiguration", "ElasticsearchDestinationConfiguration", "AmazonopensearchserviceDestinationConfiguration",
        "HttpEndpointDestinationConfiguration"))),
    ("ecs", "RegisterTaskDefinition"): ("ecs-tasks.amazonaws.com", (("taskRoleArn",), ("executionRoleArn",))),
    ("cloudformation", "CreateStack"): ("cloudformation.amazonaws.com", (("RoleARN",),)),
    ("cloudformation", "UpdateStack"): ("cloudformation.amazonaws.com", (("RoleARN",),)),
    ("glue", "CreateJob"): ("glue.amazonaws.com", (("Role",),)),
    ("logs", "PutDestination"): ("logs.amazonaws.com", (("roleArn",),)),
    ("logs", "PutSubscriptionFilter"): ("logs.amazonaws.com", (("roleArn",),)),
    ("ec2", "RunInstances"): ("ec2.amazonaws.com", ()),  # its instance profile's roles: _profile_roles
}


def passed_to_service(service: str, op: str) -> str | None:
    """iam:PassedToService for a request that passes a role (None: it passes none)."""
    found = PASS_ROLE.get((service, op))
    return found[0] if found is not None else None


def _member_values(value: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        return [value]
    if path[0] == "[]":
        return [v for item in value for v in _member_values(item, path[1:])] if isinstance(value, list) else []
    return _member_values(value.get(path[0]), path[1:]) if isinstance(value, dict) else []


def _role_arn(value: str, account: str) -> str:
    """A role's ARN as the member gives it; a bare name (Glue's CreateJob takes "the name or ARN")
    is made one without a path (ours: the role is not looked up)."""
    return value if value.startswith("arn:") else f"arn:aws:iam::{account}:role/{value}"


def _profile_roles(params: dict[str, Any]) -> list[str]:
    """The roles of the instance profile RunInstances names (``IamInstanceProfile``: ``Arn`` or
    ``Name``), as moto's IAM holds it; none when there is no such profile (RunInstances answers)."""
    profile = params.get("IamInstanceProfile")
    if not isinstance(profile, dict) or not (profile.get("Arn") or profile.get("Name")):
        return []
    from emulator.gateway import security  # it imports this module

    runtime = security._current() if security._current is not None else None
    fallback = runtime.fallback if runtime is not None else None
    if fallback is None:
        return []
    backend = fallback.backend("iam", "aws")
    try:
        arn, name = profile.get("Arn"), profile.get("Name")
        found = backend.get_instance_profile_by_arn(arn) if isinstance(arn, str) and arn else backend.get_instance_profile(str(name))
    except Exception:  # noqa: BLE001 - no such profile
        return []
    return [str(role.arn) for role in getattr(found, "roles", [])]


def pass_role_requirements(service: str, op: str, params: dict[str, Any], account: str) -> list[Requirement]:
    """iam:PassRole on each role the request hands to the service (``PASS_ROLE``)."""
    found = PASS_ROLE.get((service, op))
    if found is None:
        return []
    arns = [_role_arn(v, account) for path in found[1] for v in _member_values(params, path) if isinstance(v, str) and v]
    if service == "ec2":
        arns.extend(_profile_roles(params))
    return [("iam:PassRole", arn) for arn in dict.fromkeys(arns)]


_IAM_CALLER_DEFAULT = frozenset({"GetUser", "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "GetAccessKeyLastUsed",
                                 "GetLoginProfile", "DeleteLoginProfile", "ListMFADevices", "ListSSHPublicKeys", "ListSigningCertificates",
                                 "ListServiceSpecificCredentials"})


def requirements(ctx: RequestContext) -> list[Requirement]:
    """The (action, resource) pairs a request needs, all of which must be allowed."""
    service = ctx.service_name or ""
    op = ctx.operation_name or ""
    account = ctx.principal.account_id if ctx.principal is not None else ctx.account_id
    if service == "iam" and op in _IAM_CALLER_DEFAULT and not ctx.params.get("UserName") and ctx.principal is not None and not ctx.principal.is_root:
        # These act on the caller when UserName is omitted, so that is the resource.
        return [(f"iam:{op}", f"arn:aws:iam::{account}:user/{ctx.principal.user_name}")]
    resolver = RESOLVERS.get(service)
    if resolver is not None and not (service in SERVICE_RESOLVERS and ctx.principal is not None and ctx.principal.is_root):
        # (moto's services for the root key: "*", as the root user is allowed without looking.)
        reqs = resolver(op, ctx.params, ctx.region, account)
        if not reqs and (service, op) != ("s3", "DeleteObjects"):  # DeleteObjects: each key's (s3_requirements)
            reqs = [(action_for(service, op, ctx.service), "*")]
    else:
        reqs = [(action_for(service, op, ctx.service), "*")]
    if (service, op) in PASS_ROLE:  # one dict lookup; a new list (resolvers' lists may be memoized)
        reqs = reqs + pass_role_requirements(service, op, ctx.params, account)
    return reqs

