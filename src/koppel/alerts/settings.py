"""The operator's settings of alerting: the SMTP server (`KOPPEL_SMTP_*`; the password may come from the
secrets dir) and the monitor's knobs (`KOPPEL_ALERTS_*`)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", env_file_encoding="utf-8",
                              secrets_dir=os.environ.get("KOPPEL_SECRETS_DIR") or None, extra="ignore")


class SmtpSettings(BaseSettings):
    """The mail server alerts are sent through."""

    model_config = _config("KOPPEL_SMTP_")

    host: str = Field("", description="empty: no e-mail is sent (e-mail deliveries fail, visibly)")
    port: int = 587
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (port 587), tls (implicit TLS, port 465) or none (a local relay)")
    username: str = ""
    password: SecretStr = SecretStr("")
    ca_file: str = Field("", description="a PEM file of CAs to trust besides the system's (an internal relay)")
    sender: str = Field("Koppel <alerts@localhost>", description="the From: of alert mails")
    timeout: float = 20.0


class AlertSettings(BaseSettings):
    """How the monitor looks and how deliveries are tried."""

    model_config = _config("KOPPEL_ALERTS_")

    base_url: str = Field("", description="the dashboard's public address for links; empty: http://web_host:web_port")
    monitor_interval: float = Field(15.0, description="seconds between the monitor's checks")
    delivery_attempts: int = Field(6, description="tries per delivery before the channel counts as failing")
    delivery_interval: float = Field(2.0, description="seconds before the second try; tripled each time")
    webhook_timeout: float = 10.0
    worker_silence_seconds: float = Field(120.0, description="a worker silent this long has stopped")
    queue_depth: int = Field(500, description="units waiting before the queue counts as growing …")
    queue_age_minutes: float = Field(10.0, description="… when the oldest has waited this long too")
    stuck_factor: float = Field(5.0, description="a run open this many times its usual duration is stuck …")
    stuck_minutes: float = Field(30.0, description="… and at least this long")
    metrics_token: SecretStr = Field(SecretStr(""), description="when set, /metrics wants it as a bearer token")


@lru_cache(maxsize=1)
def smtp_settings() -> SmtpSettings:
    return SmtpSettings()


@lru_cache(maxsize=1)
def alert_settings() -> AlertSettings:
    return AlertSettings()


def base_url() -> str:
    configured = alert_settings().base_url
    if configured:
        return configured.rstrip("/")
    from koppel.settings import get_settings

    settings = get_settings()
    return f"http://{settings.web_host}:{settings.web_port}"
