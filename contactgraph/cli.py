"""The `contactgraph` command: serve the graph, or seed it with demo or synthetic data."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import click

from .access.anonymous import FLAG as ANONYMOUS_FLAG
from .access.anonymous import USERNAME as ANONYMOUS_USER
from .access.credentials import new_secret
from .config import (
    DEFAULT_GRAPH_URL,
    FLAGS,
    MIN_METRICS_TOKEN,
    Settings,
    default_hosts,
    is_loopback,
)
from .graph import contactdata
from .graph.backends import open_store
from .graph.errors import ConfigError, GraphError
from .graph.store import GraphStore
from .graph.times import utcnow
from .listening import base_url, listen
from .observability import logs
from .observability.metrics import MULTIPROCESS_DIR
from .seeds.demo import DEMO_ADMIN, load_demo
from .seeds.pipeline import write_synthetic
from .seeds.progress import SeedRun, bar

graph_option = click.option(
    "--graph",
    "graph_url",
    envvar="CONTACTGRAPH_GRAPH",
    default=DEFAULT_GRAPH_URL,
    show_default=True,
    show_envvar=True,
    help="Where the graph lives: sqlite:///path.db, sqlite:////abs/path.db, sqlite:///:memory:, "
    "or bolt://host:7687 / neo4j://host:7687 (credentials from CONTACTGRAPH_NEO4J_USER and "
    "CONTACTGRAPH_NEO4J_PASSWORD, else NEO4J_USER and NEO4J_PASSWORD).",
)


def _region(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    try:
        return None if not value else contactdata.default_region(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


region_option = click.option(
    "--default-region",
    envvar="CONTACTGRAPH_DEFAULT_REGION",
    show_envvar=True,
    metavar="CC",
    callback=_region,
    help="Read phone numbers written without +country code in this country (ISO 3166 "
    "alpha-2, e.g. AT) when their party has none of its own (an address's country, or "
    "fiscal.country); it is also the country of such a party's tax code. Default: none, "
    "and such numbers are refused.",
)


def setting_options(command: Callable[..., None]) -> Callable[..., None]:
    """A flag for every numeric setting, defaulting to the Settings default."""
    for setting in reversed(FLAGS):
        minimum, maximum = setting.metadata["minimum"], setting.metadata["maximum"]
        floats = isinstance(setting.default, float)
        command = click.option(
            "--" + setting.name.replace("_", "-"),
            envvar="CONTACTGRAPH_" + setting.name.upper(),
            default=setting.default,
            show_default=True,
            show_envvar=True,
            type=click.FloatRange(minimum, maximum) if floats else click.IntRange(minimum, maximum),
            help=setting.metadata["help"],
        )(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="contactgraph")
def main() -> None:
    """contactgraph: organizations, contacts and users in one graph, served over GraphQL.

    Every option can also be set through the CONTACTGRAPH_* environment variable
    shown next to it; a flag on the command line wins over the environment.
    """


create_option = click.option(
    "--create",
    envvar="CONTACTGRAPH_CREATE",
    is_flag=True,
    show_envvar=True,
    help="Make a new, empty embedded database when the file does not exist. Without it only "
    "the default path is made; any other missing file is an error, so a mistyped or deleted "
    "path never quietly becomes an empty graph.",
)


def _metrics_token(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if value is not None and (len(value) < MIN_METRICS_TOKEN or not value.isprintable()):
        raise click.BadParameter(
            f"must be at least {MIN_METRICS_TOKEN} printable characters: anyone who guesses "
            "it reads the metrics"
        )
    return value


def _creates(graph_url: str, create: bool) -> bool:
    """Whether a missing embedded database may be made: when asked, or at the default path
    (the README's first command on a fresh clone)."""
    return create or graph_url == DEFAULT_GRAPH_URL


async def _open(url: str, create: bool, read_only: bool = False) -> GraphStore:
    store = open_store(url, create, read_only=read_only)
    await store.start()
    return store


def _fail(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


@main.command()
@graph_option
@create_option
@click.option(
    "--host",
    envvar="CONTACTGRAPH_HOST",
    default="127.0.0.1",
    show_default=True,
    show_envvar=True,
    help="Interface to listen on (0.0.0.0 for all).",
)
@click.option(
    "--port",
    envvar="CONTACTGRAPH_PORT",
    default=8000,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(0, 65535),
    help="TCP port to listen on.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    envvar="CONTACTGRAPH_ALLOWED_HOSTS",
    multiple=True,
    show_envvar=True,
    help="A Host header to answer (repeatable; '*.example.com' matches subdomains, '*' any). "
    "Default: localhost, 127.0.0.1, [::1] and the --host address (on 0.0.0.0 also the "
    "machine's names). Other Host headers get 400, which stops DNS-rebinding pages.",
)
@click.option(
    "--demo",
    envvar="CONTACTGRAPH_DEMO",
    is_flag=True,
    show_envvar=True,
    help="Load the demo dataset first if the graph is empty, and sign its administrator in "
    "with a token that is printed (CONTACTGRAPH_DEMO_TOKEN, else a new one); on a loopback "
    "--host the GraphiQL page sends it for you.",
)
@click.option(
    "--oidc-issuer",
    envvar="CONTACTGRAPH_OIDC_ISSUER",
    show_envvar=True,
    metavar="URL",
    help="Also sign users in with JWTs (RS256, ES256) of this OpenID Connect issuer, checked "
    "against the keys its discovery document names.",
)
@click.option(
    "--oidc-audience",
    envvar="CONTACTGRAPH_OIDC_AUDIENCE",
    show_envvar=True,
    help="The audience (aud) those JWTs must carry; required with --oidc-issuer.",
)
@click.option(
    "--oidc-claim",
    envvar="CONTACTGRAPH_OIDC_CLAIM",
    default="preferred_username",
    show_default=True,
    show_envvar=True,
    help="The JWT claim holding the username of the User party it signs in.",
)
@click.option(
    "--oidc-create-users",
    envvar="CONTACTGRAPH_OIDC_CREATE_USERS",
    is_flag=True,
    show_envvar=True,
    help="Make a User party (with no roles) for a valid JWT naming an unknown username, "
    "instead of refusing it.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    envvar="CONTACTGRAPH_CORS_ORIGINS",
    multiple=True,
    show_envvar=True,
    metavar="ORIGIN",
    help="Let browser pages on this origin (https://app.example, http://localhost:3000) call "
    "the API and open WebSockets (repeatable; the variable takes several, comma- or "
    "space-separated). Default: none, only the server's own pages.",
)
@click.option(
    ANONYMOUS_FLAG,
    "insecure_anonymous_admin",
    envvar="CONTACTGRAPH_INSECURE_ANONYMOUS_ADMIN",
    is_flag=True,
    show_envvar=True,
    help=f"For experiments: a request with no Authorization header acts as the administrator "
    f"{ANONYMOUS_USER!r} (made if missing). Loopback --host only; never with real data.",
)
@click.option(
    "--events",
    "events_url",
    envvar="CONTACTGRAPH_EVENTS",
    show_envvar=True,
    metavar="redis://HOST:PORT",
    help="Carry live activity events through this Redis (a stream), so a subscriber on any "
    "server process using it hears of activities recorded through every other. Default: "
    "an in-process bus, for a single process.",
)
@click.option(
    "--workers",
    envvar="CONTACTGRAPH_WORKERS",
    default=1,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(1, 64),
    help="Server processes on the one port, to use more than one core for GraphQL. More "
    "than 1 needs --events: live feeds must reach subscribers on every process. Limits "
    "(rates, subscriptions) hold per process.",
)
@click.option(
    "--metrics-token",
    envvar="CONTACTGRAPH_METRICS_TOKEN",
    show_envvar=True,
    metavar="SECRET",
    callback=_metrics_token,
    help=f"Let a scraper that sends Authorization: Bearer SECRET read /metrics (at least "
    f"{MIN_METRICS_TOKEN} characters). Administrators' own tokens always may; with --demo "
    "on a loopback --host anyone may.",
)
@click.option(
    "--tracing",
    envvar="CONTACTGRAPH_TRACING",
    is_flag=True,
    show_envvar=True,
    help="Send OpenTelemetry spans (an operation's, its resolvers', each store call's) over "
    "OTLP/HTTP as the OTEL_* variables configure it; needs pip install "
    "'contactgraph[tracing]'.",
)
@region_option
@setting_options
@click.option(
    "--log-level",
    envvar="CONTACTGRAPH_LOG_LEVEL",
    default="info",
    show_default=True,
    show_envvar=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--log-format",
    envvar="CONTACTGRAPH_LOG_FORMAT",
    default="text",
    show_default=True,
    show_envvar=True,
    type=click.Choice(logs.FORMATS),
    help="text for a terminal; json: one object a line (time, level, logger, message, "
    "request_id; the access lines also status, operation, outcome, duration_ms).",
)
def serve(
    graph_url: str,
    create: bool,
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    demo: bool,
    oidc_issuer: str | None,
    oidc_audience: str | None,
    oidc_claim: str,
    oidc_create_users: bool,
    cors_origins: tuple[str, ...],
    insecure_anonymous_admin: bool,
    events_url: str | None,
    workers: int,
    metrics_token: str | None,
    tracing: bool,
    default_region: str | None,
    log_level: str,
    log_format: str,
    **flags: Any,
) -> None:
    """Serve the graph over GraphQL at http://HOST:PORT/graphql.

    A browser there gets GraphiQL, and the explorer at http://HOST:PORT/explore. The
    address is printed once the port is bound (the port the system chose, with --port 0)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .app import WORKER_SETTINGS, create_app, settled
    from .websocket import server_options

    if workers > 1 and events_url is None:
        raise click.BadParameter(
            "several processes need --events redis://HOST:PORT: on each process's own "
            "bus, a subscriber would never hear of activities recorded through the others",
            param_hint="--workers",
        )
    if flags["default_page_size"] > flags["max_page_size"]:
        raise click.BadParameter(
            "must not exceed --max-page-size", param_hint="--default-page-size"
        )
    if insecure_anonymous_admin:
        _anonymous_only_locally(host, allowed_hosts)
    from .origins import parse_origins  # here: it brings Strawberry, which no other command needs

    try:
        origins = parse_origins(cors_origins)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--cors-origin") from None
    token = (os.environ.get("CONTACTGRAPH_DEMO_TOKEN") or new_secret()) if demo else None
    settings = Settings(
        graph_url=graph_url,
        create=_creates(graph_url, create),
        allowed_hosts=allowed_hosts or default_hosts(host),
        demo=demo,
        demo_token=token,
        ide_token=token if is_loopback(host) else None,
        oidc_issuer=oidc_issuer,
        oidc_audience=oidc_audience,
        oidc_claim=oidc_claim,
        oidc_create_users=oidc_create_users,
        cors_origins=origins,
        insecure_anonymous_admin=insecure_anonymous_admin,
        default_region=default_region,
        events_url=events_url,
        metrics_token=metrics_token,
        metrics_open=demo and is_loopback(host),
        tracing=tracing,
        **flags,
    )
    log_config = logs.config(log_format, log_level)
    logging.config.dictConfig(log_config)
    try:  # a graph that cannot be opened is reported here, in one line
        asyncio.run(_prepare(graph_url, settings.create))
        app = settled(create_app(settings))
        if workers > 1:  # what the workers would each do at start, done once first
            asyncio.run(_prepare_graph(app.state.store, settings))
        sock = listen(host, port)
    except ConfigError as error:
        raise _fail(error) from None
    click.echo(f"contactgraph serving {graph_url} at {base_url(host, sock)}/graphql", err=True)
    if token is not None:
        click.echo(f"demo administrator ({DEMO_ADMIN}): Authorization: Bearer {token}", err=True)
    # the socket is bound already; host and port only name it in uvicorn's log
    options = {"host": host, "port": sock.getsockname()[1], "log_level": log_level}
    options |= {**server_options(settings), "log_config": log_config}
    if workers == 1:
        uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
        return
    os.environ[WORKER_SETTINGS] = settings.to_json()
    # the workers' metrics, summed by whichever of them is scraped (observability/metrics.py)
    with tempfile.TemporaryDirectory(prefix="contactgraph-metrics-") as shared:
        os.environ[MULTIPROCESS_DIR] = shared
        config = uvicorn.Config(
            "contactgraph.app:worker_app", factory=True, workers=workers, **options
        )
        Multiprocess(config, sockets=[sock]).run()


async def _prepare_graph(store: GraphStore, settings: Settings) -> None:
    from .app import prepare_graph

    await store.start()
    try:
        await prepare_graph(store, settings)
    finally:
        await store.close()


def _anonymous_only_locally(host: str, allowed_hosts: tuple[str, ...]) -> None:
    """--insecure-anonymous-admin makes whoever reaches the server an administrator: only
    this machine may, and no page may reach it under another name (DNS rebinding)."""
    if not is_loopback(host):
        raise click.BadParameter(
            f"lets anyone who reaches the server act as an administrator, so it needs a "
            f"loopback --host (127.0.0.1, ::1 or localhost), not {host}",
            param_hint=ANONYMOUS_FLAG,
        )
    if "*" in allowed_hosts:
        raise click.BadParameter(
            "needs the Host check that stops DNS-rebinding pages: not with --allowed-host '*'",
            param_hint=ANONYMOUS_FLAG,
        )


async def _prepare(url: str, create: bool) -> None:
    store = await _open(url, create)  # opening migrates: tables, constraints, indexes
    try:
        pending = await store.seed_progress()
    finally:
        await store.close()
    if pending is not None:
        click.echo(f"warning: {SeedRun.from_json(pending).interrupted(url)}", err=True)


@main.command()
@graph_option
@create_option
def migrate(graph_url: str, create: bool) -> None:
    """Bring the graph's schema up to date.

    Safe to run again; serve does it too."""
    try:
        asyncio.run(_prepare(graph_url, _creates(graph_url, create)))
    except ConfigError as error:
        raise _fail(error) from None
    click.echo(f"{graph_url}: schema up to date")


@main.command()
@graph_option
@click.option(
    "--demo",
    envvar="CONTACTGRAPH_DEMO",
    is_flag=True,
    show_envvar=True,
    help="Load the demo dataset.",
)
@click.option(
    "--synthetic",
    envvar="CONTACTGRAPH_SYNTHETIC",
    type=click.IntRange(1),
    metavar="N",
    show_envvar=True,
    help="Generate a realistic graph of N parties (~5 activities each).",
)
@click.option(
    "--seed",
    "random_seed",
    envvar="CONTACTGRAPH_SEED",
    default=1,
    show_default=True,
    show_envvar=True,
    type=int,
    help="Random seed: the same seed gives the same graph.",
)
@click.option(
    "--batch-size",
    envvar="CONTACTGRAPH_BATCH_SIZE",
    show_envvar=True,
    type=click.IntRange(1),
    help="Parties written per transaction [default: 100,000 on SQLite (up to about 5.5 GB "
    "of memory), 1,000 on Neo4j].",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Finish a synthetic seed that was stopped half-way (its size, random seed and "
    "batch size come from the graph).",
)
def seed(
    graph_url: str,
    demo: bool,
    synthetic: int | None,
    random_seed: int,
    batch_size: int | None,
    resume: bool,
) -> None:
    """Fill an empty graph with the demo dataset or a synthetic one."""
    if not resume and demo == (synthetic is not None):
        raise click.UsageError("give exactly one of --demo or --synthetic N (or --resume)")
    if resume and demo:
        raise click.UsageError("--resume finishes a synthetic seed; the demo is one write")
    try:
        asyncio.run(_seed(graph_url, demo, synthetic, random_seed, batch_size, resume))
    except (ConfigError, GraphError) as error:
        raise _fail(error) from None


async def _seed(
    url: str,
    demo: bool,
    synthetic: int | None,
    random_seed: int,
    batch_size: int | None,
    resume: bool,
) -> None:
    store = await _open(url, True)  # seeding fills a graph: a new file is what it is for
    try:
        pending = await store.seed_progress()
        if pending is not None:
            run = SeedRun.from_json(pending)
            if not resume or synthetic not in (None, run.parties):
                raise ConfigError(run.interrupted(url))
        elif resume:
            raise ConfigError(f"{url} holds no unfinished seed to resume")
        elif not await store.is_empty():
            raise ConfigError(f"{url} already holds parties; seed into an empty graph")
        started = time.perf_counter()
        if demo:
            counts, cpu = await load_demo(store), None  # one transaction: nothing to resume
        else:
            if pending is None:
                assert synthetic is not None
                today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
                size = batch_size or store.seed_batch_size
                run = SeedRun(synthetic, random_seed, size, today.isoformat())
            counts, cpu = await _load_synthetic(store, run)
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        generator = "" if cpu is None else f" (the generator's process: {cpu:.1f} s of CPU)"
        click.echo(f"seeded {summary} into {url} in {elapsed:.1f} s{generator}")
    finally:
        await store.close()


async def _load_synthetic(store: GraphStore, run: SeedRun) -> tuple[dict[str, int], float | None]:
    with bar() as progress:
        task = progress.add_task("parties", total=run.parties, completed=run.written)
        return await write_synthetic(
            store, run, lambda done: progress.update(task, completed=done.written)
        )


# register `user`, `token`, `check`, `backup`, `schema`, `export` and `import` on main
from . import cli_backup, cli_check, cli_identity, cli_interchange, cli_schema  # noqa: E402, F401
