"""Calibrated probabilities: temperature scaling, folded into the classifier's last layer.

After training, one scalar T is fitted on the validation logits to minimise the negative log-likelihood
of ``softmax(logits / T)`` (Guo et al., 2017, "On Calibration of Modern Neural Networks"). Dividing the
weight and bias of the head's final linear layer by T gives exactly those logits, so every consumer of
the saved model (the transformers pipeline, the ONNX export, the Space, ``training.predict``, the Hub
widget) shows calibrated probabilities with no code of its own. T > 0 rescales every logit of a text
by the same factor, so the predicted label never changes.

The pure functions here (:func:`fit_temperature`, :func:`expected_calibration_error`,
:func:`negative_log_likelihood`, :func:`calibration_report`, :func:`reliability_figure`) work on
plain arrays; :func:`fold_temperature` is the one that touches a model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure
from scipy.optimize import minimize_scalar

from training.quality.evaluate import per_example_loss
from training.runtime import softmax

ECE_BINS = 15  # equal-width bins on the top probability, as in Guo et al.
# The fitted inverse temperature is searched in [1/20, 20]: far outside what training produces, and
# bounded so that a degenerate validation split (all right, all wrong) cannot send it to 0 or infinity.
BETA_BOUNDS = (0.05, 20.0)


def negative_log_likelihood(logits: np.ndarray, labels, temperature: float = 1.0) -> float:
    """Mean cross-entropy (natural log) of ``softmax(logits / temperature)`` against ``labels``."""
    return float(per_example_loss(np.asarray(logits, dtype=np.float64) / temperature, labels).mean())


def fit_temperature(logits: np.ndarray, labels) -> float:
    """The temperature T > 0 that minimises the NLL of ``softmax(logits / T)`` on these examples.

    The NLL is convex in the inverse temperature 1/T (a log-sum-exp minus a linear term), so a bounded
    scalar search finds its minimum; T = 1 is among the candidates it compares, so the NLL at the
    returned T is never above the NLL before scaling.
    """
    logits = np.asarray(logits, dtype=np.float64)
    result = minimize_scalar(
        lambda beta: negative_log_likelihood(logits * beta, labels),
        bounds=BETA_BOUNDS,
        method="bounded",
        options={"xatol": 1e-5},
    )
    beta = float(result.x)
    if negative_log_likelihood(logits * beta, labels) > negative_log_likelihood(logits, labels):
        beta = 1.0  # the search stops at a tolerance; never return a T that is worse than none
    return 1.0 / beta


def at_search_bound(temperature: float, tolerance: float = 1e-3) -> bool:
    """Whether a fitted T lies at the end of the range :func:`fit_temperature` searches (relative ``tolerance``)."""
    beta = 1.0 / temperature
    return any(abs(beta - bound) <= tolerance * bound for bound in BETA_BOUNDS)


def reliability_bins(probabilities: np.ndarray, labels, bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width bin of the top probability: its count, mean confidence and accuracy.

    Bin ``b`` holds confidences in ``(b/bins, (b+1)/bins]`` (the first bin also holds 0), so a
    confidence of exactly 1.0 falls in the last bin.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        count = int(inside.sum())
        rows.append(
            {
                "lower": b / bins,
                "upper": (b + 1) / bins,
                "count": count,
                "confidence": float(confidence[inside].mean()) if count else None,
                "accuracy": float(correct[inside].mean()) if count else None,
            }
        )
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels, bins: int = ECE_BINS) -> float:
    """ECE: the count-weighted mean gap between accuracy and mean confidence over the bins of the top probability."""
    rows = reliability_bins(probabilities, labels, bins)
    total = sum(row["count"] for row in rows)
    return float(sum(row["count"] * abs(row["accuracy"] - row["confidence"]) for row in rows if row["count"]) / total)


def calibration_report(logits: dict[str, np.ndarray], labels: dict[str, np.ndarray], temperature: float) -> dict:
    """ECE and NLL of each split before and after dividing the logits by ``temperature``."""
    report = {}
    for split, split_logits in logits.items():
        y = labels[split]
        report[split] = {
            "ece_before": expected_calibration_error(softmax(split_logits), y),
            "ece_after": expected_calibration_error(softmax(split_logits / temperature), y),
            "nll_before": negative_log_likelihood(split_logits, y),
            "nll_after": negative_log_likelihood(split_logits, y, temperature),
        }
    return report


def reliability_figure(
    logits: np.ndarray, labels, temperature: float, split: str, bins: int = ECE_BINS, applied: bool = True
) -> Figure:
    """Reliability diagram of one split: accuracy against confidence per bin, before and after scaling.

    A calibrated model lies on the diagonal; bars below it are over-confident bins. The legend gives each
    curve's ECE.
    """
    fig = Figure(figsize=(9, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    after_title = f"after scaling (T = {temperature:.3f})" + ("" if applied else ", not applied")
    for ax, title, probabilities in (
        (axes[0], "before scaling", softmax(logits)),
        (axes[1], after_title, softmax(np.asarray(logits) / temperature)),
    ):
        rows = reliability_bins(probabilities, labels, bins)
        filled = [row for row in rows if row["count"]]
        centers = [(row["lower"] + row["upper"]) / 2 for row in filled]
        ax.bar(
            centers,
            [row["accuracy"] for row in filled],
            width=1 / bins,
            edgecolor="white",
            color="tab:blue",
            label="accuracy",
        )
        ax.bar(
            centers,
            [row["confidence"] - row["accuracy"] for row in filled],
            bottom=[row["accuracy"] for row in filled],
            width=1 / bins,
            color="tab:red",
            alpha=0.35,
            label="gap to confidence",
        )
        ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1)
        ece = expected_calibration_error(probabilities, labels, bins)
        ax.set_title(f"{title}\nECE {ece:.4f}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("Confidence (top probability)")
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("Accuracy")
    fig.suptitle(f"Reliability diagram ({split} split, {bins} bins)")
    fig.tight_layout()
    return fig


def final_linear_layer(model, num_labels: int):
    """The head's last ``nn.Linear`` producing ``num_labels`` outputs (``classifier``, ``classifier.out_proj``, ...).

    Returns None when the model has no such layer.
    """
    import torch

    candidates = [
        module
        for _, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module.out_features == num_labels
    ]
    return candidates[-1] if candidates else None


def fold_temperature(model, temperature: float, probe: dict) -> str | None:
    """Divide the final linear layer's weight and bias by ``temperature``, in place.

    The fold is checked on ``probe`` (one tokenized batch): the model's logits after it must be its logits
    before divided by T. If they are not (a head that does something after its last linear layer, or
    has none), the weights are restored.

    Args:
        model: a sequence classification model (its ``config.num_labels`` outputs).
        temperature: T > 0 from :func:`fit_temperature`.
        probe: keyword inputs of the model (``input_ids``, ``attention_mask``) on the model's device.

    Returns:
        None when the temperature is folded in, else why it was not (one line).
    """
    import torch

    layer = final_linear_layer(model, model.config.num_labels)
    if layer is None:
        return f"the classification head has no final linear layer with {model.config.num_labels} outputs"
    was_training = model.training
    model.eval()
    saved = (layer.weight.detach().clone(), None if layer.bias is None else layer.bias.detach().clone())
    with torch.no_grad():
        before = model(**probe).logits.float()
        layer.weight.div_(temperature)
        if layer.bias is not None:
            layer.bias.div_(temperature)
        after = model(**probe).logits.float()
        if not torch.allclose(after, before / temperature, rtol=1e-3, atol=1e-4):
            layer.weight.copy_(saved[0])
            if saved[1] is not None:
                layer.bias.copy_(saved[1])
            reason = "the head's output is not its last linear layer's (dividing it by T did not divide the logits)"
        else:
            reason = None
    model.train(was_training)
    return reason


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature, whether the saved model carries it, and ECE/NLL before and after per split."""

    temperature: float
    applied: bool
    reason: str | None  # why it was not applied
    report: dict  # split -> ece_before, ece_after, nll_before, nll_after

    def as_json(self) -> dict:
        """``metrics.json["calibration"]``."""
        return {
            "method": "temperature scaling fitted on the validation split (NLL), folded into the last linear layer",
            "temperature": self.temperature,
            "applied": self.applied,
            "reason": self.reason,
            "bins": ECE_BINS,
            **self.report,
        }


