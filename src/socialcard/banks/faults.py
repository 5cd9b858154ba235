"""Injectable faults of the sandbox bank (RELIABILITY A6, G1): deterministic by seed, so a failing
chaos run can be replayed call for call."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """What goes wrong with one call to the bank."""

    UNAVAILABLE = "unavailable"  # refused before anything happened (BankUnavailable)
    TIMEOUT = "timeout"  # no answer, and nothing was done (BankTimeout before executing)
    DROP_RESPONSE = "drop_response"  # done and committed, then the answer is lost (BankTimeout)
    DUPLICATE_DELIVERY = "duplicate_delivery"  # an item already delivered comes again


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Per-call probabilities of each fault; at most one fault happens per call."""

    seed: int
    timeout_rate: float = 0.0
    unavailable_rate: float = 0.0
    drop_response_rate: float = 0.0
    duplicate_delivery_rate: float = 0.0
    slow_seconds: float = 0.0  # submit_file, execute_now and fetch_return sleep this long first

    def __post_init__(self) -> None:
        rates = (
            self.timeout_rate,
            self.unavailable_rate,
            self.drop_response_rate,
            self.duplicate_delivery_rate,
        )
        if any(rate < 0 or rate > 1 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates must lie in [0, 1] and add up to at most 1")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must not be negative")

    def dice(self) -> FaultDice:
        return FaultDice(self)


class FaultDice:
    """The seeded sequence of faults: one draw per call, whichever operation it is, so the same
    seed and the same calls give the same faults."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._random = random.Random(plan.seed)
        self._lock = threading.Lock()
        self.dealt: Counter[Fault] = Counter()  # the faults that happened, for the tests

    def roll(self, *allowed: Fault) -> Fault | None:
        """The fault for the next call, among those this operation can suffer."""
        with self._lock:
            draw = self._random.random()
        plan = self.plan
        bound = 0.0
        for fault, rate in (
            (Fault.UNAVAILABLE, plan.unavailable_rate),
            (Fault.TIMEOUT, plan.timeout_rate),
            (Fault.DROP_RESPONSE, plan.drop_response_rate),
            (Fault.DUPLICATE_DELIVERY, plan.duplicate_delivery_rate),
        ):
            bound += rate
            if draw < bound:
                if fault not in allowed:
                    return None
                with self._lock:
                    self.dealt[fault] += 1
                return fault
        return None
