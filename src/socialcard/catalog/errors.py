"""Catalogue errors."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound


class CatalogItemNotFound(NotFound):
    code = "catalog_item_not_found"

    def __init__(self, item_no: int) -> None:
        super().__init__(f"应用目录中没有第 {item_no} 项。", item_no=item_no)


class OpeningNotAllowed(Conflict):
    code = "opening_not_allowed"

    def __init__(self, item_no: int, region_code: str, current: str, target: str) -> None:
        super().__init__(
            f"第 {item_no} 项在 {region_code} 当前为“{current}”，不能改为“{target}”。",
            item_no=item_no,
            region_code=region_code,
            current_status=current,
            target_status=target,
        )


class OpeningOutOfOrder(Conflict):
    """A change dated before the latest recorded change would rewrite history."""

    code = "opening_out_of_order"

    def __init__(self, item_no: int, region_code: str, latest_on: str) -> None:
        super().__init__(
            f"第 {item_no} 项在 {region_code} 已有 {latest_on} 生效的变更，新变更不能早于该日期。",
            item_no=item_no,
            region_code=region_code,
            latest_effective_on=latest_on,
        )


class ItemBoundTwice(Conflict):
    code = "item_bound_twice"

    def __init__(self, item_no: int, first: str, second: str) -> None:
        super().__init__(
            f"第 {item_no} 项同时由 {first} 和 {second} 实现。",
            item_no=item_no,
            first=first,
            second=second,
        )
