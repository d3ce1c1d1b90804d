"""escalade: decide who handles each piece of AI work (a cheap model, a stronger one, or a person).

The root names what most users need; everything else is public in its subpackage
(``from escalade.routing import TriggerDetector``). See the README for the architecture.

- The ladder: :class:`Tier`, :class:`Ladder`, :class:`EscalationConfig`, :func:`load_config`
  (``escalade.ladder``).
- The run: :class:`ProgressiveExecutor`, :class:`ProgressiveWorkflow`, :class:`WorkItem`,
  :class:`RunListener`, and its results :class:`ProgressiveWorkflowResult`, :class:`ItemResult`
  (``escalade.cascade``).
- Providers: :class:`Provider`, :class:`CompletionRequest`, :class:`Completion`, :class:`Usage`, and
  the fakes :class:`FunctionProvider`, :class:`ScriptedProvider` (``escalade.providers``).
- Quality: :class:`FailureAnalysis`, :class:`Scorer`, :class:`ScoringContext`,
  :class:`ConsensusScorer` (``escalade.quality``).
- One request: :class:`Escalade` (``generate``/``agenerate``) and its :class:`GenerateResult`
  (``escalade.pipeline``); conversations are :class:`Message` and :class:`Tool` values
  (``escalade.providers``).
- Routing: :class:`Router`, :class:`Task` (``escalade.routing``).
- Budgets: :class:`BudgetLedger`, :class:`MemoryLedger`, :class:`WorkspaceBudget`
  (``escalade.budget``).
- The store: :class:`SqlStore` (``escalade.store``).
- Human escalation: :class:`EscalationEngine`, :class:`AutonomyController`, :class:`Decision`
  (``escalade.autonomy``).
- Recorded outcomes: :func:`load_dataset` (``escalade.replay``).
- Reporting: :func:`generate_cost_analytics`, :class:`ProgressiveTelemetry`
  (``escalade.reporting``).
- Test generation: :class:`ProgressiveTestGenWorkflow` (``escalade.testgen``).
- Errors: the root :class:`EscaladeError` (``EscalationError``, its former name, still works for one
  release, with a deprecation warning) and the most caught leaves :class:`ConfigError`,
  :class:`ProviderError`, :class:`BudgetExceededError`, :class:`StoreError`
  (``escalade.exceptions`` has the whole tree).

``import escalade`` is light: each name is imported from its subpackage on first use (PEP 562), so
SQLAlchemy, NumPy, SciPy and the rest load only when a name that needs them is read.
"""

import importlib as _importlib
import logging as _logging
import typing as _typing

if _typing.TYPE_CHECKING:
    from escalade.autonomy import AutonomyController, Decision, EscalationEngine
    from escalade.budget import BudgetLedger, MemoryLedger, WorkspaceBudget
    from escalade.cascade import (
        ItemResult,
        ProgressiveExecutor,
        ProgressiveWorkflow,
        ProgressiveWorkflowResult,
        RunListener,
        WorkItem,
    )
    from escalade.exceptions import BudgetExceededError, ConfigError, EscaladeError, ProviderError, StoreError
    from escalade.exceptions import EscalationError as EscalationError
    from escalade.ladder import EscalationConfig, Ladder, Tier, load_config
    from escalade.pipeline import Escalade, GenerateResult
    from escalade.providers import (
        Completion,
        CompletionRequest,
        FunctionProvider,
        Message,
        Provider,
        ScriptedProvider,
        Tool,
        ToolCall,
        Usage,
    )
    from escalade.quality import ConsensusScorer, FailureAnalysis, Scorer, ScoringContext
    from escalade.replay import load_dataset
    from escalade.reporting import ProgressiveTelemetry, generate_cost_analytics
    from escalade.routing import Router, Task
    from escalade.store import SqlStore
    from escalade.testgen import ProgressiveTestGenWorkflow

__version__ = "0.1.0"

