"""What a run prints: data and model summaries at the start, metrics at the end."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfft.data.features import Ragged


def data_summary(prepared: Any) -> None:
    """Split sizes, label set and anything that was dropped."""
    sizes = ", ".join(f"{split} {len(frame)}" for split, frame in prepared.examples.items())
    print(f"Data: {sizes} examples")
    if prepared.info.label_names:
        print(f"Labels: {', '.join(prepared.info.label_names)}")
    for note in prepared.notes:  # a note that starts "warning: " is something the user should check
        print(f"Warning: {note[len('warning: '):]}" if note.startswith("warning: ") else f"Note: {note}")
    target_limit = prepared.info.extras.get("max_target_length")
    for split, features in prepared.features.items():
        lengths = features.lengths()
        full = int((lengths >= prepared.info.max_length).sum())
        # QA cuts long contexts into several windows instead of truncating them
        windowed = len(features) != len(prepared.examples[split])
        cut = f"{len(features)} windows, {full} full" if windowed else f"truncated at {prepared.info.max_length}: {full}"
        if len(lengths):
            print(f"Tokens ({split}): median {int(np.median(lengths))}, max {int(lengths.max())}, {cut}")
        if isinstance(features.labels, Ragged) and len(features.labels) and target_limit:
            lengths = features.labels.lengths()
            print(f"Target tokens ({split}): median {int(np.median(lengths))}, max {int(lengths.max())}, "
                  f"truncated at {target_limit}: {int((lengths >= target_limit).sum())}")


def model_summary(model: Any, cfg: Any, global_batch: int) -> None:
    """Parameter counts, strategy and batch sizes."""
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    total = int(sum(np.prod(v.shape) for v in model.weights))
    print(f"Model: {cfg.model} ({type(model.hf_model).__name__}), parameters: {trainable:,} trainable "
          f"of {total:,} ({trainable / max(total, 1):.2%}); fine-tuning {getattr(model, 'finetune', 'full')}")
    steps = cfg.gradient_accumulation_steps
    accumulation = f" x {steps} accumulated micro-batches = {global_batch * steps} per update" if steps > 1 else ""
    extras = [s for s, on in ((f"{cfg.mixed_precision} mixed precision", cfg.mixed_precision != "none"),
                              ("XLA", cfg.jit_compile), (f"clip norm {cfg.max_grad_norm:g}" if cfg.max_grad_norm
                                                         else "", bool(cfg.max_grad_norm))) if on]
    print(f"Training: {cfg.epochs} epochs, global batch {global_batch} ({cfg.batch_size} per replica x "
          f"{global_batch // cfg.batch_size} replicas, strategy {cfg.strategy}){accumulation}, "
          f"lr {cfg.learning_rate:g}" + "".join(f", {e}" for e in extras))


def report(name: str, table: dict[str, Any], path: str = "") -> None:
    """A per-label table (rows: labels; columns: the label's metrics); other reports
    (one prediction per question, ...) are too long to print and are only named."""
    if not table:
        return
    if not all(isinstance(row, dict) for row in table.values()):
        print(f"Wrote {path or name} ({len(table)} entries)")
        return
    columns = list(next(iter(table.values())))
    width = max(len(label) for label in table)
    print(f"\n{name} (validation)")
    print(f"{'':{width}}  " + "  ".join(f"{c:>9}" for c in columns))
    for label, row in table.items():
        cells = [f"{row[c]:>9.3f}" if isinstance(row[c], float) else f"{row[c]:>9}" for c in columns]
        print(f"{label:{width}}  " + "  ".join(cells))


def _metrics_line(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())


def results_summary(results: dict[str, Any], path: str) -> None:
    """The end-of-run summary."""
    print("\n== Summary ==")
    baseline = results.get("baseline", {}).get("test")
    if baseline and "test" in results:
        sample = results["baseline"].get("sample")
        head = f"untrained head (sample of {sample['examples']:,})" if sample else "untrained head"
        for name in results["test"]:
            if name in baseline:
                print(f"test {name}: {head} {baseline[name]:.4f} -> fine-tuned {results['test'][name]:.4f}")
    elif "test" in results:
        print(f"test: {_metrics_line(results['test'])}")
    if "eval" in results:
        best = f" (best epoch {results['best_epoch']})" if results.get("best_epoch") else ""
        print(f"validation: {_metrics_line(results['eval'])}{best}")
    if results.get("export"):
        print(f"exported: {results['export']}")
    if results.get("model_dir"):
        print(f"model: {results['model_dir']}")
    pictures(results)
    kept = results.get("checkpoints")
    if kept:
        size = f"{kept['bytes'] / 2**20:.1f} MB"
        print(f"checkpoints: kept {', '.join(kept['kept'])} in {kept['dir']} ({size})" if kept["kept"] else
              f"checkpoints: deleted ({size}) now that the "
              f"{'model and export are' if 'model_dir' in results else 'results are'} written; "
              "--keep_checkpoints_at_end keeps them")
    print(f"results: {path}")


def pictures(results: dict[str, Any]) -> None:
    """One line per picture of the run (its path) and the TensorBoard command."""
    if results.get("curves"):
        print(f"curves: {results['curves']}")
    for figure in results.get("figures", []):
        print(f"{figure['name'].replace('_', ' ')} ({figure['split']}): {figure['path']}")
    if results.get("tensorboard"):
        print(f"tensorboard: {results['tensorboard']} (tensorboard --logdir {results['tensorboard']})")


def already_complete(run_dir: str, path: str, results: dict[str, Any]) -> None:
    """The one line of a rerun of a completed run."""
    export = f", export: {results['export']}" if results.get("export") else ""
    print(f"Run in {run_dir} is already complete (results: {path}{export}); pass --overwrite_output_dir to "
          "train again.")
