"""`koppel integration apply`: validation before writing, idempotence, secrets never in plain text."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.web.cli_runner import Koppel, make_koppel

GOOD = """
[workspace]
name = "acme"
retention_days = 30

[connections.shop]
system = "mijnwebwinkel"
settings = { base_url = "http://127.0.0.1:9" }
credentials = { token = "env:ACME_MWW_TOKEN", partner_token = "partner-Zq7Lh2-secret" }

[connections.books]
system = "accountview"
settings = { base_url = "http://127.0.0.1:9", company_id = "ACME" }
credentials = { client_id = "acme-client", client_secret = "av-Wm93kP-secret" }

[integration]
name = "acme-shop"
shop = "shop"
books = "books"

[integration.flows.orders]
statuses = [2, 3]
write_as = "invoice"
"""
SECRETS = ["store-Tk81xQ-secret", "partner-Zq7Lh2-secret", "av-Wm93kP-secret"]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated data directory, copied for each test (migrating costs seconds)."""
    k = make_koppel(tmp_path_factory.mktemp("template"))
    k("migrate")
    return k.data_dir


@pytest.fixture
def koppel(tmp_path: Path, migrated: Path) -> Koppel:
    k = make_koppel(tmp_path, ACME_MWW_TOKEN="store-Tk81xQ-secret")
    shutil.copytree(migrated, k.data_dir)
    return k


def count_rows(koppel: Koppel, *tables: str) -> list[int]:
    with sqlite3.connect(koppel.data_dir / "koppel.sqlite") as db:
        return [db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables]


def write(tmp_path: Path, text: str, name: str = "integration.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def database_bytes(koppel: Koppel) -> bytes:
    return b"".join(p.read_bytes() for p in koppel.data_dir.glob("koppel.sqlite*"))


def test_apply_creates_everything_and_reapplying_changes_nothing(koppel: Koppel, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    first = koppel("integration", "apply", str(path))
    assert "created integration acme-shop" in first.stdout
    second = koppel("integration", "apply", str(path))
    assert second.stdout.strip() == "nothing to change"
    listed = koppel("integration", "list", "--json").stdout
    assert '"name": "acme-shop"' in listed and '"orders"' in listed
    flows = koppel.python("from koppel.core.integrations.models import Integration as I\n"
                          "print(I.objects.get(name='acme-shop').flows['orders']['write_as'])")
    assert flows.strip() == "invoice"


def test_database_holds_no_plaintext_secret_and_keys_file_is_private(koppel: Koppel, tmp_path: Path) -> None:
    koppel("integration", "apply", str(write(tmp_path, GOOD)))
    raw = database_bytes(koppel)
    assert raw, "the SQLite database should exist"
    for secret in SECRETS:
        assert secret.encode() not in raw
    key_file = koppel.data_dir / "encryption.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_rotate_keys_keeps_every_secret_readable(koppel: Koppel, tmp_path: Path) -> None:
    koppel("integration", "apply", str(write(tmp_path, GOOD)))
    old_key = (koppel.data_dir / "encryption.keys").read_text()
    before = koppel.python("from koppel.core.integrations.models import Connection as C\n"
                           "print(sorted(str(c.credentials) for c in C.objects.all()))")
    result = koppel("rotate-keys")
    assert "re-encrypted 2 connection(s)" in result.stdout
    new_key = (koppel.data_dir / "encryption.keys").read_text()
    assert new_key != old_key and old_key.strip() not in new_key
    after = koppel.python("from koppel.core.integrations.models import Connection as C\n"
                          "print(sorted(str(c.credentials) for c in C.objects.all()))")
    assert after == before
    assert "store-Tk81xQ-secret" in after
    for secret in SECRETS:
        assert secret.encode() not in database_bytes(koppel)


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (GOOD.replace('company_id = "ACME"', 'company_id = ""'), "connections.books.settings.company_id"),
        (GOOD.replace('shop = "shop"', 'shop = "webshop"'), "integration.shop"),
        (GOOD.replace("statuses = [2, 3]", "statuses = []"), "integration.flows.orders.statuses"),
        (GOOD.replace('write_as = "invoice"', 'write_as = "fax"'), "integration.flows.orders.write_as"),
        (GOOD.replace('token = "env:ACME_MWW_TOKEN"', 'token = "env:NOT_SET_ANYWHERE"'), "NOT_SET_ANYWHERE"),
        (GOOD.replace('[workspace]\nname = "acme"', "[workspace]"), "workspace.name"),
        (GOOD + "\n[integration.flows.orders.colour]\nx = 1\n", "integration.flows.orders.colour"),
        ("this is [not toml", "not valid TOML"),
        (GOOD + '\n[integration.mapping_overrides.mww_order_to_av_sales_order.fields.COMMENT1]\n'
                'source = "number"\ntransforms = ["shout"]\n', "shout"),
        (GOOD + '\n[integration.mapping_overrides.no_such_map]\nfields = {}\n', "no_such_map"),
    ],
)
def test_malformed_or_incomplete_file_names_the_field_and_writes_nothing(
    koppel: Koppel, tmp_path: Path, broken: str, named: str
) -> None:
    result = koppel("integration", "apply", str(write(tmp_path, broken)), check=False)
    assert result.returncode != 0
    assert named in result.stderr
    tables = ("accounts_workspace", "integrations_connection", "integrations_integration")
    assert count_rows(koppel, *tables) == [0, 0, 0]


def test_a_late_failure_rolls_back_the_whole_file(koppel: Koppel, tmp_path: Path) -> None:
    koppel("integration", "apply", str(write(tmp_path, GOOD)))
    other = GOOD.replace('name = "acme"', 'name = "other"').replace("retention_days = 30", "retention_days = 7")
    result = koppel("integration", "apply", str(write(tmp_path, other, "other.toml")), check=False)
    assert result.returncode != 0 and "belongs to another workspace" in result.stderr
    assert count_rows(koppel, "accounts_workspace", "integrations_connection") == [1, 2]
