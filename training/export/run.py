"""Export a trained output folder to ONNX (fp32 and dynamic int8) and guard the int8 model's accuracy.

    python -m training.export runs/emotion                 # validation data from train_config.json
    python -m training.export runs/emotion --data my_data/ # or name it

writes ``runs/emotion/onnx/``: ``model.onnx`` (fp32, torch's dynamo exporter), ``model_int8.onnx``
(``onnxruntime.quantization.quantize_dynamic``, int8 weights per channel), ``config.json`` and the tokenizer files,
all with dynamic batch and sequence axes. PyTorch and both ONNX models are then run on the
validation set; an int8 model that loses more than ``--max-drop-points`` accuracy points (multi-label: micro F1
points, or that predicts PyTorch's whole set on too few texts: ``guard.py``) is removed (the fp32 model stays),
and the figures go into ``metrics.json["export"]`` for the model card.
"""

from __future__ import annotations

import argparse
import json
import statistics
import uuid
from pathlib import Path

import numpy as np

from formats.command_line import help_texts
from formats.output_folder import (
    CONFIG_FILE,
    METRICS_FILE,
    ONNX_DIR,
    ONNX_FP32,
    ONNX_INT8,
    TORCH,
    TRAIN_CONFIG_FILE,
    WEIGHTS_FILE,
    write_json,
)
from formats.writing import claim_staging, discard_staging, staging_folder, swap_in, write_refusal
from training.data.labels import multi_hot
from training.errors import ToolkitError, one_line_errors
from training.export.guard import (
    DEFAULT_MIN_SET_AGREEMENT,
    INT8_FILE,
    MEASURED_SPLIT,
    int8_verdict,
    scores,
    set_agreement,
)
from training.export.latency import LATENCY_SAMPLES, THREADS, latencies_ms, torch_threads
from training.export.onnx import write_onnx_folder
from training.runtime import (
    RunBatch,
    decision_thresholds,
    load_model,
    onnx_session,
    predict_sets,
    read_json_object,
    sigmoid,
    torch_runner,
)

EVAL_BATCH_SIZE = 64  # texts per forward pass of the accuracy check


def logits_of(run: RunBatch, tokenizer, texts: list[str], max_length: int) -> np.ndarray:
    """The logits of ``texts``, in batches sorted by length (little padding), in the texts' order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    logits = None
    for start in range(0, len(order), EVAL_BATCH_SIZE):
        rows = order[start : start + EVAL_BATCH_SIZE]
        encoded = tokenizer(
            [texts[i] for i in rows], padding=True, truncation=True, max_length=max_length, return_tensors="np"
        )
        batch = run(dict(encoded))
        if logits is None:
            logits = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
        logits[rows] = batch
    return logits


def predict(run: RunBatch, tokenizer, texts: list[str], max_length: int) -> np.ndarray:
    """Predicted class ids of ``texts``."""
    return logits_of(run, tokenizer, texts, max_length).argmax(axis=-1)


def load_split(
    output_dir: Path, data: str | None, label2id: dict[str, int], split: str = "validation"
) -> tuple[list[str], np.ndarray]:
    """The texts of ``split`` and their gold ids in the model's label order.

    The data comes from ``data`` if given, else from the run's ``train_config.json`` with the same
    options (columns, label names, revision, seed, ``max_eval_samples``) as in training.
    """
    from training.config import TrainConfig
    from training.data.load import load_data, subsample
    from training.paths import with_local_paths

    config_path = output_dir / TRAIN_CONFIG_FILE
    if data is None and not config_path.is_file():
        raise ToolkitError(
            f"export error: {config_path} not found — pass --data SOURCE to name the data "
            "whose validation split checks the exported models"
        )
    saved = read_json_object(config_path, f"export error: {config_path}")["config"] if config_path.is_file() else {}
    saved = with_local_paths(saved, output_dir)  # the data's full path on this machine, when known
    config = TrainConfig(**saved)  # the run's options (the defaults when only --data is known)
    source = data or config.data
    options = {**config.data_options(), "revision": None} if data else config.data_options()
    options["min_class_examples"] = 0  # a check of training data: the model is trained, only a split is read
    try:
        loaded = load_data(source, **options)
    except ToolkitError as error:
        raise ToolkitError(f"{error} (data to check the exported models on; name another source with --data)") from None
    if data is None:  # the same evaluation subset that training reported
        loaded = subsample(loaded, None, config.max_eval_samples, config.seed)
    if split not in loaded.splits:
        raise ToolkitError(f"export error: {source} has no {split} split — name data that has one with --data")
    rows = loaded.splits[split]
    unknown = sorted(set(loaded.labels) - set(label2id))
    if unknown:
        raise ToolkitError(
            f"export error: {source}: labels {unknown} are not classes of the model in {output_dir} "
            f"({sorted(label2id)}) — pass the data the model was trained on with --data"
        )
    if loaded.multi_label:  # a 0/1 matrix in the model's label order
        gold = multi_hot([[label2id[loaded.labels[i]] for i in ids] for ids in rows["label"]], len(label2id))
    else:
        gold = np.array([label2id[loaded.labels[label]] for label in rows["label"]], dtype=np.int64)
    return list(rows["text"]), gold


def accuracy_and_latency(
    runners: dict[str, RunBatch], tokenizer, texts: list[str], gold: np.ndarray, max_length: int, thresholds=None
) -> dict[str, dict[str, float]]:
    """Accuracy (fraction; multi-label: with micro F1 at ``thresholds``) and batch-1 p50 latency of each runner
    on the same texts; for a multi-label model each ONNX runner's ``set_agreement`` with PyTorch too."""
    times = latencies_ms(runners, tokenizer, texts[:LATENCY_SAMPLES], max_length)
    logits = {name: logits_of(run, tokenizer, texts, max_length) for name, run in runners.items()}
    report = {
        name: {**scores(logits[name], gold, thresholds), "p50_ms": round(statistics.median(times[name]), 3)}
        for name in runners
    }
    if thresholds is not None:
        reference = predict_sets(sigmoid(logits[TORCH]), thresholds)
        for name in runners.keys() - {TORCH}:
            report[name]["set_agreement"] = set_agreement(predict_sets(sigmoid(logits[name]), thresholds), reference)
    return report


