"""Emotion of a tweet: the probability of every class, the tokens the model reads, and flagging of mistakes.

Runs locally (``MODEL=runs/demo python space/app.py``) and unchanged as a Hugging Face Space's app.py.
Configuration comes from the environment (see README.md): MODEL, MODEL_REVISION, FLAG_DIR, FLAG_DATASET_REPO,
FLAG_PUSH_MINUTES, FLAG_PUSH_TIMEOUT, MCP (and BACKEND, read by backend.py; the FLAG_* of the flag policy, read
by visitors.py). With MCP on (on a Space unless MCP=0) classify (:data:`TOOL_DOC`) and explain are MCP tools.
"""

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# Import the neighbours as top-level modules: this folder is the root of a Space, and `space/` locally. The
# shared `formats` package is uploaded beside app.py on a Space, and is the repository's locally (one level up).
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import backend
import explain_view
import flags
import gradio as gr
import label_sets
import page
import visitors
from page import MAX_FLAG_CHARS, MAX_NOTE_CHARS, max_text_chars

logger = logging.getLogger("app")

MODEL = os.environ.get("MODEL", "me/distilbert-emotion")  # a training output folder or a Hub model id
MODEL_REVISION = os.environ.get("MODEL_REVISION") or None
FLAG_DIR = os.environ.get("FLAG_DIR") or flags.default_flag_dir()
FLAG_DATASET_REPO = os.environ.get("FLAG_DATASET_REPO") or None
ON_SPACE = bool(os.environ.get("SPACE_ID"))  # set by Hugging Face Spaces
if not ON_SPACE:
    visitors.trust_no_proxy()  # the visitor is the socket's peer, whatever X-Forwarded-For says

# gradio keeps timing records of the last events for its API page and, by default, rebuilds a pandas table of
# all of them after every request: CPU that grows with the records, which a long run under load pays on each
# request (docs/space_soak.md). Fewer records, summed up every 100 requests; a value set in the environment wins.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")

MAX_BATCH_SIZE = 32  # the queue groups up to this many waiting requests into one forward pass
EMPTY_TEXT = "Nothing to classify: the text is empty."  # /predict's answer to an empty text
TOO_LONG = "The text is {length} characters long: the most this Space classifies is {cap}."
FLAG_NOT_SAVED = "Your flag was NOT saved: the server could not write it. Please try again later."
# The MCP tool's description (and /predict's on the API page): gradio reads it from the function's docstring,
# the description, then one line per argument and one line of what it returns.
TOOL_DOC = (
    "Classify the emotion of an English text, such as a tweet: the probability of each of the model's classes "
    "({classes}).\n\n"
    "Args:\n"
    "    text: the English text to classify, e.g. a tweet; the model reads its first {max_length} tokens, and a text "
    "over {max_chars} characters is not classified.\n\n"
    "Returns:\n"
    "    {returns}; an empty or too long text gets a message as label and no confidences.\n"
)
RETURNS = "a JSON object: label, the most likely class, and confidences, every class with its probability (0 to 1, "
RETURNS += "summing to 1), highest first"
# A multi-label model's labels are separate yes/no questions, each with its own threshold.
RETURNS_SET = "a JSON object: predicted, the list of labels at or above their thresholds (possibly none), label, the "
RETURNS_SET += "same in words, and confidences, every label with its own probability (0 to 1; they do not sum to 1), "
RETURNS_SET += "highest first"


def is_blank(text: str | None) -> bool:
    """Whether there is nothing to classify: no text, or only whitespace."""
    return not (text and text.strip())


def refusal(text: str | None, max_chars: int) -> str | None:
    """Why /predict does not classify ``text`` (empty, or longer than ``max_chars``), or None."""
    if is_blank(text):
        return EMPTY_TEXT
    if len(text) > max_chars:
        return TOO_LONG.format(length=len(text), cap=max_chars)
    return None


def check_text(text: str | None, max_chars: int | None = None) -> None:
    """Raise the gr.Error the user sees when there is nothing to classify, or (``max_chars``) too much."""
    if is_blank(text):
        refuse("Please type some text to classify — the text box is empty.")
    if max_chars is not None and len(text) > max_chars:
        refuse(TOO_LONG.format(length=len(text), cap=max_chars))


