"""Cache-aware model choice: which of a tier's models is cheapest once warm prompt caches count.

Providers cache exact prompt *prefixes* for minutes; a prompt that starts like one recently sent to
the same model is partly billed at the cache-read price, so a model dearer at list price can be the
cheaper choice. :class:`PrefixMemory` remembers what was sent to each model as salted SHA-256 hashes
of the prompt's leading blocks of 128 estimated tokens (512 characters; never the text), forgets a
prefix when its :class:`CachePolicy` lifetime has passed since it was last sent, and evicts the
least recently sent hashes beyond ``max_entries``. A shared prefix shorter than the provider's
minimum cacheable length counts for nothing.

Providers do not promise a hit (requests are routed across servers; caches are evicted early), so
the chance that a predicted hit is real is learned per model from recorded outcomes: the mean of a
Beta posterior over "predicted hit → actual hit", from a Beta(4, 1) prior (mean 0.8, worth five
calls, so a handful of real outcomes outweigh it).

:class:`CacheAwareRouter` prices a request with :meth:`PriceBook.token_prices
<escalade.providers.pricing._genai.PriceBook.token_prices>`. With ``N`` prompt tokens, ``O`` expected
output tokens, a shared prefix of ``S`` tokens and hit probability ``p``:

- full cost ``N × input + O × output`` (no cache);
- expected cache reads ``C = p × S``; cache discount ``C × (input − cache read)``;
- expected cache writes ``W = N − C`` when the policy says requests write the cache, the prompt is
  cacheable and writes are billed apart from input (Anthropic: 1.25 × input), else 0; write
  surcharge ``W × (cache write − input)``;
- effective cost ``full − discount + surcharge``.

A model with no known price is never treated as free: its costs are ``None`` and it ranks last.

>>> memory = PrefixMemory(clock=lambda: 0.0)
>>> router = CacheAwareRouter(memory)
>>> tier = Tier(name="capable", rank=1, models=("gpt-4o", "claude-sonnet-4-0"))
>>> prompt = "Review this contract clause by clause. " * 1500
>>> router.rank_models(tier, prompt)
('gpt-4o', 'claude-sonnet-4-0')
>>> _ = memory.observe("claude-sonnet-4-0", prompt)  # sent to Claude a moment ago: its cache is warm
>>> router.rank_models(tier, prompt)
('claude-sonnet-4-0', 'gpt-4o')

All methods are synchronous and hold a lock only briefly, so one memory may be shared by threads
and by coroutines of one event loop; it lives in one process's memory and is not persisted.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from escalade.exceptions import ConfigError
from escalade.ladder import Tier
from escalade.providers import Completion, CompletionRequest
from escalade.providers.pricing import PriceBook, TokenPrices, estimate_tokens
from escalade.routing._cache_costs import CacheRanking, RequestCost, request_cost

__all__ = [
    "CacheAwareRouter",
    "CacheLookup",
    "CachePolicy",
    "CachePolicyFor",
    "CacheRanking",
    "CacheStats",
    "PrefixMemory",
    "RequestCost",
    "default_cache_policy",
]

logger = logging.getLogger(__name__)

_CHARS_PER_TOKEN = 4  # as estimate_tokens
_WHOLE_PROMPT = b"\x00whole-prompt\x00"


@dataclass(frozen=True, kw_only=True)
class CachePolicy:
    """How a provider caches one model's prompts.

    >>> CachePolicy(min_tokens=2048)
    CachePolicy(min_tokens=2048, ttl_s=300.0, writes=True)
    """

    #: Shortest prefix, in tokens, the provider caches.
    min_tokens: int = 1024
    #: Seconds a cached prefix lives after it was last sent.
    ttl_s: float = 300.0
    #: Whether requests write their prompt to the cache (Anthropic caches only up to a request's breakpoint).
    writes: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "ttl_s", float(self.ttl_s))
        if self.min_tokens < 1:
            raise ConfigError(f"must be at least 1, got {self.min_tokens}", field="min_tokens")
        if not self.ttl_s > 0:
            raise ConfigError(f"must be positive, got {self.ttl_s}", field="ttl_s")


#: Gives the cache policy of a model (a plain function of the model name).
CachePolicyFor = Callable[[str], CachePolicy]

#: Anthropic minimums that differ from 1,024 tokens, first match wins (name fragments, ``.`` read as ``-``).
_ANTHROPIC_MINIMUMS = (("haiku-4-5", 4096), ("opus-4-5", 4096), ("opus-4-6", 4096), ("haiku", 2048))


def default_cache_policy(model: str) -> CachePolicy:
    """The built-in policy for ``model``: a five-minute lifetime and the provider's minimum length.

    OpenAI caches prompts of 1,024 tokens or more automatically, for 5 to 10 minutes of disuse.
    Anthropic (any ``claude`` model) caches from 1,024 tokens (2,048 for Claude 3/3.5 Haiku; 4,096
    for Haiku 4.5 and Opus 4.5), for 5 minutes by default. Other providers get 1,024 tokens. The
    lower end of each lifetime is used, so no hit is predicted from a cache that may be gone.

    >>> default_cache_policy("claude-3-5-haiku-latest").min_tokens
    2048
    >>> default_cache_policy("gpt-4o")
    CachePolicy(min_tokens=1024, ttl_s=300.0, writes=True)
    """
    name = model.lower().replace(".", "-")
    if "claude" in name:
        for fragment, minimum in _ANTHROPIC_MINIMUMS:
            if fragment in name:
                return CachePolicy(min_tokens=minimum)
    return CachePolicy()


@dataclass(frozen=True, kw_only=True)
class CacheLookup:
    """What the memory expects of one prompt sent to one model.

    >>> look = CacheLookup(model="m", prompt_tokens=3000, shared_prefix_tokens=2048,
    ...                    hit_probability=0.5, policy=CachePolicy())
    >>> look.expected_cached_tokens
    1024.0
    """

    model: str
    #: Estimated tokens of the whole prompt.
    prompt_tokens: int
    #: Tokens of the longest fresh prefix sent before (0 when expired or below the minimum).
    shared_prefix_tokens: int
    #: Chance that the prefix is read from the cache (0 when no hit is predicted).
    hit_probability: float
    #: The policy the lookup used.
    policy: CachePolicy

    @property
    def expected_cached_tokens(self) -> float:
        """Expected prompt tokens read from the cache."""
        return self.hit_probability * self.shared_prefix_tokens


@dataclass(frozen=True, kw_only=True)
class CacheStats:
    """What one model's recorded outcomes taught the memory.

    >>> CacheStats(predicted_hits=3, actual_hits=2, unexpected_hits=0, alpha=6.0, beta=2.0).hit_probability
    0.75
    """

    #: Outcomes recorded where a hit was predicted.
    predicted_hits: int
    #: Of those, the calls that did read from the cache.
    actual_hits: int
    #: Calls that read from the cache although no hit was predicted (e.g. another process warmed it).
    unexpected_hits: int
    #: Beta posterior parameters (prior plus actual hits, prior plus misses).
    alpha: float
    beta: float

    @property
    def hit_probability(self) -> float:
        """Posterior mean chance that a predicted hit is real."""
        return self.alpha / (self.alpha + self.beta)


class PrefixMemory:
    """Hashes of recently sent prompt prefixes per model, with hit chances learned from outcomes.

    >>> clock = iter([0.0, 10.0, 400.0]).__next__
    >>> memory = PrefixMemory(clock=clock)
    >>> prompt = "x" * 8000  # 2,000 estimated tokens
    >>> memory.observe("gpt-4o", prompt).shared_prefix_tokens  # nothing sent before
    0
    >>> memory.lookup("gpt-4o", prompt).shared_prefix_tokens  # 10 s later: 15 blocks of 128 tokens
    1920
    >>> memory.lookup("gpt-4o", prompt).shared_prefix_tokens  # 400 s later: expired
    0
    """

    def __init__(
        self,
        *,
        max_entries: int = 50_000,
        block_tokens: int = 128,
        prior_hits: float = 4.0,
        prior_misses: float = 1.0,
        policy: CachePolicyFor = default_cache_policy,
        clock: Callable[[], float] = time.monotonic,
        salt: bytes | None = None,
        max_pending: int = 1024,
    ) -> None:
        sizes = {"max_entries": max_entries, "block_tokens": block_tokens, "max_pending": max_pending}
        for field, value in sizes.items():
            if value < 1:
                raise ConfigError(f"must be at least 1, got {value}", field=field)
        if not (prior_hits > 0 and prior_misses > 0):
            raise ConfigError("Beta prior counts must be positive", field="prior_hits/prior_misses")
        self.max_entries = max_entries
        self.block_tokens = block_tokens
        self.prior = (float(prior_hits), float(prior_misses))
        self._policy = policy
        self._clock = clock
        self._salt = secrets.token_bytes(16) if salt is None else salt
        self._max_pending = max_pending
        self._lock = threading.RLock()
        self._entries: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        self._pending: OrderedDict[tuple[str, bytes], int] = OrderedDict()
        self._outcomes: dict[str, list[int]] = {}  # model → [predicted, actual, unexpected]
        self._policies: dict[str, CachePolicy] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"PrefixMemory(entries={len(self)}, max_entries={self.max_entries}, block_tokens={self.block_tokens})"

    def policy_for(self, model: str) -> CachePolicy:
        """The cache policy of ``model`` (looked up once, then remembered)."""
        with self._lock:
            if model not in self._policies:
                self._policies[model] = self._policy(model)
            return self._policies[model]

    def entries(self) -> tuple[tuple[str, str, float], ...]:
        """Stored state, oldest first: (model, prefix hash in hex, last sent). No prompt text."""
        with self._lock:
            return tuple((model, digest.hex(), seen) for (model, digest), seen in self._entries.items())

    def lookup(self, model: str, prompt: str, now: float | None = None) -> CacheLookup:
        """The longest fresh prefix of ``prompt`` sent to ``model`` before, and the chance it is read."""
        at = self._clock() if now is None else now
        return self._lookup(model, prompt, at, self._digests(prompt))

    def _lookup(self, model: str, prompt: str, at: float, digests: list[bytes]) -> CacheLookup:
        policy = self.policy_for(model)
        with self._lock:
            shared = self._shared_blocks(model, digests, at, policy.ttl_s) * self.block_tokens
            chance = self.stats(model).hit_probability
        if shared < policy.min_tokens:
            shared = 0
        return CacheLookup(
            model=model,
            prompt_tokens=estimate_tokens(prompt),
            shared_prefix_tokens=shared,
            hit_probability=chance if shared else 0.0,
            policy=policy,
        )

    def observe(self, model: str, prompt: str, now: float | None = None) -> CacheLookup:
        """Remember that ``prompt`` was sent to ``model``; returns what was expected before it was sent.

        Only prefixes at least the policy's minimum long are stored. The expectation is kept (by
        hash) until :meth:`record_outcome` reports what the provider actually read from its cache.
        """
        at = self._clock() if now is None else now
        digests = self._digests(prompt)
        with self._lock:
            before = self._lookup(model, prompt, at, digests)
            first = max(math.ceil(before.policy.min_tokens / self.block_tokens) - 1, 0)
            for digest in reversed(digests[first:]):  # the shortest prefix ends most recent
                self._entries[model, digest] = at
                self._entries.move_to_end((model, digest))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            key = (model, self._whole_digest(prompt))
            self._pending[key] = before.shared_prefix_tokens
            self._pending.move_to_end(key)
            while len(self._pending) > self._max_pending:
                self._pending.popitem(last=False)
        return before

    def record_outcome(self, model: str, prompt: str, cached_tokens: int) -> bool:
        """Learn from the provider's bill: ``cached_tokens`` were read from the cache for ``prompt``.

        Returns ``False`` (and learns nothing) when ``prompt`` was not observed for ``model`` or its
        outcome was already recorded. Only calls where a hit was predicted move the probability.
        """
        if cached_tokens < 0:
            raise ConfigError(f"must be >= 0, got {cached_tokens}", field="cached_tokens")
        key = (model, self._whole_digest(prompt))
        with self._lock:
            predicted = self._pending.pop(key, None)
            if predicted is None:
                return False
            counts = self._outcomes.setdefault(model, [0, 0, 0])
            if predicted > 0:
                counts[0] += 1
                counts[1] += int(cached_tokens > 0)
            elif cached_tokens > 0:
                counts[2] += 1
        return True

    def stats(self, model: str) -> CacheStats:
        """Recorded outcomes of ``model`` and the resulting Beta posterior."""
        with self._lock:
            predicted, actual, unexpected = self._outcomes.get(model, (0, 0, 0))
        hits, misses = self.prior
        return CacheStats(
            predicted_hits=predicted,
            actual_hits=actual,
            unexpected_hits=unexpected,
            alpha=hits + actual,
            beta=misses + predicted - actual,
        )

    def _digests(self, prompt: str) -> list[bytes]:
        """Salted SHA-256 of each whole-block prefix of ``prompt``, shortest first."""
        size = self.block_tokens * _CHARS_PER_TOKEN
        running = hashlib.sha256(self._salt)
        digests = []
        for start in range(0, len(prompt) - size + 1, size):
            running.update(prompt[start : start + size].encode())
            digests.append(running.copy().digest())
        return digests

    def _whole_digest(self, prompt: str) -> bytes:
        return hashlib.sha256(self._salt + _WHOLE_PROMPT + prompt.encode()).digest()

    def _shared_blocks(self, model: str, digests: list[bytes], at: float, ttl_s: float) -> int:
        for count in range(len(digests), 0, -1):
            seen = self._entries.get((model, digests[count - 1]))
            if seen is not None and at - seen <= ttl_s:
                return count
        return 0


class CacheAwareRouter:
    """Prices requests and ranks a tier's models with what :class:`PrefixMemory` expects of caches.

    >>> router = CacheAwareRouter()
    >>> cost = router.calculate_request_cost("x" * 400, Tier(name="t", rank=0, models=("gpt-4o",)), "gpt-4o")
    >>> round(cost.full_cost_usd, 6), cost.cache_hit_probability
    (0.00281, 0.0)
    """

    def __init__(
        self, memory: PrefixMemory | None = None, *, book: PriceBook | None = None, expected_output_tokens: int = 256
    ) -> None:
        _check_output(expected_output_tokens)
        self.memory = memory if memory is not None else PrefixMemory()
        self.book = book or PriceBook()
        #: Output tokens assumed per request: a quarter of the default 1,024-token cap, as the estimator.
        self.expected_output_tokens = expected_output_tokens

    def calculate_request_cost(
        self,
        prompt: str,
        tier: Tier,
        model: str,
        *,
        expected_output_tokens: int | None = None,
        now: float | None = None,
    ) -> RequestCost:
        """Full, effective and discount cost of sending ``prompt`` to ``model`` of ``tier``."""
        if model not in tier.models:
            raise ConfigError(f"model {model!r} is not one of tier {tier.name!r}'s models", field="model")
        output = self.expected_output_tokens if expected_output_tokens is None else expected_output_tokens
        _check_output(output)
        look = self.memory.lookup(model, prompt, now)
        return request_cost(tier.name, look, self._prices(model, look.prompt_tokens), output)

    def _prices(self, model: str, prompt_tokens: int) -> TokenPrices | None:
        """Prices of ``model``, read as ``provider/name`` first when it has a slash."""
        provider, slash, name = model.partition("/")
        found = self.book.token_prices(name, provider=provider, prompt_tokens=prompt_tokens) if slash else None
        return found or self.book.token_prices(model, prompt_tokens=prompt_tokens)

    def rank(
        self, tier: Tier, prompt: str, *, expected_output_tokens: int | None = None, now: float | None = None
    ) -> CacheRanking:
        """``tier``'s models (each once) by expected effective cost, cheapest first, with every cost."""
        if not tier.models:
            raise ConfigError(f"tier {tier.name!r} has no models to rank", field=f"{tier.name}.models")
        costs = [
            self.calculate_request_cost(prompt, tier, model, expected_output_tokens=expected_output_tokens, now=now)
            for model in dict.fromkeys(tier.models)
        ]
        costs.sort(key=lambda c: (c.effective_cost_usd is None, c.effective_cost_usd or 0.0))  # stable: ties keep order
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("cache-aware order for tier %r: %s", tier.name, "; ".join(c.reason for c in costs))
        return CacheRanking(tier=tier.name, costs=tuple(costs))

    def rank_models(
        self, tier: Tier, prompt: str, *, expected_output_tokens: int | None = None, now: float | None = None
    ) -> tuple[str, ...]:
        """Just the model names of :meth:`rank`."""
        return self.rank(tier, prompt, expected_output_tokens=expected_output_tokens, now=now).models

    # -- as the cascade's model order and call observer ----------------------------------------------
    def before_call(self, request: CompletionRequest) -> None:
        """Remember the prompt a call is about to send (its system text first, as providers cache it)."""
        self.memory.observe(request.model, _as_sent(request))

    def after_call(self, request: CompletionRequest, completion: Completion) -> None:
        """Learn from the cache reads the provider reported for that call."""
        self.memory.record_outcome(request.model, _as_sent(request), completion.usage.cached_input_tokens)


def _as_sent(request: CompletionRequest) -> str:
    return "\n\n".join(request.texts())


def _check_output(tokens: int) -> None:
    if tokens < 0:
        raise ConfigError(f"must be >= 0, got {tokens}", field="expected_output_tokens")
