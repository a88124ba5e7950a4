"""pytest fixtures for projects that test against the emulator.

Installed (`pip install ./emulator`), the plugin registers itself; otherwise load it with
`pytest -p emulator.pytest_plugin` or `pytest_plugins = ["emulator.pytest_plugin"]` in a
top-level conftest.py.

    def test_lists_no_jobs(ice_emulator, ice_client):
        answer = ice_client.list_live_snapshot_jobs(ListLiveSnapshotJobsRequest())
        assert answer.body.total_count == 0

- `ice_emulator`: a started `Emulator` on 127.0.0.1 (a free port) over an empty in-memory store,
  with fresh random credentials; seed it with `emulator.seed.seed(ice_emulator.store, ...)`.
- `ice_client`: the official `alibabacloud_ice20201109` client aimed at it (skipped when that
  SDK is not installed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from emulator.server import Emulator


@pytest.fixture
def ice_emulator() -> Iterator[Emulator]:
    from emulator.server import Emulator

    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def ice_client(ice_emulator: Emulator) -> Any:
    client = pytest.importorskip("alibabacloud_ice20201109.client")
    config = pytest.importorskip("alibabacloud_tea_openapi.utils_models")
    key = ice_emulator.credentials
    return client.Client(config.Config(
        endpoint=ice_emulator.endpoint, protocol="http", region_id="cn-shanghai",
        access_key_id=key.access_key_id, access_key_secret=key.access_key_secret,
        security_token=key.security_token,
    ))
