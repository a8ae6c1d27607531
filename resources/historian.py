"""What the PI Web API and AVEVA Historian resources share: where the server is, how to sign in,
and the historians' configuration file (tags, quality table, clock offset)."""

from __future__ import annotations

import os
from typing import Any, Self, overload

from dagster import EnvVar
from pydantic import Field

from oee_pipelines.connectors.historian import HistorianClient, HistorianConfig, load_historians
from oee_pipelines.settings import PROJECT_DIR
from resources.http_service import HttpSignInResource


class HistorianResource(HttpSignInResource):
    """A historian's REST API; secrets come from the environment (`EnvVar`) only."""

    base_url: str = Field(description="Base URL of the historian's REST API.")
    config_path: str = Field(description="The historians' configuration (OEE_HISTORIANS).")
    timeout_s: float = Field(default=120.0, gt=0, description="Seconds to wait for one answer.")

    def historian(self, name: str) -> HistorianConfig:
        """This historian's section of the configuration file."""
        return load_historians(self.config_path)[name]

    def client(self, config: HistorianConfig) -> HistorianClient:
        raise NotImplementedError

    @classmethod
    def from_environment(cls, prefix: str, **fields: Any) -> Self:
        """The resource of `OEE_<prefix>_URL` and the optional `_USERNAME`, `_PASSWORD`,
        `_TOKEN` and `_VERIFY_TLS`; the configuration file from `OEE_HISTORIANS`."""
        return cls(
            base_url=EnvVar(f"OEE_{prefix}_URL"),
            username=from_env(f"OEE_{prefix}_USERNAME"),
            password=from_env(f"OEE_{prefix}_PASSWORD"),
            token=from_env(f"OEE_{prefix}_TOKEN"),
            verify_tls=os.environ.get(f"OEE_{prefix}_VERIFY_TLS", "true").lower() != "false",
            config_path=os.environ.get(
                "OEE_HISTORIANS", str(PROJECT_DIR / "config" / "historians.yaml")
            ),
            **fields,
        )


@overload
def from_env(name: str) -> str | None: ...
@overload
def from_env(name: str, default: str) -> str: ...
def from_env(name: str, default: str | None = None) -> str | None:
    """`EnvVar(name)` when the variable is set (its value stays out of the run's config), else
    the default: optional settings such as credentials may be left unset."""
    return EnvVar(name) if os.environ.get(name) else default
