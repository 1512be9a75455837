import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from organizations.emails import normalize_email
from organizations.models import Organization, User
from organizations.services import organization_create


class Command(BaseCommand):
    help = "Create an organization and its first admin user."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Organization name")
        parser.add_argument("--slug", help="URL-safe short name (default: from the name)")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", default="")
        parser.add_argument("--admin-password", help="Default: a random password, printed once")

    def handle(self, *args, name, slug, admin_email, admin_name, admin_password, **options):
        slug = slug or slugify(name)
        if not slug:
            raise CommandError("Give a --slug: the name has no characters a slug can use.")
        if Organization.objects.filter(slug=slug).exists():
            raise CommandError(f"An organization with slug '{slug}' already exists.")
        if User.objects.filter(email=normalize_email(admin_email)).exists():
            raise CommandError(f"A user with email '{admin_email}' already exists.")
        password = admin_password or secrets.token_urlsafe(12)
        try:
            validate_password(password, User(email=admin_email, name=admin_name))
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from None

        organization, admin = organization_create(
            name=name, slug=slug, admin_email=admin_email, admin_password=password, admin_name=admin_name
        )
        self.stdout.write(f"Organization: {organization.name} (slug {organization.slug}, id {organization.id})")
        self.stdout.write(f"Admin user:   {admin.email} (id {admin.id})")
        if not admin_password:
            self.stdout.write(f"Password:     {password}")
