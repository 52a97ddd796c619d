"""botocore's service models: loading, caching and the index used to route requests.

The index is built from the ``metadata`` block at the top of every
``service-2.json(.gz)`` (reading only the first few KB of each file), so that
start-up stays fast (~0.3 s for ~420 services) while every service botocore
knows can be detected.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore
import botocore.session
from botocore.model import OperationModel, ServiceModel

_DATA = os.path.join(os.path.dirname(botocore.__file__), "data")
_META_RE = re.compile(rb'"metadata"\s*:\s*(\{.*?\n  \})', re.DOTALL)


@dataclass(frozen=True)
class ServiceInfo:
    name: str  # botocore's service name ("dynamodb", "bedrock-runtime", "cloudwatch")
    api_version: str
    protocol: str
    protocols: tuple[str, ...]
    target_prefix: str | None
    signing_name: str
    endpoint_prefix: str
    json_version: str | None
    signature_version: str | None = None  # the model's metadata.signatureVersion ("v4", "s3v4", "s3", ...)
    # A service that moved from the query protocol to JSON (metadata.awsQueryCompatible: SQS) and
    # still takes query requests, which SDKs older than the move send (boto3 before 1.34, Java v1).
    query_compatible: bool = False


class ServiceIndex:
    """Lookup tables from wire hints (target prefix, signing name, ...) to services."""

    def __init__(self) -> None:
        self.by_name: dict[str, ServiceInfo] = {}
        self.by_target_prefix: dict[str, ServiceInfo] = {}
        self.by_signing_name: dict[str, list[ServiceInfo]] = {}
        self._load()

    def _load(self) -> None:
        for name in sorted(os.listdir(_DATA)):
            sdir = os.path.join(_DATA, name)
            if not os.path.isdir(sdir):
                continue
            versions = sorted(v for v in os.listdir(sdir) if os.path.isdir(os.path.join(sdir, v)))
            for version in reversed(versions):
                meta = _read_metadata(os.path.join(sdir, version))
                if meta is None:
                    continue
                info = ServiceInfo(
                    name=name,
                    api_version=meta.get("apiVersion", version),
                    protocol=meta.get("protocol", ""),
                    protocols=tuple(meta.get("protocols") or [meta.get("protocol", "")]),
                    target_prefix=meta.get("targetPrefix"),
                    signing_name=meta.get("signingName") or meta.get("endpointPrefix") or name,
                    endpoint_prefix=meta.get("endpointPrefix", name),
                    json_version=meta.get("jsonVersion"),
                    signature_version=meta.get("signatureVersion"),
                    query_compatible="awsQueryCompatible" in meta and "query" not in (meta.get("protocols") or [meta.get("protocol")]),
                )
                self.by_name[name] = info
                if info.target_prefix:
                    self.by_target_prefix.setdefault(info.target_prefix, info)
                self.by_signing_name.setdefault(info.signing_name, []).append(info)
                if info.endpoint_prefix != info.signing_name:
                    self.by_signing_name.setdefault(info.endpoint_prefix, []).append(info)
                break


def _read_metadata(vdir: str) -> dict | None:
    for fname, opener in (("service-2.json.gz", gzip.open), ("service-2.json", open)):
        path = os.path.join(vdir, fname)
        if os.path.exists(path):
            with opener(path, "rb") as fh:  # type: ignore[operator]
                head = fh.read(6000)
            match = _META_RE.search(head)
            if match:
                try:
                    return json.loads(match.group(1))
                except ValueError:
                    pass
            # Fall back to a full parse when the metadata block is not near the top.
            with opener(path, "rb") as fh:  # type: ignore[operator]
                return json.loads(fh.read()).get("metadata", {})
    return None


_index: ServiceIndex | None = None
_index_lock = threading.Lock()


def index() -> ServiceIndex:
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                _index = ServiceIndex()
    return _index


def signs_like_s3(model: Any) -> bool:
    """S3 (its model signs as "s3"/"s3v4"): it words errors, refusals and XML its own way."""
    return model is not None and model.metadata.get("signatureVersion") in ("s3", "s3v4")


# The models are botocore's files, whoever runs the server: never the user's AWS profile
# (AWS_PROFILE naming a profile this machine lacks made every model load, so every request,
# fail). The "profile" variable read from no environment variable and no file: None.
_session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
_model_lock = threading.Lock()


@cache
def service_model(name: str) -> ServiceModel:
    with _model_lock:
        return _session.get_service_model(name)


@cache
def operation_model(service: str, operation: str) -> OperationModel | None:
    model = service_model(service)
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation)


@cache
def crc32_services() -> frozenset[str]:
    """Endpoint prefixes whose responses carry ``x-amz-crc32``: the services for which
    botocore's retry configuration (``_retry.json``) checks that header against the body
    (``crc32body``: DynamoDB today), as the service sends it on every answer."""
    config = _session.get_component("data_loader").load_data("_retry").get("retry", {})
    found = set()
    for prefix, operations in config.items():
        for entry in operations.values():  # "__default__" and per-operation entries
            if not isinstance(entry, dict):
                continue
            for policy in (entry.get("policies") or {}).values():
                if (policy.get("applies_when") or {}).get("response", {}).get("crc32body") == "x-amz-crc32":
                    found.add(prefix)
    return frozenset(found)


@cache
def operations_by_lower_name(service: str) -> dict[str, str]:
    return {op.lower(): op for op in service_model(service).operation_names}
