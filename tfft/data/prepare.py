"""From a config to examples and token-id features for every split, cached.

Tokenization runs once per (tokenizer, task, max_length, texts): features are cached on
disk under ``cfg.cache_root()/features`` and in memory for the life of the process, so
``tfft.datasets(cfg)`` and ``tfft.build_model(cfg)`` in a notebook share one preparation.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Optional

import pandas as pd

from tfft.data import features as feats
from tfft.data.readers import load_raw_splits
from tfft.errors import TfftError
from tfft.models import loading, scratch
from tfft.progress import Progress
from tfft.tasks import Task, TaskInfo, get_task

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class Prepared:
    """Everything a run derives from its config before building the model."""

    task: Task
    info: TaskInfo
    model_dir: str
    tokenizer: Any
    examples: dict[str, pd.DataFrame]
    features: dict[str, feats.Features]
    notes: list[str]

    def pad_values(self) -> dict[str, int]:
        """Pad id per model input."""
        return pad_values(self.tokenizer)


def pad_values(tokenizer: Any) -> dict[str, int]:
    """Pad id per model input for ``tokenizer``."""
    pad = tokenizer.pad_token_id
    return {"input_ids": 0 if pad is None else int(pad), "token_type_ids": 0}


def load_model_context(cfg: Any) -> tuple[Task, str, Any, Optional[dict[str, Any]], int]:
    """Task, local model directory, tokenizer, saved task facts (for a trained model) and the
    sequence limit (``--max_length``, else the trained model's, else the task's default)."""
    task = get_task(cfg.task)
    # a scratch model (tiny-t5) is built from the training data; anything else is found by name
    scratch_model = scratch.is_scratch(cfg.model)
    model_dir = scratch.scratch_model_dir(cfg) if scratch_model else loading.resolve_model_dir(cfg.model)
    saved = loading.read_info(model_dir)
    fallback = int(saved["max_length"]) if saved else task.default_max_length
    max_length = loading.resolve_max_length(model_dir, cfg.max_length, fallback)
    if saved is not None and saved.get("task") not in (None, cfg.task) and \
            get_task(saved["task"]).__class__ is not task.__class__:
        raise TfftError(f"--model '{cfg.model}' was trained for task '{saved['task']}', not '{cfg.task}'; "
                        f"pass --task={saved['task']}.")
    return task, model_dir, loading.load_tokenizer(model_dir), saved, max_length


# Fields that change how a run trains or where it writes, never its examples or features:
# configs that differ only in these share one preparation (the trials of --mode=tune).
TRAINING_ONLY = frozenset({
    "output_dir", "overwrite_output_dir", "export_dir", "export_name", "batch_size", "eval_batch_size", "epochs",
    "learning_rate", "weight_decay", "warmup_ratio", "metric_for_best", "early_stopping_patience",
    "gradient_accumulation_steps", "max_grad_norm", "optimizer", "save_steps", "keep_checkpoints",
    "keep_checkpoints_at_end", "resume", "adapter_size", "lora_rank", "lora_alpha", "lora_dropout",
    "tune_space", "tune_trials", "tune_pruner", "tune_storage", "tune_export_best", "lr_find_steps"})


def prepare(cfg: Any) -> Prepared:
    """Reads, validates, splits and tokenizes the data ``cfg`` names (memoised per config,
    less its :data:`TRAINING_ONLY` fields)."""
    key = tuple((f.name, getattr(cfg, f.name)) for f in dataclasses.fields(cfg) if f.name not in TRAINING_ONLY)
    return _prepare(_DataKey(key, cfg))


prepare.cache_clear = lambda: _prepare.cache_clear()  # type: ignore[attr-defined]


class _DataKey:
    """A config hashed and compared by its data fields alone."""

    def __init__(self, key: tuple, cfg: Any) -> None:
        self.key, self.cfg = key, cfg

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DataKey) and self.key == other.key


@functools.lru_cache(maxsize=4)
def _prepare(data: _DataKey) -> Prepared:
    cfg = data.cfg
    task, model_dir, tokenizer, saved, max_length = load_model_context(cfg)
    # a task that cuts its inputs needs no cell longer than its cut (QA windows whole contexts)
    longest = max(max_length, getattr(cfg, "max_target_length", None) or 0)  # seq2seq targets too
    max_cell_chars = longest * feats.CHARS_PER_TOKEN if task.truncates_inputs else None
    with Progress("Reading data"):
        raw, declared_names = load_raw_splits(cfg, max_cell_chars)
    first = next((raw[s] for s in SPLITS if raw[s] is not None), None)
    if first is None:
        raise TfftError("No data given: pass --train_file / --validation_file / --test_file, or --dataset.")
    if declared_names:
        first.attrs["label_names"] = declared_names
    info = TaskInfo.from_dict(saved) if saved is not None else task.data_info(cfg, first)
    info = task.update_info(cfg, dataclasses.replace(info, max_length=max_length))
    examples, notes = {}, []
    for split in SPLITS:
        if raw[split] is not None:
            examples[split], dropped = task.prepare_split(cfg, raw[split], split, info)
            notes += dropped
    if "validation" not in examples and "train" in examples and cfg.validation_split > 0:
        examples["train"], examples["validation"] = split_validation(examples["train"], cfg.validation_split,
                                                                     cfg.seed)
        how = "stratified" if "label" in examples["train"] else "random"
        notes.append(f"validation: held out {len(examples['validation'])} training examples "
                     f"({cfg.validation_split:.0%}, {how}, seed {cfg.seed})")
    fingerprint = feats.tokenizer_fingerprint(tokenizer)
    features = {split: cached_features(cfg, task, info, tokenizer, fingerprint, frame, split)
                for split, frame in examples.items()}
    return Prepared(task, info, model_dir, tokenizer, examples, features, notes)


def split_validation(train: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded split of ``train``, stratified by ``label`` when every class has two examples."""
    from sklearn.model_selection import train_test_split

    if len(train) < 2:
        raise TfftError(f"Cannot hold out a validation set from {len(train)} training example(s); "
                        "give --validation_file or more training data.")
    stratify = None
    if "label" in train and pd.api.types.is_integer_dtype(train["label"]):
        counts = train["label"].value_counts()
        stratify = train["label"] if counts.min() >= 2 and len(train) * share >= len(counts) else None
    rest, held = train_test_split(train, test_size=share, random_state=seed, stratify=stratify)
    return rest.reset_index(drop=True), held.reset_index(drop=True)


