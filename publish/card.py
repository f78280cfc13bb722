"""The model card of an output folder: facts read from the files training wrote, rendered with a template.

Pure (no network): :func:`build_facts` reads a run's reports (metrics, train_config, config.json, errors.csv, any
corrections, comparison, traces) into :class:`CardFacts`; :func:`card_data` makes the front matter; :func:`render_card`
fills ``templates/model_card.md``. Decisions live here and in publish.tuning; the template only lays them out.

Text from the data (tweets, labels, reasons, paths) reaches the card only through ``publish.filters.md_text``:
a tweet cannot break a table or inject HTML/markdown; the template's other filters live there too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.utils import HFValidationError, validate_repo_id

from formats.output_folder import (
    COMPARISON_JSON,
    COMPARISON_PNG,
    CONFIG_FILE,
    CORRECTIONS_FILE,
    EMBEDDING_MAP_FIGURE,
    ERRORS_FILE,
    FIGURES,
    METRICS_FILE,
    ONNX_FP32,
    ONNX_INT8,
    TORCH,
    TRAIN_CONFIG_FILE,
    headline_split,
    onnx_path,
    trace_files,
)
from formats.reports import (
    Calibration,
    ClassScores,
    Export,
    SplitScores,
    Thresholds,
    Training,
    is_demo_model,
    read_metrics,
    read_train_config,
)
from publish.filters import FILTERS, MAX_TEXT_CHARS, escape_comparison, md_text, pct
from publish.folder import read_errors, read_json, read_optional_json, required, required_eval
from publish.label_noise import label_noise_lines
from publish.results import (
    EVAL_METRICS,
    EVAL_METRICS_MULTI_LABEL,
    RESULT_WORDS,
    ResultRow,
    baseline_note,
    named_results,
    result_columns,
    result_rows,
)
from publish.tuning import Tuning, read_tuning

TEMPLATE_PATH = Path(__file__).parent / "templates" / "model_card.md"
DEFAULT_LICENSE = "apache-2.0"  # the license of the default backbones (DistilBERT, MiniLM)
ERROR_EXAMPLES = 10  # highest-loss examples shown in the error analysis

# dair-ai/emotion ("split" configuration) is recognised by content, not by name: training writes
# sha256 over each split's rows (text TAB label NEWLINE), equal whether the rows came from the Hub or
# from a local copy of the files such as ../shared/data/emotion.
EMOTION_DATASET = "dair-ai/emotion"
EMOTION_DATASET_CONFIG = "split"
EMOTION_SPLIT_SHA256 = {
    "train": "52c8cce8faa1b2908e40bb99c23095dd35c668a93498c3f5f0f64167414f4890",
    "validation": "a2e8af9db0016a90faa46b5e51d2059ceb2f817fa2e3ef35f28727d621d4b05d",
    "test": "22be3c92d12048019af9346708611353cf53c478b268d92aaa97b19f314c229b",
}
CARER_CITATION = """\
@inproceedings{saravia-etal-2018-carer,
    title = "{CARER}: Contextualized Affect Representations for Emotion Recognition",
    author = "Saravia, Elvis and Liu, Hsien-Chi Toby and Huang, Yen-Hao and Wu, Junlin and Chen, Yi-Shin",
    booktitle = "Proceedings of the 2018 Conference on Empirical Methods in Natural Language Processing",
    year = "2018",
    address = "Brussels, Belgium",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/D18-1404",
    doi = "10.18653/v1/D18-1404",
    pages = "3687--3697",
}"""

EXPORT_VARIANTS = {TORCH: "PyTorch fp32", ONNX_FP32: "ONNX fp32", ONNX_INT8: "ONNX int8 (dynamic quantization)"}
MULTI_LABEL_WIDGET_TEXT = "i was so nervous before the results, and now i am over the moon"


@dataclass(frozen=True)
class CardFacts:
    """Everything the card says, read from one output folder (a CardData-style record; no network)."""

    repo_id: str
    labels: list[str]
    base_model: str | None  # Hub id of the backbone, None when it was a local folder
    model_type: str | None  # from config.json, e.g. "distilbert"
    license: str
    dataset_id: str | None  # Hub dataset id when known (front matter `datasets`)
    dataset_config: str | None
    dataset_revision: str | None
    dataset_source: str  # what --data was (a local path by its name)
    synthetic_sample: bool  # trained on the bundled synthetic sample (data/sample): not a real classifier
    is_emotion_dataset: bool  # dair-ai/emotion: CARER citation, tweet-specific limitations
    dataset_sizes: dict[str, int]
    data_warnings: list[str]
    eval: dict[str, SplitScores]  # split -> the fine-tuned model's figures
    baselines: dict[str, dict[str, SplitScores]]  # name -> split -> figures
    headline_split: str  # "test", or "validation" when there is no test split
    result_columns: list[tuple[str, str]]  # (split, metrics.json key) of the results table
    results: list[ResultRow]  # the fine-tuned model (multi-label: also at 0.5), then the baselines
    baseline_note: str  # where a baseline is as good as the fine-tuned model or better, in one sentence; or ""
    weakest: list[tuple[str, float, str]]  # (label, F1, precision_recall_note) of the weakest classes
    errors: list[dict[str, str]]  # highest-loss examples: index, text, label, predicted, loss, words (escaped)
    plots: list[tuple[str, str]]  # (file, title) present in the folder
    hyperparameters: dict[str, Any]
    versions: dict[str, str | None]
    hardware: dict[str, str]
    training: Training  # seconds, samples_per_second, device, log, schedule
    calibration: Calibration | None  # runs before calibration have none; splits: those with all four figures
    max_length: int | None
    export: Export | None
    corrections: dict[str, Any] | None
    comparison: dict[str, Any] | None
    has_comparison_plot: bool
    has_traces: bool  # TensorBoard event files: the Hub shows them in the repo's Training metrics tab
    space_id: str | None = None
    multi_label: bool = False  # metrics.json "task": a set of labels per text, decided by thresholds
    thresholds: Thresholds | None = None  # multi-label: objective, values, notes (escaped)
    tuning: Tuning | None = None  # --search and --seeds: the "How it was tuned" section (publish.tuning)
    label_noise: tuple[str, ...] = ()  # training.audit's estimate and --correct-eval's figures (publish.label_noise)

    @property
    def model_name(self) -> str:
        return model_name_of(self.repo_id)

    @property
    def onnx_file(self) -> str:
        """The ONNX model to point users at: int8 unless the export's accuracy guard refused it."""
        refused = self.export is not None and self.export.int8_accepted is False
        return onnx_path(ONNX_FP32 if refused else ONNX_INT8)

    @property
    def per_label_ece(self) -> dict[str, float] | None:
        """Multi-label: each label's ECE on the headline split (after scaling when it was applied), or None."""
        figures = self.calibration.splits.get(self.headline_split) if self.calibration else None
        if figures is None or figures.per_label_ece_after is None:
            return None
        return figures.per_label_ece_after if self.calibration.applied else figures.per_label_ece_before

    @property
    def log_columns(self) -> list[str]:
        """Columns of the training log table: every key any entry has, in first-seen order."""
        return list(dict.fromkeys(key for entry in self.training.log for key in entry))


