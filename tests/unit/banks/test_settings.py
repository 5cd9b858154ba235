"""Production refuses the sandbox bank: it moves no real money."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from socialcard.config import Settings


def test_production_refuses_the_sandbox_bank() -> None:
    with pytest.raises(ValidationError, match="SOCIALCARD_BANK_GATEWAY=file_exchange"):
        Settings(
            environment="production",
            database_url="postgresql+psycopg://db/socialcard",
            secure_cookies=True,
        )
    production = Settings(
        environment="production",
        database_url="postgresql+psycopg://db/socialcard",
        secure_cookies=True,
        bank_gateway="file_exchange",
        data_dir=Path("/srv/socialcard"),
    )
    assert production.resolved_bank_exchange_dir == Path("/srv/socialcard/bank-exchange")
