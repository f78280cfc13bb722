"""The local Hub server serves downloads to the real client (what `space.flags pull` and others rely on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import RepositoryNotFoundError

from tests.hub_server import TEST_TOKEN

FLAGS = {"data/flags-a.jsonl": b'{"id": "1"}\n', "data/flags-b.jsonl": b'{"id": "2"}\n', "README.md": b"# flags\n"}


def test_snapshot_and_file_download_of_a_dataset(hub_server, tmp_path):
    hub_server.create_repo("tester/emotion-flags", "dataset", files=FLAGS)
    folder = snapshot_download(
        "tester/emotion-flags", repo_type="dataset", allow_patterns="data/*.jsonl", local_dir=tmp_path / "flags"
    )
    got = {p.relative_to(folder).as_posix(): p.read_bytes() for p in (tmp_path / "flags" / "data").iterdir()}
    assert got == {name: content for name, content in FLAGS.items() if name.startswith("data/")}
    path = hf_hub_download("tester/emotion-flags", "README.md", repo_type="dataset", cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == b"# flags\n"
    files = HfApi().list_repo_files("tester/emotion-flags", repo_type="dataset")
    assert sorted(files) == sorted(FLAGS)


def test_private_repo_needs_the_token(hub_server, tmp_path):
    hub_server.create_repo("tester/private-flags", "dataset", private=True, files=FLAGS)
    with pytest.raises(RepositoryNotFoundError):
        HfApi().list_repo_files("tester/private-flags", repo_type="dataset")
    assert len(HfApi(token=TEST_TOKEN).list_repo_files("tester/private-flags", repo_type="dataset")) == 3
    assert f"Bearer {TEST_TOKEN}" in hub_server.tokens_seen()
