"""Prediction backends for the Space: one interface, PyTorch (transformers pipeline) or ONNX Runtime.

The app only calls :func:`load_backend` and :meth:`Backend.predict`; both backends return the same
format — every class of the model with its probability, highest first, summing to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class Backend(Protocol):
    """What the app needs from a loaded model."""

    name: str  # shown on the page, e.g. "PyTorch fp32 (cpu)" or "ONNX Runtime int8 (cpu)"
    labels: list[str]  # class names in id order, from the model's id2label
    max_length: int  # longest input in tokens; longer texts are truncated
    tokenizer: Any  # a transformers tokenizer (used for the tokens panel)

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        """Return, for each text, ``{label: probability}`` for every class, highest first."""
        ...


@dataclass
class PipelineBackend:
    """A ``transformers`` text-classification pipeline returning all class scores (``top_k=None``)."""

    model: str
    revision: str | None = None
    batch_size: int = 32
    name: str = field(init=False)
    labels: list[str] = field(init=False)
    max_length: int = field(init=False)
    tokenizer: Any = field(init=False)

    def __post_init__(self) -> None:
        import torch
        from transformers import pipeline

        device = 0 if torch.cuda.is_available() else -1
        dtype = torch.bfloat16 if device == 0 and torch.cuda.is_bf16_supported() else torch.float32
        self._pipe = pipeline(
            "text-classification", model=self.model, revision=self.revision, top_k=None,
            device=device, dtype=dtype,
        )
        config = self._pipe.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.tokenizer = self._pipe.tokenizer
        self.max_length = _max_length(self.tokenizer, config)
        precision = "bf16" if dtype == torch.bfloat16 else "fp32"
        self.name = f"PyTorch {precision} ({'cuda' if device == 0 else 'cpu'})"

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        outputs = self._pipe(
            list(texts), batch_size=self.batch_size, truncation=True, max_length=self.max_length,
        )
        return [{item["label"]: float(item["score"]) for item in scores} for scores in outputs]


def _max_length(tokenizer: Any, config: Any) -> int:
    """The usable input length: the tokenizer's limit, capped by the model's position embeddings."""
    limit = getattr(config, "max_position_embeddings", 512) or 512
    model_max = getattr(tokenizer, "model_max_length", limit) or limit
    return int(min(limit, model_max))


def load_backend(model: str, revision: str | None = None) -> Backend:
    """Load ``model`` (a local folder written by ``training`` or a Hub model id) for prediction."""
    return PipelineBackend(model, revision=revision)
