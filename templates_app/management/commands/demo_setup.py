"""``python manage.py demo_setup``: demo templates, an admin user and an API key, printed."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from templates_app import services
from templates_app.models import ApiKey

DEMO_KEY_NAME = "demo"


class Command(BaseCommand):
    help = "Load the demo templates, (re)create the 'admin' user and a fresh demo API key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where it is served")

    def handle(self, *args: Any, username: str, url: str, **options: Any) -> None:
        call_command("load_demo", stdout=self.stdout)
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        # One live demo key at a time: earlier ones are revoked, never deleted.
        services.api_key_revoke(keys=ApiKey.objects.filter(name=DEMO_KEY_NAME))
        _, raw = ApiKey.generate(name=DEMO_KEY_NAME, created_by=user)
        self.stdout.write(
            f"\nAdmin:   {url}/admin/   API docs: {url}/api/docs/\n"
            f"  user:     {username}\n  password: {password}\n"
            f"API key: {raw}\n"
            f"  export CACHET_KEY={raw}\n"
        )