def export_onnx(
    output_dir: str | Path,
    *,
    max_drop_points: float = 0.5,
    data: str | None = None,
    min_set_agreement: float = DEFAULT_MIN_SET_AGREEMENT,
    overwrite: bool = False,
) -> dict:
    """Export ``output_dir``'s model to ``output_dir/onnx/`` and check the int8 model's accuracy.

    Args:
        output_dir: a folder written by ``python -m training`` (config, weights, tokenizer).
        max_drop_points: largest accepted accuracy drop of the int8 model against PyTorch, in
            percentage points; a worse int8 model is deleted and the fp32 ONNX model kept.
        data: the data source holding the validation split (default: the one in ``train_config.json``).
        min_set_agreement: a multi-label model only: the smallest share of validation texts on which the int8
            model must predict PyTorch's whole set (:data:`DEFAULT_MIN_SET_AGREEMENT`); else it is deleted too.
        overwrite: replace an existing ``onnx/`` (whole, once the new one is written and checked).

    Returns:
        The ``export`` entry also written into ``metrics.json``: ``torch``, ``onnx-fp32``,
        ``onnx-int8`` (each ``accuracy``, ``p50_ms``, ``size_mb``; the backends' names; a multi-label model's ONNX
        entries add ``set_agreement``), ``split`` (measured on), ``int8_accepted``, ``reason``, ``latency`` (how
        p50_ms was measured), and for a multi-label model ``min_set_agreement``.

    Raises:
        ToolkitError: the folder holds no model, already has ``onnx/`` (without ``overwrite``), or the validation
            data cannot be loaded.
    """
    output_dir = Path(output_dir)
    if refusal := write_refusal(output_dir / ONNX_DIR, "RUN_DIR", overwrite=overwrite, own_folder=True):
        raise ToolkitError(f"export error: {refusal}")
    weights = output_dir / WEIGHTS_FILE
    if not (output_dir / CONFIG_FILE).is_file() or not weights.is_file():
        raise ToolkitError(
            f"export error: {output_dir}: no {CONFIG_FILE} + {WEIGHTS_FILE} — expected a folder "
            "written by `python -m training --output-dir DIR`"
        )
    read_json_object(output_dir / CONFIG_FILE, f"export error: {output_dir}/{CONFIG_FILE}")  # before transformers
    model, tokenizer, max_length = load_model(output_dir)
    # Load the data before the slow export, so a bad --data fails at once.
    texts, gold = load_split(output_dir, data, model.config.label2id, MEASURED_SPLIT)
    thresholds = decision_thresholds(model.config, f"export error: {output_dir}/{CONFIG_FILE}")
    guard = "f1_micro" if thresholds is not None else "accuracy"  # multi-label: micro F1 at the thresholds

    onnx_dir = output_dir / ONNX_DIR
    staging = staging_folder(onnx_dir, uuid.uuid4().hex[:8])  # swapped in whole: no reader meets a mix
    claim_staging(staging)  # an earlier export killed midway left its own: removed
    try:
        report = measure_onnx(model, tokenizer, staging, (texts, gold, max_length, thresholds), weights)
    except BaseException:
        discard_staging(staging)
        raise
    if thresholds is not None:
        report["min_set_agreement"] = min_set_agreement
    report["int8_accepted"], report["reason"] = int8_verdict(report, guard, max_drop_points, min_set_agreement)
    if not report["int8_accepted"]:
        (staging / INT8_FILE).unlink()  # the Space picks int8 whenever the file exists: a refused one must go
    swap_in(staging, onnx_dir)
    write_metrics(output_dir / METRICS_FILE, report)
    return report


