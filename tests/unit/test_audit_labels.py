"""Every audit action and object type the code writes has a Chinese label on the audit page."""

from __future__ import annotations

import re
from pathlib import Path

from socialcard.http.cards import CardAction
from socialcard.http.disbursement import ACTIONS
from socialcard.web.labels import AUDIT_ACTIONS, OBJECT_TYPES

SOURCE = Path(__file__).resolve().parents[2] / "src" / "socialcard"
# ctx.event("x", …), AuditEvent(actor, "x", …), action="x", and the CLI's _audit(…, "x", …).
ACTION_CALLS = re.compile(
    r"(?:\.event\(|AuditEvent\([^,]+,|action=|_audit\(session, platform,"
    r"|audit_cli\(\s*session,\s*platform,"
    r"|(?:audit_card|audit_batch|audit_disbursement|audit_insurance|_audit)"
    r"\(\s*(?:session|s),\s*platform,\s*\w+,)"
    r'\s*"([a-z_]+\.[a-z_]+)"'
)


def test_audit_actions_and_object_types_have_labels() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for p in SOURCE.rglob("*.py"))
    actions = set(ACTION_CALLS.findall(code))
    assert {"person.view", "catalog.opening_changed", "auth.login"} <= actions
    actions |= {f"card.{action.value}" for action in CardAction}
    actions |= {f"disbursement.{action}" for action in ACTIONS}
    actions |= {f"insurance.enrolment_{a}" for a in ("suspend", "resume", "terminate")}
    assert {"card.use_refused", "terminal.admit", "card.batch_returned"} <= actions
    assert actions - set(AUDIT_ACTIONS) == set()
    object_types = set(re.findall(r'object_type="([a-z_]+)"', code))
    assert object_types - set(OBJECT_TYPES) == set()
