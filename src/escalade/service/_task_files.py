"""A submitted task as the router's :class:`~escalade.routing.Task`: inline files, or files read under the root.

The server reads a file only under its configured ``files_root`` (``escalade serve --files-root``):
a path named in ``files_to_modify`` without inline contents is read there when it is a Python file
(the only files the analysis reads). A path that is absolute, climbs with ``..``, or resolves outside
the root (a symlink pointing out) is refused with a 400 naming the field, root or no root; with no
root configured, a path is used by name only (it counts as a file the task touches) and is reported
as not read. A file larger than :data:`~escalade.service._escalation_models.MAX_FILE_CHARS` bytes,
not UTF-8 or missing is refused too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from escalade.exceptions import ConfigError
from escalade.routing import Task
from escalade.service._errors import ApiError
from escalade.service._escalation_models import MAX_FILE_CHARS
from escalade.untrusted import read_text

__all__ = ["check_path", "task_of", "workspace_root"]


def _refuse(field: str, message: str) -> ApiError:
    return ApiError(400, message, type="invalid_request_error", param=field, code="invalid_path")


def check_path(path: str, field: str) -> PurePosixPath:
    """``path`` as a relative path inside any root; a 400 naming ``field`` when it could leave it."""
    posix = PurePosixPath(path)
    if posix.is_absolute() or PureWindowsPath(path).is_absolute() or PureWindowsPath(path).drive:
        raise _refuse(field, f"{field}: {path[:80]!r} is absolute; name files relative to the files root")
    if ".." in posix.parts or ".." in PureWindowsPath(path).parts or "\x00" in path:
        raise _refuse(field, f"{field}: {path[:80]!r} climbs out with '..'")
    return posix


def workspace_root(files_root: Path | None, workspace: str) -> Path | None:
    """The folder a workspace's files are read from: ``files_root/<workspace>`` (``None``: no root, or a
    workspace name that is not one plain folder name), so that no workspace reads another's files."""
    if files_root is None or workspace in (".", "..") or any(c in workspace for c in "/\\\0"):
        return None
    return files_root / workspace


def _read_under(root: Path, relative: PurePosixPath, field: str) -> str:
    """The file at ``root/relative``, refused when it resolves outside ``root``."""
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise _refuse(field, f"{field}: {str(relative)[:80]!r} leads outside the server's files root")
    try:
        return read_text(target, what="file", error=ConfigError, limit=MAX_FILE_CHARS)
    except ConfigError as exc:
        raise _refuse(
            field, f"{field}: {str(relative)[:80]!r} cannot be read under the files root: {exc.message}"
        ) from None


def task_of(
    description: str,
    task_type: str | None,
    files_to_modify: Sequence[str],
    inline: Mapping[str, str],
    *,
    root: Path | None,
) -> tuple[Task, list[str]]:
    """The router's task and the Python files named but not read (no inline contents, no root)."""
    contents = dict(inline)
    unread: list[str] = []
    for number, path in enumerate(files_to_modify):
        field = f"files_to_modify[{number}]"
        relative = check_path(path, field)
        if path in contents or not path.endswith(".py"):
            continue
        if root is None:
            unread.append(path)
            continue
        contents[path] = _read_under(root, relative, field)
    for path in inline:
        check_path(path, "files")
    names = tuple(dict.fromkeys([*files_to_modify, *inline]))
    return Task(description, task_type=task_type, files=names, file_contents=contents), unread