def classify(model: backend.Backend, texts: list[str | None]) -> list[dict[str, float] | str]:
    """Every class's probability for each text in one forward pass; an empty text, or one over
    :func:`max_text_chars`, gets a message instead.

    Such texts are answered here rather than raised, because an error in a batched call would fail
    every request the queue grouped with it.
    """
    answers = [refusal(text, max_text_chars(model)) for text in texts]
    kept = [text for text, answer in zip(texts, answers, strict=True) if answer is None]
    scores = iter(model.predict(kept) if kept else [])
    shown = (lambda s: label_sets.answer(s, model)) if label_sets.is_multi_label(model) else (lambda s: s)
    return [shown(next(scores)) if answer is None else answer for answer in answers]


def token_table(model: backend.Backend, text: str | None) -> tuple[list[list], str]:
    """The WordPiece tokens the model reads (token, id) and a notice when the text was truncated; nothing for
    a text /predict does not classify (the page's check says why)."""
    if refusal(text, max_text_chars(model)):
        return [], ""
    tokens, n_tokens = model.tokenizer.tokens(text)
    rows = [[token, id_] for token, id_ in tokens]
    notice = ""
    if n_tokens > model.max_length:
        notice = (
            f"⚠️ Your text is {n_tokens} tokens long: the model read only the first {model.max_length} "
            f"and ignored the rest."
        )
    return rows, notice


@dataclass
class Flagger:
    """The /flag endpoint: refuses a flag the store must not take, applies the flag policy (sign-in, rate
    limits) and stores the record, with the model's scores for the text.

    Args:
        model: the loaded model; its classes are the labels a flag may carry.
        store: where flags are written.
        policy: who may flag and how often.
        model_id: model id or path stored with each flag (a local folder by its name only).
        model_revision: its revision, or None.
    """

    model: backend.Backend
    store: flags.FlagStore
    policy: visitors.Visitors
    model_id: str
    model_revision: str | None = None

    def flag(
        self,
        text: str,
        corrected_label: str | list[str] | None,
        note: str | None,
        request: gr.Request,
        profile: gr.OAuthProfile | None,
    ) -> str:
        """Record that the model got `text` wrong and which label is right (for a multi-label model, which
        labels: a list, empty for none of them); returns the flag's record id."""
        note = self.check(text, corrected_label, note)
        client = self.admit(request, profile)
        fields = {"text": text, "scores": self.model.predict([text])[0], "note": note, "client": client}
        fields.update(model=self.model_id, model_revision=self.model_revision)
        if label_sets.is_multi_label(self.model):
            predicted = label_sets.predicted_set(fields["scores"], self.model.labels, self.model.thresholds)
            corrected = label_sets.checked_set(corrected_label, self.model.labels)
            record = label_sets.make_set_record(**fields, predicted_labels=predicted, corrected_labels=corrected)
        else:
            record = flags.make_record(**fields, corrected_label=corrected_label)
        record_id = self.save(record, client)
        gr.Info(f"Thank you! Your flag was saved with record id {record_id}.")
        return record_id

    def check(self, text: str | None, corrected_label: str | None, note: str | None) -> str:
        """Refuse a flag the store must not take; return the stripped note."""
        check_text(text)
        if len(text) > MAX_FLAG_CHARS:
            refuse(f"Flags take texts of up to {MAX_FLAG_CHARS} characters; this one has {len(text)}.")
        if not flags.has_visible_character(text):
            refuse(
                "This text has no visible character (only spaces or invisible characters): flag a text you can read."
            )
        if label_sets.is_multi_label(self.model):
            try:  # the check boxes pass any value on (page.label_choices), for the same reason as the dropdown
                label_sets.checked_set(corrected_label, self.model.labels)
            except ValueError as error:
                logger.warning("flag refused: corrected labels: %s", error)
                refuse(f"Check the correct labels among the model's classes: {', '.join(self.model.labels)}.")
        elif corrected_label not in self.model.labels:
            # The dropdown takes any value (allow_custom_value), so that a wrong one reaches this check and is
            # logged as one line, instead of gradio's own check that logs a traceback.
            logger.warning("flag refused: corrected label %.40r is not a class of the model", corrected_label)
            refuse(f"Pick the correct label from the model's classes: {', '.join(self.model.labels)}.")
        note = (note or "").strip()
        if len(note) > MAX_NOTE_CHARS:
            refuse(f"The note is {len(note)} characters long; keep it under {MAX_NOTE_CHARS}.")
        return note

    def admit(self, request: gr.Request | None, profile: gr.OAuthProfile | None) -> str:
        """The client id of the visitor, once the policy lets them flag (signed in if required, under the
        rate limits); the flag is booked against their limits."""
        if self.policy.require_login and profile is None:
            refuse("Please sign in with Hugging Face (the button above) to flag: this Space takes signed-in flags.")
        address = None
        if request is not None:  # None when called as a plain function, not through gradio
            address = visitors.client_address(
                request.headers, request.client.host if request.client else None, ON_SPACE
            )
        client = self.policy.client_id(profile.username if profile else None, address)
        refusal = self.policy.limiter.admit(client)
        if refusal:
            logger.warning("flag refused: client %s is over its rate limit", client)
            refuse(refusal)
        return client

    def save(self, record: dict, client: str) -> str:
        """Write ``record`` durably and return its id; a flag that could not be written does not count
        against the visitor's limits."""
        try:
            return self.store.append(record)
        except OSError as error:  # a full or read-only disk: the visitor is told, the log gets one line
            self.policy.limiter.release(client)
            logger.error("flag not saved: cannot write to %s (%s)", self.store.flag_dir, error.strerror or error)
            refuse(FLAG_NOT_SAVED)


