"""HubSpot through hubspot-api-client: client, schema (describe), pull, push, frames,
provision and limits. `HubSpotConnector` (connector.py) is what the pipeline gets."""
