"""Schools and accounts: what the organizer's pages and the Excel imports do to the database.

Every write records an audit event (who, before, after) in the same transaction; the caller
commits. Rules live here once and serve the web forms and the imports alike:

- a school's name is unique, its code (when given) unique regardless of case; a parent school
  (中心校) must exist and must not be the school itself or one of its own descendants;
- a school that accounts, child schools or later stages refer to cannot be deleted;
- a username is unique regardless of case; a coordinator must have a school; a judge may have a
  school (his affiliation, for recusal) and/or a free-text unit;
- the last active organizer cannot be deactivated or demoted; nobody deactivates or demotes himself;
- accounts are created with a typed or generated password and must change it at first login.

Imports are all-or-nothing: plan_*_import() reads and checks the whole sheet and collects every
fault; apply_*_import() writes a plan without faults.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from judging.core import audit
from judging.core.models import ROLE_LABELS, Role, School, User
from judging.core.security import generate_password, hash_password, password_problem
from judging.core.sheets import Column, Fault, Faults, SheetError, SheetSpec, read_sheet
from judging.core.text import clean, split_list
from judging.extensions import db

ORGANIZER, COORDINATOR, JUDGE = Role.ORGANIZER.value, Role.COORDINATOR.value, Role.JUDGE.value
ROLES = (ORGANIZER, COORDINATOR, JUDGE)

SCHOOL_FIELDS = ("name", "code", "cluster", "parent_id")
# Never the password hash: the audit log is read by every organizer.
USER_FIELDS = ("username", "display_name", "role", "school_id", "affiliation", "phone", "active",
               "must_change_password")

NAME_MAX, CODE_MAX, CLUSTER_MAX = 120, 32, 60
USERNAME_MAX, DISPLAY_NAME_MAX, AFFILIATION_MAX, PHONE_MAX = 60, 60, 120, 30

# What people type into the 角色 column (and the form's values).
ROLE_WORDS = {
    "organizer": ORGANIZER, "组委会": ORGANIZER, "管理员": ORGANIZER, "组委会管理员": ORGANIZER,
    "coordinator": COORDINATOR, "学校管理员": COORDINATOR, "学校": COORDINATOR, "辅导教师": COORDINATOR,
    "judge": JUDGE, "评委": JUDGE, "评审": JUDGE, "评审专家": JUDGE,
}

USERNAME_PATTERN = re.compile(r"^[\w.@-]+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 -]*$")
# A space next to a Chinese character is a typing slip ("实验 小学"); one between Latin words is not.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")


class PeopleError(ValueError):
    """A change the rules refuse. `problems` maps a form field to its Chinese message."""

    def __init__(self, message: str | dict[str, str], field: str | None = None):
        if isinstance(message, dict):
            self.problems = dict(message)
        else:
            self.problems = {field or "_": message}
        super().__init__("；".join(self.problems.values()))


# Later stages register functions that count what refers to a school (entries, instructors ...),
# so deleting a school can be refused without this module reaching forward into their models.
SchoolUsage = Callable[[School], tuple[int, str]]
school_usage_checks: list[SchoolUsage] = []


# --- Normalising ---------------------------------------------------------------------------------

def normalise_name(value) -> str:
    """NFKC, stray spaces removed: '  城关 第一小学 ' -> '城关第一小学'."""
    return _SPACE_NEAR_CJK.sub("", clean(value))


def parse_role(value) -> str | None:
    return ROLE_WORDS.get(clean(value).replace(" ", "").lower())


def username_problem(username: str) -> str | None:
    if not username:
        return "请填写用户名"
    if len(username) > USERNAME_MAX:
        return f"用户名最多{USERNAME_MAX}个字符"
    if " " in username:
        return "用户名不能包含空格"
    if not USERNAME_PATTERN.match(username):
        return "用户名只能包含字母、数字、汉字和 _ . @ -"
    return None


def phone_problem(phone: str) -> str | None:
    if len(phone) > PHONE_MAX:
        return f"手机号码最多{PHONE_MAX}个字符"
    if not PHONE_PATTERN.match(phone):
        return "手机号码格式不正确（只能包含数字、空格、- 和开头的 +）"
    return None


def _changed(state: dict, other: dict) -> dict:
    return {k: v for k, v in state.items() if other.get(k) != v}


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- Schools: reading ------------------------------------------------------------------------------

@dataclass
class SchoolListing:
    school: School
    depth: int  # 0 for a school without parent, 1 for a 村小 under its 中心校, ...
    child_count: int = 0
    coordinators: int = 0
    judges: int = 0
    others: int = 0

    @property
    def accounts(self) -> int:
        return self.coordinators + self.judges + self.others


def all_schools() -> list[School]:
    return list(db.session.scalars(select(School).order_by(School.name)))


def clusters() -> list[str]:
    return list(db.session.scalars(
        select(School.cluster).where(School.cluster.is_not(None)).distinct().order_by(School.cluster)))


def account_counts() -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(User.school_id, User.role, func.count()).where(User.school_id.is_not(None))
        .group_by(User.school_id, User.role))
    for school_id, role, count in rows:
        counts.setdefault(school_id, {})[role] = count
    return counts


def _tree_order(schools: list[School]) -> list[tuple[School, int]]:
    """Schools with their depth, each parent followed by its children (by name)."""
    children: dict[int | None, list[School]] = {}
    ids = {s.id for s in schools}
    for school in schools:
        parent = school.parent_id if school.parent_id in ids else None
        children.setdefault(parent, []).append(school)
    for group in children.values():
        group.sort(key=lambda s: s.name)
    roots = sorted(children.get(None, []), key=lambda s: (s.cluster is None, s.cluster or "", s.name))
    ordered: list[tuple[School, int]] = []
    seen: set[int] = set()

    def walk(school: School, depth: int) -> None:
        if school.id in seen:
            return
        seen.add(school.id)
        ordered.append((school, depth))
        for child in children.get(school.id, []):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    for school in schools:  # unreachable only if the data holds a cycle: still list it
        if school.id not in seen:
            walk(school, 0)
    return ordered


def school_listing(search: str = "", cluster: str = "") -> list[SchoolListing]:
    """Every school matching the search (several terms separated by 、 or commas: any of them)
    and the cluster, in tree order, with the number of accounts of each."""
    terms = [t.lower() for t in split_list(search)]
    cluster = normalise_name(cluster)
    counts = account_counts()

    def matches(school: School) -> bool:
        if cluster and (school.cluster or "") != cluster:
            return False
        if not terms:
            return True
        haystack = " ".join(filter(None, (school.name, school.code, school.cluster))).lower()
        return any(term in haystack or normalise_name(term) in haystack for term in terms)

    schools = all_schools()
    child_counts: dict[int, int] = {}
    for school in schools:
        if school.parent_id is not None:
            child_counts[school.parent_id] = child_counts.get(school.parent_id, 0) + 1
    listing = []
    for school, depth in _tree_order(schools):
        if matches(school):
            by_role = counts.get(school.id, {})
            listing.append(SchoolListing(school, depth, child_counts.get(school.id, 0), by_role.get(COORDINATOR, 0),
                                         by_role.get(JUDGE, 0), by_role.get(ORGANIZER, 0)))
    return listing


def school_count() -> int:
    return db.session.scalar(select(func.count()).select_from(School))


def descendant_ids(school: School) -> set[int]:
    children: dict[int, list[int]] = {}
    for school_id, parent_id in db.session.execute(select(School.id, School.parent_id)):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(school_id)
    found: set[int] = set()
    stack = [school.id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def parent_choices(school: School | None) -> list[School]:
    """Schools that may become the parent of this one: not itself, not one of its descendants."""
    excluded = set() if school is None else descendant_ids(school) | {school.id}
    return [s for s in all_schools() if s.id not in excluded]


def find_school(ref) -> School | None:
    """A school by its name, else by its code (regardless of case)."""
    ref = normalise_name(ref)
    if not ref:
        return None
    school = db.session.scalar(select(School).where(School.name == ref))
    if school is None:
        school = db.session.scalar(select(School).where(func.lower(School.code) == ref.lower()))
    return school


# --- Schools: writing ------------------------------------------------------------------------------

def save_school(data: dict, school: School | None = None) -> School:
    """Create (school None) or update a school from name, code, cluster and parent_id."""
    problems: dict[str, str] = {}
    name = normalise_name(data.get("name"))
    code = clean(data.get("code")) or None
    cluster = normalise_name(data.get("cluster")) or None
    parent_id = data.get("parent_id") or None
    own_id = school.id if school is not None else None
    if not name:
        problems["name"] = "请填写学校名称"
    elif len(name) > NAME_MAX:
        problems["name"] = f"学校名称最多{NAME_MAX}个字"
    else:
        clash = db.session.scalar(select(School).where(School.name == name))
        if clash is not None and clash.id != own_id:
            problems["name"] = f"已有同名学校「{name}」"
    if code is not None:
        if len(code) > CODE_MAX:
            problems["code"] = f"代码最多{CODE_MAX}个字符"
        else:
            clash = db.session.scalar(select(School).where(func.lower(School.code) == code.lower()))
            if clash is not None and clash.id != own_id:
                problems["code"] = f"代码「{code}」已被学校「{clash.name}」使用"
    if cluster is not None and len(cluster) > CLUSTER_MAX:
        problems["cluster"] = f"片区最多{CLUSTER_MAX}个字"
    parent = None
    if parent_id is not None:
        parent = db.session.get(School, parent_id)
        if parent is None:
            problems["parent_id"] = "所选上级学校不存在"
        elif school is not None and parent.id == school.id:
            problems["parent_id"] = "上级学校不能是它自己"
        elif school is not None and parent.id in descendant_ids(school):
            problems["parent_id"] = f"「{parent.name}」是「{school.name}」的下属学校，不能再作为它的上级学校（会形成循环）"
    if problems:
        raise PeopleError(problems)

    before = audit.snapshot(school, SCHOOL_FIELDS) if school is not None else None
    if school is None:
        school = School()
        db.session.add(school)
    school.name, school.code, school.cluster, school.parent = name, code, cluster, parent
    db.session.flush()
    after = audit.snapshot(school, SCHOOL_FIELDS)
    if before is None:
        audit.record("school_created", school, after=after, summary=f"新建学校 {name}")
    elif before != after:
        audit.record("school_updated", school, before=_changed(before, after), after=_changed(after, before),
                     summary=f"修改学校 {name}")
    return school


def school_usage(school: School) -> list[str]:
    """What still refers to the school, e.g. ['3个账号', '2所下属学校']."""
    reasons = []
    accounts = db.session.scalar(select(func.count()).select_from(User).where(User.school_id == school.id))
    if accounts:
        reasons.append(f"{accounts}个账号")
    children = db.session.scalar(select(func.count()).select_from(School).where(School.parent_id == school.id))
    if children:
        reasons.append(f"{children}所下属学校")
    for check in school_usage_checks:
        count, label = check(school)
        if count:
            reasons.append(f"{count}{label}")
    return reasons


def delete_school(school: School) -> None:
    reasons = school_usage(school)
    if reasons:
        raise PeopleError(f"学校「{school.name}」不能删除：还有{'、'.join(reasons)}属于它。"
                          "请先把它们改到其他学校或删除，再删除这所学校。")
    audit.record("school_deleted", school, before=audit.snapshot(school, SCHOOL_FIELDS),
                 summary=f"删除学校 {school.name}")
    db.session.delete(school)
    db.session.flush()


# --- Accounts: reading -----------------------------------------------------------------------------

ROLE_ORDER = case({ORGANIZER: 0, COORDINATOR: 1, JUDGE: 2}, value=User.role, else_=3)


def user_listing(role: str = "", search: str = "", school_id: int | None = None, status: str = "",
                 page: int = 1, per_page: int = 100) -> tuple[list[User], int]:
    query = select(User).outerjoin(School, User.school_id == School.id)
    if role in ROLES:
        query = query.where(User.role == role)
    if school_id:
        query = query.where(User.school_id == school_id)
    if status == "active":
        query = query.where(User.active.is_(True))
    elif status == "inactive":
        query = query.where(User.active.is_(False))
    terms = split_list(search)
    if terms:
        columns = (User.username, User.display_name, User.affiliation, User.phone, School.name, School.code)
        query = query.where(or_(*(func.lower(c).like(_like(t), escape="\\") for t in terms for c in columns)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    users = db.session.scalars(query.options(selectinload(User.school))
                               .order_by(ROLE_ORDER, School.name, User.username)
                               .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(users), total


def _username_taken_in_db(username: str, own_id: int | None) -> bool:
    clash = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    return clash is not None and clash.id != own_id


def active_organizers_besides(user: User) -> int:
    query = select(User.id).where(User.role == ORGANIZER, User.active.is_(True), User.id != user.id)
    # Row locks on PostgreSQL, so two organizers cannot deactivate each other at the same moment
    # (SQLite serialises writers with BEGIN IMMEDIATE already).
    return len(db.session.scalars(query.with_for_update()).all())


# --- Accounts: writing -----------------------------------------------------------------------------

def validate_user(data: dict, user: User | None = None, *,
                  username_taken: Callable[[str, int | None], bool] | None = None) -> tuple[dict, dict]:
    """Normalised values and {field: Chinese message} for username, display_name, role, school_id,
    affiliation, phone (and active when given). Shared by the form and the import."""
    problems: dict[str, str] = {}
    taken = username_taken or _username_taken_in_db
    username = clean(data.get("username"))
    if problem := username_problem(username):
        problems["username"] = problem
    elif taken(username, user.id if user is not None else None):
        problems["username"] = f"用户名「{username}」已被使用（不区分大小写）"
    display_name = normalise_name(data.get("display_name"))
    if not display_name:
        problems["display_name"] = "请填写姓名"
    elif len(display_name) > DISPLAY_NAME_MAX:
        problems["display_name"] = f"姓名最多{DISPLAY_NAME_MAX}个字"
    raw_role = clean(data.get("role"))
    role = parse_role(raw_role)
    if role is None:
        problems["role"] = (f"无法识别的角色「{raw_role}」，请填写 组委会、学校管理员 或 评委" if raw_role
                            else "请选择角色")
    school = None
    if data.get("school_id"):
        school = db.session.get(School, data["school_id"])
        if school is None:
            problems["school_id"] = "所选学校不存在"
    if role == COORDINATOR and school is None and "school_id" not in problems:
        problems["school_id"] = "学校管理员必须指定所属学校"
    affiliation = normalise_name(data.get("affiliation")) or None
    if affiliation and len(affiliation) > AFFILIATION_MAX:
        problems["affiliation"] = f"单位最多{AFFILIATION_MAX}个字"
    phone = clean(data.get("phone")) or None
    if phone and (problem := phone_problem(phone)):
        problems["phone"] = problem
    values = {"username": username, "display_name": display_name, "role": role,
              "school_id": school.id if school else None, "affiliation": affiliation, "phone": phone}
    if "active" in data:
        values["active"] = bool(data["active"])
    return values, problems


def create_user(data: dict, password: str | None = None) -> tuple[User, str]:
    """A new account; without a typed password one is generated. Returns the account and the
    password in clear (to print once); the account must change it at first login."""
    values, problems = validate_user(data)
    password = password or None
    if password is not None and (problem := password_problem(password)):
        problems["password"] = problem
    if problems:
        raise PeopleError(problems)
    password = password or generate_password()
    values["active"] = values.get("active", True)
    user = User(**values, password_hash=hash_password(password), must_change_password=True)
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", user, after=audit.snapshot(user, USER_FIELDS),
                 summary=f"新建账号 {user.username}（{user.role_label}）")
    return user, password


def _organizer_problems(user: User, new_role: str | None, new_active: bool, actor: User | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if actor is not None and actor.id == user.id:
        if not new_active:
            problems["active"] = "不能停用自己的账号"
        if new_role != user.role:
            problems["role"] = "不能修改自己的角色"
        if problems:
            return problems
    loses_organizer = user.role == ORGANIZER and user.active and (new_role != ORGANIZER or not new_active)
    if loses_organizer and active_organizers_besides(user) == 0:
        message = "这是最后一个启用的组委会账号，不能停用或改为其他角色。请先新建另一个组委会账号。"
        problems["active" if not new_active else "role"] = message
    return problems


def update_user(user: User, data: dict, actor: User | None = None) -> User:
    values, problems = validate_user(data, user)
    values.setdefault("active", user.active)
    if not problems:
        problems.update(_organizer_problems(user, values["role"], values["active"], actor))
    if problems:
        raise PeopleError(problems)
    before = audit.snapshot(user, USER_FIELDS)
    for name, value in values.items():
        setattr(user, name, value)
    db.session.flush()
    after = audit.snapshot(user, USER_FIELDS)
    if before != after:
        if before["active"] and not after["active"]:
            action, summary = "user_deactivated", f"停用账号 {user.username}"
        elif not before["active"] and after["active"]:
            action, summary = "user_activated", f"启用账号 {user.username}"
        else:
            action, summary = "user_updated", f"修改账号 {user.username}"
        audit.record(action, user, before=_changed(before, after), after=_changed(after, before), summary=summary)
    return user


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivate (or reactivate) an account, with the organizer protections."""
    problems = _organizer_problems(user, user.role, active, actor)
    if problems:
        raise PeopleError(problems)
    if user.active == active:
        return
    user.active = active
    audit.record("user_activated" if active else "user_deactivated", user, before={"active": not active},
                 after={"active": active}, summary=f"{'启用' if active else '停用'}账号 {user.username}")


