"""Access errors."""

from __future__ import annotations

from socialcard.errors import Conflict, InvalidField, NotAuthenticated, NotFound, PermissionDenied


class LoginFailed(NotAuthenticated):
    """Wrong username, password or one-time code; deliberately does not say which."""

    code = "login_failed"

    def __init__(self) -> None:
        super().__init__("用户名、密码或动态口令不正确。")


class AccountLocked(NotAuthenticated):
    code = "account_locked"

    def __init__(self, minutes: int) -> None:
        super().__init__(
            f"登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试。", minutes=minutes
        )


class SessionExpired(NotAuthenticated):
    code = "session_expired"

    def __init__(self) -> None:
        super().__init__("会话已过期，请重新登录。")


class StaffNotFound(NotFound):
    code = "staff_not_found"

    def __init__(self, staff_id: int | str) -> None:
        super().__init__(f"没有编号为 {staff_id} 的工作人员。", staff_id=str(staff_id))


class UsernameTaken(Conflict):
    code = "username_taken"

    def __init__(self, username: str) -> None:
        super().__init__(f"用户名 {username} 已被使用。", username=username)


class UnknownRole(InvalidField):
    code = "unknown_role"

    def __init__(self, role: str) -> None:
        super().__init__("role", "known_role", f"没有名为 {role} 的角色。")


class UnknownDepartment(InvalidField):
    code = "unknown_department"

    def __init__(self, department: str) -> None:
        super().__init__("department", "known_department", f"没有代码为 {department} 的部门。")


class WeakPassword(InvalidField):
    code = "weak_password"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__("password", rule, message)


class RolesIncompatible(PermissionDenied):
    """三员分立: an administrator role cannot be combined with any other role."""

    code = "roles_incompatible"

    def __init__(self, held: str, requested: str) -> None:
        super().__init__(
            f"角色 {requested} 不能与已有角色 {held} 兼任（三员分立）。",
            held=held,
            requested=requested,
        )


class SelfGrantRefused(PermissionDenied):
    code = "self_grant_refused"

    def __init__(self) -> None:
        super().__init__("不能给自己授予角色。")


class OutOfScope(PermissionDenied):
    """The object belongs to a county outside the staff member's scope."""

    code = "out_of_scope"

    def __init__(self, object_type: str, object_id: int | str) -> None:
        super().__init__(
            "该对象不在您的辖区范围内。", object_type=object_type, object_id=str(object_id)
        )


class PermissionMissing(PermissionDenied):
    code = "permission_missing"

    def __init__(self, permission: str) -> None:
        super().__init__(f"您的角色没有“{permission}”权限。", permission=permission)
