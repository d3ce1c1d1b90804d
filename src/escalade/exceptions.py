"""The one exception tree of escalade.

Every error escalade raises on purpose derives from :class:`EscaladeError`, so callers can
catch the base and the CLI can turn any of them into one clear line::

    EscaladeError
    ├── ConfigError                  bad configuration value (names field and source)
    │   ├── MissingKeyError          no API key for a provider (names the provider and how to set one)
    │   ├── RuleError                an escalation rule or rule file is invalid (names file, rule and why)
    │   ├── NotEnoughLabelsError     too few labelled decisions to certify any threshold (says how many are needed)
    │   └── AuditKeyError            ESCALADE_AUDIT_KEY is missing or is not the key the audit trail is sealed with
    ├── DatasetError                 malformed or missing benchmark dataset (names file, line, field)
    ├── TargetFileError              the file to generate tests for is missing, not Python, or has nothing to test
    ├── DecisionError                an agent's decision (or its outcome) is malformed (names the decision and field)
    ├── InboxError                   an inbox item cannot take this answer (answered, expired, not yours: says which)
    ├── ProviderError                a provider could not answer a request
    │   ├── MissingOutcomeError      replay: the dataset has no recorded outcome for (row, model)
    │   ├── RateLimitedError         429: slow down (carries retry-after when the provider sent one)
    │   ├── ContextWindowError       the prompt does not fit the model's context window
    │   ├── ContentPolicyError       the provider refused the content
    │   ├── ProviderAuthError        the key was refused (401/403); the message never holds the key
    │   └── TransientProviderError   timeouts, connection errors, 5xx: worth a retry
    │       ├── ProviderConnectionError  the provider could not be reached (refused, DNS, reset)
    │       ├── ProviderTimeoutError     the provider did not answer in time
    │       └── ProviderServerError      the provider answered with a server error (5xx, overloaded)
    ├── RequestStoppedError          one request (work item) can go no further; the run goes on
    │   ├── RequestBudgetExceededError   its next call would pass the per-request cap
    │   └── CallLimitError           its ceiling on paid attempts (``max_calls_per_request``) is reached
    ├── UntrustedRunError            an answer's generated tests ran, but their sandbox run cannot be trusted: no answer
    ├── RunStoppedError              the run was stopped; carries the partial result
    │   ├── BudgetError
    │   │   ├── BudgetExceededError  a budget (run, workspace month) refused the next call's reservation
    │   │   ├── BudgetUnavailableError   the budget ledger could not be read or written
    │   │   └── ApprovalDeniedError  spending above the approval limit was refused
    │   ├── ListenerError            a listener (the store, telemetry) failed, so results could be lost
    │   └── SandboxError             generated tests could not be run at all (the sandbox, not the tests, failed)
    ├── ServiceRequestError          escalade serve refuses an HTTP request (carries its status and error fields)
    └── StoreError                   the store was asked for something it cannot do or does not hold
        ├── RunNotFoundError         no stored run has the given id
        ├── CalibrationNotFoundError no stored calibration has the given id in the workspace
        └── DatabaseError            the database could not be opened, read or written (names it and the run)

``EscalationError``, the root's former name, is a deprecated alias of :class:`EscaladeError` (the
same class, so ``except EscalationError`` still catches every error); reading it warns with a
:class:`DeprecationWarning`, and it goes in the next release.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from escalade.budget import LineState
    from escalade.cascade import ProgressiveWorkflowResult
    from escalade.quality import FailureAnalysis

__all__ = [
    "ApprovalDeniedError",
    "AuditKeyError",
    "BudgetError",
    "BudgetExceededError",
    "BudgetUnavailableError",
    "CalibrationNotFoundError",
    "CallLimitError",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowError",
    "DatabaseError",
    "DatasetError",
    "DecisionError",
    "EscaladeError",
    "InboxError",
    "ListenerError",
    "MissingKeyError",
    "MissingOutcomeError",
    "NotEnoughLabelsError",
    "ProviderAuthError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderServerError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "RequestBudgetExceededError",
    "RequestStoppedError",
    "RuleError",
    "RunNotFoundError",
    "RunStoppedError",
    "SandboxError",
    "ServiceRequestError",
    "StoreError",
    "TargetFileError",
    "TransientProviderError",
    "UntrustedRunError",
]


class EscaladeError(Exception):
    """Base of every error escalade raises on purpose."""


class ConfigError(EscaladeError):
    """A configuration value is invalid; the message names the field and where it came from."""

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None) -> None:
        where = ", ".join(part for part in (source, f"field {field!r}" if field else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        #: The message without the location.
        self.message = message
        self.field = field
        self.source = source


class MissingKeyError(ConfigError):
    """No API key is set for ``provider``; the message says how to set one."""

    def __init__(self, provider: str, *, workspace: str, env_var: str | None) -> None:
        how = f"escalade keys set {provider}" + (f", or set {env_var}" if env_var else "")
        super().__init__(f"no API key for provider {provider!r} in workspace {workspace!r}: {how}", field="api_key")
        self.provider = provider
        self.workspace = workspace


class RuleError(ConfigError):
    """An escalation rule is invalid; the message names the file, the rule and the reason."""

    def __init__(self, message: str, *, source: str | None = None, rule: str | None = None) -> None:
        where = ", ".join(part for part in (source, f"rule {rule!r}" if rule else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.source = source
        #: Name of the offending rule, when known.
        self.rule = rule


class NotEnoughLabelsError(ConfigError):
    """Calibration has too few labelled decisions to certify any threshold; nothing was stored.

    ``needed`` is the fewest labelled decisions (of one type, or in all when pooled) on which the
    certification test can certify a threshold at the requested level; ``labelled`` is the most there were.
    """

    def __init__(self, message: str, *, needed: int, labelled: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.labelled = labelled


class AuditKeyError(ConfigError):
    """``ESCALADE_AUDIT_KEY`` is missing, or is not the key the audit trail's entries are sealed with."""


