"""The embeddings ``training.ask`` spreads its picks over: the fine-tuned model's own view of each text.

The vector is the mean of the model's last hidden layer over a text's tokens (padding left out), from the
PyTorch model (fp32 on the CPU, bf16 on CUDA) whatever backend labelled the pool, L2-normalised so that a
dot product is the cosine similarity; only the texts a strategy looks at are embedded.

Why not the vector the classification layer reads (the pooled ``[CLS]``, DistilBERT's ``pre_classifier``)?
Fine-tuning collapses it onto a few directions, one per class: on the offline MiniLM fine-tuned on 1,000 emotion
texts (3 epochs), 56% of 400 random training texts had another at cosine 0.95 or more there, against 3% with
the mean of the last layer; the near-duplicate rule would drop most texts, and k-center would see only the
classes. The mean of the last layer keeps what a text says (all-MiniLM-L6-v2, the offline
backbone, was trained as a mean-pooled sentence embedding), while still coming from the fine-tuned model.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

BATCH = 64  # texts per forward pass


class Embedder:
    """Texts -> the L2-normalised, attention-masked mean of the model's last hidden layer."""

    def __init__(self, folder: Path, threads: int | None = None, encoder: bool = False):
        import torch

        from training.runtime import load_model

        self.model, self.tokenizer, self.max_length = load_encoder(folder) if encoder else load_model(folder)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device.type == "cuda":
            self.model = self.model.to(device=self.device, dtype=torch.bfloat16)
        elif threads:
            torch.set_num_threads(threads)
        forward = inspect.signature(self.model.forward).parameters
        self.accepted = [name for name in self.tokenizer.model_input_names if name in forward]

    def __call__(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), hidden)`` float32 embeddings, one unit vector per text, in the order given."""
        return self.embed_with_logits(texts)[0]

    def embed_with_logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The embeddings of :meth:`__call__` and the classifier's logits ``(len(texts), num_labels)``, from one
        forward pass (``training.audit`` needs both); a base encoder (``encoder=True``) has no logits: 0 columns."""
        import torch

        order = np.argsort([len(text) for text in texts], kind="stable")  # similar lengths: little padding
        pieces, logits = [], []
        with torch.inference_mode():
            for start in range(0, len(order), BATCH):
                batch = [texts[i] for i in order[start : start + BATCH]]
                encoded = self.tokenizer(
                    batch, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
                )
                inputs = {name: encoded[name].to(self.device) for name in self.accepted if name in encoded}
                output = self.model(**inputs, output_hidden_states=True)
                hidden = output.hidden_states[-1].float()
                mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pieces.append(((hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)).cpu())
                if getattr(output, "logits", None) is not None:  # a base encoder (encoder=True) has none
                    logits.append(output.logits.float().cpu())
        if not pieces:
            return np.empty((0, 0), dtype=np.float32), np.empty((0, 0), dtype=np.float32)
        vectors = np.empty((len(texts), pieces[0].shape[-1]), dtype=np.float32)
        vectors[order] = torch.cat(pieces).numpy()
        scores = np.empty((len(texts), logits[0].shape[-1] if logits else 0), dtype=np.float32)
        if logits:
            scores[order] = torch.cat(logits).numpy()
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12), scores


def load_encoder(folder: Path):
    """A base encoder with no classification head (``AutoModel``), fp32, eval mode: its tokenizer and the longest
    input both accept (a classifier's loader would add a random head and warn about it)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from training.runtime import max_input_length

    model = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return model, tokenizer, max_input_length(tokenizer, model.config)
