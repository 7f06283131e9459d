"""Text-to-text generation (T5): sources from templates, targets, generation and its metrics,
and the option group."""

from typing import TYPE_CHECKING

from tfft.tasks.registry import lazy_exports

if TYPE_CHECKING:
    from tfft.tasks.seq2seq.options import Seq2SeqOptions
    from tfft.tasks.seq2seq.task import Seq2SeqTask

__getattr__ = lazy_exports({"Seq2SeqTask": "tfft.tasks.seq2seq.task", "Seq2SeqOptions": "tfft.tasks.seq2seq.options"})
__all__ = ["Seq2SeqOptions", "Seq2SeqTask"]
