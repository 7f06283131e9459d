"""Run directories and export destinations: checked before anything is written, in every mode;
a completed run is not trained again; checkpoints are deleted when a run completes unless kept."""

from __future__ import annotations

import os
import sys

import pytest

from tfft.errors import TfftError

LABELS = ("negative", "positive")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")


def _run(cfg):
    from tfft.dispatch import run

    return run(cfg)


@linux
@pytest.mark.parametrize("mode", ["train", "evaluate", "export"])
def test_an_output_dir_that_cannot_be_created_says_so_and_why_in_every_mode(tiny_config, tmp_path, mode):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(TfftError, match=r"--output_dir '/proc/tfft-run' cannot be created in '/proc' "
                                        r"\(No such file or directory\)"):
        _run(tiny_config(mode=mode, label_names=LABELS, output_dir="/proc/tfft-run"))
    with pytest.raises(TfftError, match=r"--output_dir '.*a_file/run' cannot be created: '.*a_file' is a file"):
        _run(tiny_config(mode=mode, label_names=LABELS, output_dir=str(tmp_path / "a_file" / "run")))


@pytest.mark.slow
def test_a_bad_export_dir_in_export_mode_writes_nothing_and_the_corrected_retry_runs(tiny_config, tmp_path):
    (tmp_path / "a_file").write_text("x")
    bad = tiny_config(mode="export", label_names=LABELS, export_dir=str(tmp_path / "a_file" / "exports"))
    with pytest.raises(TfftError, match=r"--export_dir '.*a_file/exports/classification' cannot be created: "
                                        r"'.*a_file' is a file"):
        _run(bad)
    assert not os.path.exists(bad.output_dir)
    results = _run(bad.replace(export_dir=str(tmp_path / "exports")))
    assert results["export"] == str(tmp_path / "exports" / "classification" / "1")


def test_checking_a_destination_leaves_nothing_behind(tmp_path):
    from tfft import preflight

    preflight.check_writable_dir("output_dir", str(tmp_path / "a" / "b" / "run"))
    preflight.check_writable_dir("output_dir", str(tmp_path))
    assert os.listdir(tmp_path) == []


def _tree(root) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: (size, modification time)."""
    files = [os.path.join(parent, n) for parent, _, names in os.walk(root) for n in names]
    return {os.path.relpath(f, root): (os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files}


@pytest.mark.slow
def test_a_completed_run_is_not_trained_again_unless_overwrite_output_dir_moves_it_aside(tiny_config, tmp_path,
                                                                                        capsys):
    from tfft.runner import train

    cfg = tiny_config(max_train_samples=64)
    first = _run(cfg)
    out = capsys.readouterr().out
    checkpoints = os.path.join(cfg.output_dir, "checkpoints")
    assert not os.path.exists(checkpoints)  # deleted once model/, the export and results.json were written
    assert first["checkpoints"]["kept"] == [] and first["checkpoints"]["bytes"] > 0
    assert "checkpoints: deleted (" in out and "--keep_checkpoints_at_end keeps them" in out
    before = _tree(tmp_path)

    again = _run(cfg)
    results = os.path.join(cfg.output_dir, "results.json")
    assert capsys.readouterr().out == (f"Run in {cfg.output_dir} is already complete (results: {results}, export: "
                                       f"{first['export']}); pass --overwrite_output_dir to train again.\n")
    assert _tree(tmp_path) == before and again["export"] == first["export"]
    with pytest.raises(TfftError, match="holds a completed run of this config; pass --overwrite_output_dir"):
        train(cfg)  # the mode alone, without tfft.run's check, refuses it too
    assert _tree(tmp_path) == before

    fresh = _run(cfg.replace(overwrite_output_dir=True))
    assert fresh["resumed_from_step"] is None and fresh["train_steps"] == first["train_steps"]
    assert fresh["export"] == os.path.join(cfg.export_dir, "classification", "2")
    aside = [p for p in os.listdir(tmp_path) if p.startswith("run.replaced-")]
    assert len(aside) == 1
    assert {k: v for k, v in before.items() if k.startswith("run" + os.sep)} == {
        os.path.join("run", k): v for k, v in _tree(tmp_path / aside[0]).items()}  # moved whole, not rewritten


@pytest.mark.slow
def test_keep_checkpoints_at_end_keeps_the_last_checkpoints_and_says_so(tiny_config, capsys):
    cfg = tiny_config(max_train_samples=64, keep_checkpoints_at_end=True, save_steps=1)
    results = _run(cfg)
    steps = results["train_steps"]
    kept = [f"ckpt-{steps - 1}", f"ckpt-{steps}"]  # --keep_checkpoints=2
    directory = os.path.join(cfg.output_dir, "checkpoints")
    assert results["checkpoints"]["kept"] == kept
    assert {n.split(".")[0] for n in os.listdir(directory) if n.startswith("ckpt-")} == set(kept)
    assert f"checkpoints: kept {', '.join(kept)} in {directory} (" in capsys.readouterr().out


@pytest.mark.slow
def test_a_run_whose_export_fails_keeps_its_checkpoints_and_a_rerun_resumes_and_completes(tiny_config,
                                                                                         monkeypatch):
    import tensorflow as tf

    from tfft.serving import saved_model

    cfg = tiny_config(max_train_samples=64)

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(saved_model, "export_run", broken)
    with pytest.raises(OSError, match="disk full"):
        _run(cfg)
    directory = os.path.join(cfg.output_dir, "checkpoints")
    assert tf.train.latest_checkpoint(directory) is not None
    assert not os.path.exists(os.path.join(cfg.output_dir, "results.json"))
    monkeypatch.undo()
    results = _run(cfg)
    assert results["resumed_from_step"] == results["train_steps"]  # trained nothing twice
    assert os.path.isdir(results["export"]) and not os.path.exists(directory)
