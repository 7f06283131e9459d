"""One run per mode: train (then evaluate and export), evaluate, predict, export.

Every mode but predict writes ``<output_dir>/results.json``::

    {"task": ..., "model": ..., "eval": {"accuracy": ..., "f1": ...},
     "test": {...}, "baseline": {"test": {...}}, "export": "<version dir>",
     "checkpoints": {"dir": ..., "kept": [], "bytes": ...}, "complete": true}

(``checkpoints`` and ``complete``: train mode; see :func:`tfft.rundir.finished`.)
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

import tensorflow as tf

from tfft import baseline, console, io, preflight, rundir
from tfft.config import Config
from tfft.data.batching import BatchPlan
from tfft.data.features import input_notes
from tfft.data.prepare import prepare
from tfft.models import modes
from tfft.models.loading import INFO_FILE
from tfft.serving import saved_model
from tfft.tasks import get_task
from tfft.training import cached, checkpoints, inference, loop, validation
from tfft.training.batches import batch_plan, epoch_dataset, eval_dataset
from tfft.training.board import BOARD_DIR, EpochBoard
from tfft.training.build import build_model
from tfft.training.callbacks import EvaluateAndKeepBest
from tfft.training.figures import plot_history, save_figure
from tfft.training.shapes import ShapeLog
from tfft.training.strategy import strategy_for


def train(cfg: Config, *, callbacks: Sequence[tf.keras.callbacks.Callback] = (), save: bool = True) -> dict[str, Any]:
    """Fine-tunes (resuming from a checkpoint of the same run), keeps the best epoch, scores
    validation and test, saves the model and exports.

    ``callbacks`` see every epoch's logs after the best-epoch tracker (a tuning trial's
    pruner); ``save=False`` (a tuning trial) writes results.json but no model/ and no export.
    """
    preflight.check_destinations(cfg)
    prepared = prepare(cfg)  # data and model are checked before the output directory is touched
    resume, start_over = checkpoints.plan_resume(cfg)
    preflight.check_disk(cfg, prepared.model_dir)
    out = rundir.claim(cfg, fresh=start_over)
    console.data_summary(prepared)
    if cfg.deterministic:
        loop.make_deterministic(cfg.seed)
    has_val = "validation" in prepared.features
    plan = batch_plan(cfg)  # the run's one plan: the schedule's steps, every epoch and every scoring pass
    val_ds = eval_dataset(cfg, prepared, prepared.features["validation"], plan=plan) if has_val else None
    model = build_model(cfg, total_steps=plan.steps(prepared.features["train"], cfg.epochs), plan=plan)  # the run
    console.model_summary(model, cfg, plan.train_batch // cfg.gradient_accumulation_steps)  # one micro-batch
    results: dict[str, Any] = {"task": cfg.task, "model": cfg.model}
    if "test" in prepared.features and "train" in prepared.features:
        untrained = baseline.score(model, cfg, prepared, plan)
        if untrained is not None:
            results["baseline"] = untrained
    board = EpochBoard(os.path.join(out, BOARD_DIR)) if cfg.tensorboard else None
    score = _validation_score(prepared, model, board) if has_val else None
    passes: dict[str, Any] = {}  # the last validation outputs, and the kept epoch's

    # one validation pass an epoch: Keras' val_loss from the task pass's outputs where it can
    one_pass = has_val and not cfg.cache_features and validation.reuses_task_pass(
        prepared.task, cfg, strategy_for(cfg).num_replicas_in_sync)

    def validation_metrics() -> dict[str, float]:
        passes["last"] = inference.split_outputs(model, cfg, "validation", plan)
        order = prepared.features["validation"].shortest_first()
        logs = validation.keras_logs(model, val_ds, passes["last"], order) if one_pass else {}
        return {**logs, **score(passes["last"])}

    keeper = EvaluateAndKeepBest(validation_metrics if score else None,
                                 cfg.metric_for_best, cfg.early_stopping_patience, every=cfg.generate_every,
                                 epochs=cfg.epochs, restore_at_end=False)
    keeper.on_best = lambda epoch, scored: passes.update(best=passes.get("last") if scored else None)
    shapes = ShapeLog()
    try:
        trained = _fit(cfg, prepared, plan, model, keeper, shapes, (None if one_pass else val_ds, score), resume,
                       [*([board] if board else []), *callbacks])
    finally:
        if board is not None:
            board.close()
    if cfg.jit_compile:
        results["xla_batch_shapes"] = len(shapes.shapes)
        print(f"XLA: the train step was compiled for {shapes.summary()}")
    results.update(train_steps=trained["steps"], resumed_from_step=trained["resumed_from"])
    results["best_epoch"] = None if keeper.best_epoch is None else keeper.best_epoch + 1
    known: dict[str, Any] = {}
    if has_val:  # calibration changes only the task facts, so these outputs are scored too
        # the kept epoch's outputs when this process scored it (not after a resume, nor on cached features)
        known["validation"] = passes.get("best") or inference.split_outputs(model, cfg, "validation", plan)
        model.info = prepared.task.calibrate(cfg, known["validation"], prepared.features["validation"], model.info,
                                             examples=prepared.examples["validation"])
    results.update(_score(model, cfg, prepared, known, plan))
    if save and cfg.finetune in ("adapter", "lora"):  # before the merge: the LoRA updates alone
        results["adapter_weights"] = modes.save_adapter(model, cfg, os.path.join(out, modes.ADAPTER_FILE))
    if save:
        results["model_dir"] = save_trained(model, os.path.join(out, "model"))
        results["export"] = saved_model.export_run(model, prepared.task, cfg)
    results["history"] = trained["history"]
    results["curves"] = plot_history(trained["history"], os.path.join(out, "curves.png"), results["best_epoch"],
                                     cfg.metric_for_best)
    if board is not None:
        results["tensorboard"] = board.log_dir
    return _complete(cfg, results)


def _validation_score(prepared: Any, model: tf.keras.Model,
                      board: Optional[EpochBoard]) -> Callable[[dict[str, Any]], dict[str, float]]:
    """Validation outputs -> the task's metrics (each epoch's); the same pass leaves a few
    predictions beside their references for the board's text summary."""
    features, examples = prepared.features["validation"], prepared.examples["validation"]

    def score(outputs: dict[str, Any]) -> dict[str, float]:
        metrics, samples = prepared.task.scored(outputs, features, examples, model.info,
                                                samples=board.sample_count if board else 0)
        if board is not None:
            board.samples = samples
        return metrics

    return score


