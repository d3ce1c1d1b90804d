"""The provider registry: built-ins and third-party providers are found through the same entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest

from escalade.cli.live import live_provider_names
from escalade.exceptions import ConfigError
from escalade.ladder import Ladder
from escalade.providers import (
    PROVIDERS,
    AnthropicProvider,
    OpenAICompatibleProvider,
    ProviderFactory,
    available_providers,
    default_ladder,
    provider_factory,
)
from tests.providers.third_party import EchoProvider, NoDefaults

_REAL = entry_points


def _registered(monkeypatch: pytest.MonkeyPatch, *extra: EntryPoint, builtins: bool = True) -> None:
    """Entry points as if ``extra`` were installed beside (or, without ``builtins``, instead of) escalade's own."""

    def patched(group: str) -> list[EntryPoint]:
        found = list(_REAL(group=group)) if builtins else []
        return found + [ep for ep in extra if ep.group == group]

    monkeypatch.setattr("escalade.providers._registry.entry_points", patched)


def _plugin(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=PROVIDERS)


def test_builtins_are_registered_entry_points() -> None:
    """openai and anthropic come from escalade's own entry points, with their default models."""
    assert {ep.name: ep.value for ep in _REAL(group=PROVIDERS)} == {
        "anthropic": "escalade.providers._anthropic:AnthropicProvider",
        "openai": "escalade.providers._openai:OpenAICompatibleProvider",
    }
    assert available_providers() == ["anthropic", "openai"]
    assert provider_factory("openai") is OpenAICompatibleProvider
    assert provider_factory("anthropic") is AnthropicProvider
    assert AnthropicProvider.default_models["cheap"] == ("claude-haiku-4-5",)
    factories: list[ProviderFactory] = [OpenAICompatibleProvider, AnthropicProvider, EchoProvider]  # typed as such
    assert all(callable(f.from_options) for f in factories)


def test_builtins_have_no_other_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing registered, the built-ins are unknown too: no name is looked up outside the registry."""
    _registered(monkeypatch, builtins=False)
    assert available_providers() == []
    with pytest.raises(ConfigError, match="unknown provider 'openai'; available: none"):
        provider_factory("openai")


def test_third_party_provider_is_found_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider another package registers is listed, loaded and gives its default ladder like a built-in."""
    _registered(monkeypatch, _plugin("echo", "tests.providers.third_party:EchoProvider"))
    assert available_providers() == ["anthropic", "echo", "openai"]
    assert live_provider_names() == ["openai", "anthropic", "echo"]
    assert provider_factory("echo") is EchoProvider
    assert [t.models for t in default_ladder("echo", Ladder.default())] == [
        ("echo-small",),
        ("echo-medium",),
        ("echo-large",),
    ]
    assert provider_factory("openai") is OpenAICompatibleProvider


def test_unknown_provider_lists_the_available_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown name is a ConfigError naming every registered provider, plugins included."""
    with pytest.raises(ConfigError, match=r"unknown provider 'mistral'; available: anthropic, openai$"):
        provider_factory("mistral")
    _registered(monkeypatch, _plugin("echo", "tests.providers.third_party:EchoProvider"))
    with pytest.raises(ConfigError, match=r"unknown provider 'mistral'; available: anthropic, echo, openai$") as caught:
        default_ladder("mistral", Ladder.default())
    assert caught.value.field == "provider"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no_such_module_xyz:factory", r"provider 'broken' \(no_such_module_xyz:factory\) failed to load"),
        ("tests.providers.third_party:NotAFactory", r"provider 'broken' \(.*NotAFactory\) has no from_options"),
    ],
)
def test_broken_plugin_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    """A plugin that cannot be imported, or that names no factory, is one clear ConfigError."""
    _registered(monkeypatch, _plugin("broken", value))
    with pytest.raises(ConfigError, match=message):
        provider_factory("broken")


def test_provider_without_default_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider that names no default models needs a configuration that names them."""
    _registered(monkeypatch, _plugin("bare", "tests.providers.third_party:NoDefaults"))
    assert provider_factory("bare") is NoDefaults
    with pytest.raises(ConfigError, match="no default models for provider 'bare'"):
        default_ladder("bare", Ladder.default())
