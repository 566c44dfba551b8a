"""Alerts that say why: a sensor for failed runs, and one for runs whose records failed or whose
drift check found new drift.

Each message names the flow and its job, the root cause (the innermost error a step failed with —
``HTTP 503 … code 2000001`` — not Dagster's "Steps failed: [...]"), the first records' reasons
from the sync log, and a link to the run in the UI (``alerts.ui_url``). Sent to Slack, e-mail and
a webhook, as configured per integration.
"""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

import requests
from dagster import (
    AssetCheckKey, DagsterEventType, RunsFilter, DagsterInstance, DagsterRunStatus, DefaultSensorStatus, RunFailureSensorContext, RunStatusSensorContext, SensorDefinition,
    run_failure_sensor, run_status_sensor,
)

from integrations_dagster.config import Alerts, EnvRef
from integrations_dagster.flows.pipeline import FAILED_RECORDS_TAG, FLOW_TAG, WAITING_TAG
from integrations_dagster.flows.reconcile import CHECK_NAME as DRIFT_CHECK
from integrations_dagster.state.resource import open_store

REASONS_IN_ALERT = 5


def alert_sensors(alerts_by_integration: dict[str, Alerts]) -> list[SensorDefinition]:
    return [failure_sensor(alerts_by_integration), record_failure_sensor(alerts_by_integration)]


def failure_sensor(alerts_by_integration: dict[str, Alerts]) -> SensorDefinition:
    @run_failure_sensor(name="integrations_failure_alert", default_status=DefaultSensorStatus.RUNNING,
                        monitor_all_code_locations=False,
                        description="alerts the team (Slack, e-mail, webhook) when a flow's run fails, with the cause")
    def _alert(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        alerts = alerts_by_integration.get(run.tags.get("integrations/integration", ""))
        cause = root_cause(context) or context.failure_event.message or "see the run in Dagster"
        message = _message(run, alerts, f"failed: {cause}")
        channels = send_alerts(alerts, message) if alerts else []
        context.log.info(f"{message} (alerted: {', '.join(channels) or 'no channel configured'})")

    return _alert


def record_failure_sensor(alerts_by_integration: dict[str, Alerts]) -> SensorDefinition:
    @run_status_sensor(run_status=DagsterRunStatus.SUCCESS, name="integrations_record_failure_alert",
                       default_status=DefaultSensorStatus.RUNNING, monitor_all_code_locations=False,
                       description="alerts the team when a flow's run succeeded but some of its records "
                                   "failed, a drift check found new drift, or records began to wait for a quota")
    def _alert(context: RunStatusSensorContext) -> None:
        run = context.dagster_run
        failed = int(run.tags.get(FAILED_RECORDS_TAG) or 0)
        drift = new_drift(context.instance, run.run_id)
        waiting = started_waiting(context.instance, run)
        if not failed and not drift and not waiting:
            return
        alerts = alerts_by_integration.get(run.tags.get("integrations/integration", ""))
        what = [f"{failed} records failed"] if failed else []
        what += [f"drift: {d}" for d in drift]
        what += [f"waiting for the target's quota: {waiting}"] if waiting else []
        message = _message(run, alerts, "finished, but " + "; ".join(what))
        channels = send_alerts(alerts, message) if alerts else []
        context.log.info(f"{message} (alerted: {', '.join(channels) or 'no channel configured'})")

    return _alert


def started_waiting(instance: DagsterInstance, run) -> str | None:
    """What the run's records wait for (``WAITING_TAG``), when the job's run before it did not wait: a
    first listing spread over days alerts when it starts waiting, not every run of those days."""
    waiting = run.tags.get(WAITING_TAG)
    if not waiting:
        return None
    before = [r for r in instance.get_runs(RunsFilter(job_name=run.job_name, statuses=[DagsterRunStatus.SUCCESS]),
                                           limit=2) if r.run_id != run.run_id]
    return None if before and before[0].tags.get(WAITING_TAG) else waiting


def new_drift(instance: DagsterInstance, run_id: str) -> list[str]:
    """What each drift check that failed in the run says, unless its previous evaluation said the
    same (an hourly check of a drift nobody fixed yet alerts once, not every hour)."""
    found = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if evaluation.passed or not evaluation.check_name.startswith(DRIFT_CHECK):
            continue
        history = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(evaluation.asset_key, evaluation.check_name), limit=2)
        before = [h for h in history if h.run_id != run_id]
        previous = before[0].event.dagster_event.event_specific_data if before and before[0].event else None
        if previous is not None and not previous.passed and previous.description == evaluation.description:
            continue
        found.append(evaluation.description or f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()}")
    return found


def root_cause(context: RunFailureSensorContext) -> str | None:
    """The innermost error of each failed step (what a ``Failure`` says, else the deepest cause)."""
    causes = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            causes.append(data.user_failure_data.description)
            continue
        error = data.error
        while error is not None and (error.cause or error.context):
            error = error.cause or error.context
        if error is not None:
            causes.append(_without_class(error.message))
    unique = list(dict.fromkeys(c.strip() for c in causes if c and c.strip()))
    return "; ".join(unique)[:1500] or None


def _without_class(message: str) -> str:
    """``requests.exceptions.HTTPError: 503 …`` → ``503 …`` (the class name says little to a reader)."""
    head, sep, rest = message.partition(": ")
    return rest.strip() if sep and "." in head and " " not in head else message.strip()


def _message(run, alerts: Alerts | None, what: str) -> str:
    flow = run.tags.get(FLOW_TAG)
    lines = [f"integrations_dagster: {'flow ' + flow + ' ' if flow else ''}(job {run.job_name}, "
             f"run {run.run_id[:8]}) {what}"]
    reasons = _record_reasons(run.run_id) if flow else []
    if reasons:
        lines.append("first failed records:")
        lines += [f"  {key}: {reason}" for key, reason in reasons]
    base = alerts.resolved_ui_url() if alerts else Alerts().resolved_ui_url()
    lines.append(f"{base}/runs/{run.run_id}")
    return "\n".join(lines)


def _record_reasons(run_id: str) -> list[tuple[str, str]]:
    try:
        log = open_store().log(run_id=run_id)
    except Exception:  # noqa: BLE001 - an alert goes out even when the state store does not answer
        return []
    failed = log[log["outcome"] == "failed"].head(REASONS_IN_ALERT)
    return [(str(k), str(e)[:300]) for k, e in zip(failed["record_key"], failed["error"])]


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
