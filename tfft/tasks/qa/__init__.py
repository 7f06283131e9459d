"""Extractive question answering (SQuAD v1.1 / v2.0): examples, windowed features, the span
head, decoding, the in-graph serving functions, the client of the export and the option group."""

from typing import TYPE_CHECKING

from tfft.tasks.registry import lazy_exports

if TYPE_CHECKING:
    from tfft.tasks.qa.options import QAOptions
    from tfft.tasks.qa.task import QuestionAnsweringTask, decode_options

__getattr__ = lazy_exports({"QuestionAnsweringTask": "tfft.tasks.qa.task", "decode_options": "tfft.tasks.qa.task",
                            "QAOptions": "tfft.tasks.qa.options"})
__all__ = ["QAOptions", "QuestionAnsweringTask", "decode_options"]
