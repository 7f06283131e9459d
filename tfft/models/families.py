"""The encoder families tfft knows by name: their head layout, adapter sites, LoRA targets,
feed-forward activation and tokenizer, keyed by the ``model_type`` of ``config.json``.

A model of another type still loads and trains in full; the modes that need a layer
by name (cached features, ``--pooling``, adapters, default LoRA targets) then say which
families they know. The layer names are the Hugging Face TF classes' (transformers 4.57):

==========  ===========================================================================
bert        pooler (dense + tanh on [CLS]) -> dropout -> ``classifier``
distilbert  [CLS] -> ``pre_classifier`` -> dropout -> ``classifier``
albert      as BERT (``pooler`` is one Dense); one layer's weights are shared by all layers
roberta     ``classifier``: a head on <s> (``dense`` + tanh -> ``out_proj``); no pooler
xlm-roberta as RoBERTa
electra     as RoBERTa, with GELU after ``classifier/dense``
mpnet       as RoBERTa
deberta-v2  ``pooler`` (ContextPooler: dense + GELU on [CLS]) -> dropout -> ``classifier``
t5          encoder-decoder (text-to-text tasks only)
==========  ===========================================================================
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

#: Head layouts (see :mod:`tfft.models.pooling`): where the sentence vector comes from and what reads it.
POOLER, PRE_CLASSIFIER, FIRST_TOKEN_HEAD, CONTEXT_POOLER, NO_HEAD = (
    "pooler", "pre_classifier", "first_token_head", "context_pooler", "none")

_BERT_SITES = ("/attention/output/dense", "/output/dense")  # attention output, feed-forward output


@dataclasses.dataclass(frozen=True)
class Family:
    """What tfft needs to know about one encoder family.

    Attributes:
        model_type: ``config.json``'s ``model_type``.
        head: The sequence classifier's layout (one of the head layout constants).
        adapter_sites: Path endings of the attention and feed-forward output projections.
        lora_targets: The query and value projections' layer names (LoRA's default targets).
        activation: The attribute of a feed-forward layer that holds its activation.
        tokenizer: The tokenizer's kind, as the README table names it.
        graph_code: Its TF layers trace as written, without AutoGraph (no Python branch on a
            tensor): :func:`tfft.models.wrap.skip_autograph` then spares the source rewriting.
    """

    model_type: str
    head: str
    adapter_sites: tuple[str, ...]
    lora_targets: tuple[str, str]
    activation: str
    tokenizer: str
    graph_code: bool = True


WORDPIECE, BPE, SENTENCEPIECE = "WordPiece", "byte-level BPE", "SentencePiece"

FAMILIES: dict[str, Family] = {f.model_type: f for f in (
    Family("bert", POOLER, _BERT_SITES, ("query", "value"), "intermediate_act_fn", WORDPIECE),
    Family("distilbert", PRE_CLASSIFIER, ("/attention/out_lin", "/ffn/lin2"), ("q_lin", "v_lin"), "activation",
           WORDPIECE),
    Family("roberta", FIRST_TOKEN_HEAD, _BERT_SITES, ("query", "value"), "intermediate_act_fn", BPE),
    Family("xlm-roberta", FIRST_TOKEN_HEAD, _BERT_SITES, ("query", "value"), "intermediate_act_fn", SENTENCEPIECE),
    Family("albert", POOLER, ("/attention/dense", "/ffn_output"), ("query", "value"), "activation", SENTENCEPIECE),
    Family("electra", FIRST_TOKEN_HEAD, _BERT_SITES, ("query", "value"), "intermediate_act_fn", WORDPIECE),
    Family("deberta-v2", CONTEXT_POOLER, _BERT_SITES, ("query_proj", "value_proj"), "intermediate_act_fn",
           SENTENCEPIECE, graph_code=False),  # branches on len(shape_list(mask)) need AutoGraph
    Family("mpnet", FIRST_TOKEN_HEAD, ("/attn/o", "/output/dense"), ("q", "v"), "intermediate_act_fn", WORDPIECE),
    Family("t5", NO_HEAD, ("Attention/o", "/DenseReluDense/wo"), ("q", "v"), "act", SENTENCEPIECE),
)}

#: Model types whose tokenizer the export reproduces in the graph, so ``serving_default`` takes
#: raw text (:mod:`tfft.serving.text`: WordPiece; :mod:`tfft.serving.bpe`: byte-level BPE;
#: :mod:`tfft.serving.spm_text`: ALBERT / XLM-R / DeBERTa-v2 SentencePiece;
#: :mod:`tfft.serving.sentencepiece`: T5's); others export a token-id ``serving_default``
#: (recorded in ``tfft.json``). QA windows follow each encoder's pair layout.
IN_GRAPH_TOKENIZER = ("bert", "distilbert", "electra", "mpnet", "roberta", "xlm-roberta", "albert", "deberta-v2",
                      "t5")
SERVING_NOTES: dict[str, str] = {}
#: transformers' TF auto-class mapping -> the tfft tasks it serves.
_TASK_MAPPINGS = (("TF_MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", "classification, multi-label"),
                  ("TF_MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES", "extractive QA"),
                  ("TF_MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES", "text-to-text"))


def family_of(hf_model_or_config: Any) -> Optional[Family]:
    """The :class:`Family` of a Hugging Face model or config, or None for a type tfft does not name."""
    config = getattr(hf_model_or_config, "config", hf_model_or_config)
    return FAMILIES.get(str(getattr(config, "model_type", "")))


def with_head(layout: str) -> list[str]:
    """The model types whose classifier has head ``layout``."""
    return [t for t, f in FAMILIES.items() if f.head == layout]


def sentence_level_types() -> list[str]:
    """The model types whose sequence classifier tfft can split into a vector and head layers."""
    return [t for t, f in FAMILIES.items() if f.head != NO_HEAD]


def tasks_of(model_type: str) -> list[str]:
    """The tfft task kinds transformers has a TF class of ``model_type`` for."""
    from transformers.models.auto import modeling_tf_auto

    return [tasks for mapping, tasks in _TASK_MAPPINGS if model_type in getattr(modeling_tf_auto, mapping)]


def modes_of(family: Family) -> list[str]:
    """The ``--finetune`` modes (and ``--cache_features``) tfft runs on ``family``."""
    modes = ["full"]
    if family.head != NO_HEAD:  # a T5 ties its output layer to the embeddings: nothing to train frozen
        modes += ["frozen", "cached features"]
    return modes + ["adapter", f"lora ({', '.join(family.lora_targets)})"]


def markdown_table() -> str:
    """The README's table of architectures: tasks, modes and what the export's ``serving_default`` takes."""
    rows = ["| Architecture (`model_type`) | Tasks | `--finetune` modes (LoRA's default targets) | Tokenizer "
            "| Export's `serving_default` |", "|---|---|---|---|---|"]
    for model_type, family in FAMILIES.items():
        serving = "raw text" if model_type in IN_GRAPH_TOKENIZER else "token ids"
        serving += SERVING_NOTES.get(model_type, "")
        rows.append(f"| {model_type} | {'; '.join(tasks_of(model_type))} | {', '.join(modes_of(family))} "
                    f"| {family.tokenizer} | {serving} |")
    return "\n".join(rows) + "\n"
