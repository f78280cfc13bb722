"""Publishing against the local Hub server with the real huggingface_hub client (no network).

Asserts what the server received: exactly the allow-listed files with their bytes, in one commit, for
the model and for the Space; visibility; the token in the Authorization header and nowhere else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from publish import hub
from publish.card import build_facts, render_card
from publish.errors import PublishError
from tests.conftest import RUN_FIGURES
from tests.hub_server import TEST_TOKEN, HubServer

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_ID, SPACE_ID = "tester/distilbert-emotion", "tester/emotion-demo"
UPLOADED_REPORTS = [
    "metrics.json",
    "train_config.json",
    "errors.csv",
    *RUN_FIGURES,
    "corrections.json",
    "comparison.json",
    "comparison.md",
    "comparison.png",
]


def expected_model_files(run: Path) -> dict[str, bytes]:
    """What the model repo must hold: the model, tokenizer, reports, onnx/ and the card — nothing else."""
    names = ["config.json", "model.safetensors", *UPLOADED_REPORTS]
    names += [p.name for p in run.iterdir() if p.name.startswith(("tokenizer", "special_tokens", "vocab"))]
    files = {name: (run / name).read_bytes() for name in names}
    files.update({f"onnx/{p.name}": p.read_bytes() for p in (run / "onnx").iterdir()})
    return files


def cli(*args: str, token: str | None = TEST_TOKEN, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m publish`` in a subprocess with the fixture's environment (HF_ENDPOINT etc.)."""
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    if token is not None:
        env["HF_TOKEN"] = token
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "publish", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def read_tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_cli_pushes_exactly_the_allow_list_in_one_commit(hub_server, run_dir):
    result = cli(str(run_dir), "--repo-id", REPO_ID)
    assert result.returncode == 0, result.stderr
    repo = hub_server.repo(REPO_ID)
    assert len(repo.commits) == 1
    received = repo.commits[0].added
    card = str(render_card(build_facts(run_dir, REPO_ID))).encode()
    assert received == {**expected_model_files(run_dir), "README.md": card}
    assert received["README.md"] != (run_dir / "README.md").read_bytes()  # the folder's stale card is not used
    assert not repo.private
    assert f"Model: {hub_server.endpoint}/{REPO_ID}" in result.stdout
    assert f"Commit: {hub_server.endpoint}/{REPO_ID}/commit/{repo.commits[0].oid}" in result.stdout
    assert "test accuracy 91.85%" in repo.commits[0].message

    # The token reached the server, on every request but the pre-signed-style ones, and only there.
    assert hub_server.tokens_seen() == {f"Bearer {TEST_TOKEN}"}
    assert TEST_TOKEN not in result.stdout + result.stderr
    assert all(TEST_TOKEN.encode() not in content for content in received.values())


