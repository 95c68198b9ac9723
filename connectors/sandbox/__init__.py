"""A local CRM that speaks the Salesforce and HubSpot wire protocols.

Used by the demo, the tests and the benchmarks; production code paths never import it.
"""
