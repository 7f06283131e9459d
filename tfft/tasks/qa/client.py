"""Client side of an exported QA model: questions and contexts in, answers out.

The SavedModel's ``serve_ids`` maps token windows to start/end logits; this module does
the two halves around it in Python (``serving_default`` does all of it in the graph, see
:mod:`tfft.tasks.qa.graph`), with the tokenizer and settings the export carries in
``assets/`` (the same windowing and decoding tfft uses in training and predict)::

    client = QAClient("saved_models/squad/1")
    inputs, windows = client.encode(["Who founded Brenford?"], [long_context])
    outputs = serve_ids(**{k: tf.constant(v) for k, v in inputs.items()})   # TF Serving or tf.saved_model
    client.answers(outputs["start_logits"], outputs["end_logits"], windows)
    # [{"answer": "Ada Weber", "probability": 0.93, "start": 17, "end": 26, ...}]

Unlike ``serving_default`` it also returns each answer's ``probability`` and n-best list.
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tfft.data.features import Features
from tfft.tasks.base import TaskInfo
from tfft.tasks.qa.task import decode_options
from tfft.tasks.qa.decode import decode
from tfft.tasks.qa.features import dense_inputs, window_features


class QAClient:
    """Windows and answers for one exported QA model version."""

    def __init__(self, export_path: str) -> None:
        """Args:
            export_path: A version directory, ``<export_dir>/<name>/<version>``.
        """
        from transformers import AutoTokenizer

        assets = os.path.join(export_path, "assets")
        with open(os.path.join(assets, "tfft.json"), encoding="utf-8") as f:
            self.info = TaskInfo.from_dict(json.load(f))
        self.tokenizer = AutoTokenizer.from_pretrained(os.path.join(assets, "tokenizer"), use_fast=True)

    def encode(self, questions: Sequence[str], contexts: Sequence[str]) -> tuple[dict[str, np.ndarray], Any]:
        """The signature's int32 inputs (one row per window, padded to the longest) and the
        windows' bookkeeping for :meth:`answers`."""
        examples = pd.DataFrame({"question": [q.lstrip() for q in questions], "context": list(contexts)})
        features = window_features(self.tokenizer, examples, self.info.max_length,
                                   int(self.info.extras["doc_stride"]))
        return dense_inputs(features, self.tokenizer.pad_token_id or 0), (features, examples)

    def answers(self, start_logits: Any, end_logits: Any, windows: tuple[Features, pd.DataFrame]) -> list[dict[str, Any]]:
        """One answer per question from the signature's outputs (arrays or tensors)."""
        features, examples = windows
        span_logits = np.stack([np.asarray(start_logits), np.asarray(end_logits)], axis=1)
        return decode(span_logits, features, examples["context"].tolist(), decode_options(self.info))
