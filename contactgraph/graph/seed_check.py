"""A synthetic seed's batches checked where they are generated (seeds/pipeline.py), on
either store: each batch by the rules load_batch applies, against the categories and
levels the graph held when the seed began and the parties of the batches before it.

A seed starts on an empty graph, and its generator makes codes unique and hangs each
party under parties made before it, so what load_batch would also check against the
stored graph (unique codes, cycles) holds by construction (tests/test_seed.py compares
the graphs either way)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from . import rules
from .levels import Level
from .model import Batch, Category, Party


class Prepare(Protocol):
    """What a store's seed_preparer gives: run in the generator's process, it makes each
    batch what the store's load_rows takes."""

    def __call__(self, batch: Batch) -> bytes:
        """The batch checked, as rows."""

    def written(self, batch: Batch) -> None:
        """A batch an interrupted seed wrote already, which later ones may refer to."""


class SeedCheck:
    def __init__(
        self, categories: Mapping[str, Category], levels: Mapping[str, Level], region: str | None
    ) -> None:
        self.categories = dict(categories)
        self.levels = dict(levels)
        self.region = region
        self.made: dict[str, Party] = {}

    def written(self, batch: Batch) -> None:
        """A batch a stopped seed wrote already: its parties may be referred to."""
        self.made.update((p.id, _reference(p)) for p in batch.parties)

    def checked(self, batch: Batch) -> Batch:
        """The batch as load_batch would store it; its parties are then known."""
        refs = rules.batch_references(batch)
        stored = {i: self.made[i] for i in refs if i in self.made}
        checked = rules.check_batch(batch, self.categories, stored, self.region, self.levels)
        self.written(checked)
        return checked


def _reference(party: Party) -> Party:
    """What checking a later batch's edges and activities reads of a party (its kind,
    form, level and category): a million whole records would hold gigabytes."""
    return Party(
        party.id,
        party.kind,
        party.legal_form,
        party.display_name,
        party.created_at,
        party.updated_at,
        category_id=party.category_id,
        unit_type=party.unit_type,
        archived_at=party.archived_at,
    )
