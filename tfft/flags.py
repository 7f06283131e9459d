"""absl flags derived from the config fields: one name, one help text, one default each.

Only ``tfft.main`` parses them; library code takes a :class:`tfft.Config`.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from absl import flags

from tfft.config import Config

FLAGS = flags.FLAGS


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


if __name__ == "__main__":  # python -m tfft.flags: print the README's flag tables
    print(flags_markdown(), end="")
