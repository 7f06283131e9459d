"""Task registry. Every task is registered here, explicitly, so the list is in one place."""

from tfft.tasks.base import Task, TaskInfo
from tfft.tasks.classification import ClassificationTask
from tfft.tasks.registry import get_task, names, register

register("imdb", lambda: ClassificationTask(
    "imdb", dataset="imdb", model="bert-base-uncased", default_max_length=512))
register("classification", lambda: ClassificationTask("classification"))

__all__ = ["ClassificationTask", "Task", "TaskInfo", "get_task", "names", "register"]
