"""What the PI Web API and AVEVA Historian resources share: where the server is, how to sign in,
and the historians' configuration file (tags, quality table, clock offset)."""

from __future__ import annotations

import os
from typing import overload

import httpx
from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from oee_pipelines.connectors.historian import HistorianConfig, http_auth, load_historians


class HistorianResource(ConfigurableResource):
    """A historian's REST API; secrets come from the environment (`EnvVar`) only."""

    base_url: str = Field(description="Base URL of the historian's REST API.")
    username: str | None = Field(default=None, description="User for Basic authentication.")
    password: str | None = Field(default=None, description="Password for Basic authentication.")
    token: str | None = Field(default=None, description="Bearer token (instead of Basic).")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate.")
    config_path: str = Field(description="The historians' configuration (OEE_HISTORIANS).")
    timeout_s: float = Field(default=120.0, gt=0, description="Seconds to wait for one answer.")

    def auth(self) -> httpx.Auth | None:
        return http_auth(self.username, self.password, self.token)

    def historian(self, name: str) -> HistorianConfig:
        """This historian's section of the configuration file."""
        return load_historians(self.config_path)[name]


@overload
def from_env(name: str) -> str | None: ...
@overload
def from_env(name: str, default: str) -> str: ...
def from_env(name: str, default: str | None = None) -> str | None:
    """`EnvVar(name)` when the variable is set (its value stays out of the run's config), else
    the default: optional settings such as credentials may be left unset."""
    return EnvVar(name) if os.environ.get(name) else default
