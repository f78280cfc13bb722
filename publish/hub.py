"""Push an output folder to the Hub as one commit, and deploy the Space that serves it.

What is uploaded is decided here, explicitly (an allow list, not "the whole folder"): a training
output folder also holds checkpoints, logs and caches that must not land in a public repo.

* Model repo: the model (``config.json``, ``model.safetensors``), the tokenizer files, the generated
  ``README.md`` (model card), the reports training wrote (``metrics.json``, ``train_config.json``,
  ``errors.csv``, the figures, ``corrections.json`` and ``comparison.*`` when present), the
  ``onnx/`` folder when present, and the TensorBoard event files of ``runs/`` (the Hub then shows them in the
  repo's Training metrics tab). One ``create_commit``: the repo never shows half a model.
* Space repo (``--space``): the Space app from this repository's ``space/`` folder (its top-level
  ``*.py`` modules except ``__init__.py``, ``README.md`` — no tests, caches or local flags), with the README
  front matter's ``models:`` pointing at the model, in one commit. Its ``requirements.txt`` is the one of the
  backend the Space will run the model with: ``space/requirements.txt`` (ONNX Runtime, no torch) when the
  model has an ONNX file, ``space/requirements-torch.txt`` (the CPU build of torch) otherwise.
  The app reads the model id from the ``MODEL`` environment variable, so publishing sets the Space
  variable ``MODEL`` to the model repo (``HfApi.add_space_variable``): the same code runs locally
  (``MODEL=runs/x python space/app.py``) and on the Space, and re-pointing a Space needs no commit.

The token comes only from ``HF_TOKEN`` or ``hf auth login`` (``huggingface_hub.get_token``); it is
checked with ``whoami`` before anything is created and never printed or written anywhere.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx2  # huggingface_hub's HTTP client: its TransportError is "could not reach the Hub"
from huggingface_hub import CommitOperationAdd, HfApi, SpaceCard, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
from huggingface_hub.utils import HFValidationError, validate_repo_id

import formats
from formats.command_line import first_line
from formats.output_folder import (
    COMPARISON_FILES,
    CONFIG_FILE,
    CORRECTIONS_FILE,
    ERRORS_FILE,
    FIGURES,
    LABEL_NOISE_FILE,
    METRICS_FILE,
    ONNX_DIR,
    ONNX_FILES,
    SEARCH_FIGURE,
    TOKENIZER_CONFIG_FILE,
    TOKENIZER_FILES,
    TRACES_DIR,
    TRAIN_CONFIG_FILE,
    TRIALS_FILE,
    WEIGHTS_FILE,
    trace_files,
)
from formats.writing import write_refusal
from publish.card import DEFAULT_LICENSE, build_facts, render_card
from publish.errors import PublishError
from publish.filters import pct

SPACE_DIR = Path(__file__).resolve().parent.parent / "space"  # uploaded as files, never imported
FORMATS_DIR = Path(formats.__file__).resolve().parent  # what the parts share: uploaded beside app.py

# Files without which the folder is not a usable model (the card needs the two JSON reports).
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_CONFIG_FILE, METRICS_FILE, TRAIN_CONFIG_FILE)
# The reports training, export and compare write; never LOCAL_PATHS_FILE (full local paths) or checkpoints.
REPORT_FILES = (
    METRICS_FILE,
    TRAIN_CONFIG_FILE,
    ERRORS_FILE,
    *FIGURES,
    CORRECTIONS_FILE,
    *COMPARISON_FILES,
    LABEL_NOISE_FILE,
)
REPORT_FILES += (TRIALS_FILE, SEARCH_FIGURE)  # --search (its study.db stays here: the trials say what it holds)
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, *TOKENIZER_FILES, *REPORT_FILES)
# ONNX_DIR is uploaded whole (models, their external data, the tokenizer and config copied there); of TRACES_DIR,
# only the event files.
SPACE_REQUIRED = ("app.py", "README.md")
# The Space's requirements.txt, by whether the model has an ONNX file (space/backend.py runs it then, without torch).
SPACE_REQUIREMENTS = {True: "requirements.txt", False: "requirements-torch.txt"}
SPACE_VARIABLE = "MODEL"  # the environment variable space/app.py reads the model id from

HUB_FAILURES = (HfHubHTTPError, OfflineModeIsEnabled, httpx2.TransportError, OSError)
Files = dict[str, "Path | bytes"]  # path in repo -> local file, or generated content


def check_repo_id(repo_id: str, option: str) -> None:
    """Reject anything but ``namespace/name`` with a one-line message naming the option."""
    try:
        if repo_id.count("/") != 1:
            raise HFValidationError("not namespace/name")
        validate_repo_id(repo_id)
    except HFValidationError:
        raise PublishError(
            f"publish error: {option} {repo_id!r}: expected 'namespace/name' (your user or "
            "organization, a slash, and a name of letters, digits, '-', '_' or '.'), "
            "e.g. me/distilbert-emotion"
        ) from None


def model_files(output_dir: Path) -> dict[str, Path]:
    """The allow-listed files of an output folder, by their path in the model repo.

    Raises:
        PublishError: the folder or one of :data:`REQUIRED_FILES` is missing.
    """
    if not output_dir.is_dir():
        raise PublishError(
            f"publish error: {output_dir}: output folder not found — pass the --output-dir "
            "of a finished `python -m training` run"
        )
    missing = [name for name in REQUIRED_FILES if not (output_dir / name).is_file()]
    if missing:
        raise PublishError(
            f"publish error: {output_dir}: missing {', '.join(missing)} — expected an output "
            "folder written by `python -m training` (did the run finish?)"
        )
    files = {name: output_dir / name for name in MODEL_FILES if (output_dir / name).is_file()}
    onnx = output_dir / ONNX_DIR
    if onnx.is_dir():
        files.update({f"{ONNX_DIR}/{p.name}": p for p in sorted(onnx.iterdir()) if p.is_file()})
    files.update({f"{TRACES_DIR}/{published_trace_name(p, i)}": p for i, p in enumerate(trace_files(output_dir))})
    return files


def published_trace_name(path: Path, number: int) -> str:
    """An event file's name on the Hub: TensorBoard names it ``events.out.tfevents.<time>.<host>.<pid>.<n>``, and
    the machine's host name must not leave it; ``events.out.tfevents.<time>.<number>`` reads the same."""
    return ".".join([*path.name.split(".")[:4], str(number)])


