"""The import in two processes: a forked child reads and validates the next batch while the parent writes."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
from typing import TYPE_CHECKING

from django.db import connections

from leads.importing.errors import ImportFileError

if TYPE_CHECKING:
    from leads.importing.reading import InputFile
    from leads.importing.writing import Importer


class Pipeline:
    """Read and validate batches in a forked process while this one writes the batch before.

    The writing process's time goes mostly to PostgreSQL (COPY into an indexed table, history,
    events) and the reading process's to Python (decoding, mapping, DRF validation), so each
    keeps a core busy. The child reads the file (the parent no longer touches it), looks up
    assignees on its own connection and sends each batch's results through a queue that
    holds at most two batches, so memory stays flat. Batches are written in file order, each in
    its own transaction, exactly as one process writes them.

        with Pipeline(importer, source) as batches:
            for results, position in batches: ...
    """

    QUEUED_BATCHES = 2

    def __init__(self, importer: Importer, source: InputFile):
        self.importer, self.source = importer, source
        context = multiprocessing.get_context("fork")
        self.queue = context.Queue(self.QUEUED_BATCHES)
        self.process = context.Process(target=self._read_and_validate, daemon=True)
        self.parent_pid = os.getpid()

    def __enter__(self):
        # The child must not share the parent's database socket: both open their own.
        connections.close_all()
        self.process.start()
        return self._batches()

    def __exit__(self, *exc_info):
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.queue.close()

    def _batches(self):
        while True:
            try:
                kind, payload, position = self.queue.get(timeout=1)
            except queue.Empty:
                if not self.process.is_alive():
                    raise ImportFileError("The reading process ended unexpectedly.") from None
                continue
            if kind == "end":
                return
            if kind == "error":
                raise payload
            yield payload, position

    def _send(self, *message):
        """Put a message on the queue, waiting while it is full; end quietly if the parent is gone (kill -9)."""
        while True:
            try:
                self.queue.put(message, timeout=1)
                return
            except queue.Full:
                if os.getppid() != self.parent_pid:
                    os._exit(1)

    def _read_and_validate(self):
        """The child: runs until the file ends; Ctrl-C is the parent's to handle."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        importer, source, size = self.importer, self.source, self.importer.options.batch_size
        try:
            batch = []
            for row in source.rows:
                batch.append(row)
                if len(batch) >= size:
                    self._send("batch", importer.validate_new_leads(batch), source.position)
                    batch = []
            if batch:
                self._send("batch", importer.validate_new_leads(batch), source.position)
            self._send("end", None, source.position)
        except Exception as exc:  # the parent raises it: a file error, or the child's database gone
            try:
                pickle.dumps(exc)
            except Exception:
                exc = ImportFileError(f"Reading the file failed: {exc}")
            self._send("error", exc, None)
        finally:
            connections.close_all()
            self.queue.close()
            self.queue.join_thread()
