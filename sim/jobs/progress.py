"""Progress of a job's runs on stderr: a tqdm bar on a terminal, else a status line every 30 s."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


class Progress:
    """Runs done of total, failures and the ETA: a tqdm bar on a terminal, else a line every 30 s."""

    def __init__(self, name: str, total: int, done: int, quiet: bool, stream=sys.stderr, every: float = 30.0):
        self.total, self.done, self.failed, self.new = total, done, 0, 0
        self.name, self.stream, self.every = name, stream, every
        self.start = self.last = time.monotonic()
        interactive = not quiet and hasattr(stream, "isatty") and stream.isatty()
        self.bar = tqdm(total=total, initial=done, desc=name, unit="run", file=stream) if interactive else None
        self.lines = not quiet and self.bar is None

    def update(self, ok: bool) -> None:
        self.done, self.new, self.failed = self.done + 1, self.new + 1, self.failed + (not ok)
        if self.bar is not None:
            self.bar.set_postfix_str(f"failed={self.failed}", refresh=False)
            self.bar.update()
        elif self.lines and time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            print(self.status(), file=self.stream, flush=True)

    def status(self) -> str:
        rate = self.new / max(time.monotonic() - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        shown = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta == eta else "?"
        return f"{self.name}: {self.done}/{self.total} runs, {self.failed} failed, ETA {shown}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
