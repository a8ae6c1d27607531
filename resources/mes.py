"""The plant's MES as a Dagster resource: its REST API or, for MES products that only speak
SOAP, its B2MML SOAP service. Secrets come from the environment (`EnvVar`) only."""

from __future__ import annotations

from pydantic import Field

from oee_pipelines.connectors.mes import SYSTEM, MesClient, MesRestClient, MesSoapClient
from oee_pipelines.errors import ConfigError
from resources.http_service import HttpServiceResource


class MesResource(HttpServiceResource):
    """REST when `rest_url` (OEE_MES_URL) is set, else SOAP at `soap_url` (OEE_MES_SOAP_URL)."""

    rest_url: str | None = Field(default=None, description="Base URL of the MES REST API.")
    soap_url: str | None = Field(
        default=None, description="The MES SOAP endpoint; its WSDL is at `?wsdl`."
    )
    page_size: int = Field(default=500, ge=1, description="Records per REST page.")
    attempts: int = Field(default=4, ge=1, description="Tries of a call on 5xx and timeouts.")

    def client(self) -> MesClient:
        """A client for this run; use it as a context manager."""
        http = self.guarded_http(SYSTEM)
        if self.rest_url:
            return MesRestClient(self.rest_url, http, self.page_size)
        if self.soap_url:
            return MesSoapClient(self.soap_url, http)
        http.close()
        raise ConfigError("no MES configured: set OEE_MES_URL (REST) or OEE_MES_SOAP_URL (SOAP)")
