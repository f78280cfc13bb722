"""A cheap PROXY of ``bench/active_learning.py``, for choosing among ``balanced``'s variants fast.

    .venv/bin/python bench/active_learning_proxy.py --seeds 5 --features tfidf --output-dir runs/al-proxy

Not the product's loop: the learner is a logistic regression on the frozen embeddings of the offline backbone
(all-MiniLM-L6-v2, mean of the last layer; ``--features tfidf``: on word and bigram TF-IDF, with TF-IDF reduced to
256 dimensions by SVD as the embedding), refitted each round,
instead of fine-tuning the transformer for 3 epochs (minutes). What it keeps from the real benchmark: the emotion
training split as the pool (labels revealed only for chosen texts), a seeded random start of ``--start`` texts,
``--rounds`` rounds of ``--step``, the emotion test split, test macro F1, and the strategies' own functions
(:mod:`training.ask.balanced`, :mod:`training.ask.ranking`) on the learner's probabilities, with the frozen
embeddings standing in for the fine-tuned model's. Its rankings of variants are a hint for which to measure
for real, never a result to report as the product's.

Each (seed, variant, round) is a line of ``OUTPUT_DIR/proxy.jsonl`` (resumable); the embeddings are cached in
``OUTPUT_DIR/embeddings.npz``. ``--report`` prints the mean over seeds of each variant minus random.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from harness import DATA, REPO, pct, pp, print_table, read_split

from training.ask.balanced import Balance, balanced_choose, groups, typical_picks
from training.ask.ranking import choose, margin_uncertainty, ranked

VARIANTS = {  # name -> Balance settings ("random" and "margin" are the product's strategies)
    "balanced": Balance(),
    "balanced-no-floor": Balance(floor=0.0),
    "balanced-floor-0.4": Balance(floor=0.4),
    "balanced-power-0": Balance(power=0.0),
    "balanced-power-3": Balance(power=3.0),
    "balanced-no-outliers": Balance(outliers=0.0),
    "balanced-outliers-0.2": Balance(outliers=0.2),
}


def embeddings(out: Path, pool: list, test: list, features: str) -> tuple[np.ndarray, np.ndarray]:
    """The pool's and the test texts' vectors (cached in OUTPUT_DIR): the offline backbone's embeddings, or
    (``tfidf``, seconds where the backbone takes many minutes of a busy CPU) word and bigram TF-IDF reduced to 256
    dimensions by truncated SVD; unit vectors either way."""
    cache = out / "embeddings.npz"
    if not cache.is_file() and features == "tfidf":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit([t for t, _ in pool])
        svd = TruncatedSVD(256, random_state=0).fit(tfidf.transform([t for t, _ in pool]))
        vectors = [svd.transform(tfidf.transform([t for t, _ in texts])) for texts in (pool, test)]
        unit = [v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12) for v in vectors]
        np.savez(cache, pool=unit[0], test=unit[1])
    elif not cache.is_file():
        from training.ask.embed import Embedder
        from training.backbones import ALIASES

        embed = Embedder(Path(ALIASES["offline"].path()), encoder=True)
        np.savez(cache, pool=embed([t for t, _ in pool]), test=embed([t for t, _ in test]))
    saved = np.load(cache)
    return saved["pool"], saved["test"]


def sparse_tfidf(pool: list, test: list):
    """The learner's features for ``--features tfidf``: word and bigram TF-IDF of the pool and test texts (sparse)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit([t for t, _ in pool])
    return tfidf.transform([t for t, _ in pool]), tfidf.transform([t for t, _ in test])


def fit_score(x, y, test_x, test_y, seed: int):
    """The proxy learner on the labelled rows: (test macro F1, the fitted model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    model = LogisticRegression(max_iter=2000, C=10.0, random_state=seed).fit(x, y)
    return float(f1_score(test_y, model.predict(test_x), average="macro")), model


def pick(variant: str, model, space: tuple, left: np.ndarray, labelled_y, classes, step: int, seed: int):
    """The next ``step`` pool rows (values of ``left``) chosen by ``variant``; ``space``: the unit vectors of the
    pool (for outliers and near-duplicates) and the learner's features."""
    vectors, features = space
    probs = model.predict_proba(features[left])
    scores = margin_uncertainty(probs)

    def embed(rows):
        return vectors[left[rows]]

    if variant in ("random", "margin"):
        chosen = choose(ranked(scores, variant, seed), step, embed)
    else:
        labelled = np.asarray([np.sum(labelled_y == c) for c in classes])
        chosen = balanced_choose(groups(probs), scores, labelled, step, embed, seed, VARIANTS[variant])
    return left[np.asarray(chosen, dtype=np.int64)]


