"""The run configuration: one frozen, flat dataclass built from option groups.

Every field is also an absl flag of the same name (``tfft/flags.py`` derives them), so
the CLI, flagfiles and notebooks all speak the same names::

    cfg = tfft.Config(task="imdb", model="minilm", train_file="train.csv", epochs=2)

Fields left as ``None`` take the task's default (see ``tfft.tasks``); after construction
every such field holds a concrete value.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from tfft.errors import TfftError
from tfft.options import FinetuneOptions, _check_choice, _check_positive, opt
from tfft.tasks.options import OPTION_GROUPS
from tfft.tasks.registry import get_task
from tfft.tuning.options import TuneOptions

if TYPE_CHECKING:
    from tfft.tasks.registry import Task

MODES = ("train", "evaluate", "predict", "export", "tune", "lr_find")
OPTIMIZERS = ("adamw", "adafactor")
STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("none", "bf16", "fp16")
RESUME = ("auto", "never", "force")
SERVING_DEVICES = ("cpu", "gpu")  # tfft.serving.batching.DEVICES, without importing TensorFlow
UNTRAINED = ("auto", "true", "false")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What to run and where to write it."""

    task: str = opt("imdb", "Task name; `python -m tfft.main --help` lists them (so does tfft.tasks.names()).")
    mode: str = opt("train", "train (also evaluates and exports) | evaluate | predict | export | tune (search "
                             "hyperparameters) | lr_find (learning-rate range test).",
                    choices=MODES)
    model: Optional[str] = opt(None, "Hub id, local save_pretrained dir, a tfft run's model/ dir, or 'minilm'.")
    output_dir: Optional[str] = opt(None, "Run directory for results, logs and the trained model. Default runs/<task>.")
    overwrite_output_dir: bool = opt(False, "Allow reusing an output_dir that holds a different run, or a completed "
                                            "run of this config (train again); the old one is moved aside.")
    tensorboard: bool = opt(True, "Write each epoch's loss, validation metrics and learning rate (QA and seq2seq: "
                                  "also 5 validation predictions) to <output_dir>/tensorboard/.")
    export_dir: str = opt("saved_models", "Root of the TF Serving layout: <export_dir>/<export_name>/<version>/.")
    export_name: Optional[str] = opt(None, "Model name in the export layout. Default: the task name.")
    serving_device: str = opt("cpu", "Device TF Serving runs the export on: picks the batching recipe the "
                                     "export writes (batching_params.pbtxt; see Exports).", choices=SERVING_DEVICES)
    seed: int = opt(42, "Seed for shuffling, splitting and initialisation.")


