from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0002_user_emails_normalized"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="token_generation",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
