"""Every way a client may sign an RPC call, through real clients over HTTP: the older signature
(HMAC-SHA1 `Signature` as a parameter) with `aliyun-python-sdk-core`, its parameters in the query
(GET) or a form-encoded body (POST); and the current SDK's other V3 algorithms, ACS3-HMAC-SM3 and
ACS3-RSA-SHA256. Each keeps the checks of ACS3-HMAC-SHA256: signature, date, nonce, STS token.
Also the fields every error answer carries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from aliyunsdkcore.acs_exception.exceptions import ServerException as OldServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from darabonba.runtime import RuntimeOptions
from emulator_support import (
    DELETE,
    GET_JOB,
    JOB_A,
    JOB_B,
    NOW_MS,
    Rig,
    contents,
    refused,
    send_raw,
)

from emulator.seed import seed
from emulator.server import Emulator
from emulator.signing import AccessKey
from emulator.store import Store

VERSION = "2020-11-09"
SM3, RSA = "ACS3-HMAC-SM3", "ACS3-RSA-SHA256"


def seeded_store() -> Store:
    store = Store()
    seed(store, jobs=[JOB_A, JOB_B], interval_s=1800, days=1, end_ms=NOW_MS)
    return store


def stamps(store: Store, job_id: str, count: int = 2) -> list[int]:
    return [r.create_timestamp for r in store.records(job_id) if not r.is_overlay][:count]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seeded_store()) as started:
        yield started


# --- The older RPC signature, with aliyun-python-sdk-core ---------------------------------------


def old_client(emulator: Emulator, key: AccessKey | None = None) -> AcsClient:
    key = key or emulator.credentials
    if key.security_token:
        credential = StsTokenCredential(key.access_key_id, key.access_key_secret,
                                        key.security_token)
        return AcsClient(region_id="cn-shanghai", credential=credential, auto_retry=False,
                         timeout=5, connect_timeout=2)
    return AcsClient(key.access_key_id, key.access_key_secret, "cn-shanghai", auto_retry=False,
                     timeout=5, connect_timeout=2)


def old_request(emulator: Emulator, action: str, params: dict[str, str], *, post: bool
                ) -> CommonRequest:
    """A CommonRequest: GET with the parameters in the query, or POST with them in the body."""
    request = CommonRequest(domain=emulator.endpoint, version=VERSION, action_name=action)
    request.set_protocol_type("http")
    request.set_method("POST" if post else "GET")
    for name, value in params.items():
        if post:
            request.add_body_params(name, value)
        else:
            request.add_query_param(name, value)
    return request


def old_call(emulator: Emulator, action: str, params: dict[str, str], *, post: bool,
             key: AccessKey | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(old_client(emulator, key).do_action_with_exception(
        old_request(emulator, action, params, post=post)))
    return answer


def old_refusal(emulator: Emulator, action: str, params: dict[str, str], *, post: bool,
                key: AccessKey | None = None) -> tuple[str, int]:
    with pytest.raises(OldServerException) as caught:
        old_call(emulator, action, params, post=post, key=key)
    return caught.value.get_error_code(), caught.value.get_http_status()


@pytest.mark.parametrize("post", [False, True], ids=["GET-query", "POST-form-body"])
def test_old_client_gets_a_job_with_its_parameters_in_the_query_or_the_body(
    emulator: Emulator, post: bool
) -> None:
    answer = old_call(emulator, GET_JOB, {"JobId": JOB_A}, post=post)

    assert (answer["JobId"], answer["Status"]) == (JOB_A, "started")
    assert answer["RequestId"]
    sent = emulator.recent[-1]
    assert ("JobId" in sent.target) is not post
    assert (b"JobId=" in sent.body) is post


@pytest.mark.parametrize("post", [False, True], ids=["GET-query", "POST-form-body"])
def test_old_client_deletes_files_and_their_objects(emulator: Emulator, post: bool) -> None:
    store = emulator.store
    targets = stamps(store, JOB_B, 3)
    keys = {r.oss_object for r in store.records(JOB_B) if r.create_timestamp in targets}

    answer = old_call(emulator, DELETE, {"JobId": JOB_B, "CreateTimestampList": json.dumps(targets),
                                         "DeleteOriginalFile": "true"}, post=post)

    assert answer["DeleteFileResultList"] == [
        {"CreateTimestamp": stamp, "Result": "OK"} for stamp in targets]
    assert not {r.create_timestamp for r in store.records(JOB_B)} & set(targets)
    assert not keys & set(store.object_keys())


@pytest.mark.parametrize("post", [False, True], ids=["GET-query", "POST-form-body"])
def test_old_client_with_a_wrong_secret_is_refused_and_told_the_string_to_sign(
    emulator: Emulator, post: bool
) -> None:
    wrong = replace(emulator.credentials, access_key_secret="not-the-secret")
    before = contents(emulator.store)
    params = {"JobId": JOB_A, "CreateTimestampList": json.dumps(stamps(emulator.store, JOB_A))}

    with pytest.raises(OldServerException) as caught:
        old_call(emulator, DELETE, params, post=post, key=wrong)

    assert (caught.value.get_error_code(), caught.value.get_http_status()) == (
        "SignatureDoesNotMatch", 400)
    server_text = caught.value.get_error_msg().split("server string to sign is:")[1]
    assert server_text.startswith(("GET&%2F&AccessKeyId%3D", "POST&%2F&AccessKeyId%3D"))
    assert "CreateTimestampList%3D" in server_text
    assert contents(emulator.store) == before


def test_old_client_with_an_unknown_key_id_is_not_found(emulator: Emulator) -> None:
    unknown = replace(emulator.credentials, access_key_id=AccessKey.generate().access_key_id)

    assert old_refusal(emulator, GET_JOB, {"JobId": JOB_A}, post=False, key=unknown) == (
        "InvalidAccessKeyId.NotFound", 404)


def test_old_client_with_sts_credentials_needs_the_current_token() -> None:
    with Emulator(seeded_store(), sts=True) as emulator:
        key = emulator.credentials
        assert old_call(emulator, GET_JOB, {"JobId": JOB_A}, post=True)["JobId"] == JOB_A

        assert old_refusal(emulator, GET_JOB, {"JobId": JOB_A}, post=True,
                           key=replace(key, security_token=None)) == ("MissingSecurityToken", 400)
        emulator.rotate_security_token()
        assert old_refusal(emulator, GET_JOB, {"JobId": JOB_A}, post=True, key=key) == (
            "InvalidSecurityToken.Expired", 400)


def test_old_request_replayed_is_signature_nonce_used_and_deletes_nothing_more(
    emulator: Emulator,
) -> None:
    targets = stamps(emulator.store, JOB_A)
    old_call(emulator, DELETE, {"JobId": JOB_A, "CreateTimestampList": json.dumps(targets)},
             post=True)
    captured = emulator.recent[-1]
    before = contents(emulator.store)

    status, answer = send_raw(emulator, captured)

    assert (status, answer["Code"]) == (400, "SignatureNonceUsed")
    assert contents(emulator.store) == before


def test_old_request_with_a_changed_body_value_is_refused(emulator: Emulator) -> None:
    old_refusal(emulator, GET_JOB, {"JobId": "no-such-job"}, post=True)  # signed, answered 404
    captured = emulator.recent[-1]
    body = dict(parse_qsl(captured.body.decode()))
    before = contents(emulator.store)

    status, answer = send_raw(emulator, captured,
                              body=urlencode({**body, "JobId": JOB_A}).encode())

    assert (status, answer["Code"]) == (400, "SignatureDoesNotMatch")
    assert contents(emulator.store) == before


def test_old_requests_dated_too_far_from_the_emulator_clock_are_expired() -> None:
    with Emulator(seeded_store(), auth_clock=lambda: time.time() + 20 * 60) as emulator:
        assert old_refusal(emulator, GET_JOB, {"JobId": JOB_A}, post=False) == (
            "InvalidTimeStamp.Expired", 400)


# --- The V3 algorithms --------------------------------------------------------------------------


def v3_client(emulator: Emulator, algorithm: str, secret: str | None = None) -> Rig:
    key = emulator.credentials
    return Rig(emulator, Client(Config(
        endpoint=emulator.endpoint, protocol="http", region_id="cn-shanghai",
        access_key_id=key.access_key_id, access_key_secret=secret or key.access_key_secret,
        security_token=key.security_token, signature_algorithm=algorithm, read_timeout=5000,
    )))


def rsa_pair() -> tuple[str, str]:
    """(private key PEM, public key PEM), fresh for the test."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode(),
        private.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo
                                          ).decode(),
    )


