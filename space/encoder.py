"""The model's tokenizer as the Space runs it, for both backends: the ``tokenizers`` library (Rust) over the
model's own tokenizer, without transformers.

One encoder for both backends makes the tokens panel, the truncation and the model's inputs the same
whichever backend runs: the ONNX backend reads the tokenizer file of the model's exported folder, the
PyTorch backend hands over the ``tokenizers.Tokenizer`` inside its transformers tokenizer.

Thread-safe: the two tokenizers are configured once, here, and never changed afterwards. (A
``tokenizers.Tokenizer`` changed while another thread encodes fails with "Already borrowed", which is
what a transformers tokenizer does on every call when it sets its padding and truncation.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer

# The inputs an encoder model may take, in the order transformers' tokenizers give them.
INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")


class Encoder:
    """Texts to model inputs, truncated to ``max_length`` tokens (special tokens included), padded with ``pad_id``.

    Args:
        tokenizer: the model's tokenizer (copied: the caller's object is left as it is).
        max_length: the most tokens the model reads; longer texts are cut at the end.
        pad_id: the id that pads a batch to its longest text (masked out by ``attention_mask``).
    """

    def __init__(self, tokenizer: Tokenizer, max_length: int, pad_id: int) -> None:
        self.max_length, self.pad_id = max_length, pad_id
        self._whole = Tokenizer.from_str(tokenizer.to_str())
        self._whole.no_truncation()
        self._whole.no_padding()
        self._truncating = Tokenizer.from_str(tokenizer.to_str())
        self._truncating.enable_truncation(max_length)
        self._truncating.no_padding()

    def encode(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The model's inputs for ``texts`` (:data:`INPUT_NAMES`, int64, one row per text), padded on the right to
        the longest text of the batch."""
        encodings = self._truncating.encode_batch(list(texts))
        width = max((len(e.ids) for e in encodings), default=0)
        batch = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUT_NAMES}
        batch["input_ids"].fill(self.pad_id)
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            batch["input_ids"][row, :length] = encoding.ids
            batch["token_type_ids"][row, :length] = encoding.type_ids
            batch["attention_mask"][row, :length] = encoding.attention_mask
        return batch

    def tokens(self, text: str) -> tuple[list[tuple[str, int]], int]:
        """The tokens the model reads of ``text`` as ``(token, id)`` pairs, and how many tokens the whole text has
        (more than ``max_length`` when the model reads only its beginning)."""
        read = self._truncating.encode(text)
        return list(zip(read.tokens, read.ids, strict=True)), len(self._whole.encode(text).ids)

    def token_to_id(self, token: str) -> int | None:
        """The id of ``token`` in the vocabulary, or None."""
        return self._whole.token_to_id(token)