def reset_password(user: User, actor: User | None = None) -> str:
    """A new generated password (returned in clear, to print once). The old one stops working and
    the account's open sessions end."""
    if actor is not None and actor.id == user.id:
        raise PeopleError("请在“修改密码”页面修改自己的密码。")
    password = generate_password()
    before = {"must_change_password": user.must_change_password, "session_version": user.session_version}
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.session_version += 1
    audit.record("password_reset", user, before=before,
                 after={"must_change_password": True, "session_version": user.session_version},
                 summary=f"重置账号 {user.username} 的密码")
    return password


@dataclass(frozen=True)
class PasswordSlip:
    """One printed slip: shown once, never stored in clear."""

    display_name: str
    username: str
    password: str
    role_label: str
    school_name: str | None
    affiliation: str | None
    active: bool = True


def slip_for(user: User, password: str) -> PasswordSlip:
    return PasswordSlip(user.display_name, user.username, password, user.role_label,
                        user.school.name if user.school else None, user.affiliation, user.active)


# --- Imports -------------------------------------------------------------------------------------

SCHOOL_SHEET = SheetSpec(
    title="学校",
    columns=(
        Column("name", "名称", required=True, aliases=("学校名称", "学校"), width=28,
               note="学校全称，不能重复。已在系统中的学校按名称匹配，会更新它的代码、片区和上级学校（空格不改）。",
               example="示例镇东村小学"),
        Column("code", "代码", aliases=("学校代码", "编码"), width=12,
               note="选填。学校代码，不能重复（不区分大小写）。", example="SL02"),
        Column("cluster", "片区", aliases=("所属片区",), width=14, note="选填。例如 城关片区。", example="示例片区"),
        Column("parent", "上级学校", aliases=("中心校", "上级"), width=28,
               note="选填。村小所属的中心校：填写它的名称或代码。它必须已在系统中，或在本表中（先后顺序不限）。",
               example="示例镇中心小学"),
    ),
    instructions=(
        "每行一所学校，表头必须在第1行；列的顺序不限，可以有其他列（导入时忽略）。",
        "第2行是示例，导入前请删除或改成真实学校。",
        "导入时先检查整张表：只要有一处错误就一行也不导入，并列出每个错误所在的行和列。",
    ),
)

