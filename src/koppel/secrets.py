"""Credentials at rest: encrypted with `MultiFernet`; the keys come from the environment or a 0600 key file.

Keys are never stored in the database. The newest key encrypts; all keys decrypt. `rotate()` re-encrypts
a token under the newest key, which is how `koppel rotate-keys` moves everything to a new key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from koppel.settings import Settings

KEY_FILE = "encryption.keys"


class SecretsError(Exception):
    """A credential could not be decrypted: the key it was written with is gone."""


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def load_keys(settings: Settings) -> list[bytes]:
    """The keys, newest first: from KOPPEL_ENCRYPTION_KEYS, else the key file, else a new key file."""
    if settings.encryption_keys:
        return [k.strip().encode() for k in settings.encryption_keys.split(",") if k.strip()]
    path = key_file(settings)
    if not path.exists():
        write_keys(settings, [Fernet.generate_key()])
    return [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]


def write_keys(settings: Settings, keys: list[bytes]) -> None:
    path = key_file(settings)
    settings.ensure_data_dir()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(k.decode() for k in keys) + "\n")
    os.replace(tmp, path)
    os.chmod(path, 0o600)


def keys_from_environment(settings: Settings) -> bool:
    return bool(settings.encryption_keys)


class Vault:
    """Encrypts and decrypts JSON-able credential dicts."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretsError("no encryption key configured")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(load_keys(settings))

    def encrypt(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            return dict(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken as exc:
            raise SecretsError("credentials cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        if not token:
            return token
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretsError("credentials cannot be decrypted with the configured keys") from exc
