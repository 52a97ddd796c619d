"""CloudFormation templates read as CloudFormation reads them before it creates anything.

CreateStack, UpdateStack and CreateChangeSet parse the template, and resolve what it refers to,
synchronously: an error is the call's own ``400 ValidationError`` and nothing is created (an
error of a resource's properties, which its provider finds later, fails the stack instead).
moto (emulator/gateway/fallback.py) assumes a well-formed template: it raises on one that is not
after it stored the new stack, so ``check`` runs first, from emulator/gateway/fallback_checks.py.

The wording is CloudFormation's ("Template format error: ...", "Template error: ...",
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from emulator.errors import AwsError

_PSEUDO = frozenset({
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
})
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_JOIN = (
    "Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined "
    "or a function that returns a list of strings (such as Fn::GetAZs) to be joined."
)


def _error(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (``!Ref x``, ``!GetAtt a.b``, ``!Sub ...``)."""


def _short_form(loader: _Loader, tag: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    name = tag[1:]
    if name == "Ref":
        return {"Ref": value}
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{name}": value}


_Loader.add_multi_constructor("!", _short_form)


def parse(body: str) -> dict[str, Any]:
    """The template as a document; ValidationError when it is not one."""
    text = body.lstrip()
    if text.startswith(("{", "[")):
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            raise _error(f"Template format error: JSON not well-formed. (line {exc.lineno}, column {exc.colno})") from None
    else:
        try:
            document = yaml.load(body, Loader=_Loader)  # a SafeLoader subclass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise _error(f"Template format error: YAML not well-formed.{where}") from None
        except yaml.YAMLError:
            raise _error("Template format error: YAML not well-formed.") from None
    if not isinstance(document, dict):
        raise _error("Template format error: unsupported structure.")
    return document


def check(body: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parse a template and check its structure and references; ``given``: the parameter values
    of the request (None: not a stack's, e.g. GetTemplateSummary). Returns the document."""
    document = parse(body)
    resources = document.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise _error("Template format error: At least one Resources member must be defined.")
    if document.get("Transform"):
        # A macro (AWS::Serverless, AWS::LanguageExtensions) rewrites the template first: its
        # resources and references are only known after it ran.
        return document
    parameters = document.get("Parameters") or {}
    if not isinstance(parameters, dict):
        raise _error("Template format error: Parameters must be an object.")
    for name, spec in parameters.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("Type"), str):
            raise _error("Template format error: Every Parameters object must contain a Type member.")
    for name, resource in resources.items():
        if not isinstance(resource, dict):
            raise _error(f"Template format error: [/Resources/{name}] Any Resources member must be an object.")
        if not isinstance(resource.get("Type"), str) or not resource["Type"]:
            raise _error(f"Template format error: [/Resources/{name}] Every Resources object must contain a Type member.")
        if "Properties" in resource and not isinstance(resource["Properties"], dict):
            raise _error(f"Template format error: [/Resources/{name}/Properties] Properties must be an object.")
    conditions = document.get("Conditions") or {}
    mappings = document.get("Mappings") or {}
    if not isinstance(conditions, dict):
        raise _error("Template format error: Conditions must be an object.")
    if not isinstance(mappings, dict):
        raise _error("Template format error: Mappings must be an object.")
    outputs = document.get("Outputs") or {}
    if not isinstance(outputs, dict):
        raise _error("Template format error: Outputs must be an object.")
    for name, output in outputs.items():
        if not isinstance(output, dict) or "Value" not in output:
            raise _error(f"Template format error: Every Outputs member must contain a Value object ({name}).")
    scope = _Scope(set(parameters), set(resources), set(conditions), mappings)
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        for target in depends if isinstance(depends, list) else [depends]:
            if target not in scope.resources:
                raise _unresolved(str(target), "Resources")
        condition = resource.get("Condition")
        if condition is not None and condition not in scope.conditions:
            raise _error(f"Template format error: Unresolved condition dependency {condition} in the Resources block of the template")
        scope.walk(resource.get("Properties"), "Resources")
    scope.walk(conditions, "Conditions")
    scope.walk(outputs, "Outputs")
    if given is not None:
        _check_values(parameters, given)
    return document


def _unresolved(name: str, block: str) -> AwsError:
    return _error(f"Template format error: Unresolved resource dependencies [{name}] in the {block} block of the template")


def _check_values(parameters: dict[str, Any], given: dict[str, Any]) -> None:
    unknown = [name for name in given if name not in parameters]
    if unknown:
        raise _error(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    for name, spec in parameters.items():
        value = given.get(name)
        if not isinstance(value, str):
            continue
        kind = spec.get("Type")
        values = [v.strip() for v in value.split(",")] if kind == "List<Number>" else [value] if kind == "Number" else []
        for v in values:
            try:
                float(v)
            except ValueError:
                raise _error(f"Parameter '{name}' must be a number.") from None


class _Scope:
    def __init__(self, parameters: set[str], resources: set[str], conditions: set[str], mappings: dict[str, Any]) -> None:
        self.parameters = parameters
        self.resources = resources
        self.conditions = conditions
        self.mappings = mappings

    def known(self, name: str) -> bool:
        return name in self.parameters or name in self.resources or name in _PSEUDO

    def walk(self, value: Any, block: str, local: frozenset[str] = frozenset()) -> None:
        for key, arg in _functions(value):
            self.function(key, arg, block, local)

    def function(self, key: str, arg: Any, block: str, local: frozenset[str]) -> None:
        if key == "Ref":
            if not isinstance(arg, str) or not (self.known(arg) or arg in local):
                raise _unresolved(str(arg), block)
        elif key == "Fn::GetAtt":
            if isinstance(arg, str) and "." in arg:
                arg = arg.split(".", 1)
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and arg[0] and arg[1]):
                raise _error("Template error: every Fn::GetAtt object requires two non-empty parameters")
            if arg[0] not in self.resources:
                raise _error(f"Template error: instance of Fn::GetAtt references undefined resource {arg[0]}")
            self.walk(arg[1], block, local)
        elif key == "Fn::Sub":
            self.sub(arg, block, local)
        elif key == "Fn::Join":
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], list | dict)):
                raise _error(_JOIN)
            self.walk(arg[1], block, local)
        elif key == "Fn::Equals":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise _error("Template error: every Fn::Equals object requires a list of 2 string parameters.")
            self.walk(arg, block, local)
        elif key == "Fn::If":
            if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
                raise _error("Template error: Fn::If requires a list argument with three elements")
            if arg[0] not in self.conditions:
                raise _error(f"Template error: unresolved condition dependency {arg[0]} in Fn::If")
            self.walk(arg[1:], block, local)
        elif key == "Fn::FindInMap":
            self.find_in_map(arg, block, local)
        elif key in ("Condition",) and isinstance(arg, str) and block == "Conditions":
            if arg not in self.conditions:
                raise _error(f"Template error: unresolved condition dependency {arg} in Fn::Condition")
        else:
            self.walk(arg, block, local)

    def sub(self, arg: Any, block: str, local: frozenset[str]) -> None:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
            text, variables = arg[0], arg[1]
            self.walk(variables, block, local)
            local = local | frozenset(str(k) for k in variables)
        elif isinstance(arg, str):
            text = arg
        else:
            raise _error("Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string")
        for found in _SUB_VARIABLE.finditer(text):
            name = found.group(1).strip()
            base = name.split(".", 1)[0] if "." in name and not name.startswith("AWS::") else name
            if not (self.known(base) or base in local or name in local):
                raise _unresolved(name, block)

    def find_in_map(self, arg: Any, block: str, local: frozenset[str]) -> None:
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            raise _error("Template error: every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value")
        self.walk(arg, block, local)
        if all(isinstance(x, str) for x in arg[:3]):
            name, first, second = arg[:3]
            table = self.mappings.get(name)
            row = table.get(first) if isinstance(table, dict) else None
            if not isinstance(row, dict) or second not in row:
                if len(arg) == 4:  # a DefaultValue (the AWS::LanguageExtensions transform)
                    return
                raise _error(f"Template error: Unable to get mapping for {name}::{first}::{second}")


def _functions(value: Any) -> Iterator[tuple[str, Any]]:
    """The intrinsic functions in a value: (name, argument) of each outermost one."""
    if isinstance(value, dict):
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")) or key == "Condition":
                yield key, arg
                return
        for item in value.values():
            yield from _functions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _functions(item)
