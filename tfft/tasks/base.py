"""The task interface: everything that differs between task families lives behind it.

The trainer, the exporter and the CLI only call these methods, so a new task family
(classification, multi-label, span QA, seq2seq) is one module, not a new pipeline:

========================  ================================================================
``prepare_split``         raw table -> validated, normalised examples (shared steps around the
                          task's ``normalise_split``: drops, label ids)
``data_info``             what the data says about the head (label names, ...)
``update_info``           this run's flags applied to facts saved with a trained model
``featurize``             examples -> token-id features (+ labels, + what post-processing needs;
                          one example may give several features, see ``Features.example_index``)
``build_model``           a Keras model around a pretrained Hugging Face TF model
``loss`` / ``metrics``    Keras objects for ``compile``
``model_outputs``         batches of inputs -> raw outputs (the model per batch; seq2seq: generated ids)
``evaluate``              raw model outputs on a split -> named metrics (lower_snake_case)
``scored``                ``evaluate`` and a few predictions beside their references (TensorBoard)
``postprocess``           raw model outputs -> one prediction per example
``serving_signatures``    ``tf.function``s on token ids for the SavedModel
``text_signatures``       ``tf.function``s on raw text (in-graph tokenization)
``text_reference``        what the raw-text signature must answer, the Python way (export self-check)
``predict_examples``      --text / --predict_file -> examples
``calibrate``             after training: adjust from validation outputs (thresholds)
``reports``               extra JSON reports (per-label tables)
``prediction_records``    rows of ``predictions.jsonl`` (input, reference, prediction)
``figures``               pictures of a split's predictions (confusion matrix, per-label F1)
========================  ================================================================
"""

from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Optional, Sequence

import numpy as np

from tfft.errors import TfftError

