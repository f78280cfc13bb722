"""`emotk publish`: the publish command under the toolkit's one command, spelled --repo-id as everywhere."""

from __future__ import annotations

from emotk.__main__ import main
from tests.publish.test_hub import REPO_ID, read_tree


def test_emotk_publish_dry_run_with_repo_id_writes_the_repo_and_no_request(hub_server, run_dir, tmp_path, capsys):
    out = tmp_path / "dry"
    assert main(["publish", str(run_dir), "--repo-id", REPO_ID, "--dry-run", str(out)]) == 0
    written = read_tree(out)
    assert {"README.md", "config.json", "model.safetensors", "metrics.json"} <= set(written)
    assert REPO_ID.encode() in written["README.md"]  # the card's usage snippet loads this repo
    assert hub_server.requests == []
    assert capsys.readouterr().out.startswith(f"Dry run: wrote the {len(written)} files of {REPO_ID} to {out}")
