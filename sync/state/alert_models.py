"""The alert tables of the state database (schema version 9), as sqlmodel classes.

A notification (`AlertEventRow`) is created once per status change: its `dedup_key`
is unique, so when several scheduler workers sharing PostgreSQL judge the same change,
one insert wins and the others deliver nothing. Deliveries are per channel and are
retried on later runs until they succeed or run out of attempts. CRM tasks are keyed
by an external key per quadrant migration, so a rerun never creates one twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class AlertStateRow(SQLModel, table=True):
    """Per connection and trigger: firing or ok, since when, and the last summary."""

    __tablename__ = "vs_alert_states"
    connection: str = Field(primary_key=True, max_length=200)
    trigger: str = Field(primary_key=True, max_length=200)
    status: str = Field(max_length=20)
    severity: str = Field(max_length=20)
    summary: str = Field(sa_type=sa.Text)
    run_id: int | None = None
    changed_at: datetime
    updated_at: datetime


class AlertEventRow(SQLModel, table=True):
    """One notification: fired, recovered, migration, digest or test; its rendered body."""

    __tablename__ = "vs_alert_events"
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=300, sa_column_kwargs={"unique": True})
    connection: str = Field(max_length=200)
    trigger: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    severity: str = Field(max_length=20)
    subject: str = Field(sa_type=sa.Text)
    body: str = Field(sa_type=sa.Text)
    """JSON: text, html, payload and attachment paths (never a secret)."""
    run_id: int | None = None
    created_at: datetime


class AlertDeliveryRow(SQLModel, table=True):
    """One notification on one channel: pending, sent, failed (retried) or given_up."""

    __tablename__ = "vs_alert_deliveries"
    __table_args__ = (sa.UniqueConstraint("event_id", "channel", name="uq_vs_alert_deliveries"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int
    channel: str = Field(max_length=200)
    status: str = Field(max_length=20)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime


class AlertTaskRow(SQLModel, table=True):
    """A CRM task valuesync created (or claimed to create) for an account's owner."""

    __tablename__ = "vs_alert_tasks"
    connection: str = Field(primary_key=True, max_length=200)
    external_key: str = Field(primary_key=True, max_length=100)
    account_id: str = Field(max_length=100)
    owner_id: str | None = Field(default=None, max_length=100)
    crm_task_id: str | None = Field(default=None, max_length=100)
    spec: str = Field(sa_type=sa.Text)
    """JSON of the task (subject, body, due, priority), so a failed one is retried as is."""
    status: str = Field(max_length=20)
    error: str | None = Field(default=None, sa_type=sa.Text)
    run_id: int | None = None
    updated_at: datetime


ALERT_TABLES = (AlertStateRow, AlertEventRow, AlertDeliveryRow, AlertTaskRow)