def test_private_is_honoured(hub_server, run_dir, space_dir, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    hub.publish_folder(run_dir, REPO_ID, private=True, space_id=SPACE_ID, space_dir=space_dir)
    assert hub_server.repo(REPO_ID).private and hub_server.repo(SPACE_ID, "space").private
    hub.publish_folder(run_dir, "tester/public-one")
    assert not hub_server.repo("tester/public-one").private
    # An existing public repo is never pushed to when --private was asked for.
    with pytest.raises(PublishError, match="already exists and is public"):
        hub.publish_folder(run_dir, "tester/public-one", private=True)
    assert len(hub_server.repo("tester/public-one").commits) == 1


def test_dry_run_writes_what_the_server_receives(hub_server, run_dir, tmp_path, monkeypatch):
    out = tmp_path / "dry"
    result = cli(str(run_dir), "--repo-id", REPO_ID, "--dry-run", str(out), token=None)
    assert result.returncode == 0, result.stderr
    assert hub_server.requests == []  # no network, no token needed
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    hub.publish_folder(run_dir, REPO_ID)
    assert read_tree(out) == hub_server.repo(REPO_ID).files


def test_dry_run_refuses_a_non_empty_folder(run_dir, tmp_path):
    (tmp_path / "dry").mkdir()
    (tmp_path / "dry" / "old.txt").write_text("stale")
    with pytest.raises(PublishError, match="not an empty folder"):
        hub.publish_folder(run_dir, REPO_ID, dry_run_dir=tmp_path / "dry")


def test_space_is_deployed_in_one_commit_pointing_at_the_model(hub_server, run_dir, space_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    result = hub.publish_folder(run_dir, REPO_ID, space_id=SPACE_ID, space_dir=space_dir)

    space = hub_server.repo(SPACE_ID, "space")
    assert space.sdk == "gradio" and len(space.commits) == 1
    received = space.commits[0].added
    shared = {f"formats/{p.name}" for p in hub.FORMATS_DIR.glob("*.py")}  # what the parts share, beside app.py
    assert set(received) == {"app.py", "backend.py", "flags.py", "requirements.txt", "README.md"} | shared
    for name in ("app.py", "backend.py", "flags.py", "requirements.txt"):
        assert received[name] == (space_dir / name).read_bytes()
    readme = received["README.md"].decode()
    meta = yaml.safe_load(readme.split("---")[1])
    assert meta["models"] == [REPO_ID]  # rewritten from me/distilbert-emotion
    assert meta["sdk"] == "gradio" and meta["title"] == "Tweet emotion" and meta["emoji"] == "😊"
    assert readme.endswith("# Tweet emotion demo\n")
    assert space.variables["MODEL"]["value"] == REPO_ID  # what space/app.py reads
    assert result["space_url"] == f"{hub_server.endpoint}/spaces/{SPACE_ID}"

    model = hub_server.repo(REPO_ID)
    assert len(model.commits) == 1
    assert f'Client("{SPACE_ID}")' in model.files["README.md"].decode()

    # --dry-run with --space writes both repos, identical to what was pushed.
    out = tmp_path / "dry"
    hub.publish_folder(run_dir, REPO_ID, space_id=SPACE_ID, space_dir=space_dir, dry_run_dir=out)
    assert read_tree(out / "model") == model.files
    assert read_tree(out / "space") == space.files


def test_cli_space_prints_its_url(hub_server, run_dir):
    # The real space/ folder of this repository (the one publish deploys).
    result = cli(str(run_dir), "--repo-id", REPO_ID, "--space", SPACE_ID)
    assert result.returncode == 0, result.stderr
    assert f"Space: {hub_server.endpoint}/spaces/{SPACE_ID}" in result.stdout
    files = hub_server.repo(SPACE_ID, "space").files
    assert {"app.py", "backend.py", "flags.py", "requirements.txt", "README.md"} <= set(files)
    assert not any(name.startswith(("tests/", "__pycache__")) or name == "__init__.py" for name in files)


def test_large_files_travel_through_lfs_with_a_progress_bar(run_dir, monkeypatch, tmp_path):
    """With the Hub's LFS path (files over a threshold, hf_xet disabled) the bytes still arrive intact."""
    from huggingface_hub import constants

    server = HubServer(lfs_threshold=10_000).start()
    try:
        env = {
            "HF_ENDPOINT": server.endpoint,
            "HF_HUB_OFFLINE": "0",
            "TRANSFORMERS_OFFLINE": "0",
            "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_DISABLE_XET": "1",
            "NO_PROXY": "127.0.0.1",
        }
        result = cli(str(run_dir), "--repo-id", REPO_ID, extra_env=env)
        assert result.returncode == 0, result.stderr
        commit = server.repo(REPO_ID).commits[0]
        assert commit.upload_modes["model.safetensors"] == "lfs"
        assert commit.added["model.safetensors"] == (run_dir / "model.safetensors").read_bytes()
        assert "model.safetensors" in result.stderr and "100%" in result.stderr  # huggingface_hub's tqdm bar
    finally:
        server.stop()
    assert server.endpoint != constants.ENDPOINT  # this test did not touch the in-process client


@pytest.mark.parametrize(
    "case, args, message",
    [
        ("no token", [], "no Hugging Face token — set HF_TOKEN"),
        ("bad token", [], "the Hub rejected your token (401)"),
        ("no folder", ["missing-run"], "output folder not found"),
        ("incomplete folder", [], "missing model.safetensors, metrics.json"),
        (
            "repo id without namespace",
            ["--repo-id", "distilbert-emotion"],
            "--repo-id 'distilbert-emotion': expected 'namespace/name'",
        ),
        ("repo id with two slashes", ["--repo-id", "a/b/c"], "expected 'namespace/name'"),
        (
            "bad space id",
            ["--space", "no spaces allowed/x"],
            "--space 'no spaces allowed/x': expected 'namespace/name'",
        ),
    ],
)
def test_user_errors_are_one_line_without_traceback(hub_server, run_dir, tmp_path, case, args, message):
    folder = run_dir
    if case == "incomplete folder":
        folder = tmp_path / "incomplete"
        folder.mkdir()
        for name in ("config.json", "tokenizer_config.json", "train_config.json"):
            (folder / name).write_bytes((run_dir / name).read_bytes())
    if args and args[0] == "missing-run":
        folder, args = tmp_path / "missing-run", args[1:]
    if "--repo-id" not in args:
        args = ["--repo-id", REPO_ID, *args]
    token = {"no token": None, "bad token": "hf_not_a_valid_token_123"}.get(case, TEST_TOKEN)
    result = cli(str(folder), *args, token=token)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    if token:
        assert token not in result.stdout + result.stderr
    assert hub_server.repos == {}  # nothing was created


def test_publish_never_imports_space_or_training():
    """publish reads the output folder's files; from training it takes only the contract (the file names in
    formats.output_folder) and the user-error type, both plain Python: never the pipeline, never torch."""
    contract = ("training", "training.errors", "formats.output_folder")
    code = (
        "import sys, publish.hub, publish.__main__; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('space', 'training', 'torch', 'transformers', "
        f"'datasets') and m not in {contract!r}]; "
        "assert not bad, bad; print(publish.hub.SPACE_DIR)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == REPO_ROOT / "space"


@pytest.mark.slow
def test_publishes_a_folder_written_by_training(tmp_path, tiny_backbone_dir, tiny_data_dir):
    """The contract end to end: a real `python -m training` output folder publishes (dry run) as is."""
    run = tmp_path / "run"
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "training",
            "--data",
            str(tiny_data_dir),
            "--model",
            str(tiny_backbone_dir),
            "--output-dir",
            str(run),
            "--epochs",
            "1",
            "--batch-size",
            "8",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stderr[-2000:]
    result = cli(str(run), "--repo-id", REPO_ID, "--dry-run", str(tmp_path / "out"), token=None)
    assert result.returncode == 0, result.stderr
    pushed = read_tree(tmp_path / "out")
    assert {
        "README.md",
        "config.json",
        "model.safetensors",
        "metrics.json",
        "train_config.json",
        "errors.csv",
        "confusion_matrix.png",
    } <= set(pushed)
    assert "training_args.bin" not in pushed and not any(name.startswith("checkpoint") for name in pushed)
    assert "## Community corrections" not in pushed["README.md"].decode()  # trained without --corrections


def test_offline_mode_and_unreachable_hub_are_one_line(run_dir, tmp_path):
    offline = cli(str(run_dir), "--repo-id", REPO_ID, extra_env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)})
    assert offline.returncode == 2 and "offline mode is on (HF_HUB_OFFLINE)" in offline.stderr
    stopped = HubServer()  # bound then closed: nothing listens on its port any more
    stopped.httpd.server_close()
    env = {
        "HF_ENDPOINT": stopped.endpoint,
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HOME": str(tmp_path),
    }
    unreachable = cli(str(run_dir), "--repo-id", REPO_ID, extra_env=env)
    assert unreachable.returncode == 2 and f"cannot reach {stopped.endpoint}" in unreachable.stderr
    for result in (offline, unreachable):
        assert len(result.stderr.strip().splitlines()) == 1 and TEST_TOKEN not in result.stderr


def test_a_model_of_the_synthetic_sample_needs_allow_demo_model(hub_server, run_dir, tmp_path):
    """A demo run (the bundled sample) scores ~100% on its own data: it must not reach the Hub by accident."""
    config = json.loads((run_dir / "train_config.json").read_text())
    config["data"]["fallback"] = True
    (run_dir / "train_config.json").write_text(json.dumps(config))
    refused = cli(str(run_dir), "--repo-id", REPO_ID)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "synthetic demo sample" in refused.stderr and "pass --allow-demo-model" in refused.stderr
    assert hub_server.repos == {}
    dry = cli(str(run_dir), "--repo-id", REPO_ID, "--dry-run", str(tmp_path / "dry"), token=None)
    assert dry.returncode == 0, dry.stderr
    assert "not a real emotion classifier" in (tmp_path / "dry" / "README.md").read_text(encoding="utf-8")
    allowed = cli(str(run_dir), "--repo-id", REPO_ID, "--allow-demo-model")
    assert allowed.returncode == 0, allowed.stderr
    assert len(hub_server.repo(REPO_ID).commits) == 1


def requirement_names(text: str) -> set[str]:
    """The distributions a requirements file asks for (options such as --extra-index-url and comments left out)."""
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    names = {re.split(r"[<>=!~\[;\s]", line)[0].lower().replace("_", "-") for line in lines if line}
    return {name for name in names if name and not name.startswith("-")}


@pytest.mark.parametrize("onnx", [True, False], ids=["onnx model", "model without onnx"])
def test_the_space_gets_the_requirements_of_the_backend_its_model_will_use(run_dir, tmp_path, onnx):
    """The real space/ folder: an ONNX model installs neither torch nor transformers; a model without onnx/ gets
    the CPU build of torch."""
    if not onnx:
        shutil.rmtree(run_dir / "onnx")
    out = tmp_path / "dry"
    hub.publish_folder(run_dir, REPO_ID, space_id=SPACE_ID, dry_run_dir=out)
    written = (out / "space" / "requirements.txt").read_text(encoding="utf-8")
    names = requirement_names(written)
    assert {"tokenizers", "numpy", "huggingface-hub", "mcp"} <= names
    assert not (out / "space" / "requirements-torch.txt").exists()
    if onnx:
        assert written == (REPO_ROOT / "space" / "requirements.txt").read_text(encoding="utf-8")
        assert "onnxruntime" in names and not names & {"torch", "transformers"}
    else:
        assert written == (REPO_ROOT / "space" / "requirements-torch.txt").read_text(encoding="utf-8")
        assert {"torch", "transformers"} <= names and "onnxruntime" not in names
        assert "--extra-index-url https://download.pytorch.org/whl/cpu" in written.splitlines()


def test_an_int8_model_refused_by_the_guard_still_gets_the_onnx_requirements(run_dir, tmp_path):
    (run_dir / "onnx" / "model_int8.onnx").unlink()  # the Space runs onnx/model.onnx then
    hub.publish_folder(run_dir, REPO_ID, space_id=SPACE_ID, dry_run_dir=tmp_path / "dry")
    assert "onnxruntime" in requirement_names((tmp_path / "dry" / "space" / "requirements.txt").read_text())


def test_a_space_folder_without_the_torch_requirements_is_refused_for_a_model_without_onnx(
    run_dir, space_dir, tmp_path
):
    shutil.rmtree(run_dir / "onnx")
    with pytest.raises(PublishError, match=r"missing requirements-torch\.txt"):
        hub.publish_folder(run_dir, REPO_ID, space_id=SPACE_ID, space_dir=space_dir, dry_run_dir=tmp_path / "dry")
