"""The Space as an MCP server: the `mcp` client package against the running app (MCP=1), over loopback."""

from __future__ import annotations

import asyncio
import json

import backend
import pytest

from tests.space.conftest import start_app


def mcp_round_trip(url: str, calls: list[tuple[str, dict]]):
    """List the app's MCP tools, then make ``calls`` (tool name, arguments): (tools, results)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def session():
        async with (
            streamablehttp_client(url + "gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            tools = (await client.list_tools()).tools
            return tools, [await client.call_tool(name, arguments) for name, arguments in calls]

    return asyncio.run(asyncio.wait_for(session(), timeout=120))


@pytest.fixture(scope="module")
def mcp_app(trained_tiny_dir, tmp_path_factory):
    """The app on the exported tiny model with MCP=1, as `python space/app.py` serves it: (url, flag folder)."""
    flag_dir = tmp_path_factory.mktemp("mcp-flags")
    proc, url, _ = start_app(MCP="1", MODEL=str(trained_tiny_dir), FLAG_DIR=str(flag_dir), BACKEND="")
    yield url, flag_dir
    proc.kill()
    proc.wait(timeout=30)


def test_the_first_tool_is_classify_with_its_classes_and_a_typed_text_argument(mcp_app, emotion_labels):
    url, _ = mcp_app
    [tool, _], _ = mcp_round_trip(url, [])
    assert tool.name == "classify_emotion"
    assert tool.description.startswith("Classify the emotion of an English text, such as a tweet")
    assert f"({', '.join(emotion_labels)})" in tool.description
    assert "every class with its probability" in tool.description
    assert tool.inputSchema["required"] == ["text"] and list(tool.inputSchema["properties"]) == ["text"]
    text = tool.inputSchema["properties"]["text"]
    assert text["type"] == "string"
    assert text["description"].startswith("the English text to classify") and "first 64 tokens" in text["description"]


def test_classify_returns_every_class_with_its_probability(mcp_app, trained_tiny_dir, emotion_labels, monkeypatch):
    url, _ = mcp_app
    texts = ["i am so delighted and glad today", "so scared and anxious about my day"]
    _, results = mcp_round_trip(url, [("classify_emotion", {"text": text}) for text in texts])
    monkeypatch.delenv("BACKEND", raising=False)
    model = backend.load_backend(str(trained_tiny_dir))  # the ONNX int8 model the app serves
    for text, result in zip(texts, results, strict=True):
        assert not result.isError
        [content] = result.content
        answer = json.loads(content.text)  # gr.Label's value, as JSON: {"label": ..., "confidences": [...]}
        scores = {item["label"]: item["confidence"] for item in answer["confidences"]}
        assert sorted(scores) == sorted(emotion_labels) and sum(scores.values()) == pytest.approx(1, abs=1e-6)
        assert answer["label"] == max(scores, key=scores.get)
        assert scores == pytest.approx(model.predict([text])[0], abs=1e-4)  # int8: quantized per batch
    assert [json.loads(r.content[0].text)["label"] for r in results] == ["joy", "fear"]  # a fitted model


def test_an_empty_text_gets_the_message_and_flagging_is_not_a_tool(mcp_app):
    url, flag_dir = mcp_app
    tools, (empty, flag) = mcp_round_trip(
        url,
        [("classify_emotion", {"text": "  "}), ("flag", {"text": "i am happy", "corrected_label": "joy", "note": ""})],
    )
    assert json.loads(empty.content[0].text) == {
        "label": "Nothing to classify: the text is empty.",
        "confidences": None,
    }
    assert [tool.name for tool in tools] == ["classify_emotion", "explain_emotion"]
    assert flag.isError and "Unknown tool" in flag.content[0].text
    assert not list(flag_dir.glob("*.jsonl"))  # nothing was flagged


@pytest.mark.parametrize(
    ("value", "on_space", "served"),
    [
        ("", False, False),
        ("", True, True),
        ("1", False, True),
        ("true", False, True),
        ("0", True, False),
        ("no", True, False),
    ],
)
def test_mcp_is_on_when_asked_and_on_a_space_unless_turned_off(app_module, value, on_space, served):
    assert app_module.mcp_enabled({"MCP": value}, on_space=on_space) is served


def test_a_bad_mcp_value_is_one_line(app_module):
    with pytest.raises(ValueError, match=r"^MCP='maybe': expected 1 \(serve the MCP tool\) or 0"):
        app_module.mcp_enabled({"MCP": "maybe"}, on_space=False)


def test_the_tool_answers_json_text_not_a_python_repr(mcp_app, emotion_labels):
    """What an agent receives is the text of the content: JSON, as the description says (gradio writes an output
    with str(), which gave single quotes and None; issue 29)."""
    url, _ = mcp_app
    [tool, _], results = mcp_round_trip(
        url, [("classify_emotion", {"text": "i am so delighted and glad today"}), ("classify_emotion", {"text": ""})]
    )
    assert "a JSON object: label, the most likely class" in tool.description
    answered, empty = (result.content[0].text for result in results)
    assert "'" not in answered and "None" not in empty  # no Python repr
    assert {item["label"] for item in json.loads(answered)["confidences"]} == set(emotion_labels)
    assert json.loads(empty) == {"label": "Nothing to classify: the text is empty.", "confidences": None}
    assert empty == '{"label": "Nothing to classify: the text is empty.", "confidences": null}'


def test_the_second_tool_explains_a_label_word_by_word_in_json(mcp_app, trained_tiny_dir, monkeypatch):
    """explain_emotion: a description an agent can act on, text and an optional label, and the JSON of /explain."""
    from formats.explain import explain

    url, flag_dir = mcp_app
    text = "so scared and anxious about my day"
    tools, (top, chosen, unknown) = mcp_round_trip(
        url,
        [
            ("explain_emotion", {"text": text}),
            ("explain_emotion", {"text": text, "label": "joy"}),
            ("explain_emotion", {"text": text, "label": "joyy"}),
        ],
    )
    [tool] = [tool for tool in tools if tool.name == "explain_emotion"]
    assert tool.description.startswith("Explain which words of an English text made the emotion classifier")
    assert "positive raised it, negative pulled against it" in tool.description
    assert tool.inputSchema["required"] == ["text"] and list(tool.inputSchema["properties"]) == ["text", "label"]
    assert "one of sadness, joy, love, anger, fear, surprise" in tool.inputSchema["properties"]["label"]["description"]
    monkeypatch.delenv("BACKEND", raising=False)
    model = backend.load_backend(str(trained_tiny_dir))  # the ONNX int8 model the app serves
    answer = json.loads(top.content[0].text)
    assert answer["label"] == "fear" and [word for word, _ in answer["words"]] == text.split()
    expected = explain(text, model.predict).as_json()
    assert [s for _, s in answer["words"]] == pytest.approx([s for _, s in expected["words"]], abs=1e-3)
    assert json.loads(chosen.content[0].text)["label"] == "joy"
    assert unknown.isError and "label 'joyy': expected one of sadness" in unknown.content[0].text
    assert not list(flag_dir.glob("*.jsonl"))
