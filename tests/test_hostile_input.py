"""Hostile input: whatever the data files hold, loading ends in prepared examples and
features or in a one-line TfftError, never another exception.

Property-based (hypothesis): arbitrary Unicode, empty and 1 MB strings, quotes, embedded
newlines, a byte-order mark, mixed types in a label column, duplicated header names and
broken JSON Lines, through the reader and each task family's example preparation.
"""

from __future__ import annotations

import csv
import json
import os
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import tfft
from conftest import run_python
from tfft.data.prepare import prepare
from tfft.data.readers import read_table
from tfft.errors import TfftError

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
HUGE = "great " * (2**20 // 6)  # a 1 MB review

texts = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "\n", '"quoted, "" text"', "a\r\nb", "\ufeff",
                                                         "\x00", HUGE]))
labels = st.one_of(st.sampled_from(["positive", "negative"]), st.integers(-3, 3), st.floats(allow_nan=True),
                   st.booleans(), st.none(), st.text(max_size=8), st.lists(st.sampled_from(["joy", "love"])))


def _cell(value):
    return json.dumps(value) if isinstance(value, list) else value


def _write(tmp_path, header, rows, ext=".csv", bom=False) -> str:
    path = str(tmp_path / f"{uuid.uuid4().hex}{ext}")
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        if ext == ".jsonl":
            f.writelines(json.dumps(dict(zip(header, row))) + "\n" for row in rows)
        else:
            writer = csv.writer(f, delimiter="\t" if ext == ".tsv" else ",")
            writer.writerow(header)
            writer.writerows([[_cell(v) for v in row] for row in rows])
    return path


def _outcome(**config) -> str:
    """'ok' when the data was prepared (examples and features), else the TfftError's message."""
    try:
        cfg = tfft.Config(**config)
        prepared = prepare(cfg)
    except TfftError as err:
        message = str(err)
        assert message and "\n" not in message, message
        event(message[:50])
        return message
    assert set(prepared.features) >= {"train"} and len(prepared.features["train"]) > 0
    event("prepared")
    return "ok"


layouts = st.fixed_dictionaries({"ext": st.sampled_from([".csv", ".tsv", ".jsonl"]), "bom": st.booleans(),
                                 "duplicate_header": st.booleans()})


@SETTINGS
@given(rows=st.lists(st.tuples(texts, labels), max_size=6), layout=layouts)
def test_classification_data_is_prepared_or_refused_in_one_line(tmp_path_factory, tiny_model_dir, rows, layout):
    tmp = tmp_path_factory.mktemp("cls")
    header = ("text", "text") if layout["duplicate_header"] else ("text", "label")
    path = _write(tmp, header, rows, layout["ext"], layout["bom"] and layout["ext"] != ".jsonl")
    _outcome(task="classification", model=tiny_model_dir, train_file=path, max_length=16,
             cache_dir=str(tmp / "cache"), validation_split=0.0)


@SETTINGS
@given(rows=st.lists(st.tuples(texts, labels, labels), max_size=6), as_list=st.booleans())
def test_multilabel_data_is_prepared_or_refused_in_one_line(tmp_path_factory, tiny_model_dir, rows, as_list):
    tmp = tmp_path_factory.mktemp("ml")
    if as_list:  # one column of label lists: "joy,love", '["joy"]', or anything else
        path = _write(tmp, ("text", "labels"), [(t, a) for t, a, _ in rows])
        extra = {"label_column": "labels"}
    else:  # one 0/1 column per label
        path, extra = _write(tmp, ("text", "joy", "love"), rows), {}
    _outcome(task="multilabel", model=tiny_model_dir, train_file=path, max_length=16,
             cache_dir=str(tmp / "cache"), validation_split=0.0, **extra)


answers = st.one_of(texts, st.fixed_dictionaries({"text": st.lists(texts, max_size=2),
                                                  "answer_start": st.lists(st.integers(-2, 50), max_size=2)}))


@SETTINGS
@given(rows=st.lists(st.tuples(texts, texts, answers), max_size=5), version_2=st.booleans())
def test_qa_data_is_prepared_or_refused_in_one_line(tmp_path_factory, tiny_model_dir, rows, version_2):
    tmp = tmp_path_factory.mktemp("qa")
    rows = [(q, c, json.dumps(a) if isinstance(a, dict) else a) for q, c, a in rows]
    path = _write(tmp, ("question", "context", "answers"), rows)
    _outcome(task="squad_v2" if version_2 else "squad", model=tiny_model_dir, train_file=path, max_length=32,
             doc_stride=8, cache_dir=str(tmp / "cache"), validation_split=0.0)


@pytest.mark.slow  # the tiny T5 tokenizer needs ~7 s per 1 MB text: fewer examples, still slow
@settings(SETTINGS, max_examples=15)
@given(rows=st.lists(st.tuples(texts, labels), max_size=4), template=st.booleans())
def test_seq2seq_data_is_prepared_or_refused_in_one_line(tmp_path_factory, tiny_t5_dir, rows, template):
    tmp = tmp_path_factory.mktemp("t5")
    header = ("question", "text") if template else ("source", "target")
    path = _write(tmp, header, rows)
    task = "t5_qa" if template else "text2text"
    extra = {"input_template": "question: {question}"} if template else {}
    _outcome(task=task, model=tiny_t5_dir, train_file=path, max_length=16, max_target_length=8,
             cache_dir=str(tmp / "cache"), validation_split=0.0, **extra)


@SETTINGS
@given(content=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))),
       ext=st.sampled_from([".csv", ".tsv", ".jsonl", ".json", ".parquet"]))
def test_any_file_content_reads_as_a_table_or_one_line_error(tmp_path_factory, content, ext):
    path = str(tmp_path_factory.mktemp("raw") / f"data{ext}")
    with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(content)
    try:
        table = read_table(path, "train_file")
    except TfftError as err:
        assert "\n" not in str(err) and "--train_file" in str(err)
    else:
        assert table.shape[1] >= 0


def test_broken_json_lines_name_the_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "fine", "label": "a"}\n{"text": "broken", "label": \n')
    with pytest.raises(TfftError, match=r"--train_file '.*train.jsonl' could not be parsed as JSONL"):
        read_table(str(path), "train_file")


@pytest.mark.slow
@pytest.mark.parametrize("content,expected", [
    ('\ufefftext,text\n"a ""quoted"" review\nover two lines",1\n', "names column 'text' twice"),
    ('{"text": "fine", "label": "a"}\n{"text": "broken", "label": \n', "could not be parsed as JSONL"),
])
def test_cli_turns_hostile_files_into_one_error_line(tmp_path, tiny_model_dir, content, expected):
    name = "train.csv" if content.startswith("\ufeff") else "train.jsonl"
    (tmp_path / name).write_text(content, encoding="utf-8")
    proc = run_python(["-m", "tfft.main", "--task=classification", f"--model={tiny_model_dir}",
                       f"--train_file={tmp_path / name}", f"--output_dir={tmp_path / 'run'}",
                       f"--cache_dir={tmp_path / 'cache'}"])
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0] and "Traceback" not in proc.stderr
    assert not os.path.exists(tmp_path / "run")  # nothing written for a run that could not start
