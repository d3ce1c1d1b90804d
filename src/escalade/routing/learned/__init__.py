"""Learned routing: features, text classifiers, the gain router, the answer verifier and their saved artifacts."""

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
from escalade.routing.learned._verifier import CompiledVerifier, TextTerms, VerifierScorer, fit_verifier
from escalade.routing.learned._verifier_artifact import (
    VERIFIER_FORMAT,
    VerifierArtifact,
    load_verifier,
    save_verifier,
)

__all__ = [
    "ANSWER_FEATURES",
    "FORMAT",
    "MAX_ARTIFACT_BYTES",
    "MAX_MAGNITUDE",
    "MAX_METADATA_KEYS",
    "MAX_NGRAM",
    "MAX_TERMS",
    "TOKEN_PATTERNS",
    "VERIFIER_FORMAT",
    "CompiledGainRouter",
    "CompiledVerifier",
    "CostModel",
    "Embedder",
    "GainRouter",
    "MiniLMEmbedder",
    "Probability",
    "RouterArtifact",
    "TextEncoder",
    "TextTerms",
    "VerifierArtifact",
    "VerifierScorer",
    "answer_features",
    "curve_area",
    "embeddings_available",
    "feature_matrix",
    "fit_verifier",
    "load_router",
    "load_verifier",
    "save_router",
    "save_verifier",
]
