"""Fixtures of the accounts tests."""
import pytest

from accounts.tests.mailbox import FileMailbox
from namaskah import env


@pytest.fixture
def mailbox(settings, tmp_path) -> FileMailbox:
    """EMAIL_URL=file://<a fresh folder>, through the same parser settings.py uses."""
    folder = tmp_path / "mail"
    for name, value in env.email_url(f"file://{folder}").items():
        setattr(settings, name, value)
    return FileMailbox(folder)
