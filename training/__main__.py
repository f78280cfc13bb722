"""Fine-tune a transformer to classify short texts, and write an evaluated, self-describing model folder.

    python -m training --data dair-ai/emotion --output-dir runs/emotion
    python -m training --data ./my_tweets/ --model offline --epochs 3 --output-dir runs/mine
    python -m training --config demo.yaml          # options from YAML/JSON (or a saved train_config.json)
    python -m training --help                      # every option, with help text

Reads top to bottom: options -> data -> backbone -> fine-tuning -> predictions and calibration -> figures of the data
-> baselines -> evaluation -> files of the output folder (the contract in README, "The output folder")
-> summary table.
Runs under ``torchrun`` / ``accelerate launch`` as one job (``training.distributed``): every process
trains on its share of each epoch and predicts; the main process alone prints, writes the files, and
makes the figures and baselines, after the last step that every process takes part in, so that no
process waits on it.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from huggingface_hub import is_offline_mode

from training import config as cfg
from training.baselines import extract_embeddings, run_baselines
from training.calibration import calibrate, probe_batch, reliability_figure
from training.data import SAMPLE_DATA, is_sample, load_data, replace_splits, split_sha256, subsample
from training.distributed import check_same_data, init_processes
from training.errors import HubUnavailable, ToolkitError
from training.evaluate import classification_metrics, confusion_figure, errors_table
from training.explore import class_distribution, embedding_map, project_2d, words_per_text
from training.outputs import save_figure, write_json
from training.paths import LOCAL_PATHS_FILE, local_paths, portable_name, published_options
from training.train import detect_hardware, fine_tune, load_model_and_tokenizer, predict_logits, tokenize_splits

# The 2-D map of a larger train split uses a seeded sample of it. UMAP maps emotion's 16,000 training texts
# in about 25 s on 2 CPU cores (bench/embedding_map.py), so the emotion set is mapped whole, as the chapter does.
EMBEDDING_MAP_POINTS = 20_000


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline; a user error is one line on stderr and exit status 2 (no traceback)."""
    try:
        run(argv)
    except ToolkitError as err:
        print(err, file=sys.stderr)  # messages name their kind: "data error: ...", "config error: ..."
        return 2
    return 0


