"""The AVEVA Historian REST API as a Dagster resource: a client per run."""

from __future__ import annotations

from pydantic import Field

from oee_pipelines.connectors.aveva import AvevaHistorian
from oee_pipelines.connectors.historian import HistorianConfig
from resources.historian import HistorianResource


class AvevaHistorianResource(HistorianResource):
    """AVEVA (Wonderware) Historian (`OEE_AVEVA_URL`, e.g. https://hist:32573/Historian/v2)."""

    tags_per_request: int = Field(default=20, ge=1, description="Tags per ProcessValues query.")
    retrieval_mode: str = Field(default="Delta", description="RetrievalMode: Delta or Full.")

    def client(self, config: HistorianConfig) -> AvevaHistorian:
        return AvevaHistorian(
            self.base_url,
            auth=self.auth(),
            tags_per_request=self.tags_per_request,
            retrieval_mode=self.retrieval_mode,
            clock_offset=config.clock_offset,
            timeout_s=self.timeout_s,
            verify_tls=self.verify_tls,
        )
