"""What the embedding map costs: UMAP (cosine, MinMax-scaled, as the chapter) against the PCA fallback.

    python bench/embedding_map.py                  # the full emotion train set (16,000 texts) and a 5,000 sample
    python bench/embedding_map.py --points 2000    # other sizes

Embeds the training texts once with the offline backbone (frozen, mean-pooled, as the pipeline does),
then times ``training.quality.explore.project_2d`` with umap-learn and with PCA on the same points, side by side,
for each size. The first UMAP call also pays numba's compilation: it is timed apart ("first call").
The pipeline maps a seeded sample of ``EMBEDDING_MAP_POINTS`` training texts.
"""

from __future__ import annotations

import argparse
import sys
import time
from unittest import mock

import numpy as np
from harness import DATA, machine, print_table, ratio, read_texts

from training.backbones import ALIASES
from training.quality.baselines import extract_embeddings
from training.quality.explore import project_2d
from training.quality.figures import EMBEDDING_MAP_POINTS


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[16_000, EMBEDDING_MAP_POINTS])
    args = parser.parse_args()
    texts = read_texts(DATA / "train.txt", max(args.points))
    embed_s, embeddings = timed(lambda: extract_embeddings(ALIASES["offline"].path(), {"train": texts})["train"])
    try:
        import umap  # noqa: F401 -- only to say whether the comparison can run
    except ImportError:
        sys.exit("bench error: umap-learn is not installed (pip install -r requirements.txt)")

    warm = embeddings[:500]
    first_s, _ = timed(project_2d, warm, 0)  # numba compiles UMAP's kernels once per process
    rows = []
    for n in args.points:
        points = embeddings[np.random.default_rng(42).permutation(len(embeddings))[:n]]
        umap_s, (_, method) = timed(project_2d, points, 42)
        assert method == "UMAP"
        with mock.patch.dict(sys.modules, {"umap": None}):  # the fallback, exactly as without umap-learn
            pca_s, (_, method) = timed(project_2d, points, 42)
        assert method == "PCA"
        rows.append((f"{n:,}", f"{umap_s:.1f}", f"{pca_s:.2f}", ratio(umap_s / pca_s)))
    print(
        f"\nbench/embedding_map.py  offline backbone, {len(texts):,} training texts embedded in {embed_s:.0f} s; "
        f"UMAP's first call (numba compilation, {len(warm)} points) {first_s:.1f} s; {machine()}\n"
    )
    print_table(["points", "UMAP s", "PCA s", "UMAP / PCA"], rows)


if __name__ == "__main__":
    main()
