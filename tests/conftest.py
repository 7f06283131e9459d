"""Shared harness: a tiny WordPiece vocabulary, a tiny BERT in save_pretrained layout, and
synthetic keyword-sentiment data, all made inside the test session.

The process gets two logical CPU devices before TensorFlow initialises, so
MirroredStrategy tests can run two replicas on one CPU.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys

import pytest

import tfft  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfft import _env

_env.import_tensorflow_quietly()  # each test worker's TensorFlow start-up lines filtered

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["great", "wonderful", "superb", "lovely", "brilliant"]
NEGATIVE = ["awful", "terrible", "boring", "dreadful", "horrible"]
FILLER = ["the", "a", "movie", "film", "plot", "actor", "scene", "story", "was", "is", "and", "very",
          "quite", "with", "music", "ending", "cast", "some", "this", "it", "of", "in", "at", "night"]
WORDS = POSITIVE + NEGATIVE + FILLER + ["."]


def write_vocab(path: str) -> str:
    """A WordPiece vocabulary: special tokens, whole words, letters and ## letters."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    with open(path, "w", encoding="utf-8") as f:
        tokens = SPECIAL + WORDS + letters + ["##" + c for c in letters]
        f.write("\n".join(dict.fromkeys(tokens)) + "\n")  # no duplicates: ids must be dense
    return path


def tiny_bert_config(vocab_size: int, max_position_embeddings: int = 64) -> "object":
    """A 2-layer BERT with hidden size 32."""
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=max_position_embeddings,
                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A randomly initialised tiny TFBertModel + fast tokenizer written with save_pretrained."""
    from transformers import BertTokenizerFast, TFBertModel

    path = str(tmp_path_factory.mktemp("tiny_bert"))
    vocab = write_vocab(os.path.join(path, "vocab.txt"))
    tokenizer = BertTokenizerFast(vocab_file=vocab, do_lower_case=True)
    tf.keras.utils.set_random_seed(0)
    model = TFBertModel(tiny_bert_config(tokenizer.vocab_size))
    model(model.dummy_inputs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def keyword_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Sentences of filler words with one sentiment keyword; the keyword decides the label."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        words = rng.choices(FILLER, k=rng.randint(4, 14))
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if positive else NEGATIVE))
        rows.append((" ".join(words) + " .", "positive" if positive else "negative"))
    rng.shuffle(rows)
    return rows


def write_csv(path: str, rows: list[tuple], header: tuple = ("text", "label")) -> str:
    """Writes rows with a header line."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture()
def keyword_files(tmp_path) -> dict[str, str]:
    """train (320) / validation (80) / test (80) CSVs of keyword sentiment."""
    return {split: write_csv(str(tmp_path / f"{split}.csv"), keyword_rows(n, seed))
            for split, n, seed in (("train", 320, 1), ("validation", 80, 2), ("test", 80, 3))}


@pytest.fixture()
def tiny_config(tiny_model_dir, keyword_files, tmp_path):
    """A factory for configs on the tiny model and keyword data; keyword arguments override."""

    def make(**overrides):
        values = dict(task="classification", model=tiny_model_dir, train_file=keyword_files["train"],
                      validation_file=keyword_files["validation"], test_file=keyword_files["test"],
                      max_length=32, batch_size=16, epochs=1, learning_rate=1e-3, warmup_ratio=0.1,
                      output_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"),
                      cache_dir=str(tmp_path / "cache"), seed=0)
        values.update(overrides)
        return tfft.Config(**values)

    return make


def export_classifier(tmp, model_dir: str, head_scale: float = 1.0) -> tuple:
    """``(config, model, version path)``: an untrained classifier on ``model_dir`` (its head's
    weights times ``head_scale``) exported as ``sentiment`` under ``tmp/exports``."""
    import tfft

    train = write_csv(str(tmp / "train.csv"), keyword_rows(40, 0))
    cfg = tfft.Config(task="classification", model=model_dir, train_file=train, max_length=32,
                      export_dir=str(tmp / "exports"), export_name="sentiment", cache_dir=str(tmp / "cache"))
    model = tfft.build_model(cfg)
    head = next(w for w in model.weights if "classifier/kernel" in w.name)
    head.assign(head * head_scale)
    return cfg, model, tfft.export(model, cfg)


def steps_from(cfg, initial_weights=None, n=3):
    """Losses, starting weights and final weights after ``n`` train steps (from
    ``initial_weights`` when given, so two configs can start alike)."""
    import tfft

    tf.keras.utils.set_random_seed(0)
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    if initial_weights is not None:
        model.set_weights(initial_weights)
    start = model.get_weights()
    losses = [model.train_on_batch(x, y, return_dict=True)["loss"] for x, y in train_ds.take(n)]
    return losses, start, model.get_weights()


