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
        ("fixtures/order_service/payments.py", 29, 16, "ASL104"),
        ("fixtures/order_service/payments.py", 39, 9, "ASL103"),
        ("fixtures/order_service/receipts.py", 33, 9, "ASL303"),
        ("fixtures/order_service/receipts.py", 37, 14, "ASL304"),
        ("fixtures/order_service/receipts.py", 38, 20, "ASL304"),
        ("fixtures/order_service/store.py", 41, 15, "ASL201"),
        ("fixtures/order_service/store.py", 52, 9, "ASL401"),
        ("fixtures/order_service/tests/test_worker.py", 19, 9, "ASL504"),
        ("fixtures/order_service/tests/test_worker.py", 27, 15, "ASL503"),
        ("fixtures/order_service/worker.py", 30, 20, "ASL307"),
        ("fixtures/order_service/worker.py", 39, 49, "ASL105"),
        ("fixtures/order_service/worker.py", 52, 20, "ASL203"),
        ("fixtures/order_service/worker.py", 69, 17, "ASL301"),
        ("fixtures/order_service/worker.py", 74, 9, "ASL101"),
    ]
