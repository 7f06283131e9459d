"""The benchmark suite runs end to end at quick sizes (CI keeps it from rotting; nothing is timed here)."""

import json

import pytest

from conftest import run_python


# Each group runs in a process of its own, so no single run comes near its time limit on a
# loaded machine (all groups in one process took 160 s idle and over 600 s loaded).
GROUPS = {
    "train,pipeline": {"train_speedup_vs_pad_to_max", "eval_speedup", "cpu_allocator_speedup", "pipeline_vs_train",
                       "tokenize_vs_hf", "huge_cell_memory"},
    "compute": {"fused_ops_speedup", "xla_speedup", "bf16_speedup"},
    "tasks": {"qa_features_88k", "qa_features_vs_tokenizer", "generate_xla_vs_eager_tiny"},
    "serving": {"serving_text_vs_ids_b1", "serving_text_vs_ids_b32", "serving_text_vs_keras_b1",
                "serving_text_vs_keras_b32", "serving_batching_32x1"},
    "serving_bpe": {"serving_bpe_text_vs_ids_b32"},
    "recovery": {"checkpoint_save_vs_train_step"},
    "modes": {"cached_features_speedup"} | {f"{m}_{c}_vs_full" for m in ("frozen", "adapter", "lora")
                                             for c in ("speedup", "train_memory")},
    "tune": {"tune_peak_rss_first_vs_last"},
    "peers": {f"{m}_vs_{peer}{profile}" for m in ("train", "command") for peer in ("hf_trainer", "kerashub", "tf_loop")
              for profile in ("", "_tweets")}
             | {"train_vs_tf_loop_qa", "command_vs_tf_loop_qa"}  # QA: tfft vs the plain loop only
             | {f"{phase}_vs_training{profile}" for phase in ("startup", "export") for profile in ("", "_tweets", "_qa")},
}


def test_every_benchmark_group_is_covered_here():
    from benchmarks.__main__ import GROUPS as RUN

    assert {g for key in GROUPS for g in key.split(",")} == set(RUN)


@pytest.mark.slow
@pytest.mark.parametrize("groups", list(GROUPS))
def test_quick_benchmarks_write_every_case_with_finite_ratios(tmp_path, groups):
    proc = run_python(["-m", "benchmarks", "--quick", "--only", groups, "--out", str(tmp_path)], timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "quick-latest.json").read_text())
    names = {c["name"] for c in data["cases"]}
    # a peer whose venv is absent is skipped in quick runs, never silently: the reason is recorded
    assert all("absent" in data["skipped"][n] for n in GROUPS[groups] - names), data["skipped"]
    assert GROUPS[groups] <= names | set(data["skipped"]), names
    if groups == "compute":
        assert any(n.startswith("train_flops_vs_matmul_seq") for n in names)
    for case in data["cases"]:
        # one fresh process measures peak memory
        single_shot = (case["name"].startswith(("qa_features", "train_vs_", "command_vs_", "startup_", "export_"))
                       or case["name"].endswith("_memory_vs_full")  # peers: one whole command each in quick runs
                       or case["name"] in ("huge_cell_memory", "tune_peak_rss_first_vs_last"))
        assert case["ratio"] > 0 and case["ratio_of_medians"] > 0 and case["a"]["repeats"] >= (1 if single_shot else 2), case
        assert case["a"]["min"] <= case["a"]["median"] <= case["a"]["max"], case
    table = (tmp_path / "quick-latest.md").read_text()
    assert data["machine"]["tensorflow"] in table and all(n in table for n in GROUPS[groups])


@pytest.mark.slow
def test_quick_peers_without_their_venvs_are_skipped_with_the_reason_recorded(tmp_path):
    empty = tmp_path / "no-venvs"
    empty.mkdir()
    proc = run_python(["-m", "benchmarks", "--quick", "--only", "peers", "--out", str(tmp_path)],
                      env={"TFFT_BENCH_VENVS": str(empty)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "quick-latest.json").read_text())
    # tfft's own phases and the plain TF loop (tfft's environment) still run
    ran = {n for n in GROUPS["peers"]
           if n.startswith(("startup_", "export_")) or n.endswith(("_tf_loop", "_tf_loop_tweets", "_tf_loop_qa"))}
    not_qa = {f"{m}_vs_{peer}_qa" for m in ("train", "command") for peer in ("hf_trainer", "kerashub")}
    assert {c["name"] for c in data["cases"]} == ran, data
    assert set(data["skipped"]) == (GROUPS["peers"] - ran) | not_qa, data
    absent = {n: r for n, r in data["skipped"].items() if n not in not_qa}
    assert all(str(empty) in reason and "absent" in reason for reason in absent.values())
    assert all(data["skipped"][n].startswith("not run for QA") for n in not_qa)
    assert "train_vs_hf_trainer: skipped (venv " in proc.stdout
    assert "skipped: venv" in (tmp_path / "quick-latest.md").read_text()


def test_unknown_group_is_a_usage_error(tmp_path):
    proc = run_python(["-m", "benchmarks", "--only", "nope", "--out", str(tmp_path)])
    assert proc.returncode == 2 and "unknown group(s) nope" in proc.stderr


def test_a_pipeline_only_run_keeps_the_pipeline_vs_train_case_it_cannot_measure(tmp_path):
    kept = {"name": "pipeline_vs_train", "a": {"label": "tokenize + batch", "unit": "examples/s", "min": 900.0,
                                               "median": 1000.0, "max": 1100.0, "best": 1100.0, "repeats": 3},
            "b": {"label": "tfft training", "unit": "examples/s", "min": 3.0, "median": 3.1, "max": 3.2,
                  "best": 3.2, "repeats": 3},
            "ratio": 343.75, "ratio_of_medians": 322.6, "target": 20.0, "met": True, "notes": {}}
    previous = {"machine": {"date": "2026-01-02"}, "quick": True, "cases": [kept]}
    (tmp_path / "quick-latest.json").write_text(json.dumps(previous))
    proc = run_python(["-m", "benchmarks", "--quick", "--only", "pipeline", "--out", str(tmp_path)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pipeline_vs_train: skipped" in proc.stdout
    cases = {c["name"]: c for c in json.loads((tmp_path / "quick-latest.json").read_text())["cases"]}
    assert cases["pipeline_vs_train"] == dict(kept, measured="2026-01-02")
    assert cases["tokenize_vs_hf"]["ratio"] > 0 and cases["tokenize_vs_hf"]["measured"] != "2026-01-02"


def test_peer_commands_run_without_tfft_s_keras_2_switch(monkeypatch):
    import tfft  # noqa: F401  (sets TF_USE_LEGACY_KERAS=1 here, as the benchmark process does)
    from benchmarks.cases_peers import command_env

    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    assert "TF_USE_LEGACY_KERAS" not in command_env("kerashub") and "TF_USE_LEGACY_KERAS" not in command_env("hf_trainer")
    assert command_env("tfft")["TF_USE_LEGACY_KERAS"] == "1" and command_env("tf_loop")["TF_USE_LEGACY_KERAS"] == "1"
