"""``python -m benchmarks.quality [--quick] [--only sentiment,emotions,squad,t5] [--out DIR]``

Fine-tunes each task family on real human-labelled data beside simple baselines on the
same splits and writes ``quality.json`` and ``quality.md`` (``quick-`` prefixed with
``--quick``, which runs every step on a few hundred examples to test the harness).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable

import pandas as pd

import tfft  # noqa: F401  (before TensorFlow: the Keras 2 API)
from benchmarks.quality import baselines, data, report, runs

FAMILIES = ("sentiment", "emotions", "squad", "t5")


def _frames(files: dict[str, str]) -> dict[str, pd.DataFrame]:
    return {s: pd.read_csv(p, keep_default_na=False) for s, p in files.items()}


def _squad_frame(path: str) -> pd.DataFrame:
    from tfft.data.squad import flatten_squad

    with open(path, encoding="utf-8") as f:
        return pd.DataFrame(flatten_squad(json.load(f)["data"]))


def _sizes(frames: dict[str, pd.DataFrame]) -> str:
    return " / ".join(f"{len(f):,} {s}" for s, f in frames.items())


def sentiment(quick: bool) -> dict[str, dict[str, Any]]:
    """One entry per sentiment set: its sizes, baseline and runs."""
    out = {}
    for name in data.SENTIMENT_SETS[:1] if quick else data.SENTIMENT_SETS:
        frames = _frames(data.sentiment(name, quick))
        out[f"sentiment-{name}"] = {"family": "sentiment", "sizes": _sizes(frames),
                                    "baselines": {"tfidf_logreg": baselines.tfidf_classifier(frames)},
                                    "runs": runs.sentiment_runs(name, quick)}
    return out


def emotions(quick: bool) -> dict[str, dict[str, Any]]:
    files, labels = data.emotions(quick)
    frames = _frames(files)
    return {"semeval2018-ec": {"family": "emotions", "sizes": _sizes(frames),
                               "baselines": {"tfidf_ovr_logreg": baselines.tfidf_multilabel(frames, "Tweet", labels)},
                               "runs": runs.emotion_runs(quick)}}


def squad(quick: bool) -> dict[str, dict[str, Any]]:
    files = data.squad(quick)
    frames = {s: _squad_frame(p) for s, p in files.items()}
    return {"squad2-excerpt": {"family": "squad", "sizes": _sizes(frames) + " questions",
                               "baselines": baselines.squad_baselines(frames["test"]),
                               "runs": runs.squad_runs(quick)}}


def t5(quick: bool) -> dict[str, dict[str, Any]]:
    frames = _frames(data.t5_rows(quick))
    test = frames["test"].assign(id=[str(i) for i in range(len(frames["test"]))],
                                 answers=[{"text": [a]} for a in frames["test"]["text"]])
    window = baselines.squad_baselines(test)["sliding_window"]
    return {"squad2-excerpt-t5": {"family": "t5", "sizes": _sizes(frames) + " answerable questions",
                                  "baselines": {"sliding_window": window}, "runs": runs.t5_runs(quick)}}


BUILDERS: dict[str, Callable[[bool], dict[str, dict[str, Any]]]] = {
    "sentiment": sentiment, "emotions": emotions, "squad": squad, "t5": t5}


def machine() -> dict[str, Any]:
    """The machine's description, and its load average when the run started."""
    from benchmarks.harness import machine as describe
    from tfft import _env

    _env.quiet_libraries()
    _env.import_tensorflow_quietly()
    info = describe()
    load = os.getloadavg()[0]
    info["load"] = f"load average {load:.1f} at start on {os.cpu_count()} cores"
    return info


def main(argv: list[str]) -> int:
    """Runs the chosen families and writes the result files."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred examples: tests the harness")
    parser.add_argument("--only", default="", help=f"comma-separated families of {', '.join(FAMILIES)}")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(__file__)), "results"))
    args = parser.parse_args(argv)
    chosen = [f for f in args.only.split(",") if f] or list(FAMILIES)
    unknown = sorted(set(chosen) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown family(ies) {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    prefix = "quick-" if args.quick else ""
    path = os.path.join(args.out, f"{prefix}quality.json")
    previous = _read(path) if args.only else {}
    families = dict(previous.get("families", {}))
    skipped = {k: v for k, v in previous.get("skipped", {}).items() if k not in chosen}
    info = machine()
    for family in chosen:
        print(f"-- {family}", flush=True)
        try:
            built = BUILDERS[family](args.quick)
        except data.DataUnavailable as err:
            print(f"   skipped: {err}", flush=True)
            skipped[family] = str(err)
            continue
        for key, entry in built.items():
            start = time.perf_counter()
            entry["runs"] = [runs.execute(run, data.cache_root()) for run in entry["runs"]]
            entry["measured"] = info["date"]
            families[key] = entry
            print(f"   {key}: {time.perf_counter() - start:.0f} s", flush=True)
    result = {"machine": info, "quick": args.quick, "families": families, "skipped": skipped,
              "targets": report.targets(families)}
    _write(path, json.dumps(result, indent=2))
    _write(path[:-len(".json")] + ".md", report.markdown(result))
    print(f"wrote {path} and {path[:-len('.json')]}.md")
    return 0


def _read(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