USER_SHEET = SheetSpec(
    title="账号",
    columns=(
        Column("username", "用户名", required=True, aliases=("账号", "登录名"), width=16,
               note="登录用的名字，不能重复（不区分大小写），不含空格。建议用拼音或手机号。", example="shili_ls"),
        Column("display_name", "姓名", required=True, width=12, note="真实姓名。", example="李示例"),
        Column("role", "角色", required=True, choices=("组委会", "学校管理员", "评委"), width=12,
               note="组委会、学校管理员 或 评委（也可填 organizer / coordinator / judge）。", example="学校管理员"),
        Column("school", "学校", aliases=("学校名称", "所属学校"), width=28,
               note="学校的名称或代码，必须已在系统中。学校管理员必填；评委选填（用于回避本校作品）。",
               example="示例镇中心小学"),
        Column("affiliation", "单位", aliases=("工作单位",), width=24,
               note="选填。评委的工作单位（不是系统中的学校时填写）。", example=""),
        Column("phone", "手机", aliases=("手机号", "手机号码", "电话", "联系电话"), width=16, note="选填。",
               example="13800000000"),
        Column("password", "初始密码", aliases=("密码",), width=14,
               note="选填。留空则由系统生成。填写时至少8位，同时包含字母和数字。导入后会打印密码条，首次登录须修改密码。",
               example=""),
    ),
    instructions=(
        "每行一个账号，表头必须在第1行；列的顺序不限，可以有其他列（导入时忽略）。",
        "第2行是示例，导入前请删除或改成真实账号。",
        "导入时先检查整张表：只要有一处错误就一行也不导入，并列出每个错误所在的行和列。",
        "导入成功后页面显示每个账号的初始密码条（只显示这一次），请当场打印后分发。",
    ),
)

