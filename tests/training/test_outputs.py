"""The output folder's contract: one home for its names, the backend vocabulary, the one-line user errors."""

from __future__ import annotations

import pytest

from formats.output_folder import BACKEND_ALIASES, BACKENDS, ONNX_FILES, canonical_backend, headline_split, onnx_path
from training.errors import ToolkitError, one_line_errors, sigterm_as_exit
from training.runtime import softmax


@pytest.mark.parametrize(
    ("splits", "expected"),
    [
        (["train", "validation", "test"], "test"),
        (["train", "validation"], "validation"),
        ({"validation": 1}, "validation"),
    ],
)
def test_headline_split_is_test_else_validation(splits, expected):
    assert headline_split(splits) == expected


def test_backend_names_and_their_earlier_spellings():
    assert BACKENDS == ("torch", "onnx-fp32", "onnx-int8")
    assert onnx_path("onnx-int8") == "onnx/model_int8.onnx" and onnx_path("onnx-fp32") == "onnx/model.onnx"
    assert set(ONNX_FILES) < set(BACKENDS)
    for old, new in BACKEND_ALIASES.items():
        assert canonical_backend(old) == new and new in BACKENDS
    assert canonical_backend("auto") == "auto"  # anything else is left for the caller to refuse


def test_a_user_error_is_one_line_and_exit_2_and_a_bug_keeps_its_traceback(capsys):
    @one_line_errors
    def command(fail: str | None) -> int | None:
        if fail == "user":
            raise ToolkitError("data error: x.csv line 3: empty label")
        if fail == "bug":
            raise KeyError("bug")
        return None

    assert command(None) == 0
    assert command("user") == 2
    assert capsys.readouterr().err == "data error: x.csv line 3: empty label\n"
    with pytest.raises(KeyError):
        command("bug")


def test_sigterm_ends_a_command_as_an_exit_whose_cleanup_runs_and_another_handler_is_kept():
    import os
    import signal

    cleaned = []
    with pytest.raises(SystemExit) as stopped, sigterm_as_exit():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            cleaned.append("staging removed")
    assert stopped.value.code == 143 and cleaned == ["staging removed"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored

    def mine(signum, frame):
        cleaned.append("the caller's own handler")

    signal.signal(signal.SIGTERM, mine)
    try:
        with sigterm_as_exit():
            os.kill(os.getpid(), signal.SIGTERM)
        assert cleaned[-1] == "the caller's own handler"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _sleep_in_a_child():
    import time

    time.sleep(60)


def test_a_forked_child_still_dies_of_sigterm_at_once():
    """multiprocessing's Pool.terminate sends its workers SIGTERM: were they to exit cleanly instead, flushing their
    queues could block (cleanlab's pool hung a test that way)."""
    import multiprocessing
    import signal
    import time

    with sigterm_as_exit():
        child = multiprocessing.get_context("fork").Process(target=_sleep_in_a_child)
        child.start()
        time.sleep(0.5)
        child.terminate()
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGTERM  # killed by the signal, not SystemExit's 143


def test_one_softmax_in_both_precisions():
    import numpy as np

    logits = np.array([[1000.0, 1000.0, 0.0], [0.0, np.log(3.0), 0.0]])
    for dtype in (np.float64, np.float32):
        probs = softmax(logits, dtype)
        assert probs.dtype == dtype
        np.testing.assert_allclose(probs, [[0.5, 0.5, 0.0], [0.2, 0.6, 0.2]], atol=1e-6)


def test_labelling_a_corpus_does_not_load_the_exporter():
    import subprocess
    import sys

    code = "import sys, training.predict.__main__; print('training.export' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_output_folder_file_names_live_only_in_training_outputs():
    """No string in the code of training/ or publish/ (docstrings aside) spells a file name of the output
    folder: each has one home, formats/output_folder.py. (The Space keeps a guarded copy: tests/space.)"""
    import ast
    import re
    from pathlib import Path

    from formats import output_folder as outputs

    names = {
        outputs.TRAIN_CONFIG_FILE,
        outputs.METRICS_FILE,
        outputs.ERRORS_FILE,
        outputs.CORRECTIONS_FILE,
        outputs.LABEL_NOISE_FILE,
        outputs.LOCAL_PATHS_FILE,
        outputs.WEIGHTS_FILE,
        *outputs.COMPARISON_FILES,
        *outputs.FIGURES,
        *outputs.ONNX_FILES.values(),
    }
    root = Path(outputs.__file__).resolve().parent.parent
    found = []
    for path in [*root.glob("training/**/*.py"), *root.glob("publish/**/*.py")]:
        if path.name == "outputs.py" and path.parent.name == "training":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found += [
                    f"{path.relative_to(root)}:{node.lineno}: {name}"
                    for name in names
                    if re.search(rf"(?<![\w.-]){re.escape(name)}", node.value)  # not predict_metrics.json
                ]
    assert not found, "\n".join(found)


def test_no_product_module_is_over_400_lines():
    """A module that outgrows 400 lines is split by what it does (the house rule of the code-health work)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    long = {
        str(path.relative_to(root)): n
        for part in ("formats", "training", "publish", "space", "emotk")
        for path in (root / part).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, long
