"""Emotion of a tweet: the probability of every class, the tokens the model reads, and flagging of mistakes.

Runs locally (``MODEL=runs/demo python space/app.py``) and unchanged as a Hugging Face Space's app.py.
Configuration comes from the environment (see README.md): MODEL, MODEL_REVISION, FLAG_DIR, FLAG_DATASET_REPO,
FLAG_PUSH_MINUTES, FLAG_PUSH_TIMEOUT (and BACKEND, read by backend.py; the FLAG_* of the flag policy, read
by visitors.py).
"""

import logging
import os
import signal
import sys
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

MAX_BATCH_SIZE = 32  # the queue groups up to this many waiting requests into one forward pass
MAX_NOTE_CHARS = 500
MAX_FLAG_CHARS = 1000  # a tweet is at most 280 characters: room to spare, and no essays in the training set
EMPTY_TEXT = "Nothing to classify: the text is empty."  # /predict's answer to an empty text
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


def check_text(text: str | None) -> None:
    """Raise the gr.Error the user sees when there is nothing to classify."""
    if is_blank(text):
        raise gr.Error("Please type some text to classify — the text box is empty.", print_exception=False)


def classify(model: backend.Backend, texts: list[str | None]) -> list[dict[str, float] | str]:
    """Every class's probability for each text in one forward pass; an empty text gets a message instead.

    Empty texts are answered here rather than raised, because an error in a batched call would fail
    every request the queue grouped with it.
    """
    kept = [text for text in texts if not is_blank(text)]
    scores = iter(model.predict(kept) if kept else [])
    return [EMPTY_TEXT if is_blank(text) else next(scores) for text in texts]


def token_table(model: backend.Backend, text: str | None) -> tuple[list[list], str]:
    """The WordPiece tokens the model reads (token, id) and a notice when the text was truncated."""
    if is_blank(text):
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

    def predict_batch(texts: list[str]) -> list[list[dict[str, float] | str]]:
        """Probability of every class for each text (the queue groups up to MAX_BATCH_SIZE requests)."""
        return [classify(model, texts)]

    def predict(text: str) -> dict[str, float] | str:
        """Probability of every class for one text."""
        return classify(model, [text])[0]

    policy = policy or visitors.from_env()
    if sign_in is None:
        sign_in = ON_SPACE or policy.require_login

    def flag(
        text: str,
        corrected_label: str | None,
        note: str | None,
        request: gr.Request,
        profile: gr.OAuthProfile | None,
    ) -> str:
        """Record that the model got `text` wrong and which label is right; returns the flag's record id."""
        note = check_flag(text, corrected_label, note)
        if policy.require_login and profile is None:
            refuse("Please sign in with Hugging Face (the button above) to flag: this Space takes signed-in flags.")
        address = None
        if request is not None:  # None when called as a plain function, not through gradio
            address = visitors.client_address(
                request.headers, request.client.host if request.client else None, ON_SPACE
            )
        client = policy.client_id(profile.username if profile else None, address)
        refusal = policy.limiter.admit(client)
        if refusal:
            logger.warning("flag refused: client %s is over its rate limit", client)
            refuse(refusal)
        record = flags.make_record(
            text=text,
            scores=model.predict([text])[0],
            corrected_label=corrected_label,
            note=note,
            model=model_id,
            model_revision=model_revision,
            client=client,
        )
        try:
            record_id = flag_store.append(record)
        except OSError:
            policy.limiter.release(client)  # not saved: it must not count against the visitor
            raise
        gr.Info(f"Thank you! Your flag was saved with record id {record_id}.")
        return record_id

    def check_flag(text: str | None, corrected_label: str | None, note: str | None) -> str:
        """Refuse a flag the store must not take; return the stripped note."""
        check_text(text)
        if len(text) > MAX_FLAG_CHARS:
            refuse(f"Flags take texts of up to {MAX_FLAG_CHARS} characters; this one has {len(text)}.")
        if corrected_label not in model.labels:
            # The dropdown takes any value (allow_custom_value), so that a wrong one reaches this check and is
            # logged as one line, instead of gradio's own check that logs a traceback.
            logger.warning("flag refused: corrected label %.40r is not a class of the model", corrected_label)
            refuse(f"Pick the correct label from the model's classes: {', '.join(model.labels)}.")
        note = (note or "").strip()
        if len(note) > MAX_NOTE_CHARS:
            refuse(f"The note is {len(note)} characters long; keep it under {MAX_NOTE_CHARS}.")
        return note

    revision = f" @ `{model_revision}`" if model_revision else ""
    with gr.Blocks(title="Tweet emotion classifier") as demo:
        gr.Markdown(
            "# Tweet emotion classifier\n"
            f"Model `{flags.public_model_name(model_id)}`{revision} · backend {model.name} · "
            f"classes: {', '.join(model.labels)}"
        )
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label="Tweet", placeholder="Type or paste a tweet…", lines=3)
                classify_button = gr.Button("Classify", variant="primary")
                gr.Markdown(
                    f"Texts longer than {model.max_length} tokens are truncated: the model reads only the beginning."
                )
                truncated = gr.Markdown()
                gr.Examples(EXAMPLES, inputs=text)
            with gr.Column():
                probabilities = gr.Label(label="Probability of each class", num_top_classes=len(model.labels))
                with gr.Accordion("How the tokenizer splits your text (WordPiece tokens)", open=False):
                    tokens = gr.Dataframe(headers=["token", "id"], datatype=["str", "number"], interactive=False)
        with gr.Column(variant="panel"):
            gr.Markdown(
                "### Wrong prediction? Flag it with the right label\n"
                f"{policy.policy_line(sign_in)} Flags take texts of up to {MAX_FLAG_CHARS} characters.\n\n"
                + "\n\n".join([storage_status, *policy.notes])
            )
            if sign_in:
                gr.LoginButton()
            with gr.Row():
                corrected = gr.Dropdown(model.labels, value=None, label="Correct label", allow_custom_value=True)
                note = gr.Textbox(label="Note (optional)", max_length=MAX_NOTE_CHARS)
            flag_button = gr.Button("Flag")
            record_id = gr.Textbox(label="Saved flag record id", interactive=False)

        # The page checks the text first (a per-user error toast), then joins the batched queue.
        triggers = [classify_button.click, text.submit]
        checked = gr.on(triggers, check_text, inputs=text, queue=False, api_visibility="private")
        checked.success(
            predict_batch if batch else predict,
            inputs=text,
            outputs=probabilities,
            api_name="predict",
            batch=batch,
            max_batch_size=MAX_BATCH_SIZE,
            concurrency_limit=concurrency_limit,
        )
        gr.on(
            triggers,
            lambda t: token_table(model, t),
            inputs=text,
            outputs=[tokens, truncated],
            queue=False,
            api_visibility="private",
        )
        flag_button.click(flag, inputs=[text, corrected, note], outputs=record_id, api_name="flag", concurrency_limit=4)
    return demo


