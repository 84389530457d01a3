"""Every integration's health in a few words, for `koppel status`: its state (ok, attention, broken,
paused, disabled), its connections, the last successful run of each scheduled flow, parked records and
open alerts; beside it the workers' heartbeats and the alert channels that fail."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone

from koppel.alerts.settings import alert_settings
from koppel.core.activity.models import Activity, Executor, Run
from koppel.core.alerts.models import Alert, Channel, ConnectionHealth
from koppel.core.integrations.models import Connection, Integration
from koppel.errors import Outcome


@dataclass
class IntegrationHealth:
    name: str
    workspace: str
    state: str                       # ok, attention, broken, paused, disabled
    connections: dict[str, str]      # connection name → "ok", or what is wrong
    last_success: dict[str, str]     # flow → ISO moment ("" never)
    parked: int
    open_alerts: list[str]
    paused_reason: str = ""


@dataclass
class Status:
    integrations: list[IntegrationHealth] = field(default_factory=list)
    workers: dict[str, str] = field(default_factory=dict)   # executor → "alive" or "silent since …"
    failing_channels: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def connection_state(connection: Connection, health: ConnectionHealth | None) -> str:
    if connection.broken_reason:
        return f"broken: {connection.broken_reason}"
    if health and health.failing_since:
        return f"unreachable since {health.failing_since:%Y-%m-%d %H:%M} UTC: {health.last_error}"
    return "ok"


def summary(now: datetime | None = None) -> Status:
    now = now or timezone.now()
    status = Status()
    healths = {h.connection_id: h for h in ConnectionHealth.objects.all()}
    for integration in Integration.objects.select_related("workspace", "shop", "books").order_by("name"):
        connections = {c.name: connection_state(c, healths.get(c.pk)) for c in (integration.shop, integration.books)}
        flows = set(integration.schedules.filter(enabled=True).values_list("flow", flat=True))
        last = dict(Run.objects.filter(integration=integration, status__in=("succeeded", "partial"))
                    .values("flow").annotate(at=Max("finished_at")).values_list("flow", "at"))
        alerts = list(Alert.objects.filter(Q(integration=integration) | Q(connection__in=[integration.shop,
                                                                                          integration.books]),
                                           resolved_at__isnull=True).order_by("opened_at").values_list("kind",
                                                                                                       flat=True))
        parked = Activity.objects.filter(integration=integration, outcome=Outcome.NEEDS_ATTENTION).count()
        state = ("disabled" if not integration.enabled else
                 "broken" if any(s.startswith("broken") for s in connections.values()) else
                 "paused" if integration.paused_reason else
                 "attention" if alerts or parked else "ok")
        status.integrations.append(IntegrationHealth(
            name=integration.name, workspace=integration.workspace.name, state=state, connections=connections,
            last_success={flow: last[flow].isoformat() if last.get(flow) else "" for flow in sorted(flows | set(last))},
            parked=parked, open_alerts=alerts, paused_reason=integration.paused_reason))
    silent_after = timedelta(seconds=alert_settings().worker_silence_seconds)
    for executor in Executor.objects.order_by("executor_id"):
        alive = now - executor.last_seen_at <= silent_after
        status.workers[executor.executor_id] = (
            "alive" if alive else f"silent since {executor.last_seen_at:%Y-%m-%d %H:%M} UTC")
    for channel in Channel.objects.filter(failing_since__isnull=False):
        since = f"{channel.failing_since:%Y-%m-%d %H:%M}"
        status.failing_channels[str(channel)] = f"failing since {since} UTC: {channel.last_error}"
    return status
