"""Shared fixtures: tiny random models and tiny data, built on the spot (never downloaded).

Every test runs offline: the environment below forbids Hub access, and the models here are random
BERT / DistilBERT networks of a few thousand parameters over a word-level vocabulary.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

# The local Hub server fixture (hub_server) for every test folder.
pytest_plugins = ["tests.hub_server"]

# No test may reach the network: make any accidental Hub call fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.pop("HF_TOKEN", None)
# Under pytest-xdist (make test) the workers already keep every core busy: a second PyTorch thread in each
# would only wait for a core (as training/export/latency.py's THREADS says of 2 busy CPUs). Subprocesses
# inherit it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_EMOTION = REPO_ROOT.parent / "shared" / "data" / "emotion"

# A few cue words per class so that even a tiny model can learn something in seconds.
CUES = {
    "sadness": ["lonely", "crying", "miserable", "gloomy", "hopeless"],
    "joy": ["happy", "delighted", "cheerful", "glad", "thrilled"],
    "love": ["adore", "loving", "tender", "sweetheart", "cherish"],
    "anger": ["furious", "annoyed", "outraged", "irritated", "mad"],
    "fear": ["scared", "terrified", "nervous", "anxious", "afraid"],
    "surprise": ["amazed", "shocked", "astonished", "stunned", "unexpected"],
}
FILLER = ["i", "feel", "so", "today", "really", "am", "just", "and", "the", "this", "about", "my", "day", "quite"]
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# The figures every training run writes into its output folder (publish uploads each one).
RUN_FIGURES = [
    "confusion_matrix.png",
    "class_distribution.png",
    "words_per_text.png",
    "embedding_map.png",
    "calibration.png",
]


def make_texts(labels: list[str], per_class: int, seed: int = 0) -> list[tuple[str, str]]:
    """Return ``per_class`` tweet-like ``(text, label)`` pairs for each label, deterministically."""
    rng = random.Random(seed)
    rows = []
    for i in range(per_class):
        for label in labels:
            words = [*rng.sample(FILLER, 4), rng.choice(CUES[label])]
            rng.shuffle(words)
            rows.append((" ".join(words) + f" {i}", label))
    return rows


def write_split(path: Path, rows: list[tuple[str, str]]) -> Path:
    """Write ``(text, label)`` rows to ``path`` as ``text;label`` lines (the emotion data's format)."""
    path.write_text("".join(f"{text};{label}\n" for text, label in rows), encoding="utf-8")
    return path


def write_splits(
    folder: Path, labels: list[str], per_class: tuple[int, ...], names=("train", "validation", "test")
) -> dict[str, list[tuple[str, str]]]:
    """Write :func:`make_texts` rows as ``folder/NAME.txt`` per split (seeds 1, 2, 3, ...); return them by split."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {
        name: make_texts(labels, count, seed=seed)
        for seed, (name, count) in enumerate(zip(names, per_class, strict=True), start=1)
    }
    for name, rows in splits.items():
        write_split(folder / f"{name}.txt", rows)
    return splits


def write_tiny_tokenizer(directory: Path):
    """Save a word-level BERT tokenizer (WordPiece vocab of the fixture words) into ``directory``."""
    from transformers import BertTokenizerFast

    vocab = SPECIAL_TOKENS + FILLER + sorted({w for ws in CUES.values() for w in ws}) + [str(i) for i in range(100)]
    vocab += ["[", "]", "<", ">", "/", ".", ",", "!", "?", "'", "s", "##s", "##ing", "##ed"]
    directory.mkdir(parents=True, exist_ok=True)
    # transformers 5 builds the (fast) tokenizer from a vocab dict; save_pretrained writes vocab.txt too.
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tokenizer.model_max_length = 64
    tokenizer.save_pretrained(directory)
    return tokenizer


def write_tiny_model(directory: Path, labels: list[str], arch: str = "distilbert", seed: int = 0) -> Path:
    """Save a random tiny sequence classifier with ``labels`` as id2label, plus its tokenizer."""
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        DistilBertConfig,
        DistilBertForSequenceClassification,
    )

    tokenizer = write_tiny_tokenizer(directory)
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    # Two layers, 32 wide, 2 heads, in each architecture's own parameter names.
    config_class, model_class, size = {
        "distilbert": (
            DistilBertConfig,
            DistilBertForSequenceClassification,
            {"dim": 32, "hidden_dim": 64, "n_layers": 2, "n_heads": 2},
        ),
        "bert": (
            BertConfig,
            BertForSequenceClassification,
            {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2},
        ),
    }[arch]
    config = config_class(
        vocab_size=len(tokenizer), max_position_embeddings=64, id2label=id2label, label2id=label2id, **size
    )
    torch.manual_seed(seed)
    model = model_class(config)
    model.save_pretrained(directory)
    return directory


def train_tiny_model(directory: Path, labels: list[str], steps: int = 200) -> Path:
    """Fit the tiny model of ``directory`` to fixture texts (full batch, a second or two on a CPU).

    A random tiny model gives near-uniform probabilities whose argmax any rounding flips; a fitted
    one is confident, as a real fine-tuned model is, so agreement under int8 means something.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    rows = make_texts(labels, 20, seed=11)
    encoded = tokenizer([t for t, _ in rows], padding=True, return_tensors="pt")
    gold = torch.tensor([labels.index(label) for _, label in rows])
    fit_full_batch(model, encoded, gold, steps)
    model.save_pretrained(directory)
    return directory


def fit_full_batch(model, encoded: dict, gold, steps: int) -> None:
    """``steps`` Adam steps of ``model`` on one full batch (the tiny fixture models), then eval mode."""
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: a second thread only waits (50x slower on a loaded 2-CPU machine)
    model.train()
    for _ in range(steps):
        model(**encoded, labels=gold).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    torch.set_num_threads(threads)
    model.eval()


@pytest.fixture(scope="session")
def emotion_labels() -> list[str]:
    return list(CUES)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, emotion_labels) -> Path:
    """A random tiny DistilBERT classifier over the six emotions (config, weights, tokenizer)."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny-distilbert"), emotion_labels)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A random tiny BERT classifier over three classes: nothing may assume six emotions."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny-bert"), ["negative", "neutral", "positive"], arch="bert")


@pytest.fixture(scope="session")
def tiny_backbone_dir(tmp_path_factory) -> Path:
    """A random tiny DistilBERT *base* to fine-tune from (its classification head is replaced)."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny-backbone"), ["LABEL_0", "LABEL_1"])


