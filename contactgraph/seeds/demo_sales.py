"""Loads demo_sales.json: the demo's pipeline, a dozen deals with its clients, what was
done for a few of them, and a few leads, each written as a user would, so the history
tells them too."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from ..graph import deal_links, pipelines
from ..graph.ids import new_id
from ..graph.model import Activity, ActivityType, LeadStatus
from ..graph.opportunities import Opportunity, StageChange
from ..graph.store import GraphStore
from ..graph.times import utcnow


def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("demo_sales.json").read_text("utf-8")
    )
    return loaded


def _worked(
    spec: Mapping[str, Any], deal: Opportunity, ids: Mapping[str, str], now: datetime
) -> Activity:
    """What was done for a deal, linked to it as a user's recordActivity links it."""
    done = Activity(
        id=new_id(),
        type=ActivityType(spec["type"]),
        occurred_at=now - timedelta(days=spec["daysAgo"]),
        summary=spec["summary"],
        author_id=deal.owner_id,
        subject_ids=tuple(ids[s] for s in spec["subjects"]),
    )
    return deal_links.linked(done, deal, deal.id)


async def load_sales(store: GraphStore, ids: Mapping[str, str]) -> int:
    """The pipeline and its deals, the demo's keys resolved by `ids`; how many deals."""
    data = _data()
    drafts = [
        pipelines.StageDraft(
            s["name"], s["order"], s["probability"], pipelines.StageOutcome(s["outcome"])
        )
        for s in data["pipeline"]["stages"]
    ]
    made = pipelines.created(data["pipeline"]["name"], drafts)
    now = utcnow()
    pipeline = await store.write_pipeline(None, lambda _: made, now)
    stages = {s.name: s.id for s in pipeline.stages}
    for spec in data["opportunities"]:
        stage = stages[spec["stage"]]
        deal = Opportunity(
            id=new_id(),
            title=spec["title"],
            organization_id=ids[spec["client"]],
            owner_id=ids[spec["owner"]],
            pipeline_id=pipeline.id,
            stage_id=stage,
            amount=Decimal(spec["amount"]),
            currency=spec["currency"],
            created_at=now,
            updated_at=now,
            contact_ids=tuple(ids[c] for c in spec.get("contacts", ())),
            probability=spec.get("probability"),
            expected_close=(now + timedelta(days=spec["closeInDays"])).date(),
            source=spec.get("source", ""),
            lost_reason=spec.get("lostReason"),
            stages=(StageChange(stage, now, ids[spec["owner"]]),),
        )
        await store.write_opportunity(deal.id, lambda _, deal=deal: deal)
        for done in spec.get("activities", ()):
            await store.record_activity(_worked(done, deal, ids, now))
    for key, status in data["leads"].items():
        await store.update_party(ids[key], {"lead_status": LeadStatus(status)}, None, now)
    return len(data["opportunities"])
