"""Sequence-to-sequence: generative QA with T5 (``t5_qa``) and any text -> text (``text2text``).

Labels are target token ids padded with -100 per batch; the model shifts them right into
its decoder inputs (teacher forcing) and a masked cross-entropy ignores the padding.
Evaluation generates with an XLA-compiled beam search (tfft's n-gram blocking inside) and
scores the decoded text: ``exact_match``, ``f1`` (SQuAD) and ``rouge_l``.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from tfft.data.features import Features, encode_texts
from tfft.data.texts import read_predict_file
from tfft.errors import TfftError
from tfft.metrics.generation import generation_metrics
from tfft.tasks.base import Task, TaskInfo
from tfft.tasks.seq2seq.data import SourceSpec, targets

DEFAULT_TARGET_LENGTH = 128
# Compiled generate functions by model: kept outside the Keras model so Keras does not try
# to track (and save) a tf.function as part of the model.
_GENERATORS: "weakref.WeakKeyDictionary[Any, tuple[Any, Any]]" = weakref.WeakKeyDictionary()
_SERVING: "weakref.WeakKeyDictionary[Any, tuple[Any, Any]]" = weakref.WeakKeyDictionary()


class Seq2SeqTask(Task):
    """Text built from columns -> generated text."""

    plans_eval_batches = False  # the XLA generator compiles once per batch shape

    def __init__(self, name: str, **defaults: Any) -> None:
        base = {"target_column": "target", "max_target_length": DEFAULT_TARGET_LENGTH, "num_beams": 4,
                "no_repeat_ngram_size": 0, "pad_to_multiple_of": 8, "metric_for_best": "rouge_l"}
        super().__init__(name, **{**base, **defaults})

    # -- data ---------------------------------------------------------------------------
    def data_info(self, cfg: Any, train: Optional[pd.DataFrame]) -> TaskInfo:
        spec = SourceSpec.resolve(cfg)
        spec.fields()  # a template that cannot work fails before any data is read
        extras = {**spec.to_extras(), "target_column": cfg.target_column,
                  "max_target_length": int(cfg.max_target_length or DEFAULT_TARGET_LENGTH)}
        return TaskInfo(task=self.name, extras=extras)

    def normalise_split(self, cfg: Any, frame: pd.DataFrame, split: str,
                        info: Optional[TaskInfo]) -> tuple[pd.DataFrame, list[str]]:
        spec = SourceSpec.resolve(cfg, info.extras if info else None)
        sources, notes = spec.render(frame, split)
        out = pd.DataFrame({"text": sources})
        if split != "predict":
            column = (info.extras.get("target_column") if info else None) or cfg.target_column
            answers, dropped = targets(frame.loc[sources.index], column, split, spec.lowercase)
            notes += dropped
            out = out.loc[answers.index].assign(target=answers)
        return out, notes

    def featurize(self, cfg: Any, examples: pd.DataFrame, tokenizer: Any, info: TaskInfo) -> Features:
        inputs = encode_texts(tokenizer, examples["text"].tolist(), info.max_length)
        labels = None
        if "target" in examples:
            limit = int(info.extras.get("max_target_length", DEFAULT_TARGET_LENGTH))
            labels = encode_texts(tokenizer, examples["target"].tolist(), limit, report=False)["input_ids"]
        return Features(inputs={"input_ids": inputs["input_ids"]}, labels=labels)

    def predict_examples(self, cfg: Any) -> pd.DataFrame:
        from tfft.models import loading, scratch

        saved = None if scratch.is_scratch(cfg.model) else loading.read_info(loading.resolve_model_dir(cfg.model))
        info = TaskInfo.from_dict(saved) if saved else None
        fields = SourceSpec.resolve(cfg, info.extras if info else None).fields()
        if cfg.question:
            contexts = list(cfg.context) * len(cfg.question) if len(cfg.context) == 1 else list(cfg.context)
            frame = pd.DataFrame({"question": list(cfg.question), "context": contexts})
        elif cfg.text:
            if len(fields) != 1:
                raise TfftError(f"--text fills one input column, but the input is made from {', '.join(fields)}; "
                                "pass --predict_file=<file with those columns> (t5_qa: --question and --context).")
            frame = pd.DataFrame({fields[0]: list(cfg.text)})
        else:
            frame = read_predict_file(cfg.predict_file, fields[0] if len(fields) == 1 else None, cfg.csv_delimiter)
        examples, _ = self.prepare_split(cfg, frame, "predict", info)
        return examples

    # -- model --------------------------------------------------------------------------
    def build_model(self, cfg: Any, info: TaskInfo, model_dir: str) -> Any:
        from transformers import TFAutoModelForSeq2SeqLM

        from tfft.models.loading import load_pretrained, load_tokenizer
        from tfft.models.wrap import Seq2SeqTaskModel, wrap

        hf = load_pretrained(TFAutoModelForSeq2SeqLM, model_dir)
        info = dataclasses.replace(info, extras={**info.extras, "generation": generation_options(cfg, info)})
        return wrap(hf, self.input_names + ("decoder_input_ids",), ["logits"], info=info,
                    tokenizer=load_tokenizer(model_dir), model_class=Seq2SeqTaskModel)

    def loss(self, cfg: Any, info: TaskInfo) -> Any:
        from tfft.training.losses import MaskedSparseCategoricalCrossentropy

        return MaskedSparseCategoricalCrossentropy()

    def metrics(self, cfg: Any, info: TaskInfo) -> Any:
        return []  # per-batch token metrics say little; generation metrics come from evaluate()

    # -- outputs ------------------------------------------------------------------------
    def model_outputs(self, model: Any, cfg: Any, dataset: Any) -> dict[str, np.ndarray]:
        """Generated ids (``sequences``) and their decoded ``text``.

        Splits are decoded by the XLA-compiled generator. ``--mode=predict`` decodes eagerly
        (same ids): for a few command-line inputs one XLA compile (~5-30 s) costs more
        than the whole eager beam search.
        """
        from tfft.generation.generate import GenerationOptions, generate_batches, generate_ids

        pad = model.tokenizer.pad_token_id or 0
        if cfg.mode == "predict":
            options = GenerationOptions.from_dict(model.info.extras.get("generation", {}))
            generate = functools.partial(generate_ids, model.hf_model, options)
        else:
            generate = generator(model)
        ids = generate_batches(generate, iter(dataset), pad)
        texts = model.tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True)
        return {"sequences": ids, "text": np.asarray([t.strip() for t in texts], dtype=object)}

    def evaluate(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                 info: TaskInfo) -> dict[str, float]:
        return generation_metrics(list(outputs["text"]), examples["target"].tolist())

    def scored(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
               info: TaskInfo, samples: int = 0) -> tuple[dict[str, float], list[dict[str, str]]]:
        """The generation metrics, and the first ``samples`` inputs with the generated text and
        the reference."""
        rows = [{"input": src, "prediction": str(pred), "reference": tgt}
                for src, pred, tgt in zip(examples["text"][:samples], outputs["text"], examples["target"])]
        return self.evaluate(outputs, features, examples, info), rows

    def postprocess(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                    info: TaskInfo) -> list[dict[str, Any]]:
        return [{"text": str(t)} for t in outputs["text"]]

    def prediction_records(self, outputs: Mapping[str, np.ndarray], features: Features, examples: pd.DataFrame,
                           info: TaskInfo) -> list[dict[str, Any]]:
        return [{"input": src, "target": tgt, "prediction": str(pred)}
                for src, tgt, pred in zip(examples["text"], examples["target"], outputs["text"])]

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        return prediction["text"]

    def serving_signatures(self, model: Any, info: TaskInfo) -> dict[str, Any]:
        """``serving_default``: token ids in, generated ids out (see ``tfft.generation.generate``)."""
        return {"serving_default": serving_generator(model, info).get_concrete_function()}

    def text_signatures(self, model: Any, info: TaskInfo, encoder: Any) -> dict[str, Any]:
        """``serving_default``: ``text`` strings (the model's input as the template renders it,
        e.g. ``question: ... context: ...``) -> generated ``text`` and its ``sequences``;
        SentencePiece runs in the graph (:mod:`tfft.serving.sentencepiece`)."""
        import tensorflow as tf

        if not hasattr(encoder, "decode"):
            return {}
        generate = serving_generator(model, info)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve_text(text: tf.Tensor) -> dict[str, tf.Tensor]:
            inputs = encoder(text)
            sequences = generate(inputs["input_ids"], inputs["attention_mask"])["sequences"]
            return {"text": encoder.decode(sequences), "sequences": sequences}

        return {"serving_default": serve_text.get_concrete_function()}

    def text_reference(self, model: Any, info: TaskInfo, signatures: Mapping[str, Any],
                       texts: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The compiled beam search on the HF tokenizer's ids, decoded by the HF tokenizer."""
        sequences = super().text_reference(model, info, signatures, texts)["sequences"]
        decoded = model.tokenizer.batch_decode(sequences, skip_special_tokens=True, clean_up_tokenization_spaces=True)
        return {"sequences": sequences, "text": np.asarray([t.strip() for t in decoded], dtype=object)}