def refuse(message: str) -> None:
    """Raise the gr.Error the user sees, without a traceback in the server's log."""
    raise gr.Error(message, print_exception=False)


def stop_on_signals(store: flags.FlagStore, timeout: float) -> None:
    """On SIGTERM (what a Space gets on restart, sleep or upgrade) or SIGINT: push the flags, then exit.

    ``CommitScheduler`` pushes at ``atexit``, but a signal ends the process without running it, and
    a Space without persistent storage then loses every flag since the last push. The push is bounded
    by ``timeout`` so that the process always stops; ``os._exit`` because a push still hanging in the
    scheduler's worker thread would otherwise block the interpreter's exit.
    """

    def stop(signum: int, _frame) -> None:
        logger.warning("%s: %s", signal.Signals(signum).name, flags.final_push(store, timeout))
        logging.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


try:
    POLICY = visitors.from_env()
    FLAG_PUSH_MINUTES = visitors.positive_env(os.environ, "FLAG_PUSH_MINUTES", 5)  # between two pushes to the Hub
    FLAG_PUSH_TIMEOUT = visitors.positive_env(os.environ, "FLAG_PUSH_TIMEOUT", 20)  # the last push, on stopping
    model = backend.load_backend(MODEL, revision=MODEL_REVISION)
except (ValueError, backend.ModelLoadError) as err:
    sys.exit(f"error: {err}")
flag_store, storage_status = flags.open_store(FLAG_DIR, FLAG_DATASET_REPO, every=FLAG_PUSH_MINUTES)
demo = build_demo(model, flag_store, storage_status=storage_status, policy=POLICY)

if __name__ == "__main__":
    stop_on_signals(flag_store, FLAG_PUSH_TIMEOUT)
    demo.launch()
