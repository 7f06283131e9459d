"""TF Serving's ``--model_config_file`` for several tfft exports: one server, many models.

Each model is an export's base directory, ``<export_dir>/<name>`` (its integer versions
inside); the model is served under ``name``. ``--root`` rewrites the base paths to where
the server sees them (e.g. ``/models`` inside the Docker image)::

    python -m tfft.serving.models_config runs/demo/saved_models/demo runs/squad_demo/saved_models/squad_demo \\
        --root=/models --out=models.config
    docker run -p 8501:8501 -v $PWD/runs/demo/saved_models/demo:/models/demo \\
        -v $PWD/runs/squad_demo/saved_models/squad_demo:/models/squad_demo \\
        -v $PWD/models.config:/models/models.config tensorflow/serving --model_config_file=/models/models.config

The file is the text form of ``tensorflow_serving.config.ModelServerConfig``, written with
its protobuf class, so the server parses exactly what the tests parse.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Optional, Sequence

from tfft.errors import TfftError

_VERSION = re.compile(r"^\d+$")


def models_config(base_dirs: Sequence[str], root: Optional[str] = None, versions: str = "latest") -> str:
    """The ``ModelServerConfig`` text for the exports under ``base_dirs``.

    Args:
        base_dirs: Export base directories, ``<export_dir>/<name>``; the name is the model's.
        root: Directory the server finds the models in (base path ``<root>/<name>``); default:
            each base directory's absolute path.
        versions: ``latest`` (serve the newest version) or ``all`` (every version on disk).

    Raises:
        TfftError: no directories, a directory without an exported version, two models with
            one name, or an unknown ``versions``.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    if versions not in ("latest", "all"):
        raise TfftError(f"versions must be 'latest' or 'all', got {versions!r}.")
    if not base_dirs:
        raise TfftError("No export directories given; pass <export_dir>/<name> directories (one per model).")
    config = model_server_config_pb2.ModelServerConfig()
    names: dict[str, str] = {}
    for base in base_dirs:
        base = os.path.abspath(base.rstrip("/"))
        name = os.path.basename(base)
        _check_export(base)
        if name in names:
            raise TfftError(f"Two models would be served as '{name}': {names[name]} and {base}; export one of them "
                            "under another --export_name.")
        names[name] = base
        model = config.model_config_list.config.add(name=name, model_platform="tensorflow")
        model.base_path = f"{root.rstrip('/')}/{name}" if root else base
        if versions == "all":
            model.model_version_policy.all.SetInParent()
        else:
            model.model_version_policy.latest.num_versions = 1
    return text_format.MessageToString(config)


def _check_export(base: str) -> None:
    found = [n for n in os.listdir(base) if _VERSION.match(n)] if os.path.isdir(base) else []
    if not any(os.path.isfile(os.path.join(base, v, "saved_model.pb")) for v in found):
        hint = (f" (it looks like a version directory: pass {os.path.dirname(base)})"
                if _VERSION.match(os.path.basename(base)) else "")
        raise TfftError(f"{base} holds no exported version (<version>/saved_model.pb){hint}; pass an export's "
                        "base directory, <export_dir>/<name>.")


def main(argv: Sequence[str]) -> int:
    """``python -m tfft.serving.models_config DIR... [--root R] [--versions latest|all] [--out FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m tfft.serving.models_config",
                                     description="Writes TF Serving's model config file for tfft exports.")
    parser.add_argument("dirs", nargs="+", help="export base directories, <export_dir>/<name>")
    parser.add_argument("--root", default=None, help="where the server sees the models (e.g. /models)")
    parser.add_argument("--versions", default="latest", help="latest | all")
    parser.add_argument("--out", default="", help="file to write (default: print); never overwritten")
    args = parser.parse_args(argv)
    try:
        text = models_config(args.dirs, args.root, args.versions)
        if args.out and os.path.exists(args.out):
            raise TfftError(f"--out={args.out} exists; pass another file or remove it first.")
    except TfftError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        with open(args.out, "x", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.out} ({len(args.dirs)} models)")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
