"""What a sandboxed run may see, how it is started, and which isolation layers it must have.

- :func:`exposed` lists what a run's private filesystem view holds: the interpreter's own folders
  (the folders of its ``sys.path`` inside its installation, minus folders that would show too much,
  such as ``/``, the home folder or the temporary folder), the system libraries, a few devices, the
  run's ``code`` folder (read-only) and its ``work`` folder (writable). Landlock's read rules and the
  audit hook use the same list. Folders on ``sys.path`` outside the installation (an editable
  install's project, say) are never exposed whole: their Python sources are copied, like the
  target's neighbours.
- :func:`mirror_sources` copies the Python sources beside the target (its folder's modules and
  packages, bounded in count and size) so the tests can import the target's siblings without the
  folder itself, and whatever else lies in it, being visible.
- :func:`probe` starts the real child under each way of isolating it this machine might allow
  (namespaces as root, namespaces in a user namespace, none) and keeps the strongest that works
  with this Python: the layers are what the child itself reports, not what was hoped for.
- :data:`REQUIRED_ISOLATION` says what a run must have; :func:`missing` what a set of layers lacks;
  :class:`SandboxLimits` what a run may use; :func:`lay_out` makes a run's folders.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError
from escalade.testgen._syscalls import table

__all__ = [
    "REQUIRED_ISOLATION",
    "Interpreter",
    "Isolation",
    "SandboxLimits",
    "base_spec",
    "exposed",
    "interpreter",
    "lay_out",
    "mirror_sources",
    "missing",
    "namespace_layers",
    "probe",
    "symlinks",
]

logger = logging.getLogger(__name__)

#: What every run must have, and the layers any one of which gives it.
REQUIRED_ISOLATION: Mapping[str, tuple[str, ...]] = {
    "files outside the run can be neither read nor written": ("private filesystem view", "Landlock"),
    "sockets and new processes are refused by the kernel": ("seccomp filter",),
}
#: Processes and threads of a run, at most (as ``nobody``, or in a user namespace of its own).
MAX_PROCESSES = 256
#: Files and folders a run may create in its work folder, at most (the tmpfs's inodes).
MAX_FILES = 10_000
#: Files and folders beside the target copied for the tests to import, at most.
MAX_MIRRORED_FILES = 2000
MAX_MIRRORED_BYTES = 32 << 20
_SYSTEM = ("/lib", "/lib64", "/lib32", "/libx32", "/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/usr/share/zoneinfo")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
#: Folders whose whole tree must never be exposed, even when the interpreter's path names them.
_TOO_WIDE = ("/", "/etc", "/home", "/root", "/run", "/var", "/var/run", "/var/lib", "/proc", "/sys", "/dev", "/tmp")
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """What one run of generated tests may use."""

    #: Wall-clock seconds before the run is killed.
    time_s: float = 30.0
    #: Address space in MiB.
    memory_mb: int = 1024
    #: Largest file the run may write, in MiB.
    file_mb: int = 64
    #: All the run may write in its work folder, in MiB (a tmpfs of this size in the private view).
    disk_mb: int = 256

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_s", float(self.time_s))
        if not 0 < self.time_s <= 3600:
            raise ConfigError(f"must be between 0 and 3600 seconds, got {self.time_s}", field="time_s")
        if not 128 <= self.memory_mb <= 1 << 20:
            raise ConfigError(f"must be at least 128 MiB, got {self.memory_mb}", field="memory_mb")
        if not 1 <= self.file_mb <= 1 << 16:
            raise ConfigError(f"must be at least 1 MiB, got {self.file_mb}", field="file_mb")
        if not 16 <= self.disk_mb <= 1 << 20:
            raise ConfigError(f"must be at least 16 MiB, got {self.disk_mb}", field="disk_mb")

    def spec(self) -> dict[str, int]:
        """The limits as the sandboxed process reads them from its spec."""
        return {
            "memory_bytes": self.memory_mb << 20,
            "cpu_seconds": int(self.time_s) + 1,
            "file_bytes": self.file_mb << 20,
            "disk_bytes": self.disk_mb << 20,
        }


def missing(layers: Iterable[str]) -> tuple[str, ...]:
    """The requirements of :data:`REQUIRED_ISOLATION` that ``layers`` do not meet."""
    have = tuple(layers)
    return tuple(need for need, any_of in REQUIRED_ISOLATION.items() if not any(h.startswith(any_of) for h in have))


@dataclass(frozen=True)
class Isolation:
    """How runs are started on this machine, and what the child reported it got that way."""

    #: Command prefix (``unshare ...``) before the interpreter; empty without namespaces.
    prefix: tuple[str, ...]
    #: Layers the probe's child reported, in the order it applied them.
    layers: tuple[str, ...]
    #: Whether the child builds a private filesystem view (it was started in a new mount namespace).
    view: bool
    #: The user the child becomes (``nobody``), when escalade runs as root without a user namespace.
    user: tuple[int, int] | None
    #: Why layers that were tried did not apply.
    lost: tuple[str, ...] = ()

    @property
    def user_namespace(self) -> bool:
        """Whether runs start in a user namespace of their own (escalade is not root)."""
        return "--map-root-user" in self.prefix


#: Layers each ``unshare`` option gives (``unshare`` refuses to start the run without them).
_NAMESPACES = {
    "--map-root-user": "user namespace", "--net": "network namespace", "--pid": "PID namespace",
    "--ipc": "IPC namespace",
}  # fmt: skip


def namespace_layers(prefix: Iterable[str]) -> tuple[str, ...]:
    """The namespace layers a run started with ``prefix`` has."""
    return tuple(_NAMESPACES[option] for option in prefix if option in _NAMESPACES)


@dataclass(frozen=True)
class Interpreter:
    """The folders on an interpreter's import path: inside its installation, and elsewhere."""

    installed: tuple[str, ...]
    elsewhere: tuple[str, ...]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@cache