def model_name_of(repo_id: str) -> str:
    """The model's name: its repo id without the namespace."""
    return repo_id.split("/")[-1]


def hub_id_or_none(value: Any) -> str | None:
    """``value`` if it is a valid Hub repo id (``name`` or ``namespace/name``), else None (a local path)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        validate_repo_id(value)
    except HFValidationError:
        return None
    return value


def is_emotion_dataset(source: str, split_sha256: dict) -> bool:
    """True for dair-ai/emotion, by name or by the content hash of any of its splits."""
    if source in (EMOTION_DATASET, "emotion"):
        return True
    return any(split_sha256.get(split) == digest for split, digest in EMOTION_SPLIT_SHA256.items())


def precision_recall_note(scores: ClassScores, gap: float = 0.1) -> str:
    """What a class's F1 hides when its precision and recall are more than ``gap`` apart, else "".

    Class-weighted training typically buys a rare class its recall with precision: the card then says
    that the class is predicted too often, rather than that it is "predicted less reliably".
    """
    precision, recall = scores.precision, scores.recall
    if precision is None or recall is None or abs(precision - recall) <= gap:
        return ""
    if precision < recall:
        return f"predicted too often: precision {pct(precision)}%, recall {pct(recall)}%"
    return f"often missed: recall {pct(recall)}%, precision {pct(precision)}%"


def plot_title(file: str, title: str, embedding_map_method: str | None) -> str:
    """A figure's title in the card; the embedding map names its projection (UMAP, or PCA as the fallback)."""
    method = embedding_map_method
    return f"{title} ({method} of frozen embeddings)" if file == EMBEDDING_MAP_FIGURE and method else title


