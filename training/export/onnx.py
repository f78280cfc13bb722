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
import contextlib
import inspect
import json
import logging
import statistics
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from formats.command_line import help_texts
from formats.model_config import is_multi_label
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
from training.data.labels import multi_hot
from training.errors import ToolkitError, one_line_errors
from training.export.guard import (
    DEFAULT_MIN_SET_AGREEMENT,
    FP32_FILE,
    INT8_FILE,
    MEASURED_SPLIT,
    int8_verdict,
    scores,
    set_agreement,
)
from training.export.latency import LATENCY_SAMPLES, THREADS, latencies_ms, torch_threads
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

STACK_TRACE_KEY = "pkg.torch.onnx.stack_trace"  # node metadata of torch's exporter
EVAL_BATCH_SIZE = 64


@contextlib.contextmanager
def quiet_tools():
    """Hide the exporters' chatter that asks nothing of the user ("torchvision is not installed", axis
    renaming, "consider pre-processing before quantization" — the transformer optimizer is that step)."""
    loggers = [logging.getLogger(), logging.getLogger("torch.onnx")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for logger in loggers:
                logger.setLevel(logging.ERROR)
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def export_fp32(model, tokenizer, path: Path) -> Path:
    """Export ``model`` to ONNX at ``path`` with dynamic batch and sequence axes.

    Args:
        model: a ``*ForSequenceClassification`` model in fp32, eval mode.
        tokenizer: its tokenizer; its ``model_input_names`` become the graph inputs.
        path: the ``.onnx`` file to write.

    Returns:
        ``path``.
    """
    # Two texts of different lengths, so that neither axis is traced as a constant.
    example = tokenizer(["an example", "a longer example text to export"], padding=True, return_tensors="pt")
    # The tokenizer's inputs that the model takes (a BERT tokenizer gives DistilBERT token_type_ids too).
    accepted = inspect.signature(model.forward).parameters
    names = [name for name in tokenizer.model_input_names if name in example and name in accepted]
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    multi_label = is_multi_label(model.config)
    axes = {name: {0: batch, 1: sequence} for name in names}
    program = torch.onnx.export(
        WithProbabilities(model) if multi_label else model,
        (),
        kwargs={name: example[name] for name in names},
        dynamo=True,
        verbose=False,
        input_names=names,
        output_names=["logits", "probabilities"] if multi_label else ["logits"],
        dynamic_shapes=axes,
    )
    drop_stack_traces(program.model)
    program.save(str(path))
    return path


class WithProbabilities(torch.nn.Module):
    """The classifier's logits and their sigmoid: the ONNX graph of a multi-label model gives each label's
    probability (``probabilities``) beside the ``logits``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        given = {"attention_mask": attention_mask, "token_type_ids": token_type_ids}
        logits = self.model(input_ids, **{name: value for name, value in given.items() if value is not None}).logits
        return logits, torch.sigmoid(logits)


def drop_stack_traces(model) -> None:
    """Remove the Python stack trace the exporter records on every node (an ``onnx_ir`` model, in place).

    The traces name files of this machine (the virtual environment's site-packages, often under the
    home folder), and the ONNX files are published with the model.
    """
    for graph in (*model.graphs(), *model.functions.values()):
        for node in graph.all_nodes():
            node.metadata_props.pop(STACK_TRACE_KEY, None)


def quantize_int8(fp32_path: Path, path: Path, model_type: str) -> Path:
    """Write the dynamically quantized (int8 weights, int8 activations at run time) model to ``path``.

    The graph first goes through onnxruntime's transformer optimizer, which fuses LayerNorm/GELU
    patterns so that more of the time is spent in the quantized MatMuls (faster than quantizing the raw
    export: docs/benchmarks.md); ``model.onnx`` itself stays plain, portable ONNX.

    Weights are quantized per output channel (one scale per row, not per matrix, which lost accuracy on
    MiniLM/emotion: docs/benchmarks.md) to 7 bits (``reduce_range``): CPUs without
    VNNI (AVX2 only) add pairs of u8 x s8 products in int16, which 8-bit weights can overflow — the
    accuracy check here must still hold on whatever CPU the Space gets.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    with tempfile.TemporaryDirectory() as tmp:
        graph = fp32_path
        if model_type in ("bert", "distilbert", "roberta", "xlm-roberta", "electra"):
            # num_heads/hidden_size 0: read from the graph. opt_level 0: only the offline fusions, so
            # the result still runs with any onnxruntime execution provider. Saved to a file, which
            # records the com.microsoft opset of the fused nodes that quantization's shape inference needs.
            graph = Path(tmp) / "optimized.onnx"
            optimize_model(
                str(fp32_path), model_type="bert", num_heads=0, hidden_size=0, opt_level=0
            ).save_model_to_file(str(graph))
        quantize_dynamic(graph, path, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    return path


def write_onnx_folder(model, tokenizer, onnx_dir: Path) -> tuple[Path, Path]:
    """Write ``onnx_dir``: the fp32 and int8 models, the tokenizer and the config; the two model paths.

    The folder is self-contained: the Space and ``training.predict`` load the tokenizer and labels from it alone.
    """
    onnx_dir.mkdir(exist_ok=True)
    with quiet_tools():
        fp32_path = export_fp32(model, tokenizer, onnx_dir / FP32_FILE)
        int8_path = quantize_int8(fp32_path, onnx_dir / INT8_FILE, model.config.model_type)
    tokenizer.save_pretrained(onnx_dir)
    model.config.save_pretrained(onnx_dir)
    return fp32_path, int8_path


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
) -> dict:
    """Export ``output_dir``'s model to ``output_dir/onnx/`` and check the int8 model's accuracy.

    Args:
        output_dir: a folder written by ``python -m training`` (config, weights, tokenizer).
        max_drop_points: largest accepted accuracy drop of the int8 model against PyTorch, in
            percentage points; a worse int8 model is deleted and the fp32 ONNX model kept.
        data: the data source holding the validation split (default: the one in ``train_config.json``).
        min_set_agreement: a multi-label model only: the smallest share of validation texts on which the int8
            model must predict PyTorch's whole set (:data:`DEFAULT_MIN_SET_AGREEMENT`); else it is deleted too.

    Returns:
        The ``export`` entry also written into ``metrics.json``: ``torch``, ``onnx-fp32``,
        ``onnx-int8`` (each ``accuracy``, ``p50_ms``, ``size_mb``; the backends' names; a multi-label model's ONNX
        entries add ``set_agreement``), ``split`` (measured on), ``int8_accepted``, ``reason``, ``latency`` (how
        p50_ms was measured), and for a multi-label model ``min_set_agreement``.

    Raises:
        ToolkitError: the folder holds no model, or the validation data cannot be loaded.
    """
    output_dir = Path(output_dir)
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

    fp32_path, int8_path = write_onnx_folder(model, tokenizer, output_dir / ONNX_DIR)

    with torch_threads(THREADS):  # restored after: the training run that called us goes on as before
        runners = {
            TORCH: torch_runner(model),
            ONNX_FP32: onnx_session(fp32_path, THREADS),
            ONNX_INT8: onnx_session(int8_path, THREADS),
        }
        measured = accuracy_and_latency(runners, tokenizer, texts, gold, max_length, thresholds)
        report: dict = {"split": MEASURED_SPLIT, **measured, "guard": guard}
    report["latency"] = (
        f"p50 of {min(len(texts), LATENCY_SAMPLES)} validation texts one at a time, tokenization "
        f"included, {THREADS} CPU thread"
    )
    for name, path in ((TORCH, weights), (ONNX_FP32, fp32_path), (ONNX_INT8, int8_path)):
        report[name]["size_mb"] = round(path.stat().st_size / 1e6, 2)

    if thresholds is not None:
        report["min_set_agreement"] = min_set_agreement
    report["int8_accepted"], report["reason"] = int8_verdict(report, guard, max_drop_points, min_set_agreement)
    if not report["int8_accepted"]:
        int8_path.unlink()  # the Space picks int8 whenever the file exists: a refused model must go
    write_metrics(output_dir / METRICS_FILE, report)
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
    args = parser.parse_args(argv)
    report = export_onnx(args.run_dir, max_drop_points=args.max_drop_points, data=args.data)
    print(format_report(report))
    print(f'wrote {Path(args.run_dir) / ONNX_DIR}/ and {METRICS_FILE}["export"]')
    return 0
