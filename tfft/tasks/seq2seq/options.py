"""The sequence-to-sequence option group (``--source_column``, ``--num_beams``, ...): fields of
:class:`tfft.config.Config`, listed in ``tfft.tasks.options.OPTION_GROUPS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tfft.errors import TfftError
from tfft.options import _check_positive, opt


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

    def check_options(self) -> None:
        """Raises ``TfftError`` for a value of this group that cannot work (any task)."""
        _check_positive("generate_every", self.generate_every)
        for name in ("max_target_length", "max_new_tokens"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        if self.num_beams is not None and (isinstance(self.num_beams, bool) or self.num_beams < 1):
            raise TfftError(f"--num_beams must be >= 1 (received {self.num_beams}); 1 is greedy search.")
        if self.no_repeat_ngram_size is not None and self.no_repeat_ngram_size < 0:
            raise TfftError(f"--no_repeat_ngram_size must be >= 0 (received {self.no_repeat_ngram_size}); 0 turns "
                            "n-gram blocking off.")
