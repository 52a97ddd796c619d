"""moto's Lambda, changed where it differs from Lambda (installed by fallback_patches.install).

- moto raises ``ValueError("InvalidParameterValueException", message)`` where it means that
  error: turned into the error in every handler (``_errors``).
- AddPermission with a statement id the policy has: 409 (``_lambda_statement_ids``).
- Function names: Lambda takes a name, a name with a qualifier (``my-function:v1``,
  ``my-function:$LATEST``), a partial ARN (``123456789012:function:my-function[:qualifier]``)
  or an ARN wherever ``FunctionName`` is asked (the API reference's "Name formats"). moto's
  routes refused ``$`` (a 404 HTML page for ``fn:$LATEST``) and a qualifier or partial ARN in
  Invoke's path, and a partial ARN broke its lookup (a 500): ``_function_names``.
- A function's configuration has its LoggingConfig and RevisionId (``_logging_and_revision``).
"""

from __future__ import annotations

import functools
import inspect
import re
import uuid
from collections.abc import Callable
from typing import Any

from emulator.errors import AwsError
from emulator.gateway.fallback_patches import _before

# A partial ARN: ACCOUNT:function:NAME[:QUALIFIER] (the API reference's name formats).
_PARTIAL_ARN = re.compile(r"(\d{12}):function:([^:]+)(?::([^:]+))?")


def install() -> None:
    _errors()
    _lambda_statement_ids()
    _function_names()
    _logging_and_revision()


