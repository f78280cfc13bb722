"""No confirmed flag is lost when the Space stops: serve the app synced to a (local) Hub dataset, flag, send
SIGTERM (what a Space gets on restart, sleep or upgrade) or SIGINT, then read the dataset with the real client."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import flags
import pytest
from gradio_client import Client

from tests.hub_server import TEST_TOKEN
from tests.space.conftest import start_app

REPO = "tester/emotion-flags"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_flags_reach_the_hub_dataset_when_the_app_is_stopped(hub_server, trained_tiny_dir, tmp_path, signum):
    from huggingface_hub import snapshot_download

    proc, url, output = start_app(
        MODEL=str(trained_tiny_dir),  # exported: the start skips torch (conftest.start_app)
        FLAG_DIR=str(tmp_path / "flags"),
        FLAG_DATASET_REPO=REPO,
        HF_TOKEN=TEST_TOKEN,
        FLAG_PUSH_MINUTES="60",  # no scheduled push during the test: only the one on stopping
    )
    try:
        client = Client(url, verbose=False)
        ids = [client.predict(f"flag {i} before stopping", "fear", "", api_name="/flag") for i in range(3)]
        proc.send_signal(signum)
        rest, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == 0, "".join(output) + rest
    assert f"{signum.name}: final push to {REPO} done" in rest

    snapshot = Path(snapshot_download(REPO, repo_type="dataset", token=TEST_TOKEN, cache_dir=tmp_path / "cache"))
    files = sorted((snapshot / "data").glob("*.jsonl"))
    pushed = [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in pushed) == sorted(ids)
    assert {r["text"] for r in pushed} == {f"flag {i} before stopping" for i in range(3)}


def test_flag_dir_defaults_to_persistent_storage_when_the_space_has_it(tmp_path):
    assert flags.default_flag_dir(tmp_path / "no-data") == "flags"
    (tmp_path / "data").mkdir()
    assert flags.default_flag_dir(tmp_path / "data") == str(tmp_path / "data" / "flags")


def test_final_push_is_bounded_and_never_raises(tmp_path):
    from concurrent.futures import Future

    class HangingScheduler:
        repo_id, stopped = REPO, False

        def trigger(self) -> Future:
            return Future()  # a push that never finishes

        def stop(self) -> None:
            self.stopped = True

    store = flags.FlagStore(tmp_path)
    assert flags.final_push(store, timeout=0.1) == "flags are local only: nothing to push"
    store.scheduler = HangingScheduler()
    assert flags.final_push(store, timeout=0.1) == f"final push to {REPO} still running after 0.1 s: giving up"
    assert store.scheduler.stopped  # its own atexit push will not run