USER_FIELD_COLUMNS = {"username": "username", "display_name": "display_name", "role": "role",
                      "school_id": "school", "affiliation": "affiliation", "phone": "phone", "password": "password"}


def example_row(spec: SheetSpec) -> dict[str, str]:
    return {c.key: c.example for c in spec.columns}


def _is_example(row, spec: SheetSpec) -> bool:
    example = example_row(spec)
    return all(row.get(key) == (value or "") for key, value in example.items() if key in row.values) and any(
        row.get(k) for k in example)


@dataclass
class SchoolImportRow:
    row: int
    name: str
    code: str | None
    cluster: str | None
    parent_name: str | None  # the resolved parent (None: none, or unchanged for an existing school)
    action: str = "create"  # create / update / unchanged
    school_id: int | None = None
    changes: list[str] = field(default_factory=list)


@dataclass
class UserImportRow:
    row: int
    username: str
    display_name: str
    role: str
    school_id: int | None
    school_name: str | None
    affiliation: str | None
    phone: str | None
    password: str | None  # typed in the sheet; None: generated on import

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


@dataclass
class ImportPlan:
    kind: str  # schools / users
    filename: str
    rows: list = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    sheet: str | None = None

    @property
    def ok(self) -> bool:
        return not self.faults and bool(self.rows)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if getattr(r, "action", "create") == action)