def _errors() -> None:
    """moto's Lambda raises ``ValueError("InvalidParameterValueException", message)`` where it
    means that error (a BatchSize over the event source's maximum, UpdateFunctionCode from a
    bucket that does not exist), and nothing turns it into one: it is here, in every handler."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.responses import LambdaResponse

    def handler(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(self, *args, **kwargs)
            except ValueError as exc:
                if len(exc.args) == 2 and all(isinstance(x, str) for x in exc.args) and exc.args[0].endswith("Exception"):
                    raise LambdaClientError(exc.args[0], exc.args[1]) from None
                raise

        return wrapper

    for name, member in list(vars(LambdaResponse).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(LambdaResponse, name, handler(member))


def _lambda_statement_ids() -> None:
    """AddPermission with a StatementId that the policy (of the function, version or alias)
    already has: Lambda answers ``409 ResourceConflictException: The statement id (x) provided
    already exists. Please provide a new statement id, or remove the existing statement.``;
    moto added a second statement of that id (and RemovePermission then removed one)."""
    import json

    from moto.awslambda.models import LayerVersion
    from moto.awslambda.policy import Policy

    def unique_sid(policy: Any, a: dict[str, Any]) -> None:
        try:
            sid = json.loads(a["raw"]).get("StatementId")
        except (TypeError, ValueError, AttributeError):
            return
        parent = policy.parent
        base = parent.arn if isinstance(parent, LayerVersion) else parent.function_arn
        resource = f"{base}:{a['qualifier']}" if a.get("qualifier") else base
        for statement in policy.statements:
            if sid is not None and statement.get("Sid") == sid and statement.get("Resource", base) == resource:
                raise AwsError("ResourceConflictException",
                               f"The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement.", 409)

    _before(Policy, "add_statement", unique_sid)


def _function_names() -> None:
    from moto.awslambda import urls
    from moto.awslambda.models import LambdaStorage

    # The routes' function name patterns take what Lambda takes ($LATEST, qualifiers, partial ARNs);
    # the $ written \x24, as moto strips every '$' of a route when it makes Flask's.
    for pattern in list(urls.url_paths):
        wider = pattern.replace("(?P<function_name>[\\w_:%-]+)", "(?P<function_name>[\\w_:%\\x24-]+)").replace(
            "(?P<function_name>[\\w_-]+)/invocations", "(?P<function_name>[\\w_:%\\x24-]+)/invocations")
        if wider != pattern:
            urls.url_paths[wider] = urls.url_paths.pop(pattern)

    lookup = LambdaStorage.get_function_by_name_or_arn_with_qualifier

    @functools.wraps(lookup)
    def by_name(self: Any, name_or_arn: str, qualifier: str | None = None) -> Any:
        found = _PARTIAL_ARN.fullmatch(name_or_arn) if isinstance(name_or_arn, str) else None
        if found is not None:
            account, name, in_name = found.groups()
            if account != self.account_id:
                from moto.awslambda.exceptions import UnknownFunctionException

                raise UnknownFunctionException(f"arn:aws:lambda:{self.region_name}:{name_or_arn}")
            name_or_arn = f"arn:aws:lambda:{self.region_name}:{account}:function:{name}" + (f":{in_name}" if in_name else "")
        return lookup(self, name_or_arn, qualifier)

    LambdaStorage.get_function_by_name_or_arn_with_qualifier = by_name  # type: ignore[method-assign]


_LOG_LEVELS = ("ApplicationLogLevel", "SystemLogLevel")


def _logging_config(given: Any, current: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The function's LoggingConfig once ``given`` (CreateFunction's, UpdateFunctionConfiguration's)
    is applied to ``current``: Lambda's default is ``{"LogFormat": "Text", "LogGroup":
    "/aws/lambda/<name>"}``; the log levels are those of the JSON format only (INFO unless given)."""
    config = dict(current) if current else {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    if isinstance(given, dict):
        for key in ("LogFormat", "LogGroup", *_LOG_LEVELS):
            if given.get(key):
                config[key] = given[key]
    if config.get("LogFormat") == "JSON":
        for key in _LOG_LEVELS:
            config.setdefault(key, "INFO")
    else:
        for key in _LOG_LEVELS:
            config.pop(key, None)
    return config


def _logging_and_revision() -> None:
    """GetFunction, GetFunctionConfiguration, ListFunctions and the answers of CreateFunction,
    UpdateFunctionConfiguration and UpdateFunctionCode give the function's ``LoggingConfig``
    (Lambda always does: the default, or the one given, kept) and its ``RevisionId`` (a UUID
    that changes with each update of the function's code or configuration). moto gave neither
    (Terraform's AWS provider reads both). A LoggingConfig's LogGroup is where moto writes the
    function's logs. Functions stored before this have a RevisionId derived from their ARN,
    LastModified and code (the same on every read)."""
    from moto.awslambda.models import LambdaFunction

    init = LambdaFunction.__init__

    @functools.wraps(init)
    def __init__(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        init(self, account_id, spec, *args, **kwargs)
        self._emulator_logging = _logging_config(spec.get("LoggingConfig"), None, self.function_name)
        self.logs_group_name = self._emulator_logging["LogGroup"]
        self.revision_id = str(uuid.uuid4())

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]

    get_configuration = LambdaFunction.get_configuration

    @functools.wraps(get_configuration)
    def configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config: dict[str, Any] = get_configuration(self, *args, **kwargs)
        config["LoggingConfig"] = dict(getattr(self, "_emulator_logging", None) or _logging_config(None, None, self.function_name))
        revision = getattr(self, "revision_id", None)
        if revision is None:
            base = str(self.function_arn).removesuffix(":$LATEST")
            revision = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}|{self.last_modified}|{getattr(self, 'code_sha_256', '')}"))
        config["RevisionId"] = revision
        return config

    LambdaFunction.get_configuration = configuration  # type: ignore[method-assign]

    update_configuration = LambdaFunction.update_configuration

    @functools.wraps(update_configuration)
    def updating_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        previous = self.__dict__.get("_emulator_logging"), self.__dict__.get("revision_id"), self.logs_group_name
        if "LoggingConfig" in config_updates:
            self._emulator_logging = _logging_config(config_updates["LoggingConfig"], getattr(self, "_emulator_logging", None), self.function_name)
            self.logs_group_name = self._emulator_logging["LogGroup"]
        self.revision_id = str(uuid.uuid4())
        try:
            return update_configuration(self, config_updates)
        except BaseException:
            self._emulator_logging, self.revision_id, self.logs_group_name = previous
            raise

    LambdaFunction.update_configuration = updating_configuration  # type: ignore[method-assign]

    update_code = LambdaFunction.update_function_code

    @functools.wraps(update_code)
    def updating_code(self: Any, updated_spec: dict[str, Any]) -> dict[str, Any]:
        if updated_spec.get("DryRun"):
            return update_code(self, updated_spec)
        previous = self.__dict__.get("revision_id")
        self.revision_id = str(uuid.uuid4())
        try:
            return update_code(self, updated_spec)
        except BaseException:
            self.revision_id = previous
            raise

    LambdaFunction.update_function_code = updating_code  # type: ignore[method-assign]
