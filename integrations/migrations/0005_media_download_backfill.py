"""Channel media recorded before the download job existed: mark them pending and queue their
download (an expired WeChat media id then fails with its reason, shown on the ticket page)."""

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

KIND = "media_download"
CHANNELS = ("wechat", "weibo", "hotline", "open311")


def backfill(apps, schema_editor):
    Attachment = apps.get_model("tickets", "Attachment")
    OutboxMessage = apps.get_model("integrations", "OutboxMessage")
    ChannelAccount = apps.get_model("integrations", "ChannelAccount")
    now = timezone.now()
    rows = (
        Attachment.objects.filter(file="", download="", ticket__isnull=False)
        .filter(ticket__channel__in=CHANNELS)
        .exclude(media_id__startswith="upload:")
        .exclude(Q(media_id="") & Q(source_url=""))
        .select_related("ticket", "inbound")
    )
    accounts = {}
    for row in rows.iterator():
        channel = row.inbound.channel if row.inbound_id else row.ticket.channel
        slug = (row.inbound.account if row.inbound_id else "") or row.ticket.channel_account
        if (channel, slug) not in accounts:
            accounts[channel, slug] = (
                ChannelAccount.objects.filter(kind=channel, slug=slug).first() if slug else None
            )
        Attachment.objects.filter(pk=row.pk).update(download="pending")
        OutboxMessage.objects.get_or_create(
            idempotency_key=f"media:{row.pk}",
            defaults={
                "kind": KIND,
                "channel": channel,
                "account": accounts[channel, slug],
                "ticket_id": row.ticket_id,
                "recipient": "",
                "payload": {"attachment_id": row.pk},
                "created_at": now,
                "next_attempt_at": now,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0004_replay_checks"),
        ("tickets", "0014_attachment_download_state"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