if TYPE_CHECKING:
    import pandas as pd
    import tensorflow as tf

    from tfft.config import Config
    from tfft.data.features import Features


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """Facts about a task's data that the model and export need (saved with the model).

    Attributes:
        task: Registry name of the task.
        label_names: Class names in id order (classification tasks); empty otherwise.
        max_length: Token sequence limit used for features.
        extras: Task-specific values (thresholds, templates, ...), JSON-ready.
    """

    task: str
    label_names: tuple[str, ...] = ()
    max_length: int = 512
    extras: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, written as ``tfft.json`` beside a trained model."""
        return {"task": self.task, "label_names": list(self.label_names),
                "max_length": self.max_length, "extras": dict(self.extras)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TaskInfo":
        """Inverse of :meth:`to_dict`."""
        return cls(task=data["task"], label_names=tuple(data.get("label_names", ())),
                   max_length=int(data.get("max_length", 512)), extras=dict(data.get("extras", {})))


class Task(abc.ABC):
    """One task family. Subclasses are registered in ``tfft/tasks/__init__.py``."""

    #: Names of the model's integer inputs, in signature order.
    input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")
    #: Evaluation batches may vary in size (:meth:`tfft.data.batching.BatchPlan.eval_sizes`);
    #: False where each new batch shape costs a compile.
    plans_eval_batches: ClassVar[bool] = True
    #: The head reads one vector per text (``--pooling``, ``--head=mlp`` and
    #: ``--cache_features`` apply).
    sentence_level: ClassVar[bool] = False
    #: Inputs longer than max_length are cut (predict notes each cut); False where they are
    #: windowed instead (QA contexts).
    truncates_inputs: ClassVar[bool] = True
    #: What one example is, in the message that refuses an empty split.
    example_noun: ClassVar[str] = "examples"

    def __init__(self, name: str, default_max_length: int = 256, **defaults: Any) -> None:
        """Args:
            name: Registry name (``--task``).
            default_max_length: Sequence limit when neither ``--max_length`` nor a trained
                model sets one (capped at the model's position embeddings).
            **defaults: Config values used when the user leaves a field unset (``None``).
        """
        self.name = name
        self.default_max_length = default_max_length
        self.defaults: dict[str, Any] = dict(defaults)

    def check(self, cfg: "Config") -> None:
        """Cross-flag checks that depend on the task, called when a Config is validated.

        Raises:
            TfftError: the config cannot run this task; the message says how to fix it.
        """

    def prepare_split(self, cfg: "Config", frame: "pd.DataFrame", split: str,
                      info: Optional[TaskInfo]) -> tuple["pd.DataFrame", list[str]]:
        """Validates and normalises one split; returns the examples and notes on what was dropped.

        The steps every task shares are here: an empty table is refused, the task's
        :meth:`normalise_split` runs, ``--max_train_samples`` (train) or ``--max_eval_samples``
        (other splits, predict too) keeps the first examples, and the index runs from 0.

        Args:
            split: ``train``, ``validation``, ``test`` or ``predict``.
            info: The task facts; None while they are not known yet (predict without a trained
                model: no labels are read).

        Raises:
            TfftError: the split is empty, or the task's checks fail.
        """
        if len(frame) == 0:
            raise TfftError(f"The {split} data is empty (0 rows); give a file with {self.example_noun}.")
        examples, notes = self.normalise_split(cfg, frame, split, info)
        limit = cfg.max_train_samples if split == "train" else cfg.max_eval_samples
        return (examples.head(limit) if limit else examples).reset_index(drop=True), notes

    @abc.abstractmethod
    def normalise_split(self, cfg: "Config", frame: "pd.DataFrame", split: str,
                        info: Optional[TaskInfo]) -> tuple["pd.DataFrame", list[str]]:
        """The task's part of :meth:`prepare_split`: a non-empty raw table -> its examples (any
        index) and notes on what was dropped."""

    @abc.abstractmethod
    def data_info(self, cfg: "Config", train: Optional["pd.DataFrame"]) -> TaskInfo:
        """Derives label names and other head facts from the config and the training split."""

    @abc.abstractmethod
    def featurize(self, cfg: "Config", examples: "pd.DataFrame", tokenizer: Any,
                  info: TaskInfo) -> "Features":
        """Turns examples into token ids (unpadded), labels and post-processing data."""

    @abc.abstractmethod
    def build_model(self, cfg: "Config", info: TaskInfo, model_dir: str) -> "tf.keras.Model":
        """Builds the (uncompiled) Keras model from the pretrained model in ``model_dir``."""

    @abc.abstractmethod
    def loss(self, cfg: "Config", info: TaskInfo) -> Any:
        """The Keras loss (or dict of losses keyed by output name) for ``compile``."""

    @abc.abstractmethod
    def metrics(self, cfg: "Config", info: TaskInfo) -> Any:
        """Keras metrics for ``compile`` (cheap, per batch)."""

    def model_outputs(self, model: "tf.keras.Model", cfg: "Config",
                      dataset: "tf.data.Dataset") -> dict[str, np.ndarray]:
        """Raw outputs for a dataset of input batches (no labels), by output name, in order.

        Default: the model on each batch. Batches are padded only to their longest feature,
        so per-token outputs (QA span logits) differ in width between batches; they are
        padded with ``PAD_OUTPUT`` to the widest batch, where a logit of -1e9 gets no
        probability mass and never wins an argmax. Seq2seq tasks generate instead.
        """
        predict = getattr(model, "predict_batch", model.predict_on_batch)  # TaskModel: one trace for any shape
        batches = [predict(batch) for batch in dataset]
        if not batches:
            return {name: np.zeros((0,), np.float32) for name in model.output_names}
        return {name: concat_padded([np.asarray(b[name]) for b in batches], PAD_OUTPUT) for name in batches[0]}

    @abc.abstractmethod
    def evaluate(self, outputs: Mapping[str, np.ndarray], features: "Features",
                 examples: "pd.DataFrame", info: TaskInfo) -> dict[str, float]:
        """Named metrics over a whole split, from the model's raw outputs."""

    def scored(self, outputs: Mapping[str, np.ndarray], features: "Features", examples: "pd.DataFrame",
               info: TaskInfo, samples: int = 0) -> tuple[dict[str, float], list[dict[str, str]]]:
        """:meth:`evaluate`, and up to ``samples`` predictions beside their references as rows
        of ``{column: text}`` (TensorBoard's text summary each epoch), from the same pass.

        Default: no rows; tasks whose predictions are text (QA, seq2seq) override it.
        """
        return self.evaluate(outputs, features, examples, info), []

    @abc.abstractmethod
    def postprocess(self, outputs: Mapping[str, np.ndarray], features: "Features",
                    examples: "pd.DataFrame", info: TaskInfo) -> list[dict[str, Any]]:
        """One prediction dict per example."""

    @abc.abstractmethod
    def serving_signatures(self, model: "tf.keras.Model", info: TaskInfo) -> dict[str, Any]:
        """Concrete ``tf.function``s on token ids for the SavedModel, keyed by signature name (``serve_ids``)."""

    def text_signatures(self, model: "tf.keras.Model", info: TaskInfo, encoder: Any) -> dict[str, Any]:
        """Concrete ``tf.function``s on raw strings (``serving_default``), tokenizing in-graph with ``encoder``.

        ``encoder`` is a :class:`tfft.serving.text.TextEncoder` (WordPiece), a
        :class:`tfft.serving.bpe.BpeEncoder` (RoBERTa byte-level BPE; both have ``token_ids``,
        ``token_ids_with_offsets``, ``cls_id``, ``sep_id``, ``pad_id``, ``pair_middle`` and
        ``uses_type_ids``) or a :class:`tfft.serving.sentencepiece.SentencePieceEncoder` (T5, with
        ``decode``); default: no raw-text signature.
        """
        return {}

    def text_reference(self, model: "tf.keras.Model", info: TaskInfo, signatures: Mapping[str, Any],
                       texts: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
        """What the raw-text ``serving_default`` must return for ``texts`` (by input name),
        computed the Python way; the export checks itself against it (:mod:`tfft.serving.parity`).

        Default: the HF tokenizer's ids through the in-memory ``serve_ids`` signature.
        """
        from tfft.serving.parity import tokenized_probe

        ids = signatures["serve_ids"]
        encoded = tokenized_probe(model.tokenizer, ids, info.max_length, list(texts["text"]))
        return {k: v.numpy() for k, v in ids(**encoded).items()}

    @abc.abstractmethod
    def predict_examples(self, cfg: "Config") -> "pd.DataFrame":
        """Examples for ``--mode=predict`` from ``--text`` or ``--predict_file``."""

    def update_info(self, cfg: "Config", info: TaskInfo) -> TaskInfo:
        """Task facts for this run: ``info`` (fresh, or saved with a trained model) with the
        flags applied that may change between runs of one model; default: unchanged.

        ``featurize``, ``evaluate`` and ``postprocess`` see only ``info``, so a flag that
        changes post-processing (e.g. a QA null-score threshold) must reach them through here.
        """
        return info

    def calibrate(self, cfg: "Config", outputs: Mapping[str, np.ndarray], features: "Features",
                  info: TaskInfo, examples: Optional["pd.DataFrame"] = None) -> TaskInfo:
        """Post-training adjustment from validation outputs (e.g. tuned thresholds); default: none."""
        return info

    def reports(self, outputs: Mapping[str, np.ndarray], features: "Features", info: TaskInfo,
                examples: Optional["pd.DataFrame"] = None) -> dict[str, Any]:
        """Extra JSON reports on validation outputs, by file name (``per_label.json``, ``predictions.json``)."""
        return {}

    def prediction_records(self, outputs: Mapping[str, np.ndarray], features: "Features", examples: "pd.DataFrame",
                           info: TaskInfo) -> list[dict[str, Any]]:
        """One JSON row per example for ``predictions.jsonl`` in the run directory; default: none."""
        return []

    def figures(self, outputs: Mapping[str, np.ndarray], features: "Features", examples: "pd.DataFrame",
                info: TaskInfo, split: str) -> dict[str, Any]:
        """Matplotlib figures of a split's predictions, by PNG file name; default: none."""
        return {}

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        """One console line for a prediction."""
        return ", ".join(f"{k}={v}" for k, v in prediction.items())


PAD_OUTPUT = -1e9  # fill for per-token outputs beyond a batch's padded width


def concat_padded(arrays: "Sequence[np.ndarray]", fill: float) -> np.ndarray:
    """Concatenates along axis 0, padding every other axis with ``fill`` to its largest size."""
    shape = np.max([a.shape for a in arrays], axis=0)
    if all(a.shape[1:] == tuple(shape[1:]) for a in arrays):
        return np.concatenate(arrays)
    padded = [np.pad(a, [(0, 0)] + [(0, int(m) - n) for m, n in zip(shape[1:], a.shape[1:])],
                     constant_values=fill) for a in arrays]
    return np.concatenate(padded)