def run(argv: list[str] | None = None) -> Path:
    """The whole pipeline; returns the output folder."""
    # --- 1. Options, and which process this is under torchrun / accelerate (one process otherwise) --
    config, user_set = cfg.parse_config(argv)
    hardware = detect_hardware(config.precision)
    state = init_processes(hardware.device)
    main_process = state.is_main_process
    out = Path(config.output_dir)

    # --- 2. Data: validated before anything slow happens ---------------------------------------

    if config.fallback_offline and not is_offline_mode() and not hub_reachable():
        # Ask once, quickly: otherwise each download below retries for about a minute before failing.
        loud_fallback(
            "the Hugging Face Hub cannot be reached", "switching to offline mode: only cached and local files"
        )
        use_offline_mode()
    data_fallback = False
    with state.local_main_process_first():  # it downloads (a URL, a Hub dataset); the others read its copy
        try:
            data = load_data(config.data, **config.data_options())
        except HubUnavailable as err:
            if not config.fallback_offline:
                raise
            loud_fallback(f"{err}", f"using the bundled synthetic sample {SAMPLE_DATA} instead")
            config, data_fallback = dataclasses.replace(config, data=str(SAMPLE_DATA)), True
            data = load_data(config.data, **config.data_options())
    if config.push_to_hub and not config.allow_demo_model and (data_fallback or is_sample(config.data)):
        raise ToolkitError(  # before the slow part: publish would refuse this model at the end
            "config error: --push-to-hub would publish a model of the synthetic demo sample (data/sample), "
            "which is not a real emotion classifier — pass --allow-demo-model to publish it anyway"
        )
    # Every validation/test text, taken before --max-eval-samples drops some: a flag on any of them
    # must never bring it into training (that would leak evaluation data into a later full run).
    held_out = [text for name in ("validation", "test") if name in data.splits for text in data.splits[name]["text"]]
    data = subsample(data, config.max_train_samples, config.max_eval_samples, config.seed)

    corrections = None
    if config.corrections:  # community flags from the Space fix or extend the training split
        from training.corrections import apply_corrections, format_summary

        train, corrections = apply_corrections(
            data.splits["train"],
            data.labels,
            config.corrections,
            held_out,
            min_votes=config.min_votes,
            max_new_per_client=config.max_new_per_client or None,
        )
        data = replace_splits(data, {**data.splits, "train": train})
        if main_process:
            print(format_summary(corrections))
    fingerprints = {name: split_sha256(ds, data.labels) for name, ds in data.splits.items()}
    check_same_data(state, fingerprints)
    for warning in data.warnings if main_process else ():
        print(f"data warning: {warning}", file=sys.stderr)

    # --- 3. Backbone: a Hub model, a folder, or an alias with its own recommended options ------
    backbone = cfg.resolve_backbone(config)
    with state.local_main_process_first():  # one download of a Hub model per machine
        try:
            model, tokenizer = load_model_and_tokenizer(backbone, data.labels, config.seed)
        except HubUnavailable as err:
            if not config.fallback_offline:
                raise
            loud_fallback(f"{err}", "using the offline backbone (--model offline, all-MiniLM-L6-v2) instead")
            config = cfg.offline_fallback(config, user_set)
            backbone = dataclasses.replace(cfg.resolve_backbone(config), requested=backbone.requested, fallback=True)
            model, tokenizer = load_model_and_tokenizer(backbone, data.labels, config.seed)
    if main_process:
        print_options(config, user_set, backbone, hardware, data)

    # --- 4. Fine-tune (every process) ---------------------------------------------------------------
    tokenized = tokenize_splits(data.splits, tokenizer, config.max_length)
    tuned = fine_tune(config, model, tokenizer, tokenized, data.labels, hardware, out / "checkpoints")

    # --- 5. Predict validation and test with the best epoch, calibrate (every process) --------------
    logits = {
        name: predict_logits(tuned.trainer, tokenized[name]) for name in ("validation", "test") if name in tokenized
    }
    # Temperature scaling, folded into the head's last layer: the saved model (and so the Space, the ONNX
    # export, training.predict and the Hub widget) gives calibrated probabilities; labels cannot change.
    gold = {name: np.asarray(data.splits[name]["label"]) for name in logits}
    probe = probe_batch(tokenizer, tokenized["validation"])
    calibration = calibrate(tuned.trainer.model, probe, logits, gold, enabled=config.calibrate)
    if calibration.applied:  # errors.csv's losses are those of the probabilities the saved model gives
        logits = {name: logit / calibration.temperature for name, logit in logits.items()}
    tuned.trainer.save_model(str(out))  # every process calls it; Trainer writes once: weights, config, tokenizer
    if not main_process:
        return out  # nothing below is collective: the main process alone does it, no process waits

    # --- 6. Figures of the data and baselines on frozen embeddings (main process only) ----------
    baselines, projection = figures_and_baselines(out, data, backbone, config, str(state.device))

    # --- 7. Evaluate ---------------------------------------------------------------------------------
    evaluation = {
        name: classification_metrics(list(data.splits[name]["label"]), logit.argmax(-1), data.labels)
        for name, logit in logits.items()
    }
    split = data.eval_split
    errors = errors_table(
        list(data.splits[split]["text"]), list(data.splits[split]["label"]), logits[split], data.labels
    )

    # --- 8. Write the output folder --------------------------------------------------------------------
    save_figure(
        confusion_figure(evaluation[split]["confusion_matrix"], data.labels, f"Normalized confusion matrix ({split})"),
        out / "confusion_matrix.png",
    )
    raw = logits[split] * calibration.temperature if calibration.applied else logits[split]  # before scaling
    save_figure(
        reliability_figure(raw, gold[split], calibration.temperature, split, applied=calibration.applied),
        out / "calibration.png",
    )
    errors.to_csv(out / "errors.csv", index=False)
    write_json(
        out / "train_config.json",
        {
            "config": published_options(dataclasses.asdict(config)),
            "versions": library_versions(),
            "data": {
                "source": portable_name(data.source),
                "revision": data.revision,
                "files": data.files,
                "fallback": data_fallback,
                "synthetic_sample": data_fallback or is_sample(config.data),
                "split_sha256": fingerprints,
                "sizes": data.sizes(),
            },
            "hardware": dataclasses.asdict(hardware),
            "backbone": backbone.published(),
        },
    )
    write_json(out / LOCAL_PATHS_FILE, local_paths(dataclasses.asdict(config)))  # never published
    write_json(
        out / "metrics.json",
        {
            "labels": data.labels,
            "eval": evaluation,
            "baselines": baselines,
            "training": {
                "seconds": tuned.seconds,
                "samples_per_second": tuned.samples_per_second,
                "processes": state.num_processes,
                "steps": tuned.steps,  # optimizer steps of each process
                "device": hardware.device,
                "precision": hardware.precision,
                "log": tuned.log,
                "schedule": tuned.schedule,
            },
            "calibration": calibration.as_json(),
            "data": {"source": portable_name(data.source), "sizes": data.sizes(), "warnings": data.warnings},
            "embedding_map": projection,
        },
    )
    if corrections is not None:
        write_json(out / "corrections.json", corrections)

    # --- 9. Optional: ONNX export (adds metrics.json["export"]) and publishing ----------------------
    if config.export_onnx:
        from training.export import export_onnx, format_report

        print(format_report(export_onnx(out)))
    if config.push_to_hub:
        push(out, config)

    print_summary(out, evaluation, baselines, tuned, hardware, calibration)
    return out


