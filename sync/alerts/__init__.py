"""Alerts and the operating rhythm: trigger evaluation after each run, the value review
digest on its own schedule, CRM tasks for account owners (docs/alerts.md)."""

from sync.alerts.evaluate import after_run

__all__ = ["after_run"]
