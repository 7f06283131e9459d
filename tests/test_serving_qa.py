"""Extractive QA served from raw text: the graph's windows and decoding give Python's answers."""

import dataclasses
import json
import random

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import tfft
from conftest import run_python
from qa_data import QUESTION, qa_rows, write_jsonl
from tfft.tasks import get_task
from tfft.serving.text import text_encoder

SERVE_QA = """
import json, sys
import tensorflow as tf
import tensorflow_text  # the in-graph tokenizer's ops
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
rows = json.loads(sys.argv[2])
out = serve(question=tf.constant([q for q, _ in rows]), context=tf.constant([c for _, c in rows]))
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else [s.decode() for s in v.numpy().tolist()]
                  for k, v in out.items()}))
print(json.dumps(sorted(m for m in ("transformers", "tfft") if m in sys.modules)))
"""


def _corpus() -> list[tuple[str, str]]:
    """Contexts of 1 to about 12 windows of 32 tokens, accents, CJK, punctuation and odd whitespace."""
    rng = random.Random(4)
    rows = [(r["question"], r["context"]) for r in qa_rows(10, 7, words=(3, 90))]
    rows += [("Wás ít GREAT?", "Thé  plot wás\tGREAT, wonderful… and the cast was lovely!"),
             ("what is it ?", "東京 the movie 晴れ was superb 🤖 and the ending quite boring ."),
             ("", "the story was brilliant and the music awful ."),
             ("what is it ?", " ".join(rng.choices(["the", "night", "movie", "dreadful", "ÉCLAT", "naïve"], k=150)))]
    return rows


@pytest.fixture(scope="module")
def qa_model(tiny_model_dir, tmp_path_factory):
    """An untrained tiny QA model (its random logits make every span a candidate) with a v2 threshold
    that leaves about half of the corpus unanswered."""
    tmp = tmp_path_factory.mktemp("serving_qa")
    cfg = tfft.Config(task="qa", model=tiny_model_dir, train_file=write_jsonl(tmp / "train.jsonl", qa_rows(8, 1)),
                      max_length=32, doc_stride=8, version_2_with_negative=True, max_answer_length=5,
                      n_best_size=6, export_dir=str(tmp / "exports"), cache_dir=str(tmp / "cache"), seed=3)
    model = tfft.build_model(cfg)
    scores = [p["no_answer_score"] for p in _predict(model, cfg, _corpus())]
    model.info = dataclasses.replace(model.info, extras={**model.info.extras,
                                                         "null_score_diff_threshold": float(np.median(scores))})
    return cfg, model


def _predict(model, cfg, rows):
    examples = pd.DataFrame({"question": [q.lstrip() for q, _ in rows], "context": [c for _, c in rows]})
    return tfft.predict(model, cfg, examples)


def _as_served(predictions):
    return {"answer": [p["answer"] for p in predictions],
            "start": [-1 if p["start"] is None else p["start"] for p in predictions],
            "end": [-1 if p["end"] is None else p["end"] for p in predictions]}


@pytest.mark.slow
def test_the_text_export_answers_as_predict_in_a_tensorflow_only_process(qa_model):
    cfg, model = qa_model
    rows = _corpus()
    expected = _as_served(_predict(model, cfg, rows))
    assert 0 < expected["answer"].count("") < len(rows)  # both answers and "no answer" are compared
    path = tfft.export(model, cfg)
    extra = [(QUESTION, ""), ("what is it " * 20 + "?", "the scene was lovely .")]  # Python refuses the 2nd
    proc = run_python(["-c", SERVE_QA, path, json.dumps(rows + extra)], env={"TF_USE_LEGACY_KERAS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    *_, outputs, modules = proc.stdout.strip().splitlines()
    assert json.loads(modules) == []  # neither transformers nor tfft was needed
    served = json.loads(outputs)
    assert {k: served[k][:len(rows)] for k in expected} == expected
    assert (served["answer"][-2], served["start"][-2], served["end"][-2]) == ("", -1, -1)  # empty context
    for (_, context), answer, start, end in zip(rows + extra, served["answer"], served["start"], served["end"]):
        assert answer == (context[start:end] if start >= 0 else "")
    serving = json.load(open(f"{path}/assets/tfft.json"))["serving"]
    assert serving["serving_default_input"] == "text"
    assert serving["signatures"]["serving_default"]["inputs"] == ["context", "question"]
    assert {"FastWordpieceTokenizeWithOffsets", "NormalizeUTF8"} <= set(serving["signatures"]["serving_default"]["ops"])
    assert serving["signatures"]["serve_ids"]["ops"] == []  # token ids need nothing beyond core TensorFlow


def test_version_1_answers_every_question_as_predict(qa_model):
    cfg, model = qa_model
    info = dataclasses.replace(model.info, extras={**model.info.extras, "version_2_with_negative": False})
    saved, model.info = model.info, info
    try:
        rows = _corpus()[:6] + _corpus()[-5:]
        expected = _as_served(_predict(model, cfg, rows))
        serve = get_task("qa").text_signatures(model, info, text_encoder(model.tokenizer, info.max_length))
        out = serve["serving_default"](question=tf.constant([q for q, _ in rows]),
                                       context=tf.constant([c for _, c in rows]))
    finally:
        model.info = saved
    assert [a.decode() for a in out["answer"].numpy()] == expected["answer"] and "" not in expected["answer"]
    assert out["start"].numpy().tolist() == expected["start"] and out["end"].numpy().tolist() == expected["end"]
    assert out["score"].dtype == tf.float32


def test_the_text_signature_rejects_numbers(qa_model):
    _, model = qa_model
    serve = get_task("qa").text_signatures(model, model.info, text_encoder(model.tokenizer, model.info.max_length))
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        serve["serving_default"](question=tf.constant([1]), context=tf.constant([2]))
