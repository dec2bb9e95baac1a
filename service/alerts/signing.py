"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec "Signature scheme"),
and the encryption that keeps subscription secrets unreadable at rest.

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is those bytes. The signature of
a message is base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")), sent as
`v1,<signature>`; several space-separated signatures let a receiver verify during a rotation."""
import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one message under one secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(*, secrets_: list[str], message_id: str, moment: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers; one `v1,` signature per live secret."""
    timestamp = int(moment.timestamp())
    signatures = " ".join(signature(secret=s, message_id=message_id, timestamp=timestamp, body=body) for s in secrets_)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}


class SecretBox:
    """Encrypts secrets with a key derived from ZW_WEBHOOK_SECRET_KEY (Fernet: AES-CBC + HMAC)."""

    def __init__(self, passphrase: str):
        key = base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            # The key changed since the secret was stored: signing is impossible, say why.
            raise ValueError("webhook secret cannot be decrypted: ZW_WEBHOOK_SECRET_KEY changed") from None
