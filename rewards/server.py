"""An HTTP reward server speaking OpenRLHF's remote reward-model protocol.

    aural serve --port 5000 --recipe step-audio-r1 --workers 2
    python -m openrlhf.cli.train_ppo_ray ... --reward.remote_url http://127.0.0.1:5000/get_reward

``POST /get_reward`` takes ``{"query": [...], "prompts": [...], "labels": [...]}``
and answers ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``;
``GET /health`` answers ``{"status": "ok", "recipe": NAME}``. Scoring runs off
the event loop, so a slow math check does not hold up other requests. A body
that is not JSON or not of that shape gets 400 with what is wrong; one over
the size limit gets 413; the server keeps serving after either. End-of-sequence
tokens and the default modality come from ``AURAL_EOS_TOKENS`` and
``AURAL_DEFAULT_MODALITY``, read as the OpenRLHF reward file reads them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from typing import Any, Callable

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .openrlhf_samples import DEFAULT_MODALITY, EOS_TOKENS, RewardLists, score_openrlhf, settings_from_environment
from .recipe import Recipe, load_recipe

DEFAULT_MAX_BODY_BYTES = 64 << 20


class BadRequest(ValueError):
    """A request body the protocol does not allow; the message says why."""


def parse_request(body: bytes) -> tuple[list[str], list[str], list[Any]]:
    """The queries, prompts and labels of a request body, checked.

    >>> parse_request(b'{"query": ["q"], "prompts": ["p"], "labels": ["B"]}')
    (['q'], ['p'], ['B'])
    >>> parse_request(b'{"query": ["q"], "prompts": [], "labels": ["B"]}')
    Traceback (most recent call last):
    aural.rewards.server.BadRequest: "query", "prompts" and "labels" must have the same length; got 1, 0, 1
    """
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"expected a JSON object, got {type(data).__name__}")
    missing = [key for key in ("query", "prompts", "labels") if key not in data]
    if missing:
        raise BadRequest(f"missing {', '.join(repr(k) for k in missing)}")
    queries, prompts, labels = data["query"], data["prompts"], data["labels"]
    for key, value in (("query", queries), ("prompts", prompts), ("labels", labels)):
        if not isinstance(value, list):
            raise BadRequest(f'"{key}" must be a list, got {type(value).__name__}')
    for key, values in (("query", queries), ("prompts", prompts)):
        wrong = next((i for i, v in enumerate(values) if not isinstance(v, str)), None)
        if wrong is not None:
            raise BadRequest(f'"{key}"[{wrong}] must be a string, got {type(values[wrong]).__name__}')
    if not len(queries) == len(prompts) == len(labels):
        raise BadRequest(
            f'"query", "prompts" and "labels" must have the same length; got {len(queries)}, {len(prompts)}, {len(labels)}'
        )
    return queries, prompts, labels


def create_app(
    recipe: Recipe,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    workers: int | None = None,
    eos_tokens: tuple[str, ...] = EOS_TOKENS,
    default_modality: str = DEFAULT_MODALITY,
) -> Starlette:
    """The ASGI application serving `recipe`, scoring up to `workers` requests at
    once (default: two per core), each in its own thread."""
    limiter = anyio.CapacityLimiter(workers or 2 * (os.cpu_count() or 1))

    def score(queries: list[str], prompts: list[str], labels: list[Any]) -> RewardLists:
        return score_openrlhf(recipe, queries, prompts, labels, eos_tokens, default_modality, threads=1)

    async def get_reward(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > max_body_bytes
        body = bytearray()
        async for chunk in request.stream():  # read to the end, kept only under the limit: the client sees the 413
            if not too_large:
                body += chunk
                too_large = len(body) > max_body_bytes
        if too_large:
            return _error(413, f"the body is over the limit of {max_body_bytes} bytes")
        try:
            queries, prompts, labels = parse_request(bytes(body))
        except BadRequest as error:
            return _error(400, str(error))
        lists = await anyio.to_thread.run_sync(score, queries, prompts, labels, limiter=limiter)
        return JSONResponse({"rewards": lists.rewards, "scores": lists.scores, "extra_logs": lists.extra_logs})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "recipe": recipe.name})

    return Starlette(routes=[Route("/get_reward", get_reward, methods=["POST"]), Route("/health", health)])


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def serve(
    recipe: str,
    host: str = "127.0.0.1",
    port: int = 5000,
    processes: int = 1,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve `recipe` (a name or TOML path) from `processes` server processes
    sharing one listening socket, until interrupted. Port 0 picks a free port;
    `on_ready` gets the reward URL once connections are accepted.

    Scoring is Python holding the GIL, so one process uses one core: several
    processes use several, each with a share of the cores for its math workers.
    """
    load_recipe(recipe)  # a bad recipe fails here, once, not in every process
    ipv6 = ":" in host
    # IPPROTO_TCP named explicitly: asyncio turns Nagle off only on sockets that say so,
    # and with Nagle on, a keep-alive client waits 40 ms for every delayed ACK.
    listener = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)  # connections wait in the backlog until a process accepts them
    url = f"http://{f'[{host}]' if ipv6 else host}:{listener.getsockname()[1]}/get_reward"
    if processes <= 1:
        on_ready(url)
        _run(listener, recipe, max_body_bytes)
        return
    env = {**os.environ, "AURAL_MATH_WORKERS": str(max(1, (os.cpu_count() or 1) // processes))}
    command = [sys.executable, "-m", "aural.rewards.server", str(listener.fileno()), recipe, str(max_body_bytes)]
    children = [subprocess.Popen(command, pass_fds=[listener.fileno()], env=env) for _ in range(processes)]
    on_ready(url)

    def stop(signum: int, frame: Any) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        for child in children:
            child.wait()
    except KeyboardInterrupt:
        stop(signal.SIGINT, None)
        for child in children:
            child.wait()


def app_from_environment(recipe: str, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Starlette:
    """The application `serve` runs: `recipe` (a name or TOML path), with the end-of-sequence
    tokens and default modality the environment asks for, read as the OpenRLHF reward file reads them."""
    _, eos_tokens, default_modality = settings_from_environment()
    return create_app(load_recipe(recipe), max_body_bytes, eos_tokens=eos_tokens, default_modality=default_modality)


def _run(listener: socket.socket, recipe: str, max_body_bytes: int) -> None:
    import uvicorn

    app = app_from_environment(recipe, max_body_bytes)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])


if __name__ == "__main__":  # one server process of several: LISTENING_FD RECIPE MAX_BODY_BYTES
    fd, spec, limit = sys.argv[1:4]
    _run(socket.socket(fileno=int(fd)), spec, int(limit))