@pytest.fixture(scope="session")
def trained_tiny_dir(tmp_path_factory, emotion_labels) -> Path:
    """The tiny DistilBERT fitted to the fixture texts, exported to onnx/ (fp32 and int8) as the export does."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from formats.output_folder import ONNX_DIR
    from training.export import write_onnx_folder

    directory = train_tiny_model(
        write_tiny_model(tmp_path_factory.mktemp("trained-tiny"), emotion_labels), emotion_labels
    )
    model = AutoModelForSequenceClassification.from_pretrained(directory).eval()
    write_onnx_folder(model, AutoTokenizer.from_pretrained(directory), directory / ONNX_DIR)
    return directory


@pytest.fixture
def tiny_data_dir(tmp_path, emotion_labels) -> Path:
    """A folder of ``text;label`` files (train/validation/test) in the seed's format."""
    write_splits(tmp_path, emotion_labels, per_class=(8, 3, 3))
    return tmp_path


def pytest_collection_modifyitems(config, items):
    """Skip tests that need ../shared/data/emotion when it is absent (a user's checkout)."""
    if SHARED_EMOTION.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real data not found at {SHARED_EMOTION}")
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)


MULTI_LABELS = ["anger", "fear", "joy", "love"]  # the labels of tests/fixtures/run_multilabel
# Far from the tiny random model's probabilities (all near 0.5, so the bars sum to about 2): anger and joy pass,
# fear and love do not, whichever backend (int8 too) computes them.
THRESHOLDS = {"anger": 0.05, "fear": 0.95, "joy": 0.3, "love": 0.7}


@pytest.fixture(scope="session")
def multilabel_dir(tmp_path_factory):
    """A tiny random multi-label BERT (config.json's problem_type and label_thresholds, as training writes them),
    exported to onnx/ (fp32 and int8, with ``logits`` and ``probabilities``), with the reports of
    tests/fixtures/run_multilabel."""
    import shutil

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from formats.output_folder import ONNX_DIR
    from training.export import write_onnx_folder

    directory = write_tiny_model(tmp_path_factory.mktemp("tiny-multilabel"), MULTI_LABELS, arch="bert")
    model = AutoModelForSequenceClassification.from_pretrained(directory)
    model.config.problem_type = "multi_label_classification"
    model.config.label_thresholds = THRESHOLDS
    model.eval().save_pretrained(directory)
    write_onnx_folder(model, AutoTokenizer.from_pretrained(directory), directory / ONNX_DIR)
    for name in ("metrics.json", "train_config.json"):
        shutil.copyfile(REPO_ROOT / "tests" / "fixtures" / "run_multilabel" / name, directory / name)
    return directory
