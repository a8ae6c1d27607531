"""The project's exceptions: what can go wrong that a user can act on.

Every expected failure (bad configuration, an unreachable system, a bad argument) is an
`OeeError`; `oee` prints its message as one line and exits non-zero. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class OeeError(Exception):
    """A failure with a message that tells the user what is wrong and where."""


class ConfigError(OeeError):
    """A setting, argument or configuration file that cannot be used."""


class PlantModelError(ConfigError, ValueError):
    """A plant model file that cannot be used; the message names the file and the field."""


class WarehouseError(OeeError):
    """The warehouse database cannot be reached or is not in the expected state."""


class SourceError(OeeError):
    """A source system failed: names the system, the endpoint (URL, topic, tag) and the cause."""

    def __init__(self, system: str, endpoint: str, cause: str | BaseException) -> None:
        self.system = system
        self.endpoint = endpoint
        self.cause = cause
        super().__init__(f"{system} {endpoint}: {cause}")
