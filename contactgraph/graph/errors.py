"""Domain errors, each carrying the GraphQL `extensions.code` a client sees."""


class GraphError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, object]:
        """What the error's GraphQL extensions carry besides its code."""
        return {}


class BadUserInput(GraphError):
    code = "BAD_USER_INPUT"


class InvalidValue(BadUserInput):
    """A value that is not what its field holds: `field` is its path in the input
    (`emails[0].address`, `fiscal.vatNumber`), `reason` why."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"{field} {value!r} {reason}")
        self.field = field
        self.value = value
        self.reason = reason

    def details(self) -> dict[str, object]:
        return {"field": self.field}


class MissingValue(BadUserInput):
    """A value a field needs and the input lacks: `field` is its path in the input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field

    def details(self) -> dict[str, object]:
        return {"field": self.field}


class NotFound(GraphError):
    code = "NOT_FOUND"


class UnknownParty(NotFound):
    """A field of the input names a party that does not exist: `field` is its path."""

    def __init__(self, field: str, party_id: str) -> None:
        super().__init__(f"{field} names party {party_id}, which does not exist")
        self.field = field

    def details(self) -> dict[str, object]:
        return {"field": self.field}


class Conflict(GraphError):
    """Stale expectedVersion, a duplicate, or a link that would close a cycle."""

    code = "CONFLICT"


class PossibleDuplicates(Conflict):
    """A create that asked to be checked for duplicates found some, and wrote nothing:
    `candidates` are the parties it may be, as the client reads them."""

    def __init__(self, message: str, candidates: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.candidates = candidates

    def details(self) -> dict[str, object]:
        return {"duplicates": self.candidates}


class Unauthenticated(GraphError):
    """No credential, or one that is bad, expired or revoked; the message never says which."""

    code = "UNAUTHENTICATED"


class Forbidden(GraphError):
    """The viewer may not do or read this; nothing was written."""

    code = "FORBIDDEN"


class FailedPrecondition(GraphError):
    """The write is refused by the state of what it touches (an open process step that
    blocks it); nothing was written. `step` is the id of the step in the way."""

    code = "FAILED_PRECONDITION"

    def __init__(self, message: str, step: str) -> None:
        super().__init__(message)
        self.step = step

    def details(self) -> dict[str, object]:
        return {"step": self.step}


class LimitExceeded(GraphError):
    code = "LIMIT_EXCEEDED"


def past_the_ceiling(what: str, ceiling: int) -> LimitExceeded:
    """A walk to the server's depth ceiling that left parties out: an error, never an answer
    cut without saying so. An explicit maxDepth asks for the cut and gets it."""
    return LimitExceeded(
        f"{what} goes on past the depth ceiling of {ceiling} levels: give maxDepth "
        f"(at most {ceiling}) to read as deep as that, or raise the server's --max-depth"
    )


class RateLimited(GraphError):
    """The viewer asked more often than --rate-limit allows; try again in `retry_after` s."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Timeout(GraphError):
    """The request's time limit passed; the store work behind it was stopped."""

    code = "TIMEOUT"


class ServiceUnavailable(GraphError):
    code = "SERVICE_UNAVAILABLE"


class ConfigError(Exception):
    """A setting that makes starting impossible (bad graph URL, unusable path)."""
