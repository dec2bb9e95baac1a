"""Signatures per the Standard Webhooks spec, the secret box, and where webhooks may go."""
import base64
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from service.alerts import signing, targets


def test_the_signer_reproduces_the_spec_test_vector():
    # The published example of the Standard Webhooks spec (and its reference libraries' test_sign).
    signature = signing.signature(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_secret_is_whsec_and_base64_of_32_random_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.new_secret() != secret


def test_headers_verify_with_the_standardwebhooks_library_under_each_live_secret():
    old, new = signing.new_secret(), signing.new_secret()
    body = '{"type":"ping","data":{}}'.encode()
    headers = signing.headers(secrets_=[new, old], message_id="msg_abc", moment=datetime.now(timezone.utc), body=body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers) == {"type": "ping", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)


def test_secrets_are_sealed_and_a_changed_key_cannot_open_them():
    secret = signing.new_secret()
    sealed = signing.SecretBox("key one").seal(secret)
    assert secret not in sealed
    assert signing.SecretBox("key one").open(sealed) == secret
    with pytest.raises(ValueError, match="ZW_WEBHOOK_SECRET_KEY"):
        signing.SecretBox("key two").open(sealed)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "回环"),
        ("http://localhost/hook", "回环"),
        ("http://169.254.169.254/latest/meta-data/", "元数据"),
        ("http://10.1.2.3/hook", "内网"),
        ("http://192.168.0.10/hook", "内网"),
        ("http://[::1]/hook", "回环"),
        ("http://[::ffff:10.0.0.1]/hook", "内网"),
        ("http://0.0.0.0/hook", "地址"),
        ("ftp://alerts.example.gov.cn/hook", "http"),
        ("https://user:pw@8.8.8.8/hook", "用户名或密码"),
        ("https:///hook", "主机名"),
    ],
)
def test_loopback_link_local_private_and_odd_urls_are_refused(url, reason):
    with pytest.raises(targets.TargetRefused, match=reason):
        targets.check_url(url, allowed_cidrs=[])


def test_a_private_network_on_the_allowlist_is_accepted_and_only_that_network():
    targets.check_url("http://10.1.2.3/hook", allowed_cidrs=["10.0.0.0/8"])
    targets.check_url("http://127.0.0.1:9000/hook", allowed_cidrs=["127.0.0.0/8"])
    with pytest.raises(targets.TargetRefused):
        targets.check_url("http://192.168.1.1/hook", allowed_cidrs=["10.0.0.0/8"])
    with pytest.raises(targets.TargetRefused, match="元数据"):
        targets.check_url("http://169.254.169.254/", allowed_cidrs=["10.0.0.0/8"])


def test_a_public_address_is_accepted():
    targets.check_url("https://8.8.8.8/hook", allowed_cidrs=[])


def test_production_refuses_the_development_secret_key():
    from pydantic import ValidationError

    from service.config import Settings

    with pytest.raises(ValidationError, match="ZW_WEBHOOK_SECRET_KEY"):
        Settings(environment="production", admin_key="x" * 32)
    assert Settings(environment="production", admin_key="x" * 32, webhook_secret_key="a long random operator secret").environment == "production"
