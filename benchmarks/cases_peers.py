"""tfft against the tools a user would pick instead: Hugging Face ``Trainer`` on PyTorch,
KerasHub (Keras 3) and a hand-written TensorFlow loop, each run as its user would run it, side by side.

Same model (the packaged MiniLM), same data, same hyperparameters (batch, epochs, AdamW
learning rate, warmup, weight decay, seed), each tool's own default padding: tfft pads each
batch to its longest example in length buckets, the Trainer uses ``DataCollatorWithPadding``
with ``group_by_length``, KerasHub's preprocessor pads every example to ``max_length``.
Every run is a whole command in a fresh process (tfft's CLI; each peer's script in its own
virtualenv, :mod:`benchmarks.peer_venvs`; the plain loop in tfft's own), one of each in turn (A B C A B C), so the
whole-command wall (imports, model load, tokenizing, training, scoring, saving; tfft also
exports and self-checks a SavedModel) is measured beside the pure training examples/s.

The QA profile (``_qa``: extractive QA on SQuAD-shaped data, :mod:`benchmarks.peer_qa_data`)
runs tfft's CLI (``--task=squad``) and the plain loop only: the Trainer and KerasHub scripts
are classifiers, so their QA cases are recorded as not run. Its score is SQuAD F1 (percent)
and its rate is questions/s (each question's windows are trained on).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Optional

from benchmarks import peer_qa_data, peer_venvs
from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result
from benchmarks.peer_common import PREFIX

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = {"hf_trainer": ("hf-trainer", "benchmarks.peer_hf_trainer", "HF Trainer (PyTorch)"),
         "kerashub": ("kerashub", "benchmarks.peer_kerashub", "KerasHub (Keras 3)"),
         "tf_loop": (None, "benchmarks.peer_tf_loop", "plain TF loop")}  # None: tfft's own environment
# The Trainer's docs and KerasHub's guides set no threads; torch and TF each use every core.
PADDING = {"tfft": "per batch, length buckets", "hf_trainer": "per batch (DataCollatorWithPadding), group_by_length",
           "kerashub": "fixed max_length (its preprocessor)", "tf_loop": "per batch (tf.data padded_batch, no buckets)"}
QA_PEERS = ("tf_loop",)  # the only peer with a QA script
QA_NOT_RUN = "not run for QA: this peer's script is a text classifier (the QA case is tfft vs the plain TF loop)"


def profiles(quick: bool) -> dict[str, dict[str, Any]]:
    """The two length profiles, IMDB-like reviews and short tweet-like texts, and the QA
    profile (questions, doc_stride 128 for 256-token windows), sizes by mode.

    Full sizes are small because every run is a whole command and there are 20 of them
    (about 40 minutes on an idle 2-core machine).

    Tweets carry 2 sentiment words in ~20 (the reviews' 12 in ~230 would make them trivial);
    1,000 of them train, half the 2,000 real tweets of the first side-by-side trial, so that
    training outweighs the fixed costs of a command as it does for a user.
    QA trains at 1e-4 (MiniLM's new span head learns little in 2 epochs at 5e-5). 600 train /
    200 held-out questions took 793 s for one tfft command at load 7 (~830 windows): 300 / 100
    keep the QA profile's four commands near a quarter of the group's time.
    """
    if quick:
        return {"": dict(median=24, signal=12, train=16, test=16, max_length=64, batch=8, epochs=1),
                "_tweets": dict(median=12, signal=2, train=16, test=16, max_length=32, batch=8, epochs=1),
                "_qa": dict(task="squad", train=12, test=8, max_length=128, doc_stride=32, batch=8, epochs=1,
                            learning_rate=1e-4)}
    return {"": dict(median=wl.MEDIAN_TOKENS, signal=wl.SIGNAL_WORDS, train=32, test=64, max_length=512, batch=8,
                     epochs=2),
            "_tweets": dict(median=20, signal=2, train=1000, test=250, max_length=64, batch=32, epochs=2),
            "_qa": dict(task="squad", train=300, test=100, max_length=256, doc_stride=128, batch=16, epochs=2,
                        learning_rate=1e-4)}


def command_env(kind: str) -> dict[str, str]:
    """The environment of one run: this process's, less what ``import tfft`` set for itself.

    ``TF_USE_LEGACY_KERAS=1`` (tfft's Keras 2) left in a peer's environment sends TensorFlow's
    lazy ``tf.keras`` to tf-keras, which the KerasHub venv does not have: the run died with
    a RecursionError in ``lazy_loader``.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": REPO}
    if kind in PEERS and PEERS[kind][0] is not None:  # a peer in a venv of its own (tfft and the loop: tfft's)
        env.pop("TF_USE_LEGACY_KERAS", None)
    return env


def _command(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Runs one whole command; returns its report plus ``wall`` (seconds, process start to end)."""
    venv, module = (None, "benchmarks.peer_tfft") if kind == "tfft" else PEERS[kind][:2]
    python = sys.executable if venv is None else peer_venvs.python(venv)
    start = time.perf_counter()
    proc = subprocess.run([python, "-m", module, json.dumps(spec)], cwd=REPO, capture_output=True, text=True,
                          env=command_env(kind))
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith(PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the {kind} peer run failed (exit {proc.returncode}): "
                           + " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-5:]))
    return dict(json.loads(lines[-1][len(PREFIX):]), wall=wall)


def _missing(quick: bool, kinds: list[str]) -> dict[str, str]:
    """Peers of ``kinds`` that cannot run, with the reason. A full run makes their venvs (minutes,
    once); a quick one (CI) skips a peer whose venv is absent rather than install PyTorch."""
    missing = {}
    for kind in kinds:
        venv = PEERS[kind][0]
        if venv is None or peer_venvs.ready(venv):
            continue
        if quick:
            missing[kind] = (f"venv {os.path.join(peer_venvs.ROOT, venv)} absent (quick runs do not make it; "
                             "`python -m benchmarks.peer_venvs` or a full run does)")
        else:
            peer_venvs.ensure(venv)
    return missing


def _data(root: str, name: str, p: dict[str, Any], model_dir: str, quick: bool) -> dict[str, Any]:
    """The profile's train and held-out files (and, for QA, the spec's task fields)."""
    from transformers import AutoTokenizer

    data = wl.fresh_dir(os.path.join(root, f"peers{name}-data"))
    if p.get("task") == "squad":
        files = peer_qa_data.write(data, p["train"], p["test"], quick)
        p["source"] = files.pop("source")
        return dict(files, task="squad", doc_stride=p["doc_stride"])
    words = wl.filler_words(AutoTokenizer.from_pretrained(model_dir))
    return {"train_file": wl.write_csv(f"{data}/train.csv", wl.reviews(p["train"], words, p["median"], 11,
                                                                       signal=p["signal"])),
            "test_file": wl.write_csv(f"{data}/test.csv", wl.reviews(p["test"], words, p["median"], 12,
                                                                     signal=p["signal"]))}


def _profile(sizes: wl.Sizes, root: str, name: str, p: dict[str, Any], kinds: list[str]) -> dict[str, list[dict]]:
    """Every tool's runs on one profile, one of each in turn."""
    model_dir = wl.minilm_dir()
    spec = dict(_data(root, name, p, model_dir, sizes.quick), model_dir=model_dir, max_length=p["max_length"],
                batch=p["batch"], epochs=p["epochs"], learning_rate=p.get("learning_rate", 5e-5), warmup_ratio=0.1,
                weight_decay=0.01, seed=0)
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for repeat in range(1 if sizes.quick else 2):  # A B A B: every run is a whole command (minutes each)
        for kind in kinds:
            out = wl.fresh_dir(os.path.join(root, f"peers{name}-{kind}"))
            runs[kind].append(_command(kind, dict(spec, out=out)))
            print(f"  peers{name} {kind} run {repeat + 1}: wall {runs[kind][-1]['wall']:.1f} s, "
                  f"{_score(p)} {runs[kind][-1]['accuracy']:.3f}", flush=True)
    return runs


def _range(values: list[float], unit: str = "", digits: int = 1) -> str:
    low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return (f"{low}-{high}" if low != high else low) + (f" {unit}" if unit else "")


def _score(p: dict[str, Any]) -> str:
    """The held-out score of a profile's runs (the ``accuracy`` field of every report)."""
    return "F1" if p.get("task") == "squad" else "accuracy"


def _what(p: dict[str, Any]) -> str:
    if p.get("task") == "squad":
        return (f"MiniLM, extractive QA, {p['train']} train / {p['test']} held-out answerable questions from "
                f"{p['source']} (split by paragraph), max_length {p['max_length']}, doc_stride {p['doc_stride']}, "
                f"batch {p['batch']}, {p['epochs']} epochs, AdamW {p['learning_rate']:g}, warmup 0.1, decay 0.01")
    return (f"MiniLM, {p['train']} train / {p['test']} held-out texts (median ~{p['median']} tokens, max_length "
            f"{p['max_length']}), batch {p['batch']}, {p['epochs']} epochs, AdamW 5e-5, warmup 0.1, decay 0.01")


def _head(p: dict[str, Any], kind: str, label: str) -> str:
    """What reads the encoder's output, in tfft and in the peer (like for like or not)."""
    if p.get("task") == "squad":
        return ("both TFAutoModelForQuestionAnswering's start/end dense on the tokens (tfft also masks padding "
                "in the logits); both decode each window's 20 best start and end tokens (at most 30 tokens) "
                "and keep the best start + end sum over a question's windows")
    return (f"tfft reads the mean of the tokens (--pooling=auto: the checkpoint's sentence-transformers pooling); "
            f"{label} " + ("the same mean, dropout 0.1 and dense" if kind == "tf_loop" else
                           "BERT's pooler (dense + tanh on [CLS], never trained in this checkpoint)"))


def _results(name: str, p: dict[str, Any], runs: dict[str, list[dict]], kind: str,
             target: Optional[float]) -> list[Result]:
    label = PEERS[kind][2]
    unit = "questions/s" if p.get("task") == "squad" else "examples/s"
    rate = {k: [r["examples"] / r["train_seconds"] for r in v] for k, v in runs.items()}
    wall = {k: [r["wall"] for r in v] for k, v in runs.items()}
    acc = {k: [r["accuracy"] for r in v] for k, v in runs.items()}
    digits = 1 if p.get("task") == "squad" else 3
    notes = {"what": _what(p),
             f"held-out {_score(p)}": f"tfft {_range(acc['tfft'], digits=digits)}, {label} "
                                      f"{_range(acc[kind], digits=digits)}",
             "whole command": f"tfft {_range(wall['tfft'], 's')} (CLI: start-up, data, untrained baseline, training, "
                              f"scoring, save, export + self-check), {label} {_range(wall[kind], 's')}",
             "padding": f"tfft {PADDING['tfft']}; {label} {PADDING[kind]}",
             "head": _head(p, kind, label),
             "machine load": f"1-minute load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end"}
    train = Result(f"train_vs_{kind}{name}", Measure("tfft", unit, rate["tfft"]),
                   Measure(label, unit, rate[kind]), target=target, notes=notes)
    command = Result(f"command_vs_{kind}{name}", Measure(f"{label} command", "s", wall[kind]),
                     Measure("tfft CLI", "s", wall["tfft"]), target=COMMAND_TARGETS.get((kind, name)),
                     notes={"what": "whole-command wall, peer over tfft (above 1: tfft is faster)"})
    return [train, command]


TARGETS = {"hf_trainer": 1.15, "kerashub": 1.3, "tf_loop": None}
# whole command: tfft <= 0.9x the Trainer's on tweets, <= 0.8x the plain loop's on tweets and QA
COMMAND_TARGETS = {("hf_trainer", "_tweets"): round(1 / 0.9, 2), ("tf_loop", "_tweets"): 1.25,
                   ("tf_loop", "_qa"): 1.25}


BREAKDOWN = ("model_load", "scoring", "save", "curves", "checkpoints")


def _phases(name: str, runs: list[dict]) -> list[Result]:
    """tfft's start-up and export against its pure training time, from the CLI runs of a profile."""
    train = Measure("tfft training", "s", [r["train_seconds"] for r in runs])
    other = [r["wall"] - r["train_seconds"] for r in runs]
    share = statistics.median(o / r["train_seconds"] for o, r in zip(other, runs))
    notes = {"non-training work": f"whole command less training: {_range(other, 's')}, {share:.0%} of training "
                                  "(target <= 40%)",
             "untrained baseline": _range([r["baseline"] for r in runs], "s")}
    # the rest of the non-training work, where peer_tfft could time it (None: tfft moved that function)
    parts = [f"{k.replace('_', ' ')} {_range([r[k] for r in runs], 's')}" for k in BREAKDOWN
             if all(r.get(k) is not None for r in runs)]
    if parts:
        notes["breakdown"] = ", ".join(parts)
    return [Result(f"startup_vs_training{name}", Measure("tfft start-up", "s", [r["startup"] for r in runs]), train,
                   notes=dict(notes, what="process start to the first epoch (imports, data, model load and "
                                          "compile), less the untrained baseline, vs the epochs' pure training")),
            Result(f"export_vs_training{name}", Measure("tfft export", "s", [r["export"] for r in runs]), train,
                   notes={"what": "SavedModel export, its self-check and publishing vs the epochs' pure training"})]


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``train_vs_<peer>[_tweets|_qa]`` (training examples/s, tfft over the peer) and
    ``command_vs_<peer>[_tweets|_qa]`` (whole-command wall, the peer over tfft), peer in
    ``hf_trainer``, ``kerashub``, ``tf_loop`` (QA: ``tf_loop`` only);
    ``startup_vs_training[_tweets|_qa]`` and ``export_vs_training[_tweets|_qa]`` (tfft's own
    phases, measured even when the peers are skipped)."""
    # TFFT_BENCH_PEERS=tf_loop (or hf_trainer,kerashub, ...) runs those peers only beside tfft
    wanted = [k for k in os.environ.get("TFFT_BENCH_PEERS", ",".join(PEERS)).split(",") if k in PEERS]
    missing = _missing(sizes.quick, wanted)
    results = []
    # TFFT_BENCH_PEER_PROFILES=tweets (or reviews, qa) runs those profiles only
    chosen = os.environ.get("TFFT_BENCH_PEER_PROFILES", "reviews,tweets,qa").split(",")
    for name, p in profiles(sizes.quick).items():
        if (name.lstrip("_") or "reviews") not in chosen:
            continue
        qa = p.get("task") == "squad"
        skipped = {k: QA_NOT_RUN if qa and k not in QA_PEERS else missing[k] for k in wanted
                   if k in missing or (qa and k not in QA_PEERS)}
        for kind, reason in skipped.items():
            for case in (f"train_vs_{kind}{name}", f"command_vs_{kind}{name}"):
                shared.setdefault("skipped", {})[case] = reason
                print(f"{case}: skipped ({reason})", flush=True)
        kinds = ["tfft"] + [k for k in wanted if k not in skipped]
        runs = _profile(sizes, root, name, p, kinds)
        results += _phases(name, runs["tfft"])
        for kind in kinds[1:]:
            results += _results(name, p, runs, kind, TARGETS[kind])
    return results
