"""Reading example tables: local CSV / TSV / JSON Lines / JSON / Parquet, or Hugging Face datasets."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from typing import Any, Optional

import pandas as pd

from tfft.data import clip
from tfft.errors import TfftError

SPLIT_FLAGS = {"train": "train_file", "validation": "validation_file", "test": "test_file"}
_HF_SPLIT_NAMES = {"train": ("train",), "validation": ("validation", "valid", "dev"), "test": ("test",)}
FORMATS = ".csv, .tsv, .jsonl, .json, .parquet"


DELIMITERS = ",;\t|"  # what --csv_delimiter may be, and what a .csv file is sniffed among
_SNIFF_BYTES = 64 * 1024  # the head read to sniff a delimiter and check the header


def read_table(path: str, flag: str = "file", delimiter: Optional[str] = None,
               max_cell_chars: Optional[int] = None) -> pd.DataFrame:
    """Reads one data file into a DataFrame; the format follows the extension.

    Only empty cells count as missing in CSV: a review that says "NA" stays text. A CSV's
    delimiter is ``delimiter`` if given, else sniffed from its first lines (``,;\\t|``);
    ``frame.attrs["first_line"]`` is the file line of the first row (2 under a header).
    With ``max_cell_chars``, a CSV with a longer line is read with its cells cut to that
    many characters' worth of bytes (:mod:`tfft.data.clip`), so a huge cell is never held whole.

    Raises:
        TfftError: the file is missing, has an unknown extension, a header that names a
            column twice, or cannot be parsed.
    """
    if not os.path.isfile(path):
        raise TfftError(f"--{flag} not found: '{path}' is not a file. Check the path (relative to {os.getcwd()}).")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".csv", ".tsv"):
        return _read_csv(path, flag, ext, delimiter, max_cell_chars)
    try:
        if ext == ".jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        if ext == ".json":
            return _read_json(path)
        if ext == ".parquet":
            return pd.read_parquet(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as err:
        raise TfftError(f"--{flag} '{path}' could not be parsed as {ext[1:].upper()}: {_first_line(err)}. "
                        "Fix the file or convert it to one of " + FORMATS + ".") from None
    raise TfftError(f"--{flag} '{path}' has an unsupported extension '{ext}'; use one of {FORMATS}.")


def _read_csv(path: str, flag: str, ext: str, delimiter: Optional[str], max_cell_chars: Optional[int]) -> pd.DataFrame:
    """A CSV / TSV file with the given or sniffed delimiter, its header checked for duplicates."""
    stack = contextlib.ExitStack()
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            head = f.read(_SNIFF_BYTES)
        how = "--csv_delimiter" if delimiter else "sniffed from its first lines"
        delimiter = delimiter or sniff_delimiter(head, "\t" if ext == ".tsv" else ",")
        _check_header(head, delimiter, path, flag)
        source: Any = path
        max_bytes = 4 * max_cell_chars if max_cell_chars else 0  # UTF-8: at most 4 bytes a character
        if max_bytes and clip.longest_line(path) > max_bytes:
            source = stack.enter_context(tempfile.TemporaryFile())
            clip.copy_cut(path, source, delimiter, max_bytes)
            source.seek(0)
        frame = pd.read_csv(source, sep=delimiter, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                            dtype=object)
        if not isinstance(frame.index, pd.RangeIndex):  # pandas made the extra first field an index
            raise TfftError(f"--{flag} '{path}' has one field more in its data rows than in its header "
                            f"({len(frame.columns)} columns: {delimiter.join(map(str, frame.columns))}) with "
                            f"delimiter {_show(delimiter)} ({how}); quote the cells that hold {_show(delimiter)}, "
                            "or pass another --csv_delimiter.")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError, csv.Error) as err:
        if isinstance(err, TfftError):
            raise
        others = " ".join(f"--csv_delimiter={_show(d)}" for d in DELIMITERS if d != delimiter)
        raise TfftError(f"--{flag} '{path}' could not be parsed as {ext[1:].upper()} with delimiter "
                        f"{_show(delimiter or ',')} ({how}): {_first_line(err)}. If the file uses another "
                        f"delimiter pass it ({others}); otherwise fix the file (quote cells that hold the "
                        "delimiter).") from None
    finally:
        stack.close()
    frame.attrs["first_line"] = 2
    return frame


def sniff_delimiter(head: str, default: str) -> str:
    """The delimiter of a CSV whose first bytes are ``head``: ``csv.Sniffer``'s guess among
    ``,;\\t|`` when it also splits the header line, else the one the header holds most,
    else ``default``. A texts-only file (header ``text``) keeps ``default``, whatever
    punctuation its texts hold."""
    lines = head.splitlines()
    if len(head) >= _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    header = lines[0] if lines else ""
    try:
        guess = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = None
    if guess and guess in header:
        return guess
    if default in header:
        return default
    in_header = [d for d in DELIMITERS if d in header]
    return max(in_header, key=header.count) if in_header else default


def _check_header(head: str, delimiter: str, path: str, flag: str) -> None:
    header = next(csv.reader(io.StringIO(head), delimiter=delimiter), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise TfftError(f"--{flag} '{path}' names column '{name}' twice (header: {delimiter.join(header)}); "
                            "rename one so every column name is unique.")
        seen.add(name)


def _show(delimiter: str) -> str:
    return "'\\t'" if delimiter == "\t" else f"'{delimiter}'"


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _read_json(path: str) -> pd.DataFrame:
    """A .json file: a list of records, {"data": [records]}, official SQuAD, or JSON Lines."""
    import json

    from tfft.data.squad import flatten_squad, is_squad_json

    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return pd.read_json(path, lines=True, dtype=False)
    if isinstance(data, dict):
        data = data["data"] if isinstance(data.get("data"), list) else [data]
    if not isinstance(data, list):
        raise ValueError("expected a list of records, an object with a 'data' list, or JSON Lines")
    return pd.DataFrame.from_records(flatten_squad(data) if is_squad_json(data) else data)


def load_raw_splits(cfg: Any, max_cell_chars: Optional[int] = None
                    ) -> tuple[dict[str, Optional[pd.DataFrame]], tuple[str, ...]]:
    """The raw tables for train / validation / test, and label names the source declares.

    Local files win over ``cfg.dataset``. Returns ``None`` for a split that has no source.
    ``max_cell_chars``: see :func:`read_table`.
    """
    files = {split: getattr(cfg, flag) for split, flag in SPLIT_FLAGS.items()}
    if any(files.values()) or not cfg.dataset:
        delimiter = getattr(cfg, "csv_delimiter", None)
        tables = {s: read_table(p, SPLIT_FLAGS[s], delimiter, max_cell_chars) if p else None for s, p in files.items()}
        return tables, ()
    return _load_hf(cfg)


def _load_hf(cfg: Any) -> tuple[dict[str, Optional[pd.DataFrame]], tuple[str, ...]]:
    """Loads ``cfg.dataset`` with the ``datasets`` library (hub or local cache)."""
    import datasets

    try:
        dd = datasets.load_dataset(cfg.dataset, cfg.dataset_config)
    except Exception as err:  # datasets raises many types for "cannot reach / not found"
        raise TfftError(
            f"Could not load Hugging Face dataset '{cfg.dataset}'"
            f"{' (' + cfg.dataset_config + ')' if cfg.dataset_config else ''}: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}. Without internet, "
            "pass local files with --train_file, --validation_file and --test_file."
        ) from None
    tables: dict[str, Optional[pd.DataFrame]] = {}
    for split, candidates in _HF_SPLIT_NAMES.items():
        name = next((c for c in candidates if c in dd), None)
        tables[split] = dd[name].to_pandas() if name else None
    label_names: tuple[str, ...] = ()
    first = next(iter(dd.values()))
    feature = first.features.get(cfg.label_column) if cfg.label_column else None
    if feature is not None and hasattr(feature, "names"):
        label_names = tuple(feature.names)
    return tables, label_names


def require_columns(frame: pd.DataFrame, columns: list[str], split: str, flag_of: dict[str, str]) -> None:
    """Raises a TfftError naming a missing column, the columns found and the flag to change."""
    for column in columns:
        if column not in frame.columns:
            found = ", ".join(map(str, frame.columns)) or "(none)"
            joined = [d for d in DELIMITERS if len(frame.columns) == 1 and d in str(frame.columns[0])]
            hint = f" The header looks {_show(joined[0])}-separated: pass --csv_delimiter={_show(joined[0])}." \
                if joined else ""
            raise TfftError(f"The {split} data has no column '{column}' (columns found: {found}); "
                            f"pass --{flag_of[column]}=<one of those>.{hint}")
