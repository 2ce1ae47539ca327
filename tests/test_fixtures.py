"""`asynclint check fixtures/` (the README's first command) finds exactly the planted bugs."""

from __future__ import annotations

import json

from tests.conftest import ROOT, RunCli


def test_fixture_findings(run_cli: RunCli) -> None:
    done = run_cli("check", "--format", "json", "fixtures", cwd=ROOT)
    assert done.returncode == 1, done.stderr
    found = [(d["path"], d["line"], d["column"], d["code"]) for d in json.loads(done.stdout)]
    assert found == [
        ("fixtures/broken/latin1_without_cookie.py", 2, 12, "ASL900"),
        ("fixtures/broken/syntax_error.py", 3, 16, "ASL900"),
        ("fixtures/chat_service/notifications.py", 18, 9, "ASL102"),
        ("fixtures/chat_service/notifications.py", 29, 44, "ASL102"),
        ("fixtures/chat_service/server.py", 26, 9, "ASL102"),
        ("fixtures/chat_service/server.py", 33, 17, "ASL102"),
        ("fixtures/chat_service/server.py", 38, 16, "ASL102"),
        ("fixtures/chat_service/server.py", 47, 30, "ASL102"),
    ]
