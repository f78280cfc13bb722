"""The Space's backends: ONNX picked when exported, PyTorch otherwise, identical output format, /predict served."""

from __future__ import annotations

import re
import shutil

import backend
import flags
import numpy as np
import pytest

from tests.conftest import write_splits
from tests.space.conftest import serve
from training.export import export_onnx

TEXTS = ["i feel happy", "so scared and anxious today really about my day", "amazed", "I AM FURIOUS!!", ""]


@pytest.fixture(scope="module")
def exported_dir(tiny_model_dir, emotion_labels, tmp_path_factory):
    """The tiny DistilBERT with onnx/model.onnx and onnx/model_int8.onnx (accepted by the guard)."""
    root = tmp_path_factory.mktemp("space-onnx")
    data = root / "data"
    write_splits(data, emotion_labels, per_class=(3, 3), names=("train", "validation"))
    run = root / "run"
    shutil.copytree(tiny_model_dir, run)
    # The random tiny model may lose a point on 18 texts: accept any int8 model here (guard tested in training).
    assert export_onnx(run, data=str(data), max_drop_points=100)["int8_accepted"]
    return run


@pytest.fixture
def fp32_only_dir(exported_dir, tmp_path):
    """An export whose int8 model was refused (and so deleted) by the accuracy guard."""
    run = tmp_path / "run"
    shutil.copytree(exported_dir, run)
    (run / "onnx" / "model_int8.onnx").unlink()
    return run


@pytest.fixture(autouse=True)
def auto_backend(monkeypatch):
    monkeypatch.delenv("BACKEND", raising=False)


def assert_format(predictions, labels, count):
    """Every class once, highest first, probabilities summing to 1 — the pipeline's format."""
    assert len(predictions) == count
    for scores in predictions:
        assert sorted(scores) == sorted(labels)
        values = list(scores.values())
        assert values == sorted(values, reverse=True)
        assert all(isinstance(v, float) and 0 <= v <= 1 for v in values)
        assert sum(values) == pytest.approx(1, abs=1e-6)


def test_int8_onnx_is_picked_when_exported(exported_dir, emotion_labels):
    model = backend.load_backend(str(exported_dir))
    assert model.name == "ONNX Runtime int8 (cpu)"
    assert model.labels == emotion_labels
    assert model.max_length == 64
    assert [token for token, _ in model.tokenizer.tokens("i feel happy")[0]] == ["[CLS]", "i", "feel", "happy", "[SEP]"]
    assert_format(model.predict(TEXTS), emotion_labels, len(TEXTS))


def test_fp32_onnx_when_int8_was_refused(fp32_only_dir):
    assert backend.load_backend(str(fp32_only_dir)).name == "ONNX Runtime fp32 (cpu)"


def test_pytorch_when_no_onnx_export(tiny_model_dir):
    assert backend.load_backend(str(tiny_model_dir)).name == "PyTorch fp32 (cpu)"


def test_backend_env_forces_a_choice(exported_dir, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("BACKEND", "pytorch")
    assert backend.load_backend(str(exported_dir)).name.startswith("PyTorch")
    monkeypatch.setenv("BACKEND", "onnx")
    with pytest.raises(backend.ModelLoadError, match=re.escape("training.export")):
        backend.load_backend(str(tiny_model_dir))
    monkeypatch.setenv("BACKEND", "tensorrt")
    with pytest.raises(backend.ModelLoadError, match="BACKEND='tensorrt'"):
        backend.load_backend(str(exported_dir))


INT8, FP32, TORCH = "ONNX Runtime int8 (cpu)", "ONNX Runtime fp32 (cpu)", "PyTorch fp32 (cpu)"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("auto", INT8),  # on a CPU: the best ONNX file
        ("torch", TORCH),
        ("onnx-int8", INT8),
        ("onnx-fp32", FP32),
        # the earlier spellings
        ("pytorch", TORCH),
        ("onnx", INT8),
        ("onnx_int8", INT8),
        ("onnx_fp32", FP32),
        ("ONNX-FP32", FP32),
    ],
)
def test_each_backend_name_and_earlier_spelling_on_a_full_export(exported_dir, monkeypatch, value, name):
    monkeypatch.setattr(backend, "_has_cuda", lambda: False)  # auto's choice on a CPU, PyTorch on the CPU
    monkeypatch.setenv("BACKEND", value)
    assert backend.load_backend(str(exported_dir)).name == name


