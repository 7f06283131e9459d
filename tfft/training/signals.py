"""Turning SIGTERM / SIGINT during training into "checkpoint at the next step, then stop".

Schedulers (Kubernetes, Slurm, spot instances) send SIGTERM some seconds before killing a
job; Ctrl-C sends SIGINT. The handler only records the signal: the training loop saves a
checkpoint at the next step boundary and stops. A second signal gets the previous
handler (Ctrl-C twice stops at once).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Optional

CAUGHT = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Context manager; ``signum`` is the first caught signal, or None.

    Signal handlers can only be installed from the main thread; elsewhere (a notebook
    worker thread) the manager does nothing and ``signum`` stays None.
    """

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in CAUGHT:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # asked twice: stop now, the way the previous handler would
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            signal.raise_signal(signum)
            return
        self.signum = signum
        print(f"\n{signal.Signals(signum).name} received: saving a checkpoint after this step, then stopping.",
              file=sys.stderr, flush=True)
