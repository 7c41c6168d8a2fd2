"""EMAIL_URL, DEFAULT_FROM_EMAIL and STAFF_CREDIT_LIMIT: parsed strictly, refused with one line."""
import json
from decimal import Decimal

import pytest

from namaskah import env
from namaskah.tests.test_settings import PRODUCTION, refusal, start

PROBE = (
    "import json, namaskah.settings as s; "
    "print(json.dumps({k: getattr(s, k) for k in ('EMAIL_BACKEND', 'EMAIL_FILE_PATH', 'EMAIL_HOST', 'EMAIL_PORT', "
    "'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'EMAIL_USE_SSL', 'DEFAULT_FROM_EMAIL', "
    "'STAFF_CREDIT_LIMIT')}, default=str))"
)


def email_settings(environ: dict) -> dict:
    result = start(environ, PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_prints_mail_to_the_console_by_default():
    s = email_settings({})
    assert s["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert s["DEFAULT_FROM_EMAIL"] == "Namaskah <noreply@localhost>"
    assert s["STAFF_CREDIT_LIMIT"] == "100.00"


def test_it_reads_smtp_with_starttls_a_sender_and_a_limit_in_a_started_process():
    s = email_settings({**PRODUCTION, "EMAIL_URL": "smtp://mailer%40example.com:p%40ss@smtp.example.com?tls=true",
                        "DEFAULT_FROM_EMAIL": "Namaskah <noreply@namaskah.example.com>", "STAFF_CREDIT_LIMIT": "250"})
    assert (s["EMAIL_BACKEND"], s["EMAIL_HOST"], s["EMAIL_PORT"]) == (
        "django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", 587)
    assert (s["EMAIL_HOST_USER"], s["EMAIL_HOST_PASSWORD"]) == ("mailer@example.com", "p@ss")
    assert (s["EMAIL_USE_TLS"], s["EMAIL_USE_SSL"]) == (True, False)
    assert s["DEFAULT_FROM_EMAIL"] == "Namaskah <noreply@namaskah.example.com>"
    assert s["STAFF_CREDIT_LIMIT"] == "250.00"


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.internal", {"EMAIL_HOST": "mail.internal", "EMAIL_PORT": 25, "EMAIL_USE_TLS": False,
                              "EMAIL_USE_SSL": False, "EMAIL_HOST_USER": ""}),
    ("smtp://u:p@mail.internal:2525?tls=1", {"EMAIL_PORT": 2525, "EMAIL_USE_TLS": True, "EMAIL_HOST_USER": "u"}),
    ("smtps://u:p@mail.internal", {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True, "EMAIL_USE_TLS": False}),
    ("smtp://mail.internal?tls=false", {"EMAIL_PORT": 25, "EMAIL_USE_TLS": False}),
    ("console://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
    ("file:///var/mail/namaskah", {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                                   "EMAIL_FILE_PATH": "/var/mail/namaskah"}),
])
def test_it_understands_each_email_url_form(url, expected):
    parsed = env.email_url(url)
    assert {key: parsed[key] for key in expected} == expected


@pytest.mark.parametrize(("change", "expected"), [
    ({"EMAIL_URL": "sendmail://localhost"}, "EMAIL_URL scheme 'sendmail' is not supported"),
    ({"EMAIL_URL": "smtp://"}, "EMAIL_URL has no host"),
    ({"EMAIL_URL": "smtp://mail.internal:25x"}, "EMAIL_URL has an invalid port"),
    ({"EMAIL_URL": "smtp://mail.internal?tls=maybe"}, "EMAIL_URL option tls='maybe' is not a boolean"),
    ({"EMAIL_URL": "smtp://mail.internal?ssl=1"}, "EMAIL_URL option 'ssl' is not supported"),
    ({"EMAIL_URL": "smtps://mail.internal?tls=1"}, "EMAIL_URL option 'tls' is not supported"),
    ({"EMAIL_URL": "smtp://mail.internal/inbox"}, "EMAIL_URL must not have a path"),
    ({"EMAIL_URL": "file://relative/folder"}, "EMAIL_URL for files must look like file:///absolute/folder"),
    ({"EMAIL_URL": "console://somewhere"}, "EMAIL_URL for the console must be exactly console://"),
    ({"DEFAULT_FROM_EMAIL": "Namaskah"}, "DEFAULT_FROM_EMAIL='Namaskah' is not an email address"),
    ({"DEFAULT_FROM_EMAIL": "Namaskah <noreply>"}, "DEFAULT_FROM_EMAIL='Namaskah <noreply>' is not an email address"),
    ({"STAFF_CREDIT_LIMIT": "lots"}, "STAFF_CREDIT_LIMIT='lots' is not an amount like 100.00"),
    ({"STAFF_CREDIT_LIMIT": "100.005"}, "at most 2 decimal places"),
    ({"STAFF_CREDIT_LIMIT": "1e400"}, "STAFF_CREDIT_LIMIT='1e400' is not an amount"),
    ({"STAFF_CREDIT_LIMIT": "-5"}, "STAFF_CREDIT_LIMIT=-5 is below the minimum of 0.00"),
    ({"STAFF_CREDIT_LIMIT": "NaN"}, "STAFF_CREDIT_LIMIT='NaN' is not an amount"),
    ({"RATE_RESET_EMAIL": "often"}, "RATE_RESET_EMAIL='often' is not a rate like 20/m"),
])
def test_it_refuses_a_malformed_value_with_one_line_naming_it(change, expected):
    line = refusal(change)
    assert line.startswith("namaskah: configuration error: ")
    assert expected in line


def test_the_refusal_never_prints_the_smtp_password():
    line = refusal({"EMAIL_URL": "smtp://mailer:hunter2-secret@mail.internal:25x"})
    assert "EMAIL_URL" in line and "hunter2-secret" not in line


def test_the_limit_is_an_exact_decimal():
    assert env.decimal({"X": " 99.9 "}, "X", "100.00") == Decimal("99.90")
    assert env.decimal({}, "X", "100.00") == Decimal("100.00")
