"""The ERP as a Dagster resource: which ERP product, where, how to sign in, how hard to try."""

from __future__ import annotations

from pydantic import Field

from oee_pipelines.connectors.erp import MAPPINGS, ErpMapping, ODataClient
from oee_pipelines.errors import ConfigError
from resources.http_service import HttpServiceResource

SYSTEM = "erp"


class ErpResource(HttpServiceResource):
    """An ERP's OData v2 services (`OEE_ERP_URL`, e.g. https://erp.example.com/sap/opu/odata/sap);
    secrets come from the environment (`EnvVar`) only."""

    base_url: str = Field(description="URL under which the ERP's OData services live.")
    product: str = Field(default="sap", description="Which ERP mapping (OEE_ERP_PRODUCT).")
    timeout_s: float = Field(default=60.0, gt=0, description="Seconds to wait for one answer.")
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
        return ODataClient(SYSTEM, self.base_url, self.guarded_http(SYSTEM))
