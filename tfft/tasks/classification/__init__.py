"""Text classification, one family: single-label (:class:`ClassificationTask`) and multi-label
(:class:`MultiLabelTask`, the same model with the ``multi_label_classification`` problem type)."""

from tfft.tasks.classification.multilabel import MultiLabelTask
from tfft.tasks.classification.task import ClassificationTask

__all__ = ["ClassificationTask", "MultiLabelTask"]
