"""Multi-label classification (SemEval-2018 Task 1 E-c style): any subset of K labels per text.

Two data layouts give the same K-column 0/1 label matrix:

- one 0/1 column per label (``--label_columns=anger,joy,...``, or every column except the
  text and id columns);
- one column of label lists (``--label_column=labels``: ``"joy,love"`` or ``["joy", "love"]``),
  with ``--label_names`` fixing the labels and their order.

A sigmoid head with binary cross-entropy (optionally weighting each label's positives),
per-label thresholds (0.5, a thresholds file, or tuned on validation for F1) used by
predict and by the export alike.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import numpy as np
import pandas as pd

from tfft.data import readers
from tfft.data.features import Features
from tfft.errors import TfftError
from tfft.metrics.multilabel import multilabel_metrics, per_label_report, sigmoid, tune_thresholds
from tfft.tasks.base import TaskInfo
from tfft.data.texts import clean_texts
from tfft.tasks.classification.task import ClassificationTask, labeled_rows
from tfft.tasks.classification.labels import label_layout, label_matrix, read_thresholds

DEFAULT_THRESHOLD = 0.5


class MultiLabelTask(ClassificationTask):
    """Text -> a subset of K labels."""

    problem_type = "multi_label_classification"

    def __init__(self, name: str, **defaults: Any) -> None:
        base = {"text_column": "text", "id_column": "id", "metric_for_best": "micro_f1"}
        super(ClassificationTask, self).__init__(name, **{**base, **defaults})

    # -- data ---------------------------------------------------------------------------
    def data_info(self, cfg: Any, train: Optional[pd.DataFrame]) -> TaskInfo:
        if train is None:
            if not cfg.label_names:
                raise TfftError(f"--model '{cfg.model}' is not a model trained by tfft, so its labels are unknown; "
                                "pass --label_names=<a,b,...> or point --model at a tfft run's model/ directory.")
            names = cfg.label_names
            matrix = None
        else:
            layout = label_layout(cfg, train)
            names = layout.names
            complete = train.dropna(subset=list(layout.names)) if layout.kind == "columns" else train
            matrix = label_matrix(complete, layout, "train")  # rows with empty cells: see prepare_split
        extras: dict[str, Any] = {"thresholds": [DEFAULT_THRESHOLD] * len(names), "tuned": False}
        if cfg.thresholds_file:
            extras["thresholds"] = read_thresholds(cfg.thresholds_file, names)
        if cfg.label_weights == "auto" and matrix is not None:
            positives = matrix.sum(axis=0)
            # negatives/positives, capped at 100 so a label seen once cannot dominate the loss
            extras["pos_weight"] = np.clip((len(matrix) - positives) / np.maximum(positives, 1), 1.0, 100.0).tolist()
        return TaskInfo(task=self.name, label_names=tuple(names), extras=extras)

    def normalise_split(self, cfg: Any, frame: pd.DataFrame, split: str,
                        info: Optional[TaskInfo]) -> tuple[pd.DataFrame, list[str]]:
        readers.require_columns(frame, [cfg.text_column], split, {cfg.text_column: "text_column"})
        texts, notes = clean_texts(frame[cfg.text_column], split, cfg.text_column, info and info.max_length)
        out = pd.DataFrame({"text": texts})
        if info is not None:
            layout = label_layout(cfg, frame, info.label_names)
            rows = frame.loc[texts.index]
            if layout.kind == "columns":  # an empty 0/1 cell: stop with its lines, or drop the row
                keep = np.logical_and.reduce([labeled_rows(rows[c], split, c, frame.attrs.get("first_line"),
                                                           cfg.drop_unlabeled)[0] for c in layout.names])
                if not keep.all():
                    notes.append(f"{split}: dropped {int((~keep).sum())} rows with an empty label cell "
                                 "(--drop_unlabeled)")
                rows, out = rows[keep], out[keep]
            matrix = label_matrix(rows, layout, split)
            out["labels"] = list(matrix)
            empty = int((matrix.sum(axis=1) == 0).sum())
            if empty:
                notes.append(f"{split}: {empty} examples have no label (kept: an empty label set is valid)")
        return out, notes

    def featurize(self, cfg: Any, examples: pd.DataFrame, tokenizer: Any, info: TaskInfo) -> Features:
        features = super().featurize(cfg, examples.drop(columns=["labels"], errors="ignore"), tokenizer, info)
        if "labels" in examples:
            features.labels = np.stack(examples["labels"].to_list()).astype(np.float32).reshape(-1, len(info.label_names))
        return features

    # -- model --------------------------------------------------------------------------
    def loss(self, cfg: Any, info: TaskInfo) -> Any:
        import tensorflow as tf

        if "pos_weight" not in info.extras:
            return tf.keras.losses.BinaryCrossentropy(from_logits=True)
        from tfft.training.losses import WeightedBinaryCrossentropy

        return WeightedBinaryCrossentropy(info.extras["pos_weight"])

    def metrics(self, cfg: Any, info: TaskInfo) -> Any:
        import tensorflow as tf

        return [tf.keras.metrics.BinaryAccuracy(name="binary_accuracy", threshold=0.0)]  # logit 0 = p 0.5

    # -- outputs ------------------------------------------------------------------------
    def evaluate(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                 info: TaskInfo) -> dict[str, float]:
        probabilities = sigmoid(outputs["logits"])
        result = multilabel_metrics(features.labels, probabilities, thresholds_of(info))
        if info.extras.get("tuned"):
            default = multilabel_metrics(features.labels, probabilities, np.full(len(info.label_names), 0.5))
            result.update({"micro_f1_at_0_5": default["micro_f1"], "macro_f1_at_0_5": default["macro_f1"]})
        return result

    def calibrate(self, cfg: Any, outputs: Mapping[str, np.ndarray], features: Features,
                  info: TaskInfo, examples: Optional[pd.DataFrame] = None) -> TaskInfo:
        if not cfg.tune_thresholds:
            return info
        tuned = tune_thresholds(features.labels, sigmoid(outputs["logits"]), DEFAULT_THRESHOLD)
        return TaskInfo(task=info.task, label_names=info.label_names, max_length=info.max_length,
                        extras={**info.extras, "thresholds": [float(t) for t in tuned], "tuned": True})

    def reports(self, outputs: Mapping[str, np.ndarray], features: Features, info: TaskInfo,
                examples: Optional[pd.DataFrame] = None) -> dict[str, Any]:
        table = per_label_report(features.labels, sigmoid(outputs["logits"]), thresholds_of(info), info.label_names)
        return {"per_label.json": table}

    def figures(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                info: TaskInfo, split: str) -> dict[str, Any]:
        """``per_label_f1.png``: each label's F1 at the model's thresholds, with its support."""
        from tfft.training.figures import per_label_f1_figure

        if features.labels is None:
            return {}
        table = self.reports(outputs, features, info)["per_label.json"]
        thresholds = thresholds_of(info)
        chosen = ("thresholds tuned on validation" if info.extras.get("tuned") else
                  f"threshold {thresholds[0]:g}" if len(set(thresholds)) == 1 else "per-label thresholds")
        note = f"{len(features.labels)} examples, {chosen}"
        return {"per_label_f1.png": per_label_f1_figure(table, split, note)}

    def postprocess(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                    info: TaskInfo) -> list[dict[str, Any]]:
        thresholds = thresholds_of(info)
        result = []
        for p in sigmoid(outputs["logits"]):
            order = np.argsort(-p)
            result.append({"labels": [info.label_names[i] for i in order if p[i] >= thresholds[i]],
                           "probabilities": {n: float(v) for n, v in zip(info.label_names, p)}})
        return result

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        chosen = prediction["labels"]
        if not chosen:
            return "(no label)"
        return ", ".join(f"{name} {prediction['probabilities'][name]:.2f}" for name in chosen)

    def serving_head(self, model: Any, info: TaskInfo) -> Callable[..., dict[str, Any]]:
        """Token ids -> probabilities, the 0/1 multi-hot at the saved thresholds, and the chosen names."""
        import tensorflow as tf

        thresholds = tf.constant(thresholds_of(info), tf.float32)
        names = tf.constant(list(info.label_names))

        def head(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> dict[str, tf.Tensor]:
            logits = model({"input_ids": input_ids, "attention_mask": attention_mask}, training=False)["logits"]
            probabilities = tf.sigmoid(tf.cast(logits, tf.float32))
            chosen = probabilities >= thresholds
            picked = tf.ragged.boolean_mask(tf.broadcast_to(names, tf.shape(chosen)), chosen)
            return {"probabilities": probabilities, "multi_hot": tf.cast(chosen, tf.int32),
                    "labels": tf.strings.reduce_join(picked, axis=-1, separator=",")}

        return head


def thresholds_of(info: TaskInfo) -> np.ndarray:
    """The per-label thresholds a model was saved with (0.5 each when none were set)."""
    values = info.extras.get("thresholds") or [DEFAULT_THRESHOLD] * len(info.label_names)
    return np.asarray(values, dtype=np.float64)

