"""tfft's XLA-compatible no-repeat-n-gram processor and compiled generation.

The processor must ban exactly the tokens Hugging Face's eager processor bans, in eager
mode and under XLA; compiled generation must give the same ids as Hugging Face's eager
generate (which uses its own eager n-gram processor) for greedy and beam search.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.generation.tf_logits_process import TFNoRepeatNGramLogitsProcessor

from tfft.generation.generate import GenerationOptions, compiled_generator, generate_ids
from tfft.generation.ngram import NoRepeatNGramLogitsProcessor

VOCAB = 10


def banned(processor, ids, cur_len, compiled=False):
    """Token ids set to -inf for each row of ``ids``."""
    ids = tf.constant(ids, tf.int32)
    call = tf.function(processor.__call__, jit_compile=True) if compiled else processor
    scores = call(ids, tf.zeros([ids.shape[0], VOCAB]), tf.constant(cur_len))
    return [sorted(np.flatnonzero(np.isinf(row)).tolist()) for row in scores.numpy()]


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("n,ids,cur_len,expected", [
    (2, [[0, 5, 6, 5]], 4, [6]),                    # "5 6" seen and the last token is 5
    (3, [[0, 7, 8, 9, 7, 8]], 6, [9]),              # "7 8 9" seen, last two are "7 8"
    (3, [[0, 5, 0, 0]], 1, []),                     # fewer than n-1 tokens: nothing to complete
    (2, [[0, 5, 6, 5, 9, 9]], 4, [6]),              # ids at and after cur_len are buffer padding
    (1, [[0, 4, 7, 0, 0]], 3, [0, 4, 7]),           # unigrams: every token seen so far
    (2, [[0, 3, 3, 3]], 4, [3]),                    # "3 3" seen, last is 3
    (2, [[0, 1, 2, 1, 3, 1]], 6, [2, 3]),           # two earlier bigrams start with 1
])
def test_processor_bans_exactly_the_completing_tokens(n, ids, cur_len, expected, compiled):
    assert banned(NoRepeatNGramLogitsProcessor(n), ids, cur_len, compiled) == [expected]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 12), st.integers(0, 10_000))
def test_processor_matches_hugging_face_eager_processor(n, cur_len, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 4, size=(3, 14))  # 4 distinct ids: plenty of repeats
    ours = banned(NoRepeatNGramLogitsProcessor(n), ids, cur_len)
    theirs = banned(TFNoRepeatNGramLogitsProcessor(n), ids, cur_len)
    assert ours == theirs


def test_processor_rejects_bad_sizes():
    for bad in (0, -1, 2.0):
        with pytest.raises(ValueError, match="ngram_size must be a positive integer"):
            NoRepeatNGramLogitsProcessor(bad)


@pytest.fixture(scope="module")
def hf_t5(tiny_t5_dir):
    from transformers import TFT5ForConditionalGeneration

    return TFT5ForConditionalGeneration.from_pretrained(tiny_t5_dir)


def inputs(seed, rows=4, length=12):
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, 20, size=(rows, length)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, length - 4:] = 0  # one padded row
    ids[1, length - 4:] = 0
    return tf.constant(ids), tf.constant(mask)


def _bigrams_repeat(row, eos=1):
    row = list(row[1:])  # skip the decoder start token
    row = row[:row.index(eos)] if eos in row else row
    pairs = list(zip(row, row[1:]))
    return len(pairs) != len(set(pairs))


@pytest.mark.slow
@pytest.mark.parametrize("num_beams,ngram", [(1, 0), (1, 2), (4, 0), (4, 2)])
def test_compiled_generation_equals_hugging_face_eager(hf_t5, num_beams, ngram):
    ids, mask = inputs(0)
    options = GenerationOptions(num_beams=num_beams, max_new_tokens=12, no_repeat_ngram_size=ngram)
    eager = hf_t5.generate(ids, attention_mask=mask, **{**options.generate_kwargs(), "no_repeat_ngram_size": ngram})
    eager = eager.numpy()  # HF's own eager n-gram processor
    compiled = _compiled(hf_t5, options)(ids, mask).numpy()
    assert compiled.shape == (4, 13)
    np.testing.assert_array_equal(compiled[:, :eager.shape[1]], eager)
    assert (compiled[:, eager.shape[1]:] == 0).all()  # pad after the eager output's end
    if ngram:
        assert not any(_bigrams_repeat(row) for row in compiled)


def test_random_tiny_t5_repeats_bigrams_unless_blocked(hf_t5):
    """Makes the no-repeat assertions above meaningful: without blocking, repeats happen."""
    ids, mask = inputs(1)
    free = generate_ids(hf_t5, GenerationOptions(max_new_tokens=12), ids, mask).numpy()
    assert any(_bigrams_repeat(row) for row in free)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_blocked_beam_search_never_repeats_a_bigram(hf_t5, seed):
    generate = _compiled(hf_t5, GenerationOptions(num_beams=4, max_new_tokens=12, no_repeat_ngram_size=2))
    out = generate(*inputs(seed)).numpy()  # same options and shapes as above: no new compile
    assert not any(_bigrams_repeat(row) for row in out), out


_GENERATORS = {}


def _compiled(model, options):
    """Compiled generate functions shared by the tests (an XLA compile takes seconds)."""
    if options not in _GENERATORS:
        _GENERATORS[options] = compiled_generator(model, options)
    return _GENERATORS[options]