# The application configures logging (the CLI does, with -v); the library only names its loggers.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "AutonomyController",
    "BudgetExceededError",
    "BudgetLedger",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "ConsensusScorer",
    "Decision",
    "Escalade",
    "EscaladeError",
    "EscalationConfig",
    "EscalationEngine",
    "FailureAnalysis",
    "FunctionProvider",
    "GenerateResult",
    "ItemResult",
    "Ladder",
    "MemoryLedger",
    "Message",
    "ProgressiveExecutor",
    "ProgressiveTelemetry",
    "ProgressiveTestGenWorkflow",
    "ProgressiveWorkflow",
    "ProgressiveWorkflowResult",
    "Provider",
    "ProviderError",
    "Router",
    "RunListener",
    "Scorer",
    "ScoringContext",
    "ScriptedProvider",
    "SqlStore",
    "StoreError",
    "Task",
    "Tier",
    "Tool",
    "ToolCall",
    "Usage",
    "WorkItem",
    "WorkspaceBudget",
    "__version__",
    "generate_cost_analytics",
    "load_config",
    "load_dataset",
]

#: Where each root name lives: the subpackage it is imported from on first use.
_HOMES = {
    "AutonomyController": "escalade.autonomy",
    "Decision": "escalade.autonomy",
    "EscalationEngine": "escalade.autonomy",
    "BudgetLedger": "escalade.budget",
    "MemoryLedger": "escalade.budget",
    "WorkspaceBudget": "escalade.budget",
    "ItemResult": "escalade.cascade",
    "ProgressiveExecutor": "escalade.cascade",
    "ProgressiveWorkflow": "escalade.cascade",
    "ProgressiveWorkflowResult": "escalade.cascade",
    "RunListener": "escalade.cascade",
    "WorkItem": "escalade.cascade",
    "BudgetExceededError": "escalade.exceptions",
    "ConfigError": "escalade.exceptions",
    "EscaladeError": "escalade.exceptions",
    "ProviderError": "escalade.exceptions",
    "StoreError": "escalade.exceptions",
    "EscalationConfig": "escalade.ladder",
    "Ladder": "escalade.ladder",
    "Tier": "escalade.ladder",
    "load_config": "escalade.ladder",
    "Escalade": "escalade.pipeline",
    "GenerateResult": "escalade.pipeline",
    "Completion": "escalade.providers",
    "CompletionRequest": "escalade.providers",
    "FunctionProvider": "escalade.providers",
    "Message": "escalade.providers",
    "Tool": "escalade.providers",
    "ToolCall": "escalade.providers",
    "Provider": "escalade.providers",
    "ScriptedProvider": "escalade.providers",
    "Usage": "escalade.providers",
    "ConsensusScorer": "escalade.quality",
    "FailureAnalysis": "escalade.quality",
    "Scorer": "escalade.quality",
    "ScoringContext": "escalade.quality",
    "load_dataset": "escalade.replay",
    "ProgressiveTelemetry": "escalade.reporting",
    "generate_cost_analytics": "escalade.reporting",
    "Router": "escalade.routing",
    "Task": "escalade.routing",
    "SqlStore": "escalade.store",
    "ProgressiveTestGenWorkflow": "escalade.testgen",
}


def __dir__() -> list[str]:
    """The root names, imported yet or not, and the module's own attributes."""
    return sorted(set(globals()) | set(__all__))


if not _typing.TYPE_CHECKING:  # type checkers read the imports above, and flag a name the root does not have

    def __getattr__(name: str) -> object:
        """A root name, imported from its subpackage the first time it is read (PEP 562)."""
        home = _HOMES.get(name)
        if home is None:  # ``EscalationError``: the root error's former name, with a warning; else AttributeError
            from escalade.exceptions import _deprecated_alias  # noqa: PLC0415  (only for an unknown name)

            return _deprecated_alias(__name__, name)
        value = getattr(_importlib.import_module(home), name)
        globals()[name] = value  # later reads find it without this function
        return value
