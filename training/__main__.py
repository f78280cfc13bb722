"""Fine-tune a transformer to classify short texts, and write an evaluated, self-describing model folder.

    python -m training --data dair-ai/emotion --output-dir runs/emotion
    python -m training --data ./my_tweets/ --model offline --epochs 3 --output-dir runs/mine
    python -m training --config demo.yaml          # options from YAML/JSON (or a saved train_config.json)
    python -m training --help                      # every option, with help text

:func:`run` is the table of contents: options -> data -> backbone -> fine-tuning and calibration -> figures
and baselines -> evaluation -> the output folder (docs/output_folder.md) -> export, push -> summary. Each
stage hands the next a small frozen dataclass. Under ``torchrun`` / ``accelerate launch`` the job is one
(``training.distributed``): every process trains on its share of each epoch and predicts; the main process
alone prints, writes the files, and makes the figures and baselines, after the last step that every process
takes part in, so that no process waits on it.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import uuid
from importlib import metadata
from pathlib import Path

from huggingface_hub import is_offline_mode

from formats.output_folder import (
    CHECKPOINTS_DIR,
    CORRECTIONS_FILE,
    DYNAMICS_FILE,
    ERRORS_FILE,
    LOCAL_PATHS_FILE,
    METRICS_FILE,
    MULTI_LABEL,
    TRAIN_CONFIG_FILE,
    headline_split,
    write_json,
)
from formats.writing import claim_staging, discard_staging, folder_refusal, staging_folder, swap_in
from training import config as cfg
from training.backbones import offline_fallback, resolve_backbone
from training.console import print_options, print_summary
from training.corrected_eval import correct_evaluation_splits, metrics_before, uncorrected_logits
from training.data.labels import label_set_stats
from training.data.load import (
    SAMPLE_DATA,
    LoadedData,
    gold_labels,
    is_sample,
    load_data,
    split_sha256,
    subsample,
)
from training.distributed import check_same_data, init_processes, main_process_value
from training.errors import HubUnavailable, ToolkitError, one_line_errors
from training.offline import hub_reachable, loud_fallback, use_offline_mode
from training.paths import local_paths, portable_name, published_options
from training.quality.calibration import calibrate, calibrate_multi_label, probe_batch
from training.quality.dynamics import write_dynamics
from training.quality.evaluate import classification_metrics, errors_table
from training.quality.explain_errors import explain_errors, model_predict
from training.quality.figures import figures_and_baselines, write_headline_figures
from training.quality.multi_label import errors_table as multi_label_errors
from training.quality.multi_label import multi_label_metrics, tune_thresholds
from training.runtime import sigmoid
from training.stages import Inputs, Job, Report, Start, Thresholds, Tuned
from training.train import (
    detect_hardware,
    fine_tune,
    load_model_and_tokenizer,
    predict_logits,
    tokenize_splits,
)
from training.tuning.search import forget_search, search_options
from training.tuning.seeds import train_seeds


@one_line_errors
def main(argv: list[str] | None = None, prog: str = cfg.COMMAND) -> int:
    """Run the pipeline; a user error is one line on stderr and exit status 2 (no traceback).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk train`` when run by ``emotk``).
    """
    run(argv, prog)
    return 0


def run(argv: list[str] | None = None, prog: str = cfg.COMMAND) -> Path:
    """The whole pipeline, stage by stage; returns the output folder."""
    job = start_job(argv, prog)  # options, hardware, and which process this is under torchrun / accelerate
    try:
        return train_and_report(job)
    except BaseException:  # a failed run leaves nothing behind; the folder it would replace is untouched
        if job.main_process:
            discard_staging(job.out)
        raise


def train_and_report(job: Job) -> Path:
    """Everything after start-up, written into ``job.out`` and swapped into ``job.folder`` at the end."""
    inputs = load_inputs(job)  # validated before anything slow happens; corrections applied
    start = load_backbone(job, inputs)  # a Hub model, a folder, or an alias with its recommended options
    start, search = search_options(job, inputs, start)  # --search N: the options of the best of N trials
    # every process; the best epoch (--seeds K: of the median seed), saved
    tuned, seeds = train_seeds(start, inputs.data, lambda s: fine_tune_and_calibrate(job, inputs, s), evaluate_splits)
    tuned.fine_tuned.trainer.save_model(str(job.out))  # every process calls it; Trainer writes once
    if not job.main_process:
        return job.folder  # nothing below is collective: the main process alone does it, no process waits
    baselines, projection = figures_and_baselines(job.out, inputs.data, start.backbone, start.config, job.device)
    evaluation = evaluate_splits(inputs.data, tuned)
    thresholds = tuned.thresholds.in_order() if tuned.thresholds else None
    before = metrics_before(inputs.data, inputs.uncorrected, tuned.uncorrected_logits, thresholds)  # --correct-eval
    write_output_folder(job, inputs, start, tuned, Report(evaluation, baselines, projection, search, seeds, before))
    if start.config.export_onnx:
        from training.export import export_onnx, format_report

        print(format_report(export_onnx(job.out)))
    swap_in(job.out, job.folder)  # the whole run at once: readers never meet a mix of two runs' files
    forget_search(start.config, job.folder)  # the run holds its own copy of the study now
    if start.config.push_to_hub:
        push(job.folder, start.config)
    print_summary(job.folder, evaluation, baselines, tuned.fine_tuned, job.hardware, tuned.calibration)
    for note in tuned.thresholds.notes if tuned.thresholds else ():
        print(f"thresholds: {note}")
    return job.folder


# ----------------------------------------------------------------------------- the stages


def start_job(argv: list[str] | None, prog: str) -> Job:
    """Parse the options and join the other processes of the job (one process otherwise)."""
    config, user_set = cfg.parse_config(argv, prog)
    folder = Path(config.output_dir)
    refusal = folder_refusal(
        folder, "--output-dir", overwrite=config.overwrite_output_dir, replace_option="--overwrite-output-dir"
    )
    if refusal:
        raise ToolkitError(f"config error: {refusal}")
    hardware = detect_hardware(config.precision)
    state = init_processes(hardware.device)
    out = staging_folder(folder, main_process_value(state, uuid.uuid4().hex[:8]))
    if state.is_main_process:
        for abandoned in claim_staging(out):  # the staging folders of earlier runs of this folder that were killed
            print(f"removed {abandoned}: the unfinished output of an earlier run of {folder} that was killed")
    else:
        out.mkdir(parents=True, exist_ok=True)
    return Job(config, user_set, hardware, state, out, folder)


def load_inputs(job: Job) -> Inputs:
    """Load and check the data (the bundled sample, loudly, when it cannot be downloaded and the run opted
    in); apply --corrections; check that every process read the same data."""
    config = job.config
    if config.fallback_offline and not is_offline_mode() and not hub_reachable():
        # Ask once, quickly: otherwise each download below retries for about a minute before failing.
        loud_fallback(
            "the Hugging Face Hub cannot be reached", "switching to offline mode: only cached and local files"
        )
        use_offline_mode()
    with job.state.local_main_process_first():  # it downloads (a URL, a Hub dataset); the others read its copy
        data, fallback = read_data_or_sample(config)
    if fallback:
        config = dataclasses.replace(config, data=str(SAMPLE_DATA))
    if config.push_to_hub and not config.allow_demo_model and (fallback or is_sample(config.data)):
        raise ToolkitError(  # before the slow part: publish would refuse this model at the end
            "config error: --push-to-hub would publish a model of the synthetic demo sample (data/sample), "
            "which is not a real emotion classifier — pass --allow-demo-model to publish it anyway"
        )
    # Every validation/test text, taken before --max-eval-samples drops some: a flag on any of them
    # must never bring it into training (that would leak evaluation data into a later full run).
    held_out = data.held_out_texts()
    data = subsample(data, config.max_train_samples, config.max_eval_samples, config.seed)
    data, corrections = correct_training_split(data, config, held_out, job.main_process)
    data, uncorrected = correct_evaluation_splits(data, config)  # --correct-eval: an audit's validation/test rows
    fingerprints = {name: split_sha256(ds, data.labels) for name, ds in data.splits.items()}
    check_same_data(job.state, fingerprints)
    for warning in data.warnings if job.main_process else ():
        print(f"data warning: {warning}", file=sys.stderr)
    for note in cfg.single_label_notes(config) if job.main_process and not data.multi_label else ():
        print(f"note: {note}", file=sys.stderr)
    return Inputs(config, data, fallback, fingerprints, corrections, uncorrected)


def read_data_or_sample(config: cfg.TrainConfig) -> tuple[LoadedData, bool]:
    """``--data``, or with ``--fallback-offline`` the bundled sample when it cannot be downloaded; whether the
    sample replaced it."""
    try:
        return load_data(config.data, **config.data_options()), False
    except HubUnavailable as err:
        if not config.fallback_offline:
            raise
        loud_fallback(f"{err}", f"using the bundled synthetic sample {SAMPLE_DATA} instead")
        return load_data(str(SAMPLE_DATA), **config.data_options()), True


def correct_training_split(
    data: LoadedData, config: cfg.TrainConfig, held_out: list[str], main_process: bool
) -> tuple[LoadedData, dict | None]:
    """With --corrections, the community's flags from the Space fix or extend the training split."""
    if not config.corrections:
        return data, None
    from training.corrections.apply import apply_run_corrections, format_summary

    data, summary = apply_run_corrections(data, config, held_out)
    if main_process:
        print(format_summary(summary))
    return data, summary