def run_seed(seed: int, args, space: tuple, y, test_x, test_y, done: set, out: Path) -> None:
    """The start, the cold start, and every variant's rounds for one seed."""
    vectors, features = space
    classes = np.unique(y)
    start = np.asarray(random.Random(seed).sample(range(len(y)), args.start))
    rows = []
    if (seed, "typical", 0) not in done:
        typical = np.asarray(typical_picks(vectors, args.start, seed))
        rows.append(
            {"variant": "typical", "round": 0, "f1": fit_score(features[typical], y[typical], test_x, test_y, seed)[0]}
        )
    for variant in args.variants:
        labelled, model = start, None
        for round_ in range(args.rounds + 1):
            if round_:
                left = np.setdiff1d(np.arange(len(y)), labelled)
                labelled = np.concatenate(
                    [
                        labelled,
                        pick(variant, model, space, left, y[labelled], classes, args.step, seed * 1000 + round_),
                    ]
                )
            f1, model = fit_score(features[labelled], y[labelled], test_x, test_y, seed)
            counts = {str(c): int(np.sum(y[labelled] == c)) for c in classes}
            rows.append({"variant": variant, "round": round_, "f1": f1, "counts": counts})
        with open(out / "proxy.jsonl", "a", encoding="utf-8") as file:
            for row in rows:
                file.write(json.dumps({"seed": seed, "labelled": args.start + row["round"] * args.step, **row}) + "\n")
        rows = []


def report(out: Path) -> None:
    """The mean over seeds of each variant's test macro F1 minus random's, per round."""
    rows = [json.loads(line) for line in (out / "proxy.jsonl").read_text(encoding="utf-8").splitlines()]
    table: dict = {}
    for row in rows:
        table.setdefault(row["variant"], {}).setdefault(row["labelled"], {})[row["seed"]] = row["f1"]
    base = table["random"]
    sizes = sorted(base)
    lines = []
    for variant, points in table.items():
        gaps = [
            np.mean([points[n][s] - base[n][s] for s in points.get(n, {}) if s in base[n]]) if n in points else None
            for n in sizes
        ]
        worst = min((points[n][s] - base[n][s] for n in sizes[1:] if n in points for s in points[n]), default=0.0)
        seeds = len(points[sizes[0]]) if sizes[0] in points else 0
        lines.append([variant, str(seeds), *(pp(g) if g is not None else "–" for g in gaps), pp(worst)])
    print(f"random's mean test macro F1: {', '.join(f'{n:,}: {pct(np.mean(list(base[n].values())))}' for n in sizes)}")
    print_table(["variant", "seeds", *(f"{n:,}" for n in sizes), "worst seed-round"], lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--start", type=int, default=1000)
    parser.add_argument("--step", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--variants", nargs="+", default=["random", "margin", *VARIANTS])
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "al-proxy")
    parser.add_argument("--features", choices=("offline", "tfidf"), default="offline")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    if not args.report:
        pool, test = read_split(DATA / "train.txt"), read_split(DATA / "test.txt")
        vectors, test_x = embeddings(args.output_dir, pool, test, args.features)
        learner_x, learner_test = (vectors, test_x) if args.features != "tfidf" else sparse_tfidf(pool, test)
        y, test_y = np.asarray([label for _, label in pool]), np.asarray([label for _, label in test])
        file = args.output_dir / "proxy.jsonl"
        done = (
            {(r["seed"], r["variant"], r["round"]) for r in map(json.loads, file.read_text().splitlines())}
            if file.is_file()
            else set()
        )
        for seed in range(args.seeds):
            args_left = [v for v in args.variants if (seed, v, 0) not in done]
            run_seed(
                seed,
                argparse.Namespace(**{**vars(args), "variants": args_left}),
                (vectors, learner_x),
                y,
                learner_test,
                test_y,
                done,
                args.output_dir,
            )
    report(args.output_dir)


if __name__ == "__main__":
    main()