def classify_tool(model: backend.Backend, *, batch: bool):
    """The function behind /predict, and the MCP tool: ``classify_emotion(text)``, its docstring
    (:data:`TOOL_DOC`) naming the model's classes and limits. Batched, it takes the list of texts the queue
    grouped (up to MAX_BATCH_SIZE requests) and returns their answers in one list."""

    def classify_emotion(text: list[str]) -> list[list[dict[str, float] | str]]:
        return [classify(model, text)]

    def classify_emotion_one(text: str) -> dict[str, float] | str:
        return classify(model, [text])[0]

    tool = classify_emotion if batch else classify_emotion_one
    tool.__name__ = "classify_emotion"  # the tool's name (on a Space gradio prefixes the Space's name)
    tool.__doc__ = TOOL_DOC.format(
        classes=", ".join(model.labels),
        max_length=model.max_length,
        max_chars=max_text_chars(model),
        returns=RETURNS_SET if label_sets.is_multi_label(model) else RETURNS,
    )
    return tool


def wire_classify(layout: page.Page, model: backend.Backend, *, batch: bool, concurrency_limit: int | None):
    """Classify on the button or Enter: the page checks the text first (a per-user error toast), then joins
    the batched queue of /predict (the event returned); the tokens panel is filled beside it, outside the queue."""
    triggers = [layout.classify_button.click, layout.text.submit]
    checked = gr.on(
        triggers,
        lambda text: check_text(text, max_text_chars(model)),
        inputs=layout.text,
        queue=False,
        api_visibility="private",
    )
    gr.on(
        triggers,
        lambda t: token_table(model, t),
        inputs=layout.text,
        outputs=[layout.tokens, layout.truncated],
        queue=False,
        api_visibility="private",
    )
    return checked.success(
        classify_tool(model, batch=batch),
        inputs=layout.text,
        outputs=layout.probabilities,
        api_name="predict",
        batch=batch,
        max_batch_size=MAX_BATCH_SIZE,
        concurrency_limit=concurrency_limit,
    )


def build_demo(
    model: backend.Backend,
    flag_store: flags.FlagStore,
    *,
    model_id: str = MODEL,
    model_revision: str | None = MODEL_REVISION,
    reports: dict[str, dict] | None = None,
    policy: visitors.Visitors | None = None,
    sign_in: bool | None = None,
    batch: bool = True,
    concurrency_limit: int | None = 1,
) -> gr.Blocks:
    """Build the app around a loaded backend and a flag store.

    Args:
        model: the loaded model (:func:`backend.load_backend`).
        flag_store: where flags are written; the page says whether they are published (its dataset).
        model_id: model id or path shown on the page and stored with each flag.
        model_revision: its revision, or None.
        reports: the model's reports for the page's header (:func:`backend.model_reports`; None: none).
        policy: who may flag and how often (default: :func:`visitors.from_env`).
        sign_in: show the "Sign in with Hugging Face" button (default: on a Space, or when sign-in is
            required). Off a Space gradio mocks the sign-in with the machine's own Hub login.
        batch: group concurrent /predict requests into one forward pass (False: one request per call).
        concurrency_limit: how many /predict calls (batches) run at once. One: a batch's forward pass
            already uses every core (the runtime's intra-op threads), and the requests arriving meanwhile
            form the next batch; a second concurrent batch would only compete for the same cores.

    /predict and /explain are public: the API page, gradio_client and, with MCP on, the MCP tools ``classify_emotion``
    and ``explain_emotion``. /flag is for people: gradio_client can call it (README), but it is undocumented, so
    neither the API page nor MCP offers it to agents.
    """
    policy = policy or visitors.from_env()
    if sign_in is None:
        sign_in = ON_SPACE or policy.require_login
    flagger = Flagger(model, flag_store, policy, model_id, model_revision)
    with gr.Blocks(title="Tweet emotion classifier") as demo:
        layout = page.lay_out_page(
            model,
            heading=page.heading(model, model_id, model_revision, reports or {}),
            flag_intro=page.flag_intro(
                policy, flag_store, sign_in=sign_in, multi_label=label_sets.is_multi_label(model)
            ),
            sign_in=sign_in,
        )
        predicted = wire_classify(layout, model, batch=batch, concurrency_limit=concurrency_limit)
        explain_view.wire(explain_view.Explainer(model, policy, max_text_chars(model), ON_SPACE), layout, predicted)
        layout.flag_button.click(
            flagger.flag,
            inputs=[layout.text, layout.corrected, layout.note],
            outputs=layout.record_id,
            api_name="flag",
            api_visibility="undocumented",
            concurrency_limit=4,
        )
    return demo