def load_backbone(job: Job, inputs: Inputs) -> Start:
    """The backbone with a fresh classification head for the data's labels; with --fallback-offline the offline
    backbone (and its recommended options), loudly, when the requested one cannot be downloaded."""
    config, multi = inputs.config, inputs.data.multi_label
    backbone = resolve_backbone(config)
    with job.state.local_main_process_first():  # one download of a Hub model per machine
        try:
            model, tokenizer = load_model_and_tokenizer(backbone, inputs.data.labels, config.seed, multi)
        except HubUnavailable as err:
            if not config.fallback_offline:
                raise
            loud_fallback(f"{err}", "using the offline backbone (--model offline, all-MiniLM-L6-v2) instead")
            config = offline_fallback(config, job.user_set)
            backbone = dataclasses.replace(resolve_backbone(config), requested=backbone.requested, fallback=True)
            model, tokenizer = load_model_and_tokenizer(backbone, inputs.data.labels, config.seed, multi)
    if job.main_process:
        print_options(config, job.user_set, backbone, job.hardware, inputs.data)
    return Start(config, backbone, model, tokenizer)


def fine_tune_and_calibrate(job: Job, inputs: Inputs, start: Start) -> Tuned:
    """Fine-tune (every process), predict validation and test with the best epoch, and fold the temperature into
    the head where it helps."""
    data, config = inputs.data, start.config
    multi = data.multi_label
    tokenized = tokenize_splits(data.splits, start.tokenizer, config.max_length, len(data.labels) if multi else None)
    tuned = fine_tune(
        config, start.model, start.tokenizer, tokenized, data.labels, job.hardware, job.out / CHECKPOINTS_DIR
    )
    logits = {
        name: predict_logits(tuned.trainer, tokenized[name]) for name in ("validation", "test") if name in tokenized
    }
    gold = {name: gold_labels(data, name) for name in logits}
    probe = probe_batch(start.tokenizer, tokenized["validation"])
    calibration, logits, thresholds = calibrate_and_tune(tuned.trainer.model, probe, data, logits, gold, config)
    before = uncorrected_logits(
        tuned.trainer, start.tokenizer, inputs.uncorrected, config, len(data.labels) if multi else None
    )
    return Tuned(tuned, logits, gold, calibration, thresholds, before)