def interpreter(python: str) -> Interpreter:
    """The folders on ``python``'s import path, with pytest and coverage importable (none if it cannot run)."""
    code = (
        "import json, os, sys, coverage, pytest; print(json.dumps([[p for p in sys.path if os.path.isdir(p)], "
        "sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})]))"
    )
    try:
        done = subprocess.run([python, "-I", "-c", code], capture_output=True, timeout=60, check=False, env={})
        paths, prefixes = json.loads(done.stdout) if done.returncode == 0 else ([], [])
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return Interpreter(installed=(), elsewhere=())
    folders = [os.path.abspath(p) for p in paths if isinstance(p, str)]
    inside = [p for p in folders if any(_inside(p, os.path.abspath(prefix)) for prefix in prefixes)]
    return Interpreter(installed=tuple(inside), elsewhere=tuple(p for p in folders if p not in inside))


def _too_wide(path: str) -> bool:
    """Whether exposing ``path`` would expose the home folder, the temporary folder or a system tree."""
    wide = (*_TOO_WIDE, str(Path.home()), tempfile.gettempdir())
    return any(_inside(os.path.realpath(w), path) or _inside(w, path) for w in wide)


def exposed(python_paths: Iterable[str], code: Path, work: Path, extra: Iterable[Path] = ()) -> list[list[str]]:
    """``[path, kind]`` of everything a run may see, parents first; kinds: dir, file, device, work."""
    found: dict[str, str] = {}
    for path in (*_SYSTEM, *python_paths):
        if os.path.isdir(path) and not os.path.islink(path) and not _too_wide(path):
            found.setdefault(path, "dir")
    for path in _SYSTEM_FILES:
        if os.path.exists(path):
            found.setdefault(path, "dir" if os.path.isdir(path) else "file")
    for path in _DEVICES:
        if os.path.exists(path) and stat.S_ISCHR(os.stat(path).st_mode):
            found[path] = "device"
    for folder in (code, *extra):
        found[str(folder)] = "dir"
    found[str(work)] = "work"
    ordered = sorted(found.items(), key=lambda item: item[0].count("/"))
    kept: list[list[str]] = []
    for path, kind in ordered:  # a folder inside one already bound comes with it, unless it differs in kind
        if not any(_inside(path, parent) and parent_kind == kind for parent, parent_kind in kept):
            kept.append([path, kind])
    return kept


def symlinks() -> dict[str, str]:
    """The top-level links of the system folders (``/lib -> usr/lib`` on merged-/usr systems)."""
    return {path: os.readlink(path) for path in (*_SYSTEM, "/bin", "/sbin") if os.path.islink(path)}


def mirror_sources(folder: Path, dest: Path) -> None:
    """Copy ``folder``'s Python modules and packages into ``dest``; bounded, see the module docstring."""
    dest.mkdir(parents=True, exist_ok=True)
    size = 0
    for count, (source, relative) in enumerate(_sources(folder), start=1):
        size += source.stat().st_size
        if count > MAX_MIRRORED_FILES or size > MAX_MIRRORED_BYTES:
            raise ConfigError(
                f"{folder} holds more than {MAX_MIRRORED_FILES} Python files or {MAX_MIRRORED_BYTES >> 20} MiB "
                "of them, which the sandbox would copy for the tests to import: move the target to a smaller folder",
                field="target_file",
            )
        copy = dest / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)
    for path in (dest, *dest.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o444)