def test_backend_names_in_todays_spelling():
    assert [backend.requested_backend(v) for v in ("auto", "torch", "onnx-int8", "onnx-fp32")] == [
        "auto",
        "torch",
        "onnx-int8",
        "onnx-fp32",
    ]
    assert [backend.requested_backend(v) for v in ("pytorch", "PyTorch", "onnx_int8", "onnx_fp32")] == [
        "torch",
        "torch",
        "onnx-int8",
        "onnx-fp32",
    ]
    assert backend.requested_backend("onnx") == "onnx"  # the best ONNX file there is, as before
    with pytest.raises(backend.ModelLoadError) as err:
        backend.requested_backend("onnx-fp16")
    assert str(err.value) == (
        "BACKEND='onnx-fp16': expected torch, onnx-fp32, onnx-int8 or unset (auto) — "
        "the earlier onnx (the best ONNX file there is) and pytorch still work"
    )


def test_backend_onnx_takes_fp32_when_int8_was_refused(fp32_only_dir, monkeypatch):
    monkeypatch.setenv("BACKEND", "onnx")
    assert backend.load_backend(str(fp32_only_dir)).name == FP32


@pytest.mark.parametrize("value", ["onnx-int8", "onnx_int8"])
def test_a_forced_int8_without_its_file_names_the_file_and_the_export_command(fp32_only_dir, monkeypatch, value):
    monkeypatch.setenv("BACKEND", value)
    with pytest.raises(backend.ModelLoadError) as err:
        backend.load_backend(str(fp32_only_dir))
    assert str(err.value) == (
        f"BACKEND=onnx-int8: {fp32_only_dir} has no onnx/model_int8.onnx — "
        f"run `python -m training.export {fp32_only_dir}` first"
    )


def test_a_forced_onnx_backend_without_an_export_names_its_file(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("BACKEND", "onnx-fp32")
    with pytest.raises(
        backend.ModelLoadError,
        match=r"^BACKEND=onnx-fp32: .* has no onnx/model\.onnx — run `python -m training\.export ",
    ):
        backend.load_backend(str(tiny_model_dir))
    monkeypatch.setenv("BACKEND", "onnx")
    with pytest.raises(backend.ModelLoadError, match=r"has no onnx/model_int8\.onnx or onnx/model\.onnx — "):
        backend.load_backend(str(tiny_model_dir))


def test_onnx_and_pytorch_outputs_are_identical(fp32_only_dir, emotion_labels, monkeypatch):
    onnx_model = backend.load_backend(str(fp32_only_dir))
    monkeypatch.setenv("BACKEND", "pytorch")
    torch_model = backend.load_backend(str(fp32_only_dir))
    texts = TEXTS * 8  # 40 texts: more than one batch of 32, with padding inside each batch
    onnx_out, torch_out = onnx_model.predict(texts), torch_model.predict(texts)
    assert_format(onnx_out, emotion_labels, len(texts))
    assert_format(torch_out, emotion_labels, len(texts))
    for ours, theirs in zip(onnx_out, torch_out, strict=True):
        assert ours == pytest.approx(theirs, abs=1e-4)
    assert onnx_model.predict([]) == []


def test_predict_is_served_through_gradio_client_with_the_onnx_backend(exported_dir, app_module, tmp_path):
    from gradio_client import Client

    model = backend.load_backend(str(exported_dir))
    demo = app_module.build_demo(model, flags.FlagStore(tmp_path / "flags"), model_id=str(exported_dir))
    url = serve(demo)
    try:
        result = Client(url, verbose=False).predict("so scared and anxious today", api_name="/predict")
    finally:
        demo.close()
    expected = model.predict(["so scared and anxious today"])[0]
    assert result["label"] == next(iter(expected))
    served = {item["label"]: item["confidence"] for item in result["confidences"]}
    assert served == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("native_bf16", "dtype"), [(False, "float32"), (True, "bfloat16")])
