"""The first sheet from no labels: MODEL is a base encoder with no trained classification head.

"I have 20,000 unlabelled tweets and no model; which 500 do I label first?" With no classifier there is no
uncertainty to rank by, so the sheet holds typical, diverse texts instead: every eligible POOL text is embedded
by the encoder (the mean of its last hidden layer, as :mod:`training.ask.embed` does), the embeddings are
clustered into ``--budget`` clusters and each cluster's most typical text is asked
(:func:`training.ask.balanced.typical_picks`, TypiClust). MODEL is then ``offline`` (the bundled
all-MiniLM-L6-v2, the same alias as ``python -m training --model offline``), a local encoder folder, or a Hub
encoder id: any model whose ``config.json`` names no ``*ForSequenceClassification`` architecture.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from formats.output_folder import CONFIG_FILE
from training.ask.balanced import typical_picks
from training.ask.known import Known
from training.ask.pool import Pool, skip_reason
from training.backbones import ALIASES
from training.predict.model import resolve_model

NO_MODEL = "a base encoder (no model was used: no suggestions, no uncertainty)"


def encoder_folder(model: str, revision: str | None) -> Path | None:
    """The folder of MODEL when it is a base encoder (an alias, or a config.json without a classifier
    architecture); None when it is a text classifier, or has no config.json (``training.predict`` says why)."""
    alias = ALIASES.get(model)
    if alias is not None and not Path(model).exists():
        return Path(alias.path())
    folder = resolve_model(model, revision, weights=False)
    config = folder / CONFIG_FILE
    if not config.is_file():
        return None
    try:
        architectures = json.loads(config.read_text(encoding="utf-8")).get("architectures") or []
    except (ValueError, AttributeError):
        return None  # training.predict's reader says what is wrong with it
    if any(name.endswith("ForSequenceClassification") for name in architectures):
        return None
    return resolve_model(model, revision, weights=True)


def eligible_texts(rows, known: Known) -> tuple[Pool, list[str], list]:
    """POOL read as :func:`training.ask.pool.scan` scores it, with no predictions: the eligible rows (their
    row numbers, texts and ids) and the skipped ones by reason."""
    numbers, texts, ids, skipped, seen, size = [], [], [], Counter(), set(), 0
    for number, row in enumerate(rows):
        size += 1
        reason = skip_reason(row.text, known, seen)
        if reason:
            skipped[reason] += 1
            continue
        numbers.append(number)
        texts.append(row.text)
        ids.append(str(row.id) if row.id is not None else number)
    pool = Pool(size, np.asarray(numbers, dtype=np.int64), np.zeros(len(numbers)), skipped)
    return pool, texts, ids


def cold_rows(embeddings: np.ndarray, budget: int, seed: int, texts: list[str], ids: list) -> tuple[list, list[dict]]:
    """The chosen positions (into ``texts``) and the sheet's rows: no suggestion, no uncertainty."""
    chosen = typical_picks(embeddings, budget, seed)
    rows = [
        {"rank": rank, "id": ids[i], "text": texts[i], "suggested": None, "uncertainty": None, "label": None}
        for rank, i in enumerate(chosen, start=1)
    ]
    return chosen, rows
