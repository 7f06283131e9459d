"""Bad input a new user hits, each refused in one line or noted (issue 22): label names
that do not fit integer labels, empty label cells, other CSV delimiters, duplicated
columns, a huge text cell, a model without its tokenizer, empty and over-long predict texts."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from conftest import keyword_rows, write_csv
from tfft.data import readers
from tfft.data.prepare import prepare
from tfft.errors import TfftError


def _int_rows(n: int = 40) -> list[tuple[str, int]]:
    return [(t, 1 if label == "positive" else 0) for t, label in keyword_rows(n, 4)]


def _train_only(tiny_config, path, **overrides):
    return tiny_config(train_file=path, validation_file=None, test_file=None, **overrides)


# -- 1. --label_names and integer labels -------------------------------------------------
def test_label_names_unused_by_integer_labels_give_a_printed_warning(tiny_config, tmp_path, capsys):
    from tfft import console

    path = write_csv(str(tmp_path / "t.csv"), _int_rows())
    prepared = prepare(_train_only(tiny_config, path, label_names=("neg", "neu", "pos")))
    warnings = [n for n in prepared.notes if n.startswith("warning: ")]
    assert len(warnings) == 1 and "label pos (id 2) of 3 label names" in warnings[0], prepared.notes
    assert "the column holds 0, 1" in warnings[0]
    console.data_summary(prepared)
    assert "Warning: no train example has label pos (id 2)" in capsys.readouterr().out


def test_integer_labels_outside_the_class_ids_are_one_error_quoting_the_column(tiny_config, tmp_path):
    rows = _int_rows() + [("a great film", 2)]
    path = write_csv(str(tmp_path / "t.csv"), rows)
    with pytest.raises(TfftError, match=r"integer labels 2 in column 'label' that are not class ids of "
                                        r"--label_names \(neg, pos: ids 0 to 1\); the column holds 0, 1, 2\.") as err:
        prepare(_train_only(tiny_config, path, label_names=("neg", "pos")))
    assert "\n" not in str(err.value)


def test_a_single_label_name_says_what_the_column_holds(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "t.csv"), _int_rows())
    with pytest.raises(TfftError, match=r"--label_names gives \['neg'\]; column 'label' holds 0, 1\."):
        prepare(_train_only(tiny_config, path, label_names=("neg",)))


def test_labels_outside_the_label_set_quote_what_the_column_holds(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "v.csv"), [("great film", "positive"), ("meh", "neutral")])
    with pytest.raises(TfftError, match=r"the column holds neutral, positive\)"):
        prepare(tiny_config(validation_file=path))


# -- 2. empty label cells ----------------------------------------------------------------
def _with_blank_labels(tmp_path):
    rows = [(t, label) for t, label in keyword_rows(40, 6)]
    for i in (2, 9, 30):
        rows[i] = (rows[i][0], "")
    return write_csv(str(tmp_path / "t.csv"), rows)


def test_empty_label_cells_are_reported_by_file_line_with_the_fix(tiny_config, tmp_path):
    path = _with_blank_labels(tmp_path)
    # rows 2, 9, 30 (0-based data rows) are file lines 4, 11, 32 under the header (line 1)
    with pytest.raises(TfftError, match=r"The train data has 3 rows with an empty label in column 'label' "
                                        r"\(lines 4, 11, 32 of the file, the header being line 1\); fill them "
                                        r"in, or pass --drop_unlabeled"):
        prepare(_train_only(tiny_config, path))


def test_drop_unlabeled_drops_and_counts_the_rows(tiny_config, tmp_path):
    path = _with_blank_labels(tmp_path)
    prepared = prepare(_train_only(tiny_config, path, drop_unlabeled=True, validation_split=0.0))
    assert "train: dropped 3 rows with an empty 'label' (--drop_unlabeled)" in prepared.notes
    assert len(prepared.examples["train"]) == 37 and set(prepared.examples["train"]["label"]) == {0, 1}


# -- 3. delimiters -----------------------------------------------------------------------
def _write(path, text: str) -> str:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return str(path)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_csv_with_another_delimiter_is_sniffed(tmp_path, sep):
    lines = [f"text{sep}label{sep}id"] + [f"a film, it was great{sep}pos{sep}{i}" for i in range(30)]
    frame = readers.read_table(_write(tmp_path / "d.csv", "\n".join(lines) + "\n"))
    assert list(frame.columns) == ["text", "label", "id"] and frame["text"][0] == "a film, it was great"


def test_a_comma_csv_whose_texts_hold_semicolons_stays_comma_separated(tmp_path):
    lines = ["text,label"] + [f'"one; two; three; four",pos' for _ in range(20)]
    frame = readers.read_table(_write(tmp_path / "d.csv", "\n".join(lines) + "\n"))
    assert list(frame.columns) == ["text", "label"] and frame["text"][0] == "one; two; three; four"


def test_csv_delimiter_overrides_the_sniffed_one(tmp_path):
    path = _write(tmp_path / "d.csv", "a;b,c\n1;2,3\n4;5,6\n")
    assert list(readers.read_table(path, delimiter=";").columns) == ["a", "b,c"]
    assert list(readers.read_table(path, delimiter=",").columns) == ["a;b", "c"]


def test_a_parse_error_names_the_assumed_delimiter_and_how_to_pass_another(tmp_path):
    lines = ["text,label"] + ["fine,pos"] * 15 + ["one,two,three"]
    path = _write(tmp_path / "d.csv", "\n".join(lines) + "\n")
    with pytest.raises(TfftError, match=r"could not be parsed as CSV with delimiter ',' \(sniffed from its first "
                                        r"lines\): .*line 17.*pass it \(--csv_delimiter=';'") as err:
        readers.read_table(path, "train_file")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value,expected", [("tab", "\t"), ("\\t", "\t"), (";", ";")])
def test_csv_delimiter_flag_values(tiny_config, value, expected):
    assert tiny_config(csv_delimiter=value).csv_delimiter == expected


def test_an_unknown_csv_delimiter_is_refused(tiny_config):
    with pytest.raises(TfftError, match=r"--csv_delimiter must be one of , ; \| or tab \(received ':'\)"):
        tiny_config(csv_delimiter=":")


# -- 4. duplicated columns ---------------------------------------------------------------
def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    path = _write(tmp_path / "d.csv", "text,label,text\ngood,pos,bad\n")
    with pytest.raises(TfftError, match=r"--train_file '.*d.csv' names column 'text' twice \(header: "
                                        r"text,label,text\); rename one"):
        readers.read_table(path, "train_file")