def _sources(folder: Path) -> Iterable[tuple[Path, Path]]:
    """``(file, path relative to folder)`` of the modules in ``folder`` and its regular packages, recursively."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = sorted(current.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            if entry.is_file() and entry.suffix in (".py", ".pyi"):
                yield entry, entry.relative_to(folder)
            elif entry.is_dir() and entry.name not in _SKIPPED_DIRS and (entry / "__init__.py").is_file():
                pending.append(entry)


def _candidates() -> list[tuple[tuple[str, ...], bool, tuple[int, int] | None]]:
    """``(prefix, view, user)`` ways to start a run, strongest first."""
    unshare = shutil.which("unshare")
    found: list[tuple[tuple[str, ...], bool, tuple[int, int] | None]] = []
    if sys.platform == "linux" and unshare is not None:
        namespaces = ("--net", "--pid", "--ipc", "--fork", "--mount", "--kill-child")
        if os.geteuid() == 0:
            found.append(((unshare, *namespaces, "--"), True, _nobody()))
        found.append(((unshare, "--map-root-user", *namespaces, "--"), True, None))
    return [*found, ((), False, None)]


def _nobody() -> tuple[int, int] | None:
    import pwd  # noqa: PLC0415  (POSIX only, like the rest of the sandbox)

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def lay_out(base: Path, owner: tuple[int, int] | None) -> tuple[Path, Path]:
    """Make a run's ``code/`` (read-only to it) and ``work/`` (with ``tmp/``, owned by ``owner``) in ``base``."""
    code, work = base / "code", base / "work"
    code.mkdir()
    (work / "tmp").mkdir(parents=True)
    for path in (base, code):
        path.chmod(0o755)
    if owner is not None:
        for path in (work, work / "tmp"):
            os.chown(path, *owner)
    return code, work


def base_spec(
    base: Path,
    python_paths: Iterable[str],
    *,
    view: bool,
    user: tuple[int, int] | None,
    user_namespace: bool,
    extra: Iterable[Path] = (),
) -> dict[str, Any]:
    """The parts of a run's spec about isolation, for the folders ``base/code`` and ``base/work``."""
    code, work = base / "code", base / "work"
    (base / "root").mkdir(exist_ok=True)
    return {
        "work": str(work),
        "code_dir": str(code),
        "exposed": exposed(python_paths, code, work, extra),
        "view": {"root": str(base / "root"), "symlinks": symlinks()} if view else None,
        "user": list(user) if user else None,
        "user_namespace": user_namespace,
        "syscalls": table(platform.machine()) if sys.platform == "linux" else None,
        "landlock": sys.platform == "linux",  # its system call numbers mean something else elsewhere
        "seccomp": sys.platform == "linux",
        "max_processes": MAX_PROCESSES,
        "max_files": MAX_FILES,
    }


@cache
def probe(python: str, child: str) -> Isolation:
    """The strongest way of starting ``child`` (its source) with ``python`` here; see the module docstring."""
    paths = interpreter(python).installed
    tried: list[Isolation] = []
    for prefix, view, user in _candidates():
        layers, lost = _probe_once(python, child, paths, prefix=prefix, view=view, user=user)
        if layers is None:
            continue
        layers = (*namespace_layers(prefix), *layers)
        found = Isolation(prefix=prefix, layers=layers, view=view and "private filesystem view" in layers, user=user)
        tried.append(replace(found, lost=lost))
        if not missing(layers) and (found.view or not view):
            break
    if not tried:
        logger.warning("sandbox probe: no way of starting the tests worked")
        return Isolation(prefix=(), layers=(), view=False, user=None, lost=("no way of starting the tests worked",))
    best = max(tried, key=lambda i: (-len(missing(i.layers)), len(i.layers)))
    logger.debug(
        "sandbox isolation chosen: %s; missing: %s; lost: %s",
        ", ".join(best.layers) or "none",
        ", ".join(missing(best.layers)) or "nothing",
        "; ".join(best.lost) or "nothing",
    )
    return best


def _probe_once(
    python: str,
    child: str,
    paths: tuple[str, ...],
    *,
    prefix: tuple[str, ...],
    view: bool,
    user: tuple[int, int] | None,
) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """The layers the child reported under ``prefix`` (``None`` if it did not get as far as importing pytest)."""
    with tempfile.TemporaryDirectory(prefix="escalade-probe-") as folder:
        base = Path(folder).resolve()
        lay_out(base, user)
        spec = base_spec(base, paths, view=view, user=user, user_namespace="--map-root-user" in prefix)
        read_end, write_end = os.pipe()
        spec |= SandboxLimits().spec() | {"probe": True, "token": "probe", "channel_fd": write_end}
        spec |= {"target": "", "test_file": "", "ini": "", "import_paths": []}
        try:
            subprocess.run(
                [*prefix, python, "-I", "-c", child], input=json.dumps(spec).encode(), capture_output=True,
                timeout=60, check=False, env={"PATH": os.defpath}, pass_fds=(write_end,), cwd=base / "work",
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None, ()
        finally:
            os.close(write_end)
        with os.fdopen(read_end, "rb") as channel:
            lines = channel.read(1 << 20).decode("utf-8", "replace").splitlines()
    ready = [json.loads(line[6:]) for line in lines if line.startswith("ready ")]
    if not ready or "probed" not in lines:
        return None, ()
    return tuple(str(x) for x in ready[0]["layers"]), tuple(str(x) for x in ready[0].get("lost", []))
