"""The untrained-head baseline: the test metrics of the model before training, for comparison.

Scoring costs one forward pass per test token; training costs about three (forward and
backward) per train token and epoch. ``--score_untrained=auto`` scores the whole test set
when that is under ``BUDGET`` of the planned training, else a seeded sample of test
examples sized to that budget (results.json and the console say it is a sample): with
2,000 train and 2,000 test texts over 2 epochs the whole set would cost ~17% of training,
so ~1,200 examples are scored. ``true`` always scores all of test, ``false`` never.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

from tfft.data.batching import BatchPlan
from tfft.data.features import Features
from tfft.training.inference import outputs

BUDGET = 0.10  # of the planned training's cost
MIN_SAMPLE = 32  # fewer examples say too little to be worth a line


def sample_size(cfg: Any, train: Features, test_rows: int, test: Features) -> Optional[int]:
    """Test examples to score: None for all of them, 0 for none."""
    if cfg.score_untrained == "false":
        return 0
    if cfg.score_untrained == "true":
        return None
    scoring, training = float(test.lengths().sum()), 3.0 * cfg.epochs * float(train.lengths().sum())
    if scoring <= BUDGET * training:
        return None
    n = max(MIN_SAMPLE, int(test_rows * BUDGET * training / max(scoring, 1.0)))
    return None if n >= test_rows else n


def sample(features: Features, examples: pd.DataFrame, n: int, seed: int) -> tuple[Features, pd.DataFrame]:
    """``n`` seeded examples and every feature of theirs (a QA question keeps all its windows)."""
    rows = np.sort(np.random.default_rng(seed).choice(len(examples), size=n, replace=False))
    owner = features.example_index if features.example_index is not None else np.arange(len(features))
    keep = np.flatnonzero(np.isin(owner, rows))
    picked = features.take(keep)
    if picked.example_index is not None:
        picked.example_index = np.searchsorted(rows, picked.example_index)
    return picked, examples.iloc[rows].reset_index(drop=True)


def score(model: Any, cfg: Any, prepared: Any, plan: Optional[BatchPlan] = None) -> Optional[dict[str, Any]]:
    """``{"test": metrics}`` of the untrained model (with ``sample`` when only part of test was
    scored), or None when ``--score_untrained`` says not to. ``plan``: the run's batch plan
    (default: ``cfg``'s)."""
    features, examples = prepared.features["test"], prepared.examples["test"]
    n = sample_size(cfg, prepared.features["train"], len(examples), features)
    if n == 0:
        return None
    if n is None:
        metrics = prepared.task.evaluate(outputs(model, cfg, features, "Scoring test (untrained)", plan), features,
                                         examples, model.info)
        return {"test": metrics}
    picked, rows = sample(features, examples, n, cfg.seed)
    picked_outputs = outputs(model, cfg, picked, "Scoring test (untrained, sample)", plan)
    metrics = prepared.task.evaluate(picked_outputs, picked, rows, model.info)
    print(f"Untrained baseline on a sample of {n:,} of {len(examples):,} test examples (all of them would cost "
          f"over {BUDGET:.0%} of the planned training; --score_untrained=true scores all)")
    return {"test": metrics, "sample": {"examples": n, "of": len(examples), "seed": cfg.seed}}
