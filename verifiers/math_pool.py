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
import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
from typing import NamedTuple

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
            [sys.executable, "-m", "aural.verifiers.math_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def wait_ready(self) -> None:
        if self.read(STARTUP_TIMEOUT_S) != ("ready", None):
            self.stop()
            raise RuntimeError("a math worker failed to start; run `python -m aural.verifiers.math_worker` to see why")

    def send(self, gold: str, prediction: str) -> None:
        self.process.stdin.write(json.dumps([gold, prediction]).encode() + b"\n")
        self.process.stdin.flush()

    def read(self, timeout_s: float) -> tuple | None:
        """The next reply, or None when none comes within `timeout_s` or the worker died."""
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        line = self.process.stdout.readline() if ready else b""
        return tuple(json.loads(line)) if line else None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()


class MathPool:
    """`workers` processes (and one warm spare) answering `check` from any number of threads.

    >>> pool = MathPool(workers=1)
    >>> pool.check(r"$2\\sqrt{2}$", r"$\\sqrt{8}$", timeout_s=30)
    MathResult(status='ok', extracted='\\\\sqrt{8}')
    >>> pool.close()
    """

    def __init__(self, workers: int | None = None):
        self.size = workers or os.cpu_count() or 1
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._spares: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._replacements: list[threading.Thread] = []
        started = [_Worker() for _ in range(self.size + 1)]
        for worker in started:
            worker.wait_ready()
        for worker in started[:-1]:
            self._idle.put(worker)
        self._spares.put(started[-1])

    def check(self, gold: str, prediction: str, timeout_s: float) -> MathResult:
        """Compare two LaTeX strings; returns within `timeout_s` of a worker being free."""
        if self._closed:
            raise RuntimeError("the math pool is closed")
        worker = self._idle.get()
        try:
            worker.send(gold, prediction)
            reply = worker.read(timeout_s)
        except OSError:
            reply = None
        if reply is not None:
            if self._closed:
                worker.stop()
            else:
                self._idle.put(worker)
            return MathResult(*reply)
        status = "timeout" if worker.process.poll() is None else "crashed"
        log.warning("math check %s after %.1f s; a spare worker replaces it", status, timeout_s)
        replacement = threading.Thread(target=self._replace, args=(worker,), daemon=True)
        replacement.start()
        self._replacements = [t for t in self._replacements if t.is_alive()] + [replacement]
        return MathResult(status)

    def _replace(self, dead: _Worker) -> None:
        dead.stop()
        if self._closed:
            return
        self._idle.put(self._spares.get())
        spare = _Worker()
        spare.wait_ready()
        if self._closed:
            spare.stop()
        else:
            self._spares.put(spare)

    def settle(self) -> None:
        """Wait until every killed worker's place is filled and a new spare is warm."""
        for replacement in list(self._replacements):
            replacement.join()

    def close(self) -> None:
        """Stop the idle workers and the spare; a busy worker stops when its check returns."""
        self._closed = True
        for waiting in (self._idle, self._spares):
            while True:
                try:
                    waiting.get_nowait().stop()
                except queue.Empty:
                    break


_shared: MathPool | None = None
_shared_pid = 0
_shared_lock = threading.Lock()


def shared_pool() -> MathPool:
    """This process's pool, started on first use: ``AURAL_MATH_WORKERS`` workers, default one per core."""
    global _shared, _shared_pid
    with _shared_lock:
        if _shared is None or _shared_pid != os.getpid():
            _shared = MathPool(int(os.environ.get("AURAL_MATH_WORKERS", "0")) or None)
            _shared_pid = os.getpid()
            atexit.register(_shared.close)
        return _shared