class DecisionError(EscaladeError):
    """A decision (or an outcome) given to the escalation engine is malformed.

    The message names the decision's ``id`` (when it has one) and the field.
    """

    def __init__(self, message: str, *, decision_id: str | None = None, field: str | None = None) -> None:
        parts = [
            f"decision {decision_id!r}" if decision_id is not None else None,
            f"field {field!r}" if field else None,
        ]
        where = ", ".join(p for p in parts if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.decision_id = decision_id
        self.field = field


class DatasetError(EscaladeError):
    """A benchmark dataset is missing or malformed; the message names file, line and field."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        parts = [p for p in (path, f"line {line}" if line is not None else None) if p]
        if field:
            parts.append(f"field {field!r}")
        where = ", ".join(parts)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.line = line
        self.field = field


class TargetFileError(EscaladeError):
    """The file to generate tests for cannot be used; the message names the file (and line) and why."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class ProviderError(EscaladeError):
    """A provider could not answer; the cascade moves on to the next model or tier.

    ``billed_usd`` is the bill of a failed call the provider charged for and reported (a refusal or
    content filter after generation). ``maybe_billed`` is true when it may have charged without saying
    (a timeout, a stream that broke off after it started): the budget then counts the call at its
    reserved bound instead of releasing it.
    """

    def __init__(
        self, message: str, *, model: str | None = None, maybe_billed: bool = False, billed_usd: float | None = None
    ) -> None:
        super().__init__(message)
        self.model = model
        #: The provider may have charged for this failed call.
        self.maybe_billed = maybe_billed
        #: What the provider charged for this failed call, when it said.
        self.billed_usd = billed_usd


class RateLimitedError(ProviderError):
    """The provider rate-limited the request."""

    def __init__(
        self, message: str, *, model: str | None = None, retry_after_s: float | None = None, maybe_billed: bool = False
    ) -> None:
        super().__init__(message, model=model, maybe_billed=maybe_billed)
        #: Seconds the provider asked to wait, when it said.
        self.retry_after_s = retry_after_s


class ContextWindowError(ProviderError):
    """The request does not fit the model's context window."""


class ContentPolicyError(ProviderError):
    """The provider refused the request or the answer on content grounds."""


class ProviderAuthError(ProviderError):
    """The provider refused the API key (the message never contains the key)."""


class TransientProviderError(ProviderError):
    """A timeout, a dropped connection or a server error: the same request may succeed later."""


class ProviderConnectionError(TransientProviderError):
    """The provider could not be reached: connection refused, name not resolved, connection reset."""


class ProviderTimeoutError(TransientProviderError):
    """The provider did not answer within the call's time limit (it may have billed the call)."""


class ProviderServerError(TransientProviderError):
    """The provider answered with a server error (a 5xx status, or overloaded)."""


class MissingOutcomeError(ProviderError):
    """The replayed dataset holds no recorded outcome of ``model`` for ``item_id``."""

    def __init__(self, *, item_id: str, model: str) -> None:
        super().__init__(f"no recorded outcome of model {model!r} for row {item_id!r}", model=model)
        self.item_id = item_id


class RequestStoppedError(EscaladeError):
    """One request (work item) can go no further; it ends with its best answer so far, the run goes on."""


class RequestBudgetExceededError(RequestStoppedError):
    """The request's next call could pass its per-request cap (``per_request_limit_usd``)."""


class CallLimitError(RequestStoppedError):
    """The request reached its ceiling on paid attempts (``max_calls_per_request``): no further call is sent."""


class UntrustedRunError(EscaladeError):
    """An answer's generated tests ran in a sandbox run that cannot be trusted (it was refused something,
    timed out or crashed), so the attempt has no answer.

    Raised by a scorer; the cascade keeps the attempt as a failed one (cause ``untrusted sandbox run``),
    with ``analysis`` (what was measured, for its notes), and goes on as after a failed call: the model
    is not asked again on the tier, and an item no tier answered ends ``unanswered``. The run goes on.
    """

    def __init__(self, message: str, *, analysis: FailureAnalysis | None = None) -> None:
        super().__init__(message)
        #: What the scorer measured of the run (its notes say why it is not trusted).
        self.analysis = analysis


class RunStoppedError(EscaladeError):
    """The whole run was stopped; ``partial_result`` holds what was done, when known."""

    def __init__(self, message: str, *, partial_result: ProgressiveWorkflowResult | None = None) -> None:
        super().__init__(message)
        self.partial_result = partial_result


class BudgetError(RunStoppedError):
    """Base of the budget errors."""


class ListenerError(RunStoppedError):
    """A run listener failed (e.g. the store could not write); the run stops rather than lose results."""


class SandboxError(RunStoppedError):
    """The sandbox could not run generated tests at all; the run stops rather than charge every item for it."""


class BudgetExceededError(BudgetError):
    """A budget refused the next call's reservation (the run's ``max_cost``, a workspace's month).

    When a ledger refused, ``line`` is the refusing line's state at that instant and
    ``requested_usd`` the amount asked for.
    """

    def __init__(
        self,
        message: str,
        *,
        partial_result: ProgressiveWorkflowResult | None = None,
        line: LineState | None = None,
        requested_usd: float | None = None,
    ) -> None:
        super().__init__(message, partial_result=partial_result)
        #: State of the budget line that refused, when a ledger refused.
        self.line = line
        #: The amount the refused reservation asked for.
        self.requested_usd = requested_usd


class BudgetUnavailableError(BudgetError):
    """The budget ledger (its database) failed; the run stops rather than spend unguarded or unrecorded."""


class ApprovalDeniedError(BudgetError):
    """Spending above ``auto_approve_under`` was not approved; the run was stopped."""


class InboxError(EscaladeError):
    """An inbox item cannot take what was asked: it was answered already, it expired, the person may not
    answer it, or the answer is malformed. Nothing is changed; the message names the item and why."""

    def __init__(self, message: str, *, item_id: str | None = None, field: str | None = None) -> None:
        parts = (f"inbox item {item_id!r}" if item_id else None, f"field {field!r}" if field else None)
        where = ", ".join(p for p in parts if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.item_id = item_id
        self.field = field


class ServiceRequestError(EscaladeError):
    """``escalade serve`` answers a request with ``status`` and an error body (``type``, ``param``...).

    Raised by the service's routes and middleware; its fields are those of OpenAI's error body.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str,
        param: str | None = None,
        code: str | None = None,
        line: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        #: The request field at fault, when one is.
        self.param = param
        self.code = code
        #: For a budget refusal: the ledger line that refused.
        self.line = line
        self.headers = dict(headers or {})


class StoreError(EscaladeError):
    """The result store failed or was asked for something it does not hold."""


class RunNotFoundError(StoreError):
    """No stored run has this id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no stored run with id {run_id!r} (see `escalade list`)")
        self.run_id = run_id


class DatabaseError(StoreError):
    """The database failed (unreachable, full, read-only, refused a value).

    The message names the database (its URL with any password masked) and, where there is one, the
    run and the item whose row was being written.
    """

    def __init__(self, message: str, *, database: str, run_id: str | None = None, item_id: str | None = None) -> None:
        parts = [f"database {database}", f"run {run_id}" if run_id else None, f"item {item_id!r}" if item_id else None]
        super().__init__(f"{', '.join(p for p in parts if p)}: {message}")
        #: The driver's message without the location.
        self.message = message
        #: The database's URL, password masked.
        self.database = database
        self.run_id = run_id
        self.item_id = item_id


class CalibrationNotFoundError(StoreError):
    """No stored calibration has this id in the workspace."""

    def __init__(self, calibration_id: str, *, workspace: str) -> None:
        super().__init__(
            f"no calibration with id {calibration_id!r} in workspace {workspace!r}"
            " (see `escalade decide --calibrations`)"
        )
        self.calibration_id = calibration_id
        self.workspace = workspace


def _deprecated_alias(module: str, name: str) -> type[EscaladeError]:
    """:class:`EscaladeError` for ``module``'s deprecated name ``EscalationError``, with a :class:`DeprecationWarning`.

    The warning points at the code that read the name (two frames up: the module's ``__getattr__``,
    then its caller). Any other name raises :class:`AttributeError`, as a missing attribute does.
    """
    if name != "EscalationError":
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.EscalationError is deprecated and goes in the next release; use EscaladeError (the same class)",
        DeprecationWarning,
        stacklevel=3,
    )
    return EscaladeError


if TYPE_CHECKING:
    #: Deprecated name of :class:`EscaladeError` (the same class); goes in the next release.
    EscalationError = EscaladeError
else:

    def __getattr__(name: str) -> type[EscaladeError]:
        """``EscalationError``, the root's former name: :class:`EscaladeError` itself, with a warning."""
        return _deprecated_alias(__name__, name)
