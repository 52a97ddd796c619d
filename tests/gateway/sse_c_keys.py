"""What the S3 SSE-C tests share (tests/gateway/test_s3_sse_c*.py): customer keys in the forms
boto3 takes them, S3's error texts, and an error's (status, code, message)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SSE = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
OTHER = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": OTHER_KEY}
KEY_MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
OTHER_MD5 = base64.b64encode(hashlib.md5(OTHER_KEY).digest()).decode()
# GetObjectAttributes: botocore neither encodes the key nor adds its MD5 for it.
ENCODED = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(KEY).decode(), "SSECustomerKeyMD5": KEY_MD5}
OTHER_ENCODED = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(OTHER_KEY).decode(), "SSECustomerKeyMD5": OTHER_MD5}
COPY_SSE = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": KEY}
COPY_OTHER = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": OTHER_KEY}
STORED_ENCRYPTED = "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
MiB = 1 << 20


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"].get("Message", "")
