"""The fine-tuning modes' option group, and the helpers every option group uses (:func:`opt`,
the value checks); :class:`tfft.config.Config` combines the groups (the task families' own
live in their packages, e.g. ``tfft/tasks/qa/options.py``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from tfft.errors import TfftError

FINETUNE = ("full", "frozen", "adapter", "lora")
HEADS = ("linear", "mlp")
POOLINGS = ("auto", "cls", "mean", "pooler")
# What each --finetune mode trains with when the flags leave it unset (a task's own default
# comes first). Measured on real data: see "Fine-tuning defaults" in the README. A head on
# cached features costs milliseconds an epoch, so it trains long, stopped early on validation.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "full": {"learning_rate": 5e-5, "epochs": 3, "early_stopping_patience": 0},
    "frozen": {"learning_rate": 2e-3, "epochs": 10, "early_stopping_patience": 0},
    "frozen, cached features": {"learning_rate": 2e-3, "epochs": 40, "early_stopping_patience": 5},
    "adapter": {"learning_rate": 2e-3, "epochs": 5, "early_stopping_patience": 0},
    "lora": {"learning_rate": 2e-3, "epochs": 5, "early_stopping_patience": 0},
}


def opt(default: Any, help: str, *, choices: tuple[str, ...] = (), multi: bool = False) -> Any:
    """A config field with its flag help text (and, for enums, its choices)."""
    return field(default=default, metadata={"help": help, "choices": choices, "multi": multi})


@dataclass(frozen=True, kw_only=True)
class FinetuneOptions:
    """Which weights train: fine-tuning modes, heads, adapters and LoRA."""

    finetune: str = opt("full", "full | frozen (only the head trains) | adapter (bottleneck adapters, LayerNorms and "
                                "head) | lora (low-rank updates of --lora_targets, and the head).", choices=FINETUNE)
    head: str = opt("linear", "Classification and multi-label: linear | mlp (a 512-unit ReLU layer with dropout "
                              "0.1, then the classifier).", choices=HEADS)
    pooling: str = opt("auto", "Classification and multi-label: the vector the head reads. auto: the checkpoint's "
                               "own (mean for sentence-transformers models that say so, e.g. minilm; else the "
                               "model class's: BERT's pooler, DistilBERT's [CLS]) | cls | mean (over the attention "
                               "mask) | pooler (BERT's dense + tanh on [CLS]).", choices=POOLINGS)
    cache_features: Optional[bool] = opt(None, "With --finetune=frozen (classification and multi-label): compute the "
                                               "frozen backbone's features once per split and train the head on "
                                               "them. Default: on for those, off otherwise.")
    adapter_size: int = opt(64, "--finetune=adapter: bottleneck units of each adapter.")
    lora_rank: int = opt(8, "--finetune=lora: rank of each low-rank update.")
    lora_alpha: float = opt(16.0, "--finetune=lora: updates are scaled by lora_alpha / lora_rank.")
    lora_dropout: float = opt(0.0, "--finetune=lora: dropout on the input of each low-rank update.")
    lora_targets: tuple[str, ...] = opt((), "--finetune=lora: names of the Dense layers to update. Default: the query "
                                            "and value projections (BERT query,value; DistilBERT q_lin,v_lin; T5 q,v).")
    load_adapter: Optional[str] = opt(None, "An adapter_weights.npz of an adapter or LoRA run, put on --model (the "
                                            "base model that run started from); needs the same --finetune flags.")

    def _finetune_defaults(self, classifier_task: bool) -> None:
        """Fills ``cache_features`` (on for a frozen classifier) and the mode's :data:`MODE_DEFAULTS`."""
        if self.cache_features is None:
            object.__setattr__(self, "cache_features", self.finetune == "frozen" and classifier_task)
        key = "frozen, cached features" if self.finetune == "frozen" and self.cache_features else self.finetune
        for name, value in MODE_DEFAULTS.get(key, MODE_DEFAULTS["full"]).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def _check_finetune(self, classifier_task: bool) -> None:
        _check_choice("finetune", self.finetune, FINETUNE)
        _check_choice("head", self.head, HEADS)
        _check_choice("pooling", self.pooling, POOLINGS)
        for name in ("adapter_size", "lora_rank"):
            _check_positive(name, getattr(self, name))
        if not self.lora_alpha > 0 or not 0 <= self.lora_dropout < 1:
            raise TfftError(f"--lora_alpha must be > 0 and --lora_dropout in [0, 1) (received {self.lora_alpha}, "
                            f"{self.lora_dropout}).")
        if self.cache_features and (self.finetune != "frozen" or not classifier_task):
            raise TfftError(f"--cache_features needs --finetune=frozen and a classification or multi-label task "
                            f"(received --finetune={self.finetune} --task={self.task}); the backbone must be fixed "
                            "and the head must read one vector per text. Drop --cache_features.")
        for flag, value, default in (("head", self.head, "linear"), ("pooling", self.pooling, "auto")):
            if value != default and not classifier_task:
                raise TfftError(f"--{flag}={value} applies to classification and multi-label tasks (received "
                                f"--task={self.task}); drop --{flag} or pass --{flag}={default}.")
        if self.load_adapter and not os.path.isfile(self.load_adapter):
            raise TfftError(f"--load_adapter file '{self.load_adapter}' does not exist; pass the adapter_weights.npz "
                            "of an adapter or LoRA run.")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise TfftError(f"--{name} must be one of {', '.join(choices)} (received '{value}').")


def _check_positive(name: str, value: Any) -> None:
    if value is None or isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TfftError(f"--{name} must be a positive integer (received {value!r}).")