def has_onnx(model_paths: Files) -> bool:
    """Whether the model repo gets an ONNX model (``onnx/model_int8.onnx`` or ``onnx/model.onnx``), the one
    the Space's default backend then runs."""
    return any(f"{ONNX_DIR}/{name}" in model_paths for name in ONNX_FILES.values())


def space_files(space_dir: Path, model_id: str, onnx: bool = True) -> Files:
    """The Space app's files, with README front matter ``models:`` set to ``model_id``, and as
    ``requirements.txt`` the requirements of the backend the Space will use (:data:`SPACE_REQUIREMENTS`).

    Raises:
        PublishError: ``space_dir`` lacks one of :data:`SPACE_REQUIRED` or the requirements, or its README
            front matter is invalid.
    """
    requirements = SPACE_REQUIREMENTS[onnx]
    missing = [name for name in (*SPACE_REQUIRED, requirements) if not (space_dir / name).is_file()]
    if missing:
        raise PublishError(
            f"publish error: {space_dir}: missing {', '.join(missing)} — the Space app folder "
            "of this repository is incomplete"
        )
    files: Files = {p.name: p for p in sorted(space_dir.glob("*.py")) if p.name != "__init__.py"}
    # The shared package beside app.py: the Space imports it, and cannot import anything else of ours.
    files.update({f"{FORMATS_DIR.name}/{p.name}": p for p in sorted(FORMATS_DIR.glob("*.py"))})
    files["requirements.txt"] = space_dir / requirements
    readme = space_dir / "README.md"
    try:
        card = SpaceCard(readme.read_text(encoding="utf-8"))
    except ValueError as err:
        raise PublishError(f"publish error: {readme}: invalid front matter ({err})") from None
    card.data.models = [model_id]
    files["README.md"] = str(card).encode("utf-8")
    return files


