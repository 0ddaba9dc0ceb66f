"""How far a synthetic seed got, written into the graph with each batch it commits.

A seed is many transactions, so one killed half-way leaves a partial graph that
looks like any other. Each batch carries this note into its own transaction:
the graph always says how far the seed got, `seed` refuses to start on top of
it, and `seed --resume` regenerates the same batches (same size, random seed
and day, so the same ids) and writes only those still missing.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..graph.errors import ConfigError


@dataclass(frozen=True)
class SeedRun:
    parties: int
    seed: int
    batch_size: int
    day: str  # the generator's "today", ISO: what makes its ids and dates repeatable
    batches: int = 0  # committed so far
    written: int = 0  # parties committed so far

    @property
    def today(self) -> datetime:
        return datetime.fromisoformat(self.day)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SeedRun:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            raise ConfigError(f"the graph's seed note is unreadable: {text[:200]!r}") from None

    def after(self, parties: int) -> SeedRun:
        """The note once the next batch, of `parties` parties, is written."""
        return replace(self, batches=self.batches + 1, written=self.written + parties)

    def interrupted(self, url: str) -> str:
        return (
            f"a seed into {url} stopped after {self.written:,} of {self.parties:,} parties; "
            f"finish it with `contactgraph seed --graph {url} --resume` (it writes the same "
            "graph the whole seed would have), or seed into an empty graph"
        )


def bar(quiet: bool = False) -> Progress:
    """The bar long commands (seed, export, import) draw on standard error: on a
    terminal, unless `quiet`; elsewhere it stays silent, leaving logs and pipes clean."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet or not sys.stderr.isatty(),
    )
