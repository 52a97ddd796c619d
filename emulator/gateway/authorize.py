"""Authorization: map each call to its IAM action and resource ARNs, evaluate the
caller's policies, and refuse with the service's own access-denied error.

Actions are ``<iam prefix>:<Operation>`` (``dynamodb:PutItem``,
``ec2:RunInstances``, ``bedrock:InvokeModel``); resources are the ARNs AWS
documents for each action in the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/).

The root key may do everything, but for what a resource-based policy explicitly denies it
(DynamoDB tables and streams: emulator/dynamodb/policies.py; S3 bucket policies, read from
moto's buckets: emulator/gateway/s3_policy.py). A resource-based policy also allows: a caller
is allowed when its identity-based policies or the resource's policy allow
(emulator/gateway/resource_policy.py). Every decision is stored in
``ctx.telemetry["authz"]`` for the audit log.

Other surfaces (the OpenAI API under ``/v1``) call ``check(principal, action,
resource, context)`` with the same semantics.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway import s3_policy
from emulator.gateway.policy import ALLOWED, EXPLICIT_DENY, Decision, PolicySet
from emulator.gateway.resource_policy import Caller, ResourcePolicy, caller_of, combine
from emulator.protocols import get_protocol
from emulator.services import signs_like_s3

if TYPE_CHECKING:
    from emulator.gateway.iam_store import IamStore

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
    if op not in _DDB_MULTI:
        table = params.get("TableName")
        if type(table) is str and table and op != "CreateTable":
            index = params.get("IndexName")
            key = (op, table, index if type(index) is str else None, region, account)
            found = _ddb_memo.get(key)
            if found is None:
                found = _dynamodb_requirements(op, params, region, account)
                if len(_ddb_memo) >= 4096:
                    _ddb_memo.clear()
                _ddb_memo[key] = found
            return found
    return _dynamodb_requirements(op, params, region, account)


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
    if model.startswith("arn:"):
        return [(action, model)]
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
    """AssumeRole is authorized on the role (and then by its trust policy: gateway/sessions.py)."""
    role = params.get("RoleArn")
    if op in ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity") and isinstance(role, str) and role:
        return [(f"sts:{op}", role)]
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


# The services whose resources may have resource-based policies the gateway enforces (and S3's
# bucket policies: s3_policy.governed).
_GOVERNED_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
# S3 operations that no bucket policy governs: they act on the account, not on a bucket.
_S3_UNGOVERNED = frozenset({"ListBuckets", "CreateBucket", "ListDirectoryBuckets"})
# What a resource-based policy cannot deny the root user of the resource's account:
# DynamoDB's "the root principal in your Amazon Web Services account can perform
# DeleteResourcePolicy requests, even if your resource-based policy explicitly denies the root
# principal's access"; S3's "the root principal of the bucket owner's account can perform the
# GetBucketPolicy, PutBucketPolicy, and DeleteBucketPolicy API actions, even if their bucket
# policy explicitly denies the root principal's access" (API_PutBucketPolicy.html).
_ROOT_KEEPS = frozenset({"dynamodb:DeleteResourcePolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})

# Actions IAM never denies (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html:
# "No permissions are required to perform this operation"; API_GetSessionToken.html: "No
# permissions are required for users to perform this operation").
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity", "sts:GetSessionToken"})

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


# ------------------------------------------------------------------ context
_KCE_EQ = re.compile(r"([#\w.\-]+)\s*=\s*(:[\w\-]+)")


def _scalar(av: Any) -> str | None:
    if isinstance(av, dict) and len(av) == 1:
        kind, value = next(iter(av.items()))
        if kind in ("S", "N"):
            return str(value)
        if kind == "B" and isinstance(value, bytes | bytearray):
            import base64

            return base64.b64encode(bytes(value)).decode()
    return None


def leading_keys(op: str, params: dict[str, Any], hash_key: str | None) -> list[str] | None:
    """dynamodb:LeadingKeys: the partition key values the request touches.

    Without the table's schema (``hash_key`` None) every key value is taken,
    which can only deny more, never allow more."""
    values: list[str] = []
    if op in ("GetItem", "DeleteItem", "UpdateItem"):
        key = params.get("Key") or {}
        names = [hash_key] if hash_key and hash_key in key else list(key)
        values = [v for n in names if (v := _scalar(key.get(n))) is not None]
    elif op == "PutItem":
        item = params.get("Item") or {}
        names = [hash_key] if hash_key and hash_key in item else list(item)
        values = [v for n in names if (v := _scalar(item.get(n))) is not None]
    elif op == "Query":
        expr = params.get("KeyConditionExpression") or ""
        names_map = params.get("ExpressionAttributeNames") or {}
        vals = params.get("ExpressionAttributeValues") or {}
        for name, placeholder in _KCE_EQ.findall(expr):
            real = names_map.get(name, name)
            if hash_key is None or real == hash_key:
                v = _scalar(vals.get(placeholder))
                if v is not None:
                    values.append(v)
        for name, cond in (params.get("KeyConditions") or {}).items():
            if hash_key is None or name == hash_key:
                for av in (cond or {}).get("AttributeValueList") or []:
                    v = _scalar(av)
                    if v is not None:
                        values.append(v)
    elif op in ("BatchGetItem", "BatchWriteItem"):
        for table_req in (params.get("RequestItems") or {}).values():
            entries = table_req.get("Keys", []) if isinstance(table_req, dict) else []
            if isinstance(table_req, list):
                entries = [(w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key") or {} for w in table_req]
            for key in entries:
                names = [hash_key] if hash_key and hash_key in key else list(key)
                values.extend(v for n in names if (v := _scalar(key.get(n))) is not None)
    else:
        return None
    return values


_UPDATE_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_UPDATE_PATH = re.compile(r"(?:^|,)\s*([#\w\-]+)")


def update_attributes(params: dict[str, Any]) -> list[str]:
    """The top-level attributes an UpdateItem writes (UpdateExpression's SET, REMOVE, ADD and
    DELETE targets, or AttributeUpdates): what dynamodb:Attributes holds for it."""
    names: list[str] = []
    expr = params.get("UpdateExpression")
    if isinstance(expr, str):
        names_map = params.get("ExpressionAttributeNames") or {}
        parts = _UPDATE_CLAUSE.split(expr)
        for clause, body in zip(parts[1::2], parts[2::2]):
            if clause.upper() == "SET":
                # "a = :v, b = if_not_exists(b, :z) + :w": the targets are the left of each "=".
                targets = [t.split("=", 1)[0] for t in _split_top(body) if "=" in t]
            else:
                targets = _split_top(body)
            for t in targets:
                m = _UPDATE_PATH.match(t.strip())
                if m:
                    head = m.group(1)
                    names.append(str(names_map.get(head, head)))
    elif isinstance(params.get("AttributeUpdates"), dict):
        names = list(params["AttributeUpdates"])
    return list(dict.fromkeys(names))


def _split_top(text: str) -> list[str]:
    """Split on the commas outside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [p for p in out if p.strip()]


