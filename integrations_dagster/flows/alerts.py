"""The failure alert: a sensor that tells the team (Slack, e-mail, webhook) when a flow's run failed."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

import requests
from dagster import DefaultSensorStatus, RunFailureSensorContext, SensorDefinition, run_failure_sensor

from integrations_dagster.config import Alerts, EnvRef


def failure_sensor(alerts_by_integration: dict[str, Alerts]) -> SensorDefinition:
    @run_failure_sensor(name="integrations_failure_alert", default_status=DefaultSensorStatus.RUNNING,
                        monitor_all_code_locations=False,
                        description="alerts the team (Slack, e-mail, webhook) when a flow's run fails")
    def _alert(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        integration = run.tags.get("integrations/integration", "")
        alerts = alerts_by_integration.get(integration)
        message = (f"integrations_dagster: run {run.run_id[:8]} of {run.job_name} failed: "
                   f"{context.failure_event.message or 'see the run in Dagster'}")
        channels = send_alerts(alerts, message) if alerts else []
        context.log.info(f"{message} (alerted: {', '.join(channels) or 'no channel configured'})")

    return _alert


def send_alerts(alerts: Alerts, message: str) -> list[str]:
    """Deliver ``message`` on every channel configured; return the channels that took it."""
    sent = []
    if url := _env(alerts.slack_webhook):
        requests.post(url, json={"text": message}, timeout=10).raise_for_status()
        sent.append("slack")
    if url := _env(alerts.webhook):
        requests.post(url, data=json.dumps({"text": message}), timeout=10,
                      headers={"Content-Type": "application/json"}).raise_for_status()
        sent.append("webhook")
    host = alerts.smtp_host.resolve() if isinstance(alerts.smtp_host, EnvRef) else alerts.smtp_host
    if alerts.email_to and host:
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = message[:120], alerts.email_from, ", ".join(alerts.email_to)
        mail.set_content(message)
        with smtplib.SMTP(host, alerts.smtp_port, timeout=10) as smtp:
            smtp.send_message(mail)
        sent.append("email")
    return sent


def _env(ref: EnvRef | None) -> str | None:
    return ref.resolve() if ref else None
