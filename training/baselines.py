"""Baselines the fine-tuned model must beat: the majority class, and a linear model on frozen features.

The features are the base model's last hidden states, mean-pooled over the real tokens (padding
masked out), extracted once; the embedding map of ``explore.py`` reuses them.
"""

from __future__ import annotations

import numpy as np

from training.evaluate import classification_metrics


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
