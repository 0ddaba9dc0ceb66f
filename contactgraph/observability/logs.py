"""How the server logs: text for a terminal, or one JSON object a line for a log
pipeline (python-json-logger), each line carrying the id of the request it was
written for. The one configuration serves the `serve` process and, through
uvicorn's log_config, each of its workers."""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

from .requests import current

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ["message", "levelname", "name", "request_id"]


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record (`missing` outside requests)."""

    def __init__(self, missing: str | None = None) -> None:
        super().__init__()
        self._missing = missing

    def filter(self, record: logging.LogRecord) -> bool:
        request = current()
        record.request_id = request.id if request is not None else self._missing
        return True


def config(log_format: str, level: str) -> dict[str, Any]:
    """A logging.config.dictConfig dictionary: every logger to stderr in `log_format`,
    uvicorn's included; its access log gives way to the server's own (requests.py)."""
    if log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.orjson.OrjsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],  # uvicorn's, for terminals
        }
    else:
        formatter = {"format": TEXT}
    missing = None if log_format == "json" else "-"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request": {"()": "contactgraph.observability.logs.RequestIdFilter", "missing": missing}
        },
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }
