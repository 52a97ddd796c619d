"""KMS: requests that the key they name cannot serve, refused as KMS refuses them, before moto
sees them (emulator/gateway/fallback_checks_services.py has the checks of key policies and specs).
moto encrypted with disabled keys and signing keys, made data keys under asymmetric keys, and
cancelled the deletion of keys not pending deletion; it also encrypted with algorithms the key's
spec does not have, signed digests of the wrong length, answered a signature that does not
verify with SignatureValid false, and took custom key stores, ``alias/aws/`` names, markers and
grant tokens that do not exist. The key is read from moto's state
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


def _encryption_algorithm(key: Any, algorithm: Any) -> None:
    """An encryption algorithm that the key's spec supports: SYMMETRIC_DEFAULT for a symmetric
    key, RSAES_OAEP_SHA_1/256 for an RSA one (SM2PKE for SM2). KMS answers another with
    ``InvalidKeyUsageException`` (moto encrypted with whatever was named)."""
    if not isinstance(algorithm, str) or key.key_spec.startswith(("HMAC_", "ECC_")) or key.key_spec == "SM2":
        return  # HMAC and ECC keys do not encrypt (the usage check answers); SM2: left to moto
    if key.key_spec == "SYMMETRIC_DEFAULT":
        supported: tuple[str, ...] = ("SYMMETRIC_DEFAULT",)
    elif key.key_spec.startswith("RSA_"):
        supported = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
    else:
        return
    if algorithm not in supported:
        raise AwsError("InvalidKeyUsageException", f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.", 400)


@_on("kms", "Encrypt", "Decrypt")
def _kms_encryption_algorithm(ctx: RequestContext) -> None:
    key = _key(ctx)
    if key is not None and (key.key_usage or "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT":
        _encryption_algorithm(key, ctx.params.get("EncryptionAlgorithm"))


# The length of a digest each signing algorithm signs (MessageType DIGEST): its hash's.
_DIGEST_BYTES = {"SHA_256": 32, "SHA_384": 48, "SHA_512": 64, "SM2DSA": 32}


@_on("kms", "Sign", "Verify")
def _kms_digest_length(ctx: RequestContext) -> None:
    """A DIGEST message is the hash the algorithm names, of its length exactly: KMS answers
    ``ValidationException: Digest is invalid length for algorithm <algorithm>.``"""
    algorithm, message = ctx.params.get("SigningAlgorithm"), ctx.params.get("Message")
    if ctx.params.get("MessageType") != "DIGEST" or not isinstance(algorithm, str) or not isinstance(message, bytes | str):
        return
    length = next((n for suffix, n in _DIGEST_BYTES.items() if algorithm.endswith(suffix)), None)
    size = len(message) if isinstance(message, bytes) else len(_b64(message))
    if length is not None and size != length:
        raise AwsError("ValidationException", f"Digest is invalid length for algorithm {algorithm}.", 400)


def _b64(text: str) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


@_on("kms", "Verify")
def _kms_verify(ctx: RequestContext) -> None:
    """A signature that does not verify fails the call (``KMSInvalidSignatureException``):
    KMS never answers SignatureValid false; moto did. The check is moto's own verification,
    which reads nothing it changes. (moto hashes a DIGEST message again, so it cannot verify one: those are left
    to it.)"""
    key = _key(ctx)
    p = ctx.params
    if key is None or p.get("MessageType") == "DIGEST" or not all(isinstance(p.get(n), bytes | str) for n in ("Message", "Signature", "SigningAlgorithm")):
        return
    if p["SigningAlgorithm"] not in (key.signing_algorithms or []):
        return  # moto answers an algorithm the key does not have
    message, signature = (p[n] if isinstance(p[n], bytes) else _b64(p[n]) for n in ("Message", "Signature"))
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    try:
        valid = key.private_key.verify(message, signature, p["SigningAlgorithm"])
    except (ServiceException, HTTPException, NotImplementedError, AttributeError, ValueError, TypeError):  # a key moto cannot verify with: moto answers
        return
    if valid is False:
        raise AwsError("KMSInvalidSignatureException", "", 400)


@_on("kms", "CreateKey")
def _kms_custom_key_store(ctx: RequestContext) -> None:
    """moto has no custom key stores (it implements none of their operations), so a key in one
    names a store that does not exist: ``CustomKeyStoreNotFoundException``."""
    store = ctx.params.get("CustomKeyStoreId")
    if isinstance(store, str) and store:
        raise AwsError("CustomKeyStoreNotFoundException", f"Custom key store {store} does not exist.", 400)


@_on("kms", "CreateAlias")
def _kms_reserved_alias(ctx: RequestContext) -> None:
    """The ``alias/aws/`` prefix is reserved for AWS managed keys (CreateAlias's AliasName):
    KMS answers ``NotAuthorizedException`` (moto refused only the names it knows)."""
    name = ctx.params.get("AliasName")
    if isinstance(name, str) and name.startswith("alias/aws/"):
        raise AwsError("NotAuthorizedException", "", 400)


@_on("kms", "ListKeys")
def _kms_marker(ctx: RequestContext) -> None:
    """moto lists every key at once and hands out no marker: any marker is one KMS did not
    issue (``InvalidMarkerException``)."""
    if ctx.params.get("Marker"):
        raise AwsError("InvalidMarkerException", "The marker that specifies where pagination should next begin is not valid.", 400)


@_on("kms", "RetireGrant")
def _kms_grant_token(ctx: RequestContext) -> None:
    """A grant token (without KeyId and GrantId) names a grant that exists: KMS answers another
    with ``InvalidGrantTokenException`` (moto retired nothing and answered 200)."""
    token = ctx.params.get("GrantToken")
    if not isinstance(token, str) or not token or ctx.params.get("GrantId"):
        return
    backend = moto_backend(ctx, "kms")
    keys = getattr(backend, "keys", None)
    if not isinstance(keys, dict):
        return
    if not any(getattr(grant, "token", None) == token for key in keys.values() for grant in getattr(key, "grants", {}).values()):
        raise AwsError("InvalidGrantTokenException", "The grant token is not valid.", 400)
