"""Memory over many tuning trials in one process: the peak RSS after the last trial against
the peak after the first (the issue's budget: at most 10% more).

The tune runs in a fresh process (``python -m benchmarks.cases_tune <json>``) so the peak is
its own: 20 one-epoch trials (3 in a quick run) over the learning rate and batch size. Each
trial's Keras session and model must be freed (``clear_session``) for the peak to stay flat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result

RSS_GROWTH_BUDGET = 1.10


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1]) / 1024


def tune_peaks(values: dict[str, Any]) -> list[float]:
    """Peak RSS (MB) of this process after each trial of a tune of ``values``."""
    import tfft
    from tfft.tuning import objective

    peaks: list[float] = []
    call = objective.Objective.__call__

    def measured(self: Any, trial: Any) -> float:
        try:
            return call(self, trial)
        finally:
            peaks.append(_peak_mb())

    objective.Objective.__call__ = measured
    tfft.tune(tfft.Config.from_dict(values))
    return peaks


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``tune_peak_rss_first_vs_last``: ratio >= 1 / 1.10 is within the budget."""
    model_dir = wl.model_dir(sizes, root)
    from transformers import AutoTokenizer

    words = wl.filler_words(AutoTokenizer.from_pretrained(model_dir))
    data = wl.fresh_dir(os.path.join(root, "tune-data"))
    train = wl.write_csv(f"{data}/train.csv", wl.reviews(sizes.train_examples, words, 24, seed=1))
    heldout = wl.write_csv(f"{data}/validation.csv", wl.reviews(max(sizes.train_examples // 4, 16), words, 24, seed=2))
    trials = 3 if sizes.quick else 20
    cfg = wl.config(root, model_dir, train, heldout, sizes, epochs=1, mode="tune", tune_trials=trials,
                    tune_space="learning_rate=1e-5:1e-3:log,batch_size=8|16", tune_pruner="none",
                    output_dir=wl.fresh_dir(os.path.join(root, "tune-run")))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.cases_tune", json.dumps(cfg.to_dict())],
                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the tune failed: {proc.stderr[-2000:]}")
    peaks = json.loads(proc.stdout.strip().splitlines()[-1])
    return [Result("tune_peak_rss_first_vs_last", Measure("after trial 1", "MB", [peaks[0]]),
                   Measure(f"after trial {len(peaks)}", "MB", [peaks[-1]]), target=1 / RSS_GROWTH_BUDGET,
                   notes={"what": f"peak RSS of one process after its first and last of {len(peaks)} one-epoch "
                                  "trials; ratio >= 0.91: grew less than 10%", "peaks_mb": [round(p) for p in peaks]})]


if __name__ == "__main__":
    print(json.dumps(tune_peaks(json.loads(sys.argv[1]))))
