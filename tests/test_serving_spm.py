"""ALBERT, XLM-RoBERTa and DeBERTa-v2 raw-text serving: in-graph SentencePiece gives the fast tokenizer's
ids, masks, type ids and character offsets."""

import numpy as np
import pytest
import tensorflow as tf

from test_serving import CORPUS
from tfft.serving.spm_text import spm_text_encoder, why_not
from tfft.serving.text import text_encoder

SPM_CORPUS = CORPUS + ["``quoted'' and ''twice``", "1, 2, 9,000 and 10,5", "hello ", " lead", "trail   ", "a  b",
                       "  both  ", "ΣΑΣ ΟΔΟΣ", "hindi हिन्दी", "\u3000ideographic\u3000space\u3000", "x" * 600]


def train_spm(path: str, **ids) -> str:
    """A tiny SentencePiece Unigram model of the corpus, without pieces of one repeated character
    (``!!``: their ties with ``!`` are broken differently, see tfft.serving.spm_text)."""
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([t for t in SPM_CORPUS[::2] for _ in range(3)] * 2), model_writer=buffer,
        vocab_size=160, hard_vocab_limit=False, character_coverage=0.98, minloglevel=2, **ids)
    proto = sentencepiece_model_pb2.ModelProto.FromString(buffer.getvalue())
    for piece in list(proto.pieces):
        if len(piece.piece) > 1 and len(set(piece.piece)) == 1:
            proto.pieces.remove(piece)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    return path


ALBERT_IDS = dict(pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"])
DEBERTA_IDS = dict(pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]", unk_id=3,
                   unk_piece="[UNK]", control_symbols=["[MASK]"])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spm")
    return {"albert": train_spm(str(tmp / "albert.model"), **ALBERT_IDS),
            "xlmr": train_spm(str(tmp / "xlmr.model")),
            "deberta": train_spm(str(tmp / "deberta.model"), **DEBERTA_IDS)}


def make_tokenizer(models, family: str, **options):
    from transformers import AlbertTokenizerFast, DebertaV2TokenizerFast, XLMRobertaTokenizerFast

    cls = {"albert": AlbertTokenizerFast, "xlmr": XLMRobertaTokenizerFast, "deberta": DebertaV2TokenizerFast}[family]
    return cls(vocab_file=models[family], **options)


CASES = [("albert", {}), ("albert", {"do_lower_case": False}), ("albert", {"keep_accents": True}),
         ("albert", {"keep_accents": True, "do_lower_case": False}), ("xlmr", {}), ("deberta", {}),
         ("deberta", {"do_lower_case": True})]


@pytest.mark.parametrize("family,options", CASES, ids=[f"{f}-{'-'.join(o) or 'default'}" for f, o in CASES])
def test_in_graph_ids_masks_and_types_equal_the_fast_tokenizers(models, family, options):
    tokenizer = make_tokenizer(models, family, **options)
    encoder = text_encoder(tokenizer, max_length=48)
    assert encoder is not None, why_not(tokenizer, 48)
    expected = tokenizer(SPM_CORPUS, truncation=True, max_length=48, padding=True, return_tensors="np")
    got = encoder(tf.constant(SPM_CORPUS))
    for i, text in enumerate(SPM_CORPUS):
        assert got["input_ids"][i].numpy().tolist() == expected["input_ids"][i].tolist(), repr(text)
    np.testing.assert_array_equal(got["attention_mask"].numpy(), expected["attention_mask"])
    assert ("token_type_ids" in got) == ("token_type_ids" in expected)
    if "token_type_ids" in got:
        np.testing.assert_array_equal(got["token_type_ids"].numpy(), expected["token_type_ids"])
    assert got["input_ids"].shape[1] == 48  # the long texts were cut


@pytest.mark.parametrize("family,options", CASES, ids=[f"{f}-{'-'.join(o) or 'default'}" for f, o in CASES])
def test_in_graph_offsets_equal_the_fast_tokenizers(models, family, options):
    tokenizer = make_tokenizer(models, family, **options)
    encoder = spm_text_encoder(tokenizer, 48)
    ids, start, end = encoder.token_ids_with_offsets(tf.constant(SPM_CORPUS))
    for i, text in enumerate(SPM_CORPUS):
        want = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        assert ids[i].numpy().tolist() == want["input_ids"], repr(text)
        assert list(zip(start[i].numpy().tolist(), end[i].numpy().tolist())) == want["offset_mapping"], repr(text)