def calibrate_and_tune(model, probe, data: LoadedData, logits: dict, gold: dict, config):
    """Temperature scaling, folded into the head's last layer where it helps: the saved model (and so the Space,
    the ONNX export, training.predict and the Hub widget) gives calibrated probabilities and no label changes.
    For multi-label data, then the decision thresholds, tuned on the calibrated validation probabilities and
    set in the model's config (saved in its config.json).

    Returns:
        The calibration, the logits of the saved model (divided by T when it is folded in: errors.csv's losses
        are those of the probabilities the saved model gives), and the thresholds (None for single-label).
    """
    if data.multi_label:
        calibration = calibrate_multi_label(model, probe, logits, gold, data.labels, enabled=config.calibrate)
    else:
        calibration = calibrate(model, probe, logits, gold, enabled=config.calibrate)
    if calibration.applied:
        logits = {name: logit / calibration.temperature for name, logit in logits.items()}
    if not data.multi_label:
        return calibration, logits, None
    values, notes = tune_thresholds(
        gold["validation"], sigmoid(logits["validation"]), data.labels, config.threshold_objective
    )
    thresholds = Thresholds(config.threshold_objective, dict(zip(data.labels, values.tolist(), strict=True)), notes)
    model.config.label_thresholds = thresholds.values
    return calibration, logits, thresholds


def evaluate_splits(data: LoadedData, tuned: Tuned) -> dict:
    """The fine-tuned model's metrics on each evaluated split (multi-label: at its thresholds and at 0.5)."""
    if data.multi_label:
        thresholds = tuned.thresholds.in_order()
        return {
            name: multi_label_metrics(tuned.gold[name], sigmoid(logit), thresholds, data.labels)
            for name, logit in tuned.logits.items()
        }
    return {
        name: classification_metrics(list(data.splits[name]["label"]), logit.argmax(-1), data.labels)
        for name, logit in tuned.logits.items()
    }


