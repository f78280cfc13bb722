"""Benchmark of ``training.audit``: does confident learning find labels flipped on purpose, and does fixing them help?

On 3,000 emotion training texts (``../shared/data/emotion``, a seeded sample) with 5% of the labels flipped
(uniformly to another class, and "realistic": along the clean model's most confused pairs, its validation
confusion matrix), every way of getting out-of-sample probabilities is scored by the precision and recall of its
suspects at k = the number flipped, with its cost in seconds. Then test macro-F1 of models trained on (a) the
flipped data, (b) the flipped data with the top-k suspects relabelled by their true label (a simulated person),
(c) the clean data. Multi-label: one label dropped or added on 5% of a GoEmotions sample, precision at k. Real
data: the audit of the full emotion model (``--real-run``) on its train and test splits.

    nice -n 10 .venv/bin/python bench/audit.py --out runs/audit --real-run runs/emotion-offline   # everything

Every finished step appends one JSON row to ``OUT/results.jsonl`` and is skipped when run again (resumable); the
tables are printed from those rows at the end. Trainings run the real CLI (``python -m training``) in a subprocess.
Measured figures: docs/audit.md.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from harness import DATA, REPO, machine, print_table, read_split, training_args

from formats.output_folder import DYNAMICS_FILE, METRICS_FILE


def log_row(out: Path, row: dict) -> None:
    """Append one finished step's row to ``OUT/results.jsonl``."""
    with open(out / "results.jsonl", "a", encoding="utf-8") as file:
        file.write(json.dumps(row) + "\n")


