"""SQuAD EM / F1 against values computed by hand from the official scripts' definitions."""

import pytest

from tfft.metrics.squad import best_threshold, exact_score, f1_score, normalize_answer, squad_metrics


@pytest.mark.parametrize("text,expected", [
    ("The  Cat's hat!", "cats hat"),
    ("an apple, a pear and THE plum", "apple pear and plum"),
    ("theatre", "theatre"),  # articles only as whole words
    ("  1,990 . ", "1990"),
    ("A", ""),
])
def test_normalisation_lowercases_and_drops_punctuation_articles_and_spaces(text, expected):
    assert normalize_answer(text) == expected


def test_exact_and_f1_of_single_answers():
    assert exact_score("Paris", "the paris.") == 1
    assert exact_score("Paris", "Paris, France") == 0
    # gold {big, red, dog}, predicted {red, dog, barked}: 2 shared, P = R = 2/3
    assert f1_score("the big red dog", "red dog barked") == pytest.approx(2 / 3)
    # repeated tokens count as often as both sides have them: gold {a1, a1, b}, pred {a1}
    assert f1_score("x x y", "x") == pytest.approx(2 * (1 * 1 / 3) / (1 + 1 / 3))


def test_v1_scores_take_the_best_gold_answer_and_report_percent():
    gold = {"q1": ["Paris", "City of Paris"], "q2": ["1990"], "q3": ["Denver Broncos"]}
    predictions = {"q1": "the city of paris", "q2": "in 1990", "q3": "Carolina Panthers"}
    m = squad_metrics(gold, predictions)
    # q1 exact via its second answer; q2 F1: P = 1/2, R = 1 -> 2/3; q3 nothing shared
    assert m == pytest.approx({"exact_match": 100 / 3, "f1": 100 * (1 + 2 / 3 + 0) / 3})


def test_a_missing_prediction_scores_zero():
    assert squad_metrics({"a": ["x"], "b": ["y"]}, {"a": "x"}) == pytest.approx({"exact_match": 50.0, "f1": 50.0})


def test_v2_breaks_scores_down_by_answerable_and_unanswerable():
    gold = {"a": ["Paris"], "b": [], "c": [], "d": ["red dog"]}
    predictions = {"a": "Paris", "b": "", "c": "London", "d": "dog"}
    m = squad_metrics(gold, predictions, version_2=True)
    # exact: a 1, b 1 (no answer, predicted none), c 0, d 0; F1: d is P 1, R 1/2 -> 2/3
    assert m == pytest.approx({"exact_match": 50.0, "f1": 100 * (1 + 1 + 0 + 2 / 3) / 4,
                               "has_ans_exact": 50.0, "has_ans_f1": 100 * (1 + 2 / 3) / 2,
                               "no_ans_exact": 50.0, "no_ans_f1": 50.0})


def test_v1_and_v2_differ_only_on_answers_that_normalise_to_nothing():
    # v1.1: gold "the" normalises to "" and equals the empty prediction (exact 1), but shares
    # no token (F1 0). v2.0 ignores that gold answer: the question counts as unanswerable.
    assert squad_metrics({"q": ["the"]}, {"q": ""}) == pytest.approx({"exact_match": 100.0, "f1": 0.0})
    v2 = squad_metrics({"q": ["the"]}, {"q": ""}, version_2=True)
    assert v2["exact_match"] == v2["f1"] == 100.0


def test_best_threshold_walks_questions_by_rising_no_answer_score():
    gold = {"a": ["x"], "b": [], "c": ["y"]}
    spans = {"a": "x", "b": "z", "c": "w"}
    scores = {"a": 1.0, "b": 0.0, "c": 0.0}
    # all "no answer": 1 right (b). Answer a (na -2): 2 right -> best. Then b (na 1): loses b.
    assert best_threshold(gold, spans, scores, {"a": -2.0, "b": 1.0, "c": 3.0}) == pytest.approx((200 / 3, -2.0))
    # when answering nothing is best, the threshold lies below every score
    best, threshold = best_threshold({"b": []}, {"b": "z"}, {"b": 0.0}, {"b": 0.5})
    assert best == 100.0 and threshold < 0.5


def test_v2_reports_best_scores_from_the_spans_and_no_answer_scores():
    gold = {"a": ["x"], "b": []}
    m = squad_metrics(gold, {"a": "", "b": ""}, version_2=True, no_answer_scores={"a": 0.5, "b": 2.0},
                      span_predictions={"a": "x", "b": "y"})
    assert m["exact_match"] == 50.0  # a was answered "" at threshold 0
    assert m["best_exact"] == 100.0 and 0.5 <= m["best_exact_thresh"] < 2.0
    assert m["best_f1"] == 100.0
