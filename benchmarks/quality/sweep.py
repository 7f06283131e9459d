"""``python -m benchmarks.quality.sweep [--modes full,frozen,...] [--sets imdb,yelp,amazon]``

The measurements behind each ``--finetune`` mode's default learning rate: the mode's run
on every sentiment set at each learning rate of its grid, everything else at tfft's
defaults. The learning rate with the best mean validation accuracy over the sets is the
mode's default (test accuracy is reported beside it, never used to choose). Writes
``quality-sweep.json`` and ``quality-sweep.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any

import tfft  # noqa: F401  (before TensorFlow: the Keras 2 API)
from benchmarks.quality import data, runs
from benchmarks.quality.__main__ import _write, machine

GRID = {"full": (2e-5, 5e-5, 1e-4), "frozen": (5e-4, 2e-3, 1e-2), "adapter": (2e-4, 5e-4, 2e-3),
        "lora": (2e-4, 5e-4, 2e-3)}


def sweep(modes: list[str], sets: list[str]) -> list[dict[str, Any]]:
    """One row per (mode, learning rate): validation and test accuracy per set, their means."""
    rows = []
    for mode in modes:
        for lr in GRID[mode]:
            row: dict[str, Any] = {"mode": mode, "learning_rate": lr, "sets": {}}
            for name in sets:
                run = next(r for r in runs.sentiment_runs(name, quick=False) if r.variant == mode)
                run.variant = f"{mode} lr {lr:g}"
                run.flags.append(f"--learning_rate={lr:g}")
                result = runs.execute(run, os.path.join(data.cache_root(), "sweep"))
                row["sets"][name] = {"validation": result["validation"]["accuracy"],
                                     "test": result["test"]["accuracy"], "seconds": result["seconds"],
                                     "epochs": (result["settings"] or {}).get("epochs"),
                                     "best_epoch": result["best_epoch"]}
            for split in ("validation", "test"):
                row[f"mean_{split}"] = statistics.mean(s[split] for s in row["sets"].values())
            print(f"   {mode} lr {lr:g}: validation {row['mean_validation']:.3f}, test {row['mean_test']:.3f}",
                  flush=True)
            rows.append(row)
    return rows


def markdown(result: dict[str, Any]) -> str:
    """The sweep as a table, the chosen learning rate of each mode in bold."""
    m = result["machine"]
    lines = ["# Learning rate per fine-tuning mode, on the sentiment sets", "",
             f"{m['date']} · {m['cpu']} · {m['cores']} cores · {m.get('load', '')}", "",
             "Mean validation accuracy over the sets picks each mode's default (bold); test accuracy beside it.", "",
             "| mode | learning rate | " + " | ".join(f"{s} val / test" for s in result["sets"])
             + " | mean val | mean test |", "|---|---|" + "---|" * (len(result["sets"]) + 2)]
    for row in result["rows"]:
        chosen = result["chosen"].get(row["mode"]) == row["learning_rate"]
        cells = [f"{row['sets'][s]['validation']:.3f} / {row['sets'][s]['test']:.3f}" for s in result["sets"]]
        lr = f"**{row['learning_rate']:g}**" if chosen else f"{row['learning_rate']:g}"
        lines.append(f"| {row['mode']} | {lr} | " + " | ".join(cells)
                     + f" | {row['mean_validation']:.3f} | {row['mean_test']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Runs the grid and writes the result files."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(GRID))
    parser.add_argument("--sets", default=",".join(data.SENTIMENT_SETS))
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(__file__)), "results"))
    args = parser.parse_args(argv)
    modes, sets = args.modes.split(","), args.sets.split(",")
    info = machine()
    rows = sweep(modes, sets)
    chosen = {mode: max((r for r in rows if r["mode"] == mode), key=lambda r: r["mean_validation"])["learning_rate"]
              for mode in modes}
    result = {"machine": info, "sets": sets, "rows": rows, "chosen": chosen}
    path = os.path.join(args.out, "quality-sweep.json")
    _write(path, json.dumps(result, indent=2))
    _write(path[:-len(".json")] + ".md", markdown(result))
    print(f"chosen: {chosen}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