def write_dry_run(files: Files, out_dir: Path) -> None:
    """Write exactly the files a push would upload into ``out_dir`` (which must be new or empty, and not inside
    a model's folder: the write rule of every command, ``formats.writing``)."""
    refusal = write_refusal(out_dir, "--dry-run", overwrite=False, resumable=True)  # emptiness: checked below
    if refusal:
        raise PublishError(f"publish error: {refusal}")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise PublishError(
            f"publish error: --dry-run {out_dir}: exists and is not an empty folder — "
            "choose a new folder so it holds exactly the files that would be pushed"
        )
    for path_in_repo, source in files.items():
        target = out_dir / path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)


def size_mb(files: Files) -> float:
    return sum(len(s) if isinstance(s, bytes) else s.stat().st_size for s in files.values()) / 1e6


def hub_api() -> HfApi:
    """An HfApi with the user's token, checked with ``whoami`` (fails fast, before creating anything).

    Raises:
        PublishError: no token, or the Hub rejects it.
    """
    token = get_token()
    if token is None:
        raise PublishError(
            "publish error: no Hugging Face token — set HF_TOKEN (a token with write access) or run `hf auth login`"
        )
    api = HfApi(token=token)
    try:
        api.whoami()
    except HfHubHTTPError as err:
        if err.response is not None and err.response.status_code == 401:
            raise PublishError(
                "publish error: the Hub rejected your token (401) — set a valid HF_TOKEN or run `hf auth login --force`"
            ) from None
        raise hub_error(err, "checking the token") from None
    except HUB_FAILURES as err:
        raise hub_error(err, "checking the token") from None
    return api


def hub_error(err: Exception, action: str) -> PublishError:
    """A one-line PublishError for a failed Hub call (the messages never contain the token)."""
    if isinstance(err, OfflineModeIsEnabled):
        return PublishError(
            "publish error: offline mode is on (HF_HUB_OFFLINE) — unset it to publish, "
            "or use --dry-run to write the files locally"
        )
    if isinstance(err, HfHubHTTPError) and err.response is not None:
        status = err.response.status_code
        if status == 403:
            return PublishError(
                f"publish error: {action}: permission denied (403) — use a token with write access to that namespace"
            )
        detail = (err.server_message or "").strip() or first_line(err)
        return PublishError(f"publish error: {action}: the Hub answered {status}: {detail}")
    if isinstance(err, OSError):  # a local file vanished or cannot be read mid-upload
        return PublishError(f"publish error: {action}: {err}")
    return PublishError(
        f"publish error: {action}: cannot reach {constants.ENDPOINT} ({type(err).__name__}) — "
        "check your network connection or HF_ENDPOINT"
    )


def commit(
    api: HfApi, repo_id: str, files: Files, *, repo_type: str, private: bool, message: str, space_sdk: str | None = None
):
    """Create the repo if needed and upload ``files`` in ONE commit; return ``(repo_url, CommitInfo)``.

    ``create_commit`` rather than ``upload_folder``: the allow list decides the files, and with
    hf_xet installed ``upload_folder`` may split a large folder into several commits.
    """
    label = f"{repo_type} repo {repo_id}"
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
        if private and not api.repo_info(repo_id, repo_type=repo_type).private:
            raise PublishError(
                f"publish error: {label} already exists and is public — --private does not "
                "change an existing repo; make it private in its settings, or choose another name"
            )
        operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=source) for path, source in files.items()]
        info = api.create_commit(repo_id, operations=operations, commit_message=message, repo_type=repo_type)
    except HUB_FAILURES as err:
        raise hub_error(err, f"uploading to {label}") from None
    return url, info