def serving_generator(model: Any, info: TaskInfo) -> Any:
    """The export's compiled generate ``tf.function`` (one per model and options, so the id and
    text signatures share one traced beam search)."""
    from tfft.generation.generate import GenerationOptions, chunked_generator

    options = GenerationOptions.from_dict(info.extras.get("generation", {}))
    cached = _SERVING.get(model)
    if cached is None or cached[0] != options:
        cached = _SERVING[model] = (options, chunked_generator(model.hf_model, options))
    return cached[1]


def generation_options(cfg: Any, info: TaskInfo) -> dict[str, Any]:
    """The run's decoding settings (saved with the model and used by the export)."""
    max_new = cfg.max_new_tokens or int(info.extras.get("max_target_length", DEFAULT_TARGET_LENGTH))
    return {"num_beams": int(cfg.num_beams or 1), "max_new_tokens": int(max_new),
            "no_repeat_ngram_size": int(cfg.no_repeat_ngram_size or 0), "length_penalty": float(cfg.length_penalty),
            "early_stopping": bool(cfg.early_stopping)}


def generator(model: Any) -> Any:
    """The model's compiled generate function for its current options (built once, kept on the model)."""
    from tfft.generation.generate import GenerationOptions, compiled_generator

    options = GenerationOptions.from_dict(model.info.extras.get("generation", {}))
    cached = _GENERATORS.get(model)
    if cached is None or cached[0] != options:
        cached = _GENERATORS[model] = (options, compiled_generator(model.hf_model, options))
    return cached[1]
