"""Compiled (XLA) vs eager beam search on CPU: same T5, same inputs, same settings.

    python benchmarks/generation.py                 # the demo's tiny T5 (random weights)
    python benchmarks/generation.py --size=small    # t5-small's shape (60M parameters, random weights)

Eager is Hugging Face's ``generate`` with its own eager n-gram processor; compiled is
tfft's ``compiled_generator`` (``tf.function(jit_compile=True)`` with tfft's n-gram
processor). Both give the same ids (checked here too). The compile itself is timed
separately: it is paid once per input shape. Random weights rarely end early, so every
call decodes about ``max_new_tokens`` steps.
"""

from __future__ import annotations

import argparse
import json
import time

import tfft  # noqa: F401  (Keras 2 before TensorFlow)
import numpy as np
import tensorflow as tf

SIZES = {
    "tiny": {"d_model": 128, "d_ff": 256, "d_kv": 32, "num_heads": 4, "num_layers": 2, "num_decoder_layers": 2,
             "relative_attention_num_buckets": 16, "vocab_size": 1000},
    "small": {"d_model": 512, "d_ff": 2048, "d_kv": 64, "num_heads": 8, "num_layers": 6, "num_decoder_layers": 6,
              "relative_attention_num_buckets": 32, "vocab_size": 32128},
}


def best_of(fn, repeats: int) -> float:
    """Fastest of ``repeats`` wall-clock runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Prints one JSON line: settings, eager and compiled seconds per call, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--num_beams", type=int, default=4)
    parser.add_argument("--max_new_tokens", type=int, default=32)
    parser.add_argument("--no_repeat_ngram_size", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from transformers import T5Config, TFT5ForConditionalGeneration

    from tfft.generation.generate import GenerationOptions, compiled_generator

    tf.keras.utils.set_random_seed(0)
    model = TFT5ForConditionalGeneration(T5Config(dropout_rate=0.0, decoder_start_token_id=0, **SIZES[args.size]))
    model(model.dummy_inputs)
    rng = np.random.default_rng(0)
    ids = tf.constant(rng.integers(3, SIZES[args.size]["vocab_size"], size=(args.batch, args.length)), tf.int32)
    mask = tf.ones_like(ids)
    options = GenerationOptions(num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
                                no_repeat_ngram_size=args.no_repeat_ngram_size)
    kwargs = {**options.generate_kwargs(), "no_repeat_ngram_size": args.no_repeat_ngram_size}

    def eager():
        return model.generate(ids, attention_mask=mask, **kwargs).numpy()

    compiled_fn = compiled_generator(model, options)
    start = time.perf_counter()
    compiled_ids = compiled_fn(ids, mask).numpy()
    compile_seconds = time.perf_counter() - start
    eager_ids = eager()
    same = bool(np.array_equal(compiled_ids[:, :eager_ids.shape[1]], eager_ids))
    eager_seconds = best_of(eager, args.repeats)
    compiled_seconds = best_of(lambda: compiled_fn(ids, mask).numpy(), args.repeats)
    print(json.dumps({**vars(args), "eager_s": round(eager_seconds, 4), "compiled_s": round(compiled_seconds, 4),
                      "speedup": round(eager_seconds / compiled_seconds, 1),
                      "first_call_with_compile_s": round(compile_seconds, 1), "same_ids": same}))


if __name__ == "__main__":
    main()