def publish_folder(
    output_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    space_id: str | None = None,
    dry_run_dir: str | Path | None = None,
    commit_message: str | None = None,
    license: str = DEFAULT_LICENSE,
    space_dir: Path = SPACE_DIR,
    allow_demo_model: bool = False,
) -> dict:
    """Publish a training output folder: model card + model in one commit, optionally the Space.

    Args:
        output_dir: a folder written by ``python -m training``.
        repo_id: the model repo, ``namespace/name``.
        private: create the model repo (and the Space) as private.
        space_id: also deploy ``space/`` to this Space (``namespace/name``), serving the model.
        dry_run_dir: write the files that would be pushed here instead (no network, no token). With
            ``space_id`` the model goes to ``dry_run_dir/model`` and the Space to ``dry_run_dir/space``.
        commit_message: the model commit's message (default: says the test scores).
        license: license identifier for the model card.
        space_dir: the Space app folder (this repository's ``space/``).
        allow_demo_model: push a model trained on the synthetic demo sample (refused otherwise; a dry
            run is always allowed).

    Returns:
        ``files`` (model paths), and either ``dry_run_dir`` or ``repo_url``, ``commit_url``,
        ``commit_oid``; with a Space also ``space_files``, ``space_variables`` and (pushed)
        ``space_url``, ``space_commit_url``, ``space_commit_oid``.

    Raises:
        PublishError: any user error (bad repo id, missing files, token missing or rejected, Hub refusal,
            a model of the synthetic demo sample without ``allow_demo_model``).
    """
    check_repo_id(repo_id, "--repo-id")
    if space_id is not None:
        check_repo_id(space_id, "--space")
    folder = Path(output_dir)
    files: Files = dict(model_files(folder))
    facts = build_facts(folder, repo_id, space_id=space_id, license=license)
    files["README.md"] = str(render_card(facts)).encode("utf-8")
    spaces: Files = space_files(space_dir, repo_id, onnx=has_onnx(files)) if space_id else {}
    variables = {SPACE_VARIABLE: repo_id} if space_id else {}
    result: dict = {
        "files": sorted(files),
        **({"space_files": sorted(spaces), "space_variables": variables} if space_id else {}),
    }

    if dry_run_dir is not None:
        out = Path(dry_run_dir)
        write_dry_run(files, out / "model" if space_id else out)
        if space_id:
            write_dry_run(spaces, out / "space")
        return {**result, "dry_run_dir": str(out)}

    if facts.synthetic_sample and not allow_demo_model:
        raise PublishError(
            f"publish error: {folder / TRAIN_CONFIG_FILE} records training on the synthetic demo sample "
            "(data/sample): this is not a real emotion classifier — pass --allow-demo-model to publish it anyway"
        )
    api = hub_api()
    split, scores = facts.headline_split, facts.eval[facts.headline_split]
    message = commit_message or (
        f"Publish {facts.model_name}: {split} accuracy {pct(scores.accuracy)}%, macro F1 {pct(scores.f1_macro)}%"
    )
    print(f"Uploading {len(files)} files ({size_mb(files):.1f} MB) to {repo_id} in one commit…", file=sys.stderr)
    repo_url, info = commit(api, repo_id, files, repo_type="model", private=private, message=message)
    result.update(repo_url=str(repo_url), commit_url=info.commit_url, commit_oid=info.oid)
    if space_id:
        print(f"Deploying the Space {space_id} ({len(spaces)} files) for {repo_id}…", file=sys.stderr)
        space_url, space_info = commit(
            api,
            space_id,
            spaces,
            repo_type="space",
            private=private,
            message=f"Deploy the demo of {repo_id}",
            space_sdk="gradio",
        )
        try:
            for key, value in variables.items():
                api.add_space_variable(space_id, key, value, description="Model the app serves (publish)")
        except HUB_FAILURES as err:
            raise hub_error(err, f"setting the Space variable {SPACE_VARIABLE} of {space_id}") from None
        result.update(space_url=str(space_url), space_commit_url=space_info.commit_url, space_commit_oid=space_info.oid)
        if private:
            print(
                f"note: {repo_id} is private: add a secret HF_TOKEN with read access in the settings of "
                f"{space_id} so the app can load it",
                file=sys.stderr,
            )
    return result
