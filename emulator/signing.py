"""Alibaba Cloud signature V3 (`ACS3-HMAC-SHA256`), checked the way a real endpoint checks it.

The canonical request is: method, path, the query sorted by name with values percent-encoded
(RFC 3986, `~` kept), every signed header lowercased as `name:value`, the signed header names
joined by `;`, and the hex SHA-256 of the body. The string to sign is the algorithm and the hex
SHA-256 of that; the signature is its hex HMAC-SHA256 under the access key secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"
# Requests dated further than this from the server's clock are refused, and a nonce is
# remembered this long, so that a captured request cannot be replayed.
MAX_CLOCK_SKEW_S = 15 * 60
AUTHORIZATION = re.compile(
    rf"^{ALGORITHM} Credential=(?P<key>[^,]+),SignedHeaders=(?P<headers>[^,]+),"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
REQUIRED_SIGNED_HEADERS = frozenset(
    {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
     "x-acs-content-sha256"}
)


@dataclass(frozen=True)
class AccessKey:
    """The one identity the emulator accepts. With a security token it behaves as STS ones do."""

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None

    @classmethod
    def generate(cls, *, sts: bool = False) -> AccessKey:
        """Fresh random test credentials; STS-style ones carry a token."""
        prefix = "STS.emulator" if sts else "emulator"
        return cls(
            f"{prefix}{secrets.token_hex(8)}",
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48) if sts else None,
        )

    def __repr__(self) -> str:
        return f"AccessKey({self.access_key_id!r}, secret and token hidden)"


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]  # lowercased names
    body: bytes


def canonical_query(query: Sequence[tuple[str, str]]) -> str:
    return "&".join(
        f"{quote(name, safe='~')}={quote(value, safe='~')}" for name, value in sorted(query)
    )


def string_to_sign(request: SignedRequest, signed_headers: Sequence[str]) -> str:
    canonical_headers = "".join(
        f"{name}:{request.headers.get(name, '').strip()}\n" for name in signed_headers
    )
    canonical = "\n".join(
        [
            request.method,
            request.path or "/",
            canonical_query(request.query),
            canonical_headers,
            ";".join(signed_headers),
            request.headers.get("x-acs-content-sha256", ""),
        ]
    )
    return f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signature(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


@dataclass
class Verifier:
    """Checks each request's signature, date, nonce and token against the configured key.

    `rotate_token` issues a new STS token: the old one then answers as an expired token does.
    """

    key: AccessKey
    clock: Callable[[], float] = time.time
    retired_tokens: set[str] = field(default_factory=set)
    _nonces: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rotate_token(self) -> AccessKey:
        if self.key.security_token is None:
            raise ValueError("the emulator was started without an STS token to rotate")
        self.retired_tokens.add(self.key.security_token)
        self.key = AccessKey(self.key.access_key_id, self.key.access_key_secret,
                             secrets.token_urlsafe(48))
        return self.key

    def verify(self, request: SignedRequest) -> None:
        found = AUTHORIZATION.match(request.headers.get("authorization", ""))
        if found is None:
            raise AuthError(400, "IncompleteSignature",
                            f"The request signature does not conform to {ALGORITHM} standards.")
        if found["key"] != self.key.access_key_id:
            raise AuthError(404, "InvalidAccessKeyId.NotFound",
                            "Specified access key is not found.")
        self._check_token(request.headers.get("x-acs-security-token"))
        signed = found["headers"].split(";")
        if signed != sorted(signed) or not set(signed) >= REQUIRED_SIGNED_HEADERS:
            raise AuthError(400, "IncompleteSignature",
                            "SignedHeaders must list, sorted, at least: "
                            + ";".join(sorted(REQUIRED_SIGNED_HEADERS)))
        if hashlib.sha256(request.body).hexdigest() != request.headers.get("x-acs-content-sha256"):
            raise AuthError(400, "SignatureDoesNotMatch",
                            "x-acs-content-sha256 is not the SHA-256 of the request body.")
        expected = signature(self.key.access_key_secret, string_to_sign(request, signed))
        if not hmac.compare_digest(expected, found["signature"]):
            raise AuthError(400, "SignatureDoesNotMatch",
                            "Specified signature is not matched with our calculation.")
        self._check_date_and_nonce(request.headers.get("x-acs-date", ""),
                                   request.headers.get("x-acs-signature-nonce", ""))

    def _check_token(self, token: str | None) -> None:
        expected = self.key.security_token
        if expected is None:
            if token:
                raise AuthError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                                "Specified SecurityToken mismatch with the AccessKey.")
            return
        if not token:
            raise AuthError(400, "MissingSecurityToken",
                            "SecurityToken is mandatory for this access key.")
        if token in self.retired_tokens:
            raise AuthError(400, "InvalidSecurityToken.Expired",
                            "Specified SecurityToken is expired.")
        if not hmac.compare_digest(token, expected):
            raise AuthError(400, "InvalidSecurityToken.Malformed",
                            "Specified SecurityToken is malformed.")

    def _check_date_and_nonce(self, date: str, nonce: str) -> None:
        now = self.clock()
        try:
            sent = datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise AuthError(
                400, "InvalidTimeStamp.Format",
                "Specified x-acs-date is not valid: use yyyy-MM-ddTHH:mm:ssZ.",
            ) from None
        if abs(sent.timestamp() - now) > MAX_CLOCK_SKEW_S:
            raise AuthError(400, "InvalidTimeStamp.Expired",
                            "Specified time stamp or date value is expired.")
        with self._lock:
            if nonce in self._nonces:
                raise AuthError(400, "SignatureNonceUsed",
                                "Specified signature nonce was used already.")
            self._nonces[nonce] = now
            if len(self._nonces) > 100_000:
                horizon = now - 2 * MAX_CLOCK_SKEW_S
                self._nonces = {n: at for n, at in self._nonces.items() if at > horizon}
