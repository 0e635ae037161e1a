"""Progress of a long pass over files: a bar on a terminal, plain lines in a log.

A depositor hashing a terabyte wants to know how far along it is and when it will end;
a CI log wants a few lines, not ten thousand carriage returns. So on a TTY one line is
redrawn at most ten times a second (files, bytes, rate, time left); elsewhere a plain line
is printed every ``LOG_EVERY`` seconds and at the end.
"""

from __future__ import annotations

import time
from typing import TextIO

LOG_EVERY = 10.0


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


class Progress:
    """``files`` and ``size`` None: the totals are not known (a walk), so the line shows
    what was done and its rate, without a time left."""

    def __init__(
        self, label: str, files: int | None, size: int | None, stream: TextIO | None, tty: bool
    ):
        self.label, self.files, self.size = label, files, size
        self.stream, self.tty = stream, tty
        self.done_files = self.done_bytes = 0
        self.started = time.monotonic()
        self._shown = 0.0 if tty else self.started

    def add(self, files: int, size: int) -> None:
        self.done_files += files
        self.done_bytes += size
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self._shown >= (0.1 if self.tty else LOG_EVERY):
            self._shown = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max(1e-9, (now or time.monotonic()) - self.started)
        rate = self.done_bytes / elapsed
        if self.files is None or self.size is None:
            return (
                f"{self.label}: {self.done_files:,} files, {human_bytes(self.done_bytes)}, "
                f"{human_bytes(rate)}/s"
            )
        text = (
            f"{self.label}: {self.done_files:,}/{self.files:,} files, "
            f"{human_bytes(self.done_bytes)}/{human_bytes(self.size)}, "
            f"{human_bytes(rate)}/s"
        )
        if self.done_bytes < self.size and rate > 0:
            text += f", {_clock((self.size - self.done_bytes) / rate)} left"
        elif self.done_files < self.files and self.done_files:
            per_file = elapsed / self.done_files
            text += f", {_clock((self.files - self.done_files) * per_file)} left"
        return text

    def _write(self, text: str) -> None:
        assert self.stream is not None
        if self.tty:
            self.stream.write(f"\r\033[K{text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """The final figures, on a line of their own."""
        if self.stream is None or not (self.files or self.done_files):
            return
        elapsed = time.monotonic() - self.started
        text = self.line().split(", ", 3)
        final = ", ".join(text[:3]) + f" in {elapsed:.1f} s"
        if self.tty:
            self.stream.write(f"\r\033[K{final}\n")
        else:
            self.stream.write(final + "\n")
        self.stream.flush()
