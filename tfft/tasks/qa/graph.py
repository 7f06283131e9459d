"""Extractive QA inside the SavedModel: question and context strings in, the answer out.

The graph does what :mod:`tfft.tasks.qa.features` and :mod:`tfft.tasks.qa.decode` do in
Python, with the same settings (``doc_stride``, ``n_best_size``, ``max_answer_length``,
``null_score_diff_threshold`` saved in ``tfft.json``):

1. WordPiece ids of the question, and of the context with each token's character span
   (:meth:`tfft.serving.text.TextEncoder.token_ids_with_offsets`);
2. windows ``[CLS] question [SEP] context-part [SEP]`` (RoBERTa: ``<s> question </s></s>
   context-part </s>``, the encoder's ``pair_middle``) that share ``doc_stride`` context
   tokens, cut as the Hugging Face tokenizer cuts them: window ``k`` starts at context
   token ``k * (room - doc_stride)``, where ``room`` is ``max_length`` minus the question
   and the layout's special tokens (3, RoBERTa 4), and the last window is the first one
   reaching the context's end; token types only for encoders that use them;
3. the model over all windows of the batch at once;
4. per window, the ``n_best_size`` best start and end logits among context tokens are
   paired (end not before start, under ``max_answer_length`` tokens); the best pair over a
   question's windows is its answer, mapped back to the context's characters;
5. SQuAD v2.0: the null score is [CLS] start + end logit, lowest over the windows; the
   answer is empty when it beats the best span's score by more than the threshold.

The best span is the first of Python's n-best list, so answers and spans are the same as
``tfft.api.predict`` (the parity test checks this). ``score`` is the chosen entry's start
plus end logit (for "no answer", the null score). A question longer than the window allows
is cut so that every window still holds ``doc_stride + 1`` context tokens (Python refuses
such a question instead).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from tfft.tasks.qa.decode import DecodeOptions

# Score of "no span": the lowest float32, which is also what unsorted_segment_max starts from
# (with -inf a question without any span would get this instead and look answered).
_NO_SPAN = -3.4028234663852886e38


def qa_text_signature(model: Any, input_names: tuple[str, ...], output: str, max_length: int, doc_stride: int,
                      options: DecodeOptions, encoder: Any) -> Any:
    """The concrete ``serving_default``: ``question``, ``context`` string ``[batch]`` -> ``answer``
    (string), ``score`` (float32), ``start`` / ``end`` (int32 character offsets, -1 for none)."""
    specials = 2 + len(encoder.pair_middle)
    question_limit = max(max_length - specials - doc_stride - 1, 0)  # training checked doc_stride fits a window

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="question"),
                                  tf.TensorSpec([None], tf.string, name="context")])
    def serve_text(question: tf.Tensor, context: tf.Tensor) -> dict[str, tf.Tensor]:
        questions = encoder.token_ids(question, question_limit)
        windows = make_windows(questions, *encoder.token_ids_with_offsets(context), max_length=max_length,
                               doc_stride=doc_stride, cls_id=encoder.cls_id, sep_id=encoder.sep_id,
                               middle=encoder.pair_middle)
        types = windows["token_type_ids"] if encoder.uses_type_ids else tf.zeros_like(windows["input_ids"])
        inputs = {"input_ids": windows["input_ids"].to_tensor(default_value=encoder.pad_id),
                  "attention_mask": tf.ones_like(windows["input_ids"]).to_tensor(default_value=0),
                  "token_type_ids": types.to_tensor(default_value=0)}
        logits = model({name: inputs[name] for name in input_names}, training=False)[output]
        return best_answers(logits, windows, context, options)

    return serve_text.get_concrete_function()


def make_windows(questions: tf.RaggedTensor, context: tf.RaggedTensor, char_start: tf.RaggedTensor,
                 char_end: tf.RaggedTensor, *, max_length: int, doc_stride: int, cls_id: int,
                 sep_id: int, middle: tuple[int, ...] = ()) -> dict[str, Any]:
    """Ragged windows ``[windows, (tokens)]``: ids, token types, character offsets (-1 outside
    the context) and ``example`` (the question each window answers). ``middle``: the ids between
    question and context (``(sep_id,)`` when empty, BERT's layout)."""
    middle = tuple(middle) or (sep_id,)
    question_len, context_len = questions.row_lengths(), context.row_lengths()
    room = max_length - 2 - len(middle) - question_len
    step = room - doc_stride
    count = tf.where(context_len <= room, tf.ones_like(room), 1 + (context_len - room + step - 1) // step)
    window = tf.ragged.range(count)
    example, index = window.value_rowids(), window.flat_values
    first = index * tf.gather(step, example)
    positions = tf.ragged.range(first, tf.minimum(first + tf.gather(room, example), tf.gather(context_len, example)))
    flat = positions.flat_values + tf.gather(tf.gather(context.row_starts(), example), positions.value_rowids())
    part = positions.with_flat_values  # the window's context tokens, from any per-token context tensor

    def taken(values: tf.RaggedTensor) -> tf.RaggedTensor:
        return part(tf.gather(values.flat_values, flat))

    question = tf.gather(questions, example)
    n = tf.size(example)
    cls, sep = tf.fill([n, 1], cls_id), tf.fill([n, 1], sep_id)
    between = tf.tile(tf.constant([middle], tf.int32), [n, 1])
    ids = tf.concat([cls, question, between, taken(context), sep], axis=1)
    head = tf.zeros_like(tf.concat([cls, question, between], axis=1))
    tail = tf.ones_like(tf.concat([taken(context), sep], axis=1))
    outside = tf.fill([n, 1], -1)
    offsets = {name: tf.concat([outside, question * 0 - 1, between * 0 - 1, taken(values), outside], axis=1)
               for name, values in (("start", char_start), ("end", char_end))}
    return {"input_ids": ids, "token_type_ids": tf.concat([head, tail], axis=1), "example": example,
            "char_start": offsets["start"], "char_end": offsets["end"], "examples": questions.nrows()}


def best_answers(logits: tf.Tensor, windows: dict[str, Any], context: tf.Tensor,
                 options: DecodeOptions) -> dict[str, tf.Tensor]:
    """Span logits ``[windows, 2, seq]`` -> one answer per question (see the module docstring)."""
    char_start = windows["char_start"].to_tensor(default_value=-1)
    char_end = windows["char_end"].to_tensor(default_value=-1)
    example, examples = windows["example"], windows["examples"]
    in_context = char_start >= 0
    width = tf.shape(char_start)[1]
    starts, ends = logits[:, 0, :width], logits[:, 1, :width]
    scores = tf.reshape(starts[:, :, None] + ends[:, None, :], [tf.shape(starts)[0], -1])
    scores = tf.where(tf.reshape(_pairs(starts, ends, in_context, options), tf.shape(scores)), scores, _NO_SPAN)
    window_best = tf.reduce_max(scores, axis=1)
    best = tf.math.unsorted_segment_max(window_best, example, examples)
    # the first window holding the best score, as Python's stable sort keeps it
    windows_index = tf.range(tf.size(example, out_type=tf.int64))
    chosen = tf.math.unsorted_segment_min(tf.where(window_best == tf.gather(best, example), windows_index,
                                                   tf.int64.max), example, examples)
    flat = tf.gather(tf.argmax(scores, axis=1, output_type=tf.int32), chosen)
    token_start, token_end = flat // width, flat % width
    start = tf.gather_nd(char_start, tf.stack([tf.cast(chosen, tf.int32), token_start], axis=1))
    end = tf.gather_nd(char_end, tf.stack([tf.cast(chosen, tf.int32), token_end], axis=1))
    answered = best > _NO_SPAN
    score = tf.where(answered, best, 0.0)
    if options.version_2:
        null = tf.math.unsorted_segment_min(logits[:, 0, 0] + logits[:, 1, 0], example, examples)
        no_answer = ~answered | (null - best > options.null_score_diff_threshold)
        answered, score = ~no_answer, tf.where(no_answer, null, best)
    start, end = tf.where(answered, start, -1), tf.where(answered, end, -1)
    text = tf.strings.substr(context, tf.maximum(start, 0), tf.maximum(end - start, 0), unit="UTF8_CHAR")
    return {"answer": tf.where(answered, text, ""), "score": score, "start": start, "end": end}


def _pairs(starts: tf.Tensor, ends: tf.Tensor, in_context: tf.Tensor, options: DecodeOptions) -> tf.Tensor:
    """``[windows, seq, seq]``: (start, end) pairs Python's decoder considers."""
    width = tf.shape(starts)[1]
    k = tf.minimum(options.n_best_size, width)

    def top(values: tf.Tensor) -> tf.Tensor:  # top_k keeps the lower index among equals, as a stable argsort
        values = tf.where(in_context, values, float("-inf"))
        chosen = tf.reduce_any(tf.one_hot(tf.math.top_k(values, k).indices, width, on_value=True, off_value=False),
                               axis=1)
        return chosen & in_context

    position = tf.range(width)
    length = position[None, :] - position[:, None]  # end - start
    allowed = (length >= 0) & (length < options.max_answer_length)
    return top(starts)[:, :, None] & top(ends)[:, None, :] & allowed[None]
