"""Wire protocols, one class each, looked up by botocore's protocol name."""

from __future__ import annotations

import importlib

from emulator.protocols.base import Protocol, Request, Response

__all__ = ["Protocol", "Request", "Response", "get_protocol"]

_MODULES = {
    "json": ("emulator.protocols.json", "JsonProtocol"),
    "query": ("emulator.protocols.query", "QueryProtocol"),
    "ec2": ("emulator.protocols.ec2", "Ec2Protocol"),
    "rest-json": ("emulator.protocols.restjson", "RestJsonProtocol"),
    "rest-xml": ("emulator.protocols.restxml", "RestXmlProtocol"),
    "smithy-rpc-v2-cbor": ("emulator.protocols.cbor", "CborProtocol"),
}
_INSTANCES: dict[str, Protocol] = {}


def get_protocol(name: str) -> Protocol:
    proto = _INSTANCES.get(name)
    if proto is None:
        module_name, cls_name = _MODULES.get(name, _MODULES["json"])
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = importlib.import_module("emulator.protocols.json")
            cls_name = "JsonProtocol"
        proto = getattr(module, cls_name)()
        _INSTANCES[name] = proto
    return proto
