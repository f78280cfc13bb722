"""Emotion of a tweet: the probability of every class, the tokens the model reads, and flagging of mistakes.

Runs locally (``MODEL=runs/demo python space/app.py``) and unchanged as a Hugging Face Space's app.py.
Configuration comes from the environment (see README.md): MODEL, MODEL_REVISION, FLAG_DIR, FLAG_DATASET_REPO,
FLAG_PUSH_MINUTES, FLAG_PUSH_TIMEOUT (and BACKEND, read by backend.py; the FLAG_* of the flag policy, read
by visitors.py).
"""

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# Import the neighbours as top-level modules: this folder is the root of a Space, and `space/` locally.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import backend
import flags
import gradio as gr
import visitors

logger = logging.getLogger("app")

MODEL = os.environ.get("MODEL", "me/distilbert-emotion")  # a training output folder or a Hub model id
MODEL_REVISION = os.environ.get("MODEL_REVISION") or None
FLAG_DIR = os.environ.get("FLAG_DIR") or flags.default_flag_dir()
FLAG_DATASET_REPO = os.environ.get("FLAG_DATASET_REPO") or None
ON_SPACE = bool(os.environ.get("SPACE_ID"))  # set by Hugging Face Spaces
if not ON_SPACE:
    visitors.trust_no_proxy()  # the visitor is the socket's peer, whatever X-Forwarded-For says

MAX_BATCH_SIZE = 32  # the queue groups up to this many waiting requests into one forward pass
MAX_NOTE_CHARS = 500
MAX_FLAG_CHARS = 1000  # a tweet is at most 280 characters: room to spare, and no essays in the training set
# /predict takes up to ten times what the model reads: max_length tokens of about 4 characters each.
TEXT_CAP_FACTOR, CHARS_PER_TOKEN = 10, 4
EMPTY_TEXT = "Nothing to classify: the text is empty."  # /predict's answer to an empty text
TOO_LONG = "The text is {length} characters long: the most this Space classifies is {cap}."
FLAG_NOT_SAVED = "Your flag was NOT saved: the server could not write it. Please try again later."
EXAMPLES = [
    "i feel so lonely since my best friend moved away",
    "just got the job offer, i can't stop smiling!!",
    "i adore the way you laugh at my terrible jokes",
    "why does the bus always leave two minutes early, so annoyed",
    "there is a strange noise downstairs and i'm home alone",
    "wait, you actually drove all the way here just to see me?",
]


def is_blank(text: str | None) -> bool:
    """Whether there is nothing to classify: no text, or only whitespace."""
    return not (text and text.strip())


def max_text_chars(model: backend.Backend) -> int:
    """The longest text /predict classifies, in characters: ten times what the model reads (its max_length
    tokens, about 4 characters each). A longer text would cost memory and time to tokenize whole, only for
    the model to read its beginning."""
    return TEXT_CAP_FACTOR * model.max_length * CHARS_PER_TOKEN


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
    return [next(scores) if answer is None else answer for answer in answers]


def token_table(model: backend.Backend, text: str | None) -> tuple[list[list], str]:
    """The WordPiece tokens the model reads (token, id) and a notice when the text was truncated; nothing for
    a text /predict does not classify (the page's check says why)."""
    if refusal(text, max_text_chars(model)):
        return [], ""
    n_tokens = len(model.tokenizer(text, verbose=False)["input_ids"])
    ids = model.tokenizer(text, truncation=True, max_length=model.max_length)["input_ids"]
    rows = [[token, id_] for token, id_ in zip(model.tokenizer.convert_ids_to_tokens(ids), ids, strict=True)]
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
        corrected_label: str | None,
        note: str | None,
        request: gr.Request,
        profile: gr.OAuthProfile | None,
    ) -> str:
        """Record that the model got `text` wrong and which label is right; returns the flag's record id."""
        note = self.check(text, corrected_label, note)
        client = self.admit(request, profile)
        record = flags.make_record(
            text=text,
            scores=self.model.predict([text])[0],
            corrected_label=corrected_label,
            note=note,
            model=self.model_id,
            model_revision=self.model_revision,
            client=client,
        )
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
        if corrected_label not in self.model.labels:
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


