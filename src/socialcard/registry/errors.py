"""Registry errors."""

from __future__ import annotations

from socialcard.errors import Conflict, NotFound


class PersonNotFound(NotFound):
    code = "person_not_found"

    def __init__(self, person_id: int | None = None) -> None:
        # Never echo an ID number: a search by number that finds nobody says only that.
        super().__init__(
            "没有找到该人员。" if person_id is None else f"没有编号为 {person_id} 的人员。",
            person_id=person_id,
        )


class PersonAlreadyRegistered(Conflict):
    code = "person_already_registered"

    def __init__(self, person_id: int) -> None:
        super().__init__(f"该身份号码已登记为人员 {person_id}。", person_id=person_id)


class ImportNotFound(NotFound):
    code = "import_not_found"

    def __init__(self, import_id: int) -> None:
        super().__init__(f"没有编号为 {import_id} 的导入任务。", import_id=import_id)


class ImportFileUnreadable(Conflict):
    code = "import_file_unreadable"

    def __init__(self, reason: str) -> None:
        super().__init__(f"导入文件无法读取：{reason}", reason=reason)


class ImportAlreadyCompleted(Conflict):
    code = "import_already_completed"

    def __init__(self, import_id: int) -> None:
        super().__init__(f"导入任务 {import_id} 已完成。", import_id=import_id)
