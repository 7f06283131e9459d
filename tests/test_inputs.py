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


# -- 5. a huge text cell -----------------------------------------------------------------
def test_a_huge_cell_is_cut_in_characters_before_tokenizing_with_the_same_tokens(tiny_config, tmp_path):
    from tfft.data.features import CHARS_PER_TOKEN, clip_text

    huge = "a great film . " * 400_000  # 6 MB
    rows = keyword_rows(40, 7) + [(huge, "positive")]
    prepared = prepare(_train_only(tiny_config, write_csv(str(tmp_path / "t.csv"), rows), validation_split=0.0))
    kept = prepared.examples["train"]["text"]
    assert kept.str.len().max() == 32 * CHARS_PER_TOKEN  # max_length 32: the frame holds no 6 MB text
    ids = prepared.features["train"].inputs["input_ids"]
    whole = prepared.tokenizer(huge[:10_000], truncation=True, max_length=32)["input_ids"]
    assert ids.row(len(rows) - 1).tolist() == whole and len(whole) == 32
    assert clip_text("short", 32) == "short"


# -- 6. a model directory without its tokenizer ------------------------------------------
def test_a_model_directory_without_tokenizer_files_says_which_are_missing(tiny_model_dir, tmp_path):
    from tfft.models.loading import load_tokenizer

    bare = tmp_path / "model"
    bare.mkdir()
    for name in os.listdir(tiny_model_dir):
        if name in ("config.json", "tf_model.h5"):
            shutil.copy(os.path.join(tiny_model_dir, name), bare / name)
    with pytest.raises(TfftError, match=r"No tokenizer in model directory '.*model': it has none of tokenizer.json, "
                                        r"vocab.txt, .* \(found: config.json, tf_model.h5\)\. Copy the tokenizer"):
        load_tokenizer(str(bare))


# -- 8. predict notes empty and cut texts ------------------------------------------------
def test_predict_notes_an_empty_text_and_a_text_cut_at_max_length(tiny_config, capsys):
    from tfft import runner

    cfg = tiny_config(mode="predict", text=("a great film .", "", "a great film . " * 40), train_file=None,
                      validation_file=None, test_file=None, label_names=("negative", "positive"))
    predictions = runner.predict(cfg)
    lines = capsys.readouterr().out.splitlines()
    assert len(predictions) == 3
    notes = [line for line in lines if line.startswith("note: ")]
    assert notes == ["note: input 2 is empty: its prediction is the model's guess without any text",
                     "note: input 3 is longer than 32 tokens (--max_length): only its first 32 tokens were read"]
    order = [line.split()[0] for line in lines if line.split() and line.split()[0] in ("note:", "negative", "positive")]
    assert order == [order[0], order[1], "note:", order[3], "note:"] and "note:" not in order[:2]


# -- 7. Ctrl-C before training -----------------------------------------------------------
_MARKED_CLI = """
import signal, sys
# A child of a shell's background job inherits SIGINT ignored (POSIX), and Python then installs no
# handler of its own; a user's terminal run has Python's default one, so the child restores it.
signal.signal(signal.SIGINT, signal.default_int_handler)
import tfft
from tfft.data import readers
_read = readers.read_table
def read_table(*args, **kwargs):
    print("reading-started", flush=True)  # the test's cue to send SIGINT
    return _read(*args, **kwargs)
readers.read_table = read_table
from tfft.main import cli
sys.argv = ["tfft", *sys.argv[1:]]
cli()
"""


