"""Alerts: a failure is always logged, and also sent where the configuration says.

``alert_webhook_url`` (``BEACON_ALERT_WEBHOOK_URL``): the alert is POSTed as JSON
(``{"text": …, "subject": …, "details": {…}}``; ``text`` is what Slack and Teams incoming
webhooks display). ``alert_email`` (``BEACON_ALERT_EMAIL``, comma-separated) through the
SMTP server ``alert_smtp`` (``BEACON_ALERT_SMTP``, ``host:port``, default ``localhost:25``).

Sending never raises: an alert that cannot be delivered is logged as an error beside the
alert itself, so a broken webhook cannot hide the failure it was reporting.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from beacon.config import BeaconConfig

log = logging.getLogger("beacon.alerts")

TIMEOUT_SECONDS = 10


def send_alert(
    config: BeaconConfig, subject: str, body: str, details: dict[str, Any] | None = None
) -> list[str]:
    """Log the alert and deliver it to every configured channel; return where it went."""
    details = details or {}
    log.error("ALERT %s\n%s", subject, body)
    delivered = ["log"]
    if config.alert_webhook_url:
        payload = {"text": f"{subject}\n{body}", "subject": subject, "details": details}
        try:
            request = urllib.request.Request(
                config.alert_webhook_url,
                data=json.dumps(payload, default=str).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                response.read()
            delivered.append("webhook")
        except Exception as exc:  # never mask the failure being reported
            log.error("alert webhook %s failed: %s", config.alert_webhook_url, exc)
    recipients = [a.strip() for a in (config.alert_email or "").split(",") if a.strip()]
    if recipients:
        host, _, port = config.alert_smtp.partition(":")
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = f"beacon@{host or 'localhost'}"
        message["To"] = ", ".join(recipients)
        message.set_content(body)
        try:
            with smtplib.SMTP(host or "localhost", int(port or 25), timeout=TIMEOUT_SECONDS) as s:
                s.send_message(message)
            delivered.append("email")
        except Exception as exc:
            log.error("alert e-mail to %s via %s failed: %s", recipients, config.alert_smtp, exc)
    return delivered
