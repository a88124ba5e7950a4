"""Alibaba Cloud signature V3 (`ACS3-*`), in the three algorithms the official SDK offers.

The canonical request is: method, path, the query sorted by name with values percent-encoded
(RFC 3986, `~` kept), every signed header lowercased as `name:value`, the signed header names
joined by `;`, and the hex hash of the body. The string to sign is the algorithm and the hex hash
of that. The signature is its hex HMAC under the access key secret, or for `ACS3-RSA-SHA256` an
RSA PKCS#1 v1.5 signature by the private key, checked with the configured public key.
(`alibabacloud_tea_openapi.utils.Utils.get_authorization` is what the SDK computes.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

HMAC_SHA256 = "ACS3-HMAC-SHA256"
HMAC_SM3 = "ACS3-HMAC-SM3"
RSA_SHA256 = "ACS3-RSA-SHA256"
ALGORITHMS = (HMAC_SHA256, HMAC_SM3, RSA_SHA256)
AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+) Credential=(?P<key>[^,]+),SignedHeaders=(?P<headers>[^,]+),"
    r"Signature=(?P<signature>[0-9a-f]+)$"
)
REQUIRED_SIGNED_HEADERS = frozenset(
    {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
     "x-acs-content-sha256"}
)


def content_hash(algorithm: str, data: bytes) -> str:
    """The hex hash the algorithm uses for the body and the canonical request."""
    if algorithm == HMAC_SM3:
        digest = hashes.Hash(hashes.SM3())
        digest.update(data)
        return digest.finalize().hex()
    return hashlib.sha256(data).hexdigest()


def canonical_query(query: Sequence[tuple[str, str]]) -> str:
    return "&".join(
        f"{quote(name, safe='~')}={quote(value, safe='~')}" for name, value in sorted(query)
    )


def string_to_sign(algorithm: str, method: str, path: str, query: Sequence[tuple[str, str]],
                   headers: Mapping[str, str], signed_headers: Sequence[str]) -> str:
    """`headers` with lowercased names."""
    canonical_headers = "".join(
        f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers
    )
    canonical = "\n".join([
        method, path or "/", canonical_query(query), canonical_headers,
        ";".join(signed_headers), headers.get("x-acs-content-sha256", ""),
    ])
    return f"{algorithm}\n{content_hash(algorithm, canonical.encode())}"


def hmac_signature(algorithm: str, secret: str, text: str) -> str:
    if algorithm == HMAC_SM3:
        mac = crypto_hmac.HMAC(secret.encode(), hashes.SM3())
        mac.update(text.encode())
        return mac.finalize().hex()
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def load_public_key(pem: str) -> RSAPublicKey:
    """An RSA public key in PEM; ValueError if it is not one."""
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the public key for ACS3-RSA-SHA256 must be an RSA key")
    return key


def rsa_signature_matches(public_key: RSAPublicKey, text: str, signature_hex: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature_hex), text.encode(), padding.PKCS1v15(),
                          hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True
