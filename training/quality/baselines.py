"""Baselines the fine-tuned model must beat: the majority class, and a linear model on frozen features.

The features are the base model's last hidden states, mean-pooled over the real tokens (padding
masked out), extracted once; the embedding map of ``explore.py`` reuses them.
"""

from __future__ import annotations

import numpy as np

from training.quality.evaluate import classification_metrics


def extract_embeddings(
    model_path: str, splits: dict[str, list[str]], *, batch_size: int = 128, max_length: int = 128, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """Mean-pooled last hidden states of ``model_path``'s base model for every text of every split.

    The model is loaded once for all splits. Texts are batched by length (little padding), with a
    progress bar per split, and each split's rows come back in input order.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).to(device).eval()
    with torch.inference_mode():
        return {
            name: _embed(model, tokenizer, texts, batch_size, max_length, device, f"Embedding {name}")
            for name, texts in splits.items()
        }


def _embed(model, tokenizer, texts: list[str], batch_size: int, max_length: int, device: str, desc: str) -> np.ndarray:
    from tqdm.auto import tqdm

    order = np.argsort([len(text) for text in texts], kind="stable")
    chunks = []
    for start in tqdm(range(0, len(texts), batch_size), desc=desc, unit="batch"):
        batch = [texts[i] for i in order[start : start + batch_size]]
        inputs = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
        hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        chunks.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu().numpy())
    embeddings = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    if chunks:
        embeddings[order] = np.concatenate(chunks)
    return embeddings


def run_baselines(
    train_x: np.ndarray,
    train_y,
    evaluation: dict[str, tuple[np.ndarray, np.ndarray]],
    labels: list[str],
    seed: int = 42,
) -> dict:
    """Fit both baselines on train and score them on each evaluation split.

    Args:
        train_x: training features (one row per text).
        train_y: training label ids.
        evaluation: split name -> (features, label ids).
        labels: label names in id order.
        seed: random state of the logistic regression.

    Returns:
        ``{"dummy": {split: metrics}, "logistic_regression": {split: metrics}}``.
    """
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    models = {
        "dummy": DummyClassifier(strategy="most_frequent"),
        # Standardized features let lbfgs converge in a few hundred iterations.
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, random_state=seed)),
    }
    results = {}
    for name, model in models.items():
        model.fit(train_x, train_y)
        results[name] = {
            split: classification_metrics(y, model.predict(x), labels) for split, (x, y) in evaluation.items()
        }
    return results


def run_multi_label_baselines(
    train_x: np.ndarray,
    train_y: np.ndarray,
    evaluation: dict[str, tuple[np.ndarray, np.ndarray]],
    labels: list[str],
    seed: int = 42,
    objective: str = "f1-per-label",
) -> dict:
    """The multi-label baselines: the most frequent label for every text, and one logistic regression per
    label on the frozen features (one-vs-rest) with its own thresholds tuned on validation.

    Args:
        train_x: training features.
        train_y: ``(texts, labels)`` 0/1 training matrix.
        evaluation: split name -> (features, 0/1 matrix); must hold ``validation`` (the thresholds' split).
        labels: label names in id order.
        seed: random state of the logistic regressions.
        objective: what the thresholds maximise (``--threshold-objective``).

    Returns:
        ``{"dummy": {split: metrics}, "logistic_regression": {split: metrics}}`` (``multi_label_metrics``).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from training.quality.multi_label import multi_label_metrics, tune_thresholds

    train_y = np.asarray(train_y)
    most_frequent = np.zeros(len(labels))
    most_frequent[int(train_y.sum(axis=0).argmax())] = 1.0
    # A label with no positive in train cannot be fitted: predict_proba's column stays 0 for it.
    fitted = [j for j in range(len(labels)) if 0 < train_y[:, j].sum() < len(train_y)]
    model = make_pipeline(
        StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=3000, random_state=seed))
    ).fit(train_x, train_y[:, fitted])

    def probabilities(x: np.ndarray) -> np.ndarray:
        result = np.zeros((len(x), len(labels)))
        result[:, fitted] = model.predict_proba(x)
        return result

    valid_x, valid_y = evaluation["validation"]
    thresholds, _ = tune_thresholds(valid_y, probabilities(valid_x), labels, objective)
    return {
        "dummy": {
            split: multi_label_metrics(y, np.tile(most_frequent, (len(y), 1)), np.full(len(labels), 0.5), labels)
            for split, (_, y) in evaluation.items()
        },
        "logistic_regression": {
            split: multi_label_metrics(y, probabilities(x), thresholds, labels) for split, (x, y) in evaluation.items()
        },
    }
