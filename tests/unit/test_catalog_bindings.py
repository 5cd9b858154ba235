"""Catalogue bindings: an item bound twice is refused; the platform's bindings are consistent."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from socialcard.bootstrap import catalog_bindings
from socialcard.catalog.bindings import Binding, collect_bindings
from socialcard.catalog.errors import ItemBoundTwice


def test_an_item_bound_twice_is_refused() -> None:
    with pytest.raises(ItemBoundTwice) as caught:
        collect_bindings([Binding(22, "insurance", "enrol"), Binding(22, "cases", "submit")])
    assert caught.value.details == {"item_no": 22, "first": "insurance", "second": "cases"}


def test_the_platform_binds_no_item_twice_and_only_real_items() -> None:
    bindings = catalog_bindings()
    assert all(1 <= item_no <= 111 for item_no in bindings)


def test_every_binding_names_a_function_of_its_area() -> None:
    found: dict[str, set[str]] = {}
    for binding in catalog_bindings().values():
        if binding.area not in found:
            package = importlib.import_module(f"socialcard.{binding.area}")
            modules = [package] + [
                importlib.import_module(m.name)
                for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
            ]
            found[binding.area] = {
                name
                for module in modules
                for name, value in vars(module).items()
                if callable(value) and getattr(value, "__module__", None) == module.__name__
            }
        assert binding.use_case in found[binding.area], binding


def test_the_money_items_are_served() -> None:
    from socialcard.disbursement.programmes import PAYOUT_ITEMS

    bindings = catalog_bindings()
    assert {n for n, b in bindings.items() if b.area == "disbursement"} == set(PAYOUT_ITEMS)
    assert {n for n, b in bindings.items() if b.area == "payments"} == {21, 93, 94}