def card_calibration(calibration: Calibration | None) -> Calibration | None:
    """The calibration the card can state: whether it was applied and its temperature known, and the splits
    with all four figures; None otherwise."""
    if calibration is None or calibration.applied is None or calibration.temperature is None:
        return None
    return replace(calibration, splits={split: v for split, v in calibration.splits.items() if v.complete})


def build_facts(
    output_dir: str | Path, repo_id: str, *, space_id: str | None = None, license: str = DEFAULT_LICENSE
) -> CardFacts:
    """Read an output folder into the facts of its model card.

    Args:
        output_dir: a folder written by ``python -m training``.
        repo_id: the model repo the card is for (``namespace/name``), used in snippets and the model-index.
        space_id: the Space serving the model, if one was deployed (adds a ``gradio_client`` snippet).
        license: the model's license identifier for the front matter.

    Raises:
        PublishError: a required file or field is missing or malformed.
    """
    folder = Path(output_dir)
    metrics_path = folder / METRICS_FILE
    raw_metrics, raw_train_config = read_json(metrics_path), read_json(folder / TRAIN_CONFIG_FILE)
    metrics, train_config = read_metrics(raw_metrics), read_train_config(raw_train_config)
    model_config = read_optional_json(folder / CONFIG_FILE) or {}

    labels = list(required(metrics.labels, raw_metrics, "labels", metrics_path, "a list of class names"))
    evals = required_eval(metrics, raw_metrics, metrics_path)
    split = headline_split(evals)
    classes = [(label, scores) for label, scores in evals[split].per_class.items() if scores.f1 is not None]
    weakest = sorted(classes, key=lambda item: item[1].f1)[:2]
    columns = result_columns(evals, metrics.multi_label)

    data = train_config.data
    source = data.source or metrics.data.source or "unknown"
    emotion = is_emotion_dataset(source, data.split_sha256)
    # Local files (and URLs) have their sha256 recorded: their name is no Hub id even when it looks like one.
    hub_source = None if data.files else hub_id_or_none(source)
    dataset_id = EMOTION_DATASET if emotion else (source if data.revision else hub_source)
    corrections = read_optional_json(folder / CORRECTIONS_FILE)
    comparison = read_optional_json(folder / COMPARISON_JSON)

    return CardFacts(
        repo_id=repo_id,
        labels=labels,
        base_model=hub_id_or_none(train_config.backbone_hub_id),
        model_type=model_config.get("model_type"),
        license=license,
        dataset_id=dataset_id,
        dataset_config=EMOTION_DATASET_CONFIG if emotion else None,
        dataset_revision=data.revision,
        dataset_source=source,
        synthetic_sample=is_demo_model(train_config),
        is_emotion_dataset=emotion,
        dataset_sizes=data.sizes or metrics.data.sizes,
        data_warnings=[md_text(w) for w in metrics.data.warnings],
        eval=evals,
        baselines=metrics.baselines,
        headline_split=split,
        result_columns=columns,
        results=result_rows(named_results(model_name_of(repo_id), metrics), columns),
        baseline_note=baseline_note(evals, metrics.baselines, columns),
        weakest=[(md_text(label), scores.f1, precision_recall_note(scores)) for label, scores in weakest],
        errors=read_errors(folder / ERRORS_FILE, ERROR_EXAMPLES, MAX_TEXT_CHARS),
        plots=[
            (name, plot_title(name, title, metrics.embedding_map_method))
            for name, title in FIGURES.items()
            if (folder / name).is_file()
        ],
        hyperparameters=train_config.options,
        versions=train_config.versions,
        hardware=train_config.hardware,
        training=metrics.training,
        calibration=card_calibration(metrics.calibration),
        max_length=train_config.max_length,
        export=metrics.export,
        corrections=escape_corrections(corrections) if corrections else None,
        comparison=escape_comparison(comparison) if comparison else None,
        has_comparison_plot=(folder / COMPARISON_PNG).is_file(),
        has_traces=bool(trace_files(folder)),
        space_id=space_id,
        label_noise=label_noise_lines(folder, raw_metrics),
        multi_label=metrics.multi_label,
        thresholds=(
            replace(metrics.thresholds, notes=tuple(md_text(n) for n in metrics.thresholds.notes))
            if metrics.multi_label and metrics.thresholds
            else None
        ),
        tuning=read_tuning(folder, raw_metrics),
    )


