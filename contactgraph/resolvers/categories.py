"""Category and level mutations, and the attribute filters of a party list checked
against the fields categories define. Writing either needs the CATEGORIES permission."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..graph import attributes, categories, levels, model, process_dates
from ..graph.errors import LimitExceeded
from ..graph.times import utcnow
from ..schema.attribute_inputs import AttributeFilter
from ..schema.categories import Category, CreateCategoryInput, UpdateCategoryInput
from ..schema.levels import CreateLevelInput, Level, UpdateLevelInput
from .context import ContextInfo

MAX_ATTRIBUTE_FILTERS = 10

CategoryId = Annotated[strawberry.ID, strawberry.argument(description="The category's id.")]


async def attribute_tests(
    info: ContextInfo, given: list[AttributeFilter] | None
) -> tuple[model.AttributeTest, ...]:
    """The filter's conditions with values in stored form (attributes.test_of)."""
    if not given:
        return ()
    if len(given) > MAX_ATTRIBUTE_FILTERS:
        raise LimitExceeded(f"at most {MAX_ATTRIBUTE_FILTERS} attribute conditions")
    fields = attributes.field_types(await info.context.store.get_categories(None))
    return tuple(attributes.test_of(test.test(), fields) for test in given)


@strawberry.type
class CategoryMutation:
    @strawberry.mutation(
        description="Create a category with its rules, fields and required documents "
        "(CATEGORIES permission); an id in use is a CONFLICT."
    )
    async def create_category(
        self,
        info: ContextInfo,
        input: Annotated[CreateCategoryInput, strawberry.argument(description="The category.")],
    ) -> Category:
        wanted = input.value()
        made = await info.context.store.write_category(
            wanted.id, lambda current: categories.created(wanted, current), utcnow()
        )
        return Category.of(made)

    @strawberry.mutation(
        description="Change a category (CATEGORIES permission); a stale expectedVersion is a "
        "CONFLICT. No party is rewritten: Category.violations lists those that no longer fit."
    )
    async def update_category(
        self,
        info: ContextInfo,
        id: CategoryId,
        input: Annotated[
            UpdateCategoryInput, strawberry.argument(description="The fields to change.")
        ],
        expected_version: Annotated[
            int | None,
            strawberry.argument(
                description="The version the change was made against (Category.version)."
            ),
        ] = None,
    ) -> Category:
        def make(current: model.Category | None) -> model.Category:
            return categories.updated(current, str(id), input.applied, expected_version)

        return Category.of(await info.context.store.write_category(str(id), make, utcnow()))

    @strawberry.mutation(
        description="Archive a category (CATEGORIES permission): no party may enter it since; "
        "the parties in it stay. Archiving an archived category changes nothing."
    )
    async def archive_category(self, info: ContextInfo, id: CategoryId) -> Category:
        at = utcnow()
        made = await info.context.store.write_category(
            str(id), lambda current: categories.archived(current, str(id), at), at
        )
        return Category.of(made)

    @strawberry.mutation(
        description="Add a level (CATEGORIES permission); an id or rank in use is a CONFLICT."
    )
    async def create_level(
        self,
        info: ContextInfo,
        input: Annotated[CreateLevelInput, strawberry.argument(description="The level.")],
    ) -> Level:
        wanted = input.value()
        made = await info.context.store.write_level(lambda stored: levels.created(wanted, stored))
        return Level.of(made)

    @strawberry.mutation(
        description="Change a level's name, rank or description (CATEGORIES permission). A "
        "new rank applies to PART_OF edges made from now on; stored ones stay."
    )
    async def update_level(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The level's id.")],
        input: Annotated[UpdateLevelInput, strawberry.argument(description="What to change.")],
    ) -> Level:
        made = await info.context.store.write_level(
            lambda stored: levels.updated(str(id), input.applied, stored)
        )
        return Level.of(made)

    @strawberry.mutation(
        description="Open now the steps of DATE_REACHED processes whose date is reached "
        "(CATEGORIES permission), as the server's periodic sweep does; each run starts "
        f"once per party, process and date, at most {process_dates.MAX_RUNS:,} runs a call "
        "(call again for the rest). Answers the number of steps opened."
    )
    async def sweep_processes(self, info: ContextInfo) -> int:
        return await info.context.store.sweep_processes()