def _fit(cfg: Config, prepared: Any, plan: BatchPlan, model: tf.keras.Model, keeper: EvaluateAndKeepBest,
         shapes: ShapeLog, validation: tuple[Any, Any], resume: bool,
         callbacks: Sequence[tf.keras.callbacks.Callback]) -> dict[str, Any]:
    """Trains with the Keras loop, or the head alone on cached features (fast: no checkpoints
    mid-run); ``validation``: the validation batches and the scorer of its outputs;
    ``callbacks`` (the board, a trial's pruner) see each epoch after the best-epoch tracker."""
    val_ds, score = validation
    if cfg.cache_features:
        val = prepared.features.get("validation")
        return cached.fit_head(model, cfg, keeper, epoch_dataset(cfg, 0, plan=plan), val_ds, score=score,
                               validation_order=val.shortest_first() if val is not None else None,
                               callbacks=callbacks)

    def epoch_data(epoch: int, skip: int) -> tf.data.Dataset:
        batches = epoch_dataset(cfg, epoch, skip, plan)
        return shapes.attach(batches) if cfg.jit_compile else batches

    epoch_batches = plan.steps(prepared.features["train"], epochs=1)
    return loop.fit(model, cfg, keeper, epoch_data, epoch_batches, val_ds, resume, callbacks)


def _complete(cfg: Config, results: dict[str, Any]) -> dict[str, Any]:
    """Records the training run as complete in results.json, then deletes its checkpoints
    unless they are kept: model/ and the export are safely written by now, and a complete
    run is never resumed."""
    results["checkpoints"] = checkpoints.at_end(cfg)
    results["complete"] = True
    path = os.path.join(cfg.output_dir, rundir.RESULTS_FILE)
    io.write_json(path, results)
    checkpoints.drop(cfg, results["checkpoints"])
    console.results_summary(results, path)
    return results


def already_complete(cfg: Config, results: dict[str, Any]) -> dict[str, Any]:
    """A rerun of a completed run: one line; returns its recorded results."""
    checkpoints.drop(cfg, results.get("checkpoints"))  # in case it stopped between results.json and the drop
    console.already_complete(cfg.output_dir, os.path.join(cfg.output_dir, rundir.RESULTS_FILE), results)
    return results


def evaluate(cfg: Config) -> dict[str, Any]:
    """Scores ``--model`` on the validation and test data."""
    preflight.check_destinations(cfg)
    prepared = prepare(cfg)
    rundir.claim(cfg)
    console.data_summary(prepared)
    model = build_model(cfg)
    results: dict[str, Any] = {"task": cfg.task, "model": cfg.model, **_score(model, cfg, prepared)}
    return _finish(cfg, results)


