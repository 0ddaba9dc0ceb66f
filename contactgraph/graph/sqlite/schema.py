"""The embedded store's schema, as forward migrations keyed by PRAGMA user_version.

A migration is appended, never edited: a database at version N runs every
migration after N, each in its own transaction. A migration is a script, or a
function when it computes what it writes.
"""

import json
import sqlite3
from collections.abc import Callable

from ..errors import ConfigError
from ..identity import BUILTIN_ROLES, Permission
from ..levels import DEFAULT_LEVELS
from ..search import fiscal_text, indexed_text
from . import activity_search, closure, history, keys, opportunity_sums, process_steps
from .rows import (
    LEVELS_TABLE,
    MERGED_INTO,
    PARTY_COLUMNS,
    UPSERT_LEVEL,
    level_params,
    party_from_row,
)

Migration = str | Callable[[sqlite3.Connection], None]


def _reach(conn: sqlite3.Connection) -> None:
    """3: the closure by depth and time windows replaces the path-counting one."""
    conn.execute("DROP TABLE hierarchy_paths")
    for statement in closure.TABLE.split(";"):
        conn.execute(statement)
    closure.rebuild(conn)


def _identity(conn: sqlite3.Connection) -> None:
    """5: roles, grants, API tokens, and who recorded each activity."""
    for statement in (
        """CREATE TABLE roles (
            name        TEXT PRIMARY KEY,
            description TEXT NOT NULL,
            permissions TEXT NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE grants (
            id         TEXT PRIMARY KEY,
            user_id    TEXT NOT NULL REFERENCES parties(id),
            role       TEXT NOT NULL REFERENCES roles(name),
            scope_id   TEXT REFERENCES parties(id),
            granted_at TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX grants_held ON grants(user_id, role, coalesce(scope_id, ''))",
        """CREATE TABLE api_tokens (
            id          TEXT PRIMARY KEY,
            user_id     TEXT NOT NULL REFERENCES parties(id),
            name        TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            created_at  TEXT NOT NULL,
            expires_at  TEXT,
            revoked_at  TEXT
        )""",
        "CREATE INDEX api_tokens_user ON api_tokens(user_id, id)",
        "ALTER TABLE activities ADD COLUMN recorded_by_id TEXT REFERENCES parties(id)",
    ):
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO roles (name, description, permissions) VALUES (?, ?, ?)",
        [
            (role.name, role.description, json.dumps(sorted(p.value for p in role.permissions)))
            for role in BUILTIN_ROLES
        ],
    )


def _fiscal_search(conn: sqlite3.Connection) -> None:
    """7: search matches fiscal codes only for viewers who may read them, so they move to a
    column of their own; every party's row is written again."""
    conn.execute("DROP TABLE party_search")
    conn.execute(SEARCH_TABLE)
    rows = conn.execute(f"SELECT seq, {PARTY_COLUMNS} FROM parties")
    conn.executemany(
        "INSERT INTO party_search (rowid, body, fiscal) VALUES (?, ?, ?)",
        (
            (row["seq"], indexed_text(party), fiscal_text(party))
            for row in rows
            for party in [party_from_row(row)]
        ),
    )


def _keys(conn: sqlite3.Connection) -> None:
    """8: what parties are compared and looked up by (VAT numbers and tax codes, unique
    among parties not archived; e-mail addresses), one row each, from every party."""
    conn.execute(
        """CREATE TABLE party_keys (
            kind     TEXT NOT NULL,
            value    TEXT NOT NULL,
            party_id TEXT NOT NULL REFERENCES parties(id),
            PRIMARY KEY (kind, value, party_id)
        ) WITHOUT ROWID"""
    )
    conn.execute("CREATE INDEX party_keys_party ON party_keys(party_id)")
    _fill_keys(conn)


def _fill_keys(conn: sqlite3.Connection) -> None:
    """11 (and the end of 8): every party's keys as keys.rows() gives them today, the
    ones duplicates are found by too (the words of its name, its sorted name, phone numbers
    and addresses); rows held already stay."""
    stored = conn.execute(f"SELECT {PARTY_COLUMNS} FROM parties")
    conn.executemany(keys.INSERT, (k for row in stored for k in keys.rows(party_from_row(row))))


def _schedules(conn: sqlite3.Connection) -> None:
    """13: planned work, and read-only tokens for calendar feeds. What was recorded so far
    is DONE, at version 1, and spans its own instant on its author's agenda."""
    for statement in (
        "ALTER TABLE activities ADD COLUMN status TEXT NOT NULL DEFAULT 'DONE'",
        "ALTER TABLE activities ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE activities ADD COLUMN schedule TEXT",
        "ALTER TABLE activities ADD COLUMN span_start TEXT",
        "ALTER TABLE activities ADD COLUMN span_end TEXT",
        # a calendar application's token, which reads only
        "ALTER TABLE api_tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0",
        "UPDATE activities SET span_start = occurred_at, span_end = occurred_at",
        # an agenda's window is an index range per person: what ends at or after its start
        """CREATE TABLE activity_people (
            party_id    TEXT NOT NULL REFERENCES parties(id),
            span_end    TEXT NOT NULL,
            activity_id TEXT NOT NULL REFERENCES activities(id),
            span_start  TEXT NOT NULL,
            PRIMARY KEY (party_id, span_end, activity_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX activity_people_activity ON activity_people(activity_id)",
        "INSERT INTO activity_people (party_id, span_end, activity_id, span_start) "
        "SELECT author_id, occurred_at, id, occurred_at FROM activities",
    ):
        conn.execute(statement)


# bodies hold tokens already folded by graph/search.py
SEARCH_TABLE = "CREATE VIRTUAL TABLE party_search USING fts5(body, fiscal, tokenize = 'unicode61')"


def _categories_as_data(conn: sqlite3.Connection) -> None:
    """13: a category's definition beyond its first columns, and the CATEGORIES permission
    for the built-in admin role."""
    conn.execute("ALTER TABLE categories ADD COLUMN definition TEXT NOT NULL DEFAULT '{}'")
    row = conn.execute("SELECT permissions FROM roles WHERE name = 'admin'").fetchone()
    if row is not None:
        held = set(json.loads(row[0])) | {Permission.CATEGORIES.value}
        conn.execute(
            "UPDATE roles SET permissions = ? WHERE name = 'admin'", (json.dumps(sorted(held)),)
        )


def _levels(conn: sqlite3.Connection) -> None:
    """14: the levels, by rank; an organization's unit_type names one."""
    conn.execute(LEVELS_TABLE)
    conn.executemany(UPSERT_LEVEL, [level_params(level) for level in DEFAULT_LEVELS])


MIGRATIONS: tuple[Migration, ...] = (
    # 1: parties, categories, relationships, activities, full-text search
    """
    CREATE TABLE categories (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        legal_forms TEXT NOT NULL DEFAULT '[]',
        unit_types  TEXT NOT NULL DEFAULT '[]'
    );

    -- seq is the rowid, shared with party_search so search rows are found by key
    CREATE TABLE parties (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        kind         TEXT NOT NULL,
        legal_form   TEXT NOT NULL,
        category_id  TEXT REFERENCES categories(id),
        display_name TEXT NOT NULL,
        name         TEXT,
        first_name   TEXT,
        last_name    TEXT,
        unit_type    TEXT,
        username     TEXT UNIQUE,
        contact_id   TEXT REFERENCES parties(id),
        details      TEXT NOT NULL DEFAULT '{}',
        version      INTEGER NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        archived_at  TEXT
    );
    -- lists show live parties in id order; these let counts and pages skip the wide rows
    CREATE INDEX parties_live ON parties(id) WHERE archived_at IS NULL;
    CREATE INDEX parties_kind ON parties(kind, archived_at, id);
    CREATE INDEX parties_category ON parties(category_id, archived_at, id);

    CREATE TABLE party_tags (
        tag      TEXT NOT NULL,
        party_id TEXT NOT NULL REFERENCES parties(id),
        PRIMARY KEY (tag, party_id)
    ) WITHOUT ROWID;

    -- bodies hold tokens already folded by graph/search.py
    CREATE VIRTUAL TABLE party_search USING fts5(body, tokenize = 'unicode61');

    CREATE TABLE relationships (
        id         TEXT PRIMARY KEY,
        type       TEXT NOT NULL,
        from_id    TEXT NOT NULL REFERENCES parties(id),
        to_id      TEXT NOT NULL REFERENCES parties(id),
        role       TEXT,
        since      TEXT NOT NULL,
        until      TEXT,
        properties TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX relationships_from ON relationships(from_id, type);
    CREATE INDEX relationships_to ON relationships(to_id, type);

    CREATE TABLE activities (
        id          TEXT PRIMARY KEY,
        type        TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        summary     TEXT NOT NULL,
        body        TEXT,
        author_id   TEXT NOT NULL REFERENCES parties(id)
    );

    -- one row per (activity, subject): a party's timeline is one index range
    CREATE TABLE activity_subjects (
        party_id    TEXT NOT NULL REFERENCES parties(id),
        occurred_at TEXT NOT NULL,
        activity_id TEXT NOT NULL REFERENCES activities(id),
        type        TEXT NOT NULL,
        position    INTEGER NOT NULL,
        PRIMARY KEY (party_id, occurred_at, activity_id)
    ) WITHOUT ROWID;
    CREATE INDEX activity_subjects_activity ON activity_subjects(activity_id);
    """,
    # 2: the first closure of the default hierarchy, for roll-up timelines. It was filled
    # by counting paths, which is exponential on layered DAGs; version 3 replaces it, so
    # the table is now made empty here and dropped there.
    """
    CREATE TABLE hierarchy_paths (
        ancestor_id   TEXT NOT NULL,
        descendant_id TEXT NOT NULL,
        since         TEXT NOT NULL,
        until         TEXT NOT NULL,
        paths         INTEGER NOT NULL,
        PRIMARY KEY (ancestor_id, descendant_id, since, until)
    ) WITHOUT ROWID;
    -- the roll-up's global scan reads activities newest first
    CREATE INDEX activities_time ON activities(occurred_at, id);
    """,
    # 3: the closure by depth, with time windows and no path counts
    _reach,
    # 4: notes about the graph itself, such as how far an unfinished seed got
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 5: identity
    _identity,
    # 6: how a grant's scope reaches: the subtree of the party, or its users' portfolio
    """
    ALTER TABLE grants ADD COLUMN scope_kind TEXT NOT NULL DEFAULT 'SUBTREE';
    DROP INDEX grants_held;
    CREATE UNIQUE INDEX grants_held ON grants(user_id, role, coalesce(scope_id, ''), scope_kind);
    """,
    # 7: fiscal codes in a search column of their own
    _fiscal_search,
    # 8: VAT numbers, tax codes and e-mail addresses as keys
    _keys,
    # 9: the change history, append-only
    history.TABLES,
    # 10: a merged party names its survivor in its details; the survivor lists them by this
    f"CREATE INDEX parties_merged ON parties({MERGED_INTO}) WHERE {MERGED_INTO} IS NOT NULL",
    # 11: name, phone and address keys, which find duplicates
    _fill_keys,
    # 12: a closure range's deepest level in one seek, for a roll-up at its depth bound to
    # tell whether the hierarchy goes on below it
    "CREATE INDEX IF NOT EXISTS hierarchy_reach_down ON hierarchy_reach(ancestor_id, depth)",
    # 13: categories as data: kinds, fields, documents, version, archived (one JSON text);
    # the admin role may change them
    _categories_as_data,
    # 14: levels as data, the unit types there were among them (stored values stay valid)
    _levels,
    # 15: activity summaries and bodies searchable
    activity_search.migrate,
    # 16: activities planned, with a status, a version, a schedule, and people's agendas
    _schedules,
    # 17: process runs, a row per step (process_steps.py)
    process_steps.TABLE,
    # 18: sales pipelines, each one JSON document of its name and stages
    """
    CREATE TABLE pipelines (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        version    INTEGER NOT NULL,
        definition TEXT NOT NULL
    );
    """,
    # 19: sales opportunities, each a document beside the columns lists filter and page on
    """
    CREATE TABLE opportunities (
        id              TEXT PRIMARY KEY,
        pipeline_id     TEXT NOT NULL,
        stage_id        TEXT NOT NULL,
        owner_id        TEXT NOT NULL,
        organization_id TEXT NOT NULL,
        status          TEXT NOT NULL,
        currency        TEXT NOT NULL,
        amount          TEXT NOT NULL,
        probability     INTEGER,
        close_key       TEXT NOT NULL,
        amount_key      TEXT NOT NULL,
        updated_key     TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        version         INTEGER NOT NULL,
        document        TEXT NOT NULL
    );
    CREATE INDEX opportunities_pipeline ON opportunities(pipeline_id, close_key, id);
    CREATE INDEX opportunities_organization ON opportunities(organization_id, close_key, id);
    CREATE INDEX opportunities_owner ON opportunities(owner_id, close_key, id);
    """,
    # 20: which open steps' OVERDUE was told, and the index the overdue watch reads
    process_steps.OVERDUE,
    # 21: amounts in integer parts SQL sums exactly, for the pipeline summary
    opportunity_sums.migrate,
    # 22: the opportunity an activity was for; a deal's timeline is one range of the index,
    # counted by type from the index alone
    """
    ALTER TABLE activities ADD COLUMN opportunity_id TEXT;
    CREATE INDEX activities_opportunity ON activities(opportunity_id, occurred_at, id, type)
        WHERE opportunity_id IS NOT NULL;
    """,
    # 23: the closure's downward index carries each row's end of validity too, so a page of
    # descendants and a subtree's members are read from it alone, without a seek into the
    # table for each row; its statistics at once, without which the planner seeks a page's
    # cursor by depth alone (BENCHMARKS.md, "SQLite reads ... (issue 11)")
    """
    DROP INDEX IF EXISTS hierarchy_reach_down;
    CREATE INDEX hierarchy_reach_down
        ON hierarchy_reach(ancestor_id, depth, descendant_id, until);
    ANALYZE hierarchy_reach;
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this file has and the database lacks; return the version.
    Each runs under the write lock and reads the version inside it, so processes
    starting together on one file take turns instead of applying a script twice."""
    for number, script in enumerate(MIGRATIONS, start=1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise ConfigError(
                    f"database schema version {version} is newer than this contactgraph "
                    f"({len(MIGRATIONS)}); upgrade contactgraph"
                )
            if version < number:
                if isinstance(script, str):
                    for statement in script.split(";\n"):
                        if statement.strip():
                            conn.execute(statement)
                else:
                    script(conn)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