def cached_features(cfg: Any, task: Task, info: TaskInfo, tokenizer: Any, tokenizer_hash: str,
                    examples: pd.DataFrame, split: str = "") -> feats.Features:
    """:func:`featurize` with a disk cache keyed by everything the result depends on."""
    key = feats.fingerprint(task.name, type(task).__name__, tokenizer_hash, info.to_dict(),
                            pd.util.hash_pandas_object(examples.astype(str), index=False).to_numpy())
    path = os.path.join(cfg.cache_root(), "features", f"{key}.npz")
    if os.path.exists(path):
        try:
            cached, n_examples = feats.load(path)
            if n_examples == len(examples):
                return cached
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache entry: rebuild it below
    result = featurize(cfg, task, examples, tokenizer, info, split)
    try:
        feats.save(result, path, len(examples))
    except OSError:
        pass  # a read-only cache directory only costs speed
    return result


def featurize(cfg: Any, task: Task, examples: pd.DataFrame, tokenizer: Any, info: TaskInfo,
              split: str = "") -> feats.Features:
    """``task.featurize``, its progress shown as ``Tokenizing <split>`` (examples done of all)."""
    with Progress(f"Tokenizing {split}".rstrip(), total=len(examples), unit="examples", reports=True):
        return task.featurize(cfg, examples, tokenizer, info)
