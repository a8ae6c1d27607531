"""ERP connectors: a generic OData v2 client and one declarative mapping per ERP product."""

from oee_pipelines.connectors.erp.mapping import (
    Confirmation,
    EntityMapping,
    ErpMapping,
    MappingError,
    Plants,
)
from oee_pipelines.connectors.erp.odata import ODataClient
from oee_pipelines.connectors.erp.sap import SAP_S4HANA

MAPPINGS: dict[str, ErpMapping] = {SAP_S4HANA.system: SAP_S4HANA}
"""The ERP products known by name (`OEE_ERP_PRODUCT`)."""

__all__ = [
    "MAPPINGS",
    "SAP_S4HANA",
    "Confirmation",
    "EntityMapping",
    "ErpMapping",
    "MappingError",
    "ODataClient",
    "Plants",
]
