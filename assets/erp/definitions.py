"""The ERP as a source: its syncs, its confirmations and the ERP resource."""

import os

from dagster import Definitions

from assets.erp.assets import erp_confirmations, erp_labor, erp_materials, erp_production_orders
from oee_pipelines.settings import Settings
from resources.erp import ErpResource
from resources.historian import from_env


def definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=[erp_production_orders, erp_materials, erp_labor, erp_confirmations],
        resources={
            "erp": ErpResource(
                base_url=from_env("OEE_ERP_URL", ""),
                product=os.environ.get("OEE_ERP_PRODUCT", "sap"),
                username=from_env("OEE_ERP_USERNAME"),
                password=from_env("OEE_ERP_PASSWORD"),
                token=from_env("OEE_ERP_TOKEN"),
                verify_tls=os.environ.get("OEE_ERP_VERIFY_TLS", "true").lower() != "false",
            )
        },
    )
