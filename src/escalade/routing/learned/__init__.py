"""Learned routing: features, text classifiers, the gain router and its saved artifacts."""

from escalade.routing.learned._artifact import (
    FORMAT,
    MAX_ARTIFACT_BYTES,
    MAX_MAGNITUDE,
    MAX_METADATA_KEYS,
    MAX_NGRAM,
    MAX_TERMS,
    TOKEN_PATTERNS,
    RouterArtifact,
    load_router,
    save_router,
)
from escalade.routing.learned._classifiers import Probability, TextEncoder
from escalade.routing.learned._embeddings import Embedder, MiniLMEmbedder, embeddings_available
from escalade.routing.learned._features import ANSWER_FEATURES, CostModel, answer_features, feature_matrix
from escalade.routing.learned._gain import CompiledGainRouter, GainRouter, curve_area

__all__ = [
    "ANSWER_FEATURES",
    "FORMAT",
    "MAX_ARTIFACT_BYTES",
    "MAX_MAGNITUDE",
    "MAX_METADATA_KEYS",
    "MAX_NGRAM",
    "MAX_TERMS",
    "TOKEN_PATTERNS",
    "CompiledGainRouter",
    "CostModel",
    "Embedder",
    "GainRouter",
    "MiniLMEmbedder",
    "Probability",
    "RouterArtifact",
    "TextEncoder",
    "answer_features",
    "curve_area",
    "embeddings_available",
    "feature_matrix",
    "load_router",
    "save_router",
]
