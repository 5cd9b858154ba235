"""Which business area implements which catalogue item (DESIGN §1).

Each area declares its bindings as data; the composition root collects them. An item bound
twice is an error; unbound items are reported as "not implemented yet", never hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from socialcard.catalog.errors import ItemBoundTwice


@dataclass(frozen=True, slots=True)
class Binding:
    item_no: int
    area: str  # the package that implements it, e.g. "insurance"
    use_case: str  # the service function a card use of this item goes through


def collect_bindings(declared: Iterable[Binding]) -> dict[int, Binding]:
    """Index bindings by item number.

    Raises:
        ItemBoundTwice: two areas claim the same item.
    """
    found: dict[int, Binding] = {}
    for binding in declared:
        first = found.get(binding.item_no)
        if first is not None:
            raise ItemBoundTwice(binding.item_no, first.area, binding.area)
        found[binding.item_no] = binding
    return found
