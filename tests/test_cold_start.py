"""A cold start pays only for what its way in needs: importing the handler and running a timer
event never builds the OSS or EventBridge event models (pydantic builds them on first use)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys
import index
from snapshot_purge import events
from snapshot_purge.events import parse_event

def built():
    return {name: getattr(events, name).__pydantic_complete__
            for name in ("OssRecord", "OssTriggerEvent", "EventBridgeOssEvent", "PurgeRequest")}

after_import = built()
parse_event(sys.argv[1])
after_timer = built()
parse_event(sys.argv[2])
print(json.dumps({"import": after_import, "timer": after_timer, "oss": built(),
                  "fc_sdk": "alibabacloud_fc20230330.client" in sys.modules}))
"""


def test_a_timer_run_builds_no_oss_model_and_loads_no_fc_sdk() -> None:
    timer = (ROOT / "events" / "timer.json").read_text()
    oss = (ROOT / "events" / "oss-removed.json").read_text()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    answer = subprocess.run([sys.executable, "-c", PROBE, timer, oss], env=env, check=True,
                            capture_output=True, text=True, cwd=ROOT)

    built = json.loads(answer.stdout)
    oss_models = ("OssRecord", "OssTriggerEvent", "EventBridgeOssEvent")
    assert built["import"]["PurgeRequest"] is True
    assert not any(built["import"][name] or built["timer"][name] for name in oss_models)
    assert built["oss"]["OssTriggerEvent"] is True, "an OSS event builds its model on first use"
    assert built["fc_sdk"] is False
