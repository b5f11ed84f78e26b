"""A plain progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.1


class Progress:
    """Counts steps of a long run and redraws one line: label, bar, count.

    Args:
        total: Steps in the whole run.
        label: What is being done now.
        stream: Where to draw; stderr by default.
        enabled: Draw at all; by default only when `stream` is a terminal.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._drawn_at = 0.0
        self._width = 0

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def describe(self, label: str) -> None:
        """Change the label (and redraw)."""
        self.label = label
        self._draw(force=True)

    def advance(self, steps: int = 1) -> None:
        """Count `steps` more steps done."""
        self.done = min(self.total, self.done + steps)
        self._draw(force=self.done == self.total)

    def line(self) -> str:
        """The line as drawn: label, bar and count."""
        filled = WIDTH * self.done // self.total
        bar = "#" * filled + "." * (WIDTH - filled)
        return f"{self.label} [{bar}] {self.done}/{self.total}"

    def close(self) -> None:
        """Wipe the line, so later output starts on a clean line."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn_at < REDRAW_SECONDS:
            return
        self._drawn_at = now
        text = self.line()
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = max(self._width, len(text))
