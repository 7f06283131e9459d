"""Training through the notebook API: the tiny model learns; replicas do not change the maths."""

import numpy as np
import pytest
import tensorflow as tf

import tfft
from conftest import steps_from
from tfft.training.optimizer import WarmupLinearDecay

pytestmark = pytest.mark.slow


def test_tiny_model_learns_keyword_sentiment(tiny_config):
    cfg = tiny_config(epochs=6, learning_rate=2e-3)
    train_ds, val_ds = tfft.datasets(cfg)
    tf.keras.utils.set_random_seed(0)  # the head's initialisation, whatever earlier tests left in the global RNG
    model = tfft.build_model(cfg)
    before = tfft.evaluate(model, cfg, "test")["accuracy"]
    model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=0)
    after = tfft.evaluate(model, cfg, "test")
    assert after["accuracy"] >= 0.9, (before, after)
    predictions = tfft.predict(model, cfg, ["a wonderful superb film .", "an awful boring plot ."])
    assert [p["label"] for p in predictions] == ["positive", "negative"]
    assert all(0.5 < p["probability"] <= 1 for p in predictions)


def test_schedule_warms_up_then_decays_linearly():
    s = WarmupLinearDecay(2e-5, total_steps=100, warmup_steps=10)
    got = [float(s(step)) for step in (0, 5, 10, 55, 100, 120)]
    np.testing.assert_allclose(got, [0, 1e-5, 2e-5, 1e-5, 0, 0], atol=1e-12)


def test_mirrored_two_replicas_match_one_device_on_the_same_global_batch(tiny_config):
    # One device with batch 16 vs 2 replicas with 8 each: the same 16 examples per step.
    single = tiny_config(strategy="default", batch_size=16, length_buckets=0)
    mirrored = tiny_config(strategy="mirrored", batch_size=8, length_buckets=0)
    assert tfft.api.global_batch(mirrored, 8) == 16
    losses_1, start, weights_1 = steps_from(single)
    losses_2, _, weights_2 = steps_from(mirrored, start)
    np.testing.assert_allclose(losses_1, losses_2, rtol=1e-4, atol=1e-5)
    assert not np.allclose(start[0], weights_1[0])  # training moved the weights
    for a, b in zip(weights_1, weights_2):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("strategy,batch_size", [("default", 16), ("mirrored", 8)])
