"""The sandbox's HubSpot side: CRM v3 objects, search, batch, associations v4, properties."""