def probe_batch(tokenizer, dataset, rows: int = 8) -> dict:
    """A padded batch of the first ``rows`` rows of a tokenized split (model inputs only), as CPU tensors."""
    features = {key: values for key, values in dataset[:rows].items() if key != "label"}
    return dict(tokenizer.pad(features, return_tensors="pt"))


def calibrate(model, probe: dict, logits: dict[str, np.ndarray], labels: dict[str, np.ndarray], enabled: bool):
    """Fit T on the validation logits and, when ``enabled``, fold it into ``model``.

    Args:
        model: the trained model (changed in place when the fold succeeds).
        probe: a batch from :func:`probe_batch` to check the fold on.
        logits: split -> logits of the trained model (must hold ``validation``).
        labels: split -> gold label ids.
        enabled: False for ``--no-calibrate``: T is fitted and reported, the model is left as it is.

    The temperature is not folded in when it would raise the validation ECE: T minimises the NLL, and a
    model whose errors are not a matter of overall confidence (a class-weighted model's confident majority
    is calibrated while its rare-class answers are over-confident; softening all of them to fix the few
    makes the many under-confident) can trade a lower NLL for bars that mean less. The card then says so,
    with both figures. Nor is it folded in when every validation prediction is right (or every one wrong):
    the NLL then keeps falling as T goes to 0 (or infinity), and a small, easy validation split would make
    every bar 100%. Nor when T is at the bound of its search: the NLL was still falling there, so the T
    is an artefact of the range, not a fit.

    Returns:
        A :class:`Calibration`; ``applied`` says whether the model's logits are now divided by T.
    """
    temperature = fit_temperature(logits["validation"], labels["validation"])
    report = calibration_report(logits, labels, temperature)
    validation = report["validation"]
    right = np.asarray(logits["validation"]).argmax(axis=1) == np.asarray(labels["validation"])
    if not enabled:
        reason = "the run was made with --no-calibrate"
    elif right.all() or not right.any():
        reason = (  # the NLL then falls however far T goes: the fitted T is the search's bound, not a fact
            f"every validation prediction is {'right' if right.all() else 'wrong'}, so there are no "
            f"{'errors' if right.all() else 'right answers'} to calibrate on (T = {temperature:.3f} is "
            f"only where the search stopped)"
        )
    elif at_search_bound(temperature):
        reason = (  # the NLL was still falling where the search stopped: the true minimum lies beyond it
            f"T = {temperature:.3f} is the bound of the search ({1 / BETA_BOUNDS[1]:g} to {1 / BETA_BOUNDS[0]:g}): "
            "the validation NLL was still falling there, so this T is where the search stopped, not a fit"
        )
    elif validation["ece_after"] > validation["ece_before"]:
        reason = (
            f"T = {temperature:.3f} would raise the validation ECE from {validation['ece_before']:.4f} to "
            f"{validation['ece_after']:.4f}, though it lowers the NLL from {validation['nll_before']:.5f} to "
            f"{validation['nll_after']:.5f}"
        )
    else:
        device = next(model.parameters()).device
        reason = fold_temperature(model, temperature, {key: value.to(device) for key, value in probe.items()})
    return Calibration(temperature, reason is None, reason, report)


