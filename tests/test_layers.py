"""The layers of Koppel, as ARCHITECTURE.md §2 draws them, checked on every import in src/koppel.

Arrows point down only: web → flows → sync/mapping → connectors. `core`, the data model, is read by
sync, web and the CLI, never by connectors or mapping. So:

- connectors speak a remote protocol and nothing else: they know nothing of mapping, the engine, the
  flows, the web, the data model or Koppel's settings, and nothing of Django, DBOS or SQLAlchemy. (A
  connector may keep its own store, like the PostgreSQL rate limiter in connectors/http.)
- mapping takes data and returns data: it may read connectors (to check targets against a system's
  dictionary or spec), never the engine, the flows, the web or the data model.
- sync, the engine, never reaches up into flows or web. The flows are found at launch by the declared
  plugin discovery (`koppel.sync.engine.FLOW_PACKAGES`, imported by a name held in a variable), which
  is not an import and so not seen here; a literal import of a flow from sync is a violation.
- flows read like the recipe: they talk to connectors and mapping and record outcomes through sync's
  API. No web, no data model, no SQL or ORM, no engine machinery (DBOS), no HTTP of their own.
- core, the data model, is below sync, flows, web and the CLI: it imports none of them.
- nothing but the CLI imports the CLI or the demo.
- koppel.reasons (a reason as English text plus its translatable form) is below every layer, so that
  flows, mapping, sync and web all speak it: it imports nothing of Koppel, Django or the engine.
- koppel.reasons_shown (a stored reason in a language) sits just above it, read by web and alerts alike:
  of Koppel and Django it imports only koppel.reasons and Django's translation utilities
  (django.utils.translation), so showing a reason never pulls in the data model, the engine or a view.

"Every import" is every `import` and `from … import` anywhere in a module (inside functions and
`if TYPE_CHECKING:` blocks too: a lazy import is still a dependency), relative ones resolved, and every
`importlib.import_module("…")` or `__import__("…")` called with a literal name.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "koppel"

ABOVE_CONNECTORS = ("koppel.mapping", "koppel.sync", "koppel.flows", "koppel.web", "koppel.core",
                    "koppel.alerts", "koppel.cli", "koppel.demo")
TOP = ("koppel.cli", "koppel.demo")


@dataclass(frozen=True)
class Rule:
    layer: str  # a package under koppel, e.g. "koppel.flows"
    forbidden: tuple[str, ...]  # modules (and everything under them) the layer must not import
    why: str
    except_for: tuple[str, ...] = ()  # modules under `forbidden` the layer may import all the same


RULES = (
    Rule("koppel.connectors", (*ABOVE_CONNECTORS, "koppel.settings", "koppel.secrets", "django", "dbos",
                               "sqlalchemy"),
         "connectors know nothing of the layers above them, Django or our database"),
    Rule("koppel.mapping", (*ABOVE_CONNECTORS[1:], "django", "dbos", "sqlalchemy", "psycopg", "httpx"),
         "mapping takes data and returns data; it never reads the engine, flows, web or data model"),
    Rule("koppel.sync", ("koppel.flows", "koppel.web", *TOP),
         "the engine never reaches up into flows or web (flows are found by the declared discovery)"),
    Rule("koppel.flows", ("koppel.web", "koppel.core", *TOP, "django", "sqlalchemy", "psycopg", "sqlite3",
                          "dbos", "httpx"),
         "flows are the recipe: no web, no data model or SQL (use sync's API), no engine machinery, no HTTP"),
    Rule("koppel.core", ("koppel.sync", "koppel.flows", "koppel.web", "koppel.alerts", *TOP),
         "core is the data model, read by sync, web and the CLI; it reads none of them"),
    Rule("koppel.web", TOP, "only the CLI starts the demo and the commands"),
    Rule("koppel.alerts", ("koppel.flows", "koppel.web", *TOP), "alerts are told by the engine, not the flows"),
    Rule("koppel.reasons", ("koppel", "django", "dbos", "sqlalchemy", "psycopg", "httpx"),
         "every layer reads reasons, so they read nothing of Koppel, Django or the engine"),
    Rule("koppel.reasons_shown", ("koppel", "django", "dbos", "sqlalchemy", "psycopg", "httpx"),
         "web and alerts both show reasons through it: it reads only koppel.reasons and Django's translation",
         except_for=("koppel.reasons", "django.utils.translation")),
)

# Today's remaining violations, each (file under src/koppel, imported module, why it is still here).
# They sit in files other engineers are rewriting; the lead shrinks this list as each one goes.
# test_every_allowed_violation_still_exists fails once an entry is no longer needed: delete it then.
ALLOWED: tuple[tuple[str, str, str], ...] = (
    # none left; an entry reads ("core/integrations/apply.py", "koppel.flows.settings", "why it is still here")
)


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str
    member: str = ""  # the name taken from `module` by `from module import member`

    def is_of(self, prefix: str) -> bool:
        """It imports `prefix` or something under it (`from django.utils import translation` imports
        django.utils.translation)."""
        return _within(self.module, prefix) or bool(self.member) and _within(f"{self.module}.{self.member}", prefix)


@dataclass(frozen=True)
class Violation:
    path: str  # relative to the scanned package, e.g. "flows/orders.py"
    line: int
    module: str
    rule: Rule

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module} ({self.rule.why})"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(relative: str, level: int, importer: str, is_package: bool) -> str:
    """`from ..x import y` in module a.b.c names a.x."""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, relative] if relative else base)


def _literal_import_call(node: ast.Call) -> str | None:
    """The name in `importlib.import_module("…")`, `import_module("…", package="…")` or `__import__("…")`."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    target = first.value
    if target.startswith("."):
        package = next((k.value for k in node.keywords if k.arg == "package"), None)
        if len(node.args) > 1:
            package = node.args[1]
        if not (isinstance(package, ast.Constant) and isinstance(package.value, str)):
            return None
        level = len(target) - len(target.lstrip("."))
        return _resolve(target.lstrip("."), level, package.value, is_package=True)
    return target


