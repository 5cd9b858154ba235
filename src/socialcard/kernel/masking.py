"""Display masks (DOMAIN.md §8.3, a project decision): what a screen, log or export may show."""

from __future__ import annotations


def mask_resident_id(value: str) -> str:
    """First 6 + 8 stars + last 4: 431102********1234. The birth date is always hidden."""
    if len(value) != 18:
        return "*" * len(value)
    return f"{value[:6]}********{value[-4:]}"


def mask_name(name: str) -> str:
    """Surname + one star per remaining character: 张* / 欧阳** is shown as 欧**."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    """First 3 + **** + last 4 for an 11-digit mobile; other numbers keep only the last 4."""
    if len(phone) == 11:
        return f"{phone[:3]}****{phone[-4:]}"
    if len(phone) <= 4:
        return "*" * len(phone)
    return "*" * (len(phone) - 4) + phone[-4:]


def mask_card_number(card_number: str) -> str:
    """Last 4 only."""
    return "*" * max(len(card_number) - 4, 0) + card_number[-4:]


def mask_bank_account(account: str) -> str:
    """First 6 + stars + last 4 (the common bank display mask)."""
    if len(account) <= 10:
        return "*" * (len(account) - 4) + account[-4:] if len(account) > 4 else "*" * len(account)
    return f"{account[:6]}{'*' * (len(account) - 10)}{account[-4:]}"
