"""moto's Lambda, changed where it differs from Lambda (installed by fallback_patches.install).

- moto raises ``ValueError("InvalidParameterValueException", message)`` where it means that
  error: turned into the error in every handler (``_errors``).
- AddPermission with a statement id the policy has: 409 (``_lambda_statement_ids``).
- Function names: Lambda takes a name, a name with a qualifier (``my-function:v1``,
  ``my-function:$LATEST``), a partial ARN (``123456789012:function:my-function[:qualifier]``)
  or an ARN wherever ``FunctionName`` is asked (the API reference's "Name formats"). moto's
  routes refused ``$`` (a 404 HTML page for ``fn:$LATEST``) and a qualifier or partial ARN in
  Invoke's path, and a partial ARN broke its lookup (a 500): ``_function_names``.
"""

from __future__ import annotations

import functools
import inspect
import re
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
