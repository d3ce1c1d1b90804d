"""Progressive test generation: tests for each function and class of a file, measured by running them."""

from escalade.testgen.answers import RecordedAnswers
from escalade.testgen.sandbox import Sandbox, SandboxLimits, SandboxRun
from escalade.testgen.targets import TargetModule, TestTarget, find_targets
from escalade.testgen.workflow import KeptTests, ProgressiveTestGenWorkflow, TestGenResult

__all__ = [
    "KeptTests",
    "ProgressiveTestGenWorkflow",
    "RecordedAnswers",
    "Sandbox",
    "SandboxLimits",
    "SandboxRun",
    "TargetModule",
    "TestGenResult",
    "TestTarget",
    "find_targets",
]
