"""Salesforce through simple-salesforce: transport, client, schema (describe), soql, pull,
bulk, push, frames, provision and limits. `SalesforceConnector` (connector.py) is what the
pipeline gets."""
