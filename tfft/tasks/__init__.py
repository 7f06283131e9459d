"""Task registry and option groups. Every task is registered here, explicitly, so the list is
in one place; each family's option group (its fields of :class:`tfft.config.Config`) is in
:data:`OPTION_GROUPS` (``tasks/options.py``). Task classes are imported when a task is first
asked for, so the config composes itself from the option groups without loading any task."""

from typing import TYPE_CHECKING, Any, Callable

from tfft.tasks.base import Task, TaskInfo
from tfft.tasks.options import OPTION_GROUPS, QAOptions, Seq2SeqOptions
from tfft.tasks.registry import get_task, lazy_exports, names, register

if TYPE_CHECKING:
    from tfft.tasks.classification import ClassificationTask, MultiLabelTask
    from tfft.tasks.qa import QuestionAnsweringTask
    from tfft.tasks.seq2seq import Seq2SeqTask

__getattr__ = lazy_exports({"ClassificationTask": "tfft.tasks.classification",
                            "MultiLabelTask": "tfft.tasks.classification",
                            "QuestionAnsweringTask": "tfft.tasks.qa", "Seq2SeqTask": "tfft.tasks.seq2seq"})


def _task(cls: str, name: str, **defaults: Any) -> Callable[[], Task]:
    """A factory of task class ``cls`` (imported when the task is first asked for)."""
    return lambda: __getattr__(cls)(name, **defaults)


register("imdb", _task("ClassificationTask", "imdb", dataset="imdb", model="bert-base-uncased",
                       default_max_length=512))
register("classification", _task("ClassificationTask", "classification"))
register("sem_eval", _task("MultiLabelTask", "sem_eval", dataset="sem_eval_2018_task_1",
                           dataset_config="subtask5.english", text_column="Tweet", id_column="ID",
                           model="bert-base-uncased", default_max_length=128))
register("multilabel", _task("MultiLabelTask", "multilabel"))
register("squad", _task("QuestionAnsweringTask", "squad", dataset="squad", model="distilbert-base-uncased"))
register("squad_v2", _task("QuestionAnsweringTask", "squad_v2", version_2=True, dataset="squad_v2",
                           model="bert-base-uncased"))
register("qa", _task("QuestionAnsweringTask", "qa"))
register("t5_qa", _task("Seq2SeqTask", "t5_qa", model="t5-base",
                        input_template="question: {question} context: {context}", target_column="text",
                        no_repeat_ngram_size=2, metric_for_best="f1", default_max_length=512))
register("text2text", _task("Seq2SeqTask", "text2text", source_column="source", default_max_length=512))


__all__ = ["OPTION_GROUPS", "ClassificationTask", "MultiLabelTask", "QAOptions", "QuestionAnsweringTask",
           "Seq2SeqOptions", "Seq2SeqTask", "Task", "TaskInfo", "get_task", "names", "register"]