def test_sm3_signed_calls_are_served_and_a_wrong_secret_refused(emulator: Emulator) -> None:
    rig = v3_client(emulator, SM3)
    targets = stamps(emulator.store, JOB_A)

    answer = rig.delete(JOB_A, targets, True)

    assert [r["Result"] for r in answer["DeleteFileResultList"]] == ["OK", "OK"]
    assert dict(emulator.recent[-1].headers)["Authorization"].startswith(SM3 + " ")
    before = contents(emulator.store)
    wrong = v3_client(emulator, SM3, secret="not-the-secret")
    assert refused(lambda: wrong.delete(JOB_A, stamps(emulator.store, JOB_A), True)) == (
        "SignatureDoesNotMatch", 400)
    assert contents(emulator.store) == before


def test_sm3_request_replayed_is_signature_nonce_used(emulator: Emulator) -> None:
    v3_client(emulator, SM3).get_job(JOB_A)

    status, answer = send_raw(emulator, emulator.recent[-1])

    assert (status, answer["Code"]) == (400, "SignatureNonceUsed")


def test_rsa_signed_calls_are_checked_with_the_configured_public_key() -> None:
    private_pem, public_pem = rsa_pair()
    other_private, _ = rsa_pair()
    with Emulator(seeded_store(), rsa_public_key=public_pem) as emulator:
        rig = v3_client(emulator, RSA, secret=private_pem)
        targets = stamps(emulator.store, JOB_B)

        answer = rig.delete(JOB_B, targets, True)

        assert [r["Result"] for r in answer["DeleteFileResultList"]] == ["OK", "OK"]
        before = contents(emulator.store)
        forger = v3_client(emulator, RSA, secret=other_private)
        assert refused(lambda: forger.delete(JOB_B, stamps(emulator.store, JOB_B), True)) == (
            "SignatureDoesNotMatch", 400)
        assert contents(emulator.store) == before