@dataclass
class Page:
    """The components of the page that events read or write."""

    text: gr.Textbox
    classify_button: gr.Button
    truncated: gr.Markdown
    probabilities: gr.Label
    tokens: gr.Dataframe
    corrected: gr.Dropdown
    note: gr.Textbox
    flag_button: gr.Button
    record_id: gr.Textbox


def lay_out_page(model: backend.Backend, *, heading: str, flag_intro: str, sign_in: bool) -> Page:
    """Lay out the page inside the current ``gr.Blocks``: the heading, the classifier, then the flag panel."""
    gr.Markdown(heading)
    with gr.Row():
        text, classify_button, truncated = lay_out_input(model)
        probabilities, tokens = lay_out_outputs(model)
    corrected, note, flag_button, record_id = lay_out_flag_panel(model, flag_intro, sign_in=sign_in)
    return Page(text, classify_button, truncated, probabilities, tokens, corrected, note, flag_button, record_id)


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


def lay_out_outputs(model: backend.Backend) -> tuple[gr.Label, gr.Dataframe]:
    """The right column: a bar per class, and the tokens in a collapsed panel."""
    with gr.Column():
        probabilities = gr.Label(label="Probability of each class", num_top_classes=len(model.labels))
        with gr.Accordion("How the tokenizer splits your text (WordPiece tokens)", open=False):
            tokens = gr.Dataframe(headers=["token", "id"], datatype=["str", "number"], interactive=False)
    return probabilities, tokens


def lay_out_flag_panel(
    model: backend.Backend, intro: str, *, sign_in: bool
) -> tuple[gr.Dropdown, gr.Textbox, gr.Button, gr.Textbox]:
    """The panel under the classifier: who may flag and where flags go, then the correct label and a note."""
    with gr.Column(variant="panel"):
        gr.Markdown(intro)
        if sign_in:
            gr.LoginButton()
        with gr.Row():
            corrected = gr.Dropdown(model.labels, value=None, label="Correct label", allow_custom_value=True)
            note = gr.Textbox(label="Note (optional)", max_length=MAX_NOTE_CHARS)
        flag_button = gr.Button("Flag")
        record_id = gr.Textbox(label="Saved flag record id", interactive=False)
    return corrected, note, flag_button, record_id


def heading(model: backend.Backend, model_id: str, model_revision: str | None) -> str:
    """The page's title line: the model (a local folder by its name only), its revision, backend and classes."""
    revision = f" @ `{model_revision}`" if model_revision else ""
    return (
        "# Tweet emotion classifier\n"
        f"Model `{flags.public_model_name(model_id)}`{revision} · backend {model.name} · "
        f"classes: {', '.join(model.labels)}"
    )


def flag_intro(policy: visitors.Visitors, storage_status: str, *, sign_in: bool) -> str:
    """The flag panel's text: who may flag and how often, the longest text, where flags go, policy notes."""
    return (
        "### Wrong prediction? Flag it with the right label\n"
        f"{policy.policy_line(sign_in)} Flags take texts of up to {MAX_FLAG_CHARS} characters.\n\n"
        + "\n\n".join([storage_status, *policy.notes])
    )


