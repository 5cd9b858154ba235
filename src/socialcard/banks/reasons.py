"""Why a bank refused an instruction line (DOMAIN §7): one code table, shared by the formats, the
sandbox bank and the areas that put failed payments into the correction queue."""

from __future__ import annotations

from typing import Final

ACCOUNT_CLOSED: Final = "account_closed"
ACCOUNT_FROZEN: Final = "account_frozen"
ACCOUNT_LOST: Final = "account_lost"
NOT_ACTIVATED: Final = "not_activated"
NAME_MISMATCH: Final = "name_mismatch"
NO_SUCH_ACCOUNT: Final = "no_such_account"
DORMANT: Final = "dormant"
ID_MISMATCH: Final = "id_mismatch"
INSUFFICIENT_FUNDS: Final = "insufficient_funds"

REASONS: Final[dict[str, str]] = {
    ACCOUNT_CLOSED: "账户已销户",
    ACCOUNT_FROZEN: "账户冻结/只收不付",
    ACCOUNT_LOST: "账户已挂失",
    NOT_ACTIVATED: "账户未激活",
    NAME_MISMATCH: "户名不符",
    NO_SUCH_ACCOUNT: "账户不存在",
    DORMANT: "久悬账户",
    ID_MISMATCH: "证件信息不符",
    INSUFFICIENT_FUNDS: "余额不足",  # debits (代扣) only
}


def describe(code: str) -> str:
    """The Chinese text for a reason code; a code outside the table is shown as it came, since a
    bank may add codes before the table learns them."""
    return REASONS.get(code, f"其他原因（{code}）")
