"""The one vector per text that a sentence-level head reads (``--pooling``).

Hugging Face's classifiers read a fixed vector: BERT-style models (and ALBERT) the pooled
[CLS] (a dense layer and tanh over the [CLS] hidden state, pretrained for next-sentence
prediction), DistilBERT, RoBERTa, XLM-RoBERTa, ELECTRA, MPNet and DeBERTa-v2 the first
token's hidden state (:mod:`tfft.models.families` has each head's layers). Sentence-embedding checkpoints are trained for another:
all-MiniLM-L6-v2 (``--model=minilm``) for the mean of its last hidden states, as its
``modules.json`` and ``1_Pooling/config.json`` say, and its pooler was never trained for
it. On 598 real movie-review sentences (the quality benchmark's IMDB set), a frozen MiniLM
with a linear head on the pooled [CLS] at the old learning rate 2e-5 scored 0.518 test
accuracy, chance and below TF-IDF's 0.732; on the mean at 2e-3 it scores about 0.90
(``benchmarks/results/quality-old-defaults.md`` and ``quality.md``).

========  =================================================================================
auto      the checkpoint's own: what a sentence-transformers pooling config says (mean or
          cls), else the model class's own (BERT, ALBERT: pooler; the others: cls)
cls       the [CLS] (first) token's last hidden state
mean      the mean of the last hidden states over the attention mask
pooler    BERT's pooled [CLS] (dense + tanh)
========  =================================================================================

The head layers after the vector stay the Hugging Face model's own (dropout and
``classifier``; DistilBERT: ``pre_classifier`` first; RoBERTa-style: the whole
``classifier`` head; DeBERTa-v2: its ``pooler`` first), so ``save_pretrained`` writes every
trained weight and the export runs the same graph.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable, Optional

from tfft.errors import TfftError

POOLINGS = ("auto", "cls", "mean", "pooler")


@dataclasses.dataclass(frozen=True)
class SentenceHead:
    """Where a sequence classifier's vector comes from and what reads it.

    Attributes:
        main: The encoder layer (``hf_model.bert``, ``hf_model.distilbert``, ...).
        native: The pooling the model class applies itself (``pooler`` or ``cls``).
        layers: The head layers after the vector, in order.
    """

    main: Any
    native: str
    layers: tuple[Any, ...]


class FirstToken:
    """Calls a Hugging Face head that reads the first token of ``[batch, seq, hidden]`` states
    (RoBERTa's ``classifier``, DeBERTa-v2's ``pooler``) on a ``[batch, hidden]`` vector: the
    same layer, so the same weights."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def __call__(self, vector: Any, training: Any = None) -> Any:
        return self.layer(vector[:, None, :], training=training)


def sentence_head(hf_model: Any) -> SentenceHead:
    """The encoder, native pooling and head layers of a Hugging Face sequence classifier.

    Raises:
        TfftError: the model's head is not one of the known layouts (:mod:`tfft.models.families`).
    """
    from tfft.models import families

    main = getattr(hf_model, getattr(hf_model, "base_model_prefix", ""), None)
    family = families.family_of(hf_model)
    layout = family.head if family is not None else None
    if main is not None and (layout == families.PRE_CLASSIFIER or layout is None
                             and getattr(hf_model, "pre_classifier", None) is not None):
        return SentenceHead(main, "cls", (hf_model.pre_classifier, hf_model.dropout, hf_model.classifier))
    if main is not None and layout == families.FIRST_TOKEN_HEAD:
        return SentenceHead(main, "cls", (FirstToken(hf_model.classifier),))
    if main is not None and layout == families.CONTEXT_POOLER:
        return SentenceHead(main, "cls", (FirstToken(hf_model.pooler), hf_model.dropout, hf_model.classifier))
    if main is not None and layout in (families.POOLER, None) and getattr(main, "pooler", None) is not None \
            and hasattr(hf_model, "classifier"):
        return SentenceHead(main, "pooler", (hf_model.dropout, hf_model.classifier))
    raise TfftError(f"--pooling and --cache_features know the classifier heads of the "
                    f"{', '.join(families.sentence_level_types())} families; {type(hf_model).__name__} has another "
                    "head. Leave --pooling at auto and drop --cache_features.")


