"""Export a trained output folder to ONNX (fp32 and dynamic int8), with an accuracy and latency guard.

``python -m training.export RUN_DIR`` (``onnx.py``); ``guard.py`` keeps or refuses the int8 model; ``latency.py``
times a model at batch 1, fairly on a machine that others load.
"""

from training.export.onnx import write_onnx_folder
from training.export.run import export_onnx, format_report, load_split, main, predict

__all__ = ["export_onnx", "format_report", "load_split", "main", "predict", "write_onnx_folder"]