def escape_corrections(corrections: dict) -> dict:
    """corrections.json with its rejected flags (texts and reasons: data) made card-safe."""
    return {
        **corrections,
        "rejections": [
            {key: md_text(value, MAX_TEXT_CHARS) for key, value in r.items()} for r in corrections.get("rejections", [])
        ],
    }


def eval_results(facts: CardFacts) -> list[EvalResult]:
    """Accuracy and macro/weighted F1 of the fine-tuned model on each evaluated split, for the model-index."""
    dataset_name = facts.dataset_id or Path(facts.dataset_source).name or "custom"
    return [
        EvalResult(
            task_type="text-classification",
            task_name="Text Classification",
            dataset_type=facts.dataset_id or "custom",
            dataset_name=dataset_name,
            dataset_config=facts.dataset_config,
            dataset_split=split,
            dataset_revision=facts.dataset_revision,
            metric_type=metric_type,
            metric_value=round(facts.eval[split].figure(key), 4),
            metric_name=name,
            metric_args=args,
        )
        for split in facts.eval
        for key, metric_type, name, args in (EVAL_METRICS_MULTI_LABEL if facts.multi_label else EVAL_METRICS)
    ]


def tags(facts: CardFacts) -> list[str]:
    """Hub tags: the task, the architecture, the domain when known, and ``onnx`` when exported."""
    result = ["text-classification"]
    if facts.multi_label:
        result.append("multi-label-classification")
    if facts.model_type:
        result.append(facts.model_type)
    if facts.is_emotion_dataset:
        result += ["emotion", "twitter"]
    if facts.export:
        result.append("onnx")
    if facts.corrections:
        result.append("community-corrections")
    return result


def card_data(facts: CardFacts) -> ModelCardData:
    """The card's front matter as ``ModelCardData`` (the Hub reads it for widgets, search and results)."""
    return ModelCardData(
        language="en",
        license=facts.license,
        library_name="transformers",
        pipeline_tag="text-classification",
        base_model=facts.base_model,
        datasets=[facts.dataset_id] if facts.dataset_id else None,
        metrics=["accuracy", "f1"],
        tags=tags(facts),
        model_name=facts.model_name,
        eval_results=eval_results(facts),
        # The Hub's widget runs the pipeline, which applies a sigmoid to a multi_label_classification model: an
        # example with two emotions in it shows the per-label probabilities the thresholds are compared with.
        widget=[{"text": MULTI_LABEL_WIDGET_TEXT}] if facts.multi_label else None,
    )


def render_card(facts: CardFacts) -> ModelCard:
    """Render the model card (front matter + body) from its facts.

    The template is rendered with StrictUndefined (a misspelt field fails loudly instead of leaving a
    hole in the card) and trim_blocks/lstrip_blocks (control lines leave no blank lines), then parsed
    by ``ModelCard``, which checks the front matter and the model-index round trip.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_PATH.parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    template = env.get_template(TEMPLATE_PATH.name)
    content = template.render(
        card_data=card_data(facts).to_yaml(),
        facts=facts,
        result_words=RESULT_WORDS,
        export_variants=EXPORT_VARIANTS,
        citation=CARER_CITATION,
    )
    return ModelCard(content)
