"""Task registry. Every task is registered here, explicitly, so the list is in one place."""

from tfft.tasks.base import Task, TaskInfo
from tfft.tasks.classification import ClassificationTask, MultiLabelTask
from tfft.tasks.qa import QuestionAnsweringTask
from tfft.tasks.registry import get_task, names, register
from tfft.tasks.seq2seq import Seq2SeqTask

register("imdb", lambda: ClassificationTask(
    "imdb", dataset="imdb", model="bert-base-uncased", default_max_length=512))
register("classification", lambda: ClassificationTask("classification"))
register("sem_eval", lambda: MultiLabelTask(
    "sem_eval", dataset="sem_eval_2018_task_1", dataset_config="subtask5.english", text_column="Tweet",
    id_column="ID", model="bert-base-uncased", default_max_length=128))
register("multilabel", lambda: MultiLabelTask("multilabel"))
register("squad", lambda: QuestionAnsweringTask("squad", dataset="squad", model="distilbert-base-uncased"))
register("squad_v2", lambda: QuestionAnsweringTask("squad_v2", version_2=True, dataset="squad_v2",
                                                   model="bert-base-uncased"))
register("qa", lambda: QuestionAnsweringTask("qa"))
register("t5_qa", lambda: Seq2SeqTask(
    "t5_qa", model="t5-base", input_template="question: {question} context: {context}", target_column="text",
    no_repeat_ngram_size=2, metric_for_best="f1", default_max_length=512))
register("text2text", lambda: Seq2SeqTask("text2text", source_column="source", default_max_length=512))


__all__ = ["ClassificationTask", "MultiLabelTask", "QuestionAnsweringTask", "Seq2SeqTask", "Task", "TaskInfo",
           "get_task", "names", "register"]
