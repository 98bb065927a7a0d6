"""The one-time signed parameters of a push (timestamp + nonce), kept on its journal row under a
partial unique index: the replay check is the journal's own insert, and needs no cache."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_channel_accounts_outbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundmessage",
            name="replay_key",
            field=models.CharField(blank=True, max_length=200, null=True, verbose_name="签名参数"),
        ),
        migrations.AddConstraint(
            model_name="inboundmessage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("replay_key__isnull", False)),
                fields=("channel", "replay_key"),
                name="inbound_replay_once",
            ),
        ),
    ]
