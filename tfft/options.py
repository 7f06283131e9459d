"""The option groups of task families and fine-tuning modes, and the helpers every option
group uses (:func:`opt`, the value checks); :class:`tfft.config.Config` combines them all."""

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
class QAOptions:
    """Extractive question answering (SQuAD)."""

    question_column: Optional[str] = opt(None, "QA: column holding the question.")
    context_column: Optional[str] = opt(None, "QA: column holding the context paragraph.")
    answers_column: Optional[str] = opt(None, "QA: column of answers {text: [...], answer_start: [...]} (JSON in CSV).")
    version_2_with_negative: Optional[bool] = opt(None, "QA: questions may have no answer (SQuAD v2.0). Default: "
                                                        "the trained model's, else the task's (squad_v2: true).")
    doc_stride: Optional[int] = opt(None, "QA: tokens shared by consecutive windows of a context longer than "
                                          "max_length. Default: the trained model's, else 128 (at most a third "
                                          "of max_length).")
    n_best_size: int = opt(20, "QA: candidate start and end tokens per window, and answers kept per question.")
    max_answer_length: int = opt(30, "QA: longest answer, in tokens.")
    null_score_diff_threshold: Optional[float] = opt(None, "QA v2: answer nothing when the no-answer score beats "
                                                           "the best span's by more than this. Default: the "
                                                           "trained model's (tuned, see below), else 0.")
    tune_null_threshold: bool = opt(True, "QA v2: after training, choose the null-score threshold that gives the "
                                          "best F1 on validation, and keep it with the model (predict and the "
                                          "export use it).")
    strict: bool = opt(False, "QA: stop at an answer whose answer_start does not point at its text (default: "
                              "skip such training questions with a note).")
    question: tuple[str, ...] = opt((), "QA and t5_qa --mode=predict: a question to answer (repeatable; with "
                                        "--context).", multi=True)
    context: tuple[str, ...] = opt((), "QA and t5_qa --mode=predict: the context of --question (one for all "
                                       "questions, or one per question).", multi=True)


@dataclass(frozen=True, kw_only=True)
class Seq2SeqOptions:
    """Sequence-to-sequence tasks (t5_qa, text2text): data and generation."""

    source_column: Optional[str] = opt(None, "text2text: column holding the input text (when no --input_template).")
    target_column: Optional[str] = opt(None, "Column holding the target text (t5_qa: the answer).")
    input_template: Optional[str] = opt(None, "Input made from columns: 'question: {question} context: {context}'.")
    lowercase: bool = opt(False, "Lower-case inputs and targets.")
    max_target_length: Optional[int] = opt(None, "Longest target in tokens; longer targets are truncated and counted.")
    num_beams: Optional[int] = opt(None, "Beams of beam search (1: greedy).")
    max_new_tokens: Optional[int] = opt(None, "Most tokens to generate. Default: --max_target_length.")
    no_repeat_ngram_size: Optional[int] = opt(None, "Never generate an n-gram of this size twice (0: off).")
    length_penalty: float = opt(1.0, "Beam search: exponent of the length normalisation of scores (>1 favours longer).")
    early_stopping: bool = opt(True, "Beam search: stop once num_beams finished hypotheses exist.")
    generate_every: int = opt(1, "Score generation metrics on validation every N epochs (and after the last).")


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
