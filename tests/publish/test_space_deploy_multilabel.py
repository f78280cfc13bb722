"""A multi-label model published with --space: the deployed Space, run from the files pushed, serves its sets."""

from __future__ import annotations

import shutil

from gradio_client import Client

from publish import hub
from tests.conftest import REPO_ROOT
from tests.hub_server import TEST_TOKEN
from tests.space.conftest import start_app

REPO_ID, SPACE_ID = "tester/minilm-multi", "tester/multi-demo"
PREDICTED = ["anger", "joy"]  # what tests/space/conftest.py's THRESHOLDS let through for any text


def test_the_space_deployed_for_a_multi_label_model_serves_sets(hub_server, multilabel_dir, monkeypatch, tmp_path):
    run = shutil.copytree(multilabel_dir, tmp_path / "run")
    shutil.copy(REPO_ROOT / "tests" / "fixtures" / "run_multilabel" / "errors.csv", run / "errors.csv")
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    hub.publish_folder(run, REPO_ID, space_id=SPACE_ID, space_dir=REPO_ROOT / "space")

    model_card = hub_server.repo(REPO_ID).files["README.md"].decode()
    assert "label_thresholds" in model_card and f'Client("{SPACE_ID}")' in model_card
    checkout = tmp_path / "space-checkout"  # the Space as the Hub builds it: only the files pushed
    for name, content in hub_server.repo(SPACE_ID, "space").files.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_bytes(content)
    model = hub_server.repo(SPACE_ID, "space").variables["MODEL"]["value"]  # downloaded from HF_ENDPOINT, the local Hub
    proc, url, _ = start_app(app=checkout / "app.py", MODEL=model, FLAG_DIR=str(tmp_path / "flags"))
    try:
        client = Client(url, verbose=False)
        answer = client.predict("so happy and a bit scared", api_name="/predict")
        assert answer["predicted"] == PREDICTED and answer["label"] == "predicted: anger, joy"
        assert sum(c["confidence"] for c in answer["confidences"]) > 1.5  # sigmoids: they do not sum to 1
        record_id = client.predict("so happy and a bit scared", ["joy"], "", api_name="/flag")
        assert record_id
    finally:
        proc.kill()
        proc.wait(timeout=30)
