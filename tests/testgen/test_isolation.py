"""What a sandboxed run may see: never a wide folder, only Python sources beside the target, bounded."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from escalade.exceptions import ConfigError
from escalade.testgen import Sandbox, _isolation, exposed, mirror_sources, missing
from escalade.testgen import _sandbox as sandbox_module


def test_wide_folders_on_the_python_path_are_never_exposed(tmp_path: Path) -> None:
    """``/``, the home folder, the temporary folder and system trees stay out even if sys.path names them."""
    site = tmp_path / "site-packages"
    site.mkdir()
    wide = ["/", str(Path.home()), tempfile.gettempdir(), "/etc", "/var", "/run"]
    code, work = tmp_path / "code", tmp_path / "work"
    found = dict(exposed([*wide, str(site)], code, work))
    assert not set(wide) & set(found)
    assert found[str(site)] == "dir"
    assert found[str(code)] == "dir"
    assert found[str(work)] == "work"
    assert found["/dev/null"] == "device"


def test_exposed_lists_parents_first_without_repeating_what_they_hold(tmp_path: Path) -> None:
    """A folder inside one already exposed is not bound again; the order is parents first."""
    inner = tmp_path / "lib" / "python" / "site-packages"
    inner.mkdir(parents=True)
    paths = [p for p, _ in exposed([str(inner), str(tmp_path / "lib")], tmp_path / "c", tmp_path / "w")]
    assert str(tmp_path / "lib") in paths
    assert str(inner) not in paths
    depths = [p.count("/") for p in paths]
    assert depths == sorted(depths)


def test_mirror_copies_only_python_modules_and_packages(tmp_path: Path) -> None:
    """Modules and regular packages are copied, read-only; data, hidden folders and plain folders are not."""
    folder = tmp_path / "project"
    for name, text in {
        "target.py": "x = 1\n",
        "helper.py": "y = 2\n",
        "stubs.pyi": "z: int\n",
        ".env": "SECRET=1\n",
        "notes.txt": "private\n",
        "pkg/__init__.py": "",
        "pkg/mod.py": "w = 3\n",
        "pkg/data.json": "{}",
        "plain/mod.py": "v = 4\n",
        ".hidden/__init__.py": "",
        "pkg/__pycache__/__init__.py": "",
    }.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    dest = tmp_path / "mirror"
    mirror_sources(folder, dest)
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert copied == ["helper.py", "pkg/__init__.py", "pkg/mod.py", "stubs.pyi", "target.py"]
    assert (dest / "pkg" / "mod.py").stat().st_mode & 0o777 == 0o444


def test_mirror_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder with too many Python files is refused with the folder, the limits and what to do."""
    monkeypatch.setattr(_isolation, "MAX_MIRRORED_FILES", 3)
    for n in range(5):
        (tmp_path / f"m{n}.py").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"holds more than 3 Python files.*move the target to a smaller folder"):
        mirror_sources(tmp_path, tmp_path.parent / "mirror-out")


@pytest.mark.parametrize(
    ("layers", "lacking"),
    [
        (("private filesystem view", "seccomp filter"), ()),
        (("Landlock ABI 3: reads and writes outside the run", "seccomp filter"), ()),
        (("seccomp filter", "audit hook"), ("files outside the run can be neither read nor written",)),
        (("private filesystem view", "audit hook"), ("sockets and new processes are refused by the kernel",)),
        ((), tuple(_isolation.REQUIRED_ISOLATION)),
    ],
)
def test_missing_requirements(layers: tuple[str, ...], lacking: tuple[str, ...]) -> None:
    """A run needs one layer against the user's files and the kernel filter; what it lacks is named."""
    assert missing(layers) == lacking


def test_a_folder_over_the_bounds_is_walked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sys.path folder too large to copy is refused on every run without being walked again."""
    monkeypatch.setattr(_isolation, "MAX_MIRRORED_FILES", 2)
    for n in range(4):
        (tmp_path / f"m{n}.py").write_text("", encoding="utf-8")
    walks: list[Path] = []
    real = mirror_sources

    def counting(folder: Path, dest: Path) -> None:
        walks.append(folder)
        real(folder, dest)

    monkeypatch.setattr(sandbox_module, "mirror_sources", counting)
    sandbox = Sandbox()
    for _ in range(3):
        with pytest.raises(ConfigError, match="holds more than 2 Python files"):
            sandbox._mirror(tmp_path)
    assert walks == [tmp_path]