def test_fused_ops_train_like_the_model_s_own_ops(tiny_config, monkeypatch, strategy, batch_size):
    from tfft.models import fused

    monkeypatch.setattr(fused, "MIN_FEATURES", 1)  # fuse the tiny BERT's GELUs and LayerNorms too
    plain = tiny_config(strategy=strategy, batch_size=batch_size, length_buckets=0, fused_ops=False)
    losses_plain, start, weights_plain = steps_from(plain)
    losses_fused, _, weights_fused = steps_from(plain.replace(fused_ops=True), start)
    np.testing.assert_allclose(losses_fused, losses_plain, rtol=1e-5)
    assert not np.allclose(start[0], weights_plain[0])  # training moved the weights
    for a, b in zip(weights_fused, weights_plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


class _FakeModel:
    def __init__(self):
        self.weights_now, self.stop_training = 0, False

    def get_weights(self):
        return self.weights_now

    def set_weights(self, w):
        self.weights_now = w


@pytest.mark.parametrize("metric,values,best_epoch,stopped_after", [
    ("accuracy", [0.5, 0.8, 0.7, 0.6, 0.9], 1, 4),   # patience 2: stops after epoch index 3
    ("accuracy", [0.5, 0.8, 0.8, 0.8], 3, 4),        # ties: the later epoch's weights; patience still runs out
    ("loss", [0.9, 0.5, 0.7, 0.4], 3, None),          # lower is better for losses
])
def test_best_epoch_is_restored_and_patience_stops(metric, values, best_epoch, stopped_after):
    from tfft.training.callbacks import EvaluateAndKeepBest

    keeper = EvaluateAndKeepBest(None, metric, patience=2)
    model = _FakeModel()
    keeper.set_model(model)
    ran = 0
    for epoch, value in enumerate(values):
        model.weights_now = epoch
        keeper.on_epoch_end(epoch, {f"val_{metric}": value})
        ran += 1
        if model.stop_training:
            break
    keeper.on_train_end()
    assert keeper.best_epoch == best_epoch and model.weights_now == best_epoch
    assert (ran if model.stop_training else None) == stopped_after


@pytest.mark.parametrize("strategy,eval_batch_size", [("default", 16), ("mirrored", 8)])
def test_planned_evaluation_batches_give_the_fixed_batches_outputs(tiny_config, tmp_path, monkeypatch,
                                                                    strategy, eval_batch_size):
    from conftest import FILLER, write_csv
    from tfft import api
    from tfft.data.batching import BatchPlan

    rng = np.random.default_rng(0)
    rows = [(" ".join(rng.choice(FILLER, size=n)), "positive" if n % 2 else "negative")
            for n in np.minimum(rng.lognormal(np.log(8), 0.9, 40).astype(int) + 1, 60)]
    cfg = tiny_config(strategy=strategy, eval_batch_size=eval_batch_size, max_length=64,
                      validation_file=write_csv(str(tmp_path / "long_tail.csv"), rows))
    features = api.prepare(cfg).features["validation"]
    sizes = api.eval_batch_sizes(cfg, features.take(features.shortest_first()))
    assert len(sizes) > -(-len(rows) // 16) and sizes.max() <= 16  # cut finer than fixed batches, never larger
    assert int(api.eval_dataset(cfg, api.prepare(cfg), features).cardinality()) == len(sizes)
    model = tfft.build_model(cfg)
    planned = api.outputs(model, cfg, features)
    monkeypatch.setattr(BatchPlan, "eval_sizes", lambda plan, ordered: None)  # fixed batches
    fixed = api.outputs(model, cfg, features)
    assert set(planned) == set(fixed) and planned
    for name in fixed:
        np.testing.assert_allclose(planned[name], fixed[name], rtol=1e-5, atol=1e-5)


def test_every_phase_of_a_run_reports_its_progress_in_a_log(tiny_config, monkeypatch, capsys):
    from tfft import progress

    # a line at every update, however soon: what a log shows every 15 s of a long phase
    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)
    tfft.run(tiny_config())
    lines = capsys.readouterr().out.splitlines()

    def phase(label):
        return [line[len(label) + 2:] for line in lines if line.startswith(f"{label}: ")]

    # the heartbeat may add lines (0/N while the first step is traced, a count again a second on)
    steps = [line for line in phase("Epoch 1/1") if " steps (" in line and not line.startswith("0/")]
    counts = [int(line.split("/")[0]) for line in steps]
    total = int(steps[-1].split("/")[1].split()[0])
    assert counts == sorted(counts) and set(counts) == set(range(1, total + 1)), steps
    assert all(", ETA " in line and ", loss 0." in line for line in steps), steps
    assert phase("Epoch 1/1")[-1].startswith(f"{total} steps in ") and " - val_accuracy " in phase("Epoch 1/1")[-1]
    assert phase("Tokenizing train")[-1].startswith("320 examples in ")
    assert any(line.startswith("80/80 sequences (100%)") for line in phase("Scoring test"))
    assert phase("Scoring validation") and phase("Reading data") and phase("Loading the model (" + tiny_config().model + ")")
    assert "writing the SavedModel" in " ".join(phase("Exporting")) and phase("Exporting")[-1].startswith("done in")


def _kept_marks(ax):
    return [line for line in ax.get_lines() if line.get_label().startswith("kept epoch")]


def test_curves_have_whole_epochs_metric_axes_within_range_and_the_kept_epoch_marked():
    from tfft.training.figures import history_figure

    history = {"loss": [0.69, 0.31, 0.12], "accuracy": [0.6, 0.9, 1.0], "val_loss": [0.5, 0.2, 0.25],
               "val_accuracy": [0.7, 1.0, 0.95], "val_f1": [0.66, 1.0, 0.97]}
    fig = history_figure(history, best_epoch=2, metric="f1")
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    assert set(panels) == {"loss", "accuracy", "f1"}
    for name, ax in panels.items():
        low, high = ax.get_xlim()
        assert [t for t in ax.get_xticks() if low <= t <= high] == [1, 2, 3], name
        assert [list(mark.get_xdata()) for mark in _kept_marks(ax)] == [[2, 2]], name
    for name, lowest in (("accuracy", 0.6), ("f1", 0.66)):
        bottom, top = panels[name].get_ylim()
        assert 0 <= bottom < lowest and top == 1.0, (name, bottom, top)  # not 1.04: scores end at 1
    assert panels["loss"].get_ylim()[0] >= 0
    stars = [line for line in panels["f1"].get_lines() if line.get_marker() == "*"]
    assert [(list(s.get_xdata()), list(s.get_ydata())) for s in stars] == [([2], [1.0])]
    assert not any(line.get_marker() == "*" for line in panels["loss"].get_lines())


def test_seven_multilabel_panels_come_in_a_grid_each_readable():
    from tfft.training.figures import history_figure

    names = ["loss", "binary_accuracy", "micro_f1", "macro_f1", "roc_auc", "subset_accuracy", "jaccard"]
    history = {f"val_{n}" if n != "loss" else n: [0.5, 0.6] for n in names}
    fig = history_figure(history, best_epoch=1, metric="micro_f1")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    width, height = fig.get_size_inches()
    assert len(visible) == 7 and width / height < 1.5  # not one 2800 x 320 strip
    assert all(ax.get_position().width * width >= 3 for ax in visible)  # inches per panel


def test_confusion_matrix_names_classes_and_split_and_its_shares_rows_sum_to_one():
    from tfft.training.figures import confusion_figure

    fig = confusion_figure(np.array([0, 0, 0, 1, 2, 2]), np.array([0, 0, 1, 1, 2, 0]), ["neg", "neu", "pos"], "test")
    counts, shares = fig.axes
    assert fig.get_size_inches().tolist() == [9.0, 5.0]
    assert "test split: 6 examples, accuracy 0.667" in fig._suptitle.get_text()
    for ax in (counts, shares):
        assert [t.get_text() for t in ax.get_xticklabels()] == ["neg", "neu", "pos"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["neg", "neu", "pos"]
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted label", "true label")
    assert [t.get_text() for t in counts.texts] == ["2", "1", "0", "0", "1", "0", "1", "0", "1"]
    rows = np.array([float(t.get_text()) for t in shares.texts]).reshape(3, 3)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=0.011)


def test_per_label_f1_bars_stay_on_a_0_to_1_axis_with_each_label_s_support():
    from tfft.training.figures import per_label_f1_figure

    table = {"joy": {"f1": 1.0, "support": 12}, "love": {"f1": 0.25, "support": 3}}
    ax, = per_label_f1_figure(table, "validation", "40 examples, threshold 0.5").axes
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel() == "F1"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["joy\nn=12", "love\nn=3"]
    assert ax.get_title().startswith("Per-label F1, validation split\n40 examples, threshold 0.5")
    assert "macro F1 0.625" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["1.00", "0.25"]


def test_board_writes_epoch_scalars_learning_rate_and_an_escaped_text_table(tmp_path):
    from conftest import board_events
    from tfft.training.board import EpochBoard

    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=tf.keras.optimizers.AdamW(WarmupLinearDecay(1e-3, 10, 0)), loss="mse")
    board = EpochBoard(str(tmp_path))
    board.set_model(model)
    for epoch in range(2):
        board.samples = [{"input": "a | b", "prediction": "x\ny", "reference": ""}] if epoch else []
        board.on_epoch_end(epoch, {"loss": 0.5 - epoch / 10, "val_loss": 0.4, "val_f1": 0.7 + epoch / 10})
    board.close()
    events = board_events(tmp_path)
    assert events["train"]["loss"] == [(1, 0.5), (2, pytest.approx(0.4))]
    assert [step for step, _ in events["train"]["learning_rate"]] == [1, 2]
    assert events["validation"]["f1"] == [(1, pytest.approx(0.7)), (2, pytest.approx(0.8))]
    assert events["validation"]["predictions"] == [
        (2, "| input | prediction | reference |\n|---|---|---|\n| a \\| b | x y |   |")]


