"""Extractive question answering (SQuAD v1.1 / v2.0): examples, windowed features, the span
head, decoding, the in-graph serving functions and the client of the export."""

from tfft.tasks.qa.task import QuestionAnsweringTask, decode_options

__all__ = ["QuestionAnsweringTask", "decode_options"]
