"""The task families' option groups: each family's fields of :class:`tfft.config.Config`, in
the order their flags are listed (``--help``, ``--helpfull``, the README's tables). The config
composes itself from :data:`OPTION_GROUPS` and imports no task; a new family with flags of its
own adds its group here."""

from tfft.tasks.qa.options import QAOptions
from tfft.tasks.seq2seq.options import Seq2SeqOptions

OPTION_GROUPS: tuple[type, ...] = (QAOptions, Seq2SeqOptions)

__all__ = ["OPTION_GROUPS", "QAOptions", "Seq2SeqOptions"]
