"""No-repeat-n-gram blocking that runs inside ``tf.function(jit_compile=True)``.

Hugging Face's ``TFNoRepeatNGramLogitsProcessor`` walks the generated ids in Python and
raises under XLA, so compiled (and exported) beam search could not block repeats. This
processor computes the same bans with static shapes only:

1. every window of ``n`` consecutive ids in the (fixed-size, pad-filled) sequence buffer;
2. a window "matches" when its first ``n - 1`` ids equal the last ``n - 1`` generated ids
   and it lies wholly inside the first ``cur_len`` positions;
3. the last id of every matching window is banned (score ``-inf``) via one scatter.

For a buffer of ``L`` positions that is ``L x n`` comparisons per hypothesis and no Python
loop over tokens (the loop over ``k < n`` only builds ``n`` shifted slices at trace time).
"""

from __future__ import annotations

import tensorflow as tf
from transformers.generation.tf_logits_process import TFLogitsProcessor


class NoRepeatNGramLogitsProcessor(TFLogitsProcessor):
    """Bans every token that would complete an n-gram already present in the hypothesis.

    Gives the same scores as ``TFNoRepeatNGramLogitsProcessor`` (fairseq semantics: the
    decoder start token counts as a token), in eager mode, in graphs and under XLA.

    Example:
        >>> p = NoRepeatNGramLogitsProcessor(2)
        >>> ids = tf.constant([[0, 5, 6, 5, 0]])           # cur_len 4: "5 6" seen, last token 5
        >>> p(ids, tf.zeros([1, 8]), 4)[0, 6].numpy()      # 6 would repeat "5 6"
        -inf
    """

    def __init__(self, ngram_size: int) -> None:
        """Args:
            ngram_size: n; an n-gram may occur at most once per hypothesis. Must be >= 1.

        Raises:
            ValueError: ``ngram_size`` < 1.
        """
        if not isinstance(ngram_size, int) or ngram_size < 1:
            raise ValueError(f"ngram_size must be a positive integer (received {ngram_size!r}).")
        self.ngram_size = ngram_size

    def banned_mask(self, input_ids: tf.Tensor, vocab_size: tf.Tensor, cur_len: tf.Tensor) -> tf.Tensor:
        """Boolean ``[hypotheses, vocab_size]``: True where the next token is banned.

        Args:
            input_ids: int ``[hypotheses, L]``; positions ``>= cur_len`` hold padding (ignored).
            vocab_size: Number of columns of the mask.
            cur_len: Number of valid leading positions in ``input_ids``.
        """
        n = self.ngram_size
        ids = tf.cast(input_ids, tf.int32)
        hypotheses, length = tf.shape(ids)[0], tf.shape(ids)[1]
        cur_len = tf.cast(cur_len, tf.int32)
        # n-1 trailing pad columns give exactly `length` windows; windows reaching past
        # cur_len are masked out below, so the pad value never matters.
        padded = tf.pad(ids, [[0, 0], [0, n - 1]])
        windows = tf.stack([padded[:, k:k + length] for k in range(n)], axis=-1)  # [h, L, n]
        last = tf.gather(ids, tf.maximum(cur_len - n + 1 + tf.range(n - 1), 0), axis=1)  # [h, n-1]
        match = tf.reduce_all(tf.equal(windows[:, :, :n - 1], last[:, None, :]), axis=-1)
        inside = tf.range(length)[None, :] <= cur_len - n  # the window's last id is generated
        match = match & inside & (cur_len + 1 >= n)
        rows = tf.broadcast_to(tf.range(hypotheses)[:, None], [hypotheses, length])
        index = tf.reshape(tf.stack([rows, windows[:, :, n - 1]], axis=-1), [-1, 2])
        counts = tf.scatter_nd(index, tf.reshape(tf.cast(match, tf.int32), [-1]),
                               tf.stack([hypotheses, tf.cast(vocab_size, tf.int32)]))
        return counts > 0

    def __call__(self, input_ids: tf.Tensor, scores: tf.Tensor, cur_len: tf.Tensor) -> tf.Tensor:
        """Scores with banned tokens set to ``-inf`` (the signature HF generation calls)."""
        banned = self.banned_mask(input_ids, tf.shape(scores)[1], cur_len)
        return tf.where(banned, tf.cast(float("-inf"), scores.dtype), scores)
