"""What the resources of the plant's HTTP systems (MES, ERP, historians) share: how to sign in,
how long to wait, how hard to try and how much to accept. Secrets come from the environment
(`EnvVar`) only.
"""

from __future__ import annotations

import httpx
from dagster import ConfigurableResource
from pydantic import Field

from oee_pipelines.connectors.historian import http_auth
from oee_pipelines.connectors.http import GuardedHttp, RetryPolicy


class HttpSignInResource(ConfigurableResource):
    """How to sign in to one system and how long to wait for it; subclasses say where it is."""

    username: str | None = Field(default=None, description="User for Basic authentication.")
    password: str | None = Field(default=None, description="Password for Basic authentication.")
    token: str | None = Field(default=None, description="Bearer token (instead of Basic).")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate.")
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for one answer.")

    def auth(self) -> httpx.Auth | None:
        return http_auth(self.username, self.password, self.token)


class HttpServiceResource(HttpSignInResource):
    """Sign-in plus patience for a system called through `GuardedHttp` (the MES, the ERP)."""

    attempts: int = Field(default=3, ge=1, description="Tries of a call on 5xx and timeouts.")
    backoff_s: float = Field(default=1.0, ge=0, description="Wait before the first retry.")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Larger answers are refused."
    )

    def guarded_http(self, system: str) -> GuardedHttp:
        """A guarded HTTP client with these settings; close it when done."""
        return GuardedHttp.open(
            system,
            auth=self.auth(),
            timeout_s=self.timeout_s,
            verify_tls=self.verify_tls,
            retry=RetryPolicy(self.attempts, self.backoff_s),
            max_body_bytes=self.max_body_bytes,
        )
