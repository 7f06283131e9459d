"""Single-label text classification (IMDB-style sentiment and any text -> one class)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import numpy as np
import pandas as pd

from tfft.data import readers
from tfft.data.features import Features, encode_texts
from tfft.data.texts import clean_texts, is_null, read_predict_file
from tfft.errors import TfftError
from tfft.metrics.classification import classification_metrics, softmax
from tfft.tasks.base import Task, TaskInfo



class ClassificationTask(Task):
    """Text -> one of N classes, softmax head, sparse categorical cross-entropy."""

    #: The Hugging Face ``problem_type`` of the classifier (None: single-label).
    problem_type: Optional[str] = None
    sentence_level = True

    def __init__(self, name: str, **defaults: Any) -> None:
        base = {"text_column": "text", "label_column": "label", "metric_for_best": "accuracy"}
        super().__init__(name, **{**base, **defaults})

    # -- data ---------------------------------------------------------------------------
    def data_info(self, cfg: Any, train: Optional[pd.DataFrame]) -> TaskInfo:
        if train is None and not cfg.label_names:
            raise TfftError(f"--model '{cfg.model}' is not a model trained by tfft, so its labels are unknown; pass "
                            "--label_names=<a,b,...> or point --model at a tfft run's model/ directory.")
        names = cfg.label_names or train.attrs.get("label_names", ())
        if not names and train is not None:
            readers.require_columns(train, [cfg.label_column], "train", {cfg.label_column: "label_column"})
            names = infer_label_names(train[cfg.label_column])
        if len(names) < 2:
            column = train[cfg.label_column] if train is not None and cfg.label_column in train else None
            held = f"; column '{cfg.label_column}' holds {held_labels(column)}" if column is not None else ""
            source = (f"--label_names gives {list(names)}" if cfg.label_names else
                      f"the labels in column '{cfg.label_column}' give {list(names)}")
            raise TfftError(f"Classification needs at least two classes; {source}{held}. Check --label_column, "
                            "or pass --label_names with one name per class (in class-id order for integer labels).")
        return TaskInfo(task=self.name, label_names=tuple(names))

    def normalise_split(self, cfg: Any, frame: pd.DataFrame, split: str,
                        info: Optional[TaskInfo]) -> tuple[pd.DataFrame, list[str]]:
        flags = {cfg.text_column: "text_column", cfg.label_column: "label_column"}
        columns = [cfg.text_column] + ([cfg.label_column] if info is not None else [])
        readers.require_columns(frame, columns, split, flags)
        texts, notes = clean_texts(frame[cfg.text_column], split, cfg.text_column, info and info.max_length)
        out = pd.DataFrame({"text": texts})
        if info is not None:
            labels = frame.loc[texts.index, cfg.label_column]
            keep, dropped = labeled_rows(labels, split, cfg.label_column, frame.attrs.get("first_line"),
                                         cfg.drop_unlabeled)
            out, labels, notes = out[keep], labels[keep], notes + dropped
            out["label"] = label_ids(labels, info.label_names, split, cfg.label_column)
            notes += unused_label_notes(out["label"], labels, info.label_names, split) if split == "train" else []
        return out, notes

    def featurize(self, cfg: Any, examples: pd.DataFrame, tokenizer: Any, info: TaskInfo) -> Features:
        inputs = encode_texts(tokenizer, examples["text"].tolist(), info.max_length)
        labels = examples["label"].to_numpy(np.int32) if "label" in examples else None
        return Features(inputs={"input_ids": inputs["input_ids"]}, labels=labels)

    def predict_examples(self, cfg: Any) -> pd.DataFrame:
        if cfg.text:
            return pd.DataFrame({"text": list(cfg.text)})
        frame = read_predict_file(cfg.predict_file, cfg.text_column, cfg.csv_delimiter)
        examples, _ = self.prepare_split(cfg, frame, "predict", None)
        return examples

    # -- model --------------------------------------------------------------------------
    def build_model(self, cfg: Any, info: TaskInfo, model_dir: str) -> Any:
        """A Hugging Face sequence classifier (``problem_type`` of the task) whose head reads the
        vector ``--pooling`` picks; the pooling is kept in the task facts saved with the model."""
        import dataclasses

        from transformers import TFAutoModelForSequenceClassification

        from tfft.models import pooling
        from tfft.models.loading import load_pretrained, load_tokenizer
        from tfft.models.wrap import wrap

        labels = dict(enumerate(info.label_names))
        extra = {"problem_type": self.problem_type} if self.problem_type else {}
        hf = load_pretrained(TFAutoModelForSequenceClassification, model_dir, num_labels=len(labels),
                             id2label=labels, label2id={v: k for k, v in labels.items()}, **extra)
        chosen = pooling.choose(cfg.pooling, model_dir, hf, info.extras.get("pooling"))
        info = dataclasses.replace(info, extras={**info.extras, "pooling": chosen})
        return wrap(hf, self.input_names, ["logits"], info=info, tokenizer=load_tokenizer(model_dir),
                    forward=pooling.forward(hf, chosen))

    def loss(self, cfg: Any, info: TaskInfo) -> Any:
        import tensorflow as tf

        return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def metrics(self, cfg: Any, info: TaskInfo) -> Any:
        import tensorflow as tf

        return [tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    # -- outputs ------------------------------------------------------------------------
    def evaluate(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                 info: TaskInfo) -> dict[str, float]:
        return classification_metrics(features.labels, outputs["logits"])

    def postprocess(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                    info: TaskInfo) -> list[dict[str, Any]]:
        probs = softmax(outputs["logits"])
        return [{"label": info.label_names[int(p.argmax())], "probability": float(p.max()),
                 "probabilities": {n: float(v) for n, v in zip(info.label_names, p)}} for p in probs]

    def figures(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                info: TaskInfo, split: str) -> dict[str, Any]:
        """``confusion_matrix.png``: counts and row-normalised shares, classes named."""
        from tfft.training.figures import confusion_figure

        if features.labels is None:
            return {}
        predicted = np.asarray(outputs["logits"]).argmax(axis=-1)
        return {"confusion_matrix.png": confusion_figure(features.labels, predicted, info.label_names, split)}

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        return f"{prediction['label']} {prediction['probability']:.3f}"

    def serving_head(self, model: Any, info: TaskInfo) -> Callable[..., dict[str, Any]]:
        """Token ids -> the export's outputs: probabilities, class id and class name."""
        import tensorflow as tf

        names = tf.constant(list(info.label_names))

        def head(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> dict[str, tf.Tensor]:
            logits = model({"input_ids": input_ids, "attention_mask": attention_mask}, training=False)["logits"]
            probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
            class_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
            return {"probabilities": probabilities, "class_id": class_id, "label": tf.gather(names, class_id)}

        return head

    def serving_signatures(self, model: Any, info: TaskInfo) -> dict[str, Any]:
        return {"serve_ids": self.traced_head(model, info).get_concrete_function()}

    def traced_head(self, model: Any, info: TaskInfo) -> Any:
        """:meth:`serving_head` as one ``tf.function`` on token ids of any shape, shared by
        ``serve_ids`` and the raw-text signature: the export traces the model once for both
        (each trace of MiniLM took 2-3 s). Kept on the model for its current ``info``."""
        import tensorflow as tf

        cached = model.__dict__.get("_tfft_serving_head")
        if cached is not None and cached[0] is info:
            return cached[1]
        spec = [tf.TensorSpec([None, None], tf.int32, name=n) for n in self.input_names]
        traced = tf.function(self.serving_head(model, info), input_signature=spec)
        object.__setattr__(model, "_tfft_serving_head", (info, traced))  # untracked: not saved with the model
        return traced

    def text_signatures(self, model: Any, info: TaskInfo, encoder: Any) -> dict[str, Any]:
        import tensorflow as tf

        head = self.traced_head(model, info)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve_text(text: tf.Tensor) -> dict[str, tf.Tensor]:
            inputs = encoder(text)  # may hold token_type_ids too, which the head does not take
            return head(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])

        return {"serving_default": serve_text.get_concrete_function()}