def binary_logits(logits) -> np.ndarray:
    """Multi-label logits ``z`` as ``(z.size, 2)`` two-class logits ``[0, z]``: their softmax is ``[1 - σ(z), σ(z)]``,
    so each (text, label) pair is a binary prediction, its NLL is the BCE, and the single-label ECE, fit and
    reliability diagram apply to them unchanged (top-label ECE of each binary decision)."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    return np.stack([np.zeros_like(z), z], axis=1)


def per_label_ece(logits, gold, labels: list[str], temperature: float = 1.0) -> dict[str, float]:
    """Each label's ECE: its binary decisions' top-label ECE after dividing the logits by ``temperature``."""
    logits, gold = np.asarray(logits, dtype=np.float64), np.asarray(gold).astype(int)
    return {
        name: expected_calibration_error(softmax(binary_logits(logits[:, j] / temperature)), gold[:, j])
        for j, name in enumerate(labels)
    }


def calibrate_multi_label(model, probe: dict, logits: dict, gold: dict, labels: list[str], enabled: bool):
    """:func:`calibrate` for a multi-label model: one T for every label, fitted on the validation BCE of all
    (text, label) pairs, folded in under the same rules (validation ECE of the pairs must fall, BCE never
    rises); the report adds each label's ECE before and after.

    Args:
        logits: split -> ``(texts, labels)`` logits.
        gold: split -> ``(texts, labels)`` 0/1 matrix.
    """
    pooled = {split: binary_logits(values) for split, values in logits.items()}
    flat = {split: np.asarray(gold[split]).reshape(-1).astype(int) for split in logits}
    result = calibrate(model, probe, pooled, flat, enabled)
    report = {
        split: {
            **values,
            "per_label_ece_before": per_label_ece(logits[split], gold[split], labels),
            "per_label_ece_after": per_label_ece(logits[split], gold[split], labels, result.temperature),
        }
        for split, values in result.report.items()
    }
    return dataclasses.replace(result, report=report)
