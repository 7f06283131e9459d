"""Timing, statistics, the machine's description and the result files."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import statistics
import time
from typing import Any, Callable, Optional

LOWER_IS_BETTER = ("ms", "s", "MB")  # units whose smaller values are better


@dataclasses.dataclass
class Measure:
    """Repeated measurements of one quantity (higher is better, except times and memory)."""

    label: str
    unit: str
    values: list[float]

    @property
    def best(self) -> float:
        """The least disturbed repeat: the lowest time or memory, the highest rate."""
        return min(self.values) if self.unit in LOWER_IS_BETTER else max(self.values)

    def stats(self) -> dict[str, Any]:
        """min / median / max over the repeats."""
        return {"label": self.label, "unit": self.unit, "min": min(self.values),
                "median": statistics.median(self.values), "max": max(self.values), "best": self.best,
                "repeats": len(self.values)}


@dataclasses.dataclass
class Result:
    """One case: ``a`` against ``b`` measured in the same run.

    ``ratio`` divides the best repeat of ``a`` by the best of ``b``: this machine's host
    stalls it for seconds at a time (an epoch then takes twice as long on either side), and
    the fastest repeat is the one least disturbed. The ratio of medians is reported beside it.
    """

    name: str
    a: Measure
    b: Measure
    target: Optional[float] = None
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.a.best / self.b.best

    @property
    def ratio_of_medians(self) -> float:
        return statistics.median(self.a.values) / statistics.median(self.b.values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        met = None if self.target is None else bool(self.ratio >= self.target)
        return {"name": self.name, "a": self.a.stats(), "b": self.b.stats(), "ratio": self.ratio,
                "ratio_of_medians": self.ratio_of_medians, "target": self.target, "met": met, "notes": self.notes}


def timed(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(first: Callable[[], float], second: Callable[[], float], repeats: int) -> tuple[list[float], list[float]]:
    """Alternates two measurements ``repeats`` times so machine noise hits both alike."""
    a, b = [], []
    for _ in range(repeats):
        a.append(first())
        b.append(second())
    return a, b


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and library versions."""
    import tensorflow as tf
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        flags = open("/proc/cpuinfo", encoding="utf-8").read()
        cpu = names[0] if names else cpu
        simd = [s for s in ("avx512f", "avx512_bf16", "amx_bf16", "avx2", "fma") if f" {s} " in flags]
    except OSError:
        simd = []
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "simd": simd, "cores": os.cpu_count(), "memory_gib": round(memory, 1),
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "transformers": transformers.__version__, "date": datetime.date.today().isoformat()}


def write(results: list[Result], info: dict[str, Any], out_dir: str, quick: bool,
          keep_others: bool = False, skipped: Optional[dict[str, str]] = None) -> tuple[str, str]:
    """Writes ``latest.json`` and ``latest.md`` (``quick-`` prefixed for quick runs); returns their paths.

    ``skipped``: cases this run could not measure, each with its reason (in both files).

    With ``keep_others`` (a run of some groups only), the cases of the previous file that
    this run did not measure are kept, each marked with the date it was measured.
    """
    os.makedirs(out_dir, exist_ok=True)
    prefix = "quick-" if quick else ""
    json_path = os.path.join(out_dir, f"{prefix}latest.json")
    cases = [dict(r.to_dict(), measured=info["date"]) for r in results]
    if keep_others and os.path.exists(json_path):
        with open(json_path, encoding="utf-8") as f:
            previous = json.load(f)
        fresh = {c["name"] for c in cases}
        cases += [dict(c, measured=c.get("measured", previous["machine"]["date"]))
                  for c in previous["cases"] if c["name"] not in fresh]
    data = {"machine": info, "quick": quick, "cases": cases, "skipped": dict(skipped or {})}
    with open(json_path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(json_path + ".tmp", json_path)
    md_path = os.path.join(out_dir, f"{prefix}latest.md")
    with open(md_path + ".tmp", "w", encoding="utf-8") as f:
        f.write(markdown(data))
    os.replace(md_path + ".tmp", md_path)
    return json_path, md_path


def _fmt(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def markdown(data: dict[str, Any]) -> str:
    """The results as a Markdown table with the machine's description and per-case notes."""
    m = data["machine"]
    lines = [f"# tfft benchmarks{' (quick sizes: not representative)' if data['quick'] else ''}", "",
             f"{m['date']} · {m['cpu']} ({', '.join(m['simd'])}) · {m['cores']} cores · {m['memory_gib']} GiB · "
             f"Python {m['python']} · TensorFlow {m['tensorflow']} · transformers {m['transformers']}", "",
             "Ratio: best repeat of a over best repeat of b (the host stalls this machine at times; "
             "the fastest repeat is the least disturbed); in brackets, the ratio of medians. Best in bold.", "",
             "| case | a (min / median / max) | b (min / median / max) | ratio a/b | target | met |",
             "|---|---|---|---|---|---|"]
    for c in data["cases"]:
        cells = []
        for side in (c["a"], c["b"]):
            low, high = _fmt(side["min"]), _fmt(side["max"])
            low, high = (f"**{low}**", high) if side["unit"] in LOWER_IS_BETTER else (low, f"**{high}**")
            cells.append(f"{side['label']}: {low} / {_fmt(side['median'])} / {high} {side['unit']}")
        target = "" if c["target"] is None else f">= {c['target']:g}"
        met = "" if c["met"] is None else ("yes" if c["met"] else "**no**")
        medians = f" ({c['ratio_of_medians']:.2f})" if "ratio_of_medians" in c else ""
        when = "" if c.get("measured", m["date"]) == m["date"] else f" (measured {c['measured']})"
        lines.append(f"| `{c['name']}`{when} | {cells[0]} | {cells[1]} | {c['ratio']:.2f}{medians} | {target} | {met} |")
    for name, reason in data.get("skipped", {}).items():
        lines.append(f"| `{name}` | skipped: {reason} | | | | |")
    lines += ["", "## Notes", ""]
    for c in data["cases"]:
        for key, value in c["notes"].items():
            lines.append(f"- `{c['name']}` {key}: {value}")
    return "\n".join(lines) + "\n"


def interleaved_epochs(runs: dict[str, Callable[[int], Any]], examples: dict[str, int], repeats: int,
                       warmup: int = 1) -> dict[str, list[float]]:
    """Examples/s per epoch of several training runs, one epoch of each in turn.

    ``runs[label](epoch)`` trains one epoch. The first ``warmup`` epochs (tracing, first
    allocations) are run but not counted; alternating the runs spreads machine noise over
    all of them alike.
    """
    rates: dict[str, list[float]] = {label: [] for label in runs}
    for epoch in range(warmup + repeats):
        for label, run in runs.items():
            seconds = timed(lambda: run(epoch))
            if epoch >= warmup:
                rates[label].append(examples[label] / seconds)
    return rates


def fit_epoch(model: Any, data: Any, **kwargs: Any) -> Callable[[int], Any]:
    """A ``runs`` entry: one more Keras ``fit`` epoch of ``model`` on ``data``."""
    return lambda epoch: model.fit(data, initial_epoch=epoch, epochs=epoch + 1, verbose=0, **kwargs)