def _label_key(value: Any) -> str:
    """Canonical string of a label: 1, 1.0 and "1" are the same class."""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def infer_label_names(column: pd.Series) -> tuple[str, ...]:
    """Sorted distinct labels (numerically when they are all integers)."""
    keys = {_label_key(v) for v in column if not is_null(v)}
    if keys and all(k.lstrip("-").isdigit() for k in keys):
        return tuple(sorted(keys, key=int))
    return tuple(sorted(keys))


def held_labels(column: pd.Series, most: int = 10) -> str:
    """The distinct labels ``column`` really holds, for messages: ``0, 1`` or ``a, b, ... (40 distinct)``."""
    values = infer_label_names(column)
    shown = ", ".join(values[:most]) or "no labels"
    return shown + (f" ... ({len(values)} distinct)" if len(values) > most else "")


def labeled_rows(column: pd.Series, split: str, name: str, first_line: Optional[int],
                 drop: bool) -> tuple[np.ndarray, list[str]]:
    """Which rows have a label (a mask over ``column``), and a note on the rows dropped for lacking one.

    Raises:
        TfftError: rows without a label and ``drop`` is False; the message gives their count
            and first row numbers (file lines when ``first_line`` is known, else 1-based rows).
    """
    missing = np.fromiter((is_null(v) or (isinstance(v, str) and not v.strip()) for v in column), bool,
                          count=len(column))
    if not missing.any():
        return ~missing, []
    count = int(missing.sum())
    if drop:
        return ~missing, [f"{split}: dropped {count} rows with an empty '{name}' (--drop_unlabeled)"]
    rows = [int(i) for i in column.index[missing][:5]]
    where = (f"lines {', '.join(str(r + first_line) for r in rows)} of the file, the header being line 1"
             if first_line else f"rows {', '.join(str(r + 1) for r in rows)}, counting from 1")
    raise TfftError(f"The {split} data has {count} row{'s' * (count != 1)} with an empty label in column '{name}' "
                    f"({where}{', ...' if count > len(rows) else ''}); fill them in, or pass --drop_unlabeled "
                    "to drop such rows.")


