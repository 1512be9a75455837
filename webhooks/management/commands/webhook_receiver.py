import time

from django.core.management.base import BaseCommand
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks.receiver import Receiver


class Command(BaseCommand):
    help = "Receive webhooks on 127.0.0.1 and print each one, verified with the secret if given (for trying it out)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--secret", help="the webhook's signing secret (whsec_...), to verify each delivery")
        parser.add_argument("--seconds", type=float, default=3600, help="stop after this long (default an hour)")

    def handle(self, *args, port, secret, seconds, **options):
        with Receiver(port) as receiver:
            self.stdout.write(f"Receiving on {receiver.url}/ (any path) for {seconds:g} s; Ctrl+C stops.")
            shown, deadline = 0, time.monotonic() + seconds
            while time.monotonic() < deadline:
                for request in receiver.wait_for(shown + 1, timeout=1)[shown:]:
                    shown += 1
                    self.stdout.write(f"{request.headers.get('webhook-id')} {self._check(secret, request)}")
                    self.stdout.write(f"  {request.body.decode(errors='replace')}")

    def _check(self, secret, request):
        if not secret:
            return "(not verified: no --secret)"
        try:
            Verifier(secret).verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            return f"SIGNATURE INVALID: {exc}"
        return "signature verified"