def imports_of(path: Path, package: Path) -> Iterator[Import]:
    importer = module_name(path, package)
    is_package = path.name == "__init__.py"
    nodes = ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    for node in sorted((n for n in nodes if isinstance(n, ast.stmt | ast.expr)), key=lambda n: n.lineno):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve(node.module or "", node.level, importer, is_package) if node.level
                    else node.module or "")
            # `from koppel import web` imports koppel.web: name each imported member under the base.
            for alias in node.names:
                yield Import(path, node.lineno, f"{base}.{alias.name}" if base == package.name else base,
                             alias.name)
        elif isinstance(node, ast.Call) and (target := _literal_import_call(node)):
            yield Import(path, node.lineno, target)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(package: Path) -> list[Violation]:
    """Every import in the package that breaks a rule, in file and line order."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        importer = module_name(path, package)
        rules = [r for r in RULES if _within(importer, r.layer)]
        for imported in imports_of(path, package):
            for rule in rules:
                if (any(_within(imported.module, f) for f in rule.forbidden)
                        and not any(imported.is_of(allowed) for allowed in rule.except_for)):
                    found.append(Violation(path.relative_to(package).as_posix(), imported.line, imported.module,
                                           rule))
    return found


@functools.cache
def violations_in_koppel() -> tuple[Violation, ...]:
    return tuple(violations(SRC))


def _allowed(violation: Violation) -> bool:
    return any(violation.path == path and _within(violation.module, module) for path, module, _ in ALLOWED)


def test_every_import_respects_the_layers() -> None:
    broken = [str(v) for v in violations_in_koppel() if not _allowed(v)]
    assert not broken, "imports across the layers (ARCHITECTURE.md §2):\n" + "\n".join(broken)


def test_every_allowed_violation_still_exists() -> None:
    found = violations_in_koppel()
    stale = [f"{path} -> {module}" for path, module, _ in ALLOWED
             if not any(v.path == path and _within(v.module, module) for v in found)]
    assert not stale, "no longer violated, delete from ALLOWED:\n" + "\n".join(stale)


def test_a_violation_anywhere_in_a_module_is_caught(tmp_path: Path) -> None:
    package = tmp_path / "koppel"
    files = {
        "__init__.py": "",
        "connectors/__init__.py": "",
        "connectors/shop.py": (
            "from __future__ import annotations\n"
            "import httpx\n"
            "from koppel.connectors import http\n"
            "def later():\n"
            "    from koppel.flows import orders\n"  # line 5: function-local
            "    return orders\n"
            "class Client:\n"
            "    def models(self):\n"
            "        import importlib\n"
            "        return importlib.import_module('koppel.core.integrations.models')\n"  # line 10
            "from .. import web\n"  # line 11: relative, names koppel.web
            "from django.db import models\n"  # line 12
        ),
        "flows/__init__.py": "",
        "flows/orders.py": (
            "from koppel.sync import units\n"
            "from ..mapping import engine\n"
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from koppel.core.activity.models import Activity\n"  # line 5
            "def lookup():\n"
            "    return __import__('sqlite3')\n"  # line 7
            "def discover(name):\n"
            "    import importlib\n"
            "    return importlib.import_module(name)\n"  # not a literal: the declared discovery's way
        ),
        "sync/__init__.py": "",
        "sync/engine.py": "import importlib\nimportlib.import_module('.orders', package='koppel.flows')\n",
        "mapping/__init__.py": "",
        "mapping/engine.py": "from koppel.connectors.accountview import fields\nimport re2\n",
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)

    found = [(v.path, v.line, v.module) for v in violations(package)]

    assert found == [
        ("connectors/shop.py", 5, "koppel.flows"),
        ("connectors/shop.py", 10, "koppel.core.integrations.models"),
        ("connectors/shop.py", 11, "koppel.web"),
        ("connectors/shop.py", 12, "django.db"),
        ("flows/orders.py", 5, "koppel.core.activity.models"),
        ("flows/orders.py", 7, "sqlite3"),
        ("sync/engine.py", 2, "koppel.flows.orders"),
    ]
    first = str(violations(package)[0])
    assert first.startswith("connectors/shop.py:5 imports koppel.flows (connectors know nothing")


def test_reasons_shown_reads_only_reasons_and_django_translation(tmp_path: Path) -> None:
    package = tmp_path / "koppel"
    (package / "reasons_shown.py").parent.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "reasons_shown.py").write_text(
        "from django.utils import translation\n"
        "from django.utils.translation import gettext\n"
        "from koppel.reasons import Reason\n"
        "from koppel import reasons\n"
        "from django.utils import timezone\n"  # line 5: Django, but not its translation
        "from koppel.core.integrations.models import Connection\n"  # line 6
        "import koppel.web.reasons\n"  # line 7: the web's reasons app is not koppel.reasons
        "from collections.abc import Mapping\n"
    )

    found = [(v.line, v.module) for v in violations(package)]

    assert found == [(5, "django.utils"), (6, "koppel.core.integrations.models"), (7, "koppel.web.reasons")]