def _read(data: bytes, spec: SheetSpec, plan: ImportPlan):
    try:
        sheet = read_sheet(data, spec, plan.filename)
    except SheetError as error:
        plan.faults = error.faults
        return None
    plan.sheet = sheet.title
    if not sheet.rows:
        plan.faults = [Fault(f"工作表「{sheet.title}」没有数据行（第1行是表头，数据从第2行开始）。", sheet=sheet.title)]
        return None
    return sheet


def plan_school_import(data: bytes, filename: str) -> ImportPlan:
    plan = ImportPlan("schools", filename)
    sheet = _read(data, SCHOOL_SHEET, plan)
    if sheet is None:
        return plan
    faults = Faults(sheet.title)
    h = SCHOOL_SHEET.header
    existing = {s.name: s for s in all_schools()}
    existing_by_id = {s.id: s for s in existing.values()}

    rows: list[SchoolImportRow] = []
    parent_refs: dict[int, str] = {}
    first_row_of_name: dict[str, int] = {}
    first_row_of_code: dict[str, int] = {}
    for raw in sheet.rows:
        n = raw.number
        if _is_example(raw, SCHOOL_SHEET):
            faults.add(n, None, "这是模板中的示例行，请删除或改成真实学校后再导入")
            continue
        name = normalise_name(raw.get("name"))
        code = clean(raw.get("code")) or None
        cluster = normalise_name(raw.get("cluster")) or None
        parent_ref = normalise_name(raw.get("parent")) or None
        if not name:
            faults.add(n, h("name"), "请填写学校名称")
            continue
        if len(name) > NAME_MAX:
            faults.add(n, h("name"), f"学校名称最多{NAME_MAX}个字")
        if name in first_row_of_name:
            faults.add(n, h("name"), f"与第{first_row_of_name[name]}行的学校重名")
            continue
        first_row_of_name[name] = n
        if code is not None:
            if len(code) > CODE_MAX:
                faults.add(n, h("code"), f"代码最多{CODE_MAX}个字符")
            elif code.lower() in first_row_of_code:
                faults.add(n, h("code"), f"代码「{code}」与第{first_row_of_code[code.lower()]}行相同")
                code = None  # reported once, not again as a clash below
            else:
                first_row_of_code[code.lower()] = n
        if cluster is not None and len(cluster) > CLUSTER_MAX:
            faults.add(n, h("cluster"), f"片区最多{CLUSTER_MAX}个字")
        school = existing.get(name)
        rows.append(SchoolImportRow(n, name, code, cluster, None, "update" if school else "create",
                                    school.id if school else None))
        if parent_ref is not None:
            parent_refs[n] = parent_ref

    # The state after the import: existing schools overlaid with the sheet (blank cells keep values).
    final_code: dict[str, str | None] = {s.name: s.code for s in existing.values()}
    final_parent: dict[str, str | None] = {
        s.name: existing_by_id[s.parent_id].name if s.parent_id in existing_by_id else None for s in existing.values()}
    for r in rows:
        if r.code is not None or r.name not in final_code:
            final_code[r.name] = r.code
        final_parent.setdefault(r.name, None)
    code_owner: dict[str, str] = {}
    sheet_names = {r.name for r in rows}
    for name, code in final_code.items():
        if code is None:
            continue
        other = code_owner.get(code.lower())
        if other is not None:
            row_name = name if name in sheet_names else other
            r = next((x for x in rows if x.name == row_name), None)
            if r is not None:
                taken_by = other if row_name == name else name
                faults.add(r.row, h("code"), f"代码「{code}」已被学校「{taken_by}」使用")
        else:
            code_owner[code.lower()] = name

    for r in rows:
        ref = parent_refs.get(r.row)
        if ref is None:
            continue
        parent = ref if ref in final_code else code_owner.get(ref.lower())
        if parent is None:
            faults.add(r.row, h("parent"), f"找不到上级学校「{ref}」：请填写系统中或本表中学校的名称或代码")
        elif parent == r.name:
            faults.add(r.row, h("parent"), "上级学校不能是它自己")
        else:
            r.parent_name = parent
            final_parent[r.name] = parent

    for r in rows:  # a chain of parents must end, not come back to the school
        chain, current, seen = [r.name], final_parent.get(r.name), {r.name}
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = final_parent.get(current)
        if current == r.name and r.parent_name is not None:
            faults.add(r.row, h("parent"), "上级学校关系形成循环：" + " → ".join(chain + [r.name]))

    for r in rows:
        if r.action != "update":
            continue
        school = existing[r.name]
        old_parent = existing_by_id[school.parent_id].name if school.parent_id in existing_by_id else None
        if r.code is not None and r.code != school.code:
            r.changes.append(f"代码 {school.code or '（无）'} → {r.code}")
        if r.cluster is not None and r.cluster != school.cluster:
            r.changes.append(f"片区 {school.cluster or '（无）'} → {r.cluster}")
        if r.parent_name is not None and r.parent_name != old_parent:
            r.changes.append(f"上级学校 {old_parent or '（无）'} → {r.parent_name}")
        if not r.changes:
            r.action = "unchanged"
    plan.rows = rows
    plan.faults = faults.sorted()
    return plan


