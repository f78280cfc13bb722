"""Why this label? The word-level explanation under the bars, and the ``/explain`` endpoint (an MCP tool beside
``classify_emotion``).

Both call ``formats.explain.explain`` on the served model (ONNX or PyTorch): each word's Shapley value for one
label's probability, at a bounded number of model calls. Explanations run in a queue of their own
(:data:`CONCURRENCY_ID`, one at a time), never in /predict's, so that a visitor's explanation cannot delay anyone's
classification; each visitor may ask for ``EXPLAIN_LIMIT_PER_MINUTE`` a minute and ``EXPLAIN_LIMIT_PER_DAY`` a day
(``visitors.Visitors.explain_limiter``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import backend
import gradio as gr
import visitors

from formats.explain import METHOD, explain

logger = logging.getLogger("app")

CONCURRENCY_ID = "explain"  # the explanations' own queue: the page's and the endpoint's together
CONCURRENCY_LIMIT = 1  # one explanation at a time: it already uses every core, as a /predict batch does
OVER_LIMIT = "You have asked for more explanations than this Space gives one visitor ({limits}): ask again later."
TITLE = "Why this label?"
# The tool's description (MCP, and /explain on the API page): the description, one line per argument, the return.
TOOL_DOC = (
    "Explain which words of an English text made the emotion classifier give a class its probability: a score per "
    "word, so you can see which words drove the answer of classify_emotion. {method}\n\n"
    "Args:\n"
    "    text: the English text to explain, e.g. a tweet (the same text you classified); a text over {max_chars} "
    "characters is refused.\n"
    "    label: the class to explain, one of {classes}; empty: the most probable class.\n\n"
    "Returns:\n"
    "    a JSON object: label, the class explained; probability, its probability on the text (0 to 1); words, "
    "[word, score] pairs in the text's order, the text's own whitespace-separated words. A score is the word's "
    "contribution to the label's probability: positive raised it, negative pulled against it, and the scores sum "
    "to the probability minus the label's probability on an empty text.\n"
)


@dataclass
class Explainer:
    """The explanations of one served model, for the page and for /explain.

    Args:
        model: the loaded model.
        policy: the Space's visitors: their client ids, and their limits of explanations (``explain_limiter``).
        max_chars: the longest text explained, /predict's (``page.max_text_chars``).
        on_space: whether the app runs on a Space (whose proxy says who the visitor is).
    """

    model: backend.Backend
    policy: visitors.Visitors
    max_chars: int
    on_space: bool

    def answer(self, text: str, label: str | None, request: gr.Request | None) -> dict:
        """:func:`formats.explain.explain`'s answer as JSON, after the checks (one gr.Error each)."""
        if not (text and text.strip()):
            raise gr.Error("Nothing to explain: the text is empty.", print_exception=False)
        if len(text) > self.max_chars:
            message = f"The text is {len(text)} characters long: the most this Space explains is {self.max_chars}."
            raise gr.Error(message, print_exception=False)
        if label and label not in self.model.labels:
            logger.warning("explanation refused: label %.40r is not a class of the model", label)
            raise gr.Error(f"label {label!r}: expected one of {', '.join(self.model.labels)}", print_exception=False)
        self.admit(request)
        return explain(text, self.model.predict, label or None).as_json()

    def admit(self, request: gr.Request | None) -> None:
        """Book one explanation against the visitor's limits (a gr.Error once they are reached)."""
        address = None
        if request is not None and request.client:
            address = visitors.client_address(request.headers, request.client.host, self.on_space)
        client = self.policy.client_id(getattr(request, "username", None), address)
        limiter = self.policy.explain_limiter
        if limiter.admit(client):
            logger.warning("explanation refused: client %s is over its rate limit", client)
            limits = [f"{n} {per}" for n, per in ((limiter.per_minute, "a minute"), (limiter.per_day, "a day")) if n]
            raise gr.Error(OVER_LIMIT.format(limits=", ".join(limits)), print_exception=False)

    def endpoint(self):
        """The function behind /explain and the MCP tool ``explain_emotion(text, label)``, with :data:`TOOL_DOC`."""

        def explain_emotion(text: str, label: str = "", request: gr.Request = None) -> dict:
            return self.answer(text, label, request)

        explain_emotion.__doc__ = TOOL_DOC.format(
            method=METHOD,
            classes=", ".join(self.model.labels),
            max_chars=self.max_chars,
        )
        return explain_emotion

    def after_classify(self, text: str, request: gr.Request) -> tuple[list, dict]:
        """The page's explanation of the most probable class, once /predict has answered."""
        return self.for_page(text, None, request)

    def for_page(self, text: str, label: str | None, request: gr.Request) -> tuple[list, dict]:
        """The highlighted words (scores scaled to -1..1, the strongest word at the end of the scale) and the
        class picker set to the class explained; nothing for a text /predict refuses (its check says why)."""
        if not (text and text.strip()) or len(text) > self.max_chars:
            return [], gr.update()
        answer = self.answer(text, label, request)
        return highlighted(answer["words"]), gr.update(value=answer["label"])


def highlighted(words: list[list]) -> list[tuple[str, float | None]]:
    """gr.HighlightedText's value: each word with its score scaled by the largest absolute score, spaces between."""
    scale = max((abs(score) for _, score in words), default=0.0) or 1.0
    shown = []
    for word, score in words:
        shown += [(word, round(score / scale, 3)), (" ", None)]
    return shown[:-1]


def lay_out(model: backend.Backend) -> tuple[gr.HighlightedText, gr.Dropdown]:
    """Under the bars: the title, the sentence on the method, the class picker and the highlighted text."""
    gr.Markdown(f"#### {TITLE}\n{METHOD} Red words raised the class's probability, purple ones lowered it.")
    picker = gr.Dropdown(model.labels, value=None, label="Explain the class", allow_custom_value=True)
    words = gr.HighlightedText(label="Each word's push toward the class", show_legend=True, elem_id="explanation")
    return words, picker


def wire(explainer: Explainer, layout, after) -> None:
    """Explain after every classification (``after``: /predict's event) and when the visitor picks a class, in the
    explanations' own queue; and /explain for gradio_client and MCP. ``layout`` is the page's ``page.Page``."""
    text, words, picker = layout.text, layout.explanation, layout.explained_label
    queue = {"concurrency_limit": CONCURRENCY_LIMIT, "concurrency_id": CONCURRENCY_ID, "api_visibility": "private"}
    after.then(explainer.after_classify, inputs=text, outputs=[words, picker], **queue)
    picker.input(explainer.for_page, inputs=[text, picker], outputs=[words, picker], **queue)
    gr.api(
        explainer.endpoint(),
        api_name="explain",
        concurrency_limit=CONCURRENCY_LIMIT,
        concurrency_id=CONCURRENCY_ID,
    )
