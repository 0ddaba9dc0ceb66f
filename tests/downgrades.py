"""SQL that takes an embedded graph back to before some migrations, for the tests of
upgrades: each migration's additions, undone."""

# what migrations 13-15 add: categories as data, levels, activity search
AFTER_12 = (
    "ALTER TABLE categories DROP COLUMN definition; DROP TABLE levels; DROP TABLE activity_search;"
)
# what migration 23 changes: the closure's downward index as it was before, without `until`
BEFORE_23 = (
    "DROP INDEX hierarchy_reach_down; "
    "CREATE INDEX hierarchy_reach_down ON hierarchy_reach(ancestor_id, depth); "
    "DELETE FROM sqlite_stat1 WHERE idx = 'hierarchy_reach_down'; "
)
# what migration 22 adds: the opportunity an activity was for
AFTER_21 = "DROP INDEX activities_opportunity; ALTER TABLE activities DROP COLUMN opportunity_id; "
# what migrations 16-22 add: planned work, read-only tokens, process steps (and their
# overdue marks), pipelines and opportunities (and their summed amounts), the activities'
# opportunities
AFTER_15 = (
    AFTER_21 + "DROP TABLE process_steps; DROP TABLE pipelines; DROP TABLE opportunities; "
    "DROP TABLE activity_people; ALTER TABLE api_tokens DROP COLUMN read_only; "
    + "".join(
        f"ALTER TABLE activities DROP COLUMN {c}; "
        for c in ("status", "version", "schedule", "span_start", "span_end")
    )
)
# what migrations 9 and 10 add: a test that takes a graph back to before them drops these too
DROP_HISTORY = (
    f"DROP TABLE history; DROP TABLE history_subjects; DROP INDEX parties_merged; {AFTER_12}"
)
# what migrations 21 and 22 add: the amounts' integer parts the pipeline summary sums in
# SQL, the activities' opportunities
AFTER_20 = (
    AFTER_21
    + "DROP INDEX opportunities_summary; "
    + "".join(
        f"ALTER TABLE opportunities DROP COLUMN {c}; "
        for c in ("amount_high", "amount_low", "amount_places")
    )
)
