"""Text columns: empty and null cells dropped with a note, huge cells cut (every task reads
its texts through :func:`clean_texts`), and the ``--predict_file`` reader every task uses."""

from __future__ import annotations

from typing import Any, Optional

import pandas as pd

from tfft.data import readers
from tfft.data.features import clip_text
from tfft.errors import TfftError


def clean_texts(column: pd.Series, split: str, name: str,
                max_length: Optional[int] = None) -> tuple[pd.Series, list[str]]:
    """Drops null and blank texts; returns the rest (original index kept) and a note on the drop.
    With ``max_length`` each text is cut first (:func:`tfft.data.features.clip_text`), so a
    huge cell is not kept whole.

    Raises:
        TfftError: no text is left.
    """
    def text(v: Any) -> str:
        v = v if isinstance(v, str) else ("" if is_null(v) else str(v))
        return clip_text(v, max_length) if max_length else v

    # object dtype, built in one pass: Series.map would give pandas 3's string dtype, which
    # copies every text into its own buffer (a 100 MB cell cost 200 MB more, measured)
    as_text = pd.Series([text(v) for v in column], index=column.index, dtype=object)
    keep = as_text.str.strip().str.len() > 0
    dropped = int((~keep).sum())
    if not keep.any():
        raise TfftError(f"The {split} data has no non-empty text in column '{name}' ({len(column)} rows, "
                        "all empty or null); check --text_column.")
    notes = [f"{split}: dropped {dropped} rows with empty or null '{name}'"] if dropped else []
    return as_text[keep], notes


def is_null(value: Any) -> bool:
    """A missing cell (None, NaN, NA); False for any value pandas cannot test."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def read_predict_file(path: str, text_column: Optional[str], delimiter: Optional[str] = None) -> pd.DataFrame:
    """The rows of ``--predict_file``: a ``.txt`` file gives one text per line in ``text_column``
    (when the task reads one text column; else it is read as a table like .csv/.jsonl/.parquet).

    Args:
        path: The file.
        text_column: The column a line of a ``.txt`` file fills; None reads every file as a table.
        delimiter: ``--csv_delimiter`` (None: sniffed).
    """
    if path.endswith(".txt") and text_column is not None:
        with open(path, encoding="utf-8-sig") as f:
            return pd.DataFrame({text_column: [line.rstrip("\n") for line in f]})
    return readers.read_table(path, "predict_file", delimiter)