def apply_school_import(plan: ImportPlan) -> dict[str, int]:
    """Write a checked plan: new schools first, then every parent, so the row order does not matter."""
    if plan.faults:
        raise PeopleError("导入文件有错误，未导入任何数据")
    by_name = {s.name: s for s in all_schools()}
    befores = {}
    # Codes that move between existing schools are cleared first, so a swap meets no unique clash.
    for r in plan.rows:
        if r.action == "update":
            school = by_name[r.name]
            befores[r.name] = audit.snapshot(school, SCHOOL_FIELDS)
            if r.code is not None and r.code != school.code:
                school.code = None
    db.session.flush()
    for r in plan.rows:
        if r.action == "create":
            school = School(name=r.name, code=r.code, cluster=r.cluster)
            db.session.add(school)
            by_name[r.name] = school
        elif r.action == "update":
            school = by_name[r.name]
            if r.code is not None:
                school.code = r.code
            if r.cluster is not None:
                school.cluster = r.cluster
    db.session.flush()
    for r in plan.rows:
        if r.parent_name is not None:
            by_name[r.name].parent_id = by_name[r.parent_name].id
    db.session.flush()
    for r in plan.rows:
        school = by_name[r.name]
        if r.action == "create":
            audit.record("school_created", school, after=audit.snapshot(school, SCHOOL_FIELDS),
                         summary=f"导入新建学校 {school.name}")
        elif r.action == "update":
            after = audit.snapshot(school, SCHOOL_FIELDS)
            before = befores[r.name]
            audit.record("school_updated", school, before=_changed(before, after), after=_changed(after, before),
                         summary=f"导入修改学校 {school.name}")
    counts = {"create": plan.count("create"), "update": plan.count("update"), "unchanged": plan.count("unchanged")}
    audit.record("schools_imported", object_type="school", after={"file": plan.filename, **counts},
                 summary=f"从「{plan.filename}」导入学校：新建{counts['create']}所，修改{counts['update']}所")
    return counts


