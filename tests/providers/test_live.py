"""Live providers: built from a key (no key store) through the registry, with the providers' default ladders."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder, Tier
from escalade.providers import (
    PROVIDERS,
    AnthropicProvider,
    OpenAICompatibleProvider,
    ProviderOptions,
    SecretKey,
    default_ladder,
    live_provider,
)
from tests.providers.third_party import EchoProvider

KEY = SecretKey("sk-live-test-0123456789", source="OPENAI_API_KEY")


def test_builtins_are_built_from_the_key_and_options() -> None:
    """The built-ins take the key handed over and the options that apply to them."""
    openai = live_provider("openai", KEY, ProviderOptions(stream=True, unknown_costs="allow"))
    assert isinstance(openai, OpenAICompatibleProvider)
    assert openai.stream
    assert openai.provider_id == "openai"
    anthropic = live_provider("anthropic", KEY, ProviderOptions(cache_prompts=True, base_url="http://127.0.0.1:9"))
    assert isinstance(anthropic, AnthropicProvider)
    assert anthropic.cache_prompts
    assert not anthropic.stream


def test_a_plugin_gets_the_key_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party provider is built by name with the same key and options a built-in gets."""
    echo = EntryPoint(name="echo", value="tests.providers.third_party:EchoProvider", group=PROVIDERS)
    monkeypatch.setattr(
        "escalade.providers._registry.entry_points",
        lambda group: [*entry_points(group=group), *([echo] if group == PROVIDERS else [])],
    )
    options = ProviderOptions(timeout_s=5.0)
    built = live_provider("echo", KEY, options)
    assert isinstance(built, EchoProvider)
    assert built.key is KEY
    assert built.options is options
    default = live_provider("echo", KEY)
    assert isinstance(default, EchoProvider)
    assert default.options == ProviderOptions()


def test_unknown_provider_is_a_config_error() -> None:
    """An unknown name lists the registered providers."""
    with pytest.raises(ConfigError, match=r"unknown provider 'mistral'; available: anthropic, openai$"):
        live_provider("mistral", KEY)


@pytest.mark.parametrize(
    ("provider", "models"),
    [
        ("openai", [("gpt-4.1-nano", "gpt-4o-mini"), ("gpt-4.1-mini",), ("gpt-4.1",)]),
        ("anthropic", [("claude-haiku-4-5",), ("claude-sonnet-4-6",), ("claude-opus-4-6",)]),
    ],
)
def test_default_ladder_comes_from_the_adapter(provider: str, models: list[tuple[str, ...]]) -> None:
    """Each adapter's default_models fill the ladder's tiers."""
    assert [t.models for t in default_ladder(provider, Ladder.default())] == models


def test_default_ladder_needs_defaults_for_every_tier() -> None:
    """A tier the provider has no default models for must be named in the configuration."""
    ladder = Ladder([*Ladder.default(), Tier(name="expert", rank=3)])
    with pytest.raises(ConfigError, match=r"tier\(s\) expert have no default openai models"):
        default_ladder("openai", ladder)
