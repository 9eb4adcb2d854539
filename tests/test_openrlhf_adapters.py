"""The OpenRLHF reward file and the HTTP reward server, driven by OpenRLHF's own code."""

import asyncio
import importlib.util
import json
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from openrlhf.utils.agent import SingleTurnAgentExecutor
from transformers import AutoTokenizer

from aural.cli import main
from aural.rewards.recipe import RecipeError
from tiny_lm import build_tiny_lm

MCQ = json.dumps({"answer": "B", "choices": ["a dog barking", "a cat meowing"], "modality": "audio", "audio": "q1.wav"})


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return AutoTokenizer.from_pretrained(build_tiny_lm(tmp_path_factory.mktemp("tiny_lm")))


def as_openrlhf_query(tokenizer, question, response):
    """The prompt and query OpenRLHF builds: chat template, then prompt + response tokens decoded with specials."""
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)
    tokens = tokenizer(prompt, add_special_tokens=False)["input_ids"] + tokenizer(response, add_special_tokens=False)["input_ids"]
    return tokenizer.decode(tokens, skip_special_tokens=False), prompt


CASES = [  # response, label, reward, score, format
    ("<think>A high, rising cry.</think>The answer is (B).<|im_end|>", MCQ, 1.0, 1.0, 1.0),
    ("<think></think>The answer is (B).<|im_end|>", MCQ, 0.8, 1.0, 0.0),
    ("<think>A low bark.</think>(A)<|im_end|>", MCQ, 0.2, 0.0, 1.0),
    ("<think>A high, rising cry.</think>The answer is (B).", MCQ, 0.0, 1.0, 0.0),  # no EOS: truncated
    ("<think>Count.</think>4<|im_end|><|endoftext|><|endoftext|>", '{"answer": "4", "modality": "text"}', 1.0, 1.0, 0.0),
    ("<think>Count.</think>4<|im_end|>", "4", 1.0, 1.0, 1.0),  # a bare answer; audio by default
    ("(B)<|im_end|>", '{"choices": ["no answer field"]}', 0.0, 0.0, 0.0),  # unreadable label: 0, no exception
]


def test_openrlhf_loads_and_calls_the_reward_file(tokenizer, monkeypatch, capsys):
    monkeypatch.delenv("AURAL_REWARD_RECIPE", raising=False)
    assert main(["openrlhf-reward-path"]) == 0
    path = capsys.readouterr().out.strip()
    executor = SingleTurnAgentExecutor(remote_rm_url=path)  # OpenRLHF's own loader
    assert executor.reward_func is not None

    async def fetch_all():
        calls = []
        for response, label, *_ in CASES:
            query, prompt = as_openrlhf_query(tokenizer, "Which animal is it?", response)
            calls.append(executor._fetch_rewards_via_func([query], [prompt], [label]))
        return await asyncio.gather(*calls)

    results = [info[0] for info in asyncio.run(fetch_all())]
    for (response, label, reward, score, fmt), info in zip(CASES, results):
        assert isinstance(info["rewards"], torch.Tensor) and info["rewards"].shape == (1,)
        assert info["rewards"].item() == pytest.approx(reward), (response, label)
        assert info["scores"].item() == pytest.approx(score), (response, label)
        assert info["extra_logs"]["format"].item() == pytest.approx(fmt), (response, label)
        # OpenRLHF stores them as it does every reward: torch.tensor([value]) per sample.
        assert torch.tensor([info["rewards"]]).flatten().tolist() == [pytest.approx(reward)]