def plan_user_import(data: bytes, filename: str) -> ImportPlan:
    plan = ImportPlan("users", filename)
    sheet = _read(data, USER_SHEET, plan)
    if sheet is None:
        return plan
    faults = Faults(sheet.title)
    h = USER_SHEET.header
    schools = all_schools()  # loaded once: validate_user's session.get then finds them in the session
    by_name = {s.name: s for s in schools}
    by_code = {s.code.lower(): s for s in schools if s.code}
    taken = {u.lower() for u in db.session.scalars(select(User.username))}
    first_row_of_username: dict[str, int] = {}

    rows: list[UserImportRow] = []
    for raw in sheet.rows:
        n = raw.number
        if _is_example(raw, USER_SHEET):
            faults.add(n, None, "这是模板中的示例行，请删除或改成真实账号后再导入")
            continue
        school_ref = normalise_name(raw.get("school"))
        school = by_name.get(school_ref) or by_code.get(school_ref.lower()) if school_ref else None
        data = {"username": raw.get("username"), "display_name": raw.get("display_name"), "role": raw.get("role"),
                "school_id": school.id if school else None, "affiliation": raw.get("affiliation"),
                "phone": raw.get("phone")}
        values, problems = validate_user(data, username_taken=lambda name, _id: name.lower() in taken)
        if "username" in problems and "已被使用" in problems["username"]:
            problems["username"] = f"用户名「{values['username']}」已存在（不区分大小写）"
        if school_ref and school is None:
            problems["school_id"] = f"找不到学校「{school_ref}」：请填写系统中已有学校的名称或代码"
        username_key = values["username"].lower()
        if "username" not in problems and username_key in first_row_of_username:
            problems["username"] = f"与第{first_row_of_username[username_key]}行的用户名重复（不区分大小写）"
        elif values["username"]:
            first_row_of_username.setdefault(username_key, n)
        password = raw.get("password") or None
        if password is not None and (problem := password_problem(password)):
            problems["password"] = problem
        for name, message in problems.items():
            faults.add(n, h(USER_FIELD_COLUMNS[name]), message)
        if not problems:
            rows.append(UserImportRow(n, values["username"], values["display_name"], values["role"],
                                      values["school_id"], school.name if school else None, values["affiliation"],
                                      values["phone"], password))
    plan.rows = rows
    plan.faults = faults.sorted()
    return plan


