"""The older RPC signature (signature version 1.0, `HMAC-SHA1`), as the aliyun CLI,
`aliyun-python-sdk-core` and `@alicloud/pop-core` still sign.

Every parameter but `Signature` (the query's and a form-encoded body's together) is sorted by
name and percent-encoded (RFC 3986, `~` kept) into `name=value&...`; the string to sign is
`METHOD&%2F&` and that string percent-encoded once more. The signature is the base64 HMAC-SHA1 of
it under the secret followed by `&`. (`aliyunsdkcore/auth/composer/rpc_signature_composer.py`.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote

SIGNATURE = "Signature"
SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"
# What a signed RPC request must carry besides Action and Version.
SIGNATURE_PARAMETERS = ("AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce",
                        "Timestamp", SIGNATURE)


def _encode(text: str) -> str:
    return quote(text, safe="~")


def string_to_sign(method: str, params: Sequence[tuple[str, str]]) -> str:
    canonical = "&".join(
        f"{_encode(name)}={_encode(value)}"
        for name, value in sorted(params) if name != SIGNATURE
    )
    return f"{method}&{_encode('/')}&{_encode(canonical)}"


def signature(secret: str, text: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