def write_output_folder(job: Job, inputs: Inputs, start: Start, tuned: Tuned, report: Report) -> None:
    """Write the files of the output folder (the contract in docs/output_folder.md) that the figures and
    baselines did not: the headline split's figures and errors, the options, the metrics, the corrections."""
    data, out, split = inputs.data, job.out, headline_split(tuned.logits)
    labels, logits, calibration = data.labels, tuned.logits[split], tuned.calibration
    write_headline_figures(out, data, split, report.evaluation[split], logits, tuned.gold[split], calibration)
    texts = list(data.splits[split]["text"])
    if data.multi_label:
        table = multi_label_errors(texts, tuned.gold[split], logits, tuned.thresholds.in_order(), labels)
    else:
        table = errors_table(texts, list(data.splits[split]["label"]), logits, labels)
    predict = model_predict(tuned.fine_tuned.trainer.model, start.tokenizer, start.config.max_length, data)
    explain_errors(table, predict, multi_label=data.multi_label).to_csv(out / ERRORS_FILE, index=False)
    write_json(out / TRAIN_CONFIG_FILE, train_config_json(job, inputs, start))
    write_json(out / LOCAL_PATHS_FILE, local_paths(dataclasses.asdict(start.config)))  # never published
    write_json(out / METRICS_FILE, metrics_json(job, data, tuned, report))
    if inputs.corrections is not None:
        write_json(out / CORRECTIONS_FILE, inputs.corrections)
    if tuned.fine_tuned.dynamics is not None:  # for training.audit --method dynamics
        write_dynamics(out / DYNAMICS_FILE, list(data.splits["train"]["text"]), tuned.fine_tuned.dynamics)


def train_config_json(job: Job, inputs: Inputs, start: Start) -> dict:
    """train_config.json: the resolved options, library versions, the data's provenance, hardware, backbone."""
    data = inputs.data
    return {
        # The output folder by its name, as a folder: it is not there yet (the run is swapped in at the end).
        "config": {
            **published_options(dataclasses.asdict(start.config)),
            "output_dir": f"{job.folder.resolve().name}/",
        },
        "versions": library_versions(),
        "data": {
            "source": portable_name(data.source),
            "revision": data.revision,
            "files": data.files,
            "fallback": inputs.fallback,
            "synthetic_sample": inputs.fallback or is_sample(inputs.config.data),
            "split_sha256": inputs.fingerprints,
            "sizes": data.sizes(),
        },
        "hardware": dataclasses.asdict(job.hardware),
        "backbone": start.backbone.published(),
    }


def metrics_json(job: Job, data: LoadedData, tuned: Tuned, report: Report) -> dict:
    """metrics.json: the model's and the baselines' metrics, how training went, calibration, the data."""
    fine_tuned = tuned.fine_tuned
    task = {"task": MULTI_LABEL, "thresholds": dataclasses.asdict(tuned.thresholds)} if data.multi_label else {}
    label_sets = {name: label_set_stats(ds["label"]) for name, ds in data.splits.items()} if data.multi_label else None
    return {
        **task,
        "labels": data.labels,
        "eval": report.evaluation,
        **({"eval_before_corrections": report.before} if report.before else {}),
        "baselines": report.baselines,
        "training": {
            "seconds": fine_tuned.seconds,
            "samples_per_second": fine_tuned.samples_per_second,
            "processes": job.state.num_processes,
            "steps": fine_tuned.steps,  # optimizer steps of each process
            "device": job.hardware.device,
            "precision": job.hardware.precision,
            "log": fine_tuned.log,
            "schedule": fine_tuned.schedule,
        },
        "calibration": tuned.calibration.as_json(),
        "data": {
            "source": portable_name(data.source),
            "sizes": data.sizes(),
            "warnings": data.warnings,
            **({"label_sets": label_sets} if label_sets else {}),
        },
        "embedding_map": report.projection,
        **{key: value for key, value in (("search", report.search), ("seeds", report.seeds)) if value},
    }


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
    from publish.hub import publish_folder  # its PublishError is a ToolkitError: one line, exit 2

    result = publish_folder(
        out, config.hub_model_id, private=config.hub_private, allow_demo_model=config.allow_demo_model
    )
    print(f"Published: {result}")


if __name__ == "__main__":
    sys.exit(main())
