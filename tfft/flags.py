"""absl flags derived from the config fields: one name, one help text, one default each.

Only ``tfft.main`` parses them; library code takes a :class:`tfft.Config`. :func:`usage` is
the short ``--help``: the tasks, the modes and the main flags of each option group.
"""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
import typing
from typing import Any, Sequence

from absl import flags

from tfft.config import Config

FLAGS = flags.FLAGS

HELP_ARGS = ("-h", "-?", "-help", "--help", "--helpshort")  # --helpfull stays absl's full list
MODE_HELP = {
    "train": "fine-tune, score validation every epoch, keep the best epoch, score test, save the model, export",
    "evaluate": "score --model on the validation and test data",
    "predict": "print a prediction for each --text, --question/--context pair or row of --predict_file",
    "export": "export --model (e.g. a run's model/ directory) as the next version, without training",
    "tune": "search --tune_space with Optuna: --tune_trials training runs in <output_dir>/tune/, then best.flags",
    "lr_find": "learning-rate range test: loss vs an exponentially rising lr, a plot and a suggested value",
}
# The flags --help shows, in their option groups; --helpfull and the README's tables have all of them.
MAIN_FLAGS = ("task", "mode", "model", "output_dir", "export_dir", "train_file", "validation_file", "test_file",
              "dataset", "text_column", "label_column", "max_length", "text", "predict_file", "batch_size",
              "epochs", "learning_rate", "metric_for_best", "strategy", "question", "context", "target_column",
              "finetune", "tune_space")  # a short usage: under 100 lines (the rest: --helpfull, README)


def _kind(field: dataclasses.Field) -> type:
    hint = typing.get_type_hints(Config)[field.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        return tuple
    return args[0] if args and typing.get_origin(hint) is typing.Union else hint


def define_flags() -> None:
    """Defines one absl flag per config field (idempotent)."""
    for field in dataclasses.fields(Config):
        if field.name in FLAGS:
            continue
        meta, kind, default = field.metadata, _kind(field), field.default
        if meta.get("choices"):
            flags.DEFINE_enum(field.name, default, list(meta["choices"]), meta["help"])
        elif kind is tuple:
            define = flags.DEFINE_multi_string if meta.get("multi") else flags.DEFINE_list
            define(field.name, list(default) or None, meta["help"])
        elif kind is bool:
            flags.DEFINE_bool(field.name, default, meta["help"])
        elif kind is int:
            flags.DEFINE_integer(field.name, default, meta["help"])
        elif kind is float:
            flags.DEFINE_float(field.name, default, meta["help"])
        else:
            flags.DEFINE_string(field.name, default, meta["help"])


def config_from_flags() -> Config:
    """The config for the parsed command line (validated)."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Config):
        value = FLAGS[field.name].value
        values[field.name] = tuple(value or ()) if _kind(field) is tuple else value
    return Config(**values)


def flags_markdown() -> str:
    """The README's flag tables, one per option group, generated from the config fields."""
    parts = []
    for group in Config.__bases__:  # the option groups, in the order Config lists them
        rows = ["| flag | default | meaning |", "|---|---|---|"]
        for field in dataclasses.fields(group):
            default = field.default
            shown = "—" if default is None else "(none)" if default == () else str(default)
            meaning = field.metadata["help"].replace("|", "\\|")
            rows.append(f"| `--{field.name}` | {shown} | {meaning} |")
        title = (group.__doc__ or "").strip().splitlines()[0].rstrip(".")
        parts.append(f"**{title}**\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def wants_help(argv: Sequence[str]) -> bool:
    """Whether the command line (``sys.argv``) asks for the short usage (``--help``, ``-h``)."""
    args = list(argv[1:])
    flags_part = args[:args.index("--")] if "--" in args else args  # what follows "--" is not a flag
    return any(arg in HELP_ARGS for arg in flags_part)


def usage(prog: str = "python -m tfft.main") -> str:
    """The short ``--help``: how to run (as ``prog``), the tasks by family, the modes and the main flags by group."""
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 100))
    lines = ["Fine-tune a pretrained transformer, score it and export it for TF Serving.", "",
             f"usage: {prog} [--flagfile=FILE] [--flag=value ...]", "",
             f"  {prog} --flagfile=flags/demo.flags   # the offline demo (presets: flags/*.flags)",
             f"  {prog} --task=imdb --model=minilm --train_file=train.csv --test_file=test.csv",
             "", "Tasks (--task)", *_task_lines(width), "", "Modes (--mode)"]
    lines += [_entry(mode, text, width, 12) for mode, text in MODE_HELP.items()]
    for group in Config.__bases__:
        shown = [f for f in dataclasses.fields(group) if f.name in MAIN_FLAGS]
        if shown:
            lines += ["", (group.__doc__ or "").strip().splitlines()[0].rstrip(".")]
            lines += [_entry(_flag(f), f.metadata["help"], width, 28) for f in shown]
    lines += ["", "Flags given after --flagfile override it. Every flag: --helpfull, or the tables in README.md."]
    return "\n".join(lines)


def _task_lines(width: int) -> list[str]:
    """One heading per task family (its class docstring), then its tasks and their defaults."""
    from tfft.tasks import get_task, names

    families: dict[type, list[str]] = {}
    for name in names():
        task = get_task(name)
        defaults = [f"{k} {task.defaults[k]}" for k in ("dataset", "model") if task.defaults.get(k)]
        families.setdefault(type(task), []).append(name + (f" ({', '.join(defaults)})" if defaults else ""))
    lines = []
    for family, tasks in families.items():
        lines.append("  " + (family.__doc__ or family.__name__).strip().splitlines()[0])
        lines += textwrap.wrap("; ".join(tasks), width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return lines


def _flag(field: dataclasses.Field) -> str:
    shown = field.default not in (None, ()) and not field.metadata.get("multi")
    return f"--{field.name}" + (f"={field.default}" if shown else "")


def _entry(name: str, text: str, width: int, column: int) -> str:
    """``name`` then ``text`` wrapped in a column (on the next line when ``name`` is too long)."""
    lead = f"  {name:<{column - 3}} " if len(name) <= column - 3 else f"  {name}\n" + " " * column
    return "\n".join(textwrap.wrap(text, width, initial_indent=lead, subsequent_indent=" " * column))


if __name__ == "__main__":  # python -m tfft.flags: print the README's flag tables
    print(flags_markdown(), end="")
