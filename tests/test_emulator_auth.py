"""Signature V3 and credentials: each bad request is refused with the code a real endpoint gives,
and a refused request changes nothing. Tampered and replayed requests are real SDK requests, taken
from `Emulator.recent` and sent again over raw HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from emulator_support import (
    BUCKET,
    JOB_A,
    JOB_B,
    NOW_MS,
    Rig,
    contents,
    refused,
    running,
    sdk_client,
    send_raw,
)

from emulator.seed import seed
from emulator.server import Emulator, RawRequest
from emulator.signing import AccessKey
from emulator.store import Record, Store


def seeded_store() -> Store:
    store = Store()
    seed(store, jobs=[JOB_A, JOB_B], interval_s=1800, days=1, end_ms=NOW_MS)
    return store


@pytest.fixture
def rig() -> Iterator[Rig]:
    with running(seeded_store()) as started:
        yield started


@pytest.fixture
def sts_rig() -> Iterator[Rig]:
    with running(seeded_store(), sts=True) as started:
        yield started


def first_stamps(store: Store, job_id: str, count: int = 2) -> list[int]:
    return [r.create_timestamp for r in store.records(job_id) if not r.is_overlay][:count]


def delete_as(rig: Rig, key: AccessKey) -> tuple[str, int]:
    """A delete of real files with these credentials, which must be refused and change nothing."""
    before = contents(rig.store)
    other = Rig(rig.emulator, sdk_client(rig.emulator, key))

    refusal = refused(lambda: other.delete(JOB_A, first_stamps(rig.store, JOB_A), True))

    assert contents(rig.store) == before
    return refusal


def test_the_right_credentials_are_accepted(rig: Rig) -> None:
    stamps = first_stamps(rig.store, JOB_A)

    rig.delete(JOB_A, stamps, True)

    assert not {r.create_timestamp for r in rig.store.records(JOB_A)} & set(stamps)


def test_wrong_secret_is_signature_does_not_match(rig: Rig) -> None:
    key = rig.emulator.credentials
    wrong = replace(key, access_key_secret=key.access_key_secret[::-1])
    assert delete_as(rig, wrong) == ("SignatureDoesNotMatch", 400)


def test_unknown_access_key_id_is_not_found(rig: Rig) -> None:
    unknown = replace(rig.emulator.credentials,
                      access_key_id=AccessKey.generate().access_key_id)
    assert delete_as(rig, unknown) == ("InvalidAccessKeyId.NotFound", 404)


def test_token_with_a_long_term_key_is_a_mismatch(rig: Rig) -> None:
    with_token = replace(rig.emulator.credentials, security_token="a-token-from-elsewhere")
    assert delete_as(rig, with_token) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)


def test_sts_key_without_its_token_is_missing_security_token(sts_rig: Rig) -> None:
    assert sts_rig.emulator.credentials.security_token
    no_token = replace(sts_rig.emulator.credentials, security_token=None)
    assert delete_as(sts_rig, no_token) == ("MissingSecurityToken", 400)


def test_sts_key_with_a_wrong_token_is_malformed(sts_rig: Rig) -> None:
    key = sts_rig.emulator.credentials
    wrong = replace(key, security_token=f"{key.security_token}x")
    assert delete_as(sts_rig, wrong) == ("InvalidSecurityToken.Malformed", 400)


def test_after_rotation_the_old_token_is_expired_and_the_new_one_works(sts_rig: Rig) -> None:
    old = sts_rig.emulator.credentials

    new = sts_rig.emulator.rotate_security_token()

    assert (new.access_key_id, new.access_key_secret) == (old.access_key_id, old.access_key_secret)
    assert new.security_token not in (None, old.security_token)
    assert sts_rig.emulator.credentials == new
    assert delete_as(sts_rig, old) == ("InvalidSecurityToken.Expired", 400)
    stamps = first_stamps(sts_rig.store, JOB_A)
    Rig(sts_rig.emulator, sdk_client(sts_rig.emulator, new)).delete(JOB_A, stamps, True)
    assert not {r.create_timestamp for r in sts_rig.store.records(JOB_A)} & set(stamps)


# --- Replayed and tampered requests ------------------------------------------------------------


def captured_delete(target: Emulator, job_id: str, stamps: list[int]) -> RawRequest:
    """A delete signed by the SDK with `target`'s credentials that `target` has never seen.

    A second emulator with the same key but an empty store receives it (and refuses it: no such
    job), so the nonce is fresh for `target`: a tampered copy that got past the signature check
    would run there.
    """
    with Emulator(Store(), credentials=target.credentials) as decoy:
        client = Rig(decoy, sdk_client(decoy))
        assert refused(lambda: client.delete(job_id, stamps, False)) == ("JobNotFound", 404)
        request = decoy.recent[-1]
    assert dict(request.headers)["x-acs-action"] == "DeleteLiveSnapshotFiles"
    return request


def with_query(request: RawRequest, **changes: str) -> str:
    """The request's target with some query values changed."""
    parts = urlsplit(request.target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    assert set(changes) <= set(query)
    return f"{parts.path}?{urlencode({**query, **changes}, quote_via=quote)}"


def gone(store: Store, job_id: str, stamps: list[int]) -> bool:
    return not {r.create_timestamp for r in store.records(job_id)} & set(stamps)


def test_captured_request_is_accepted_once_then_its_nonce_is_used(rig: Rig) -> None:
    stamps = first_stamps(rig.store, JOB_A, 3)
    request = captured_delete(rig.emulator, JOB_A, stamps)

    status, answer = send_raw(rig.emulator, request)

    assert status == 200, answer
    assert [r["Result"] for r in answer["DeleteFileResultList"]] == ["OK"] * 3
    assert gone(rig.store, JOB_A, stamps)
    # Put the files back: were the replay accepted, it would delete them again.
    rig.store.add_records([Record(JOB_A, s, False, BUCKET, f"back/{s}.jpg") for s in stamps])
    before = contents(rig.store)

    status, answer = send_raw(rig.emulator, request)

    assert (status, answer["Code"]) == (400, "SignatureNonceUsed")
    assert contents(rig.store) == before


def test_sdk_request_replayed_from_recent_is_signature_nonce_used(rig: Rig) -> None:
    stamps = first_stamps(rig.store, JOB_B)
    rig.delete(JOB_B, stamps, True)
    request = rig.emulator.recent[-1]
    rig.store.add_records([Record(JOB_B, s, False, BUCKET, f"back/{s}.jpg") for s in stamps])
    before = contents(rig.store)

    status, answer = send_raw(rig.emulator, request)

    assert (status, answer["Code"]) == (400, "SignatureNonceUsed")
    assert contents(rig.store) == before


@pytest.mark.parametrize("tamper", ["JobId", "CreateTimestampList", "DeleteOriginalFile"])
def test_request_with_a_changed_query_value_is_refused_and_deletes_nothing(
    rig: Rig, tamper: str
) -> None:
    stamps = first_stamps(rig.store, JOB_A)
    others = [r.create_timestamp for r in rig.store.records(JOB_A) if not r.is_overlay][5:8]
    # JOB_B gets files at the same timestamps, so that the request aimed at it would delete.
    rig.store.add_records([Record(JOB_B, s, False, BUCKET, f"twin/{s}.jpg") for s in stamps])
    request = captured_delete(rig.emulator, JOB_A, stamps)
    change = {
        "JobId": JOB_B,
        "CreateTimestampList": json.dumps(others, separators=(",", ":")),
        "DeleteOriginalFile": "True",
    }[tamper]
    before = contents(rig.store)

    status, answer = send_raw(rig.emulator, request, target=with_query(request, **{tamper: change}))

    assert (status, answer["Code"]) == (400, "SignatureDoesNotMatch")
    assert contents(rig.store) == before
    # The untouched request still goes through: the tamper alone was refused, and the refused
    # copy did not use up the nonce.
    status, _ = send_raw(rig.emulator, request)
    assert status == 200
    assert gone(rig.store, JOB_A, stamps)


def test_body_not_matching_its_content_hash_is_signature_does_not_match(rig: Rig) -> None:
    stamps = first_stamps(rig.store, JOB_A)
    request = captured_delete(rig.emulator, JOB_A, stamps)
    body = f"JobId={JOB_A}&CreateTimestampList=[{stamps[0]}]".encode()
    before = contents(rig.store)

    status, answer = send_raw(rig.emulator, request, body=body)

    assert (status, answer["Code"]) == (400, "SignatureDoesNotMatch")
    assert "x-acs-content-sha256" in answer["Message"]
    assert contents(rig.store) == before