def _hash_all(passwords: list[str]) -> list[str]:
    """argon2 costs about 0.1 s a hash: spread a long list over the cores (argon2-cffi releases the GIL)."""
    if len(passwords) < 4:
        return [hash_password(p) for p in passwords]
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return list(pool.map(hash_password, passwords))


def apply_user_import(plan: ImportPlan) -> list[PasswordSlip]:
    if plan.faults:
        raise PeopleError("导入文件有错误，未导入任何数据")
    passwords = [r.password or generate_password() for r in plan.rows]
    hashes = _hash_all(passwords)
    slips = []
    for r, password, password_hash in zip(plan.rows, passwords, hashes):
        user = User(username=r.username, display_name=r.display_name, role=r.role, school_id=r.school_id,
                    affiliation=r.affiliation, phone=r.phone, active=True, must_change_password=True,
                    password_hash=password_hash)
        db.session.add(user)
        db.session.flush()
        audit.record("user_created", user, after=audit.snapshot(user, USER_FIELDS),
                     summary=f"导入新建账号 {user.username}（{user.role_label}）")
        slips.append(PasswordSlip(r.display_name, r.username, password, r.role_label, r.school_name, r.affiliation))
    audit.record("users_imported", object_type="user_account", after={"file": plan.filename, "create": len(slips)},
                 summary=f"从「{plan.filename}」导入账号{len(slips)}个")
    return slips


def template_options() -> dict[str, list[str]]:
    """Current school names for the 学校 / 上级学校 drop-downs of the templates."""
    names = [s.name for s in all_schools()]
    return {"school": names, "parent": names}
