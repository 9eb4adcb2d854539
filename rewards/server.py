"""An HTTP reward server speaking OpenRLHF's remote reward-model protocol.

    aural serve --port 5000 --recipe step-audio-r1 --workers 2
    python -m openrlhf.cli.train_ppo_ray ... --reward.remote_url http://127.0.0.1:5000/get_reward

``POST /get_reward`` takes ``{"query": [...], "prompts": [...], "labels": [...]}``
and answers ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``;
``GET /health`` answers ``{"status": "ok", "recipe": NAME}``. Scoring runs off
the event loop, so a slow math check does not hold up other requests. A body
that is not JSON or not of that shape gets 400 with what is wrong; one over
the size limit gets 413; the server keeps serving after either. What a server
serves is one `ServeSettings`, read once (the environment gives the defaults the
OpenRLHF reward file reads, ``AURAL_EOS_TOKENS`` and ``AURAL_DEFAULT_MODALITY``;
`aural serve`'s flags override them) and handed to every server process.

Listening beyond loopback is a deliberate act: ``allow`` (``--allow CIDR…``)
names the client networks served; any other client gets 403 before its body
is read, and is logged once per address. A non-loopback host without an
allow list refuses to start.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from aural.errors import AuralError

from .openrlhf_samples import RewardLists, score_openrlhf
from .recipe import DEFAULT_RECIPE, Recipe, load_recipe
from .trainer_inputs import DEFAULT_MODALITY, EOS_TOKENS, settings_from_environment

DEFAULT_MAX_BODY_BYTES = 64 << 20
MAX_CLIENTS = 4096  # client addresses whose decision is remembered; refused ones beyond this are not logged

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadRequest(AuralError):
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
        raise BadRequest(f'"query", "prompts" and "labels" must have the same length; got {len(queries)}, {len(prompts)}, {len(labels)}')
    return queries, prompts, labels


def parse_allow(networks: Sequence[str]) -> tuple[Network, ...]:
    """Client networks from CIDR strings (a bare address is a network of one).

    >>> parse_allow(["10.0.0.0/8", "192.168.1.7", "fd00::/8"])
    (IPv4Network('10.0.0.0/8'), IPv4Network('192.168.1.7/32'), IPv6Network('fd00::/8'))
    >>> parse_allow(["10.0.0.1/8"])
    Traceback (most recent call last):
    aural.errors.AuralError: --allow: 10.0.0.1/8: 10.0.0.1/8 has host bits set
    """
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network))
        except ValueError as error:
            raise AuralError(f"{network}: {error}", field="--allow") from None
    return tuple(parsed)


def check_host(host: str, allow: Sequence[Network] | None) -> None:
    """Refuse a non-loopback `host` without an allow list: reward servers take no credentials.

    >>> check_host("127.0.0.1", None)
    >>> check_host("0.0.0.0", None)
    Traceback (most recent call last):
    aural.errors.AuralError: --host: 0.0.0.0 is reachable beyond this machine; name the clients allowed with --allow CIDR...
    """
    if allow or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name: it may resolve beyond this machine
    if not loopback:
        raise AuralError(f"{host} is reachable beyond this machine; name the clients allowed with --allow CIDR...", field="--host")


class AllowClients:
    """ASGI middleware serving only clients inside `networks`; others get 403 before
    their body is read, and each refused address is logged once."""

    def __init__(self, app: ASGIApp, networks: Sequence[Network]):
        self.app = app
        self.networks = tuple(networks)
        self.refused: set[str] = set()
        self.allowed = functools.lru_cache(maxsize=MAX_CLIENTS)(self.check)  # a decision per address, remembered

    def check(self, host: str) -> bool:
        """Whether a client address lies in an allowed network (IPv4 clients of an IPv6 socket included)."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = scope["client"][0] if scope.get("client") else ""
        if self.allowed(host):
            await self.app(scope, receive, send)
            return
        if host not in self.refused and len(self.refused) < MAX_CLIENTS:
            self.refused.add(host)
            log.warning("refused client %s: not in --allow", host or "(unknown)")
        await _error(403, f"client {host} is not allowed")(scope, receive, send)


