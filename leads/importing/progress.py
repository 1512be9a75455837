"""The import command's progress bar."""

import time


class Progress:
    """The command's progress bar (tqdm) on a terminal: rows, rows per second and, for a file, % and ETA.

    Neutral colours (tqdm's own, not the command's red error style). The ETA appears once the first
    batch is written: before that the rate would count reading and validating but no database
    writes, and promise too much. Progress is measured in bytes the readers have taken, not in what
    the read-ahead buffer holds, so a small file does not show 100% at once.
    """

    def __init__(self, stream, total_bytes=None, interval=0.25):
        from tqdm import tqdm  # only a command on a terminal needs it

        self.total = total_bytes or None
        stream = getattr(stream, "_out", stream)  # a command's OutputWrapper would colour and end every write
        self.bar = tqdm(
            total=self.total,
            file=stream,
            mininterval=interval,
            bar_format=self._format(eta=False),
            ncols=80,  # the line's own width: a terminal that reports none (0) would otherwise get an empty line
            smoothing=0,  # the rate since the start, writes included: an ETA that holds
        )
        self.committed, self.started = 0, time.monotonic()

    def _format(self, eta: bool) -> str:
        if not self.total:
            return "{desc}"
        return "{percentage:3.0f}%|{bar:20}| {desc}" + ("  ETA {remaining}" if eta else "")

    def update(self, rows, position, committed=0, force=False):
        if committed and not self.committed:
            self.committed = committed
            self.bar.bar_format = self._format(eta=True)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.bar.set_description_str(f"{rows:,} rows  {rows / elapsed:,.0f} rows/s", refresh=False)
        self.bar.update((position or 0) - self.bar.n if self.total else 0)
        if force:
            self.bar.refresh()

    def finish(self, rows, position=None):
        self.update(rows, self.total if position is None else position, self.committed or rows, force=True)
        self.bar.close()
