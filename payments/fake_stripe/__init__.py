"""A local stand-in for the parts of Stripe this project uses (our machines cannot reach Stripe).

`python -m payments.fake_stripe --port 12111` serves it; the real stripe SDK talks to it through
its api_base (settings.STRIPE_API_BASE). See `server.py` for what it implements.
"""

from .server import FakeStripe, serve_in_thread

__all__ = ["FakeStripe", "serve_in_thread"]