@pytest.mark.slow
def test_ctrl_c_while_reading_the_data_is_one_line_and_exit_130(tiny_model_dir, tmp_path):
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    path = write_csv(str(tmp_path / "train.csv"), keyword_rows(300_000, 8))  # seconds to read and tokenize
    args = [sys.executable, "-c", _MARKED_CLI, "--task=classification", f"--model={tiny_model_dir}",
            f"--train_file={path}", f"--output_dir={tmp_path / 'run'}", f"--cache_dir={tmp_path / 'cache'}"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    seen = []
    for line in proc.stdout:  # blocks until the child prints; no fixed sleep
        seen.append(line)
        if line.startswith("reading-started"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=900)
    assert seen and seen[-1].startswith("reading-started"), "".join(seen) + err[-2000:]
    assert proc.returncode == 130, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert errors[0].startswith("error: interrupted by Ctrl-C (SIGINT) while ")
    assert ("reading data" in errors[0] or "tokenizing" in errors[0]), errors[0]
    assert not os.path.exists(tmp_path / "run" / "results.json")


def test_cutting_cells_while_streaming_keeps_the_table_but_the_cut_cells(tmp_path):
    import io

    from tfft.data.clip import copy_cut, longest_line

    big = "é" * 50 + "x" * 100
    text = ('id;text;label\n1;"a ""quoted""; cell\nover two lines";pos\n'
            f'2;{big};neg\n3;"{big}";pos\n4;short;neg\n')
    path = _write(tmp_path / "d.csv", text)
    assert longest_line(path) == len(f'3;"{big}";pos'.encode())
    out = io.BytesIO()
    assert copy_cut(path, out, ";", 41) == 2
    out.seek(0)
    import pandas as pd

    frame = pd.read_csv(out, sep=";", dtype=object)
    assert frame["text"].tolist() == ['a "quoted"; cell\nover two lines', "é" * 20, "é" * 20, "short"]
    assert frame["label"].tolist() == ["pos", "neg", "pos", "neg"] and frame["id"].tolist() == ["1", "2", "3", "4"]


def test_read_table_cuts_a_huge_cell_only_when_asked(tmp_path):
    rows = keyword_rows(10, 9)
    rows[4] = ("word " * 200_000, "positive")  # a 1 MB line
    path = write_csv(str(tmp_path / "t.csv"), rows)
    cut = readers.read_table(path, max_cell_chars=1000)
    whole = readers.read_table(path)
    assert len(cut["text"][4]) == 4000 and len(whole["text"][4]) == 1_000_000
    assert cut.drop(index=4).equals(whole.drop(index=4)) and cut["label"].tolist() == whole["label"].tolist()


def test_a_header_read_as_one_column_suggests_the_delimiter(tiny_config, tmp_path):
    path = _write(tmp_path / "t.csv", "text;label\n" + "a great film;1\n" * 10)
    with pytest.raises(TfftError, match=r"columns found: text;label\); pass --\w+_column=<one of those>\. The "
                                        r"header looks ';'-separated: pass --csv_delimiter=';'\."):
        prepare(_train_only(tiny_config, path, csv_delimiter=","))


def test_data_rows_with_one_field_more_than_the_header_are_refused(tmp_path):
    path = _write(tmp_path / "t.csv", "text;label\n" + "a great film; loved it;1\n" * 10)
    with pytest.raises(TfftError, match=r"has one field more in its data rows than in its header \(2 columns: "
                                        r"text;label\) with delimiter ';' \(sniffed from its first lines\); quote"):
        readers.read_table(path, "train_file")


@pytest.mark.parametrize("chunk", [1, 3, 7, 2**20])
def test_the_longest_line_is_found_across_chunk_boundaries(tmp_path, monkeypatch, chunk):
    import random

    from tfft.data import clip

    monkeypatch.setattr(clip, "CHUNK", chunk)
    rng = random.Random(chunk)
    for trial in range(60):
        data = b"".join(rng.choice([b"a", b"\n", b"bb", b"\n\n", b"\xc3\xa9"]) * rng.randint(0, 3)
                        for _ in range(rng.randint(0, 40)))
        (tmp_path / "f.bin").write_bytes(data)
        assert clip.longest_line(str(tmp_path / "f.bin")) == max(len(line) for line in data.split(b"\n")), data
