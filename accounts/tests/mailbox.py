"""Email as the file backend writes it: the tests read what a mail server would have been handed."""
from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # what django.core.mail.backends.filebased writes after each message


class FileMailbox:
    def __init__(self, folder: Path):
        self.folder = folder

    def messages(self) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.folder.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
            for chunk in path.read_bytes().split(SEPARATOR):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk, policy=email.policy.default))
        return found

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages() if m["To"] == address]

    def only_one_to(self, address: str) -> email.message.EmailMessage:
        found = self.to(address)
        assert len(found) == 1, [m["Subject"] for m in found]
        return found[0]


def body(message) -> str:
    return message.get_content()


def link_in(message, path_prefix: str) -> str:
    """The path of the one link to this site in the message that starts with `path_prefix`."""
    links = re.findall(r"https?://testserver(/\S+)", body(message))
    matching = [link for link in links if link.startswith(path_prefix)]
    assert len(matching) == 1, links
    return matching[0]
