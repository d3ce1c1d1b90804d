"""Code context: what the Python files a task touches say about it (complexity, coupling, size)."""

from escalade.codebase._files import FileAnalysis, FunctionComplexity, analyze_file, module_name

__all__ = [
    "FileAnalysis",
    "FunctionComplexity",
    "analyze_file",
    "module_name",
]
