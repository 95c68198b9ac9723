"""Finance sources (ERP / billing exports): read, validate, convert, match to CRM accounts.
`load_finance` (loader.py) and its cache (cache.py) are what the pipeline calls."""
