"""The page: its layout, and what it tells a visitor — what the model is, how to use it, the limits, and what
happens to a flag. Advice for whoever runs the Space (a missing secret, a dataset to sync to) goes to the
server's log instead (app.py, at start-up): a visitor can do nothing with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import about
import backend
import explain_view
import flags
import gradio as gr
import label_sets
import visitors
from gradio.components.label import LabelData

MAX_NOTE_CHARS = 500
MAX_FLAG_CHARS = 1000  # a tweet is at most 280 characters: room to spare, and no essays in the training set
# /predict takes up to ten times what the model reads: max_length tokens of about 4 characters each.
TEXT_CAP_FACTOR, CHARS_PER_TOKEN = 10, 4
EXAMPLES = [
    "i feel so lonely since my best friend moved away",
    "just got the job offer, i can't stop smiling!!",
    "i adore the way you laugh at my terrible jokes",
    "why does the bus always leave two minutes early, so annoyed",
    "there is a strange noise downstairs and i'm home alone",
    "wait, you actually drove all the way here just to see me?",
]
HUB_DATASETS = "https://huggingface.co/datasets"


def max_text_chars(model: backend.Backend) -> int:
    """The longest text /predict classifies, in characters: ten times what the model reads (its max_length
    tokens, about 4 characters each). A longer text would cost memory and time to tokenize whole, only for
    the model to read its beginning."""
    return TEXT_CAP_FACTOR * model.max_length * CHARS_PER_TOKEN


class LabelSetData(LabelData):
    """gr.Label's value plus the predicted set of a multi-label model (None for a message, as for an empty text)."""

    predicted: list[str] | None = None


def set_label(model: backend.Backend) -> gr.Label:
    """A multi-label model's bars: gr.Label, whose value (:func:`label_sets.answer`) also carries ``predicted``,
    what /predict and the MCP tool answer. A single-label model keeps the plain gr.Label, so that its answer
    keeps its exact shape.

    The instance's own ``postprocess`` and ``data_model`` rather than a subclass: gradio writes a ``.pyi`` file
    beside the module of every Component subclass each time it is imported, into the Space's own folder.
    """
    bars = gr.Label(label="Probability of each label", num_top_classes=len(model.labels))
    plain = bars.postprocess

    def postprocess(value: dict | str | None) -> LabelSetData | dict:
        if isinstance(value, dict) and "predicted" in value:
            shown = plain(value["confidences"])  # every label, highest first
            return LabelSetData(label=value["label"], confidences=shown.confidences, predicted=value["predicted"])
        shown = plain(value)  # a message (an empty text): no confidences, no set
        return LabelSetData(**shown.model_dump()) if isinstance(shown, LabelData) else shown

    bars.postprocess, bars.data_model = postprocess, LabelSetData
    return bars


def label_choices(model: backend.Backend) -> gr.CheckboxGroup:
    """A check box per label for a multi-label flag; none checked means none of these.

    Its value reaches the flag's own check as sent (app.Flagger.check): gradio's check of the choices would
    refuse an unknown label with a traceback in the log, the flag's with one line (as the dropdown's
    ``allow_custom_value`` does for a single label).
    """
    boxes = gr.CheckboxGroup(model.labels, value=[], label="Correct labels (none checked: none of these)")
    boxes.preprocess = lambda payload: payload
    return boxes


@dataclass
class Page:
    """The components of the page that events read or write."""

    text: gr.Textbox
    classify_button: gr.Button
    truncated: gr.Markdown
    probabilities: gr.Label  # set_label's for a multi-label model
    tokens: gr.Dataframe
    corrected: gr.Dropdown | gr.CheckboxGroup  # one label, or a multi-label model's set (label_choices)
    note: gr.Textbox
    flag_button: gr.Button
    record_id: gr.Textbox
    explanation: gr.HighlightedText  # Why this label? (explain_view)
    explained_label: gr.Dropdown  # the class it explains, which the visitor may change


def lay_out_page(model: backend.Backend, *, heading: str, flag_intro: str, sign_in: bool) -> Page:
    """Lay out the page inside the current ``gr.Blocks``: the heading, the classifier, then the flag panel."""
    gr.Markdown(heading)
    with gr.Row():
        text, classify_button, truncated = lay_out_input(model)
        probabilities, tokens, explanation = lay_out_outputs(model)
    corrected, note, flag_button, record_id = lay_out_flag_panel(model, flag_intro, sign_in=sign_in)
    return Page(
        text, classify_button, truncated, probabilities, tokens, corrected, note, flag_button, record_id, *explanation
    )


