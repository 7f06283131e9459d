"""Text-to-text generation (T5): sources from templates, targets, generation and its metrics."""

from tfft.tasks.seq2seq.task import Seq2SeqTask

__all__ = ["Seq2SeqTask"]
