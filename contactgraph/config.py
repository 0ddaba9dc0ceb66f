"""Settings, from CLI flags or CONTACTGRAPH_* environment variables (flags win)."""

from dataclasses import dataclass

DEFAULT_GRAPH_URL = "sqlite:///./contactgraph.db"


@dataclass(frozen=True)
class Settings:
    graph_url: str = DEFAULT_GRAPH_URL
    create: bool = False  # make the embedded database when its file does not exist
    demo: bool = False
    default_page_size: int = 20
    max_page_size: int = 500
    max_depth: int = 64
    max_network_size: int = 1000
    subscriber_backlog: int = 256
