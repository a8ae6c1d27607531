"""What the resources of the plant's HTTP systems (MES, ERP) share: how to sign in, how long to
wait, how hard to try and how much to accept. Secrets come from the environment (`EnvVar`) only.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from oee_pipelines.connectors.historian import http_auth
from oee_pipelines.connectors.http import GuardedHttp, RetryPolicy


class HttpServiceResource(ConfigurableResource):
    """Sign-in and patience for one system; subclasses say where it is and set their defaults."""

    username: str | None = Field(default=None, description="User for Basic authentication.")
    password: str | None = Field(default=None, description="Password for Basic authentication.")
    token: str | None = Field(default=None, description="Bearer token (instead of Basic).")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate.")
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for one answer.")
    attempts: int = Field(default=3, ge=1, description="Tries of a call on 5xx and timeouts.")
    backoff_s: float = Field(default=1.0, ge=0, description="Wait before the first retry.")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Larger answers are refused."
    )

    def guarded_http(self, system: str) -> GuardedHttp:
        """A guarded HTTP client with these settings; close it when done."""
        return GuardedHttp.open(
            system,
            auth=http_auth(self.username, self.password, self.token),
            timeout_s=self.timeout_s,
            verify_tls=self.verify_tls,
            retry=RetryPolicy(self.attempts, self.backoff_s),
            max_body_bytes=self.max_body_bytes,
        )
