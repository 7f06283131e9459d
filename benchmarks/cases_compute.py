"""Cases on the train step itself: achieved FLOP/s against a large matmul, fused ops, XLA, bfloat16.

Training FLOPs per token = 6 x N + 12 x L x H x S, where N counts the non-embedding
parameters (forward 2N, backward 4N) and the second term is attention's scores and
weighted sum (L layers, hidden H, sequence S), as in Kaplan et al. (2020).
"""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, fit_epoch, interleaved_epochs

FORMULA = "6 x non-embedding params + 12 x layers x hidden x seq, per token"


def _fixed_length_config(sizes: wl.Sizes, root: str, seq: int, batch: int, **overrides: Any) -> Any:
    """A config whose every example is exactly ``seq`` tokens (longer texts, truncated)."""
    from transformers import AutoTokenizer

    model_dir = wl.model_dir(sizes, root)
    words = wl.filler_words(AutoTokenizer.from_pretrained(model_dir))
    data = os.path.join(root, f"fixed-{seq}")
    os.makedirs(data, exist_ok=True)
    rows = wl.reviews(sizes.flop_steps * batch, words, median=seq * 3, seed=4)
    rows = [(" ".join(words[:seq]) + " " + text, label) for text, label in rows]  # never shorter than seq
    return wl.config(root, model_dir, wl.write_csv(f"{data}/train.csv", rows), None, sizes, max_length=seq,
                     batch_size=batch, length_buckets=0, **overrides)


def _flops_per_token(model: Any, seq: int) -> float:
    config = model.hf_model.config
    non_embedding = sum(int(np.prod(v.shape)) for v in model.trainable_variables if "embeddings" not in v.name)
    return 6.0 * non_embedding + 12.0 * config.num_hidden_layers * config.hidden_size * seq


def _matmul(n: int, rounds: int = 8) -> Any:
    """A chain of ``rounds`` float32 ``n x n`` matmuls on distinct operands (identical ones
    would be merged into one by the graph optimizer's common-subexpression elimination)."""
    import tensorflow as tf

    a = tf.random.normal([n, n], seed=1)
    bs = [tf.random.normal([n, n], seed=2 + i) for i in range(rounds)]

    @tf.function
    def chain() -> tf.Tensor:
        total = tf.zeros([n, n])
        for b in bs:
            total += tf.matmul(a, b)
        return total

    return lambda epoch: chain().numpy(), 2.0 * n**3 * rounds


def flops_case(sizes: wl.Sizes, root: str, seq: int, batch: int) -> Result:
    """``train_flops_vs_matmul_seq<seq>``: achieved training FLOP/s over float32 matmul FLOP/s."""
    import tfft

    cfg = _fixed_length_config(sizes, root, seq, batch, epochs=sizes.repeats + 1)
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    per_step = _flops_per_token(model, seq) * seq * batch
    matmul, matmul_flops = _matmul(256 if sizes.quick else 2048)
    rates = interleaved_epochs({"train": fit_epoch(model, train_ds), "matmul": matmul},
                               {"train": per_step * sizes.flop_steps, "matmul": matmul_flops}, sizes.repeats)
    giga = {k: [v / 1e9 for v in values] for k, values in rates.items()}
    return Result(f"train_flops_vs_matmul_seq{seq}", Measure("training", "GFLOP/s", giga["train"]),
                  Measure("float32 matmul", "GFLOP/s", giga["matmul"]), target=0.6 if seq == 128 else None,
                  notes={"formula": FORMULA, "shape": f"batch {batch} x seq {seq}, {sizes.flop_steps} steps per repeat",
                         "flops per step": f"{per_step / 1e9:.1f} GFLOP"})


def variant_case(sizes: wl.Sizes, root: str, name: str, label: str, variant: dict[str, Any],
                 baseline: Optional[dict[str, Any]] = None, baseline_label: str = "default",
                 shape: Optional[tuple[int, int]] = None) -> Result:
    """Train-step speed of a config variant (XLA, bf16, fused ops) over a baseline (default: the
    default config), same data and model; ``shape`` is (seq, batch)."""
    import tfft

    seq, batch = shape or ((32, 8) if sizes.quick else (128, 16))
    base = _fixed_length_config(sizes, root, seq, batch, epochs=sizes.repeats + 1)
    runs, examples = {}, {}
    for key, cfg in (("variant", base.replace(**variant)), ("baseline", base.replace(**(baseline or {})))):
        train_ds, _ = tfft.datasets(cfg)
        runs[key] = fit_epoch(tfft.build_model(cfg), train_ds)
        examples[key] = sizes.flop_steps * batch
    rates = interleaved_epochs(runs, examples, sizes.repeats)
    flags = " ".join(f"--{k}={v}" for k, v in {**variant, **(baseline or {})}.items())
    return Result(name, Measure(label, "examples/s", rates["variant"]),
                  Measure(baseline_label, "examples/s", rates["baseline"]),
                  notes={"shape": f"batch {batch} x seq {seq}", "flags": flags})


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """FLOP/s at seq 128 and 512, then the fused-ops, XLA and bf16 speedups."""
    flops = [flops_case(sizes, root, 128, 32), flops_case(sizes, root, 512, 8)] if not sizes.quick else \
        [flops_case(sizes, root, 32, 8)]
    seq, batch = (32, 8) if sizes.quick else (128, 32)
    fused = variant_case(sizes, root, "fused_ops_speedup", "fused (default)", {}, {"fused_ops": False},
                         "--fused_ops=false", shape=(seq, batch))
    fused.notes["what"] = ("GELU and LayerNorm as one XLA kernel each way, AdamW as one kernel per weight, vs the "
                           "model's own ops and tf-keras' AdamW" + (" (the quick run's tiny BERT is below the "
                                                                   "256 features tfft fuses from)" if sizes.quick else ""))
    return flops + [fused, variant_case(sizes, root, "xla_speedup", "--jit_compile", {"jit_compile": True}),
                    variant_case(sizes, root, "bf16_speedup", "--mixed_precision=bf16", {"mixed_precision": "bf16"})]
