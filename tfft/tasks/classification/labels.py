"""Reading multi-label targets from either data layout into one 0/1 matrix."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from tfft.errors import TfftError

_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the labels are: ``columns`` (one 0/1 column per name) or ``list`` (one column of lists)."""

    kind: str
    names: tuple[str, ...]
    column: Optional[str] = None


def label_layout(cfg: Any, frame: pd.DataFrame, names: Sequence[str] = ()) -> Layout:
    """Decides the layout of ``frame`` from the config (and known label names).

    Raises:
        TfftError: label columns missing, a single label column, or no labels at all.
    """
    if cfg.label_column:
        if cfg.label_column not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise TfftError(f"The data has no label column '{cfg.label_column}' (columns found: {found}); "
                            "pass --label_column=<column of label lists> or --label_columns=<0/1 columns>.")
        known = tuple(names or cfg.label_names) or _labels_in_lists(frame[cfg.label_column])
        if len(known) < 2:
            raise TfftError(f"A multi-label task needs at least two labels; column '{cfg.label_column}' lists "
                            f"{list(known)}. Check --label_column, or pass --label_names=<a,b,...>.")
        return Layout("list", tuple(known), cfg.label_column)
    columns = tuple(cfg.label_columns) or tuple(names) or tuple(
        str(c) for c in frame.columns if c not in (cfg.text_column, cfg.id_column))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns))
        raise TfftError(f"Label columns missing from the data: {', '.join(missing)} (columns found: {found}); "
                        "fix --label_columns.")
    if len(columns) < 2:
        raise TfftError(f"A multi-label task needs at least two label columns (received: {', '.join(columns) or 'none'}). "
                        "For one column of label lists pass --label_column=<name> --label_names=<a,b,...>; "
                        "for a single label per text use --task=classification.")
    return Layout("columns", columns)


def label_matrix(frame: pd.DataFrame, layout: Layout, split: str) -> np.ndarray:
    """The ``[rows, labels]`` 0/1 matrix of ``frame``.

    Raises:
        TfftError: a non-binary value in a label column, or a listed label outside the names.
    """
    if layout.kind == "columns":
        return np.stack([_binary_column(frame[c], c, split) for c in layout.names], axis=1).astype(np.int8)
    index = {name: i for i, name in enumerate(layout.names)}
    matrix = np.zeros((len(frame), len(layout.names)), dtype=np.int8)
    for row, value in enumerate(frame[layout.column]):
        for label in parse_label_list(value):
            if label not in index:
                raise TfftError(f"The {split} data lists label '{label}' in column '{layout.column}' (row {row + 1}), "
                                f"which is not in --label_names ({', '.join(layout.names)}); add it or fix the row.")
            matrix[row, index[label]] = 1
    return matrix


def parse_label_list(value: Any) -> list[str]:
    """``"joy,love"``, ``'["joy", "love"]'``, a list or an array -> label names; null or "" -> []."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v).strip() for v in json.loads(text) if str(v).strip()]
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in text.split(",") if part.strip()]


def _labels_in_lists(column: pd.Series) -> tuple[str, ...]:
    return tuple(sorted({label for value in column for label in parse_label_list(value)}))


def _binary_column(column: pd.Series, name: str, split: str) -> np.ndarray:
    values = np.zeros(len(column), dtype=np.int8)
    for row, value in enumerate(column):
        key = str(int(value)) if isinstance(value, (bool, np.bool_)) else str(value).strip().lower()
        if key in _TRUE:
            values[row] = 1
        elif key not in _FALSE:
            raise TfftError(f"Label column '{name}' in the {split} data holds a non-binary value {value!r} "
                            f"(row {row + 1}); label columns must hold 0/1 or true/false.")
    return values


def read_thresholds(path: str, names: Sequence[str]) -> list[float]:
    """Per-label thresholds from a JSON object ``{label: threshold}`` covering exactly ``names``."""
    if not os.path.isfile(path):
        raise TfftError(f"--thresholds_file not found: '{path}'.")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise TfftError(f"--thresholds_file '{path}' is not valid JSON ({err.msg}).") from None
    if not isinstance(data, dict) or set(data) != set(names):
        got = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
        raise TfftError(f"--thresholds_file '{path}' does not match the labels: it has {got}; expected exactly "
                        f"{', '.join(names)}. Write one threshold per label.")
    bad = [k for k, v in data.items() if not isinstance(v, (int, float)) or not 0 < v < 1]
    if bad:
        raise TfftError(f"--thresholds_file '{path}': thresholds must be numbers in (0, 1); check {', '.join(bad)}.")
    return [float(data[n]) for n in names]
