"""Settings, read from SOCIALCARD_* environment variables. Built once by an entry point and
passed down as plain values; business areas never import this module (import-linter checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARD_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    key_file: Path | None = None
    # The external checkpoint of the audit chain head (F2): outside the database, append-only.
    audit_checkpoint_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    secure_cookies: bool = False
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=8, ge=1)
    login_failures_before_lockout: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    import_chunk_size: int = Field(default=5000, ge=1)
    # PostgreSQL connections per process: kept open (pool size), and opened for a burst and
    # closed again after (overflow). A request holds one while it runs, so a server process
    # needs as many as it runs requests at once; an overflow under steady load means a new
    # connection (a backend started, its caches cold) every few requests.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    # Card policy (DOMAIN §2.7, §3): local switches, see docs/cards.md.
    card_pin_failures_max: int = Field(default=6, ge=3, le=10)
    card_pin_change_required: bool = True
    card_temporary_loss_days: int = Field(default=7, ge=1, le=90)
    ecard_token_seconds: int = Field(default=60, ge=15, le=600)
    # The bank gateway (docs/banks.md): the sandbox bank simulates the partner banks in its own
    # SQLite file; file_exchange uses the banks' drop folders.
    bank_gateway: Literal["sandbox", "file_exchange"] = "sandbox"
    bank_exchange_dir: Path | None = None
    sandbox_bank_path: Path | None = None

    @model_validator(mode="after")
    def _fill_paths_and_refuse_unsafe_production(self) -> Self:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'socialcard.sqlite3'}"
        if self.key_file is None:
            self.key_file = self.data_dir / "keys.json"
        if self.audit_checkpoint_file is None:
            self.audit_checkpoint_file = self.data_dir / "audit-checkpoints.log"
        if self.bank_exchange_dir is None:
            self.bank_exchange_dir = self.data_dir / "bank-exchange"
        if self.sandbox_bank_path is None:
            self.sandbox_bank_path = self.data_dir / "sandbox-bank.sqlite3"
        if self.environment == "production":
            if self.bank_gateway == "sandbox":
                raise ValueError(
                    "production needs SOCIALCARD_BANK_GATEWAY=file_exchange: the sandbox bank"
                    " moves no real money"
                )
            if self.database_url.startswith("sqlite"):
                raise ValueError("production needs PostgreSQL, not SQLite")
            if not self.secure_cookies:
                raise ValueError("production needs SOCIALCARD_SECURE_COOKIES=true (HTTPS)")
        return self

    @property
    def resolved_key_file(self) -> Path:
        assert self.key_file is not None
        return self.key_file

    @property
    def resolved_checkpoint_file(self) -> Path:
        assert self.audit_checkpoint_file is not None
        return self.audit_checkpoint_file

    @property
    def resolved_bank_exchange_dir(self) -> Path:
        assert self.bank_exchange_dir is not None
        return self.bank_exchange_dir

    @property
    def resolved_sandbox_bank_path(self) -> Path:
        assert self.sandbox_bank_path is not None
        return self.sandbox_bank_path
