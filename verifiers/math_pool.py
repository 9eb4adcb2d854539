"""A pool of math-verify worker processes, killed and replaced on a hard timeout.

math-verify's own timeouts use SIGALRM: they fail outside the main thread and
cannot stop a C-level big-integer computation (``9^{9^{9^{9}}}``). Here every
check runs in a worker process (`aural.verifiers.math_worker`, a fresh
interpreter that never imports the caller's program). A check that outlives
its timeout gets its worker killed and the caller gets ``timeout`` at once; a
warm spare takes the dead worker's place, so the pool's throughput does not
drop, and a new spare starts in the background.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import IO, Any, NamedTuple

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 120.0


class MathResult(NamedTuple):
    """``status`` is ``ok``, ``wrong``, ``no_answer``, ``bad_label``, ``parse_error``,
    ``timeout`` or ``crashed``; ``extracted`` is the parsed prediction, when there is one."""

    status: str
    extracted: str | None = None


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aural.verifiers.math_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )

    @property
    def stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None  # piped
        return self.process.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.process.stdout is not None  # piped
        return self.process.stdout

    def wait_ready(self) -> None:
        if self.read(STARTUP_TIMEOUT_S) != ("ready", None):
            self.stop()
            raise RuntimeError("a math worker failed to start; run `python -m aural.verifiers.math_worker` to see why")

    def send(self, gold: str, prediction: str, options: Mapping[str, Any]) -> None:
        self.stdin.write(json.dumps([gold, prediction, dict(options)]).encode() + b"\n")
        self.stdin.flush()

    def read(self, timeout_s: float) -> tuple | None:
        """The next reply, or None when none comes within `timeout_s`, the worker died or the reply is cut short."""
        ready, _, _ = select.select([self.stdout], [], [], timeout_s)
        line = self.stdout.readline() if ready else b""
        try:
            return tuple(json.loads(line)) if line else None
        except ValueError:
            return None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        with contextlib.suppress(BrokenPipeError):  # a check it never read, still buffered
            self.stdin.close()
        self.stdout.close()


class MathPool:
    """`workers` processes (and one warm spare) answering `check` from any number of threads.

    A place whose worker could not be replaced answers ``crashed`` and tries again to
    start one, so a pool that cannot start processes answers rather than hangs.

    >>> pool = MathPool(workers=1)
    >>> pool.check(r"$2\\sqrt{2}$", r"$\\sqrt{8}$", timeout_s=30)
    MathResult(status='ok', extracted='\\\\sqrt{8}')
    >>> pool.close()
    """

    def __init__(self, workers: int | None = None):
        self.size = workers or os.cpu_count() or 1
        self._idle: queue.Queue[_Worker | None] = queue.Queue()  # None: a place with no worker
        self._spares: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()  # guards _closed, _replacements and putting workers in the queues
        self._replacements: list[threading.Thread] = []
        started: list[_Worker] = []
        try:
            for _ in range(self.size + 1):
                started.append(_Worker())
            for worker in started:
                worker.wait_ready()
        except BaseException:
            for worker in started:
                worker.stop()
            raise
        for worker in started[:-1]:
            self._idle.put(worker)
        self._spares.put(started[-1])

    def check(self, gold: str, prediction: str, timeout_s: float, options: Mapping[str, Any] | None = None) -> MathResult:
        """Compare two LaTeX strings; returns within `timeout_s` of a worker being free.
        `options` are `math_worker.verify_pair`'s keyword arguments (math-verify's options)."""
        if self._closed:
            raise RuntimeError("the math pool is closed")
        worker = self._idle.get()
        if worker is None:
            self._start_replacement(None)
            return MathResult("crashed")
        try:
            worker.send(gold, prediction, options or {})
            reply = worker.read(timeout_s)
        except OSError:  # a dead worker's pipe
            reply = None
        if reply is not None:
            self._put(self._idle, worker)
            return MathResult(*reply)
        status = "timeout" if worker.process.poll() is None else "crashed"
        log.warning("math check %s after %.1f s; a spare worker replaces it", status, timeout_s)
        self._start_replacement(worker)
        return MathResult(status)

    def _put(self, into: queue.Queue, worker: _Worker | None) -> None:
        """Put `worker` in `into`, or stop it when the pool is closed."""
        with self._lock:
            if not self._closed:
                into.put(worker)
                return
        if worker is not None:
            worker.stop()

    def _start_replacement(self, dead: _Worker | None) -> None:
        replacement = threading.Thread(target=self._replace, args=(dead,), daemon=True)
        with self._lock:
            self._replacements = [t for t in self._replacements if t.is_alive()] + [replacement]
        replacement.start()

    def _replace(self, dead: _Worker | None) -> None:
        """Fill `dead`'s place with the warm spare and start a new spare; with no spare,
        start the place's worker here. A place no worker could fill holds None."""
        if dead is not None:
            dead.stop()
        if self._closed:
            return
        try:
            spare: _Worker | None = self._spares.get_nowait()
        except queue.Empty:
            spare = None
        if spare is not None:
            self._put(self._idle, spare)
        fresh: _Worker | None = None
        try:
            fresh = _Worker()
            fresh.wait_ready()
        except (OSError, RuntimeError):
            log.exception("could not start a math worker")
            fresh = None
        if spare is None:
            self._put(self._idle, fresh)
        elif fresh is not None:
            self._put(self._spares, fresh)

    def settle(self) -> None:
        """Wait until every killed worker's place is filled and a new spare is warm."""
        with self._lock:
            replacements = list(self._replacements)
        for replacement in replacements:
            replacement.join()

    def close(self) -> None:
        """Stop the idle workers and the spare; a busy worker stops when its check returns."""
        with self._lock:
            self._closed = True
        for waiting in (self._idle, self._spares):
            while True:
                try:
                    worker = waiting.get_nowait()
                except queue.Empty:
                    break
                if worker is not None:
                    worker.stop()


_shared: MathPool | None = None
_shared_pid = 0
_shared_workers: int | None = None
_shared_lock = threading.Lock()


def size_shared_pool(workers: int | None) -> None:
    """How many workers this process's pool starts with (None: one per core); call it before
    the pool's first use (a server process does, with its share of the cores)."""
    global _shared_workers
    with _shared_lock:
        if _shared is not None and _shared_pid == os.getpid():
            raise RuntimeError("the math pool is running already: size it before its first use")
        _shared_workers = workers


def shared_pool() -> MathPool:
    """This process's pool, started on first use with the workers `size_shared_pool` set (one per core)."""
    global _shared, _shared_pid
    with _shared_lock:
        if _shared is None or _shared_pid != os.getpid():
            _shared = MathPool(_shared_workers)
            _shared_pid = os.getpid()
            atexit.register(_shared.close)
        return _shared
