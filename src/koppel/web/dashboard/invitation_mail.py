"""The invitation by e-mail: the link an owner's invitation makes, mailed to the invited person through the
mail server alerts use (`KOPPEL_SMTP_*`), in their language when they have an account that chose one, else
in the owner's."""

from __future__ import annotations

import logging

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from koppel.alerts.channels import ChannelError, send_email
from koppel.alerts.messages import Message
from koppel.alerts.settings import smtp_settings
from koppel.core.accounts.models import Invitation, Profile

log = logging.getLogger(__name__)


class NoMailServer(Exception):
    """No mail server is configured, so no mail is tried."""


def mail_language(email: str) -> str:
    """The language the invited person chose, when an account with this address chose one; else the one
    the page is shown in (the owner's)."""
    chosen = (Profile.objects.filter(user__email__iexact=email).exclude(language="")
              .values_list("language", flat=True).first())
    return chosen or translation.get_language() or "en"


def invitation_message(invitation: Invitation, link: str, invited_by: str) -> Message:
    """The mail's subject and text in the active language."""
    until = formats.date_format(timezone.localtime(invitation.expires_at), "DATETIME_FORMAT")
    facts = {"user": invited_by, "workspace": invitation.workspace.name, "role": invitation.get_role_display(),
             "link": link, "until": until}
    subject = _("%(user)s invites you to %(workspace)s on Koppel") % facts
    text = "\n\n".join([
        _("Hello,"),
        _("%(user)s invites you to the workspace %(workspace)s on Koppel, as %(role)s. Koppel keeps a "
          "MijnWebwinkel shop and an AccountView administration in sync.") % facts,
        _("Open this link to join (with your account, or make one there). It works once, until %(until)s:")
        % facts + f"\n{link}",
        _("Did you not expect this invitation? Then ignore this mail: nothing happens without the link."),
    ])
    return Message(subject=subject, text=text + "\n", link=link)


def mail_invitation(invitation: Invitation, link: str, invited_by: str) -> None:
    """Send the invitation. Raises NoMailServer when none is configured, ChannelError when the server
    could not be reached or refused the mail."""
    smtp = smtp_settings()
    if not smtp.host:
        raise NoMailServer
    with translation.override(mail_language(invitation.email)):
        message = invitation_message(invitation, link, invited_by)
    try:
        send_email(smtp, [invitation.email], message,
                   message_id=f"invitation.{invitation.pk}.{invitation.token_hash[:16]}")
    except ChannelError:
        log.warning("invitation %s to %s: the mail was not sent", invitation.pk, invitation.email, exc_info=True)
        raise
