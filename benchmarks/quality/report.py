"""The quality targets, checked on the results, and the Markdown tables of ``quality.md``."""

from __future__ import annotations

from typing import Any, Iterable, Optional

# Published figures for context: full data, larger models or longer training, GPUs.
PUBLISHED = {
    "semeval2018-ec": "SpanEmo (BERT-base, full train set): micro-F1 0.713, Jaccard 0.601; best shared-task "
                      "system about 0.70 micro-F1",
    "squad2-excerpt": "SQuAD 2.0 dev F1 76.8 (BERT-base) and 75.6 (MiniLM-L6-H384), trained on the full "
                      "130k-question train set",
}
# What each family's table shows, by metric key of results.json.
COLUMNS = {
    "sentiment": ("accuracy", "f1"),
    "emotions": ("micro_f1", "macro_f1", "jaccard"),
    "squad": ("f1", "exact_match", "has_ans_f1", "no_ans_f1"),
    "t5": ("f1", "exact_match"),
}


def _run(family: dict[str, Any], variant: str) -> Optional[dict[str, Any]]:
    return next((r for r in family["runs"] if r["variant"] == variant), None)


def _target(what: str, value: Optional[float], bound: float) -> dict[str, Any]:
    return {"target": what, "value": value, "bound": bound, "met": value is not None and value >= bound - 1e-9}


def targets(families: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each quality target of the results at hand, with its value, bound and whether it is met."""
    out = []
    for key, fam in families.items():
        base = fam["baselines"]
        if fam["family"] == "sentiment":
            bow = base["tfidf_logreg"]["accuracy"]
            full = (_run(fam, "full") or {}).get("test", {}).get("accuracy")
            out.append(_target(f"{key}: full >= TF-IDF + 0.03", full, bow + 0.03))
            if _run(fam, "frozen"):
                out.append(_target(f"{key}: frozen >= TF-IDF", _run(fam, "frozen")["test"]["accuracy"], bow))
            for mode in ("adapter", "lora"):
                if _run(fam, mode) and full is not None:
                    out.append(_target(f"{key}: {mode} >= full - 0.02", _run(fam, mode)["test"]["accuracy"],
                                       full - 0.02))
        elif fam["family"] == "emotions":
            best = max((r["test"]["micro_f1"] for r in fam["runs"]), default=None)
            bow = base["tfidf_ovr_logreg"]["micro_f1"]
            out.append(_target(f"{key}: micro-F1 >= TF-IDF + 0.05", best, bow + 0.05))
            out.append(_target(f"{key}: micro-F1 >= 0.60", best, 0.60))
        elif fam["family"] == "squad":
            run = _run(fam, "full")
            f1 = run["test"].get("f1") if run else None
            has = run["test"].get("has_ans_f1") if run else None
            out.append(_target(f"{key}: F1 >= no-answer F1 + 5", f1, base["no_answer"]["f1"] + 5))
            out.append(_target(f"{key}: HasAns F1 >= sliding window + 20", has,
                               base["sliding_window"]["has_ans_f1"] + 20))
    return out


def _cells(metrics: dict[str, Any], keys: Iterable[str]) -> list[str]:
    out = []
    for k in keys:
        v = metrics.get(k)
        out.append("—" if v is None else f"{v:.1f}" if abs(v) > 1.5 else f"{v:.3f}")
    return out


def markdown(data: dict[str, Any]) -> str:
    """Tables per data set (baselines, then tfft's runs with their settings and wall time), the
    targets, and each run's command."""
    m = data["machine"]
    lines = [f"# tfft quality on real data{' (quick sizes: a test of the harness, not of the numbers)' if data['quick'] else ''}",
             "", f"{m['date']} · {m['cpu']} · {m['cores']} cores · TensorFlow {m['tensorflow']} · transformers "
             f"{m['transformers']}{' · ' + m['load'] if m.get('load') else ''}", ""]
    for key, fam in data["families"].items():
        keys = COLUMNS[fam["family"]]
        lines += [f"## {key} ({fam['sizes']})", "", "| run | " + " | ".join(keys) + " | settings | wall |",
                  "|---|" + "---|" * len(keys) + "---|---|"]
        for name, scores in fam["baselines"].items():
            lines.append(f"| baseline: {name.replace('_', ' ')} | " + " | ".join(_cells(scores, keys)) + " | "
                         + (f"C={scores['C']}" if "C" in scores else "") + " | |")
        for r in fam["runs"]:
            s = r.get("settings") or {}
            settings = ", ".join(f"{k}={v}" for k, v in s.items() if k in ("learning_rate", "epochs", "pooling",
                                                                           "cache_features"))
            lines.append(f"| tfft {r['variant']} | " + " | ".join(_cells(r["test"], keys))
                         + f" | {settings}; best epoch {r.get('best_epoch')} | {r['seconds']:.0f} s |")
        if key in PUBLISHED:
            lines += ["", f"Published, for context: {PUBLISHED[key]}."]
        lines.append("")
    lines += ["## Targets", "", "| target | value | bound | met |", "|---|---|---|---|"]
    for t in data["targets"]:
        value = "—" if t["value"] is None else f"{t['value']:.3f}"
        lines.append(f"| {t['target']} | {value} | {t['bound']:.3f} | {'yes' if t['met'] else '**no**'} |")
    lines += ["", "## Commands", ""]
    for fam in data["families"].values():
        for r in fam["runs"]:
            lines.append(f"- `{r['name']}`: `{r['command']}`")
    return "\n".join(lines) + "\n"
