"""Templates: every built-in in every format, missing fields as defaults, HTML escaped, your own files
loaded, and hostile ones refused with the file and the reason."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from escalade.exceptions import InboxError
from escalade.inbox import BatchManager, Templates
from escalade.inbox._templates import BUILTIN_TEMPLATES, FORMATS
from tests.inbox.items import NOW, item


@pytest.mark.parametrize("kind", ["deployment", "architecture", "data", "security", "maintenance"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_built_in_renders_in_every_format(kind: str, fmt: str) -> None:
    made = item("high", type=kind, systems=("payments",), classification={"reversible": False, "scope": "component"})
    out = Templates().render(made, fmt)  # type: ignore[arg-type]  # one of FORMATS
    assert made.description in out
    assert "rule x" in out
    assert "payments" in out
    assert {"html": "<h3>", "markdown": "### ", "text": "===="}[fmt] in out


def test_a_missing_field_renders_as_not_given() -> None:
    out = Templates().render(item(type="data"), "text")  # no classification at all
    assert "Records: (not given)" in out


def test_html_is_escaped() -> None:
    out = Templates().render(item(systems=("<script>alert(1)</script>",)), "html")
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_a_batch_summary_lists_its_groups() -> None:
    batch = BatchManager().due([item("critical", systems=("db",)), item(systems=("db",))], NOW)
    assert batch is not None
    out = Templates().render_batch(batch, "markdown")
    assert out.startswith("### 2 decisions wait for you")
    assert "**2 configuration decisions on db (1 high or critical)**" in out


def test_your_own_templates_replace_the_built_ins(tmp_path: Path) -> None:
    (tmp_path / "deployment.j2").write_text("Ship {{ item.description }}? {{ item.nothing.deeper }}", encoding="utf-8")
    templates = Templates.load(tmp_path)
    assert templates.render(item(type="deployment"), "text").startswith("Ship change number")
    assert "(not given)" in templates.render(item(type="deployment"), "text")
    assert "Why it waits" in templates.render(item(type="security"), "text")  # the others stay built in
    assert set(BUILTIN_TEMPLATES) >= {"deployment", "architecture", "data", "security", "batch", "default"}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ item.__class__.__mro__ }}", "attribute '__class__'"),
        ("{{ ''.__class__.__base__.__subclasses__() }}", "attribute '__class__'"),
        ("{{ item.reasons.append(1) }}", "not allowed"),
        ("{% for i in range(100000) %}{% endfor %}", "at most 1000 numbers"),
        ("{{ 'x' * 10000000 }}", "works on numbers only"),
        ("{{ [item.description] * 100000 }}", "works on numbers only"),
        ("{{ '%999999999d' % 1 }}", "works on numbers only"),
        ("{{ 9 ** 99999 }}", "powers above 100"),
        ("{{ ((10 ** 100) ** 100) > 1 }}", "numbers above"),
        ("{% for i in range(20) %}{{ item.description }}{% endfor %}", "more than 200000 characters"),
        ("{{ item.description | center(1000000000) }}", "cannot be compiled"),
        ("{{ item.description.ljust(1000000000) }}", "attribute 'ljust'"),
        ("{{ dict.update(item, a=1) }}", "'dict' is undefined"),
        ("{{ cycler() }}", "failed"),
        ("{{ '{:>999999999}'.format(1) }}", "attribute 'format'"),
        ("{{ item.description['format'](1) }}", "attribute 'format'"),
        ("{{ lipsum(n=300000) }}", "failed"),
    ],
)
def test_a_hostile_template_is_refused_when_rendered(source: str, reason: str) -> None:
    long = dataclasses.replace(item(type="deployment"), description="y" * 20_000)
    with pytest.raises(InboxError, match=reason):
        Templates({"deployment": source}).render(long, "text")


def test_a_template_sees_a_copy_and_cannot_change_the_item() -> None:
    made = item(type="deployment", response={"parameters": {"a": 1}})
    with pytest.raises(InboxError):
        Templates({"deployment": "{{ item.response.parameters.update({'a': 666}) }}"}).render(made, "text")
    assert made.response == {"parameters": {"a": 1}}


def test_an_expensive_template_runs_out_of_its_own_process_limits() -> None:
    """A loop nest over long strings is neither refused when loaded nor bounded by the sandbox: the
    process it renders in is, and it is killed, not the caller."""
    long = dataclasses.replace(item(type="deployment"), description="y" * 20_000)
    costly = "{% for a in item.description %}{% for b in item.description %}{% endfor %}{% endfor %}"
    with pytest.raises(InboxError, match=r"CPU time or memory|longer than"):
        Templates({"deployment": costly}).render(long, "text")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{% include '/etc/passwd' %}", "includes another file"),
        ("{% import 'x' as y %}", "imports another file"),
        ("{% extends 'base' %}", "extends another file"),
        ("{% macro m() %}{{ m() }}{% endmacro %}", "defines a macro"),
        ("{% for a in x recursive %}{{ loop(a) }}{% endfor %}", "recursive loop"),
        ("{% for a in x %}{% for b in x %}{% for c in x %}{% endfor %}{% endfor %}{% endfor %}", "nested more than 2"),
        ("{% if %}", "line 1"),
        ("x" * 70_000, "larger than"),
        ("{% block a %}{{ self.a() }}{% endblock %}", "defines a block"),
        ("{{ super() }}", "uses 'super'"),
        ("{{ " + "(" * 300 + "1" + ")" * 300 + " }}", r"cannot be (compiled|parsed)"),
    ],
)
def test_a_hostile_template_file_is_refused_with_the_file_and_reason(tmp_path: Path, source: str, reason: str) -> None:
    path = tmp_path / "security.j2"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(InboxError, match=reason) as caught:
        Templates.load(tmp_path)
    assert "security.j2" in str(caught.value)


def test_links_pipes_and_devices_are_never_read(tmp_path: Path) -> None:
    (tmp_path / "deployment.j2").symlink_to("/etc/passwd")
    with pytest.raises(InboxError, match="a link is not followed"):
        Templates.load(tmp_path)
    (tmp_path / "deployment.j2").unlink()
    os.mkfifo(tmp_path / "security.j2")
    with pytest.raises(InboxError, match="not a regular file"):
        Templates.load(tmp_path)


def test_an_unknown_format_or_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InboxError, match="format must be one of"):
        Templates().render(item(), "pdf")  # type: ignore[arg-type]  # the error path under test
    with pytest.raises(InboxError, match="not a folder"):
        Templates.load(tmp_path / "missing")