def test_curves_leave_the_matplotlib_backend_alone_so_notebook_plots_stay_inline(tmp_path):
    import matplotlib

    from tfft.training.figures import history_figure, plot_history

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # stands in for a notebook's inline backend: anything but Agg
    try:
        history = {"loss": [0.7, 0.4], "val_loss": [0.6, 0.5], "val_accuracy": [0.6, 0.8]}
        assert history_figure(history, best_epoch=2) is not None
        path = plot_history(history, str(tmp_path / "curves.png"), best_epoch=2)
        assert matplotlib.get_backend() == "svg"
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        matplotlib.use(before)


def test_a_run_scores_validation_once_per_epoch_and_reuses_the_kept_epoch_s_outputs(tiny_config, monkeypatch):
    from tfft.data.batching import BatchPlan
    from tfft.runner import train
    from tfft.training import inference

    calls = []
    real, real_evaluate = inference.split_outputs, tf.keras.Model.evaluate

    def counted(model, cfg, split, plan=None):
        calls.append(split)
        return real(model, cfg, split, plan)

    def keras_pass(self, *args, **kwargs):  # Keras' own validation_data pass inside fit
        calls.append("keras validation")
        return real_evaluate(self, *args, **kwargs)

    monkeypatch.setattr(inference, "split_outputs", counted)
    monkeypatch.setattr(tf.keras.Model, "evaluate", keras_pass)
    plans = []
    real_of = BatchPlan.of.__func__
    monkeypatch.setattr(BatchPlan, "of", classmethod(lambda cls, *args: plans.append(args) or real_of(cls, *args)))
    results = train(tiny_config(epochs=3, learning_rate=2e-3, score_untrained="false", tensorboard=False))
    assert len(plans) == 1  # one batch plan: the schedule's steps, every epoch and every scoring pass
    # one pass per epoch gives the loss and the task's metrics; calibration and scoring reuse the kept one
    assert calls.count("validation") == 3 and "keras validation" not in calls, calls
    assert calls.count("test") == 1, calls
    assert len(results["history"]["val_loss"]) == 3 and all(v > 0 for v in results["history"]["val_loss"])
    assert results["eval"]["accuracy"] == pytest.approx(results["history"]["val_accuracy"][results["best_epoch"] - 1])


@pytest.mark.parametrize("task", ["classification", "qa"])
def test_keras_logs_from_the_task_pass_outputs_match_keras_own_validation_pass(tiny_config, tmp_path, task):
    from qa_data import qa_rows, write_jsonl
    from tfft import api
    from tfft.training.validation import keras_logs

    cfg = tiny_config(eval_batch_size=8)  # several batches of several widths
    if task == "qa":  # two outputs' losses, per-token logits padded to the widest batch
        cfg = cfg.replace(task="qa", max_length=32, doc_stride=8, validation_split=0.2, validation_file=None,
                          test_file=None, train_file=write_jsonl(tmp_path / "qa.jsonl", qa_rows(40, 1)))
    prepared = api.prepare(cfg)
    features = prepared.features["validation"]
    model = tfft.build_model(cfg)
    val_ds = api.eval_dataset(cfg, prepared, features)
    expected = model.evaluate(val_ds, verbose=0, return_dict=True)
    got = keras_logs(model, val_ds, api.split_outputs(model, cfg, "validation"), features.shortest_first())
    assert set(got) == set(expected) and "loss" in got
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
