"""The replay upstream (``escalade serve --provider replay --dataset PATH``): recorded answers, no key, no network.

At startup every row of the dataset's splits is indexed by its prompt. A request whose last user
turn is a recorded row's prompt is answered from that row's recorded outcomes, through the same
pipeline as a live request (the ladder comes from the dataset, as ``escalade run`` builds it); a
prompt the dataset does not hold is a 400 naming ``messages``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig
from escalade.replay import BenchmarkRow, ReplayProvider, load_dataset, plan_replay

__all__ = ["ReplayUpstream"]


@dataclass(frozen=True, kw_only=True)
class ReplayUpstream:
    """A dataset's rows by prompt, and the ladder to replay them on."""

    #: The ladder over the dataset's models (the configured one when it names them, else by list price).
    config: EscalationConfig
    #: The kind of task the dataset records (what the scorer judges).
    task_kind: str
    rows: dict[str, BenchmarkRow]

    @classmethod
    def load(cls, path: Path, config: EscalationConfig) -> ReplayUpstream:
        """Read the dataset at ``path`` and index its rows (the first row of a repeated prompt wins)."""
        dataset = load_dataset(path)
        plan = plan_replay(dataset, dataset.default_split(), config)
        rows: dict[str, BenchmarkRow] = {}
        for split in dataset.splits:
            for row in dataset.rows(split):
                rows.setdefault(row.prompt, row)
        return cls(config=plan.config, task_kind=dataset.task_kind, rows=rows)

    def row_for(self, prompt: str) -> BenchmarkRow:
        """The row recorded for ``prompt``; a :class:`ConfigError` naming ``messages`` when there is none."""
        found = self.rows.get(prompt)
        if found is None:
            raise ConfigError(
                "the replay upstream answers only recorded prompts: the last user message is not one of the "
                f"dataset's {len(self.rows)} prompts",
                field="messages",
            )
        return found

    @staticmethod
    def provider(row: BenchmarkRow) -> ReplayProvider:
        """A provider answering one request from ``row`` (its samples counted afresh)."""
        return ReplayProvider([row])