def test_a_gpu_serves_bf16_only_where_it_is_native(monkeypatch, native_bf16, dtype):
    """``torch.cuda.is_bf16_supported()`` says yes on a T4 through emulation, slower there than fp32."""
    import torch

    monkeypatch.setattr(backend, "_has_cuda", lambda: True)

    def bf16(including_emulation=True):
        return native_bf16 or including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", bf16)
    assert backend.pick_device() == (0, getattr(torch, dtype))


@pytest.mark.parametrize("model", ["/missing/dir", "./runs/missing", "~/no-such-run", "runs/demo/missing"])
def test_a_missing_model_folder_says_it_does_not_exist(model):
    """Not the Hub client's "Repo id must be in the form ...": these can only be folders."""
    with pytest.raises(backend.ModelLoadError) as err:
        backend.load_backend(model)
    assert str(err.value).startswith(f"MODEL={model}: no such folder")


def test_a_model_that_could_be_a_hub_id_names_both_places_it_looked():
    with pytest.raises(
        backend.ModelLoadError, match=r"^cannot load the model 'runs/missing': no such local folder, and from the Hub: "
    ):
        backend.load_backend("runs/missing")


def test_first_line_quotes_the_first_line_of_a_library_message_or_its_type():
    assert backend.first_line(OSError("  Repo id must be in the form 'name'.\nFull traceback:\n ...")) == (
        "Repo id must be in the form 'name'."
    )
    assert backend.first_line(ValueError()) == "ValueError"


@pytest.mark.parametrize(("onnx", "tolerance"), [("onnx-fp32", 1e-4), ("onnx-int8", 2e-2)])
def test_both_backends_show_the_same_tokens_truncation_and_probabilities(
    exported_dir, app_module, monkeypatch, onnx, tolerance
):
    """The tokens panel, its truncation notice and /predict's answers, for the same texts, ONNX against PyTorch
    (int8: its activations are quantized, so its probabilities move by up to a point or two on this tiny model)."""
    monkeypatch.setenv("BACKEND", onnx)
    onnx_model = backend.load_backend(str(exported_dir))
    monkeypatch.setenv("BACKEND", "torch")
    torch_model = backend.load_backend(str(exported_dir))
    long_text = " ".join(["so", "happy", "today"] * 30)  # 92 tokens: truncated to the model's 64
    texts = [*TEXTS, long_text, "Ünïcödé ÀÉÎ naïve café", "i feel happy!!! 😀 <b>x</b>", "   "]
    for text in texts:
        assert app_module.token_table(onnx_model, text) == app_module.token_table(torch_model, text)
    rows, notice = app_module.token_table(onnx_model, long_text)
    assert len(rows) == 64 and notice.startswith("⚠️ Your text is 92 tokens long")
    onnx_answers, torch_answers = app_module.classify(onnx_model, texts), app_module.classify(torch_model, texts)
    for ours, theirs in zip(onnx_answers, torch_answers, strict=True):
        if isinstance(theirs, str):
            assert ours == theirs  # the same message for an empty text
        else:
            assert list(ours) and ours == pytest.approx(theirs, abs=tolerance)


def test_the_probabilities_come_from_one_function():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], dtype=np.float32)  # no overflow
    first, second = backend.probabilities(["a", "b", "c"], logits)
    assert list(first) == ["a", "b", "c"] and first["a"] == pytest.approx(1.0)
    assert second == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})


def test_one_encoder_serves_threads_at_once(exported_dir):
    """The tokens panel runs outside the queue, beside /predict's batches: the encoder is never reconfigured, so
    threads share it (a tokenizer reconfigured per call fails with "Already borrowed")."""
    from concurrent.futures import ThreadPoolExecutor

    model = backend.load_backend(str(exported_dir))
    texts = [f"i feel so happy today {i} " * (i % 40 + 1) for i in range(400)]

    def work(i: int):
        if i % 2:
            return model.tokenizer.tokens(texts[i])
        return model.tokenizer.encode(texts[i : i + 8])["input_ids"].shape

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(len(texts))))
    assert results[1] == model.tokenizer.tokens(texts[1]) and results[0][0] == 8
