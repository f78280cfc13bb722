"""The output folder: every file name in it, and the one writer of its JSON files and figures.

The output folder is the contract between the parts (README, "The output folder"): training writes it,
``training.export`` adds ``onnx/``, ``training.compare`` adds ``comparison.*``, ``training.audit`` adds
``label_noise.*``, and ``training.predict``,
``publish`` and the Space read it. Each file name has its home here; the Space, which is deployed alone
and cannot import ``training``, keeps a copy of the names it reads (``space/backend.py``) that a test holds
equal to these.

Every part that writes JSON or a figure into an output folder goes through :func:`write_json` and
:func:`save_figure`, so that a file keeps its bytes whoever rewrites it: JSON indented by 2 with non-ASCII
text kept as is (a label or a tweet reads as written), figures at one DPI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

# --- Files of the output folder ------------------------------------------------------------------------
CONFIG_FILE = "config.json"  # save_pretrained: architecture, id2label / label2id
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"  # the tokenizer, as the `tokenizers` library saves it (the Space reads this one)
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"  # model_max_length, pad_token
# What save_pretrained may write for a tokenizer, depending on its family.
TOKENIZER_FILES = (
    TOKENIZER_FILE,
    TOKENIZER_CONFIG_FILE,
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
    "chat_template.jinja",
)
TRAIN_CONFIG_FILE = "train_config.json"  # resolved options, versions, data source and fingerprints
METRICS_FILE = "metrics.json"  # the evaluation (keys in docs/output_folder.md)
ERRORS_FILE = "errors.csv"  # every example of the headline split, highest loss first
CORRECTIONS_FILE = "corrections.json"  # with --corrections
LOCAL_PATHS_FILE = "local_paths.json"  # full local paths: stays on this machine, never published
# TensorBoard traces of training (--report-to tensorboard, the default): the Hub shows a repo that holds them in
# a "Training metrics" tab; "runs" is where Trainer has always put them.
TRACES_DIR = "runs"
TRACES_PATTERN = "events.out.tfevents.*"  # the event files TensorBoard writes (and the Hub looks for)
# --search: one row per trial (options, objective, seconds, state), the objective by trial and each option's
# importance as a figure, and the Optuna study itself (SQLite), from which a search resumes.
TRIALS_FILE, SEARCH_FIGURE, STUDY_FILE = "trials.csv", "search.png", "study.db"
CHECKPOINTS_DIR = "checkpoints"  # Trainer's epochs while training; deleted once the best one is loaded
COMPARISON_FILES = ("comparison.json", "comparison.md", "comparison.png")  # training.compare
COMPARISON_JSON, COMPARISON_MD, COMPARISON_PNG = COMPARISON_FILES
LABEL_NOISE_FILE = "label_noise.json"  # training.audit: the share of labels that look wrong (docs/audit.md)
# Each training text's logits in each epoch, as the training batches met it (one-process runs): what
# `training.audit --method dynamics` reads. Stays on this machine: it is not a report, so publish leaves it.
DYNAMICS_FILE = "training_dynamics.npz"

# The figures, in the order the model card shows them, with their card titles.
FIGURES = {
    "confusion_matrix.png": "Confusion matrix",
    "class_distribution.png": "Class distribution",
    "words_per_text.png": "Words per text",
    "embedding_map.png": "Embedding map",
    "calibration.png": "Reliability diagram (calibration)",
    # multi-label runs: instead of the confusion matrix
    "label_cooccurrence.png": "Label co-occurrence",
    "f1_by_support.png": "Per-label F1 against support",
    "label_noise.png": "Labels that look wrong (training.audit)",
}
(
    CONFUSION_FIGURE,
    CLASS_DISTRIBUTION_FIGURE,
    WORDS_FIGURE,
    EMBEDDING_MAP_FIGURE,
    CALIBRATION_FIGURE,
    COOCCURRENCE_FIGURE,
    F1_SUPPORT_FIGURE,
    LABEL_NOISE_FIGURE,
) = FIGURES

MULTI_LABEL = "multi-label"  # metrics.json["task"] of a multi-label run (absent: single-label)

# --- onnx/, written by training.export ----------------------------------------------------------------
ONNX_DIR = "onnx"  # self-contained: the models, their tokenizer and config
# The backends that run a saved model, one spelling everywhere (predict's --backend, the Space's BACKEND,
# metrics.json["export"], the card): PyTorch, and the two ONNX files.
TORCH, ONNX_FP32, ONNX_INT8 = "torch", "onnx-fp32", "onnx-int8"
BACKENDS = (TORCH, ONNX_FP32, ONNX_INT8)
ONNX_FILES = {ONNX_FP32: "model.onnx", ONNX_INT8: "model_int8.onnx"}  # backend -> file in ONNX_DIR
# What a CPU runs when no backend is named (predict's auto, the Space's default): int8 first, as training.export
# keeps it only when it passed its accuracy check.
ONNX_PREFERENCE = (ONNX_INT8, ONNX_FP32)
AUTO = "auto"  # no backend named: on a CPU the best ONNX file there is (ONNX_PREFERENCE), else PyTorch
BACKEND_CHOICES = (AUTO, *ONNX_FILES, TORCH)  # what predict's --backend and the Space's BACKEND take
# Spellings of earlier versions, still accepted where a user could have typed them or a file holds them.
BACKEND_ALIASES = {"pytorch": TORCH, "onnx_fp32": ONNX_FP32, "onnx_int8": ONNX_INT8}


def onnx_path(backend: str) -> str:
    """The ONNX file of ``backend`` relative to the output folder, e.g. ``onnx/model_int8.onnx``."""
    return f"{ONNX_DIR}/{ONNX_FILES[backend]}"


def trace_files(run_dir: Path) -> list[Path]:
    """The TensorBoard event files of a run (in ``TRACES_DIR``), sorted; none when it was not reported to."""
    return sorted((Path(run_dir) / TRACES_DIR).glob(TRACES_PATTERN))


def canonical_backend(name: str) -> str:
    """``name`` in today's spelling (``pytorch`` -> ``torch``); any other name is returned as it is."""
    return BACKEND_ALIASES.get(name, name)


def headline_split(splits: Iterable[str]) -> str:
    """The split that errors.csv, the confusion matrix and the card's headline figures use: test when there
    is one, else validation."""
    return "test" if "test" in set(splits) else "validation"


# --- The one writer -----------------------------------------------------------------------------------
FIGURE_DPI = 120


def write_json(path: Path, content: dict) -> None:
    """Write ``content`` as UTF-8 JSON, indented by 2, non-ASCII characters unescaped, ending in a newline."""
    Path(path).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def save_figure(figure, path: Path) -> None:
    """Save a matplotlib figure at ``FIGURE_DPI``, cropped to its content."""
    figure.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
