"""The question-answering option group (``--question_column``, ``--doc_stride``, ...): fields
of :class:`tfft.config.Config`, listed in ``tfft.tasks.options.OPTION_GROUPS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tfft.errors import TfftError
from tfft.options import _check_positive, opt


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

    def check_options(self) -> None:
        """Raises ``TfftError`` for a value of this group that cannot work (any task)."""
        for name in ("n_best_size", "max_answer_length"):
            _check_positive(name, getattr(self, name))
        if self.doc_stride is not None:
            _check_positive("doc_stride", self.doc_stride)
        if (self.question or self.context) and len(self.context) not in (1, len(self.question)):
            raise TfftError(f"--mode=predict got {len(self.question)} --question and {len(self.context)} "
                            "--context; pass one --context for all questions, or one per question.")
