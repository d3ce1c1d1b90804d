"""The one exception tree: rooted at ``EscaladeError``, with ``EscalationError`` a deprecated alias of it."""

from __future__ import annotations

import pytest

import escalade
from escalade import exceptions
from escalade.exceptions import EscaladeError, RunNotFoundError


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
