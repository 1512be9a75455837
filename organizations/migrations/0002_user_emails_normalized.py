import unicodedata

from django.db import migrations


def normalize_emails(apps, schema_editor):
    """Store every email as organizations.emails.normalize_email does (as it was when this was written)."""
    User = apps.get_model("organizations", "User")
    for user in User.objects.only("pk", "email").iterator():
        normalized = unicodedata.normalize("NFC", user.email.strip().lower())
        if normalized != user.email:
            User.objects.filter(pk=user.pk).update(email=normalized)


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0001_initial"),
    ]

    operations = [
        # Emails are stored normalized and looked up exactly (the unique index on email serves it),
        # so the case-insensitive constraint has nothing left to do.
        migrations.RunPython(normalize_emails, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="user",
            name="user_email_ci_unique",
        ),
    ]
