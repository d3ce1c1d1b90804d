"""Untrusted files (rules, profiles, configs, triggers): bounded in size, deep nesting names the file, libyaml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from escalade import untrusted
from escalade.autonomy import load_profiles, load_rules
from escalade.exceptions import ConfigError, DatasetError, RuleError
from escalade.ladder import load_config
from escalade.replay import load_dataset
from escalade.routing import load_trigger_patterns
from escalade.testgen import RecordedAnswers
from escalade.testgen import _answers as answers
from escalade.untrusted import MAX_FILE_BYTES, read_data


def _never(*_: Any, **__: Any) -> Any:
    raise AssertionError("the file was parsed")


@pytest.mark.parametrize("name", ["rules.yaml", "rules.toml"])
def test_file_over_the_limit_is_refused_unparsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A rule file over 1 MiB is refused before it is parsed, naming the file, its size and the limit."""
    path = tmp_path / name
    path.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1), encoding="utf-8")
    monkeypatch.setattr(untrusted, "parse_yaml", _never)
    monkeypatch.setattr(tomllib, "loads", _never)
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    size = path.stat().st_size
    assert str(caught.value) == (
        f"{path}: the rule file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes (1 MiB): split or trim it"
    )


def test_file_at_the_limit_is_read(tmp_path: Path) -> None:
    """A file of exactly the limit is read."""
    path = tmp_path / "rules.toml"
    head = 'disable = ["high_cost"]\n'
    path.write_text(head + "#" * (MAX_FILE_BYTES - len(head) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert "high_cost" not in load_rules(path).names()


def test_profiles_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    """The same limit holds for a profiles file."""
    path = tmp_path / "profiles.toml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match=r"the profiles file is 1,048,577 bytes, over the limit") as caught:
        load_profiles(path)
    assert caught.value.source == str(path)


@pytest.mark.parametrize(
    ("name", "text", "c_loader", "message"),
    [
        ("rules.toml", "a = " + "[" * 100_000 + "]" * 100_000, True, "nested too deeply"),
        ("rules.yaml", "a: " + "[" * 100_000 + "]" * 100_000, True, "not valid YAML"),  # libyaml's own depth limit
        ("rules.yaml", "a: " + "[" * 100_000 + "]" * 100_000, False, "nested too deeply"),
        ("profiles.toml", "[profiles]\nx = " + "{a = " * 5_000 + "1" + "}" * 5_000, True, "nested too deeply"),
    ],
    ids=["toml", "yaml-libyaml", "yaml-python", "profiles"],
)
def test_deep_nesting_is_an_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, c_loader: bool, message: str
) -> None:
    """Nesting too deep for the parser is the file's error (never a RecursionError), with or without libyaml."""
    if not c_loader:
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    load = load_profiles if name.startswith("profiles") else load_rules
    with pytest.raises(ConfigError, match=message) as caught:
        load(path)
    assert caught.value.source == str(path)


def test_yaml_uses_the_c_loader_where_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """YAML is read with yaml.CSafeLoader when PyYAML has libyaml, else with the pure-Python SafeLoader."""
    seen: list[type] = []
    real, c_loader = yaml.load, getattr(yaml, "CSafeLoader", None)

    def spy(stream: str, Loader: type) -> Any:  # noqa: N803  (PyYAML's name)
        seen.append(Loader)
        return real(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "load", spy)
    path = tmp_path / "rules.yaml"
    path.write_text("disable: [high_cost]\n", encoding="utf-8")
    assert read_data(path, "yaml", what="rule file", error=RuleError) == {"disable": ["high_cost"]}
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    read_data(path, "yaml", what="rule file", error=RuleError)
    assert seen == [c_loader or yaml.SafeLoader, yaml.SafeLoader]
    assert c_loader is not None or not yaml.__with_libyaml__


@pytest.mark.parametrize("what", ["config", "triggers"])
def test_config_and_trigger_files_are_bounded_too(tmp_path: Path, what: str) -> None:
    """A config or trigger file over the limit is refused before it is parsed, naming the file."""
    path = tmp_path / f"{what}.toml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    load = load_config if what == "config" else load_trigger_patterns
    with pytest.raises(ConfigError, match=r"is 1,048,577 bytes, over the limit of 1,048,576 bytes") as caught:
        load(path)
    assert str(path) in str(caught.value)


def test_manifest_and_answers_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset manifest over 1 MiB and a recorded-answers file over its limit are refused unread, named."""
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(DatasetError, match=r"manifest\.json: the manifest is 1,048,577 bytes, over the limit"):
        load_dataset(folder)
    monkeypatch.setattr(answers, "MAX_ANSWERS_BYTES", 100)
    big = tmp_path / "answers.json"
    big.write_bytes(b" " * 101)
    with pytest.raises(DatasetError, match=r"answers\.json: the answers file is 101 bytes, over the limit of 100"):
        RecordedAnswers.from_file(big)