def create_app(
    recipe: Recipe,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    workers: int | None = None,
    eos_tokens: tuple[str, ...] = EOS_TOKENS,
    default_modality: str = DEFAULT_MODALITY,
    allow: Sequence[Network] | None = None,
) -> ASGIApp:
    """The ASGI application serving `recipe`, scoring up to `workers` requests at
    once (default: two per core), each in its own thread; with `allow`, only to those client networks."""
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

    app = Starlette(routes=[Route("/get_reward", get_reward, methods=["POST"]), Route("/health", health)])
    return AllowClients(app, allow) if allow else app


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@dataclass(frozen=True)
class ServeSettings:
    r"""What every server process serves: `recipe` (a name or TOML path), the body limit, the
    end-of-sequence tokens and default modality of OpenRLHF's queries, the client networks
    `allow`\ed, and `math_workers` per process (0: the cores shared among the processes).

    >>> ServeSettings.from_environment({"AURAL_EOS_TOKENS": "<END>"}, recipe="step-audio-r1").eos_tokens
    ('<END>',)
    """

    recipe: str = DEFAULT_RECIPE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    eos_tokens: tuple[str, ...] = EOS_TOKENS
    default_modality: str = DEFAULT_MODALITY
    allow: tuple[str, ...] = ()
    math_workers: int = 0

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None, **flags: Any) -> ServeSettings:
        """The settings the environment gives (as the OpenRLHF reward file reads it), `flags` over them."""
        read = settings_from_environment(os.environ if environ is None else environ)
        return cls(**{"eos_tokens": read.eos_tokens, "default_modality": read.default_modality, **flags})

    def as_argument(self) -> str:
        """The settings as one command-line argument, for a server process."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_argument(cls, text: str) -> ServeSettings:
        """The settings `as_argument` wrote."""
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()}
        return cls(**fields)


def serve(
    settings: ServeSettings, host: str = "127.0.0.1", port: int = 5000, processes: int = 1, on_ready: Callable[[str], None] = print
) -> None:
    """Serve `settings` from `processes` server processes sharing one listening socket,
    until interrupted. Port 0 picks a free port; `on_ready` gets the reward URL once
    connections are accepted. A non-loopback `host` requires `settings.allow`.

    Scoring is Python holding the GIL, so one process uses one core: several
    processes use several, each with a share of the cores for its math workers.
    """
    check_host(host, parse_allow(settings.allow))
    load_recipe(settings.recipe)  # a bad recipe fails here, once, not in every process
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
        _run(listener, settings)
        return
    if not settings.math_workers:
        settings = dataclasses.replace(settings, math_workers=max(1, (os.cpu_count() or 1) // processes))
    command = [sys.executable, "-m", "aural.rewards.server", str(listener.fileno()), settings.as_argument()]
    children = [subprocess.Popen(command, pass_fds=[listener.fileno()]) for _ in range(processes)]
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


def app_for(settings: ServeSettings) -> ASGIApp:
    """The application a server process runs for `settings`."""
    return create_app(
        load_recipe(settings.recipe),
        settings.max_body_bytes,
        eos_tokens=settings.eos_tokens,
        default_modality=settings.default_modality,
        allow=parse_allow(settings.allow),
    )


def _run(listener: socket.socket, settings: ServeSettings) -> None:
    import uvicorn

    from aural.verifiers.math_pool import size_shared_pool

    size_shared_pool(settings.math_workers or None)
    uvicorn.Server(uvicorn.Config(app_for(settings), log_level="warning")).run(sockets=[listener])


if __name__ == "__main__":  # one server process of several: LISTENING_FD SETTINGS
    fd, settings = sys.argv[1:]
    _run(socket.socket(fileno=int(fd)), ServeSettings.from_argument(settings))