def request_context(ctx: RequestContext, hash_key: Callable[[str, str], str | None] | None = None, needed: Collection[str] | None = None,
                    identity: dict[str, str] | None = None) -> dict[str, Any]:
    """Global and service condition keys (lower-cased, as IAM compares them).

    ``needed``: only the keys some candidate statement's condition reads (None: all);
    on the hot path this is usually empty or one key, so nothing else is computed.
    ``identity``: the principal's keys (``Authorizer.identity``); without it they are
    derived from the principal alone."""
    want = (lambda k: True) if needed is None else needed.__contains__
    out: dict[str, Any] = {}
    if needed is not None and not needed:
        return out
    if want("aws:sourceip"):
        out["aws:sourceip"] = ctx.request.client_ip or "127.0.0.1"
    if want("aws:currenttime") or want("aws:epochtime"):
        now = dt.datetime.now(dt.UTC)
        out["aws:currenttime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        out["aws:epochtime"] = str(int(now.timestamp()))
    if want("aws:securetransport"):
        out["aws:securetransport"] = "true" if ctx.request.scheme == "https" else "false"
    if want("aws:requestedregion"):
        out["aws:requestedregion"] = ctx.region
    if want("aws:useragent"):
        out["aws:useragent"] = ctx.request.headers.get("user-agent", "")
    if want("aws:referer") and "referer" in ctx.request.headers:
        out["aws:referer"] = ctx.request.headers["referer"]
    if ctx.service_name == "s3" and (needed is None or any(k.startswith(("s3:", "aws:resourceaccount")) for k in needed)):
        out.update(s3_policy.request_keys(ctx, needed))
    principal = ctx.principal
    if identity is not None:
        out.update(identity)
    elif principal is not None:
        out["aws:username"] = principal.user_name
        out["aws:principalarn"] = principal.arn
        out["aws:principalaccount"] = principal.account_id
    if ctx.service_name in ("dynamodb", "dynamodbstreams") and (needed is None or any(k.startswith("dynamodb:") for k in needed)):
        params = ctx.params
        op = ctx.operation_name or ""
        if want("dynamodb:leadingkeys"):
            table = params.get("TableName")
            hk = hash_key(ctx.region, table) if hash_key is not None and isinstance(table, str) else None
            lk = leading_keys(op, params, hk)
            if lk is not None:
                out["dynamodb:leadingkeys"] = lk
        if want("dynamodb:attributes"):
            attrs: list[str] = []
            if isinstance(params.get("ProjectionExpression"), str):
                names_map = params.get("ExpressionAttributeNames") or {}
                heads = [a.strip().split(".")[0].split("[")[0] for a in params["ProjectionExpression"].split(",")]
                attrs = [names_map.get(h, h) for h in heads]
            elif isinstance(params.get("AttributesToGet"), list):
                attrs = list(params["AttributesToGet"])
            elif isinstance(params.get("Item"), dict):
                attrs = list(params["Item"])
            elif op == "UpdateItem":
                attrs = update_attributes(params)
            if attrs:
                out["dynamodb:attributes"] = attrs
        for key, cond in (("Select", "dynamodb:select"), ("ReturnValues", "dynamodb:returnvalues"), ("ReturnConsumedCapacity", "dynamodb:returnconsumedcapacity")):
            if isinstance(params.get(key), str):
                out[cond] = params[key]
    return out


# ------------------------------------------------------------------ errors
def denied_message(principal: Principal, decision: Decision) -> str:
    """IAM's words for a refusal; S3 quotes the resource ("Troubleshoot access denied (403
    Forbidden) errors in Amazon S3": ``User: arn:aws:iam::111122223333:user/MaryMajor is not
    authorized to perform: s3:GetObject on resource: "arn:aws:s3:::amzn-s3-demo-bucket1/object-name"
    with an explicit deny in a resource-based policy``)."""
    kind = "a resource-based" if decision.source == "resource" else "an identity-based"
    if decision.decision == EXPLICIT_DENY:
        why = f"with an explicit deny in {kind} policy"
    else:
        why = f"because no {kind.removeprefix('a ').removeprefix('an ')} policy allows the {decision.action} action"
    resource = f'"{decision.resource}"' if decision.action.startswith("s3:") else decision.resource
    return f"User: {principal.arn} is not authorized to perform: {decision.action} on resource: {resource} {why}"


def access_denied(protocol: str | None, service_model: Any, message: str) -> AwsError:
    if signs_like_s3(service_model):
        return AwsError("AccessDenied", message, 403)  # S3's code for it
    if protocol == "ec2":
        return AwsError("UnauthorizedOperation", f"You are not authorized to perform this operation. {message}", 403)
    if protocol == "query" or (service_model is not None and "awsQueryCompatible" in service_model.metadata):
        return AwsError("AccessDenied", message, 403)
    if protocol == "json":
        return AwsError("AccessDeniedException", message, 400)
    return AwsError("AccessDeniedException", message, 403)


# ------------------------------------------------------------------ authorizer
def conclude(reqs: list[Requirement], decisions: Iterable[Decision]) -> Decision:
    """Every (action, resource) must be allowed: the first explicit Deny is the answer (the
    decisions are taken lazily: none after it), else the first refusal, else an Allow."""
    refusal: Decision | None = None
    for decision in decisions:
        if decision.decision == EXPLICIT_DENY:
            return decision
        if not decision.allowed and refusal is None:
            refusal = decision
    if refusal is not None:
        return refusal
    action, resource = reqs[0] if reqs else ("*", "*")
    return Decision(ALLOWED, action, resource)


class Authorizer:
    """``runtime.components["authorizer"]``: authorize (and rate-limit) one request."""

    def __init__(self, store: IamStore, rate_limiter: Any = None, hash_key: Callable[[str, str], str | None] | None = None, capacity: Any = None,
                 sessions: Any = None, fallback: Any = None) -> None:
        self.store = store
        self.capacity = capacity
        self.sessions = sessions  # STS sessions (gateway/sessions.py): assumed roles are authorized with the role's policies
        self.fallback = fallback  # where the roles live (moto's IAM)
        self._role_sets: dict[str, tuple[float, PolicySet]] = {}
        self._identities: dict[tuple[str, str, int], dict[str, str]] = {}
        self._callers: dict[str, Caller] = {}  # principal ARN -> as resource-based policies name it
        self.rate_limiter = rate_limiter
        self.hash_key = hash_key
        # Resource-based policies (emulator.dynamodb.policies.ResourcePolicies), set by the
        # DynamoDB service when signatures are checked; None: there are none to consult.
        self.resource_policies: Any = None
        # A cluster gateway's (emulator/cluster/policies.py): True to take a refusal over
        # (``ctx`` is then let through, to be confirmed before the request goes anywhere).
        self.defer_denial: Callable[[RequestContext, Decision, AwsError], bool] | None = None
        self.denied = 0
        self.allowed = 0

    def forget_roles(self) -> None:
        """Drop the roles' policies read from moto (kept a second per role ARN): after a reset a
        role made again under the same name must not be authorized with the old one's."""
        self._role_sets.clear()

    def evaluate(self, principal: Principal, reqs: list[Requirement], context: dict[str, Any], policies: PolicySet | None = None) -> Decision:
        """Every (action, resource) must be allowed; the first refusal is the answer."""
        if principal.is_root or principal.user_name == "root":
            action, resource = reqs[0] if reqs else ("*", "*")
            return Decision(ALLOWED, action, resource)
        if policies is None:
            policies = self.policies(principal)
        variables: dict[str, Any] | None = None
        if policies.uses_variables:
            # Any single-valued key of the request may be a variable (request_context was
            # asked for those the policies read); the principal's own keys always are.
            variables = {k: v for k in policies.variable_keys if isinstance(v := context.get(k), str)}
            variables.update(self.identity(principal))
        return conclude(reqs, (policies.evaluate(action, resource, context, variables) for action, resource in reqs))

    @staticmethod
    def _variables(policies: PolicySet, context: dict[str, Any], identity: dict[str, str]) -> dict[str, Any] | None:
        if not policies.uses_variables:
            return None
        variables: dict[str, Any] = {k: v for k in policies.variable_keys if isinstance(v := context.get(k), str)}
        variables.update(identity)
        return variables

    def decide(self, ctx: RequestContext, principal: Principal, reqs: list[Requirement], governed: list[tuple[str, ResourcePolicy] | None]) -> Decision:
        """The decision when resource-based policies govern some of the resources (``governed``:
        for each requirement None, or the resource as its policy names it and the policy), joined
        with the caller's identity-based policies as emulator.gateway.resource_policy.combine
        says. The root user needs no Allow, but a Deny of a resource-based policy applies to it,
        except for the actions of _ROOT_KEEPS (its own policy's management)."""
        is_root = principal.is_root or principal.user_name == "root"
        identity = self.identity(principal)
        caller = self._callers.get(principal.arn)
        if caller is None or caller.identity is not identity:
            if len(self._callers) >= 1024:
                self._callers.clear()
            caller = self._callers[principal.arn] = caller_of(principal.arn, principal.account_id, is_root, identity)
        policies = None if is_root else self.policies(principal)
        sets = [(g[0], g[1].for_caller(caller)) if g is not None else None for g in governed]
        needed: set[str] = set()
        for (action, _), found in zip(reqs, sets):
            for ps in (policies, found[1] if found is not None else None):
                if ps is not None:
                    needed.update(ps.condition_keys(action))
                    if ps.uses_variables:
                        needed.update(ps.variable_keys)
        context = self._context(ctx, needed, identity, reqs) if needed else {}
        return conclude(reqs, (self._joined(principal, is_root, policies, found, action, resource, context, identity) for (action, resource), found in zip(reqs, sets)))

    def _joined(self, principal: Principal, is_root: bool, policies: PolicySet | None, found: tuple[str, PolicySet] | None,
                action: str, resource: str, context: dict[str, Any], identity: dict[str, str]) -> Decision:
        """One requirement's decision: the caller's identity policies joined with the resource's."""
        if policies is None:
            mine = Decision(ALLOWED, action, resource)
        else:
            mine = policies.evaluate(action, resource, context, self._variables(policies, context, identity))
        theirs = None
        if found is not None and not (is_root and action in _ROOT_KEEPS):
            theirs = found[1].evaluate(action, found[0], context, self._variables(found[1], context, identity))
        parts = resource.split(":", 5)
        same_account = len(parts) < 6 or parts[4] in ("", principal.account_id)
        return combine(action, resource, mine, theirs, same_account)

    def _governed(self, ctx: RequestContext, reqs: list[Requirement]) -> list[tuple[str, ResourcePolicy] | None] | None:
        """The resource-based policies that govern the request's resources (None: none does)."""
        service = ctx.service_name
        if service == "s3":
            if self.fallback is None or ctx.operation_name in _S3_UNGOVERNED:
                return None
            # One lookup per bucket named (moto's bucket and its policy text); a policy is parsed
            # once per text.
            owner = ctx.principal.account_id if ctx.principal is not None else ctx.account_id
            return s3_policy.governed(self.fallback, ctx.region, owner, reqs)
        rp = self.resource_policies
        if rp is not None and service in _GOVERNED_SERVICES:
            # Without any resource-based policy this is one attribute read; with some, one
            # dict lookup per resource (its table's or stream's policy).
            current = rp.current() if rp.shared else rp.policies
            if current:
                for _, resource in reqs:
                    key = rp.key_of(resource)
                    if key is not None and key[0] in current:
                        return [rp.governing(current, r) for _, r in reqs]
        return None

    def _decision(self, ctx: RequestContext, principal: Principal, reqs: list[Requirement]) -> Decision:
        governed = self._governed(ctx, reqs)
        if governed is not None:
            return self.decide(ctx, principal, reqs, governed)
        if principal.is_root or (len(reqs) == 1 and reqs[0][0] in ALWAYS_ALLOWED):
            # Fast path: root may do everything, so no policy is evaluated; the audit log
            # still gets the action and resource (the first requirement).
            action, resource = reqs[0] if reqs else ("*", "*")
            return Decision(ALLOWED, action, resource)
        policies = self.policies(principal)
        needed: Collection[str] = policies.condition_keys(reqs[0][0]) if len(reqs) == 1 else tuple({k for action, _ in reqs for k in policies.condition_keys(action)})
        if policies.uses_variables:
            needed = policies.variable_keys.union(needed)
        context = self._context(ctx, needed, self.identity(principal), reqs) if needed else {}
        return self.evaluate(principal, reqs, context, policies)

    def would_allow(self, ctx: RequestContext, reqs: list[Requirement], replacing: dict[str, ResourcePolicy]) -> bool:
        """Whether ctx's caller would be allowed ``reqs`` if the resources named in ``replacing``
        had those policies (PutResourcePolicy's check against locking oneself out)."""
        principal = ctx.principal
        if principal is None:
            return True
        rp = self.resource_policies
        if rp is None:
            return True
        current = rp.current()
        for arn, policy in replacing.items():
            current = rp.with_policy(arn, policy)
        governed = [rp.governing(current, resource) for _, resource in reqs]
        return self.decide(ctx, principal, reqs, governed).allowed

    def _context(self, ctx: RequestContext, needed: Collection[str], identity: dict[str, str], reqs: list[Requirement]) -> dict[str, Any]:
        """request_context, and the keys read from moto's state: S3's of the object of the first
        requirement (s3_policy.stored_keys) and aws:PrincipalOrgID."""
        context = request_context(ctx, self.hash_key, needed, identity)
        if ctx.service_name == "s3" and reqs and s3_policy.wants_stored_keys(ctx, needed):
            resource = reqs[0][1]
            name, key = s3_policy.split_arn(resource)
            if key is not None and resource.startswith(s3_policy.S3_ARN):
                backend = s3_policy.s3_backend(self.fallback, ctx.region)
                own = name == ctx.params.get("Bucket") and key == ctx.params.get("Key")
                version = ctx.params.get("VersionId") if own else None
                context.update(s3_policy.stored_keys(ctx, backend, s3_policy.bucket_of(backend, name), key, version))
        if "aws:principalorgid" in needed:
            org = self._organization(ctx.account_id if ctx.principal is None else ctx.principal.account_id)
            if org is not None:
                context["aws:principalorgid"] = org
        return context

    def _organization(self, account: str) -> str | None:
        """The id of the organization (moto's Organizations) the account belongs to, or None."""
        if self.fallback is None:
            return None
        try:
            from moto.organizations.models import organizations_backends

            backend = self.fallback.backend("organizations", "aws")
            org = getattr(backend, "org", None)
            if org is None:
                master = organizations_backends.master_accounts.get(account)
                if master is None:
                    return None
                org = getattr(organizations_backends[master[0]][master[1]], "org", None)
            found = getattr(org, "id", None)
            return found if isinstance(found, str) else None
        except Exception:  # noqa: BLE001 - no Organizations backend: in no organization
            return None

    def identity(self, principal: Principal) -> dict[str, str]:
        """The principal's global condition keys, as AWS sets them
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
        for an IAM user aws:username, aws:userid (its unique AIDA... id) and aws:PrincipalArn
        (with the user's path); for an assumed-role session aws:userid is
        ``<role id>:<session name>``, aws:PrincipalArn the role's ARN and there is no aws:username.
        A user's tags are its aws:PrincipalTag/<key> keys."""
        cache_key = (principal.access_key_id, principal.user_name, self.store.version)
        found = self._identities.get(cache_key)
        if found is not None:
            return found
        found = {"aws:principalaccount": principal.account_id}
        session = self.sessions.get(principal.access_key_id) if self.sessions is not None and principal.access_key_id.startswith("ASIA") else None
        if principal.user_name.startswith("assumed-role/"):
            found["aws:principaltype"] = "AssumedRole"
            if session is not None:
                found["aws:userid"] = session.user_id
                if session.role_arn:
                    found["aws:principalarn"] = session.role_arn
        elif principal.is_root or principal.user_name == "root":
            # The root user: no aws:username; aws:userid is the account (reference_policies_variables.html,
            # "Principal key values").
            found["aws:principaltype"] = "Account"
            found["aws:userid"] = principal.account_id
            found["aws:principalarn"] = f"arn:aws:iam::{principal.account_id}:root"
        else:
            user = self.store.users.get(principal.user_name)
            found["aws:principaltype"] = "User"
            found["aws:username"] = principal.user_name
            found["aws:userid"] = str(user["UserId"]) if user is not None else principal.user_name
            found["aws:principalarn"] = str(user["Arn"]) if user is not None else principal.arn
            for tag in user.get("Tags") or [] if user is not None else []:
                found[f"aws:principaltag/{str(tag['Key']).lower()}"] = str(tag.get("Value", ""))
        if len(self._identities) >= 1024:
            self._identities.clear()
        self._identities[cache_key] = found
        return found

    def policies(self, principal: Principal) -> PolicySet:
        """The statements that apply to a principal: a user's (attached and inline), or for an
        assumed-role session the role's, as moto holds them (re-read at most once a second)."""
        if not principal.user_name.startswith("assumed-role/"):
            return self.store.policy_set(principal.user_name)
        session = self.sessions.get(principal.access_key_id) if self.sessions is not None else None
        if session is None or session.role_arn is None or self.fallback is None:
            return PolicySet.from_documents([])
        now = time.monotonic()
        cached = self._role_sets.get(session.role_arn)
        if cached is None or now - cached[0] > 1.0:
            if len(self._role_sets) > 1024:
                self._role_sets.clear()
            cached = self._role_sets[session.role_arn] = (now, self.sessions.role_policies(session, self.fallback.backend("iam", "aws")))
        return cached[1]

    def check(self, principal: Principal | None, action: str, resource: str | list[str] = "*", context: dict[str, Any] | None = None) -> Decision:
        """The decision for a principal, an action and resource(s); for non-AWS routes (the OpenAI API)."""
        if principal is None:
            return Decision("implicit_deny", action, resource if isinstance(resource, str) else (resource[0] if resource else "*"))
        resources = [resource] if isinstance(resource, str) else list(resource) or ["*"]
        ctx = {k.lower(): v for k, v in (context or {}).items()}
        return self.evaluate(principal, [(action, r) for r in resources], ctx)

    def __call__(self, ctx: RequestContext) -> None:
        principal = ctx.principal
        if principal is None:
            return
        if ctx.service_name == "s3" and not ctx.params:
            # S3's resources are in the request line (no body parse): root needs them too when
            # a bucket policy governs the bucket.
            ctx.params = s3_policy.request_params(ctx)
        elif not ctx.native and not ctx.params and not principal.is_root and ctx.operation is not None:
            # A moto-served call that the chain did not parse: parse it for its resources.
            try:
                ctx.params = get_protocol(ctx.protocol or "json").parse(ctx.request, ctx.operation)
            except Exception:  # noqa: BLE001 - moto answers a request our parser cannot read; authorize on "*"
                ctx.params = {}
        reqs = requirements(ctx)
        decision = self._decision(ctx, principal, reqs)
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        if not decision.allowed:
            self.denied += 1
            error = access_denied(ctx.protocol, ctx.service, denied_message(principal, decision))
            if self.defer_denial is not None and self.defer_denial(ctx, decision, error):
                return  # a cluster gateway confirms it with the dynamodb role first (emulator/cluster/policies.py)
            raise error
        self._admit(ctx, principal)

    def _admit(self, ctx: RequestContext, principal: Principal) -> None:
        """What follows an Allow: the per-key checks of S3's DeleteObjects, rate limits, capacity."""
        if ctx.service_name == "s3" and ctx.operation_name == "DeleteObjects" and self.fallback is not None:
            # moto asks about each key: the same decision, for s3:DeleteObject on the key.
            s3_policy.object_check(lambda action, resource: self._decision(ctx, principal, [(action, resource)]).allowed)
        self.allowed += 1
        if self.rate_limiter is not None and self.rate_limiter.enabled:
            try:
                self.rate_limiter.check(principal.access_key_id, ctx.service_name or "", ctx.operation_name or "", ctx.protocol)
            except AwsError:
                ctx.telemetry["authz"]["throttled"] = True
                raise
        if self.capacity is not None and ctx.service_name == "dynamodb" and ctx.native:
            self.capacity.check(ctx.operation_name or "", ctx.params, ctx.region)

    def recheck(self, ctx: RequestContext, allowed_before: bool) -> None:
        """Decide a request again, as ``__call__`` did (what an Allow charges, once): a cluster
        gateway learnt that the resource-based policies it decided with were not the dynamodb
        role's (emulator/cluster/policies.py). Raises the service's AccessDenied."""
        principal = ctx.principal
        if principal is None:
            return
        decision = self._decision(ctx, principal, requirements(ctx))
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        if allowed_before and not decision.allowed:  # counted once, as finally decided
            self.allowed -= 1
            self.denied += 1
        elif decision.allowed and not allowed_before:
            self.denied -= 1  # _admit counts the Allow
        if not decision.allowed:
            raise access_denied(ctx.protocol, ctx.service, denied_message(principal, decision))
        if not allowed_before:
            self._admit(ctx, principal)

    def health(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "denied": self.denied}
