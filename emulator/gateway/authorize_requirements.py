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
}

# Operations authorized as another action (Converse needs bedrock:InvokeModel on AWS).
_ACTION_ALIASES = {
    ("bedrock-runtime", "Converse"): "InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "InvokeModelWithResponseStream",
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


def ec2_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    action = f"ec2:{op}"
    base = f"arn:aws:ec2:{region}:{account}"
    if op == "RunInstances":
        out = [(action, f"{base}:instance/*")]
        image = params.get("ImageId")
        if isinstance(image, str) and image:
            out.append((action, f"arn:aws:ec2:{region}::image/{image}"))
        return out
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
    action = action_for("bedrock-runtime", op)
    model = params.get("modelId")
    if not isinstance(model, str) or not model:
        return [(action, "*")]
    # A cross-Region inference profile (its id or ARN) needs the action on the profile and on
    # the foundation model it routes to (Bedrock user guide, "Prerequisites for inference
    # profiles"); here the model runs in the request's Region. An application profile's ARN
    # is checked as given (the models it copies are not looked up here).
    if model.startswith("arn:"):
        if ":inference-profile/" in model:
            return [(action, model), (action, f"arn:aws:bedrock:{region}::foundation-model/{strip_profile(normalize_model_id(model))}")]
        return [(action, model)]
    base = strip_profile(model)
    if base != model:
        return [(action, f"arn:aws:bedrock:{region}:{account}:inference-profile/{model}"),
                (action, f"arn:aws:bedrock:{region}::foundation-model/{base}")]
    return [(action, f"arn:aws:bedrock:{region}::foundation-model/{model}")]


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


def iam_requirements(op: str, params: dict[str, Any], region: str, account: str) -> list[Requirement]:
    action = f"iam:{op}"
    if op == "SimulatePrincipalPolicy" and isinstance(params.get("PolicySourceArn"), str):
        return [(action, params["PolicySourceArn"])]
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
    (``versionId``) needs the version's action (s3:GetObjectVersion, s3:DeleteObjectVersion, ...)."""
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
    "cloudwatch": cloudwatch_requirements,
    "logs": logs_requirements,
    "iam": iam_requirements,
}

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
    if resolver is not None:
        return resolver(op, ctx.params, ctx.region, account) or [(action_for(service, op, ctx.service), "*")]
    return [(action_for(service, op, ctx.service), "*")]
