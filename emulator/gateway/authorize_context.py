"""Authorization's request context: the condition keys (global ``aws:*`` keys, S3's and
DynamoDB's: dynamodb:LeadingKeys, dynamodb:Attributes...) that a request gives its policies'
conditions, lower-cased as IAM compares them. The authorizer (emulator/gateway/authorize.py)
asks only for the keys its candidate statements read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from typing import Any

from emulator.context import RequestContext
from emulator.gateway import s3_policy
from emulator.gateway.authorize_requirements import passed_to_service
from emulator.gateway.sessions import request_keys as sts_request_keys

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
    if want("iam:passedtoservice") and (service := passed_to_service(ctx.service_name or "", ctx.operation_name or "")) is not None:
        out["iam:passedtoservice"] = service  # the request passes a role (authorize_requirements.PASS_ROLE)
    if ctx.service_name == "sts" and ctx.params:
        out.update(sts_request_keys(ctx.params, principal))  # sts:ExternalId, aws:RequestTag/*... (few, STS only)
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


# ------------------------------------------------------------------ EC2's per-resource keys
# The condition keys whose value depends on the requirement's resource (and action): an
# instance's tags and type, the tags a request puts on what it creates.
_EC2_KEY_PREFIXES = ("ec2:", "aws:resourcetag/", "aws:requesttag/", "aws:tagkeys")


def wants_ec2_keys(ctx: RequestContext, needed: Collection[str]) -> bool:
    """Whether the policies of an EC2 request read a key of ``ec2_resource_keys``."""
    return ctx.service_name == "ec2" and any(k.startswith(_EC2_KEY_PREFIXES) for k in needed)


def _instance(ident: str, region: str) -> Any:
    """The emulator's instance (emulator/compute: runtime.components["compute"]) of that id in
    that region, or None (not there, or no compute service in this process)."""
    from emulator.gateway import security  # it imports this module

    runtime = security._current() if security._current is not None else None
    compute = runtime.components.get("compute") if runtime is not None else None
    manager = getattr(compute, "manager", None)
    if manager is None:
        return None
    inst = manager.get(ident)
    return inst if inst is not None and (inst.region or manager.region) == region else None


def _default_type(image: Any) -> str | None:
    """The type RunInstances gives an instance of ``image`` without InstanceType (InstanceManager.run)."""
    from emulator.gateway import security  # it imports this module

    runtime = security._current() if security._current is not None else None
    compute = runtime.components.get("compute") if runtime is not None else None
    manager = getattr(compute, "manager", None)
    if manager is None or not isinstance(image, str):
        return None
    try:
        model = manager.store.get(image)
        return str(manager.default_type(model).name) if model is not None else None
    except Exception:  # noqa: BLE001 - no such image or no types: the key is absent
        return None


def _tag_keys(tags: Any, out: dict[str, Any]) -> None:
    """aws:RequestTag/<key> (lower-cased key name, as conditions name keys) and aws:TagKeys of
    the ``[{"Key", "Value"}]`` a request puts on a resource."""
    keys: list[str] = []
    for tag in tags if isinstance(tags, list) else []:
        key = tag.get("Key") if isinstance(tag, dict) else None
        if isinstance(key, str):
            keys.append(key)
            out[f"aws:requesttag/{key.lower()}"] = str(tag.get("Value") or "")
    if keys:
        out["aws:tagkeys"] = keys


def ec2_resource_keys(ctx: RequestContext, action: str, resource: str) -> dict[str, Any]:
    """EC2's keys for one (action, resource) requirement (the EC2 User Guide's "Condition keys
    for Amazon EC2"; the Service Authorization Reference):

    - an existing instance (``instance/i-...``): aws:ResourceTag/<key> and ec2:ResourceTag/<key>
      (its tags), ec2:InstanceType (its type);
    - RunInstances' ``instance/*``: ec2:InstanceType (the requested type, or the one it gets),
      aws:RequestTag/<key> and aws:TagKeys (its TagSpecifications for instances);
    - ec2:CreateTags implied by TagSpecifications (``<type>/*``): those of the specifications for
      that type, and ec2:CreateAction (the creating action: ``RunInstances``);
    - CreateTags and DeleteTags: aws:RequestTag/<key> and aws:TagKeys of their Tags.
    """
    params = ctx.params
    op = ctx.operation_name or ""
    out: dict[str, Any] = {}
    kind, _, ident = resource.rpartition(":")[2].partition("/")
    if kind == "instance" and ident.startswith("i-"):
        inst = _instance(ident, ctx.region)
        if inst is not None:
            for key, value in inst.tags.items():
                out[f"aws:resourcetag/{key.lower()}"] = out[f"ec2:resourcetag/{key.lower()}"] = value
            out["ec2:instancetype"] = inst.instance_type
    if op == "RunInstances" and ident == "*":
        if kind == "instance" and action == "ec2:RunInstances":
            itype = params.get("InstanceType")
            itype = itype if isinstance(itype, str) and itype else _default_type(params.get("ImageId"))
            if itype is not None:
                out["ec2:instancetype"] = itype
        if kind == "instance" or action == "ec2:CreateTags":
            tags = [t for spec in params.get("TagSpecifications") or [] if isinstance(spec, dict) and (spec.get("ResourceType") or "instance") == kind
                    for t in spec.get("Tags") or []]
            _tag_keys(tags, out)
        if action == "ec2:CreateTags":
            out["ec2:createaction"] = op
    elif op in ("CreateTags", "DeleteTags"):
        _tag_keys(params.get("Tags"), out)
    return out