def checkpoint_pooling(model_dir: str) -> Optional[str]:
    """``mean`` or ``cls`` when ``model_dir`` is a sentence-transformers checkpoint that says so, else None."""
    try:
        with open(os.path.join(model_dir, "modules.json"), encoding="utf-8") as f:
            modules = json.load(f)
        entry = next(m for m in modules if str(m.get("type", "")).endswith(".Pooling"))
        with open(os.path.join(model_dir, entry.get("path", ""), "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError, StopIteration, AttributeError, TypeError):
        return None
    if config.get("pooling_mode_mean_tokens") or config.get("pooling_mode_mean_sqrt_len_tokens"):
        return "mean"
    return "cls" if config.get("pooling_mode_cls_token") else None


def choose(requested: str, model_dir: str, hf_model: Any, saved: Optional[str] = None) -> str:
    """The pooling a run uses: a trained model's own, else ``requested`` (``auto``: the
    checkpoint's, else the model class's). ``model`` names the own vector of a classifier
    whose layout tfft does not know (it is then called as it is).

    Raises:
        TfftError: ``requested`` differs from what the model was trained with, asks for a
            pooler the model does not have, or needs a head layout the model lacks.
    """
    if saved:
        if requested not in ("auto", saved):
            raise TfftError(f"--pooling={requested}, but model '{model_dir}' was trained with --pooling={saved}; "
                            f"pass --pooling={saved} (or leave it at auto).")
        return saved
    if requested == "auto":
        try:
            native = sentence_head(hf_model).native
        except TfftError:
            return "model"
        return checkpoint_pooling(model_dir) or native
    if requested == "pooler" and sentence_head(hf_model).native != "pooler":
        raise TfftError(f"--pooling=pooler needs a model with a pooler layer (BERT-style); model '{model_dir}' has "
                        "none. Pass --pooling=cls or mean.")
    return requested


def pool(outputs: Any, attention_mask: Any, pooling: str) -> Any:
    """The ``[batch, hidden]`` vector of encoder ``outputs`` (float32 for ``mean``)."""
    import tensorflow as tf

    if pooling == "pooler":
        return outputs[1]
    hidden = outputs[0]
    if pooling == "cls":
        return hidden[:, 0]
    mask = tf.cast(attention_mask, tf.float32)[:, :, None]
    total = tf.reduce_sum(tf.cast(hidden, tf.float32) * mask, axis=1)
    return total / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


def forward(hf_model: Any, pooling: str) -> Optional[Callable[[dict[str, Any]], dict[str, Any]]]:
    """``inputs -> {"logits": ...}`` through ``pooling`` and the model's head layers, or None
    when ``pooling`` is what the model class does itself (its own call is used then)."""
    if pooling == "model":
        return None
    head = sentence_head(hf_model)
    if pooling == head.native:
        return None

    def logits(inputs: dict[str, Any]) -> dict[str, Any]:
        x = pool(head.main(dict(inputs)), inputs["attention_mask"], pooling)
        for layer in head.layers:
            x = layer(x)
        return {"logits": x}

    return logits


def unused_weights(hf_model: Any, pooling: Optional[str]) -> list[Any]:
    """Weights the head never reads with ``pooling`` (a BERT pooler under cls or mean): kept
    fixed so the optimizer neither updates them nor warns that they get no gradient."""
    if pooling in (None, "pooler", "model"):
        return []
    pooler = getattr(getattr(hf_model, getattr(hf_model, "base_model_prefix", ""), None), "pooler", None)
    return list(pooler.weights) if pooler is not None else []