@dataclass(frozen=True, kw_only=True)
class DataOptions:
    """Where examples come from and how they become token ids."""

    train_file: Optional[str] = opt(None, "Training data: .csv, .jsonl/.json or .parquet.")
    validation_file: Optional[str] = opt(None, "Validation data (same formats).")
    test_file: Optional[str] = opt(None, "Test data (same formats), scored once after training.")
    score_untrained: str = opt("auto", "Score the untrained head on test before training, as a baseline: true | "
                               "false | auto (the whole test set if that costs under ~10% of the planned "
                               "training, else a seeded sample that does, marked as one).",
                               choices=UNTRAINED)
    dataset: Optional[str] = opt(None, "Hugging Face dataset name, used when no files are given.")
    dataset_config: Optional[str] = opt(None, "Hugging Face dataset configuration name.")
    text_column: Optional[str] = opt(None, "Column holding the input text.")
    label_column: Optional[str] = opt(None, "Column holding the label (string or integer).")
    label_names: tuple[str, ...] = opt((), "Label names in class-id order; default: sorted labels of the training set.")
    label_columns: tuple[str, ...] = opt((), "Multi-label: one 0/1 column per label (default: every column but "
                                             "the text and id columns, unless --label_column holds label lists).")
    id_column: Optional[str] = opt(None, "Column of example ids (never read as a label).")
    drop_unlabeled: bool = opt(False, "Classification and multi-label: drop rows with an empty label cell (the count "
                                      "is printed) instead of stopping with their line numbers.")
    csv_delimiter: Optional[str] = opt(None, "Field delimiter of .csv/.tsv files: one of , ; | or tab. Default: "
                                             "sniffed from the header and first lines.")
    validation_split: float = opt(0.1, "Share of train held out (stratified, seeded) when there is no validation set.")
    max_length: Optional[int] = opt(None, "Longest token sequence; longer texts are truncated. Default: the "
                                    "trained model's, else the task's (capped at the model's limit).")
    max_train_samples: Optional[int] = opt(None, "Use only the first N training examples.")
    max_eval_samples: Optional[int] = opt(None, "Use only the first N validation/test examples.")
    length_buckets: int = opt(8, "Group training batches into N length buckets (0: off) so short texts pad less.")
    cache_dir: Optional[str] = opt(None, "Token cache directory. Default $TFFT_CACHE or ~/.cache/tfft.")
    text: tuple[str, ...] = opt((), "Text to classify in --mode=predict (repeatable).", multi=True)
    predict_file: Optional[str] = opt(None, "File of texts to classify in --mode=predict.")


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """Optimisation, evaluation and hardware."""

    batch_size: int = opt(16, "Batch size per replica; the global batch is this times the replicas.")
    eval_batch_size: Optional[int] = opt(None, "Largest evaluation batch per replica (smaller where lengths "
                                               "spread, to pad less). Default 2x batch_size.")
    epochs: Optional[int] = opt(None, "Passes over the training data. Default: the --finetune mode's (see "
                                      "Fine-tuning defaults in the README).")
    learning_rate: Optional[float] = opt(None, "Peak learning rate of AdamW. Default: the --finetune mode's (see "
                                               "Fine-tuning defaults in the README).")
    weight_decay: float = opt(0.01, "Decoupled weight decay (not applied to biases and LayerNorms).")
    warmup_ratio: float = opt(0.1, "Share of the steps spent warming the learning rate up from 0.")
    metric_for_best: Optional[str] = opt(None, "Validation metric whose best epoch is kept.")
    early_stopping_patience: Optional[int] = opt(None, "Stop after N epochs without improvement (0: never). "
                                                       "Default: the --finetune mode's (0 but for frozen).")
    label_weights: str = opt("none", "Multi-label: 'auto' weights each label's positives by its negatives/positives "
                                     "ratio in train (helps rare labels).", choices=("none", "auto"))
    tune_thresholds: bool = opt(False, "Multi-label: choose each label's threshold on validation to maximise its F1.")
    thresholds_file: Optional[str] = opt(None, "Multi-label: JSON {label: threshold} to use instead of 0.5.")
    strategy: str = opt("auto", "auto | default | one_device | mirrored | multi_worker | tpu (see Scaling out).",
                        choices=STRATEGIES)
    devices: tuple[str, ...] = opt((), "Devices for --strategy=mirrored or one_device, e.g. GPU:0 (repeatable). "
                                       "Default: every GPU (or every CPU device when there is none).", multi=True)
    tpu: Optional[str] = opt(None, "--strategy=tpu: the TPU's name or grpc:// address (default: the local TPU VM).")
    mixed_precision: str = opt("none", "none | bf16 | fp16 (float16 with dynamic loss scaling).", choices=PRECISIONS)
    jit_compile: bool = opt(False, "Compile the train step with XLA (the run reports how many batch shapes it "
                                   "compiled).")
    fused_ops: bool = opt(True, "Fused kernels in Keras steps: AdamW's update as one kernel per weight; GELU and "
                                "LayerNorm as one XLA kernel each way (float32 layers of 256+ features) when the "
                                "run trains 10+ steps per padded batch width (each width compiles them). "
                                "False: the model's own ops (same values within 1e-5).")
    gradient_accumulation_steps: int = opt(1, "Split each step's batch into N micro-batches run one after another "
                                              "and apply their summed gradients once: the update of an N times "
                                              "larger batch in the memory of one micro-batch.")
    max_grad_norm: Optional[float] = opt(None, "Clip gradients to this global norm before each update (1.0 is "
                                               "usual; default off).")
    optimizer: str = opt("adamw", "adamw | adafactor (memory-light, the usual choice for T5).", choices=OPTIMIZERS)
    pad_to_multiple_of: Optional[int] = opt(None, "Pad batches (and length-bucket limits) to a multiple of N "
                                                  "tokens so XLA compiles few shapes. Default: the task's (8 for "
                                                  "seq2seq, else 1).")


@dataclass(frozen=True, kw_only=True)
class RecoveryOptions:
    """Checkpoints, resuming and repeatable runs."""

    save_steps: int = opt(0, "Also checkpoint every N optimizer steps (0: only at the end of each epoch).")
    keep_checkpoints: int = opt(2, "Checkpoints kept in <output_dir>/checkpoints/ while the run trains (older ones "
                                   "are deleted).")
    keep_checkpoints_at_end: bool = opt(False, "Keep them when the run completes (default: checkpoints/ is deleted "
                                               "once model/, the export and results.json are written).")
    resume: str = opt("auto", "auto: continue from the last checkpoint of the same config | never: refuse a run "
                              "dir with checkpoints | force: fail when there is none.", choices=RESUME)
    deterministic: bool = opt(False, "Seed every initialisation from --seed and use deterministic ops, so two runs "
                                     "on the same hardware give identical weights (slower on GPU).")