def lay_out_input(model: backend.Backend) -> tuple[gr.Textbox, gr.Button, gr.Markdown]:
    """The left column: the tweet, the Classify button, the truncation note and the examples."""
    with gr.Column():
        text = gr.Textbox(label="Tweet", placeholder="Type or paste a tweet…", lines=3)
        classify_button = gr.Button("Classify", variant="primary")
        gr.Markdown(
            f"Texts longer than {model.max_length} tokens are truncated: the model reads only the beginning. "
            f"Texts over {max_text_chars(model)} characters are not classified."
        )
        truncated = gr.Markdown()
        gr.Examples(EXAMPLES, inputs=text)
    return text, classify_button, truncated


def lay_out_outputs(model: backend.Backend) -> tuple[gr.Label, gr.Dataframe, tuple]:
    """The right column: a bar per class, why (:func:`explain_view.lay_out`), and the tokens in a collapsed panel."""
    with gr.Column():
        if label_sets.is_multi_label(model):
            probabilities = set_label(model)
            gr.Markdown(set_line(model))
        else:
            probabilities = gr.Label(label="Probability of each class", num_top_classes=len(model.labels))
        explanation = explain_view.lay_out(model)
        with gr.Accordion("How the tokenizer splits your text (WordPiece tokens)", open=False):
            tokens = gr.Dataframe(headers=["token", "id"], datatype=["str", "number"], interactive=False)
    return probabilities, tokens, explanation


def lay_out_flag_panel(
    model: backend.Backend, intro: str, *, sign_in: bool
) -> tuple[gr.Dropdown, gr.Textbox, gr.Button, gr.Textbox]:
    """The panel under the classifier: who may flag and what happens to a flag, then the correct label and a note."""
    with gr.Column(variant="panel"):
        gr.Markdown(intro)
        if sign_in:
            gr.LoginButton()
        with gr.Row():
            if label_sets.is_multi_label(model):
                corrected = label_choices(model)
            else:
                corrected = gr.Dropdown(model.labels, value=None, label="Correct label", allow_custom_value=True)
            note = gr.Textbox(label="Note (optional)", max_length=MAX_NOTE_CHARS)
        flag_button = gr.Button("Flag")
        record_id = gr.Textbox(label="Saved flag record id", interactive=False)
    return corrected, note, flag_button, record_id


def set_line(model: backend.Backend) -> str:
    """The one line under a multi-label model's bars: what they mean, and each label's threshold."""
    thresholds = ", ".join(f"{label} {about.percent(model.thresholds[label])}" for label in model.labels)
    return (
        "Each bar is that label's own probability, so they do not add up to 100%; the labels at or above their "
        f"threshold are the prediction (thresholds: {thresholds})."
    )


def heading(model: backend.Backend, model_id: str, model_revision: str | None, reports: dict[str, dict]) -> str:
    """The page's title, a warning when the model is a demo model, the model (a local folder by its name only),
    its revision, backend and classes, then what its reports say it is (:func:`about.facts_line`)."""
    revision = f" @ `{model_revision}`" if model_revision else ""
    lines = [
        "# Tweet emotion classifier",
        about.DEMO_WARNING if about.is_demo_model(reports) else "",
        f"Model `{flags.public_model_name(model_id)}`{revision} · backend {model.name} · "
        f"classes: {', '.join(model.labels)}",
        about.facts_line(reports),
    ]
    return "\n\n".join(line for line in lines if line)


def flag_intro(policy: visitors.Visitors, store: flags.FlagStore, *, sign_in: bool, multi_label: bool = False) -> str:
    """The flag panel's text: who may flag and how often, the longest text, and what is kept and where."""
    label = "labels" if multi_label else "label"
    return (
        f"### Wrong prediction? Flag it with the right {label}\n"
        f"{policy.policy_line(sign_in)} Flags take texts of up to {MAX_FLAG_CHARS} characters.\n\n"
        f"{what_is_kept(store, signed_in_flags=sign_in or policy.require_login, label=label)}"
    )


def what_is_kept(store: flags.FlagStore, *, signed_in_flags: bool, label: str = "label") -> str:
    """What a flag stores, and whether it is published (the dataset the store syncs to), in a visitor's words."""
    username = ", and your Hugging Face username if you are signed in" if signed_in_flags else ""
    repo = store.dataset_repo
    published = f" They are also published in the Hugging Face dataset [{repo}]({HUB_DATASETS}/{repo})." if repo else ""
    return (
        f"A flag keeps the text, the model's answer, the {label} you picked and your note{username}; "
        f"never your address. Flags are stored to improve the model.{published}"
    )
