"""``find_targets``: the public top-level functions and classes of a file, and one clear error per bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.exceptions import TargetFileError
from escalade.testgen import TargetModule, find_targets

SHAPES = '''"""Shapes."""

import functools


def area(w, h):
    return w * h


async def fetch(url):
    return url


class Square:
    side = 1


@functools.lru_cache(
    maxsize=8,
)
def cached(n):
    return n


def _helper():
    pass


class _Private:
    pass


def __getattr__(name):
    raise AttributeError(name)
'''


@pytest.fixture
def shapes(tmp_path: Path) -> TargetModule:
    """The targets of a module with functions, an async function, a class, a decorated function and private names."""
    path = tmp_path / "shapes.py"
    path.write_text(SHAPES, encoding="utf-8")
    return find_targets(path)


def test_public_definitions_in_file_order(shapes: TargetModule) -> None:
    """Public functions, async functions and classes are targets, in the order the file defines them."""
    assert [(t.name, t.kind) for t in shapes.targets] == [
        ("area", "function"),
        ("fetch", "function"),
        ("Square", "class"),
        ("cached", "function"),
    ]


def test_private_names_are_skipped(shapes: TargetModule) -> None:
    """Names starting with an underscore (dunders included) are not targets."""
    assert not {t.name for t in shapes.targets} & {"_helper", "_Private", "__getattr__"}


def test_spans_and_source_of_each_target(shapes: TargetModule) -> None:
    """Each target's span covers its whole definition, and its source is exactly those lines."""
    lines = SHAPES.splitlines(keepends=True)
    spans = {t.name: (t.lineno, t.end_lineno) for t in shapes.targets}
    assert spans == {"area": (6, 7), "fetch": (10, 11), "Square": (14, 15), "cached": (18, 22)}
    for target in shapes.targets:
        assert target.source == "".join(lines[target.lineno - 1 : target.end_lineno])


def test_decorated_definition_starts_at_its_first_decorator(shapes: TargetModule) -> None:
    """A decorated function's span and source start at its decorator, even one spread over lines."""
    cached = next(t for t in shapes.targets if t.name == "cached")
    assert cached.source.startswith("@functools.lru_cache(\n    maxsize=8,\n)\ndef cached(n):")


def test_module_name_path_and_source(shapes: TargetModule, tmp_path: Path) -> None:
    """The module is named after the file, its path is absolute, and the whole file is kept as context."""
    assert shapes.module == "shapes"
    assert shapes.path == (tmp_path / "shapes.py").resolve()
    assert shapes.path.is_absolute()
    assert shapes.source == SHAPES


def test_only_top_level_definitions(tmp_path: Path) -> None:
    """Methods and nested functions are part of their class or function, not targets of their own."""
    path = tmp_path / "nested.py"
    path.write_text("class Box:\n    def open(self):\n        def inner():\n            pass\n", encoding="utf-8")
    assert [t.name for t in find_targets(path).targets] == ["Box"]


def test_relative_path_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path relative to the working folder gives an absolute module path (the sandbox copies it from there)."""
    (tmp_path / "rel.py").write_text("def f():\n    pass\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    module = find_targets(Path("rel.py"))
    assert module.path == tmp_path.resolve() / "rel.py"


def test_utf8_file_with_byte_order_mark_is_valid(tmp_path: Path) -> None:
    """A UTF-8 file starting with a byte-order mark is valid Python, as the interpreter reads it."""
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfdef f():\n    return 1\n")
    assert [t.name for t in find_targets(path).targets] == ["f"]


def test_source_is_right_after_a_form_feed(tmp_path: Path) -> None:
    """A form feed between definitions (PEP 8 allows them) does not shift the source of later targets."""
    path = tmp_path / "paged.py"
    path.write_text("def a():\n    return 1\n\x0c\ndef b():\n    return 2\n", encoding="utf-8")
    b = find_targets(path).targets[1]
    assert b.source == "def b():\n    return 2\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.py", None, "no such file"),
        ("notes.txt", "def f():\n    pass\n", "not a Python file (.py)"),
        ("script", "def f():\n    pass\n", "not a Python file (.py)"),
        ("my-file.py", "def f():\n    pass\n", "'my-file' is not a name tests could import"),
        ("2shapes.py", "def f():\n    pass\n", "'2shapes' is not a name tests could import"),
        ("json.py", "def f():\n    pass\n", "would shadow the standard library or pytest"),
        ("coverage.py", "def f():\n    pass\n", "would shadow the standard library or pytest"),
        ("latin.py", b"def f():\n    return '\xe9'\n", "not UTF-8 text"),
        ("private.py", "def _f():\n    pass\n\nX = 1\n", "no public top-level function or class"),
        ("empty.py", "", "no public top-level function or class"),
    ],
)
def test_bad_files_are_one_error_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes | None, message: str
) -> None:
    """Each unusable file is a TargetFileError whose message names the file and says why."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(TargetFileError) as info:
        find_targets(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert info.value.path == str(path)
    assert info.value.line is None


def test_unreadable_file_is_one_error(tmp_path: Path) -> None:
    """A .py path that cannot be read (here a folder) is a TargetFileError naming it."""
    path = tmp_path / "pkg.py"
    path.mkdir()
    with pytest.raises(TargetFileError, match=r"pkg\.py: cannot read it: ") as info:
        find_targets(path)
    assert info.value.path == str(path)


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    """A file that is not valid Python is an error naming the file, the line and the parser's reason."""
    path = tmp_path / "broken.py"
    path.write_text("def ok():\n    pass\n\ndef broken(:\n    pass\n", encoding="utf-8")
    with pytest.raises(TargetFileError) as info:
        find_targets(path)
    assert str(info.value).startswith(f"{path}, line 4: not valid Python: ")
    assert (info.value.path, info.value.line) == (str(path), 4)


def test_keyword_file_name_is_not_importable(tmp_path: Path) -> None:
    """A file named after a keyword cannot be imported by tests, so it is refused like my-file.py."""
    path = tmp_path / "class.py"
    path.write_text("def f():\n    pass\n", encoding="utf-8")
    with pytest.raises(TargetFileError, match="not a name tests could import"):
        find_targets(path)
