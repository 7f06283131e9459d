"""The untrained-head baseline (--score_untrained): the whole test set when cheap, a marked
sample when the whole set would cost over ~10% of the planned training, or none."""

import json
import types

import numpy as np
import pandas as pd
import pytest

import tfft
from conftest import keyword_rows, write_csv
from tfft import baseline
from tfft.data.features import Features, Ragged


def _features(lengths, example_index=None):
    return Features(inputs={"input_ids": Ragged.from_lists([[1] * n for n in lengths])}, example_index=example_index)


@pytest.mark.parametrize("mode, test_rows, want", [
    ("auto", 80, None),     # 80 x 10 tokens vs 3 x 1 epoch x 320 x 10: 8% of training, all of it
    ("auto", 2000, 96),     # 208%: the 10% budget is 96 examples
    ("auto", 200, 96),      # 21%: also 96
    ("true", 2000, None),
    ("false", 80, 0),
])
def test_auto_scores_all_of_test_only_under_a_tenth_of_the_planned_training(mode, test_rows, want):
    cfg = types.SimpleNamespace(score_untrained=mode, epochs=1)
    assert baseline.sample_size(cfg, _features([10] * 320), test_rows, _features([10] * test_rows)) == want


def test_a_sample_keeps_every_window_of_its_questions_and_renumbers_them():
    examples = pd.DataFrame({"id": ["a", "b", "c", "d"]})
    windows = _features([5, 6, 7, 8, 9, 10], example_index=np.array([0, 0, 1, 2, 2, 3]))
    picked, rows = baseline.sample(windows, examples, 2, seed=3)
    chosen = list(rows["id"])
    assert len(chosen) == 2 and chosen == sorted(chosen)
    expected = [w for w, e in enumerate([0, 0, 1, 2, 2, 3]) if examples["id"][e] in chosen]
    assert list(picked.lengths()) == [5 + w for w in expected]
    assert [chosen[i] for i in picked.example_index] == [examples["id"][[0, 0, 1, 2, 2, 3][w]] for w in expected]


@pytest.mark.slow
def test_a_large_test_set_gets_a_sampled_baseline_said_to_be_one_and_false_skips_it(tiny_config, tmp_path, capsys):
    big_test = write_csv(str(tmp_path / "big-test.csv"), keyword_rows(2000, 4))
    cfg = tiny_config(test_file=big_test, validation_file=None, validation_split=0.0)
    results = tfft.run(cfg)
    out = capsys.readouterr().out
    n = results["baseline"]["sample"]["examples"]
    assert results["baseline"]["sample"]["of"] == 2000 and 32 <= n < 400, results["baseline"]
    assert f"sample of {n:,} of 2,000 test examples" in out and f"untrained head (sample of {n:,})" in out
    assert json.load(open(f"{cfg.output_dir}/results.json"))["baseline"]["sample"]["examples"] == n
    assert 0.0 <= results["baseline"]["test"]["accuracy"] <= 1.0 and "accuracy" in results["test"]
    skipped = tfft.run(cfg.replace(score_untrained="false", overwrite_output_dir=True))
    assert "baseline" not in skipped and "untrained head" not in capsys.readouterr().out


def test_score_untrained_takes_only_auto_true_or_false(tiny_config):
    with pytest.raises(tfft.TfftError, match=r"--score_untrained must be one of auto, true, false \(received 'yes'\)"):
        tiny_config(score_untrained="yes")