def predict(cfg: Config) -> dict[str, Any]:
    """Prints one line per input: the prediction and the start of the text."""
    task = get_task(cfg.task)
    examples = task.predict_examples(cfg)
    model = build_model(cfg)
    predictions = inference.predict(model, cfg, examples)
    texts = list(examples["text"])
    notes = input_notes(model.tokenizer, texts, model.info.max_length) if task.truncates_inputs else {}
    for i, (prediction, text) in enumerate(zip(predictions, examples["text"])):
        short = text if len(text) <= 60 else text[:57] + "..."
        print(f"{task.format_prediction(prediction)}\t{short}")
        if i in notes:
            print(f"note: input {i + 1} {notes[i]}")
    return {"task": cfg.task, "model": cfg.model, "predictions": predictions}


def export(cfg: Config) -> dict[str, Any]:
    """Exports ``--model`` (for example a run's ``model/`` directory) without training."""
    preflight.check_destinations(cfg)
    model = build_model(cfg)
    rundir.claim(cfg)
    export = saved_model.export_run(model, get_task(cfg.task), cfg)
    return _finish(cfg, {"task": cfg.task, "model": cfg.model, "export": export})


def _score(model: tf.keras.Model, cfg: Config, prepared: Any, known: Optional[dict[str, Any]] = None,
           plan: Optional[BatchPlan] = None) -> dict[str, Any]:
    """Validation and test metrics; the task's reports (test ones ``test_``-prefixed) and its
    prediction records (``predictions.jsonl``) go beside results.json. ``known``: outputs by
    split that were already computed; ``plan``: the run's batch plan (default: ``cfg``'s)."""
    scores: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}
    for split, key in (("validation", "eval"), ("test", "test")):
        if split not in prepared.features:
            continue
        outputs = seen[split] = (known[split] if known and split in known
                                 else inference.split_outputs(model, cfg, split, plan))
        features, examples = prepared.features[split], prepared.examples[split]
        scores[key] = prepared.task.evaluate(outputs, features, examples, model.info)
        records += [{"split": split, **r} for r in prepared.task.prediction_records(outputs, features, examples,
                                                                                     model.info)]
        _write_reports(cfg, split, prepared.task.reports(outputs, features, model.info, examples=examples))
    if records:
        io.write_jsonl(os.path.join(cfg.output_dir, "predictions.jsonl"), records)
    figures = _figures(cfg, prepared, model, seen)
    return {**scores, "figures": figures} if figures else scores


def _figures(cfg: Config, prepared: Any, model: tf.keras.Model, outputs: dict[str, Any]) -> list[dict[str, str]]:
    """The task's pictures of the test split's predictions (validation's without a test split),
    written beside results.json: ``[{"name", "split", "path"}]``."""
    split = "test" if "test" in outputs else "validation"
    if split not in outputs:
        return []
    figures = prepared.task.figures(outputs[split], prepared.features[split], prepared.examples[split], model.info,
                                    split)
    return [{"name": name.removesuffix(".png"), "split": split,
             "path": save_figure(figure, os.path.join(cfg.output_dir, name))} for name, figure in figures.items()]


def _write_reports(cfg: Config, split: str, reports: dict[str, Any]) -> None:
    """Writes a split's reports: validation's under their own names (``predictions.json``, as
    the SQuAD tools read them) and shown; test's as ``test_<name>``, named in one line."""
    prefix = "" if split == "validation" else f"{split}_"
    for name, report in reports.items():
        io.write_json(os.path.join(cfg.output_dir, prefix + name), report)
        if not prefix:
            console.report(name, report, os.path.join(cfg.output_dir, name))
    if prefix and reports:
        print(f"Wrote {', '.join(prefix + n for n in reports)} ({split}) in {cfg.output_dir}")


def save_trained(model: tf.keras.Model, path: str) -> str:
    """Writes the fine-tuned model, tokenizer and task facts so ``--model=<path>`` reloads them.

    LoRA updates are merged first; adapters and an MLP head go to ``tfft_weights.npz`` beside
    the Hugging Face weights.
    """
    tmp = f"{path}.tmp-{os.getpid()}"
    modes.merge_lora(model)
    model.hf_model.save_pretrained(tmp)
    modes.save_extra(model, tmp)
    model.tokenizer.save_pretrained(tmp)
    io.write_json(os.path.join(tmp, INFO_FILE), model.info.to_dict())
    io.replace_dir(tmp, path)
    return path


def _finish(cfg: Config, results: dict[str, Any]) -> dict[str, Any]:
    path = os.path.join(cfg.output_dir, "results.json")
    io.write_json(path, results)
    console.results_summary(results, path)
    return results