def refuse(message: str) -> None:
    """Raise the gr.Error the user sees, without a traceback in the server's log."""
    raise gr.Error(message, print_exception=False)


def mcp_enabled(environ=os.environ, on_space: bool = ON_SPACE) -> bool:
    """Whether to serve MCP: ``MCP=1`` (or true, yes) turns it on, ``MCP=0`` (false, no) off; unset, it is on
    on a Space and off elsewhere.

    Raises:
        ValueError: another value (one line naming the variable).
    """
    value = environ.get("MCP", "").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    if value:
        raise ValueError(f"MCP={value!r}: expected 1 (serve the MCP tool) or 0 (do not); unset: on a Space only")
    return on_space


def answers_as_json() -> None:
    """Make gradio's MCP server answer a tool call in JSON, as the tool's description and the docs promise.

    gradio writes each output of a tool with ``str()`` (``GradioMCPServer.postprocess_output_data``), so the
    classifier's answer, gr.Label's value (a dict), would reach an agent as a Python repr: single quotes, ``None``.
    The tool is /predict itself (the page's and gradio_client's answer stays gr.Label's), so the answer is encoded
    where gradio writes it for MCP: a dict or list output (never a file, which gradio turns into an image or a
    link) goes out as its JSON text.
    """
    from gradio.mcp import GradioMCPServer
    from gradio_client.utils import is_file_obj_with_meta

    write = GradioMCPServer.postprocess_output_data

    def as_json(server, data, root_url):
        if isinstance(data, list):
            data = [
                json.dumps(output, ensure_ascii=False)
                if isinstance(output, dict | list) and not is_file_obj_with_meta(output)
                else output
                for output in data
            ]
        return write(server, data, root_url)

    GradioMCPServer.postprocess_output_data = as_json


def start_up() -> tuple[backend.Backend, flags.FlagStore, dict[str, dict]]:
    """Load the model and its reports, open the flag store and rebuild each client's rate limits from it; the
    configuration advice goes to the log (the page speaks to visitors)."""
    model = backend.load_backend(MODEL, revision=MODEL_REVISION)
    store, status = flags.open_store(FLAG_DIR, FLAG_DATASET_REPO, every=FLAG_PUSH_MINUTES)
    logger.warning("flags: %s", status)
    logger.warning("rate limits: %s", visitors.restore_limits(POLICY.limiter, visitors.flag_times(store.flag_dir)))
    return model, store, backend.model_reports(MODEL, MODEL_REVISION)


# A configuration the app cannot start with (a FLAG_DIR it cannot write among them) is one line and exit
# status 1, as `sys.exit(message)` gives.
with flags.one_line_errors(ValueError, backend.ModelLoadError, flags.FlagStoreError, prefix="error", status=1):
    POLICY = visitors.from_env()
    FLAG_PUSH_MINUTES = visitors.positive_env(os.environ, "FLAG_PUSH_MINUTES", 5)  # between two pushes to the Hub
    FLAG_PUSH_TIMEOUT = visitors.positive_env(os.environ, "FLAG_PUSH_TIMEOUT", 20)  # the last push, on stopping
    MCP = mcp_enabled()
    model, flag_store, reports = start_up()
demo = build_demo(model, flag_store, reports=reports, policy=POLICY)

if __name__ == "__main__":
    flags.push_on_signals(flag_store, FLAG_PUSH_TIMEOUT)
    if MCP:
        answers_as_json()
    demo.launch(mcp_server=MCP)
