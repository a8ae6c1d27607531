"""The ERP as a Dagster resource: which ERP product, where, how to sign in, how hard to try."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from oee_pipelines.connectors.erp import MAPPINGS, ErpMapping, ODataClient
from oee_pipelines.connectors.historian import http_auth
from oee_pipelines.connectors.http import GuardedHttp, RetryPolicy
from oee_pipelines.errors import ConfigError

SYSTEM = "erp"


class ErpResource(ConfigurableResource):
    """An ERP's OData v2 services (`OEE_ERP_URL`, e.g. https://erp.example.com/sap/opu/odata/sap);
    secrets come from the environment (`EnvVar`) only."""

    base_url: str = Field(description="URL under which the ERP's OData services live.")
    product: str = Field(default="sap", description="Which ERP mapping (OEE_ERP_PRODUCT).")
    username: str | None = Field(default=None, description="User for Basic authentication.")
    password: str | None = Field(default=None, description="Password for Basic authentication.")
    token: str | None = Field(default=None, description="Bearer token (instead of Basic).")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate.")
    timeout_s: float = Field(default=60.0, gt=0, description="Seconds to wait for one answer.")
    attempts: int = Field(default=3, ge=1, description="Tries of a read (5xx, timeouts).")
    backoff_s: float = Field(default=2.0, ge=0, description="Wait before the second try.")
    max_body_bytes: int = Field(default=64 * 2**20, gt=0, description="Larger answers are refused.")

    @property
    def mapping(self) -> ErpMapping:
        if self.product not in MAPPINGS:
            raise ConfigError(f"OEE_ERP_PRODUCT {self.product!r} is not one of {sorted(MAPPINGS)}")
        return MAPPINGS[self.product]

    def client(self) -> ODataClient:
        if not self.base_url:
            raise ConfigError("OEE_ERP_URL is not set: where are the ERP's OData services?")
        http = GuardedHttp.open(
            SYSTEM,
            auth=http_auth(self.username, self.password, self.token),
            timeout_s=self.timeout_s,
            verify_tls=self.verify_tls,
            retry=RetryPolicy(self.attempts, self.backoff_s),
            max_body_bytes=self.max_body_bytes,
        )
        return ODataClient(SYSTEM, self.base_url, http)
