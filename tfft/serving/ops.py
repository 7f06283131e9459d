"""Which non-core ops each signature of an export needs, and whether TF Serving has them.

Raw-text signatures run tensorflow-text ops (tokenizers, Unicode normalisation); core
TensorFlow does not register them, so a server must link them in. The export lists them
per signature in ``assets/tfft.json`` (``"serving": {"signatures": {name: {"ops": [...]}}}``),
found by walking the SavedModel's graph from each signature's outputs through every
function it calls.

The stock ``tensorflow_model_server`` links tensorflow-text's ``ops_lib`` target
(``SUPPORTED_TENSORFLOW_OPS`` in ``tensorflow_serving/model_servers/BUILD``; TF Serving
2.21's ``workspace.bzl`` pins tensorflow-text 2.20.0). :data:`TF_SERVING_TEXT_OPS` are the
ops of that target's libraries that tfft's signatures use; an op outside it gets a
warning at export time.

Signatures with XLA-compiled parts (the T5 beam search, ``jit_compile``) are marked
``"xla": true``: TF Serving runs them on CPU only with ``--xla_cpu_compilation_enabled=true``
(an experimental server flag; tensorflow/serving#1858, #2214).
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import tensorflow as tf

#: tensorflow-text ops registered by the stock TF Serving model server (2.21), by the
#: ``ops_lib`` library that defines them: fast_wordpiece_tokenizer, normalize_ops,
#: sentencepiece_tokenizer, fast_bert_normalizer, regex_split_ops, wordpiece_tokenizer.
TF_SERVING_TEXT_OPS = frozenset({
    "FastWordpieceTokenizeWithOffsets", "FastWordpieceDetokenize",
    "NormalizeUTF8", "NormalizeUTF8WithOffsetsMap", "FindSourceOffsets",
    "SentencepieceOp", "SentencepieceTokenizeOp", "SentencepieceTokenizeWithOffsetsOp",
    "SentencepieceDetokenizeOp", "SentencepieceIdToStringOp", "SentencepieceStringToIdOp",
    "SentencepieceVocabSizeOp",
    "FastBertNormalize", "RegexSplitWithOffsets", "WordpieceTokenizeWithOffsets",
})


def signature_ops(export_path: str) -> dict[str, list[str]]:
    """Op types each signature of the SavedModel at ``export_path`` reaches beyond core TensorFlow
    (``tf.raw_ops``), sorted. XLA's own ops (``Xla*``, from ``jit_compile`` functions such as
    the T5 beam search) belong to TensorFlow's runtime and are reported by :func:`uses_xla`."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(export_path, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    graph = saved.meta_graphs[0].graph_def
    functions = {fn.signature.name: fn for fn in graph.library.function}
    nodes = {node.name: node for node in graph.node}
    core = set(dir(tf.raw_ops))
    result = {}
    for name, signature in saved.meta_graphs[0].signature_def.items():
        if name.startswith("__"):  # TF's own (__saved_model_init_op)
            continue
        roots = [nodes[t.name.split(":")[0]] for t in signature.outputs.values() if t.name.split(":")[0] in nodes]
        result[name] = sorted(op for op in _reachable_ops(roots, functions) if op not in core)
    return result


def split_xla(ops: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, bool]]:
    """(non-core ops without XLA's, whether each signature runs XLA-compiled code)."""
    return ({name: [op for op in used if not op.startswith("Xla")] for name, used in ops.items()},
            {name: any(op.startswith("Xla") for op in used) for name, used in ops.items()})


def _reachable_ops(roots: Iterable[Any], functions: dict[str, Any]) -> set[str]:
    ops: set[str] = set()
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        ops.add(node.op)
        for value in node.attr.values():
            called = [value.func.name] if value.HasField("func") else [f.name for f in value.list.func]
            for fn in called:
                if fn in functions and fn not in seen:
                    seen.add(fn)
                    stack.extend(functions[fn].node_def)
        if node.op in functions and node.op not in seen:  # a function called as an op
            seen.add(node.op)
            stack.extend(functions[node.op].node_def)
    return ops


def missing_in_tf_serving(ops: dict[str, list[str]]) -> dict[str, list[str]]:
    """Per signature, the ops the stock TF Serving model server does not register."""
    return {name: [op for op in used if op not in TF_SERVING_TEXT_OPS] for name, used in ops.items()
            if any(op not in TF_SERVING_TEXT_OPS for op in used)}
