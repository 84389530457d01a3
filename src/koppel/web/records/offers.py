"""After a flow's settings are saved (the settings pages): check which parked or setting-skipped records the new
settings would let through (`koppel.sync.retry_offers`), and say so in a banner that links to the offer on the
integration's records page.

The check runs on a thread of its own; the save waits for it a little (`WAIT_SECONDS`), so the banner can name
how many records would now go through; a longer check says it is checking, and the records page shows the
answer when it is there.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from koppel.core.activity.models import RetryOffer
from koppel.core.integrations.models import Integration
from koppel.sync import retry_offers

# Measured against the sandboxes on a loaded 2-core machine (orders, a dry run each): 1 record 0.9 s (the
# clients' start and AccountView's reference data), 9 records 2.2 s, 54 records 11.6 s (0.2 s a record). A real
# shop answers slower, and a save must not hang on it: after this the banner says "checking" instead.
WAIT_SECONDS = 3.0


def after_settings_saved(request: HttpRequest, integration: Integration, before: dict[str, Any],
                         after: dict[str, Any]) -> None:
    """For each flow whose settings changed: start the check, and tell what it found (or that it runs)."""
    for flow in retry_offers.changed_flows(before, after):
        offer = retry_offers.settings_changed(integration, flow, request.user.get_username(), before=before.get(flow))
        checked = retry_offers.wait(offer, WAIT_SECONDS) if offer is not None else None
        if checked is not None:
            _banner(request, integration, checked)


def _banner(request: HttpRequest, integration: Integration, offer: RetryOffer) -> None:
    url = reverse("records:list", args=[integration.workspace_id, integration.pk]) + f"#offer-{offer.flow}"
    if offer.status == RetryOffer.Status.CHECKING and not offer.candidates:  # only the shop's records to look up
        text = _("Looking for the records the new settings take in and the old ones left out.")
        messages.info(request, format_html('{} <a href="{}">{}</a>', text, url, _("See what would go through")))
        return
    if offer.status == RetryOffer.Status.CHECKING:
        text = ngettext("Checking %(count)d parked or skipped record against the new settings.",
                        "Checking %(count)d parked or skipped records against the new settings.",
                        offer.candidates) % {"count": offer.candidates}
        messages.info(request, format_html('{} <a href="{}">{}</a>', text, url, _("See what would go through")))
        return
    waiting = len(retry_offers.waiting(offer))
    if waiting:
        text = ngettext("%(count)d record would now go through.", "%(count)d records would now go through.",
                        waiting) % {"count": waiting}
        messages.success(request, format_html('{} <a href="{}">{}</a>', text, url, _("Retry them")))
