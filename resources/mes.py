"""The plant's MES as a Dagster resource: its REST API or, for MES products that only speak
SOAP, its B2MML SOAP service. Secrets come from the environment (`EnvVar`) only."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from oee_pipelines.connectors.historian import http_auth
from oee_pipelines.connectors.http import GuardedHttp, RetryPolicy
from oee_pipelines.connectors.mes import SYSTEM, MesClient, MesRestClient, MesSoapClient
from oee_pipelines.errors import ConfigError


class MesResource(ConfigurableResource):
    """REST when `rest_url` (OEE_MES_URL) is set, else SOAP at `soap_url` (OEE_MES_SOAP_URL)."""

    rest_url: str | None = Field(default=None, description="Base URL of the MES REST API.")
    soap_url: str | None = Field(
        default=None, description="The MES SOAP endpoint; its WSDL is at `?wsdl`."
    )
    username: str | None = Field(default=None, description="User for Basic authentication.")
    password: str | None = Field(default=None, description="Password for Basic authentication.")
    token: str | None = Field(default=None, description="Bearer token (instead of Basic).")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate.")
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for one answer.")
    page_size: int = Field(default=500, ge=1, description="Records per REST page.")
    attempts: int = Field(default=4, ge=1, description="Tries of a call on 5xx and timeouts.")
    backoff_s: float = Field(default=1.0, ge=0, description="Wait before the first retry.")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Larger answers are refused."
    )

    def client(self) -> MesClient:
        """A client for this run; use it as a context manager."""
        http = GuardedHttp.open(
            SYSTEM,
            auth=http_auth(self.username, self.password, self.token),
            timeout_s=self.timeout_s,
            verify_tls=self.verify_tls,
            retry=RetryPolicy(self.attempts, self.backoff_s),
            max_body_bytes=self.max_body_bytes,
        )
        if self.rest_url:
            return MesRestClient(self.rest_url, http, self.page_size)
        if self.soap_url:
            return MesSoapClient(self.soap_url, http)
        http.close()
        raise ConfigError("no MES configured: set OEE_MES_URL (REST) or OEE_MES_SOAP_URL (SOAP)")
