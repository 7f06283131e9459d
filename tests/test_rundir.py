"""Run directories and export destinations: checked before anything is written, in every mode."""

from __future__ import annotations

import os
import sys

import pytest

from tfft.errors import TfftError

LABELS = ("negative", "positive")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")


def _run(cfg):
    from tfft.runner import run

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
