"""Command line: ``python -m tfft.main --task=imdb`` or ``--flagfile=flags/demo.flags``.

This file is intentionally short: flags -> config -> ``tfft.run``. A mistake the user can
fix (``TfftError``) prints one line and exits with status 2.
"""

from __future__ import annotations

import os
import signal
import sys

from tfft import _env

_env.require_legacy_keras()
_env.quiet_libraries()

from absl import app  # noqa: E402

from tfft import flags as tfft_flags  # noqa: E402
from tfft.errors import TfftError  # noqa: E402

tfft_flags.define_flags()


def main(argv: list[str]) -> None:
    """Entry point for absl's ``app.run``."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])} (flags look like --name=value).")
    try:
        config = tfft_flags.config_from_flags()  # validates before the slow TensorFlow import
        _env.import_tensorflow_quietly()
        from tfft.dispatch import run

        run(config)
    except TfftError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", 2))  # a run stopped by a signal: 128 + its number
    except KeyboardInterrupt as err:  # Ctrl-C outside training (which checkpoints first, then stops)
        phase = getattr(err, "phase", "")  # set by the innermost progress phase it stopped
        where = f" while {phase[:1].lower()}{phase[1:]}" if phase else ""
        start = "\n" if sys.stderr.isatty() else ""  # off the "^C" the terminal echoed
        print(f"{start}error: interrupted by Ctrl-C (SIGINT){where}; stopped. Run the same command again to "
              "start over.", file=sys.stderr)
        sys.exit(128 + signal.SIGINT)


def cli(fast_exit: bool = True) -> None:
    """Console-script entry point (``tfft --flagfile=...``); ``--help`` or ``-h`` prints the short usage.

    ``fast_exit``: when the run is over, end the process at once (:func:`exit_now`) instead of
    letting Python tear TensorFlow down (about 2 s after a fine-tuning run); ``False`` returns
    (raises ``SystemExit``) as ``absl.app.run`` does, for a caller that goes on in-process.
    """
    if tfft_flags.wants_help(sys.argv):
        installed = os.path.basename(sys.argv[0]) == "tfft"  # the console script, not python -m tfft.main
        print(tfft_flags.usage("tfft") if installed else tfft_flags.usage())
        return
    try:
        app.run(main)  # ends in SystemExit
    except SystemExit as end:
        if not fast_exit:
            raise
        exit_now(end.code)


def exit_now(code: object = 0) -> None:
    """Ends the process with ``code`` (``SystemExit``'s: None, an int, or a message printed to
    stderr) after flushing the console and logging, without Python's interpreter teardown.

    Everything tfft writes (results, model, export, checkpoints, TensorBoard events) is closed
    before the run returns or raises (:func:`tfft.dispatch.run` waits for background checkpoint
    writes), so nothing is left to finalise; the teardown would only free TensorFlow's graphs
    and threads, which the operating system does at once.
    """
    import logging

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    cli()