def label_ids(column: pd.Series, names: tuple[str, ...], split: str, name: str) -> np.ndarray:
    """Maps labels to class ids: by name, or as ids when the data holds integers and the names don't.

    Raises:
        TfftError: a label that is not in the label set, or an integer label that is not a
            class id (``0 .. len(names) - 1``); the message quotes what the column holds.
    """
    keys = [_label_key(v) for v in column]
    index = {n: i for i, n in enumerate(names)}
    if all(k.lstrip("-").isdigit() for k in keys) and not any(k in index for k in keys):
        outside = sorted({int(k) for k in keys if not 0 <= int(k) < len(names)})
        if outside:
            raise TfftError(f"The {split} data has integer labels {', '.join(map(str, outside[:5]))} in column "
                            f"'{name}' that are not class ids of --label_names ({', '.join(names)}: ids 0 to "
                            f"{len(names) - 1}); the column holds {held_labels(column)}. Pass one label name per "
                            "class id.")
        return np.asarray([int(k) for k in keys], dtype=np.int32)
    ids = [index.get(k, -1) for k in keys]
    bad = sorted({k for k, i in zip(keys, ids) if i < 0})
    if bad:
        raise TfftError(f"The {split} data has labels outside the label set in column '{name}': "
                        f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''} (label set: {', '.join(names)}; "
                        f"the column holds {held_labels(column)}). Fix those rows, or pass --label_names with "
                        "every label.")
    return np.asarray(ids, dtype=np.int32)


def unused_label_notes(ids: pd.Series, column: pd.Series, names: tuple[str, ...], split: str) -> list[str]:
    """A warning naming the label names no example of ``split`` has (a class that cannot be learned)."""
    used = set(int(i) for i in ids)
    unused = [f"{n} (id {i})" for i, n in enumerate(names) if i not in used]
    if not unused:
        return []
    return [f"warning: no {split} example has label {', '.join(unused)} of {len(names)} label names; the column "
            f"holds {held_labels(column)}. Check --label_names: a class without examples cannot be learned."]