def run_python(code_or_args: list[str], cwd: str = ROOT, env: dict | None = None,
               timeout: int = 1800) -> subprocess.CompletedProcess:
    """Runs ``python <args>`` in a fresh process and returns the completed process."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, *code_or_args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


EMOTION_WORDS = {"joy": ["great", "wonderful"], "love": ["lovely", "superb"], "anger": ["awful", "terrible"],
                 "sadness": ["boring", "dreadful"]}


def emotion_rows(n: int, seed: int) -> list[tuple[str, list[str]]]:
    """Texts whose keywords decide their labels: 0-2 labels each (co-occurring), ~15% none."""
    rng = random.Random(seed)
    names = list(EMOTION_WORDS)
    rows = []
    for _ in range(n):
        k = rng.choices([0, 1, 2], weights=[0.15, 0.5, 0.35])[0]
        labels = sorted(rng.sample(names, k))
        words = rng.choices(FILLER, k=rng.randint(4, 12))
        for label in labels:
            words.insert(rng.randint(0, len(words)), rng.choice(EMOTION_WORDS[label]))
        rows.append((" ".join(words) + " .", labels))
    return rows


def write_emotions(path: str, rows: list[tuple[str, list[str]]], layout: str = "columns") -> str:
    """Writes emotion rows as one 0/1 column per label, or as one column of comma-joined labels."""
    names = list(EMOTION_WORDS)
    if layout == "columns":
        table = [(f"id{i}", text, *[int(n in labels) for n in names]) for i, (text, labels) in enumerate(rows)]
        return write_csv(path, table, header=("id", "text", *names))
    table = [(f"id{i}", text, ",".join(labels)) for i, (text, labels) in enumerate(rows)]
    return write_csv(path, table, header=("id", "text", "labels"))


T5_WORDS = ["red", "blue", "green", "cat", "dog", "bird", "fish", "tree", "rock", "sun", "moon", "star", "rain",
            "snow", "wind", "lake", "hill", "road", "door", "lamp"]


def tiny_t5_config(vocab_size: int, d_model: int = 64) -> "object":
    """A 2+2-layer T5 with T5's special ids (pad 0 = decoder start, eos 1)."""
    from transformers import T5Config

    return T5Config(vocab_size=vocab_size, d_model=d_model, d_ff=2 * d_model, d_kv=d_model // 4, num_heads=4,
                    num_layers=2, num_decoder_layers=2, relative_attention_num_buckets=8, dropout_rate=0.0,
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A randomly initialised tiny T5 + a SentencePiece tokenizer over T5_WORDS, in save_pretrained layout."""
    from transformers import TFT5ForConditionalGeneration

    from tfft.models.scratch import train_unigram_tokenizer

    path = str(tmp_path_factory.mktemp("tiny_t5"))
    tokenizer = train_unigram_tokenizer([" ".join(T5_WORDS), "question: context: reverse: ."] * 3, path)
    tf.keras.utils.set_random_seed(0)
    model = TFT5ForConditionalGeneration(tiny_t5_config(len(tokenizer)))
    model(model.dummy_inputs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def arch_dirs(tmp_path_factory: pytest.TempPathFactory, tiny_t5_dir: str) -> dict[str, str]:
    """Tiny model directories of every architecture (tests/tiny_archs.py), each built once per
    session when first asked for; ``t5`` is :func:`tiny_t5_dir`."""
    from tiny_archs import TinyDirs

    return TinyDirs(lambda arch: str(tmp_path_factory.mktemp(arch)), t5=tiny_t5_dir)


def reverse_rows(n: int, seed: int, length: tuple[int, int] = (2, 4)) -> list[tuple[str, str]]:
    """(source, target) rows: a few T5_WORDS and the same words reversed."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = rng.sample(T5_WORDS, rng.randint(*length))
        rows.append((" ".join(words), " ".join(reversed(words))))
    return rows


SERVE_TEXT = """
import json, sys
import tensorflow as tf
import tensorflow_text  # the in-graph tokenizer's ops
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = serve(text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else [s.decode() for s in v.numpy().tolist()]
                  for k, v in out.items()}))
print(json.dumps(sorted(m for m in ("transformers", "tfft") if m in sys.modules)))
"""


def serve_export(path: str, texts: list[str]) -> dict:
    """The export's serving_default outputs on ``texts``, computed in a TensorFlow-only process."""
    proc = run_python(["-c", SERVE_TEXT, path, json.dumps(texts)], env={"TF_USE_LEGACY_KERAS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    *_, outputs, modules = proc.stdout.strip().splitlines()
    assert json.loads(modules) == []  # neither transformers nor tfft was needed
    return json.loads(outputs)


def board_events(log_dir) -> dict[str, dict[str, list[tuple[int, object]]]]:
    """A TensorBoard log dir read back: ``{run: {tag: [(step, value), ...]}}`` (a scalar as a
    float, a text summary as its string), from every event file of each run."""
    import glob

    import numpy as np

    found: dict[str, dict[str, list]] = {}
    for path in sorted(glob.glob(os.path.join(str(log_dir), "*", "events.out.tfevents.*"))):
        run = os.path.basename(os.path.dirname(path))
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                array = tf.make_ndarray(value.tensor)
                item = array.item().decode() if array.dtype == object else float(np.asarray(array))
                found.setdefault(run, {}).setdefault(value.tag, []).append((event.step, item))
    return found


def png_size(path) -> tuple[int, int]:
    """Width and height in pixels of a PNG that must exist and be non-empty."""
    from PIL import Image

    assert os.path.getsize(path) > 0, path
    with Image.open(path) as image:
        return image.size
