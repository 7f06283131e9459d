"""Seq2seq examples: the model input built from columns (a template or one column), the target.

``--input_template="question: {question} context: {context}"`` names columns in braces;
without a template the input is ``--source_column``. A trained model remembers how its
inputs were built (``tfft.json``), so predict and evaluate build them the same way.
"""

from __future__ import annotations

import dataclasses
import string
from typing import Any, Mapping, Optional

import pandas as pd

from tfft.errors import TfftError
from tfft.data.texts import clean_texts


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    """How one example's input text is made.

    Attributes:
        template: ``str.format`` template over column names, or None to use ``column``.
        column: The input column when there is no template.
        lowercase: Lower-case inputs and targets.
    """

    template: Optional[str]
    column: Optional[str]
    lowercase: bool = False

    @classmethod
    def resolve(cls, cfg: Any, extras: Optional[Mapping[str, Any]] = None) -> "SourceSpec":
        """A trained model's saved spec (``extras``) when it has one, else the config's."""
        if extras and "input_template" in extras:
            return cls(extras["input_template"], extras.get("source_column"), bool(extras.get("lowercase")))
        return cls(cfg.input_template or None, cfg.source_column, bool(cfg.lowercase))

    def to_extras(self) -> dict[str, Any]:
        """The spec as TaskInfo extras."""
        return {"input_template": self.template, "source_column": self.column, "lowercase": self.lowercase}

    def fields(self) -> list[str]:
        """The columns the input is made from.

        Raises:
            TfftError: a template that does not parse or names no column, or no input at all.
        """
        if self.template is None:
            if not self.column:
                raise TfftError("No input given: pass --source_column=<column> or --input_template='... {column} ...'.")
            return [self.column]
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None]
        except ValueError as err:
            raise TfftError(f"--input_template '{self.template}' is not a valid template ({err}); write column "
                            "names in braces, e.g. 'question: {question} context: {context}', and {{ }} for "
                            "literal braces.") from None
        if not names or any(not f or f.isdigit() for f in names):
            raise TfftError(f"--input_template '{self.template}' must name columns in braces, e.g. "
                            "'question: {question} context: {context}' (received no named field).")
        return list(dict.fromkeys(names))

    def render(self, frame: pd.DataFrame, split: str) -> tuple[pd.Series, list[str]]:
        """Input texts of the rows whose fields are all non-empty (original index kept), and notes.

        Raises:
            TfftError: a field is not a column of ``frame``, or no row has every field.
        """
        fields = self.fields()
        missing = [f for f in fields if f not in frame.columns]
        if missing:
            found = ", ".join(map(str, frame.columns)) or "(none)"
            how = ("pass --source_column=<one of those>" if self.template is None else
                   "rename the column or change --input_template")
            what = "" if self.template is None else " named in --input_template"
            raise TfftError(f"The {split} data has no column '{missing[0]}'{what} (columns found: {found}); {how}.")
        notes: list[str] = []
        keep = pd.Series(True, index=frame.index)
        values = {}
        for field in fields:
            texts, dropped = _non_empty(frame[field], split, field, "input")
            values[field] = texts
            keep &= frame.index.isin(texts.index)
            notes += dropped
        if not keep.any():
            raise TfftError(f"The {split} data has no row where {', '.join(fields)} are all non-empty.")
        rows = frame.index[keep]
        if self.template is None:
            out = values[fields[0]].loc[rows]
        else:
            out = pd.Series([self.template.format_map({f: values[f].loc[i] for f in fields}) for i in rows],
                            index=rows, dtype=object)
        return (out.str.lower() if self.lowercase else out), notes


def targets(frame: pd.DataFrame, column: str, split: str, lowercase: bool) -> tuple[pd.Series, list[str]]:
    """Non-empty target texts (original index kept) and a note on the dropped rows.

    Raises:
        TfftError: the column is missing (the message lists the columns found) or every target is empty.
    """
    if column not in frame.columns:
        found = ", ".join(map(str, frame.columns)) or "(none)"
        raise TfftError(f"The {split} data has no target column '{column}' (columns found: {found}); "
                        "pass --target_column=<one of those>.")
    texts, notes = _non_empty(frame[column], split, column, "target")
    return (texts.str.lower() if lowercase else texts), notes


def _non_empty(column: pd.Series, split: str, name: str, role: str) -> tuple[pd.Series, list[str]]:
    """``clean_texts`` with notes and errors that say which column role was empty."""
    flag = "--target_column" if role == "target" else "--input_template / --source_column"
    if not column.map(lambda v: isinstance(v, str) and v.strip() != "" or _present(v)).any():
        raise TfftError(f"The {split} data has no non-empty {role} in column '{name}' ({len(column)} rows, all "
                        f"empty or null); check {flag}.")
    texts, _ = clean_texts(column, split, name)
    dropped = len(column) - len(texts)
    return texts, [f"{split}: dropped {dropped} rows with an empty or null {role} '{name}'"] if dropped else []


def _present(value: Any) -> bool:
    """A non-string cell that is not null (numbers are valid text)."""
    if isinstance(value, str) or value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True
