"""`python -m space.flags pull` with the real huggingface_hub client against the local Hub server, and the
pulled folder read back by `python -m training --corrections` (the corrections loop across the Hub)."""

from __future__ import annotations

import os
import subprocess
import sys

import flags

from tests.conftest import REPO_ROOT
from tests.hub_server import TEST_TOKEN
from tests.space.flag_writer import make_flag
from training.corrections.records import load_flag_records


def pull_cli(repo: str, out, token: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "space.flags", "pull", "--repo", repo, "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def synced_flags(tmp_path, n: int) -> tuple[dict[str, bytes], list[dict]]:
    """Files of a dataset repo as the Space's CommitScheduler leaves them: data/flags-<uuid>.jsonl."""
    store = flags.FlagStore(tmp_path / "space-flags")
    records = [make_flag(f"synced tweet {i}") for i in range(n)]
    for record in records:
        store.append(record)
    files = {f"data/{p.name}": p.read_bytes() for p in (tmp_path / "space-flags").glob("*.jsonl")}
    return {**files, "README.md": b"---\nlicense: mit\n---\nflags\n"}, records


def test_pull_fetches_the_synced_flags_and_training_reads_them(hub_server, tmp_path):
    files, records = synced_flags(tmp_path, 5)
    hub_server.create_repo("tester/emotion-flags", "dataset", files=files)
    result = pull_cli("tester/emotion-flags", tmp_path / "pulled")
    assert result.returncode == 0, result.stderr
    pulled = sorted(p.name for p in (tmp_path / "pulled").iterdir())
    assert pulled == sorted(name.removeprefix("data/") for name in files if name.startswith("data/"))
    for name in pulled:  # byte for byte what the Space synced
        assert (tmp_path / "pulled" / name).read_bytes() == files[f"data/{name}"]
    assert load_flag_records(tmp_path / "pulled") == records


def test_pull_of_a_private_repo_needs_the_token_and_never_prints_it(hub_server, tmp_path):
    files, records = synced_flags(tmp_path, 2)
    hub_server.create_repo("tester/private-flags", "dataset", private=True, files=files)
    denied = pull_cli("tester/private-flags", tmp_path / "denied")
    assert denied.returncode == 2 and denied.stderr.startswith("flags error: pull tester/private-flags: ")
    assert "Traceback" not in denied.stderr
    allowed = pull_cli("tester/private-flags", tmp_path / "pulled", token=TEST_TOKEN)
    assert allowed.returncode == 0, allowed.stderr
    assert TEST_TOKEN not in allowed.stdout + allowed.stderr + denied.stdout + denied.stderr
    assert {r["id"] for r in load_flag_records(tmp_path / "pulled")} == {r["id"] for r in records}
