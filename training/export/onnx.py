"""Write a trained model as ONNX: fp32 with torch's dynamo exporter and dynamic axes, int8 by dynamic quantization,
each with its config and tokenizer files (``training.export.run`` checks them and keeps or refuses the int8 one)."""

from __future__ import annotations

import contextlib
import inspect
import logging
import tempfile
import warnings
from pathlib import Path

import torch

from formats.model_config import is_multi_label
from training.export.guard import (
    FP32_FILE,
    INT8_FILE,
)

STACK_TRACE_KEY = "pkg.torch.onnx.stack_trace"  # node metadata of torch's exporter


@contextlib.contextmanager
def quiet_tools():
    """Hide the exporters' chatter that asks nothing of the user ("torchvision is not installed", axis
    renaming, "consider pre-processing before quantization" — the transformer optimizer is that step)."""
    loggers = [logging.getLogger(), logging.getLogger("torch.onnx")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for logger in loggers:
                logger.setLevel(logging.ERROR)
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def export_fp32(model, tokenizer, path: Path) -> Path:
    """Export ``model`` to ONNX at ``path`` with dynamic batch and sequence axes.

    Args:
        model: a ``*ForSequenceClassification`` model in fp32, eval mode.
        tokenizer: its tokenizer; its ``model_input_names`` become the graph inputs.
        path: the ``.onnx`` file to write.

    Returns:
        ``path``.
    """
    # Two texts of different lengths, so that neither axis is traced as a constant.
    example = tokenizer(["an example", "a longer example text to export"], padding=True, return_tensors="pt")
    # The tokenizer's inputs that the model takes (a BERT tokenizer gives DistilBERT token_type_ids too).
    accepted = inspect.signature(model.forward).parameters
    names = [name for name in tokenizer.model_input_names if name in example and name in accepted]
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    multi_label = is_multi_label(model.config)
    axes = {name: {0: batch, 1: sequence} for name in names}
    program = torch.onnx.export(
        WithProbabilities(model) if multi_label else model,
        (),
        kwargs={name: example[name] for name in names},
        dynamo=True,
        verbose=False,
        input_names=names,
        output_names=["logits", "probabilities"] if multi_label else ["logits"],
        dynamic_shapes=axes,
    )
    drop_stack_traces(program.model)
    program.save(str(path))
    return path


class WithProbabilities(torch.nn.Module):
    """The classifier's logits and their sigmoid: the ONNX graph of a multi-label model gives each label's
    probability (``probabilities``) beside the ``logits``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        given = {"attention_mask": attention_mask, "token_type_ids": token_type_ids}
        logits = self.model(input_ids, **{name: value for name, value in given.items() if value is not None}).logits
        return logits, torch.sigmoid(logits)


def drop_stack_traces(model) -> None:
    """Remove the Python stack trace the exporter records on every node (an ``onnx_ir`` model, in place).

    The traces name files of this machine (the virtual environment's site-packages, often under the
    home folder), and the ONNX files are published with the model.
    """
    for graph in (*model.graphs(), *model.functions.values()):
        for node in graph.all_nodes():
            node.metadata_props.pop(STACK_TRACE_KEY, None)


def quantize_int8(fp32_path: Path, path: Path, model_type: str) -> Path:
    """Write the dynamically quantized (int8 weights, int8 activations at run time) model to ``path``.

    The graph first goes through onnxruntime's transformer optimizer, which fuses LayerNorm/GELU
    patterns so that more of the time is spent in the quantized MatMuls (faster than quantizing the raw
    export: docs/benchmarks.md); ``model.onnx`` itself stays plain, portable ONNX.

    Weights are quantized per output channel (one scale per row, not per matrix, which lost accuracy on
    MiniLM/emotion: docs/benchmarks.md) to 7 bits (``reduce_range``): CPUs without
    VNNI (AVX2 only) add pairs of u8 x s8 products in int16, which 8-bit weights can overflow — the
    accuracy check here must still hold on whatever CPU the Space gets.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    with tempfile.TemporaryDirectory() as tmp:
        graph = fp32_path
        if model_type in ("bert", "distilbert", "roberta", "xlm-roberta", "electra"):
            # num_heads/hidden_size 0: read from the graph. opt_level 0: only the offline fusions, so
            # the result still runs with any onnxruntime execution provider. Saved to a file, which
            # records the com.microsoft opset of the fused nodes that quantization's shape inference needs.
            graph = Path(tmp) / "optimized.onnx"
            optimize_model(
                str(fp32_path), model_type="bert", num_heads=0, hidden_size=0, opt_level=0
            ).save_model_to_file(str(graph))
        quantize_dynamic(graph, path, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    return path


def write_onnx_folder(model, tokenizer, onnx_dir: Path) -> tuple[Path, Path]:
    """Write ``onnx_dir``: the fp32 and int8 models, the tokenizer and the config; the two model paths.

    The folder is self-contained: the Space and ``training.predict`` load the tokenizer and labels from it alone.
    """
    onnx_dir.mkdir(exist_ok=True)
    with quiet_tools():
        fp32_path = export_fp32(model, tokenizer, onnx_dir / FP32_FILE)
        int8_path = quantize_int8(fp32_path, onnx_dir / INT8_FILE, model.config.model_type)
    tokenizer.save_pretrained(onnx_dir)
    model.config.save_pretrained(onnx_dir)
    return fp32_path, int8_path
