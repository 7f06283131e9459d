"""The search space of ``--mode=tune``: parsing and checking, then sampling with an Optuna trial.

Syntax (``--tune_space``), parts separated by commas::

    learning_rate=1e-5:1e-3:log   # a float range, sampled on a log scale
    warmup_ratio=0:0.2            # a float range
    epochs=2:4                    # an int range (the field is an integer), both ends included
    batch_size=16|32              # a choice; also for choice fields: finetune=full|lora

or a JSON / YAML file mapping each field to such a spec, a list of choices or
``{low: .., high: .., log: true}``. Any Config field that is a number, a boolean or a choice
can be searched, except those that say where or how a run happens (:data:`UNTUNABLE`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import typing
from dataclasses import dataclass
from typing import Any, Optional

from tfft.errors import TfftError

# Numbers and choices that are not hyperparameters: what runs, where, and how it is recorded.
UNTUNABLE = frozenset({"mode", "strategy", "resume", "seed", "save_steps", "keep_checkpoints",
                       "keep_checkpoints_at_end", "overwrite_output_dir", "deterministic", "tune_trials",
                       "tune_pruner", "tune_export_best", "lr_find_steps", "max_train_samples", "max_eval_samples"})
EXAMPLE = "learning_rate=1e-5:1e-3:log,batch_size=16|32"


@dataclass(frozen=True)
class Param:
    """One searched field: a range (``low``..``high``, ``log``) or ``choices``."""

    name: str
    kind: type  # int, float, bool or str
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """This parameter's value for an Optuna ``trial``."""
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind is int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)


def parse_space(text: str) -> list[Param]:
    """The parameters of ``--tune_space`` (inline, or a .json/.yaml/.yml file).

    Raises:
        TfftError: one line naming the part that is wrong and how to write it.
    """
    text = text.strip()
    if text.lower().endswith((".json", ".yaml", ".yml")):
        return [_param(name, spec) for name, spec in _read_file(text).items()]
    params = []
    for part in (p.strip() for p in text.split(",")):
        name, sep, spec = part.partition("=")
        if not part or not sep or not name.strip() or not spec.strip():
            raise TfftError(f"--tune_space part '{part}' is not name=spec; write e.g. '{EXAMPLE}'.")
        params.append(_param(name.strip(), spec.strip()))
    names = [p.name for p in params]
    for name in names:
        if names.count(name) > 1:
            raise TfftError(f"--tune_space names '{name}' twice; give each field one spec.")
    return params


def _read_file(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise TfftError(f"--tune_space file '{path}' does not exist; pass an existing .json/.yaml file or an inline "
                        f"space like '{EXAMPLE}'.")
    with open(path, encoding="utf-8") as f:
        try:
            if path.lower().endswith(".json"):
                data = json.load(f)
            else:
                import yaml

                data = yaml.safe_load(f)
        except ValueError as err:  # json.JSONDecodeError and yaml.YAMLError (a ValueError subclass or not)
            raise TfftError(f"--tune_space file '{path}' is not valid: {err}".splitlines()[0]) from None
    if not isinstance(data, dict) or not data:
        raise TfftError(f"--tune_space file '{path}' must map field names to specs (received "
                        f"{type(data).__name__}); e.g. {{\"learning_rate\": \"1e-5:1e-3:log\"}}.")
    return {str(k): v for k, v in data.items()}


def field_kind(name: str) -> tuple[type, tuple[str, ...]]:
    """The type of Config field ``name`` (int, float, bool or str) and its choices."""
    from tfft.config import Config

    fields = {f.name: f for f in dataclasses.fields(Config)}
    if name not in fields:
        from difflib import get_close_matches

        close = get_close_matches(name, [n for n in fields if n not in UNTUNABLE], n=1)
        hint = f"did you mean '{close[0]}'?" if close else "use a Config field such as learning_rate."
        raise TfftError(f"--tune_space names '{name}', which is not a tfft field; {hint}")
    hint = typing.get_type_hints(Config)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    kind = args[0] if typing.get_origin(hint) is typing.Union and args else hint
    choices = tuple(fields[name].metadata.get("choices") or ())
    if name in UNTUNABLE or kind not in (int, float, bool) and not choices:
        raise TfftError(f"--tune_space names '{name}', which cannot be tuned (only numbers and choices that are "
                        "hyperparameters can); drop it from the space.")
    return kind, choices


def _param(name: str, spec: Any) -> Param:
    kind, choices = field_kind(name)
    if isinstance(spec, (list, tuple)) or isinstance(spec, str) and "|" in spec:
        values = spec if isinstance(spec, (list, tuple)) else [v.strip() for v in spec.split("|")]
        return Param(name, kind, choices=tuple(_value(name, kind, choices, v) for v in values))
    if isinstance(spec, dict):
        low, high, log = spec.get("low"), spec.get("high"), bool(spec.get("log", False))
    elif isinstance(spec, str) and spec.count(":") in (1, 2):
        low, high, *rest = [s.strip() for s in spec.split(":")]
        if rest and rest[0] != "log":
            raise TfftError(f"--tune_space part '{name}={spec}' ends in '{rest[0]}'; the third part can only be "
                            "'log', e.g. learning_rate=1e-5:1e-3:log.")
        log = bool(rest)
    else:
        raise TfftError(f"--tune_space part '{name}={spec}' is neither a range lo:hi[:log] nor choices a|b; write "
                        f"e.g. '{name}=1:3' or '{name}=1|2'.")
    if choices or kind is bool:
        raise TfftError(f"--tune_space part '{name}={spec}': {name} is a choice, not a number; list values "
                        f"like '{name}={'|'.join(choices or ('true', 'false'))}'.")
    lo, hi = (_value(name, kind, (), v) for v in (low, high))
    if not lo < hi:
        raise TfftError(f"--tune_space part '{name}={spec}' is an empty range (low {lo} is not below high {hi}); "
                        "give low < high.")
    if log and lo <= 0:
        raise TfftError(f"--tune_space part '{name}={spec}' is on a log scale but starts at {lo}; a log range "
                        "needs low > 0 (drop ':log' or raise low).")
    return Param(name, kind, lo, hi, log)


def _value(name: str, kind: type, choices: tuple[str, ...], value: Any) -> Any:
    """``value`` (text from the space, or a JSON/YAML value) as the field's type."""
    text = str(value).strip()
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError
            result: Any = text.lower() == "true"
        elif kind is int:
            result = int(text) if not isinstance(value, float) else _whole(value)
        elif kind is float:
            result = float(text)
            if not math.isfinite(result):
                raise ValueError
        else:
            result = text
    except ValueError:
        want = {bool: "true or false", int: "a whole number", float: "a number"}.get(kind, "a value")
        raise TfftError(f"--tune_space gives {name} the value '{text}'; {name} takes {want}.") from None
    if choices and result not in choices:
        raise TfftError(f"--tune_space gives {name} the value '{text}'; {name} is one of {', '.join(choices)}.")
    return result


def _whole(value: float) -> int:
    if not value.is_integer():
        raise ValueError
    return int(value)
