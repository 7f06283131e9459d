"""Every encoder family through every registered task: the shared harness (tests/harness.py)
on tiny random models of each architecture (tests/tiny_archs.py)."""

from __future__ import annotations

import os

import pytest

import tfft
from harness import Case, expect_no_task_class, run_task_test, serve_in_tensorflow_only
from tiny_archs import ARCHITECTURES

#: Architectures whose tokenizer has an in-graph encoder: their exports take raw text (all of
#: them: WordPiece, byte-level BPE, ALBERT / XLM-R / DeBERTa-v2 SentencePiece, T5's).
RAW_TEXT = {"bert", "distilbert", "electra", "mpnet", "roberta", "xlm-roberta", "albert", "deberta-v2", "t5"}
#: ... except where a task's in-graph input cannot follow the tokenizer's (none today).
RAW_TEXT_EXCEPT: set[tuple[str, str]] = set()


def _family(task: str) -> str:
    kind = type(tfft.tasks.get_task(task)).__name__
    return {"QuestionAnsweringTask": "qa", "Seq2SeqTask": "seq2seq"}.get(kind, "classification")


def _has_task_class(arch: str, task: str) -> bool:
    return (arch == "t5") == (_family(task) == "seq2seq")


def _rotation() -> dict[tuple[str, str], str]:
    """The pairs the harness runs by default: each architecture does each task class once and each
    registered task runs on some architecture (tasks of a class take turns); a pair left out
    names the pair of its class that runs. ``TFFT_FULL_MATRIX=1`` runs every pair."""
    by_class: dict[str, list[str]] = {}
    for name in tfft.tasks.names():
        by_class.setdefault(type(tfft.tasks.get_task(name)).__name__, []).append(name)
    chosen = {}
    for names in by_class.values():
        archs = [a for a in ALL_ARCHS if _has_task_class(a, names[0])]
        for i in range(max(len(archs), len(names))):
            chosen[(names[i % len(names)], archs[i % len(archs)])] = ""
        for name in names:
            for arch in archs:
                if (name, arch) not in chosen:
                    other = next(n for n in names if (n, arch) in chosen)
                    chosen[(name, arch)] = f"{name} is a {type(tfft.tasks.get_task(name)).__name__} as {other}, " \
                                           f"which runs on {arch}; TFFT_FULL_MATRIX=1 runs this pair too"
    return chosen


ALL_ARCHS = ARCHITECTURES + ("t5",)
ROTATION = _rotation()


def _matrix(archs: tuple[str, ...]) -> type:
    """A test class over ``archs`` x every registered task, then one TensorFlow-only process
    serving every export the class made. Each class is a pytest-xdist scope of its own, so the
    halves of the matrix run side by side."""
    exports: list[Case] = []

    class Matrix:
        @pytest.mark.slow
        @pytest.mark.parametrize("arch", archs)
        @pytest.mark.parametrize("task", tfft.tasks.names())
        def test_every_task_trains_saves_reloads_and_exports_on_every_architecture(self, task, arch, arch_dirs,
                                                                                   tmp_path):
            if not _has_task_class(arch, task):
                message = expect_no_task_class(task, arch_dirs[arch], tmp_path)
                assert "bert" in message or "t5" in message
                return
            skipped = ROTATION[(task, arch)]
            if skipped and not os.environ.get("TFFT_FULL_MATRIX"):
                pytest.skip(skipped)
            case = run_task_test(task, arch_dirs[arch], tmp_path)
            raw = arch in RAW_TEXT and (arch, _family(task)) not in RAW_TEXT_EXCEPT
            assert case.default_input == ("text" if raw else "token_ids")
            exports.append(case)

        @pytest.mark.slow
        def test_every_export_serves_in_a_tensorflow_only_process(self, arch_dirs, tmp_path):
            cases = exports or [run_task_test("classification", arch_dirs[archs[0]], tmp_path)]
            served = serve_in_tensorflow_only(cases)
            assert [s["path"] for s in served] == [c.path for c in cases]
            assert all(s["outputs"] and set(s["rows"]) == {2} for s in served), served

    return Matrix


TestWordPieceFamilies = _matrix(("bert", "distilbert", "electra", "mpnet"))
TestBpeAndSentencePieceFamilies = _matrix(("roberta", "xlm-roberta", "albert", "deberta-v2", "t5"))
