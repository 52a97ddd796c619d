"""KMS: requests that the key they name cannot serve, refused as KMS refuses them, before moto
sees them (emulator/gateway/fallback_checks_services.py has the checks of key policies and specs).
moto encrypted with disabled keys and signing keys, made data keys under asymmetric keys, and
cancelled the deletion of keys not pending deletion. The key is read from moto's state
(``moto_backend``); a key that cannot be found is left to moto (NotFoundException).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext


def _key(ctx: RequestContext, name: str = "KeyId") -> Any:
    """moto's key that ``name`` names (an id, an ARN, an alias or an alias's ARN), else None."""
    key_id = ctx.params.get(name)
    if not isinstance(key_id, str):
        return None
    parts = key_id.split(":")
    region = parts[3] if key_id.startswith("arn:") and len(parts) > 5 else None
    backend = moto_backend(ctx, "kms", region, parts[4] if region else None)
    if backend is None:
        return None
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    try:
        return backend.keys.get(backend.any_id_to_key_id(key_id))
    except (KeyError, AttributeError, ServiceException, HTTPException):  # AttributeError: an alias moto does not know  # an alias that does not exist (moto's NotFoundException): moto answers it
        return None


def _usable(ctx: RequestContext, key: Any) -> None:
    """A key that is disabled (``DisabledException``) or pending deletion or import
    (``KMSInvalidStateException``) is used for no cryptographic operation."""
    state = getattr(key, "key_state", "Enabled")
    if state == "Disabled":
        raise AwsError("DisabledException", f"{key.arn} is disabled.", 400)
    if state in ("PendingDeletion", "PendingImport", "PendingReplicaDeletion", "Unavailable"):
        raise AwsError("KMSInvalidStateException", f"{key.arn} is {_STATES[state]}", 400)


_STATES = {"PendingDeletion": "pending deletion.", "PendingImport": "pending import.",
           "PendingReplicaDeletion": "pending replica deletion.", "Unavailable": "unavailable."}


def _usage(key: Any, operation: str, usage: str) -> None:
    """KMS: ``InvalidKeyUsageException`` for a key of another usage."""
    actual = key.key_usage or "ENCRYPT_DECRYPT"  # moto keeps None for CreateKey's default
    if actual != usage:
        raise AwsError("InvalidKeyUsageException", f"{key.arn} key usage is {actual} which is not valid for {operation}.", 400)


@_on("kms", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncrypt")
def _kms_encrypting_key(ctx: RequestContext) -> None:
    """Encrypt needs a key whose usage is ENCRYPT_DECRYPT; a data key is made under a symmetric
    one only (its plaintext copy is encrypted with it)."""
    operation = ctx.operation_name or ""
    key = _key(ctx, "DestinationKeyId" if operation == "ReEncrypt" else "KeyId")
    if key is None:
        return
    _usable(ctx, key)
    _usage(key, operation, "ENCRYPT_DECRYPT")
    if operation.startswith("GenerateDataKey") and key.key_spec != "SYMMETRIC_DEFAULT":
        raise AwsError("InvalidKeyUsageException", f"{key.arn} key spec is {key.key_spec} which is not valid for {operation}.", 400)


@_on("kms", "GetPublicKey")
def _kms_public_key(ctx: RequestContext) -> None:
    """A symmetric key (and an HMAC key) has no public key: ``UnsupportedOperationException``."""
    key = _key(ctx)
    if key is not None and (key.key_spec == "SYMMETRIC_DEFAULT" or key.key_spec.startswith("HMAC_")):
        raise AwsError("UnsupportedOperationException", f"{key.arn} key spec is {key.key_spec} which is not valid for GetPublicKey.", 400)


@_on("kms", "EnableKeyRotation")
def _kms_rotation(ctx: RequestContext) -> None:
    """Automatic rotation is for symmetric encryption keys (and not imported ones)."""
    key = _key(ctx)
    if key is not None and key.key_spec != "SYMMETRIC_DEFAULT":
        raise AwsError("UnsupportedOperationException", f"{key.arn} key spec is {key.key_spec} which is not valid for EnableKeyRotation.", 400)


@_on("kms", "CancelKeyDeletion")
def _kms_cancel_deletion(ctx: RequestContext) -> None:
    key = _key(ctx)
    if key is not None and key.key_state != "PendingDeletion":
        raise AwsError("KMSInvalidStateException", f"{key.arn} is not pending deletion.", 400)


def _tags(tags: Any) -> None:
    """Tag keys beginning with ``aws:`` are AWS's: KMS answers ``TagException``."""
    for tag in tags or []:
        key = tag.get("TagKey") if isinstance(tag, dict) else None
        if isinstance(key, str) and key.lower().startswith("aws:"):
            raise AwsError("TagException", "Tag keys beginning with 'aws:' are reserved for AWS use.", 400)


@_on("kms", "CreateKey", "TagResource", "ReplicateKey")
def _kms_tags(ctx: RequestContext) -> None:
    _tags(ctx.params.get("Tags"))