def figures_and_baselines(out: Path, data, backbone, config, device: str) -> tuple[dict, dict]:
    """Write the figures of the training data; return the two baselines' metrics (on frozen embeddings) and
    how the embedding map was projected (UMAP, or PCA when umap-learn cannot be imported)."""
    out.mkdir(parents=True, exist_ok=True)
    train = data.splits["train"]
    save_figure(class_distribution(list(train["label"]), data.labels), out / "class_distribution.png")
    save_figure(words_per_text(list(train["text"]), list(train["label"]), data.labels), out / "words_per_text.png")
    embeddings = extract_embeddings(
        backbone.resolved,
        {name: list(ds["text"]) for name, ds in data.splits.items()},
        batch_size=config.eval_batch_size,
        max_length=config.max_length,
        device=device,
    )
    features = {name: (embeddings[name], np.asarray(list(ds["label"]))) for name, ds in data.splits.items()}
    train_x, train_y = features.pop("train")
    sample = np.random.default_rng(config.seed).permutation(len(train_y))[:EMBEDDING_MAP_POINTS]
    start = time.perf_counter()
    points, method = project_2d(train_x[sample], config.seed)
    projection = {"method": method, "points": len(sample), "seconds": round(time.perf_counter() - start, 1)}
    save_figure(embedding_map(points, train_y[sample], data.labels, method), out / "embedding_map.png")
    return run_baselines(train_x, train_y, features, data.labels, config.seed), projection


def loud_fallback(problem: str, action: str) -> None:
    """Say, impossible to miss, that the run is not using what was asked for (once per job)."""
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return
    bar = "!" * 100
    print(f"\n{bar}\n!! FALLBACK: {problem}\n!! {action}\n{bar}\n", file=sys.stderr, flush=True)


def hub_reachable(timeout: float = 5.0) -> bool:
    """Whether the Hub endpoint answers at all (any HTTP status counts: it is there)."""
    import urllib.error
    import urllib.request

    from huggingface_hub import constants

    try:
        urllib.request.urlopen(f"{constants.ENDPOINT}/api/whoami-v2", timeout=timeout).close()
    except urllib.error.HTTPError:
        return True  # e.g. 401 without a token: reachable
    except OSError:
        return False
    return True


def use_offline_mode() -> None:
    """From now on huggingface_hub, transformers and datasets use only local files and caches.

    They read HF_HUB_OFFLINE when imported, so their module-level flags are switched too.
    """
    import datasets.config
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    datasets.config.HF_HUB_OFFLINE = True


def print_options(config, user_set: set[str], backbone, hardware, data) -> None:
    """The resolved options (marking the ones the user set), backbone, device and data sizes."""
    print("Resolved options (* = set by you; others are defaults or the backbone alias's recommendation):")
    for name, value in dataclasses.asdict(config).items():
        print(f"  {'*' if name in user_set else ' '} {name:24} {value}")
    print(f"Backbone: {backbone.requested} -> {backbone.resolved}" + (" (fallback)" if backbone.fallback else ""))
    print(f"Hardware: {hardware.device} ({hardware.name}), {hardware.precision}")
    print(f"Data: {data.source}: {data.sizes()}")
    print(f"Examples per class ({' / '.join(data.splits)}):")  # a typo label or a missing class shows here
    for label, counts in data.class_counts().items():
        print(f"  {label:24} {' / '.join(str(n) for n in counts.values())}")


def library_versions() -> dict[str, str]:
    """Versions that decide the result, for train_config.json."""
    versions = {"python": platform.python_version()}
    for package in ("torch", "transformers", "datasets", "accelerate", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def push(out: Path, config) -> None:
    """Publish the folder with the publish part (imported here: only --push-to-hub needs it)."""
    from publish.errors import PublishError
    from publish.hub import publish_folder

    try:
        result = publish_folder(
            out, config.hub_model_id, private=config.hub_private, allow_demo_model=config.allow_demo_model
        )
    except PublishError as err:
        raise ToolkitError(str(err)) from None
    print(f"Published: {result}")


def print_summary(out: Path, evaluation: dict, baselines: dict, tuned, hardware, calibration) -> None:
    """Accuracy and macro F1 of the baselines and the fine-tuned model on each split; epochs and calibration."""
    splits = list(evaluation)
    rows = {
        "majority class": baselines.get("dummy", {}),
        "logistic regression (frozen)": baselines.get("logistic_regression", {}),
        "fine-tuned": evaluation,
    }
    header = "".join(f"{name + ' acc':>16}{name + ' F1':>16}" for name in splits)
    print(f"\n{'model':30}{header}")
    for name, results in rows.items():
        cells = "".join(
            f"{results[s]['accuracy']:>16.1%}{results[s]['f1_macro']:>16.1%}" if s in results else f"{'-':>16}{'-':>16}"
            for s in splits
        )
        print(f"{name:30}{cells}")
    print(f"\nepochs: {tuned.schedule['reason']}")
    ece = ", ".join(f"{s} {v['ece_before']:.4f} -> {v['ece_after']:.4f}" for s, v in calibration.report.items())
    done = "folded into the model" if calibration.applied else f"not applied: {calibration.reason}"
    print(f"calibration: temperature {calibration.temperature:.3f} ({done}); ECE {ece}")
    print(
        f"trained in {tuned.seconds:.0f} s ({tuned.samples_per_second:.1f} samples/s, {hardware.device}, "
        f"{hardware.precision}); output: {out}"
    )


if __name__ == "__main__":
    sys.exit(main())
