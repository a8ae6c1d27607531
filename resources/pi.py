"""The PI Web API as a Dagster resource: a client per run, configured from the environment."""

from __future__ import annotations

from pydantic import Field

from oee_pipelines.connectors.historian import HistorianConfig
from oee_pipelines.connectors.pi import DEFAULT_MAX_COUNT, MAX_COUNT_LIMIT, PiWebApi
from resources.historian import HistorianResource


class PiWebApiResource(HistorianResource):
    """OSIsoft/AVEVA PI Web API (`OEE_PI_URL`, e.g. https://pi.example.com/piwebapi)."""

    data_server: str = Field(description="The PI Data Archive holding the tags (OEE_PI_SERVER).")
    max_count: int = Field(
        default=DEFAULT_MAX_COUNT,
        ge=1,
        le=MAX_COUNT_LIMIT,
        description="Values per stream and call.",
    )
    tags_per_request: int = Field(default=50, ge=1, description="Streams per streamsets call.")

    def client(self, config: HistorianConfig) -> PiWebApi:
        return PiWebApi(
            self.base_url,
            self.data_server,
            auth=self.auth(),
            max_count=self.max_count,
            tags_per_request=self.tags_per_request,
            clock_offset=config.clock_offset,
            timeout_s=self.timeout_s,
            verify_tls=self.verify_tls,
        )
