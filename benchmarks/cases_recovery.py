"""What a checkpoint costs: one save of the full training state (weights, AdamW slots,
best-epoch weights, position) against one training step of the same model, so
``--save_steps`` can be chosen knowing how many steps of time a checkpoint takes.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, interleaved, timed


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``checkpoint_save_vs_train_step``: seconds of one checkpoint / seconds of one step."""
    from transformers import AutoTokenizer

    import tfft
    from tfft.training.callbacks import EvaluateAndKeepBest
    from tfft.training.checkpoints import RunState

    model_dir = wl.model_dir(sizes, root)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    median = wl.MEDIAN_TOKENS if not sizes.quick else 24
    rows = wl.reviews(sizes.train_examples, wl.filler_words(tokenizer), median, seed=1)
    data = wl.fresh_dir(os.path.join(root, "recovery-data"))
    cfg = wl.config(root, model_dir, wl.write_csv(f"{data}/train.csv", rows), None, sizes,
                    output_dir=wl.fresh_dir(os.path.join(root, "recovery-run")), keep_checkpoints=2)
    model = tfft.build_model(cfg)
    keeper = EvaluateAndKeepBest(None, "loss", restore_at_end=False)
    keeper.set_model(model)
    state = RunState(model, keeper, cfg)
    batches = iter(tfft.api.epoch_dataset(cfg, 0).repeat())
    model.train_on_batch(*next(batches))  # tracing is not a step's cost
    state.save(0, 1)
    saves, steps = interleaved(lambda: timed(lambda: state.save(0, 1)),
                               lambda: timed(lambda: model.train_on_batch(*next(batches))), sizes.repeats * 3)
    size = sum(os.path.getsize(os.path.join(state.directory, n)) for n in os.listdir(state.directory)
               if n.startswith(os.path.basename(state.manager.latest_checkpoint)))
    weights = sum(int(w.shape.num_elements()) * 4 for w in model.weights)
    return [Result("checkpoint_save_vs_train_step", Measure("checkpoint save", "s", saves),
                   Measure(f"train step (batch {sizes.batch})", "s", steps),
                   notes={"checkpoint size": f"{size / 2**20:.1f} MB for {weights / 2**20:.1f} MB of float32 "
                                             f"weights (weights, 2 AdamW moments, best-epoch copy)"})]
