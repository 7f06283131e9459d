"""Extractive question answering (SQuAD v1.1 / v2.0): the answer is a span of the context.

The model is any Hugging Face ``TFAutoModelForQuestionAnswering`` (BERT, DistilBERT, ...).
tfft stacks its start and end logits into one ``span_logits`` output ``[batch, 2, seq]``
with padding positions masked out, so one sparse categorical cross-entropy over the last
axis is exactly the mean of the start and end losses, and padding (which differs from
batch to batch) can neither be learnt nor predicted.

Windowing and labels: :mod:`tfft.tasks.qa.features`; decoding: :mod:`tfft.tasks.qa.decode`;
checks on the data: :mod:`tfft.tasks.qa.examples`; metrics: :mod:`tfft.metrics.squad`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from tfft.data.features import Features
from tfft.data.texts import read_predict_file
from tfft.errors import TfftError
from tfft.metrics.squad import squad_metrics
from tfft.serving.layout import pair_layout_matches
from tfft.tasks.qa import features as qa_features
from tfft.tasks.base import Task, TaskInfo
from tfft.tasks.qa.decode import DecodeOptions, decode
from tfft.tasks.qa.examples import prepare_examples

OUTPUT = "span_logits"  # the model's one output (see tfft.tasks.qa.span)


class QuestionAnsweringTask(Task):
    """(question, context) -> the answer's character span in the context, or none (v2.0)."""

    truncates_inputs = False  # a long context is cut into windows of doc_stride overlap, none lost
    example_noun = "questions"

    def __init__(self, name: str, version_2: bool = False, doc_stride: int = 128, **defaults: Any) -> None:
        """Args:
            name: Registry name.
            version_2: Questions may have no answer (SQuAD v2.0) unless the flag says otherwise.
            doc_stride: Window overlap at the task's default max_length (384); smaller limits
                get a third of their length.
            **defaults: Config defaults (dataset, model, ...).
        """
        base = {"question_column": "question", "context_column": "context", "answers_column": "answers",
                "id_column": "id", "metric_for_best": "f1"}
        super().__init__(name, **{"default_max_length": 384, **base, **defaults})
        self.version_2 = version_2
        self.doc_stride = doc_stride

    # -- data ---------------------------------------------------------------------------
    def data_info(self, cfg: Any, train: Optional[pd.DataFrame]) -> TaskInfo:
        version_2 = self.version_2 if cfg.version_2_with_negative is None else cfg.version_2_with_negative
        return TaskInfo(task=self.name, extras={"version_2_with_negative": bool(version_2)})

    def update_info(self, cfg: Any, info: TaskInfo) -> TaskInfo:
        """Decoding flags always apply; ``doc_stride`` and ``version_2_with_negative`` when given,
        else the trained model's, else the task's."""
        saved = info.extras
        version_2 = saved.get("version_2_with_negative", self.version_2)
        stride = saved.get("doc_stride") or min(self.doc_stride, info.max_length // 3)
        extras = {**saved,
                  "version_2_with_negative": bool(version_2 if cfg.version_2_with_negative is None
                                                  else cfg.version_2_with_negative),
                  "doc_stride": int(stride if cfg.doc_stride is None else cfg.doc_stride),
                  "n_best_size": cfg.n_best_size, "max_answer_length": cfg.max_answer_length,
                  "null_score_diff_threshold": float(saved.get("null_score_diff_threshold", 0.0)
                                                     if cfg.null_score_diff_threshold is None
                                                     else cfg.null_score_diff_threshold)}
        return dataclasses.replace(info, extras=extras)

    def calibrate(self, cfg: Any, outputs: Mapping[str, np.ndarray], features: Features, info: TaskInfo,
                  examples: Optional[pd.DataFrame] = None) -> TaskInfo:
        """v2.0 with ``--tune_null_threshold`` (and no ``--null_score_diff_threshold``): the
        null-score threshold of the best validation F1 (the official script's
        ``best_f1_thresh``), kept in the model's task facts."""
        if not (decode_options(info).version_2 and cfg.tune_null_threshold and examples is not None
                and cfg.null_score_diff_threshold is None):
            return info
        scores = self.evaluate(outputs, features, examples, info)
        if not np.isfinite(scores.get("best_f1_thresh", np.nan)):
            return info
        extras = {**info.extras, "null_score_diff_threshold": float(scores["best_f1_thresh"]),
                  "null_threshold_tuned": True}
        return dataclasses.replace(info, extras=extras)

    def normalise_split(self, cfg: Any, frame: pd.DataFrame, split: str,
                        info: Optional[TaskInfo]) -> tuple[pd.DataFrame, list[str]]:
        version_2 = None if info is None else bool(info.extras.get("version_2_with_negative", self.version_2))
        return prepare_examples(cfg, frame, split, version_2)

    def featurize(self, cfg: Any, examples: pd.DataFrame, tokenizer: Any, info: TaskInfo) -> Features:
        return qa_features.window_features(tokenizer, examples, info.max_length, int(info.extras["doc_stride"]))

    def predict_examples(self, cfg: Any) -> pd.DataFrame:
        """Questions from ``--question`` / ``--context`` or ``--predict_file``; ``text`` (the
        question) is what the console echoes beside each answer."""
        if cfg.question:
            contexts = list(cfg.context) * len(cfg.question) if len(cfg.context) == 1 else list(cfg.context)
            frame = pd.DataFrame({cfg.question_column: list(cfg.question), cfg.context_column: contexts})
        elif cfg.predict_file:
            frame = read_predict_file(cfg.predict_file, None, cfg.csv_delimiter)
        else:
            raise TfftError('Question answering predicts from --question="..." --context="..." or a '
                            "--predict_file with question and context columns (--text is for classification).")
        examples, _ = self.prepare_split(cfg, frame, "predict", None)
        return examples.assign(text=examples["question"])

    # -- model --------------------------------------------------------------------------
    def build_model(self, cfg: Any, info: TaskInfo, model_dir: str) -> Any:
        """``TFAutoModelForQuestionAnswering`` with the span head; a new head's weights follow
        ``--seed``, so a run (and the demo's numbers) can be repeated."""
        import tensorflow as tf
        from transformers import TFAutoModelForQuestionAnswering

        from tfft.models.loading import load_pretrained, load_tokenizer
        from tfft.tasks.qa.span import span_head
        from tfft.models.wrap import wrap

        tokenizer = load_tokenizer(model_dir)
        tf.keras.utils.set_random_seed(cfg.seed)
        hf = load_pretrained(TFAutoModelForQuestionAnswering, model_dir)
        return wrap(hf, qa_features.input_names(tokenizer), [OUTPUT], info=info, tokenizer=tokenizer,
                    head=span_head)

    def loss(self, cfg: Any, info: TaskInfo) -> Any:
        import tensorflow as tf

        return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def metrics(self, cfg: Any, info: TaskInfo) -> Any:
        import tensorflow as tf

        return [tf.keras.metrics.SparseCategoricalAccuracy(name="position_accuracy")]

    # -- outputs ------------------------------------------------------------------------
    def postprocess(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                    info: TaskInfo) -> list[dict[str, Any]]:
        return decode(outputs[OUTPUT], features, examples["context"].tolist(), decode_options(info))

    def evaluate(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                 info: TaskInfo) -> dict[str, float]:
        return self.scored(outputs, features, examples, info)[0]

    def scored(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
               info: TaskInfo, samples: int = 0) -> tuple[dict[str, float], list[dict[str, str]]]:
        """The SQuAD metrics, and the first ``samples`` questions with the predicted answer and
        the reference answers, from one decode."""
        predictions = self.postprocess(outputs, features, examples, info)
        rows = [{"question": q, "predicted answer": p["answer"] or "(no answer)",
                 "reference answers": " / ".join(refs) or "(no answer)"}
                for q, p, refs in zip(examples["question"][:samples], predictions, examples["answer_texts"])]
        return self._metrics(predictions, examples, info), rows

    def _metrics(self, predictions: list[dict[str, Any]], examples: pd.DataFrame, info: TaskInfo) -> dict[str, float]:
        gold = dict(zip(examples["id"], examples["answer_texts"]))
        ids = examples["id"].tolist()
        version_2 = decode_options(info).version_2
        return squad_metrics(
            gold, {q: p["answer"] for q, p in zip(ids, predictions)}, version_2=version_2,
            no_answer_scores={q: p["no_answer_score"] for q, p in zip(ids, predictions)} if version_2 else None,
            span_predictions={q: p["best_span"] for q, p in zip(ids, predictions)})

    def reports(self, outputs: Mapping[str, np.ndarray], features: Features, info: TaskInfo,
                examples: Optional[pd.DataFrame] = None) -> dict[str, Any]:
        """``predictions.json`` ({id: answer}), ``nbest_predictions.json`` ({id: [entries]}) and,
        for v2.0, ``null_odds.json`` ({id: no-answer score}), as the official tools read them."""
        if examples is None:
            return {}
        predictions = self.postprocess(outputs, features, examples, info)
        ids = examples["id"].tolist()
        files = {"predictions.json": {q: p["answer"] for q, p in zip(ids, predictions)},
                 "nbest_predictions.json": {q: p["nbest"] for q, p in zip(ids, predictions)}}
        if decode_options(info).version_2:
            files["null_odds.json"] = {q: _finite(p["no_answer_score"]) for q, p in zip(ids, predictions)}
        return files

    def prediction_records(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                           info: TaskInfo) -> list[dict[str, Any]]:
        """One row per question: its id, question, reference answers and the predicted answer
        with its probability (``""``: no answer, SQuAD v2.0)."""
        predictions = self.postprocess(outputs, features, examples, info)
        return [{"id": q, "question": question, "answers": list(gold), "prediction": p["answer"],
                 "probability": _finite(p["probability"])}
                for q, question, gold, p in zip(examples["id"], examples["question"], examples["answer_texts"],
                                                predictions)]

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        if not prediction["answer"]:
            return f"(no answer) {prediction['probability']:.3f}"
        return f"{prediction['answer']} {prediction['probability']:.3f} [{prediction['start']}:{prediction['end']}]"

    def serving_signatures(self, model: Any, info: TaskInfo) -> dict[str, Any]:
        """Token ids of windows -> ``start_logits`` and ``end_logits`` ``[batch, seq]`` (padding at
        -1e9); exported as ``serve_ids`` beside the raw-text ``serving_default`` (and as
        ``serving_default`` when the tokenizer cannot run in the graph).
        :mod:`tfft.tasks.qa.client` makes the windows and turns the logits into answers."""
        import tensorflow as tf

        spec = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in model.input}

        @tf.function(input_signature=[spec])
        def serve(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            logits = model(inputs, training=False)[OUTPUT]
            return {"start_logits": logits[:, 0], "end_logits": logits[:, 1]}

        return {"serving_default": serve.get_concrete_function()}

    def text_signatures(self, model: Any, info: TaskInfo, encoder: Any) -> dict[str, Any]:
        """``serving_default``: ``question`` and ``context`` strings -> ``answer``, ``score``,
        ``start`` / ``end``, windowed and decoded in the graph (:mod:`tfft.tasks.qa.graph`);
        the window signature stays as ``serve_ids``. The graph builds ``cls question <pair_middle>
        context sep`` windows with the encoder's layout (BERT ``[CLS] q [SEP] c [SEP]``, RoBERTa and
        MPNet ``<s> q </s></s> c </s>``); a tokenizer whose pairs look otherwise keeps
        ``serving_default`` on window ids."""
        from tfft.tasks.qa.graph import qa_text_signature

        if not pair_layout_matches(model.tokenizer, encoder):
            return {}
        return {"serving_default": qa_text_signature(model, tuple(model.input), OUTPUT, info.max_length,
                                                     int(info.extras["doc_stride"]), decode_options(info), encoder)}

    def text_reference(self, model: Any, info: TaskInfo, signatures: Mapping[str, Any],
                       texts: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Python's windows, the Keras model and :func:`tfft.tasks.qa.decode.decode` (``score`` aside)."""
        examples = pd.DataFrame({"question": [q.lstrip() for q in texts["question"]],
                                 "context": list(texts["context"])})
        features = qa_features.window_features(model.tokenizer, examples, info.max_length,
                                               int(info.extras["doc_stride"]))
        inputs = qa_features.dense_inputs(features, model.tokenizer.pad_token_id or 0)
        logits = model({name: inputs[name] for name in model.input}, training=False)[OUTPUT].numpy()
        answers = decode(logits, features, examples["context"].tolist(), decode_options(info))
        return {"answer": np.asarray([a["answer"] for a in answers], dtype=object),
                "start": np.asarray([-1 if a["start"] is None else a["start"] for a in answers]),
                "end": np.asarray([-1 if a["end"] is None else a["end"] for a in answers])}


def decode_options(info: TaskInfo) -> DecodeOptions:
    """The decoding knobs a model's task facts carry."""
    extras = info.extras
    return DecodeOptions(n_best_size=int(extras.get("n_best_size", 20)),
                         max_answer_length=int(extras.get("max_answer_length", 30)),
                         version_2=bool(extras.get("version_2_with_negative", False)),
                         null_score_diff_threshold=float(extras.get("null_score_diff_threshold", 0.0)))


def _finite(value: float) -> Optional[float]:
    return float(value) if np.isfinite(value) else None