@dataclass(frozen=True, kw_only=True)
class Config(RunOptions, DataOptions, TrainOptions, RecoveryOptions, *OPTION_GROUPS, FinetuneOptions,
             TuneOptions):
    """Everything one tfft run needs. Raises ``TfftError`` when a value cannot work.

    The task families' fields come from their option groups (``tfft.tasks.options.OPTION_GROUPS``);
    tasks are known only through the registry's ``Task`` protocol.
    """

    def __post_init__(self) -> None:
        task = get_task(self.task)
        unset = {f.name for f in dataclasses.fields(self) if getattr(self, f.name) is None}
        for name, value in task.defaults.items():
            if getattr(self, name) is None and not (name in _DATA_SOURCE and self._has_files()):
                object.__setattr__(self, name, value)
        if self.output_dir is None:
            suffix = "" if self.mode == "train" else f"-{self.mode}"
            object.__setattr__(self, "output_dir", os.path.join("runs", self.task + suffix))
        if self.export_name is None:
            object.__setattr__(self, "export_name", self.task)
        self._finetune_defaults(task.sentence_level)
        if self.eval_batch_size is None:
            object.__setattr__(self, "eval_batch_size", 2 * self.batch_size)
        for name in ("label_names", "label_columns", "lora_targets", "devices"):
            object.__setattr__(self, name, tuple(str(n) for n in getattr(self, name)))
        for f in dataclasses.fields(self):  # repeatable flags (--text, --question, ...): lists become tuples
            if f.metadata.get("multi"):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        if self.csv_delimiter is not None:
            object.__setattr__(self, "csv_delimiter", _delimiter(self.csv_delimiter))
        # not a field: which values were derived, so replace() derives them again
        object.__setattr__(self, "_derived", frozenset(unset))
        self._check(task)

    def _has_files(self) -> bool:
        return any((self.train_file, self.validation_file, self.test_file))

    def _check(self, task: "Task") -> None:
        _check_choice("mode", self.mode, MODES)
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("mixed_precision", self.mixed_precision, PRECISIONS)
        _check_choice("label_weights", self.label_weights, ("none", "auto"))
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("score_untrained", self.score_untrained, UNTRAINED)
        _check_choice("resume", self.resume, RESUME)
        for name in ("batch_size", "epochs", "eval_batch_size", "gradient_accumulation_steps", "keep_checkpoints"):
            _check_positive(name, getattr(self, name))
        for name in ("max_length", "max_train_samples", "max_eval_samples", "pad_to_multiple_of"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        if self.learning_rate <= 0:
            raise TfftError(f"--learning_rate must be > 0 (received {self.learning_rate}); try 2e-5.")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise TfftError(f"--max_grad_norm must be > 0 (received {self.max_grad_norm}); try 1.0, or leave it "
                            "out to train without clipping.")
        if self.devices and self.strategy not in ("mirrored", "one_device"):
            raise TfftError(f"--devices applies to --strategy=mirrored or one_device (received --strategy="
                            f"{self.strategy}); add --strategy=mirrored.")
        if self.strategy == "one_device" and len(self.devices) > 1:
            raise TfftError(f"--strategy=one_device takes one --devices (received {', '.join(self.devices)}); use "
                            "--strategy=mirrored for several.")
        for name in ("warmup_ratio", "validation_split"):
            if not 0 <= getattr(self, name) < 1:
                raise TfftError(f"--{name} must be in [0, 1) (received {getattr(self, name)}).")
        if min(self.weight_decay, self.length_buckets, self.early_stopping_patience, self.save_steps) < 0:
            raise TfftError(
                "--weight_decay, --length_buckets, --early_stopping_patience and --save_steps must be >= 0 "
                f"(received {self.weight_decay}, {self.length_buckets}, {self.early_stopping_patience}, "
                f"{self.save_steps})."
            )
        for group in OPTION_GROUPS:
            group.check_options(self)
        self._check_finetune(task.sentence_level)
        if not self.model:
            raise TfftError(f"No model given for task '{self.task}'; pass --model=<hub id or local dir>.")
        self._check_tune()
        if self.mode in ("train", "tune", "lr_find") and not (self.train_file or self.dataset):
            raise TfftError(f"--mode={self.mode} needs data: pass --train_file=<csv/jsonl/parquet> or "
                            "--dataset=<hf name>.")
        if self.mode == "predict" and not (self.text or self.predict_file or self.question):
            raise TfftError('--mode=predict needs input: pass --text="..." (repeatable) or --predict_file=<file> '
                            '(question answering: --question="..." --context="...").')
        task.check(self)

    def replace(self, **changes: Any) -> "Config":
        """A copy with some fields changed (validated again). Values that were derived (left
        unset: the task's and the fine-tuning mode's defaults, ``output_dir``, ...) are derived
        again, so ``cfg.replace(finetune="lora")`` gets LoRA's learning rate."""
        derived = {name: None for name in getattr(self, "_derived", ()) if name not in changes}
        return dataclasses.replace(self, **{**derived, **changes})

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-ready values."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """Inverse of :meth:`to_dict` (JSON lists back to tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def cache_root(self) -> str:
        """Directory for token caches."""
        default = os.environ.get("TFFT_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "tfft"))
        return self.cache_dir or default


# Task defaults for these fields name a data source; they give way to explicit files.
_DATA_SOURCE = frozenset({"dataset", "dataset_config"})


def _delimiter(value: str) -> str:
    """``--csv_delimiter`` as one character; ``tab`` and ``\\t`` (as typed in a shell) mean a tab."""
    from tfft.data.readers import DELIMITERS

    delimiter = "\t" if value.lower() in ("tab", "\\t") else value
    if len(delimiter) != 1 or delimiter not in DELIMITERS:
        raise TfftError(f"--csv_delimiter must be one of , ; | or tab (received {value!r}); for a tab pass "
                        "--csv_delimiter=tab.")
    return delimiter


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