def wire_classify(page: Page, model: backend.Backend, *, batch: bool, concurrency_limit: int | None) -> None:
    """Classify on the button or Enter: the page checks the text first (a per-user error toast), then joins
    the batched queue of /predict; the tokens panel is filled beside it, outside the queue."""

    def predict_batch(texts: list[str]) -> list[list[dict[str, float] | str]]:
        """Probability of every class for each text (the queue groups up to MAX_BATCH_SIZE requests)."""
        return [classify(model, texts)]

    def predict(text: str) -> dict[str, float] | str:
        """Probability of every class for one text."""
        return classify(model, [text])[0]

    triggers = [page.classify_button.click, page.text.submit]
    checked = gr.on(
        triggers,
        lambda text: check_text(text, max_text_chars(model)),
        inputs=page.text,
        queue=False,
        api_visibility="private",
    )
    checked.success(
        predict_batch if batch else predict,
        inputs=page.text,
        outputs=page.probabilities,
        api_name="predict",
        batch=batch,
        max_batch_size=MAX_BATCH_SIZE,
        concurrency_limit=concurrency_limit,
    )
    gr.on(
        triggers,
        lambda t: token_table(model, t),
        inputs=page.text,
        outputs=[page.tokens, page.truncated],
        queue=False,
        api_visibility="private",
    )


def build_demo(
    model: backend.Backend,
    flag_store: flags.FlagStore,
    *,
    model_id: str = MODEL,
    model_revision: str | None = MODEL_REVISION,
    storage_status: str = "",
    policy: visitors.Visitors | None = None,
    sign_in: bool | None = None,
    batch: bool = True,
    concurrency_limit: int | None = 1,
) -> gr.Blocks:
    """Build the app around a loaded backend and a flag store.

    Args:
        model: the loaded model (:func:`backend.load_backend`).
        flag_store: where flags are written.
        model_id: model id or path shown on the page and stored with each flag.
        model_revision: its revision, or None.
        storage_status: one line saying where flags go (from :func:`flags.open_store`).
        policy: who may flag and how often (default: :func:`visitors.from_env`).
        sign_in: show the "Sign in with Hugging Face" button (default: on a Space, or when sign-in is
            required). Off a Space gradio mocks the sign-in with the machine's own Hub login.
        batch: group concurrent /predict requests into one forward pass (False: one request per call).
        concurrency_limit: how many /predict calls (batches) run at once. One: a batch's forward pass
            already uses every core (torch's intra-op threads), and the requests arriving meanwhile
            form the next batch; a second concurrent batch would only compete for the same cores.
    """
    policy = policy or visitors.from_env()
    if sign_in is None:
        sign_in = ON_SPACE or policy.require_login
    flagger = Flagger(model, flag_store, policy, model_id, model_revision)
    with gr.Blocks(title="Tweet emotion classifier") as demo:
        page = lay_out_page(
            model,
            heading=heading(model, model_id, model_revision),
            flag_intro=flag_intro(policy, storage_status, sign_in=sign_in),
            sign_in=sign_in,
        )
        wire_classify(page, model, batch=batch, concurrency_limit=concurrency_limit)
        page.flag_button.click(
            flagger.flag,
            inputs=[page.text, page.corrected, page.note],
            outputs=page.record_id,
            api_name="flag",
            concurrency_limit=4,
        )
    return demo


def refuse(message: str) -> None:
    """Raise the gr.Error the user sees, without a traceback in the server's log."""
    raise gr.Error(message, print_exception=False)


# A configuration the app cannot start with (a FLAG_DIR it cannot write among them) is one line and exit
# status 1, as `sys.exit(message)` gives.
with flags.one_line_errors(ValueError, backend.ModelLoadError, flags.FlagStoreError, prefix="error", status=1):
    POLICY = visitors.from_env()
    FLAG_PUSH_MINUTES = visitors.positive_env(os.environ, "FLAG_PUSH_MINUTES", 5)  # between two pushes to the Hub
    FLAG_PUSH_TIMEOUT = visitors.positive_env(os.environ, "FLAG_PUSH_TIMEOUT", 20)  # the last push, on stopping
    model = backend.load_backend(MODEL, revision=MODEL_REVISION)
    flag_store, storage_status = flags.open_store(FLAG_DIR, FLAG_DATASET_REPO, every=FLAG_PUSH_MINUTES)
demo = build_demo(model, flag_store, storage_status=storage_status, policy=POLICY)

if __name__ == "__main__":
    flags.push_on_signals(flag_store, FLAG_PUSH_TIMEOUT)
    demo.launch()
