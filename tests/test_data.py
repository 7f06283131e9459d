"""Reading, validating and preparing examples: every bad input is one clear error."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import keyword_rows, write_csv
from tfft.data import readers
from tfft.data.prepare import prepare, split_validation
from tfft.errors import TfftError


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "json", "parquet"])
def test_every_format_reads_the_same_table(tmp_path, ext):
    frame = pd.DataFrame({"text": ["good film", "NA", "bad, \"quoted\"\nline"], "label": ["pos", "neg", "neg"]})
    path = tmp_path / f"d.{ext}"
    if ext in ("csv", "tsv"):
        frame.to_csv(path, index=False, sep="\t" if ext == "tsv" else ",")
    elif ext == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif ext == "json":
        path.write_text(json.dumps({"data": frame.to_dict("records")}))
    else:
        frame.to_parquet(path)
    got = readers.read_table(str(path))
    assert got["text"].tolist() == frame["text"].tolist()  # "NA" stays text
    assert got["label"].tolist() == frame["label"].tolist()


def test_missing_file_names_the_flag(tmp_path):
    with pytest.raises(TfftError, match=r"--train_file not found: '.*nope.csv' is not a file"):
        readers.read_table(str(tmp_path / "nope.csv"), "train_file")


def test_unsupported_extension(tmp_path):
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(TfftError, match=r"unsupported extension '.xlsx'; use one of .csv"):
        readers.read_table(str(tmp_path / "d.xlsx"))


def test_broken_json_lines_is_one_error(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "a", "label": 1}\n{"text": broken\n')
    with pytest.raises(TfftError, match="could not be parsed as JSONL"):
        readers.read_table(str(tmp_path / "d.jsonl"))


def test_missing_column_lists_the_columns_found(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "t.csv"), [("a", "pos"), ("b", "neg")], header=("review", "label"))
    with pytest.raises(TfftError, match=r"no column 'text' \(columns found: review, label\); pass --text_column"):
        prepare(tiny_config(train_file=path, validation_file=None, test_file=None))


def test_empty_dataset(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "t.csv"), [])
    with pytest.raises(TfftError, match=r"The train data is empty \(0 rows\)"):
        prepare(tiny_config(train_file=path, label_names=("negative", "positive")))


def test_empty_and_null_texts_are_dropped_and_counted(tiny_config, tmp_path):
    rows = keyword_rows(40, 5) + [("", "positive"), ("   ", "negative")]
    path = write_csv(str(tmp_path / "t.csv"), rows)
    prepared = prepare(tiny_config(train_file=path, validation_file=None, test_file=None))
    assert "train: dropped 2 rows with empty or null 'text'" in prepared.notes
    assert len(prepared.examples["train"]) + len(prepared.examples["validation"]) == 40


def test_all_texts_empty_is_an_error(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "t.csv"), [("", "positive"), (" ", "negative")])
    with pytest.raises(TfftError, match=r"no non-empty text in column 'text' \(2 rows"):
        prepare(tiny_config(train_file=path, validation_file=None, test_file=None))


def test_label_outside_the_label_set(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "v.csv"), [("great film", "positive"), ("meh", "neutral")])
    with pytest.raises(TfftError, match=r"labels outside the label set in column 'label': neutral \(label set: "
                                        r"negative, positive;"):
        prepare(tiny_config(validation_file=path))


def test_fewer_than_two_classes(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "t.csv"), [("great film", "positive"), ("superb", "positive")])
    with pytest.raises(TfftError, match=r"at least two classes.*\['positive'\]"):
        prepare(tiny_config(train_file=path, validation_file=None, test_file=None))


def test_integer_labels_map_to_names_by_id(tiny_config, tmp_path):
    path = write_csv(str(tmp_path / "t.csv"), [(t, 1 if lab == "positive" else 0) for t, lab in keyword_rows(20, 4)])
    prepared = prepare(tiny_config(train_file=path, validation_file=None, test_file=None,
                                   label_names=("neg", "pos")))
    assert prepared.info.label_names == ("neg", "pos")
    train = prepared.examples["train"]
    assert set(train["label"]) == {0, 1}
    assert all(("great" in t or "wonderful" in t or "superb" in t or "lovely" in t or "brilliant" in t) == (y == 1)
               for t, y in zip(train["text"], train["label"]))


def test_validation_split_is_stratified_and_seeded():
    train = pd.DataFrame({"text": [f"t{i}" for i in range(100)], "label": [0] * 80 + [1] * 20})
    rest, held = split_validation(train, 0.2, seed=3)
    rest2, held2 = split_validation(train, 0.2, seed=3)
    assert held["label"].sum() == 4 and len(held) == 20
    assert held["text"].tolist() == held2["text"].tolist()
    assert set(rest["text"]).isdisjoint(held["text"])


def test_features_are_cached_on_disk(tiny_config, tmp_path):
    cfg = tiny_config()
    first = prepare(cfg)
    prepare.cache_clear()
    second = prepare(cfg)
    cache = tmp_path / "cache" / "features"
    assert len(list(cache.glob("*.npz"))) == 3
    for split in ("train", "validation", "test"):
        a, b = first.features[split], second.features[split]
        assert np.array_equal(a.inputs["input_ids"].values, b.inputs["input_ids"].values)
        assert np.array_equal(a.labels, b.labels)
