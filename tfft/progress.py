"""Progress of the long phases of a run: a live bar on a terminal, a line every ~15 s in logs.

Every phase that can run for more than a few seconds (reading and tokenizing the data,
loading the model, an epoch, scoring a split, exporting) shows itself through one
:class:`Progress`::

    with Progress("Tokenizing train", total=len(texts), unit="examples") as bar:
        for chunk in chunks:
            ...
            bar.update(len(chunk))

On a terminal the phase is one line redrawn in place. Written to a file or a pipe (a log,
CI) it is a line at most every ``LOG_INTERVAL`` seconds with done/total, rate and ETA.
Either way it ends with one line that gives its time. A phase that ends within
``QUIET_SECONDS`` prints nothing, so a small run keeps a short console.

Code deep inside a phase (the tokenizer's chunk loop, the exporter's steps) reports with
:func:`advance` and :func:`note` to the innermost open phase if that phase asked for
reports (``reports=True``); without one they do nothing (a notebook calling that code
directly). A background thread ticks the innermost phase every second, so a phase held
up in one long call (a first step's tracing, writing a SavedModel) still shows its time.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Optional, TextIO, Union

QUIET_SECONDS = 2.0  # a phase that ends sooner prints nothing
LOG_INTERVAL = 15.0  # seconds between the lines of a phase in a log
REFRESH = 0.2  # seconds between redraws of a terminal bar
HEARTBEAT = 1.0  # seconds between the background ticks
BAR_WIDTH = 20
CLEAR = "\r\x1b[K"  # back to the start of the terminal line and erase it

Note = Union[str, Callable[[], str]]  # a callable is only evaluated when a line is printed

_lock = threading.RLock()  # the heartbeat thread prints too
_open: list["Progress"] = []  # open phases, innermost last
_live: list[TextIO] = []  # the stream whose current line holds a bar (at most one)
_heartbeat: list[threading.Thread] = []


class Progress:
    """One phase of ``total`` units (None: not known in advance); use it as a context manager.

    Args:
        label: What the phase does, the start of each of its lines (``"Scoring test"``).
        total: Units the phase will do, for the percentage and ETA.
        unit: Name of a unit (``"examples"``); empty for a phase that counts nothing.
        quiet: Seconds before the phase shows anything (default ``QUIET_SECONDS``); 0 shows
            every phase, however short (epochs).
        reports: Count :func:`advance` and :func:`note` from code run inside the phase.
        stream: Where to print (default ``sys.stdout``).
        tty: Draw a live bar (default: whether ``stream`` is a terminal).
        clock: Seconds, monotonic (tests pass their own).
        heartbeat: Let the background thread tick the phase every second.
    """

    def __init__(self, label: str, total: Optional[int] = None, unit: str = "", *, quiet: Optional[float] = None,
                 reports: bool = False, stream: Optional[TextIO] = None, tty: Optional[bool] = None,
                 clock: Callable[[], float] = time.monotonic, heartbeat: bool = True) -> None:
        self.label, self.total, self.unit, self.reports = label, total, unit, reports
        self.quiet = QUIET_SECONDS if quiet is None else quiet
        self.stream = stream if stream is not None else sys.stdout
        self.tty = _is_terminal(self.stream) if tty is None else tty
        self.clock, self.heartbeat = clock, heartbeat
        self.done = 0
        self.note: Note = ""
        self.start: Optional[float] = None
        self._shown: Optional[float] = None  # when a line or bar was last printed
        self._closed = False

    def __enter__(self) -> "Progress":
        with _lock:
            self.start = self.clock()
            _open.append(self)
        if self.heartbeat:
            _start_heartbeat()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if isinstance(exc, KeyboardInterrupt) and not hasattr(exc, "phase"):
            exc.phase = self.label  # the innermost phase Ctrl-C stopped, for the CLI's one line
        self.close(failed=exc_type is not None)

    def update(self, n: int = 1, note: Optional[Note] = None) -> None:
        """Counts ``n`` more units done (and replaces the note); prints if a line is due."""
        with _lock:
            self.done += n
            if note is not None:
                self.note = note
            self._show()

    def tick(self) -> None:
        """Prints if a line is due (the elapsed time moves on without updates)."""
        with _lock:
            self._show()

    def close(self, result: str = "", failed: bool = False) -> None:
        """Ends the phase with its line (``<label>: ... in 12.3 s``, then `` - result``), unless it
        was quiet throughout. A failed phase leaves its last bar as it was and prints no end."""
        with _lock:
            if self._closed or self.start is None:
                return
            self._closed = True
            if self in _open:
                _open.remove(self)
            elapsed = self.clock() - self.start
            if failed or (elapsed < self.quiet and self._shown is None):
                if self.stream in _live:  # end the bar's line so what follows starts on its own
                    self._write("\n" if failed else CLEAR, live=False)
                return
            self._write(self._final(elapsed) + (f" - {result}" if result else "") + "\n", live=False)

    def _show(self) -> None:
        if self.start is None or self._closed:
            return
        now = self.clock()
        if now - self.start < self.quiet:
            return
        since = self._shown if self._shown is not None else (None if self.tty else self.start)
        if since is not None and now - since < (REFRESH if self.tty else LOG_INTERVAL):
            return
        self._shown = now
        if self.tty:
            self._write(CLEAR + _fit(self._bar(now - self.start)), live=True)
        else:
            self._write(self._status(now - self.start) + "\n", live=False)

    def _status(self, elapsed: float) -> str:
        """A log line: ``Tokenizing train: 1,200/3,000 examples (40%) in 41 s, 29 examples/s, ETA 62 s``."""
        count = self._count()
        parts = [f"{count} in {duration(elapsed)}" if count else duration(elapsed), *self._speed(elapsed), self._note()]
        return f"{self.label}: " + ", ".join(p for p in parts if p)

    def _bar(self, elapsed: float) -> str:
        filled = int(BAR_WIDTH * min(self.done / self.total, 1.0)) if self.total else 0
        bar = f" [{'#' * filled}{'.' * (BAR_WIDTH - filled)}]" if self.total else ""
        parts = [self._count(), duration(elapsed), *self._speed(elapsed), self._note()]
        return f"{self.label}{bar} " + "  ".join(p for p in parts if p)

    def _final(self, elapsed: float) -> str:
        if not self.done and self.total is None:
            return f"{self.label}: done in {duration(elapsed)}"
        counted = f"{self.done:,}" + (f"/{self.total:,}" if self.total is not None and self.done != self.total else "")
        rate = f" ({_number(self.done / elapsed)} {self.unit}/s)" if self.unit and elapsed > 0 else ""
        return f"{self.label}: {' '.join(p for p in (counted, self.unit) if p)} in {duration(elapsed)}{rate}"

    def _count(self) -> str:
        if self.total:
            return f"{self.done:,}/{self.total:,} {self.unit} ({min(self.done / self.total, 1.0):.0%})"
        return f"{self.done:,} {self.unit}" if self.done else ""

    def _speed(self, elapsed: float) -> list[str]:
        if not self.done or not self.unit or elapsed <= 0:
            return []
        rate = self.done / elapsed
        eta = [f"ETA {duration(max(self.total - self.done, 0) / rate)}"] if self.total else []
        return [f"{_number(rate)} {self.unit}/s", *eta]

    def _note(self) -> str:
        return self.note() if callable(self.note) else self.note

    def _write(self, text: str, live: bool) -> None:
        if not live and self.stream in _live and not text.startswith(("\n", CLEAR)):
            text = CLEAR + text  # a line replaces the bar drawn on the current line
        _live.clear()
        if live:
            _live.append(self.stream)
        self.stream.write(text)
        self.stream.flush()


def say(text: str, stream: Optional[TextIO] = None) -> None:
    """Prints a line, on a line of its own if a bar is drawn on the current one."""
    stream = stream if stream is not None else sys.stdout
    with _lock:
        prefix = CLEAR if stream in _live else ""
        _live.clear()
        print(prefix + text, file=stream, flush=True)


def advance(n: int = 1) -> None:
    """Counts ``n`` units toward the innermost open phase, if it takes reports."""
    with _lock:
        if _open and _open[-1].reports:
            _open[-1].update(n)


def note(text: str) -> None:
    """Says what the innermost open phase is doing now (``"writing the SavedModel"``), if it takes reports."""
    with _lock:
        if _open and _open[-1].reports:
            _open[-1].update(0, note=text)


class Tracked:
    """``iterable`` as it is (its other attributes are the wrapped object's), counting
    ``size(item)`` toward ``progress`` once each item has been used."""

    def __init__(self, iterable: Iterable[Any], progress: Progress, size: Callable[[Any], int] = lambda item: 1):
        self._iterable, self._progress, self._size = iterable, progress, size

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterable:
            yield item
            self._progress.update(self._size(item))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not yet set (a copy being made): no recursion into __getattr__
            raise AttributeError(name)
        return getattr(self._iterable, name)


def known(count: Optional[int]) -> Optional[int]:
    """A total to show, or None for a count nobody knows (tf.data's cardinality is negative
    when it cannot tell, or for an endless dataset)."""
    return count if count is not None and count >= 0 else None


def duration(seconds: float) -> str:
    """``3.1 s``, ``42 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _number(value: float) -> str:
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def _fit(text: str) -> str:
    """``text`` cut to the terminal's width: a bar that wrapped could not be redrawn in place."""
    return text[:max(shutil.get_terminal_size((100, 24)).columns - 1, 20)]


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _start_heartbeat() -> None:
    with _lock:
        if not _heartbeat or not _heartbeat[0].is_alive():
            _heartbeat[:] = [threading.Thread(target=_beat, name="tfft-progress", daemon=True)]
            _heartbeat[0].start()


def _beat() -> None:
    while True:
        time.sleep(HEARTBEAT)
        with _lock:
            phase = _open[-1] if _open else None
            try:
                if phase is not None and phase.heartbeat:
                    phase.tick()
            except (OSError, ValueError):  # the stream was closed under the phase
                pass
