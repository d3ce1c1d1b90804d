"""The one exception tree: rooted at ``EscaladeError``, every class of it exported from ``escalade.exceptions``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import escalade
from escalade import exceptions
from escalade.budget import LineState, to_nano
from escalade.exceptions import BudgetExceededError, EscaladeError, RateLimitedError, RunNotFoundError


def _package_modules() -> list[ModuleType]:
    """Every module of the package that imports here: not those whose optional dependencies are missing."""
    modules = []
    for found in pkgutil.walk_packages(escalade.__path__, "escalade."):
        if found.name.endswith(".__main__") or ".migrations" in found.name:
            continue  # runs the CLI when imported; run by Alembic, not importable on its own
        try:
            modules.append(importlib.import_module(found.name))
        except ImportError as exc:
            if (exc.name or "escalade").partition(".")[0] == "escalade":
                raise  # a broken module of the package itself, not a missing optional dependency
    return modules


def _subclasses(base: type) -> set[type]:
    found: set[type] = set(base.__subclasses__())
    return found.union(*(_subclasses(cls) for cls in found))


def test_every_exported_error_is_of_the_tree() -> None:
    """Each name in ``escalade.exceptions.__all__`` is a class deriving from ``EscaladeError``."""
    exported = [getattr(exceptions, name) for name in exceptions.__all__]
    assert all(inspect.isclass(cls) and issubclass(cls, EscaladeError) for cls in exported), exported
    assert exceptions.__all__ == sorted(exceptions.__all__)


def test_every_error_class_of_the_package_is_in_the_tree_and_exported() -> None:
    """Every exception class escalade defines derives from ``EscaladeError`` and is exported by the errors module.

    The walk imports every module of the package (those whose optional dependencies are installed), so a
    class defined anywhere counts, and it must be the very class ``escalade.exceptions.__all__`` names.
    """
    modules = _package_modules()
    assert len(modules) > 50  # the walk found the package
    defined = {
        cls
        for module in modules
        for cls in vars(module).values()
        if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == module.__name__
    }
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in defined if not issubclass(cls, EscaladeError))
    assert outside == []
    ours = defined | {cls for cls in _subclasses(EscaladeError) if cls.__module__.startswith("escalade.")}
    unexported = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in ours
        if cls.__name__ not in exceptions.__all__ or getattr(exceptions, cls.__name__) is not cls
    )
    assert unexported == []


@pytest.mark.parametrize("module", [exceptions, escalade], ids=["escalade.exceptions", "escalade"])
def test_the_former_root_name_warns_and_is_the_root(module: object) -> None:
    """``EscalationError`` is the very class ``EscaladeError`` (so ``except`` still catches every error), and warns."""
    with pytest.deprecated_call(match=r"EscalationError is deprecated .* use EscaladeError"):
        alias = getattr(module, "EscalationError")  # noqa: B009 (reading the name is what warns)
    assert alias is EscaladeError
    with pytest.raises(alias):  # any error of the tree is caught by the old name
        raise RunNotFoundError("r1")


def test_the_former_root_name_warns_where_it_is_read() -> None:
    """The warning points at the line that read the deprecated name, not at escalade's own code."""
    with pytest.deprecated_call() as caught:
        from escalade.exceptions import EscalationError  # noqa: F401, PLC0415 (the import is what is tested)
    assert [warning.filename for warning in caught] == [__file__]


@pytest.mark.parametrize("module", [exceptions, escalade], ids=["escalade.exceptions", "escalade"])
def test_other_missing_names_are_still_missing(module: object) -> None:
    """Only the deprecated name is resolved late: any other missing name is an ``AttributeError``."""
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchError'"):
        getattr(module, "NoSuchError")  # noqa: B009
    assert "EscalationError" not in dir(module)


def test_a_budget_refusal_carries_its_line_and_amount_from_construction() -> None:
    """``line`` and ``requested_usd`` are constructor arguments; without them they are ``None``."""
    line = LineState(key="run:r1", cap=to_nano(1.0), spent=to_nano(0.75), reserved=0)
    refused = BudgetExceededError("over", line=line, requested_usd=0.5)
    assert (str(refused), refused.line, refused.requested_usd, refused.partial_result) == ("over", line, 0.5, None)
    bare = BudgetExceededError("over")
    assert (bare.line, bare.requested_usd) == (None, None)


def test_a_rate_limit_says_from_construction_whether_it_may_have_been_billed() -> None:
    """``maybe_billed`` of a rate limit is a constructor argument, as on every provider error."""
    limited = RateLimitedError("429", model="a", retry_after_s=2.0, maybe_billed=True)
    assert (limited.model, limited.retry_after_s, limited.maybe_billed) == ("a", 2.0, True)
    assert not RateLimitedError("429").maybe_billed
