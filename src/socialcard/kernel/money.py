"""Money as integer fen. Never float; rounding happens in one function."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


def round_to_minor(value: Decimal) -> int:
    """Round a fen amount computed with rates to whole fen, half up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in integer minor units (fen for CNY)."""

    minor: int
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError("Money.minor must be an int number of fen")

    @classmethod
    def yuan(cls, text: str | int) -> Money:
        """Parse a yuan amount such as "12.34" exactly (no float on the way)."""
        amount = Decimal(str(text)) * 100
        if amount != amount.to_integral_value():
            raise ValueError("amount has more than two decimal places")
        return cls(int(amount))

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split the amount by integer weights; the parts always add up to the whole."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative and not all zero")
        total = sum(weights)
        parts = [self.minor * w // total for w in weights]
        remainder = self.minor - sum(parts)
        # Hand leftover fen to the largest fractional parts first, earliest on ties.
        order = sorted(range(len(weights)), key=lambda i: (-(self.minor * weights[i] % total), i))
        for i in order[:remainder]:
            parts[i] += 1
        return [Money(p, self.currency) for p in parts]

    def format_yuan(self) -> str:
        """Format as yuan with two decimals and thousands separators: ¥1,234.50."""
        sign = "-" if self.minor < 0 else ""
        whole, fen = divmod(abs(self.minor), 100)
        return f"{sign}¥{whole:,}.{fen:02d}"
