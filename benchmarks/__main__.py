"""``python -m benchmarks [--quick] [--only name,...] [--out DIR]``: runs the cases, writes the results.

Example:
    python -m benchmarks --quick --out /tmp/bench
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import tfft  # noqa: F401  (before TensorFlow: the Keras 2 API)
from tfft import _env

from benchmarks import (cases_compute, cases_modes, cases_peers, cases_pipeline, cases_recovery, cases_serving,
                        cases_serving_bpe, cases_tasks, cases_train, cases_tune)
from benchmarks.harness import machine, write
from benchmarks.workloads import Sizes

# Order matters: the pipeline case compares with the training rate the train case measured.
GROUPS = {"train": cases_train.run, "pipeline": cases_pipeline.run, "compute": cases_compute.run,
          "tasks": cases_tasks.run, "serving": cases_serving.run,
          "serving_bpe": cases_serving_bpe.run, "recovery": cases_recovery.run,
          "modes": cases_modes.run, "tune": cases_tune.run, "peers": cases_peers.run}


def main(argv: list[str]) -> int:
    """Runs the chosen case groups and prints where the results went."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the suite runs, measures nothing")
    parser.add_argument("--only", default="", help=f"comma-separated groups of {', '.join(GROUPS)} (the other "
                                                   "groups' cases of the previous results are kept)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    chosen = [g for g in args.only.split(",") if g] or list(GROUPS)
    unknown = sorted(set(chosen) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    _env.quiet_libraries()
    _env.import_tensorflow_quietly()  # the C++ start-up lines (CUDA probes on a CPU machine) filtered
    sizes, shared, results = Sizes.make(args.quick), {}, []
    with tempfile.TemporaryDirectory(prefix="tfft-bench-") as root:
        for group in chosen:
            print(f"-- {group}", flush=True)
            for result in GROUPS[group](sizes, root, shared):
                results.append(result)
                print(f"{result.name}: ratio {result.ratio:.2f}"
                      + (f" (target >= {result.target:g})" if result.target else ""), flush=True)
    paths = write(results, machine(), args.out, args.quick, keep_others=bool(args.only),
                  skipped=shared.get("skipped"))
    print("wrote " + " and ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
