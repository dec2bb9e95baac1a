"""Webhook alerts: subscriptions, Standard Webhooks signing, a durable outbox written in the
transaction of the finding change, and a lease-claimed dispatcher with retries and redelivery."""
