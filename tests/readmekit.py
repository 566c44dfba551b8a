"""The README's shell commands as a person pastes them, for ``test_readme_commands``.

A person copies a ```sh block line by line (a line ending in ``\\`` continues on the next; ``#``
after two spaces starts a comment they need not copy) or an inline command in backticks. Reading
them out of the README itself — not a copy in the test — is what makes the test fail when the
README changes a command into one that no longer works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t]*$", re.MULTILINE)
INLINE = re.compile(r"`(?P<code>[^`]+)`")
COMMENT = re.compile(r"(^|  )#.*$")  # `#` at the start of a line or after two spaces
# What starts an inline command a person would paste (the rest in backticks are names and values).
INLINE_STARTS = (".venv/bin/", "make ", "curl ", "pytest ", "python ", "dagster ", "integrations-dagster ",
                 "source ")


@dataclass(frozen=True)
class Command:
    text: str      # one command line, continuations joined and comment dropped
    section: str   # the heading it sits under, for messages
    where: str     # "sh block" or "inline"


def commands(readme: Path) -> list[Command]:
    """Every command of the README's ```sh blocks, then every inline one (``INLINE_STARTS``); each
    once, where it first appears."""
    text = readme.read_text()
    # The text outside fences, same offsets: a `# comment` in a block is no heading.
    prose = FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    found: list[Command] = []
    for fence in FENCE.finditer(text):
        if fence.group("lang").strip() not in ("sh", "bash", "shell", "console"):
            continue
        section = _section(prose, fence.start())
        for line in _lines(fence.group("body")):
            found.append(Command(line, section, "sh block"))
    for code in INLINE.finditer(prose):
        line = " ".join(code.group("code").split())
        if line.startswith(INLINE_STARTS):
            found.append(Command(line, _section(prose, code.start()), "inline"))
    seen: set[str] = set()
    return [c for c in found if not (c.text in seen or seen.add(c.text))]


def _lines(body: str) -> list[str]:
    """A block's commands: ``\\`` joins a line to the next; comments and blank lines drop out."""
    out: list[str] = []
    pending = ""
    for raw in body.splitlines():
        line = raw.strip()
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = COMMENT.sub("", pending + line).strip()
        pending = ""
        if line:
            out.append(" ".join(line.split()))
    if pending.strip():
        out.append(" ".join(pending.split()))
    return out


def _section(text: str, offset: int) -> str:
    titles = [m.group("title") for m in HEADING.finditer(text, 0, offset)]
    return titles[-1] if titles else "(top)"
