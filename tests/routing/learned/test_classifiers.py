"""TF-IDF encodings and the fitted probability of the learned policies."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from escalade.routing.learned import Probability, TextEncoder


def test_encoder_without_vocabulary_gives_no_columns() -> None:
    """Texts too few to keep any term (min_df) encode to zero prompt columns instead of failing."""
    encoder = TextEncoder(["alpha", "beta"], [None, None])
    assert encoder.prompts(["alpha"]).shape == (1, 0)
    x = encoder.answered(encoder.prompts(["alpha"]), ["x"], np.array([[1.0, 2.0]]))
    assert x.shape == (1, 2)


def test_probability_falls_back_to_the_training_rate() -> None:
    """One label only, or no features, predicts the training rate."""
    ones = Probability.fit(csr_matrix(np.ones((3, 1))), np.array([1, 1, 1]), seed=0)
    assert ones.predict(csr_matrix(np.ones((2, 1)))).tolist() == [1.0, 1.0]
    empty = Probability.fit(csr_matrix((4, 0)), np.array([0, 1, 1, 1]), seed=0)
    assert empty.predict(csr_matrix((2, 0))).tolist() == [0.75, 0.75]


def test_probability_learns_a_separable_signal() -> None:
    """A feature that separates the labels gives higher probability to the positive side."""
    x = csr_matrix(np.array([[0.0], [0.1], [0.9], [1.0]] * 5))
    y = np.array([0, 0, 1, 1] * 5)
    p = Probability.fit(x, y, seed=0).predict(csr_matrix(np.array([[0.0], [1.0]])))
    assert p[0] < 0.5 < p[1]
