"""All I/O with outside systems: CRMs, finance sources, and the local sandbox CRM."""