def test_rsa_signed_calls_without_a_configured_public_key_are_incomplete(
    emulator: Emulator,
) -> None:
    private_pem, _ = rsa_pair()

    code, status = refused(lambda: v3_client(emulator, RSA, secret=private_pem).get_job(JOB_A))

    assert (code, status) == ("IncompleteSignature", 400)


@pytest.mark.parametrize("algorithm", ["ACS3-HMAC-SHA256", SM3])
def test_v3_requests_dated_too_far_from_the_emulator_clock_are_expired(algorithm: str) -> None:
    with Emulator(seeded_store(), auth_clock=lambda: time.time() - 20 * 60) as emulator:
        assert refused(lambda: v3_client(emulator, algorithm).get_job(JOB_A)) == (
            "InvalidTimeStamp.Expired", 400)


def test_v3_parameters_in_a_form_body_are_read(emulator: Emulator) -> None:
    targets = stamps(emulator.store, JOB_A)
    rig = v3_client(emulator, "ACS3-HMAC-SHA256")
    params = utils_models.Params(
        action=DELETE, version=VERSION, protocol="HTTPS", pathname="/", method="POST",
        auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )
    request = utils_models.OpenApiRequest(body={
        "JobId": JOB_A, "CreateTimestampList": json.dumps(targets), "DeleteOriginalFile": "true"})

    answer = rig.client.call_api(params, request, RuntimeOptions())["body"]

    assert [r["CreateTimestamp"] for r in answer["DeleteFileResultList"]] == targets
    sent = emulator.recent[-1]
    assert "JobId" not in sent.target and b"JobId=" in sent.body
    assert not {r.create_timestamp for r in emulator.store.records(JOB_A)} & set(targets)


# --- Error bodies -----------------------------------------------------------------------------


def test_error_answers_carry_request_id_host_id_code_message_and_recommend(
    emulator: Emulator,
) -> None:
    with pytest.raises(ClientException) as caught:
        v3_client(emulator, "ACS3-HMAC-SHA256").get_job("no-such-job")

    body = {name: value for name, value in caught.value.data.items() if name != "statusCode"}
    request_id = body["RequestId"]
    assert body == {
        "RequestId": request_id,
        "HostId": emulator.endpoint,
        "Code": "JobNotFound",
        "Message": "No such job.",
        "Recommend": f"https://api.aliyun.com/troubleshoot?q=JobNotFound&product=ICE"
                     f"&requestId={request_id}",
    }
    with pytest.raises(OldServerException) as old:
        old_call(emulator, GET_JOB, {"JobId": "no-such-job"}, post=False)
    assert old.value.get_error_code() == "JobNotFound" and old.value.get_request_id()
