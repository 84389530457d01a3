"""The one settings object of Koppel: `KOPPEL_*` environment variables, a `.env` file, or a secrets dir."""

from __future__ import annotations

import os
import socket
import stat
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PRIVATE_UMASK = 0o077  # files and directories Koppel creates: for its own user only


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOPPEL_",
        env_file=".env",
        env_file_encoding="utf-8",
        secrets_dir=os.environ.get("KOPPEL_SECRETS_DIR") or None,
        extra="ignore",
    )

    data_dir: Path = Field(Path("var"), description="SQLite files and generated keys live here")
    database_url: str | None = Field(None, description="postgresql://… switches from SQLite to PostgreSQL")
    system_database_url: str | None = Field(
        None, description="DBOS system database; defaults to the database_url's server, or SQLite")
    encryption_keys: str | None = Field(
        None, description="comma-separated Fernet keys, newest first; generated into data_dir if absent")
    secret_key: str | None = Field(None, description="Django secret key; generated into data_dir if absent")
    executor_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-worker",
                             description="stable id of this worker process, used for workflow recovery")
    # Raised whenever a workflow's steps change: a workflow left by other code must not be replayed by this one.
    application_version: str = Field("koppel-0.3", description="explicit DBOS application version")
    debug: bool = False
    allowed_hosts: list[str] = ["127.0.0.1", "localhost"]
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    default_retention_days: int = 14
    retry_offer_records: int = Field(
        50, ge=1, description="after a flow's settings change, the newest parked or skipped records tried against "
                              "the new settings (a dry run each) to offer those that would now go through")
    expression_workers: int = Field(
        4, ge=1, description="evaluator processes for the flows' mapping expressions; a flow's evaluation waits "
                             "for a free one (each ends within its time limit), it is never refused")
    expression_preview_workers: int = Field(
        2, ge=1, description="evaluator processes kept ready for the dashboard (datamapper previews and saves), "
                             "apart from the flows' so that a preview can never make a sync wait")
    expression_preview_workers_max: int = Field(
        8, ge=1, description="most evaluators the dashboard runs at once (each may use up to 768 MiB); past it "
                             "a preview is answered busy (HTTP 429) instead of queueing")
    expression_previews_per_workspace: int = Field(
        2, ge=1, description="expressions one workspace's previews may have in evaluation at once; one more is "
                             "answered busy at once, so no workspace can occupy every evaluator")
    log_level: str = "WARNING"
    behind_tls: bool = Field(
        False, description="the web is served behind a TLS-terminating proxy that sets X-Forwarded-Proto: "
                           "secure cookies, HSTS and a redirect of plain http")

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url and self.database_url.startswith(("postgres://", "postgresql://")))

    def ensure_data_dir(self) -> Path:
        """The data directory, private to this user (0700), and every file this process creates from now on
        private too (umask 077): the SQLite databases with their WAL and SHM files, key and lock files hold
        session keys, password hashes and encrypted credentials. Files an older Koppel left readable to
        others are made private here."""
        os.umask(PRIVATE_UMASK)
        if self.data_dir not in _private or not self.data_dir.is_dir():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.data_dir, 0o700)
            for path in self.data_dir.iterdir():
                mode = path.lstat().st_mode
                if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
                    os.chmod(path, stat.S_IMODE(mode) & 0o700)
            _private.add(self.data_dir)
        return self.data_dir


_private: set[Path] = set()  # data directories made private by this process (once is enough)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
