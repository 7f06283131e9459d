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

``--batching_out=FILE`` also writes the server-wide ``--batching_parameters_file`` (the recipe of
:mod:`tfft.serving.batching` for ``--serving_device``, ``--batch_threads`` batch threads: the pool
every model shares), and the tool prints the model server's command line (:func:`server_command`).
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


def server_command(config_file: str, batching_file: Optional[str] = None, port: int = 8500,
                   rest_port: int = 8501) -> str:
    """The ``tensorflow_model_server`` command line serving ``config_file`` (with batching when
    ``batching_file`` is given: each version's own ``batching_params.pbtxt``, threads from the file).

    Example:
        >>> server_command("/models/models.config")
        'tensorflow_model_server --port=8500 --rest_api_port=8501 --model_config_file=/models/models.config --enable_model_warmup=true'
    """
    parts = ["tensorflow_model_server", f"--port={port}", f"--rest_api_port={rest_port}",
             f"--model_config_file={config_file}"]
    if batching_file:
        parts += ["--enable_batching=true", f"--batching_parameters_file={batching_file}",
                  "--enable_per_model_batching_parameters=true"]
    return " ".join(parts + ["--enable_model_warmup=true"])


def _write_new(path: str, text: str) -> None:
    with open(path, "x", encoding="utf-8") as f:
        f.write(text)


def _check_export(base: str) -> None:
    found = [n for n in os.listdir(base) if _VERSION.match(n)] if os.path.isdir(base) else []
    if not any(os.path.isfile(os.path.join(base, v, "saved_model.pb")) for v in found):
        hint = (f" (it looks like a version directory: pass {os.path.dirname(base)})"
                if _VERSION.match(os.path.basename(base)) else "")
        raise TfftError(f"{base} holds no exported version (<version>/saved_model.pb){hint}; pass an export's "
                        "base directory, <export_dir>/<name>.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tfft.serving.models_config",
                                     description="Writes TF Serving's model config file for tfft exports.")
    parser.add_argument("dirs", nargs="+", help="export base directories, <export_dir>/<name>")
    parser.add_argument("--root", default=None, help="where the server sees the models (e.g. /models)")
    parser.add_argument("--versions", default="latest", help="latest | all")
    parser.add_argument("--out", default="", help="file to write (default: print); never overwritten")
    parser.add_argument("--batching_out", default="", help="also write the server's --batching_parameters_file "
                                                           "here; never overwritten")
    parser.add_argument("--batch_threads", type=int, default=None,
                        help="batch threads of the server (default: this machine's cores)")
    parser.add_argument("--serving_device", default="cpu", help="cpu | gpu: the batching recipe")
    return parser


def _batching(args: argparse.Namespace) -> str:
    from tfft.serving.batching import DEVICES, batching_text

    if args.serving_device not in DEVICES:
        raise TfftError(f"--serving_device must be one of {', '.join(DEVICES)}, got {args.serving_device!r}.")
    if args.batch_threads is not None and args.batch_threads < 1:
        raise TfftError(f"--batch_threads must be at least 1, got {args.batch_threads}; pass the server's cores.")
    return batching_text({}, args.serving_device, args.batch_threads)


def main(argv: Sequence[str]) -> int:
    """``python -m tfft.serving.models_config DIR... [--root R] [--versions latest|all] [--out FILE]
    [--batching_out FILE [--batch_threads N] [--serving_device cpu|gpu]]``."""
    args = _parser().parse_args(argv)
    try:
        text = models_config(args.dirs, args.root, args.versions)
        batching = _batching(args) if args.batching_out else ""
        for flag, path in (("--out", args.out), ("--batching_out", args.batching_out)):
            if path and os.path.exists(path):
                raise TfftError(f"{flag}={path} exists; pass another file or remove it first.")
    except TfftError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        _write_new(args.out, text)
        print(f"wrote {args.out} ({len(args.dirs)} models)")
    else:
        print(text, end="")
    notes = sys.stdout if args.out else sys.stderr  # stdout holds the config text when it is printed
    if batching:
        _write_new(args.batching_out, batching)
        print(f"wrote {args.batching_out} ({args.serving_device} batching)", file=notes)
    command = server_command(os.path.abspath(args.out) if args.out else "<this config>",
                             os.path.abspath(args.batching_out) if args.batching_out else None)
    print(f"serve with: {command}", file=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