def rows_of(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.is_file() else []


def done(out: Path, step: str) -> dict | None:
    return next((row for row in rows_of(out) if row["step"] == step), None)


def write_split(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{text};{label}\n" for text, label in rows), encoding="utf-8")


def data_folder(folder: Path, train: list[tuple[str, str]]) -> Path:
    """A data folder: ``train`` and the real validation and test splits."""
    write_split(folder / "train.txt", train)
    for split in ("validation", "test"):
        write_split(folder / f"{split}.txt", read_split(DATA / f"{split}.txt"))
    return folder


def flip_uniform(rows, fraction: float, rng: random.Random) -> tuple[list, list[int]]:
    """``fraction`` of ``rows`` get another class, chosen uniformly; the new rows and the flipped indices."""
    classes = sorted({label for _, label in rows})
    flipped = sorted(rng.sample(range(len(rows)), round(fraction * len(rows))))
    noisy = list(rows)
    for i in flipped:
        noisy[i] = (rows[i][0], rng.choice([c for c in classes if c != rows[i][1]]))
    return noisy, flipped


def flip_confused(rows, fraction: float, rng: random.Random, labels: list[str], confusion) -> tuple[list, list[int]]:
    """``fraction`` of ``rows`` get another class drawn in proportion to how often the clean model confuses their
    class with it (its validation confusion matrix, off the diagonal)."""
    flipped = sorted(rng.sample(range(len(rows)), round(fraction * len(rows))))
    noisy = list(rows)
    for i in flipped:
        given = labels.index(rows[i][1])
        weights = [count if j != given else 0 for j, count in enumerate(confusion[given])]
        if not sum(weights):
            weights = [int(j != given) for j in range(len(labels))]
        noisy[i] = (rows[i][0], rng.choices(labels, weights=weights)[0])
    return noisy, flipped


def train(out: Path, name: str, data: Path, args, **options) -> dict:
    """Train ``runs/NAME`` on ``data`` through the CLI (skipped when its row exists), with more ``options`` of
    ``python -m training``; its row."""
    row = done(out, f"train:{name}")
    if row:
        return row
    run = out / "runs" / name
    common = {"model": "offline", "epochs": args.epochs, "output_dir": run, "report_to": "none", "seed": args.seed}
    command = [sys.executable, "-m", "training", *training_args(data=data, **common, **options)]
    start = time.perf_counter()
    subprocess.run([*command, "--overwrite-output-dir"], check=True, cwd=REPO)
    seconds = time.perf_counter() - start
    metrics = json.loads((run / METRICS_FILE).read_text())
    row = {
        "step": f"train:{name}",
        "run": str(run),
        "seconds": round(seconds, 1),
        "validation_accuracy": metrics["eval"]["validation"]["accuracy"],
        "test_f1_macro": metrics["eval"]["test"]["f1_macro"],
        "machine": machine(),
    }
    log_row(out, row)
    return row


def flip(out: Path, args) -> dict:
    """The clean sample and the uniformly flipped one (data folders and the truth, written once)."""
    path = out / "truth.json"
    if path.is_file():
        return json.loads(path.read_text())
    rows = random.Random(args.seed).sample(read_split(DATA / "train.txt"), args.train_size)
    data_folder(out / "data" / "clean", rows)
    uniform, flipped = flip_uniform(rows, args.flip, random.Random(args.seed + 1))
    data_folder(out / "data" / "uniform", uniform)
    truth = {"clean": rows, "uniform": {"rows": uniform, "flipped": flipped}}
    path.write_text(json.dumps(truth))
    return truth


def flip_realistic(out: Path, truth: dict, args) -> None:
    """The realistic variant, along the validation confusions of the model trained on the uniform flips (the
    clean model comes later in this benchmark; 5% of uniform noise barely changes which classes a model confuses)."""
    if "realistic" in truth:
        return
    metrics = json.loads((out / "runs" / "uniform" / METRICS_FILE).read_text())
    rows = [tuple(row) for row in truth["clean"]]
    realistic, flipped = flip_confused(
        rows,
        args.flip,
        random.Random(args.seed + 2),
        metrics["labels"],
        metrics["eval"]["validation"]["confusion_matrix"],
    )
    data_folder(out / "data" / "realistic", realistic)
    truth["realistic"] = {"rows": realistic, "flipped": flipped}
    (out / "truth.json").write_text(json.dumps(truth))


def precision_recall(ranking, flipped: set[int], k: int) -> tuple[float, float]:
    """Precision and recall of the first ``k`` of ``ranking`` (row numbers) against the flipped rows."""
    hits = len(set(list(ranking)[:k]) & flipped)
    return hits / k, hits / len(flipped)


def frozen_vectors(out: Path, name: str, texts: list[str]):
    """The offline backbone's embeddings of ``texts`` (before any fine-tuning), cached as ``OUT/cache/NAME.npy``."""
    import numpy as np

    from training.ask.embed import Embedder
    from training.backbones import resolve_backbone
    from training.config import TrainConfig

    path = out / "cache" / f"{name}.npy"
    if path.is_file():
        return np.load(path)
    vectors = Embedder(Path(resolve_backbone(TrainConfig(model="offline", data="x")).resolved))(texts)
    path.parent.mkdir(exist_ok=True)
    np.save(path, vectors)
    return vectors


def score_methods(out: Path, noise: str, truth: dict, args) -> None:
    """Every way of getting probabilities on the ``noise`` flips: precision/recall at k, seconds. The ways that need
    the model fine-tuned on the flipped data wait for its run (``runs/NOISE``)."""
    import numpy as np

    from training.ask.embed import Embedder
    from training.audit.issues import suspects
    from training.audit.probabilities import kfold_logistic
    from training.quality.dynamics import area_under_margin, mean_probabilities, text_dynamics
    from training.runtime import model_probabilities

    rows, flipped = truth[noise]["rows"], set(truth[noise]["flipped"])
    run = out / "runs" / noise
    labels = sorted({label for _, label in rows})
    texts, given = [t for t, _ in rows], np.array([labels.index(label) for _, label in rows])
    k = len(flipped)
    trained = (run / METRICS_FILE).is_file()

    def self_confidence():
        logits = Embedder(run).embed_with_logits(texts)[1]
        order = json.loads((run / "config.json").read_text())["id2label"]
        probabilities = model_probabilities(logits, False)[:, [int(i) for i in sorted(order, key=order.get)]]
        return np.argsort(probabilities[np.arange(len(given)), given], kind="stable"), None

    def logistic(vectors):
        probabilities = kfold_logistic(vectors(), given, len(labels), args.folds, args.seed, False)
        found = suspects(given, probabilities, False)
        return np.argsort(found.quality, kind="stable"), found.rows

    def dynamics(ranking: str):
        logits = text_dynamics(recorded, texts)
        order = json.loads((recorded.parent / "config.json").read_text())["id2label"]
        logits = logits[:, :, [int(i) for i in sorted(order, key=order.get)]]
        if ranking == "aum":
            return np.argsort(area_under_margin(logits, given), kind="stable"), None
        found = suspects(given, mean_probabilities(logits, False), False)
        return np.argsort(found.quality, kind="stable"), found.rows

    methods = {"logistic-frozen (backbone embeddings)": lambda: logistic(lambda: frozen_vectors(out, "sample", texts))}
    if trained:
        methods["self-confidence (in-sample, the baseline)"] = self_confidence
        methods["logistic (fine-tuned embeddings)"] = lambda: logistic(lambda: Embedder(run)(texts))
    # the training dynamics of a run on this data (runs/NOISE, or runs/NOISE-dynamics: a rerun of an older one)
    recorded = next(
        (r / DYNAMICS_FILE for r in (run, out / "runs" / f"{noise}-dynamics") if (r / DYNAMICS_FILE).is_file()), None
    )
    if recorded is not None:
        methods["dynamics (cleanlab on the mean probabilities over epochs)"] = lambda: dynamics("cleanlab")
        methods["dynamics (area under the margin)"] = lambda: dynamics("aum")
    for name, method in methods.items():
        step = f"score:{noise}:{name}"
        if done(out, step):
            continue
        start = time.perf_counter()
        ranking, flagged = method()
        seconds = time.perf_counter() - start
        precision, recall = precision_recall(ranking, flipped, k)
        row = {"step": step, "noise": noise, "method": name, "k": k, "precision": precision, "recall": recall}
        if flagged is not None:
            row["flagged"] = len(flagged)
            row["flagged_precision"], row["flagged_recall"] = precision_recall(flagged, flipped, len(flagged) or 1)
        log_row(out, {**row, "seconds": round(seconds, 1), "machine": machine()})
        if name.startswith("logistic (") and noise == "uniform":
            write_fixed(out, truth, ranking[:k])


def proxy_models(out: Path, truth: dict, args) -> None:
    """(a), (b), (c) with a cheap model: logistic regression on the backbone's embeddings, trained on the flipped,
    the fixed and the clean sample; test macro-F1 (the fine-tuned ones are the trainings runs/uniform, fixed,
    clean)."""
    if done(out, "proxy") or not (out / "data" / "fixed" / "train.txt").is_file():
        return
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    test = read_split(DATA / "test.txt")
    test_vectors = frozen_vectors(out, "test", [t for t, _ in test])
    vectors = frozen_vectors(out, "sample", [t for t, _ in truth["clean"]])
    scores = {}
    for name, rows in (
        ("a_flipped", truth["uniform"]["rows"]),
        ("b_fixed", read_split(out / "data" / "fixed" / "train.txt")),
        ("c_clean", truth["clean"]),
    ):
        model = LogisticRegression(max_iter=1000).fit(vectors, np.array([label for _, label in rows]))
        scores[name] = f1_score([label for _, label in test], model.predict(test_vectors), average="macro")
    log_row(out, {"step": "proxy", **scores, "machine": machine()})


def write_fixed(out: Path, truth: dict, top: list[int]) -> None:
    """(b): the uniformly flipped data with the top-k suspects relabelled by their true label (a simulated person)."""
    rows = [tuple(row) for row in truth["uniform"]["rows"]]
    for i in top:
        rows[int(i)] = tuple(truth["clean"][int(i)])
    data_folder(out / "data" / "fixed", rows)


def multi_label(out: Path, args) -> None:
    """GoEmotions: one label dropped or added on ``--flip`` of a sample; precision at k of K-fold logistic regression
    on the backbone's embeddings (no fine-tuning: multi-label trainings are too slow for this CPU)."""
    if done(out, "multi-label"):
        return
    import numpy as np

    from training.ask.embed import Embedder
    from training.audit.issues import suspects
    from training.audit.probabilities import kfold_logistic
    from training.backbones import resolve_backbone
    from training.config import TrainConfig

    sample, names, given, flipped = changed_label_sets(args)
    start = time.perf_counter()
    embedder = Embedder(Path(resolve_backbone(TrainConfig(model="offline", data="x")).resolved))
    vectors = embedder([record["text"] for record in sample])
    probabilities = kfold_logistic(vectors, given, len(names), args.folds, args.seed, True)
    found = suspects(given, probabilities, True)
    seconds = time.perf_counter() - start
    k = len(flipped)
    precision, recall = precision_recall(np.argsort(found.quality, kind="stable"), set(flipped), k)
    flagged_precision, flagged_recall = precision_recall(found.rows, set(flipped), len(found.rows) or 1)
    log_row(
        out,
        {
            "step": "multi-label",
            "texts": len(sample),
            "labels": len(names),
            "k": k,
            "precision": precision,
            "recall": recall,
            "flagged": len(found.rows),
            "flagged_precision": flagged_precision,
            "flagged_recall": flagged_recall,
            "seconds": round(seconds, 1),
            "machine": machine(),
        },
    )


def changed_label_sets(args) -> tuple[list[dict], list[str], list[list[int]], list[int]]:
    """The GoEmotions sample (seeded), its label names, each text's label ids with one label dropped or added on
    ``--flip`` of them (half each, seeded), and the changed rows."""
    source = DATA.parent / "goemotions" / "train.jsonl"
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line]
    sample = random.Random(args.seed).sample(records, args.train_size)
    names = sorted({name for record in sample for name in record["labels"]})
    given = [sorted(names.index(name) for name in record["labels"]) for record in sample]
    rng = random.Random(args.seed + 3)
    flipped = sorted(rng.sample(range(len(sample)), round(args.flip * len(sample))))
    for i in flipped:
        if given[i] and rng.random() < 0.5:
            given[i] = sorted(set(given[i]) - {rng.choice(given[i])})
        else:
            given[i] = sorted({*given[i], rng.choice([c for c in range(len(names)) if c not in given[i]])})
    return sample, names, given, flipped


def multi_label_dynamics(out: Path, args) -> None:
    """GoEmotions again, fine-tuned on the changed sample (validation and test cut to 1,000 texts each, seeded):
    precision at k of cleanlab's multi-label ranking on the run's training dynamics."""
    if done(out, "multi-label-dynamics"):
        return
    import numpy as np

    from training.audit.issues import suspects
    from training.quality.dynamics import mean_probabilities, text_dynamics

    sample, names, given, flipped = changed_label_sets(args)
    folder = out / "data" / "goemotions-changed"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"text": r["text"], "labels": [names[i] for i in ids]}) for r, ids in zip(sample, given, strict=True)
    ]
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for split in ("validation", "test"):
        (folder / f"{split}.jsonl").write_text((DATA.parent / "goemotions" / f"{split}.jsonl").read_text())
    options = {"label_column": "labels", "min_class_examples": 1, "max_eval_samples": 1000}
    run = Path(train(out, "goemotions-changed", folder, args, **options)["run"])
    order = json.loads((run / "config.json").read_text())["id2label"]
    logits = text_dynamics(run / DYNAMICS_FILE, [r["text"] for r in sample])
    model_names = [order[str(i)] for i in range(len(order))]
    columns = [model_names.index(name) for name in names]  # the model's outputs in the order of ``names``
    found = suspects(given, mean_probabilities(logits[:, :, columns], True), True)
    k = len(flipped)
    precision, recall = precision_recall(np.argsort(found.quality, kind="stable"), set(flipped), k)
    flagged = precision_recall(found.rows, set(flipped), len(found.rows) or 1)
    row = {"step": "multi-label-dynamics", "texts": len(sample), "labels": len(names), "k": k}
    row |= {"precision": precision, "recall": recall, "flagged": len(found.rows)}
    row |= {"flagged_precision": flagged[0], "flagged_recall": flagged[1], "machine": machine()}
    log_row(out, row)


