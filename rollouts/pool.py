"""`RolloutPool`: Ray actors, each holding one engine, sampling shards of a prompt set.

Prompts go out in tasks of `prompts_per_task` (vLLM batches a task's prompts
together) to whichever worker is free, and come back as each task finishes. A
worker that dies (killed, out of memory, a crashed engine) has its task put back
at the front of the queue and a fresh worker started in its place. Ray starts
locally with the machine's CPUs, or joins a running cluster by address.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import RayActorError

from aural.policy.model import Generation

from .engines import SamplingSettings, make_engine
from .prompt_set import PromptRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completed:
    """One prompt sampled: its record, the rendered prompt, the generations, the
    engine, and its share of the seconds the task took."""

    record: PromptRecord
    prompt: str
    generations: list[Generation]
    engine: str
    seconds: float


class _Worker:
    """A Ray actor's body: one engine, sampling task after task."""

    def __init__(self, engine: str, policy: str, options: dict[str, Any]):
        self.engine = make_engine(engine, policy, **options)

    def sample(self, records: list[PromptRecord], settings: SamplingSettings) -> tuple[list[tuple[str, list[Generation]]], float]:
        prompts = [self.engine.prompt_builder.build(r.messages, r.prefill_think) for r in records]
        start = time.perf_counter()
        generations = self.engine.sample(prompts, settings)
        return [(p.text, g) for p, g in zip(prompts, generations)], time.perf_counter() - start

    def pid(self) -> int:
        return os.getpid()


class RolloutPool:
    """`workers` Ray actors running `engine` (``vllm`` or ``hf``) on the policy in `policy`."""

    def __init__(
        self,
        engine: str,
        policy: str,
        workers: int = 1,
        address: str | None = None,
        engine_options: dict[str, Any] | None = None,
        prompts_per_task: int = 16,
        gpus_per_worker: float = 0,
        max_restarts: int = 3,
    ):
        os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # and no warning that it will
        self.owns_ray = not ray.is_initialized()  # then `close` stops it again
        if self.owns_ray:
            if address is None:
                ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        # Ray sets OMP_NUM_THREADS to an actor's CPUs: give each worker its share of the machine,
        # or a CPU engine computes on one thread.
        cpus = max(1, int(ray.available_resources().get("CPU", 1)) // workers)
        actor = ray.remote(num_cpus=cpus, num_gpus=gpus_per_worker)(_Worker)
        self._start = lambda: actor.remote(engine, str(policy), engine_options or {})
        self.engine = engine
        self.prompts_per_task = prompts_per_task
        self.restarts_left = max_restarts
        self.workers = [self._start() for _ in range(workers)]
        ray.get([w.pid.remote() for w in self.workers])  # engines loaded (or their errors raised) before any timing

    def run(self, records: Sequence[PromptRecord], settings: SamplingSettings) -> Iterator[Completed]:
        """Sample every record; yields each prompt as its task finishes, in completion order."""
        queue = deque(records[i : i + self.prompts_per_task] for i in range(0, len(records), self.prompts_per_task))
        idle = list(self.workers)
        running: dict[Any, tuple[Any, Sequence[PromptRecord]]] = {}
        while queue or running:
            while queue and idle:
                worker, task = idle.pop(), queue.popleft()
                running[worker.sample.remote(list(task), settings)] = (worker, task)
            (finished,), _ = ray.wait(list(running), num_returns=1)
            worker, task = running.pop(finished)
            try:
                results, seconds = ray.get(finished)
            except RayActorError as error:
                idle.append(self._replace(worker, error))
                queue.appendleft(task)
                continue
            idle.append(worker)
            for record, (prompt, generations) in zip(task, results):
                yield Completed(record, prompt, generations, self.engine, seconds / len(task))

    def _replace(self, dead: Any, error: Exception) -> Any:
        if self.restarts_left <= 0:
            raise RuntimeError(f"rollout workers keep dying; the last: {error}") from error
        self.restarts_left -= 1
        log.warning("a rollout worker died (%s); its prompts go back in the queue and a new worker starts", type(error).__name__)
        fresh = self._start()
        self.workers[self.workers.index(dead)] = fresh
        return fresh

    def worker_pids(self) -> list[int]:
        """The process id of each worker."""
        return ray.get([w.pid.remote() for w in self.workers])

    def close(self) -> None:
        """Stop the workers (and their engines), and Ray where the pool started it."""
        for worker in self.workers:
            ray.kill(worker)
        self.workers = []
        if self.owns_ray:
            ray.shutdown()


def pool_factory(
    engine: str, policy: str, workers: int = 1, tensor_parallel: int = 1, address: str | None = None, prompts_per_task: int = 16
) -> Callable[[], RolloutPool]:
    """A function that starts the pool when called: vLLM engines get `tensor_parallel`
    GPUs each where there are GPUs, transformers engines none."""

    def start() -> RolloutPool:
        import torch

        vllm = engine == "vllm"
        gpus = tensor_parallel if vllm and torch.cuda.is_available() else 0
        options = {"tensor_parallel": tensor_parallel} if vllm else {}
        return RolloutPool(engine, policy, workers, address, options, prompts_per_task, gpus)

    return start