def load_reward_file():
    """The reward file loaded by its path, as OpenRLHF loads it: the environment read now."""
    path = importlib.util.find_spec("aural.rewards.openrlhf").origin  # found, not imported: the package's copy keeps its settings
    spec = importlib.util.spec_from_file_location("reward_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recipe_comes_from_the_environment(tokenizer, monkeypatch, tmp_path):
    recipe = tmp_path / "format_only.toml"
    recipe.write_text('name = "format-only"\n[route.default]\nformat = { verifier = "think_format" }\n')
    monkeypatch.setenv("AURAL_REWARD_RECIPE", str(recipe))
    reward_func = load_reward_file().reward_func

    query, prompt = as_openrlhf_query(tokenizer, "Which?", "<think>Bark.</think>(A)<|im_end|>")
    out = reward_func([query], [prompt], [MCQ])
    assert out["rewards"].tolist() == [1.0]
    assert list(out["extra_logs"]) == ["format"]


def test_a_bad_recipe_stops_the_launch(monkeypatch, tmp_path):
    monkeypatch.setenv("AURAL_REWARD_RECIPE", str(tmp_path / "missing.toml"))
    with pytest.raises(RecipeError, match="missing.toml: no such recipe file"):
        load_reward_file()  # when OpenRLHF loads the file, before any PPO step


@pytest.fixture(scope="module")
def server():
    process = subprocess.Popen(
        [sys.executable, "-m", "aural", "serve", "--port", "0", "--max-body-mb", "1"], stdout=subprocess.PIPE, text=True
    )
    url = process.stdout.readline().split()[-1]
    yield url
    process.terminate()
    process.wait(timeout=30)


def post(url, body, headers=None):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_openrlhf_http_client_gets_rewards_concurrently(server, tokenizer):
    executor = SingleTurnAgentExecutor(remote_rm_url=server)

    async def fetch_all():
        calls = []
        for response, label, *_ in CASES * 4:
            query, prompt = as_openrlhf_query(tokenizer, "Which animal is it?", response)
            calls.append(executor._fetch_rewards_via_http([query], [prompt], [label]))
        return await asyncio.gather(*calls)

    results = [info[0] for info in asyncio.run(fetch_all())]
    for (response, label, reward, score, fmt), info in zip(CASES * 4, results):
        assert info["rewards"] == [pytest.approx(reward)], (response, label)
        assert info["scores"] == [pytest.approx(score)]
        assert info["extra_logs"]["format"] == [pytest.approx(fmt)]


def test_a_batch_request_keeps_order(server, tokenizer):
    pairs = [as_openrlhf_query(tokenizer, "Which?", response) for response, *_ in CASES]
    body = {"query": [q for q, _ in pairs], "prompts": [p for _, p in pairs], "labels": [c[1] for c in CASES]}
    status, reply = post(server, json.dumps(body).encode())
    assert status == 200
    assert reply["rewards"] == [pytest.approx(c[2]) for c in CASES]
    assert set(reply["extra_logs"]) == {"accuracy", "format"}


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"{not json", 400, "not JSON"),
        (b"[1, 2]", 400, "expected a JSON object"),
        (b'{"query": ["q"], "prompts": ["p"]}', 400, "missing 'labels'"),
        (b'{"query": "q", "prompts": ["p"], "labels": ["B"]}', 400, '"query" must be a list'),
        (b'{"query": [1], "prompts": ["p"], "labels": ["B"]}', 400, '"query"[0] must be a string'),
        (b'{"query": ["q", "r"], "prompts": ["p"], "labels": ["B"]}', 400, "same length; got 2, 1, 1"),
        (b'{"query": ["' + b"x" * (2 << 20) + b'"], "prompts": ["p"], "labels": ["B"]}', 413, "limit"),
    ],
)
def test_bad_requests_get_a_clear_status_and_the_server_keeps_serving(server, body, status, message):
    code, reply = post(server, body)
    assert code == status
    assert message in reply["error"]
    good = {"query": ["<|im_start|>assistant\n(B)<|im_end|>"], "prompts": ["<|im_start|>assistant\n"], "labels": ["B"]}
    assert post(server, json.dumps(good).encode()) == (
        200,
        {"rewards": [0.8], "scores": [1.0], "extra_logs": {"accuracy": [1.0], "format": [0.0]}},
    )


def test_health(server):
    with urllib.request.urlopen(server.replace("/get_reward", "/health"), timeout=30) as reply:
        assert json.loads(reply.read()) == {"status": "ok", "recipe": "step-audio-r1"}


@pytest.mark.slow
def test_a_slow_math_check_does_not_block_other_requests(server):
    never_ending = {
        "query": [r"\boxed{9^{9^{9^{9}}}}<|im_end|>"],
        "prompts": [""],
        "labels": ['{"answer": "1", "kind": "math", "modality": "text"}'],
    }
    quick = {"query": ["(B)<|im_end|>"], "prompts": [""], "labels": ["B"]}
    with ThreadPoolExecutor(2) as threads:
        slow = threads.submit(post, server, json.dumps(never_ending).encode())
        fast = [post(server, json.dumps(quick).encode()) for _ in range(5)]
        assert all(code == 200 for code, _ in fast)
        assert not slow.done()  # the quick requests were answered while the math check ran
        code, reply = slow.result(timeout=60)
    assert (code, reply["rewards"]) == (200, [0.0])


def test_the_server_reads_its_settings_as_the_reward_file_does(monkeypatch):
    from starlette.testclient import TestClient

    from aural.rewards.server import ServeSettings, app_for

    monkeypatch.setenv("AURAL_EOS_TOKENS", "<END>")
    monkeypatch.setenv("AURAL_DEFAULT_MODALITY", "text")
    reward_func = load_reward_file().reward_func
    body = {"query": ["(B)<END>", "(B)<|im_end|>"], "prompts": ["", ""], "labels": ["B", "B"]}
    reply = TestClient(app_for(ServeSettings.from_environment(recipe="step-audio-r1"))).post("/get_reward", json=body).json()
    assert reply["rewards"] == [1.0, 0.0]  # the text route; no <END>: truncated
    assert reward_func(body["query"], body["prompts"], body["labels"])["rewards"].tolist() == reply["rewards"]


def test_serve_flags_override_the_environment_and_reach_every_server_process(monkeypatch):
    """`aural serve` reads the environment once, its flags over it, and hands each process the result."""
    from aural.rewards.server import ServeSettings

    monkeypatch.setenv("AURAL_EOS_TOKENS", "<END>")
    monkeypatch.setenv("AURAL_DEFAULT_MODALITY", "text")
    settings = ServeSettings.from_environment(recipe="step-audio-r1", default_modality="audio", math_workers=1)
    assert (settings.eos_tokens, settings.default_modality) == (("<END>",), "audio")
    assert ServeSettings.from_argument(settings.as_argument()) == settings
    server = subprocess.Popen(
        [sys.executable, "-m", "aural", "serve", "--port", "0", "--workers", "2", "--eos-tokens", "<STOP>", "--default-modality", "text"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().split(" at ")[-1].strip()
        body = json.dumps({"query": ["(B)<STOP>", "(B)<END>"], "prompts": ["", ""], "labels": ["B", "B"]}).encode()
        for _ in range(4):  # whichever process answers
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            assert json.load(urllib.request.urlopen(request, timeout=30))["rewards"] == [1.0, 0.0]  # text route; <END> is not the flag's
    finally:
        server.terminate()
        server.wait(timeout=30)
