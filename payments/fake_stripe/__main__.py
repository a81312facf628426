"""`python -m payments.fake_stripe --port 12111 --webhook-url http://127.0.0.1:8000/payments/webhook/`"""

from __future__ import annotations

import argparse
import os

from .server import FakeStripe


def main() -> None:
    parser = argparse.ArgumentParser(description="A local fake of the Stripe API (checkout, payment intents, refunds).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("FAKE_STRIPE_WEBHOOK_URL", "http://127.0.0.1:8000/payments/webhook/"),
    )
    parser.add_argument("--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local_fake"))
    args = parser.parse_args()
    fake = FakeStripe(host=args.host, port=args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret)
    print(f"fake Stripe on {fake.base_url} (webhooks to {args.webhook_url})", flush=True)
    fake.serve_forever()


if __name__ == "__main__":
    main()
