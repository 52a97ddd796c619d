"""S3 PutBucketRequestPayment and GetBucketRequestPayment (installed from fallback_patches._s3).

moto routes neither: a PUT ``?requestPayment`` was taken for CreateBucket (a bucket that did not
exist was created; the configuration was dropped) and a GET for ListObjects, so
GetBucketRequestPayment never told who pays. Here the bucket's ``Payer`` (``BucketOwner`` or
``Requester``) is kept in moto's own ``FakeBucket.payer`` (so it is saved with moto's state, and
moto's AWS Config view of the bucket, IsRequesterPaysEnabled, follows it); a bucket that was
never configured answers ``BucketOwner``, as S3 does. The Payer's value is checked before moto
is called (fallback_checks_s3._s3_request_payment).
"""

from __future__ import annotations

import functools
from typing import Any

from emulator.errors import AwsError

_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_PAYERS = ("BucketOwner", "Requester")
_MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"


def install() -> None:
    from moto.s3.responses import S3Response

    get = S3Response._bucket_response_get

    @functools.wraps(get)
    def bucket_get(self: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        if "requestPayment" not in querystring:
            return get(self, bucket_name, querystring)
        payer = getattr(self.backend.get_bucket(bucket_name), "payer", None) or "BucketOwner"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<RequestPaymentConfiguration xmlns="{_NAMESPACE}">'
                f"<Payer>{payer}</Payer></RequestPaymentConfiguration>")
        return 200, {"Content-Type": "application/xml"}, body

    S3Response._bucket_response_get = bucket_get  # type: ignore[method-assign]

    put = S3Response._bucket_response_put

    @functools.wraps(put)
    def bucket_put(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        if "requestPayment" not in querystring:
            return put(self, request, bucket_name, querystring)
        bucket = self.backend.get_bucket(bucket_name)  # NoSuchBucket
        bucket.payer = _payer(self.body)
        return 200, {}, ""

    S3Response._bucket_response_put = bucket_put  # type: ignore[method-assign]


def _payer(body: Any) -> str:
    """The Payer of a RequestPaymentConfiguration document; S3's MalformedXML without one."""
    import xmltodict

    try:
        document = xmltodict.parse(body or b"")
    except Exception:  # noqa: BLE001 - any parse failure is S3's MalformedXML
        document = None
    config = document.get("RequestPaymentConfiguration") if isinstance(document, dict) else None
    payer = config.get("Payer") if isinstance(config, dict) else None
    if not isinstance(payer, str) or payer.strip() not in _PAYERS:
        raise AwsError("MalformedXML", _MALFORMED_XML, 400)
    return payer.strip()
