from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sync', '0005_reason_args'),
    ]

    operations = [
        migrations.AddField(
            model_name='activity',
            name='changes',
            field=models.JSONField(blank=True, null=True),
        ),
    ]
