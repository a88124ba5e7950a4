"""Who may call: each request's signature, date, nonce and STS token, checked the way the
gateway checks them, for both ways of signing an RPC call:

- signature V3 (`Authorization: ACS3-HMAC-SHA256|ACS3-HMAC-SM3|ACS3-RSA-SHA256 ...` and the
  `x-acs-*` headers), what the current SDKs send: `signing_v3.py`;
- the older signature 1.0 (`Signature`, `SignatureNonce`, `Timestamp`, ... as parameters in the
  query or a form-encoded body), what the aliyun CLI and the older SDKs send: `signing_rpc.py`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from emulator import signing_rpc, signing_v3

# Requests dated further than this from the server's clock are refused, and a nonce is
# remembered this long, so that a captured request cannot be replayed.
MAX_CLOCK_SKEW_S = 15 * 60
NONCES_KEPT = 100_000


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
    """A request as the checks see it: `headers` with lowercased names, `form` the parameters of
    a form-encoded body (empty for any other body)."""

    method: str
    path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes
    form: Sequence[tuple[str, str]] = ()

    @property
    def is_rpc_signed(self) -> bool:
        """Signed the older way: no Authorization header, a Signature parameter."""
        return "authorization" not in self.headers and any(
            name == signing_rpc.SIGNATURE for name, _ in (*self.query, *self.form))


def _incomplete(why: str) -> AuthError:
    return AuthError(400, "IncompleteSignature",
                     f"The request signature does not conform to Aliyun standards: {why}")


MISMATCH = "Specified signature is not matched with our calculation."


def _rpc_mismatch(server_text: str) -> AuthError:
    # "server string to sign is:" is what the gateway adds for RPC signatures, and what
    # aliyun-python-sdk-core reads to tell a wrong secret (InvalidAccessKeySecret) from a wrongly
    # built request.
    return AuthError(400, "SignatureDoesNotMatch",
                     f"{MISMATCH} server string to sign is:{server_text}")


@dataclass
class Verifier:
    """Checks each request against the configured key (and, for `ACS3-RSA-SHA256`, the
    configured RSA public key). `rotate_token` issues a new STS token: the old one then answers
    as an expired token does."""

    key: AccessKey
    rsa_public_key: RSAPublicKey | None = None
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
        if request.is_rpc_signed:
            self._verify_rpc(request)
        else:
            self._verify_v3(request)

    def _verify_v3(self, request: SignedRequest) -> None:
        headers = request.headers
        found = signing_v3.AUTHORIZATION.match(headers.get("authorization", ""))
        if found is None:
            raise _incomplete("no Authorization header of the form `ACS3-HMAC-SHA256 Credential="
                              "...,SignedHeaders=...,Signature=...`, and no Signature parameter")
        algorithm = found["algorithm"]
        if algorithm not in signing_v3.ALGORITHMS:
            raise _incomplete(f"{algorithm} is not one of {', '.join(signing_v3.ALGORITHMS)}")
        self._check_key_id(found["key"])
        self._check_token(headers.get("x-acs-security-token"))
        signed = found["headers"].split(";")
        if signed != sorted(signed) or not set(signed) >= signing_v3.REQUIRED_SIGNED_HEADERS:
            raise _incomplete("SignedHeaders must list, sorted, at least: "
                              + ";".join(sorted(signing_v3.REQUIRED_SIGNED_HEADERS)))
        if signing_v3.content_hash(algorithm, request.body) != headers.get("x-acs-content-sha256"):
            raise AuthError(400, "SignatureDoesNotMatch",
                            f"x-acs-content-sha256 is not the {algorithm} hash of the request"
                            " body.")
        text = signing_v3.string_to_sign(algorithm, request.method, request.path, request.query,
                                         headers, signed)
        if algorithm == signing_v3.RSA_SHA256:
            if self.rsa_public_key is None:
                raise _incomplete("ACS3-RSA-SHA256 needs the caller's RSA public key; start the"
                                  " emulator with one (--rsa-public-key FILE)")
            matches = signing_v3.rsa_signature_matches(self.rsa_public_key, text,
                                                       found["signature"])
        else:
            expected = signing_v3.hmac_signature(algorithm, self.key.access_key_secret, text)
            matches = hmac.compare_digest(expected, found["signature"])
        if not matches:
            raise AuthError(400, "SignatureDoesNotMatch", MISMATCH)
        self._check_date_and_nonce(headers.get("x-acs-date", ""),
                                   headers.get("x-acs-signature-nonce", ""), "x-acs-date")

    def _verify_rpc(self, request: SignedRequest) -> None:
        params = [*request.query, *request.form]
        values = dict(params)
        for name in signing_rpc.SIGNATURE_PARAMETERS:
            if not values.get(name):
                raise _incomplete(f"the {name} parameter is missing")
        if (values["SignatureMethod"], values["SignatureVersion"]) != (
                signing_rpc.SIGNATURE_METHOD, signing_rpc.SIGNATURE_VERSION):
            raise _incomplete(f"SignatureMethod must be {signing_rpc.SIGNATURE_METHOD} and"
                              f" SignatureVersion {signing_rpc.SIGNATURE_VERSION}")
        self._check_key_id(values["AccessKeyId"])
        self._check_token(values.get("SecurityToken"))
        text = signing_rpc.string_to_sign(request.method, params)
        expected = signing_rpc.signature(self.key.access_key_secret, text)
        if not hmac.compare_digest(expected, values[signing_rpc.SIGNATURE]):
            raise _rpc_mismatch(text)
        self._check_date_and_nonce(values["Timestamp"], values["SignatureNonce"], "Timestamp")

    def _check_key_id(self, key_id: str) -> None:
        if key_id != self.key.access_key_id:
            raise AuthError(404, "InvalidAccessKeyId.NotFound",
                            "Specified access key is not found.")

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

    def _check_date_and_nonce(self, date: str, nonce: str, date_name: str) -> None:
        now = self.clock()
        try:
            sent = datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise AuthError(
                400, "InvalidTimeStamp.Format",
                f"Specified {date_name} is not valid: use yyyy-MM-ddTHH:mm:ssZ.",
            ) from None
        if abs(sent.timestamp() - now) > MAX_CLOCK_SKEW_S:
            raise AuthError(400, "InvalidTimeStamp.Expired",
                            "Specified time stamp or date value is expired.")
        with self._lock:
            if nonce in self._nonces:
                raise AuthError(400, "SignatureNonceUsed",
                                "Specified signature nonce was used already.")
            self._nonces[nonce] = now
            if len(self._nonces) > NONCES_KEPT:
                horizon = now - 2 * MAX_CLOCK_SKEW_S
                self._nonces = {n: at for n, at in self._nonces.items() if at > horizon}
