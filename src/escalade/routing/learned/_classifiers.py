"""Text classifiers of the learned policies: TF-IDF encodings and a logistic regression.

:class:`TextEncoder` fits its vocabularies once on a fold's training texts (unsupervised), so every
classifier of the fold, and every inner fold used to choose a setting, shares one encoding instead of
re-fitting TF-IDF each time. :class:`Probability` is a fitted logistic regression, or the training
rate when the labels or the features leave nothing to learn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

__all__ = ["Probability", "TextEncoder"]


def _fitted(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> tuple[TfidfVectorizer | None, csr_matrix]:
    """The fitted vectorizer and the training texts' matrix, from one pass over them."""
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary after pruning (tiny sets, no recorded text)
        return None, csr_matrix((len(texts), 0))
    return vectorizer, csr_matrix(matrix)


class TextEncoder:
    """TF-IDF of prompts and, when ``answers`` are given, of answers; dense features appended.

    The training texts' own encodings are kept (:attr:`training_prompts`, :meth:`training_answered`),
    so fitting never encodes them a second time.
    """

    def __init__(
        self,
        prompts: Sequence[str],
        answers: Sequence[str | None] | None = None,
        *,
        embedder: Callable[[Sequence[str]], NDArray[np.float64]] | None = None,
    ) -> None:
        #: Optional sentence embeddings appended to the prompt's TF-IDF.
        self.embedder = embedder
        self.prompt_vec, tfidf = _fitted(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True), prompts
        )
        #: The training prompts, encoded as :meth:`prompts` would encode them.
        self.training_prompts = self._with_embeddings(tfidf, prompts)
        self.answer_vec: TfidfVectorizer | None = None
        self._training_answers: csr_matrix | None = None
        if answers is not None:
            # answers may be a single letter: count one-character tokens too
            vectorizer = TfidfVectorizer(
                ngram_range=(1, 2), min_df=2, max_features=20_000, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
            )
            self.answer_vec, self._training_answers = _fitted(vectorizer, [a or "" for a in answers])

    def _with_embeddings(self, tfidf: csr_matrix, prompts: Sequence[str]) -> csr_matrix:
        if self.embedder is None:
            return tfidf
        return csr_matrix(hstack([tfidf, csr_matrix(self.embedder(prompts))]).tocsr())

    def prompts(self, prompts: Sequence[str]) -> csr_matrix:
        """The prompt part alone: TF-IDF (no columns when the vocabulary was empty), then any embeddings."""
        vec = self.prompt_vec
        tfidf = csr_matrix((len(prompts), 0)) if vec is None else csr_matrix(vec.transform(prompts))
        return self._with_embeddings(tfidf, prompts)

    def training_answered(self, extra: NDArray[np.float64]) -> csr_matrix:
        """:meth:`answered` for the training prompts and answers, from their kept encodings."""
        parts = [self.training_prompts]
        if self.answer_vec is not None and self._training_answers is not None:
            parts.append(self._training_answers)
        parts.append(csr_matrix(extra))
        return csr_matrix(hstack(parts).tocsr())

    def answered(self, prompt_x: csr_matrix, answers: Sequence[str | None], extra: NDArray[np.float64]) -> csr_matrix:
        """Encoded prompts (from :meth:`prompts`), answers and dense ``extra`` features side by side."""
        parts = [prompt_x]
        if self.answer_vec is not None:
            parts.append(csr_matrix(self.answer_vec.transform([a or "" for a in answers])))
        parts.append(csr_matrix(extra))
        return csr_matrix(hstack(parts).tocsr())


@dataclass(frozen=True)
class Probability:
    """P(label = 1) from a logistic regression, or the training rate when there is nothing to learn."""

    model: LogisticRegression | None
    rate: float

    @classmethod
    def fit(cls, x: csr_matrix, y: NDArray[np.int64], *, seed: int) -> Probability:
        """Fit on rows ``x`` with 0/1 labels ``y``."""
        rate = float(y.mean()) if len(y) else 0.5
        if len(set(y.tolist())) < 2 or x.shape[1] == 0:
            return cls(None, rate)
        model = LogisticRegression(C=1.0, solver="liblinear", max_iter=2000, random_state=seed)
        model.fit(x, y)
        return cls(model, rate)

    def predict(self, x: csr_matrix) -> NDArray[np.float64]:
        """P(label = 1) per row of ``x``."""
        if self.model is None:
            return np.full(x.shape[0], self.rate)
        return np.asarray(self.model.predict_proba(x)[:, 1], dtype=float)
