"""The local card policy: switches the city sets (DOMAIN §2.7, §3), passed down from settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CardPolicy:
    pin_failures_max: int = 6  # consecutive wrong PINs that lock the social-security PIN
    pin_change_required: bool = True  # the initial PIN must be changed at activation
    temporary_loss_days: int = 7  # a temporary loss report lapses back after this many days
    generation: int = 3  # cards applied for now
    spec_version: str = "3.00"
    second_generation_validity_years: int = 10  # 3rd-generation cards are long-term
    ecard_token_seconds: int = 60  # life of an electronic-card QR code
