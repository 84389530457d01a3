"""`koppel rotate-keys`: move every stored credential to the newest encryption key."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.db import transaction

from koppel.core.integrations.models import Connection
from koppel.secrets import Vault, keys_from_environment, load_keys, write_keys
from koppel.settings import Settings


def rotate_keys(settings: Settings) -> tuple[int, bool]:
    """Re-encrypt all credentials under the newest key; returns (count, new key generated).

    Keys from a key file: a new key is generated, everything re-encrypted, and the old keys dropped.
    Keys from KOPPEL_ENCRYPTION_KEYS: the operator puts the new key first in the variable, runs this,
    then removes the old ones; we cannot edit the environment.
    """
    generated = not keys_from_environment(settings)
    keys = load_keys(settings)
    if generated:
        keys = [Fernet.generate_key(), *keys]
        write_keys(settings, keys)
    vault = Vault(keys)
    count = 0
    with transaction.atomic():
        for conn in Connection.objects.select_for_update().exclude(secrets_encrypted=""):
            conn.secrets_encrypted = vault.rotate(conn.secrets_encrypted)
            conn.save(update_fields=["secrets_encrypted"])
            count += 1
    if generated:
        write_keys(settings, keys[:1])
    return count, generated
