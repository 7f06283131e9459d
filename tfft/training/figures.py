"""The run's pictures (PNG, 100 dpi, so a figure of W x H inches is 100W x 100H pixels):
training curves, and the test split's confusion matrix or per-label F1.

Figures are built by ``*_figure`` functions (testable without a file) and written by
:func:`save_figure`, whole or not at all.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional, Sequence

import numpy as np

DPI = 100


def new_figure(rows: int = 1, columns: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A plain ``matplotlib.figure.Figure`` and its axes (``subplots(rows, columns, **kwargs)``).

    Not one of pyplot's: the backend is left as it is, so a notebook's inline plots keep
    working (a figure shows as a cell's last value), and nothing needs closing.
    """
    from matplotlib.figure import Figure

    figsize = kwargs.pop("figsize", None)
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, columns, **kwargs)


def save_figure(fig: Any, path: str) -> str:
    """Writes ``fig`` to ``path`` as a PNG and closes it; returns ``path``."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}.png"  # written whole, then renamed: never half an image
    fig.savefig(tmp, dpi=DPI)
    os.replace(tmp, path)
    return path


def plot_history(history: dict[str, list[float]], path: str, best_epoch: Optional[int] = None,
                 metric: Optional[str] = None) -> Optional[str]:
    """Writes training vs validation curves to a PNG (see :func:`history_figure`); returns its path."""
    fig = history_figure(history, best_epoch, metric)
    return None if fig is None else save_figure(fig, path)


GRID_COLUMNS = 3  # 7 multi-label panels in one row were 2800 x 320 pixels; 3 x 3 keep each readable


def history_figure(history: dict[str, list[float]], best_epoch: Optional[int] = None,
                   metric: Optional[str] = None) -> Any:
    """One panel per metric (train and validation curves) in a grid, or None without metrics.

    Args:
        history: Per-epoch values by Keras log name (``loss``, ``val_f1``, ...).
        best_epoch: The kept epoch (1-based), marked on every panel.
        metric: The metric that picked it (``metric_for_best``), starred on its panel.
    """
    names = [k for k in history if not k.startswith("val_") and k not in ("lr", "learning_rate")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    if not names:
        return None
    columns = min(len(names), GRID_COLUMNS)
    rows = math.ceil(len(names) / columns)
    fig, axes = new_figure(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        _panel(ax, history, name, best_epoch, starred=name == metric)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _panel(ax: Any, history: dict[str, list[float]], name: str, best_epoch: Optional[int], starred: bool) -> None:
    from matplotlib.ticker import MaxNLocator

    values: list[float] = []
    for key, label in ((name, "train"), (f"val_{name}", "validation")):
        if key in history:
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=label, clip_on=False)
            values += [v for v in history[key] if math.isfinite(v)]
    epochs = max(len(history[k]) for k in (name, f"val_{name}") if k in history)
    if best_epoch:
        ax.axvline(best_epoch, color="0.4", linestyle="--", linewidth=1, label=f"kept epoch {best_epoch}")
        kept = history.get(f"val_{name}", [])
        if starred and best_epoch <= len(kept):
            ax.plot([best_epoch], [kept[best_epoch - 1]], marker="*", markersize=15, color="C3", linestyle="none",
                    clip_on=False, zorder=3, label=f"best val_{name}")
    ax.set_xlim(0.5, epochs + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no 1.5 ticks
    if values:
        ax.set_ylim(*metric_limits(name, values))
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.legend()


def metric_limits(name: str, values: list[float]) -> tuple[float, float]:
    """A y range around ``values`` (8% margins) that stays inside what the metric can be: a
    loss is >= 0, a score in [0, 1] (or [0, 100] for SQuAD's percentages) never shows 1.04;
    a threshold (``best_f1_thresh``) can be any number."""
    low, high = min(values), max(values)
    margin = (high - low) * 0.08 or max(abs(high) * 0.05, 0.01)
    bottom, top = low - margin, high + margin
    if "thresh" in name or low < 0:
        return bottom, top
    ceiling = math.inf if name.endswith("loss") else 1.0 if high <= 1 else 100.0 if high <= 100 else math.inf
    return max(bottom, 0.0), min(top, ceiling)


def confusion_side(classes: int) -> float:
    """Inches per confusion-matrix panel: 4 for up to 5 classes, then half an inch per class
    (28 GoEmotions classes: 15.5 in, cells 0.5 in, room for a 3-digit count)."""
    return max(4.0, 0.5 * classes + 1.5)


def confusion_figure(labels: np.ndarray, predicted: np.ndarray, names: Sequence[str], split: str) -> Any:
    """Counts and row-normalised shares side by side (rows: true label, columns: predicted),
    every cell written in; the title names the split and its size.

    Args:
        labels: True class ids ``[n]``.
        predicted: Predicted class ids ``[n]``.
        names: Class names in id order.
        split: The split the predictions are of (``test``, ``validation``).
    """
    k = len(names)
    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = confusion_side(k)
    fig, axes = new_figure(1, 2, figsize=(2 * side + 1, side + 1))
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    fig.suptitle(f"Confusion matrix, {split} split: {int(counts.sum())} examples, accuracy {accuracy:.3f}")
    _matrix(axes[0], counts, names, "counts", lambda v: f"{int(v)}", counts.max() or 1)
    _matrix(axes[1], shares, names, "share of each true label (rows sum to 1)", lambda v: f"{v:.2f}", 1.0)
    fig.tight_layout()
    return fig


def _matrix(ax: Any, values: np.ndarray, names: Sequence[str], title: str, text: Any, top: float) -> None:
    ax.imshow(values, cmap="Blues", vmin=0, vmax=top)
    for (row, column), value in np.ndenumerate(values):
        ax.text(column, row, text(value), ha="center", va="center", fontsize=9,
                color="white" if value > top / 2 else "black")
    ticks = range(len(names))
    rotate = len(names) > 6 or max(len(n) for n in names) > 8  # long names would overlap
    ax.set_xticks(ticks, list(names), rotation=45 if rotate else 0, ha="right" if rotate else "center")
    ax.set_yticks(ticks, list(names))
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title)


def per_label_width(labels: int) -> float:
    """Inches of the per-label F1 chart: 6 up to 7 labels, then 0.55 in per label (28: 17.4 in)."""
    return max(6.0, 0.55 * labels + 2)


PER_LABEL_HEIGHT = 4.5


def per_label_f1_figure(table: dict[str, dict[str, Any]], split: str, note: str = "") -> Any:
    """One bar per label (its F1, axis 0 to 1, the value written on the bar; its support,
    the positives in the split, under its name) and the macro average as a dashed line
    (its value in the title).

    Args:
        table: ``{label: {"f1": ..., "support": ...}}`` (``per_label.json``'s rows).
        split: The split the predictions are of.
        note: Added to the title (e.g. how the thresholds were chosen).
    """
    names = list(table)
    f1 = np.array([table[n]["f1"] for n in names], dtype=float)
    fig, ax = new_figure(figsize=(per_label_width(len(names)), PER_LABEL_HEIGHT))
    ax.bar(range(len(names)), f1, color="C0")
    for i, value in enumerate(f1):  # inside the bar's top when there is no room above it
        inside = value > 0.9
        ax.text(i, value - 0.02 if inside else value + 0.02, f"{value:.2f}", ha="center",
                va="top" if inside else "bottom", fontsize=9, color="white" if inside else "black")
    macro = float(f1.mean()) if len(f1) else 0.0
    ax.axhline(macro, color="0.4", linestyle="--", linewidth=1)
    rotate = len(names) > 8
    sep = " " if rotate else "\n"  # a slanted name reads as one line
    ax.set_xticks(range(len(names)), [f"{n}{sep}n={table[n]['support']}" for n in names],
                  rotation=45 if rotate else 0, ha="right" if rotate else "center")
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_xlabel("label (n: its positive examples in the split)")
    details = ", ".join(p for p in (note, f"dashed line: macro F1 {macro:.3f}") if p)
    ax.set_title(f"Per-label F1, {split} split\n{details}", fontsize=10)  # a legend would hide a bar
    fig.tight_layout()
    return fig