def real_data(out: Path, run: Path, split: str) -> None:
    """The full emotion model's audit of one real split (the run is only read: the audit writes into a folder of
    links to its files); for test, its 20 strongest suspects."""
    if done(out, f"real:{split}"):
        return
    import pandas as pd

    from training.audit.run import AuditOptions, audit

    links = out / "real-run"
    links.mkdir(exist_ok=True)
    for path in run.iterdir():
        if not (links / path.name).exists() and not path.name.startswith("label_noise"):
            (links / path.name).symlink_to(path.resolve())
    sheet = out / f"real-suspects-{split}.csv"
    start = time.perf_counter()
    summary = audit(AuditOptions(str(links), str(sheet), split=split, overwrite=True))
    seconds = time.perf_counter() - start
    estimate = {key: summary["splits"][split][key] for key in ("texts", "suspects", "share", "method", "pairs")}
    top = pd.read_csv(sheet).head(20)[["text", "given", "suggested"]].to_dict("records") if split == "test" else []
    row = {"step": f"real:{split}", **estimate, "top20": top, "seconds": round(seconds, 1), "machine": machine()}
    log_row(out, row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Where data, runs and results.jsonl go.")
    parser.add_argument("--train-size", type=int, default=3000)
    parser.add_argument("--flip", type=float, default=0.05, help="The fraction of training labels flipped.")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--real-run", type=Path, default=None, help="The full emotion model (read-only).")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    truth = flip(args.out, args)
    train(args.out, "uniform", args.out / "data" / "uniform", args)
    flip_realistic(args.out, truth, args)
    score_methods(args.out, "uniform", truth, args)
    proxy_models(args.out, truth, args)
    score_methods(args.out, "realistic", truth, args)
    multi_label(args.out, args)
    for split in ("test", "train") if args.real_run and (args.real_run / METRICS_FILE).is_file() else ():
        real_data(args.out, args.real_run, split)
    for name in ("clean", "fixed", "realistic"):
        train(args.out, name, args.out / "data" / name, args)
    if not (args.out / "runs" / "uniform" / DYNAMICS_FILE).is_file():  # trained before runs recorded dynamics
        train(args.out, "uniform-dynamics", args.out / "data" / "uniform", args)
    score_methods(args.out, "uniform", truth, args)
    score_methods(args.out, "realistic", truth, args)
    multi_label_dynamics(args.out, args)
    print_results(args.out)


def print_results(out: Path) -> None:
    rows = rows_of(out)
    print(f"## audit benchmark ({machine()})")
    print_table(
        ["run", "seconds", "validation accuracy", "test macro-F1"],
        [
            (r["step"], r["seconds"], f"{r['validation_accuracy']:.4f}", f"{r['test_f1_macro']:.4f}")
            for r in rows
            if r["step"].startswith("train:")
        ],
    )
    print_table(
        ["noise", "method", "k", "precision@k", "recall@k", "flagged (precision, recall)", "seconds"],
        [
            (
                r["noise"],
                r["method"],
                r["k"],
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['flagged']} ({r['flagged_precision']:.3f}, {r['flagged_recall']:.3f})" if "flagged" in r else "",
                r["seconds"],
            )
            for r in rows
            if r["step"].startswith("score:")
        ],
    )
    for r in rows:
        if r["step"].startswith(("multi", "real", "proxy")):
            print(json.dumps(r))


if __name__ == "__main__":
    main()
