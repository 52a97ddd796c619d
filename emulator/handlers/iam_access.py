"""Users' permissions boundaries and login profiles (console passwords), served natively.

A boundary is evaluated by the authorizer with the user's policies (iam_store.BoundedPolicySet).
A login profile keeps the password's scrypt hash only; nothing signs in with it here (this
emulator has no console sign-in), but it is checked against the account password policy when
set, and it is a credential DeleteUser and the credential report know about.
"""

from __future__ import annotations

import asyncio
import string
from typing import Any

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.gateway.iam_store import hash_password
from emulator.handlers.base import operation
from emulator.handlers.iam_base import IamBase, ts

# IAM User Guide, "Set an account password policy for IAM users": the characters that count as
# symbols, and the default policy (no custom one set): "Minimum password length of 8 characters
# and a maximum length of 128 characters; Minimum of three of the following mix of character
# types: uppercase, lowercase, numbers, and ! @ # $ % ^ & * ( ) _ + - = [ ] { } | ' symbols".
_SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")
_MAX_LENGTH = 128


def _policy_violation() -> AwsError:
    # PasswordPolicyViolation (botocore's IAM model: HTTP 400); the message is ours.
    return AwsError("PasswordPolicyViolation", "Password does not conform to the account password policy.", 400)


def check_password(password: str, policy: Any | None) -> None:
    """PasswordPolicyViolation unless ``password`` meets moto's account password policy (set by
    UpdateAccountPasswordPolicy, which moto serves), or AWS's default one when there is none."""
    kinds = {
        "upper": any(c in string.ascii_uppercase for c in password),
        "lower": any(c in string.ascii_lowercase for c in password),
        "number": any(c in string.digits for c in password),
        "symbol": any(c in _SYMBOLS for c in password),
    }
    if len(password) > _MAX_LENGTH:
        raise _policy_violation()
    if policy is None:
        if len(password) < 8 or sum(kinds.values()) < 3:
            raise _policy_violation()
        return
    required = {
        "upper": policy.require_uppercase_characters,
        "lower": policy.require_lowercase_characters,
        "number": policy.require_numbers,
        "symbol": policy.require_symbols,
    }
    if len(password) < int(policy.minimum_password_length or 0) or any(required[k] and not kinds[k] for k in kinds):
        raise _policy_violation()


class IamAccess(IamBase):
    # ---------------------------------------------------------- boundaries
    @operation("PutUserPermissionsBoundary")
    def put_user_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.set_boundary(params["UserName"], params["PermissionsBoundary"])
        return {}

    @operation("DeleteUserPermissionsBoundary")
    def delete_user_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.set_boundary(params["UserName"], None)
        return {}

    # ------------------------------------------------------- login profiles
    def _login_out(self, profile: dict[str, Any]) -> dict[str, Any]:
        return {"LoginProfile": profile | {"CreateDate": ts(profile["CreateDate"])}}

    async def _hashed(self, password: Any) -> str | None:
        if password is None:
            return None
        backend = self.moto_iam()
        check_password(str(password), getattr(backend, "account_password_policy", None))
        return await asyncio.to_thread(hash_password, str(password))  # scrypt: off the event loop

    @operation("CreateLoginProfile")
    async def create_login_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self._target_user(ctx, params)
        self.store.get_user(user)
        if params.get("Password") is None:
            # The model makes it optional for AssumeRoot sessions only, which this emulator has not.
            raise AwsError("InvalidInput", "Password is required.", 400)
        hashed = await self._hashed(params["Password"])
        return self._login_out(self.store.put_login_profile(user, hashed, bool(params.get("PasswordResetRequired")), create=True))

    @operation("UpdateLoginProfile")
    async def update_login_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = params["UserName"]
        self.store.login_profile(user)  # NoSuchEntity first, before the password is looked at
        hashed = await self._hashed(params.get("Password"))
        reset = params.get("PasswordResetRequired")
        self.store.put_login_profile(user, hashed, None if reset is None else bool(reset), create=False)
        return {}

    @operation("GetLoginProfile")
    def get_login_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._login_out(self.store.login_profile(self._target_user(ctx, params)))

    @operation("DeleteLoginProfile")
    def delete_login_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_login_profile(self._target_user(ctx, params))
        return {}
