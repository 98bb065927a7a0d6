# Schema: indexes for the inbox search by a citizen's name or phone number (any account).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0015_event_after_stamps'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='citizen',
            index=models.Index(fields=['name'], name='citizen_name'),
        ),
        migrations.AddIndex(
            model_name='citizenidentity',
            index=models.Index(fields=['value'], name='citizen_identity_value'),
        ),
    ]