def measure_onnx(model, tokenizer, onnx_dir: Path, validation: tuple, weights: Path) -> dict:
    """Write the ONNX folder, then the accuracy (micro F1 of a multi-label model), p50 latency and size of
    PyTorch and both ONNX models on the validation ``(texts, gold, max_length, thresholds)``."""
    texts, gold, max_length, thresholds = validation
    fp32_path, int8_path = write_onnx_folder(model, tokenizer, onnx_dir)
    with torch_threads(THREADS):  # restored after: the training run that called us goes on as before
        runners = {
            TORCH: torch_runner(model),
            ONNX_FP32: onnx_session(fp32_path, THREADS),
            ONNX_INT8: onnx_session(int8_path, THREADS),
        }
        measured = accuracy_and_latency(runners, tokenizer, texts, gold, max_length, thresholds)
    guard = "f1_micro" if thresholds is not None else "accuracy"  # multi-label: micro F1 at the thresholds
    report: dict = {"split": MEASURED_SPLIT, **measured, "guard": guard}
    report["latency"] = (
        f"p50 of {min(len(texts), LATENCY_SAMPLES)} validation texts one at a time, tokenization "
        f"included, {THREADS} CPU thread"
    )
    for name, path in ((TORCH, weights), (ONNX_FP32, fp32_path), (ONNX_INT8, int8_path)):
        report[name]["size_mb"] = round(path.stat().st_size / 1e6, 2)
    return report


def write_metrics(path: Path, report: dict) -> None:
    """Set ``metrics.json["export"]`` to ``report``, keeping every other key."""
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    metrics["export"] = report
    write_json(path, metrics)


def format_report(report: dict) -> str:
    """The export figures as a small text table."""
    guard = report.get("guard", "accuracy")  # multi-label: micro F1 at the thresholds
    lines = [f"{'variant':<10} {guard:>9} {'p50 ms':>8} {'size MB':>8}"]
    for name in (TORCH, ONNX_FP32, ONNX_INT8):
        row = report[name]
        lines.append(f"{name:<10} {row[guard]:>9.2%} {row['p50_ms']:>8.2f} {row['size_mb']:>8.1f}")
    return "\n".join([*lines, report["reason"]])


COMMAND = "python -m training.export"


@one_line_errors
def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Export RUN_DIR; a user error is one line on stderr and exit status 2 (no traceback).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk export`` when run by ``emotk``).
    """
    # The description is the docstring's first paragraph: the rest of its prose reads after its examples.
    texts = {**help_texts(__doc__, COMMAND), "description": __doc__.split("\n\n")[0]}
    parser = argparse.ArgumentParser(prog=prog, **texts)
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", help="The output folder written by `python -m training`: onnx/ is added to it."
    )
    parser.add_argument(
        "--data",
        default=None,
        help="Data source holding the validation split used by the "
        f"accuracy check (default: the `data` of the run's {TRAIN_CONFIG_FILE}).",
    )
    parser.add_argument(
        "--max-drop-points",
        type=float,
        default=0.5,
        help="Refuse the int8 model if its "
        "validation accuracy is more than this many percentage points below PyTorch's.",
    )
    parser.add_argument(
        "--min-set-agreement",
        type=float,
        default=DEFAULT_MIN_SET_AGREEMENT,
        help="Multi-label models: refuse the int8 model if it predicts PyTorch's exact set of labels on fewer "
        "than this share of the validation texts.",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Replace RUN_DIR's onnx/ if it exists: the new one is written beside it and swapped in once checked.",
    )
    args = parser.parse_args(argv)
    report = export_onnx(
        args.run_dir,
        max_drop_points=args.max_drop_points,
        data=args.data,
        min_set_agreement=args.min_set_agreement,
        overwrite=args.overwrite,
    )
    print(format_report(report))
    print(f'wrote {Path(args.run_dir) / ONNX_DIR}/ and {METRICS_FILE}["export"]')
    return 0
