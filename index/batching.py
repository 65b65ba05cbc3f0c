"""Micro-batching: questions that arrive together are encoded in one call.

Encoding one question costs about as much as encoding several: the model's fixed costs (session call,
thread hand-off, small matrix shapes) dominate. `QuestionBatcher` lets any number of threads (the bot's
executor, a web server's workers) call `encode(question)` at once: the first caller becomes the leader and
encodes whatever is queued, in one batch; the others wait for their row. Nobody waits on a timer: a lone
question is encoded at once, and questions that arrive while a batch runs form the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .embedder import Encoder

MAX_BATCH = 64


@dataclass
class _Slot:
    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False
    ready: threading.Event = field(default_factory=threading.Event)

    def result(self) -> np.ndarray:
        """The row, once `done`: the encoder's error if its batch failed."""
        if self.error is not None:
            raise self.error
        if self.vector is None:
            raise RuntimeError("a question's row was read before its batch finished")
        return self.vector


class QuestionBatcher:
    """Thread-safe: concurrent `encode` calls share encoder calls; the encoder only ever sees one caller."""

    def __init__(self, encoder: Encoder, *, max_batch: int = MAX_BATCH) -> None:
        self.encoder = encoder
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Slot] = []
        self._busy = False
        self.batches = 0  # how many encoder calls were made (for benchmarks and tests)
        self.questions = 0

    def encode(self, text: str) -> np.ndarray:
        """The embedding of `text`, encoded together with whatever else is waiting."""
        return self.encode_many([text])[0]

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        slots = [_Slot(t) for t in texts]
        with self._lock:
            self._pending.extend(slots)
        for slot in slots:
            while not slot.done:
                batch = self._claim()
                if batch is None:
                    slot.ready.wait()
                else:
                    self._run(batch)
            slot.result()  # the batch's error, at once
        return np.stack([s.result() for s in slots]) if slots else np.zeros((0, self.encoder.dimension), np.float32)

    def _claim(self) -> list[_Slot] | None:
        """Become the leader and take up to `max_batch` queued questions, unless a batch is already running."""
        with self._lock:
            if self._busy or not self._pending:
                return None
            self._busy = True
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            return batch

    def _run(self, batch: list[_Slot]) -> None:
        try:
            vectors = self.encoder.encode([s.text for s in batch], batch_size=len(batch))
            for slot, vector in zip(batch, vectors):
                slot.vector = vector
        except BaseException as exc:  # every waiter hears about it, not only the leader
            for slot in batch:
                slot.error = exc
        finally:
            with self._lock:
                self._busy = False
                self.batches += 1
                self.questions += len(batch)
                waiting = self._pending[:1]
            for slot in batch:
                slot.done = True
                slot.ready.set()
            for slot in waiting:  # wake one waiter to lead the next batch
                slot.ready.set()
