"""A local CRM that speaks the Salesforce and HubSpot wire protocols.

Used by the demo, the tests and the benchmarks; production code paths never import it.

Its server needs the `sandbox` extra (Starlette, uvicorn, trustme): `pip install
'valuesync[sandbox]'` (`make demo` and `make test` install it).
"""

PROFILE_NAMES = ("none", "flaky", "limits", "hostile")
"""The fault profiles `faults.PROFILES` defines, importable without loading the server."""
