"""The contest workbook in and out of the database (../shared/WORKBOOK.md).

plan_import(data, filename) reads every sheet and checks every row against the file itself and the
database (schools, judge accounts, editions) without writing anything; every fault is named by
sheet, row and column, in Chinese. apply_import(plan, user) writes a plan without faults inside
the caller's transaction: a workbook with a fault imports nothing, and a refusal while writing
raises, so the caller rolls back and nothing of the file is kept. import_workbook() does both.
export_edition(edition) writes every sheet; importing that file gives the same edition (the export
of the imported edition has the same cell values) and the same results.

Decisions (the issue asked for them to be written down):
- The 评分 sheet holds the scores of the edition's deciding round: its enabled round of kind
  "final" (终评; save_rounds keeps it always enabled). Scores of 初评 are not part of the workbook.
- 评委 rows become judge accounts (role judge). An active or inactive judge account with the same
  name and unit (its school's name, or its free-text unit) is reused; with a 用户名 column, an
  account of that username, name and role is reused first. A new account gets the 用户名 when it
  is free, else the name (姓名, 姓名2, ...), and no usable password (a hash that never verifies):
  an organizer resets it to print a password slip, as for any account. A unit that names a school
  (of the 学校 sheet or the database) becomes the judge's school (used for 回避), else free text.
- One panel per (类别, 组别) named in the 评委 sheet, in the deciding round; the judges of its rows
  are its members. Assignments are the (作品, 评委) pairs of the 评分 sheet; a pair whose criterion
  cells are all blank is an assignment not scored yet. A scored pair becomes a submitted score,
  version 1, source "paper" (a score typed from a sheet, as the paper-score import writes it), with
  its criterion rows and its ScoreHistory row (idempotency key wb:<round>:<file digest>:<row>, the
  payload hash of scoring.operations), written by the importing organizer. Scores are bulk-inserted
  rather than sent through submit_score one by one: a new edition has nothing to be stale against,
  and the rows are those submit_score writes.
- Entries are written here, not through registration.operations.create_entry: an import restores
  entries as they were (status, codes), so registration windows, caps and team-size rules do not
  apply (team-size overruns are reported as warnings). A blank 作品编号 is assigned by the edition's
  code pattern (registration.rules.format_code) with the pool's next free sequence; a given code
  keeps its sequence when it matches the pattern, so codes registered later continue after it.
- 状态: 有效 (approved, the default) or 取消资格 (disqualified), as WORKBOOK.md says; the app's own
  labels 待审核 and 退回修改 are read too, and written for entries in those states, so an export of
  an edition still in 资格审查 imports back the same (only approved entries are ranked).
- Kept beyond WORKBOOK.md's columns, so that an exported edition comes back whole: more 大赛 rows
  (大赛代码, 主题, 学年, windows, caps, code and certificate patterns and texts, rounds), the
  类别 limits and 作品形式, the levels' certificate flag and 优秀组织奖 points, the schools' parent,
  the entries' 作品形式/性别/年级/班级/视频链接/审核意见, the judges' 用户名 and the scores' 评语.
  获奖最低分 of 大赛 applies to every pool of 奖项名额; a 获奖最低分 column there overrides it per pool.
- Not in the workbook: attachments (files), check-in, 初评 panels and scores, declared conflicts,
  result snapshots and publication (compute again: the same scores and settings give the same
  results), the audit log, the certificate seal and border images.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from judging.contests import operations as contest_ops
from judging.contests.forms import (
    CERTIFICATE_NUMBER_FIELDS,
    CERTIFICATE_NUMBER_SAMPLE,
    CERTIFICATE_TEXT_FIELDS,
    ENTRY_CODE_FIELDS,
    ENTRY_CODE_SAMPLE,
    check_pattern,
)
from judging.contests.models import (
    DEFAULT_ENTRY_CODE_PATTERN,
    REWARD_ACCUMULATION,
    REWARD_SPLIT,
    SCORING_METHODS,
    Edition,
    Round,
)
from judging.contests.people_operations import (
    AFFILIATION_MAX,
    CLUSTER_MAX,
    CODE_MAX,
    DISPLAY_NAME_MAX,
    NAME_MAX,
    normalise_name,
    save_school,
    username_problem,
)
from judging.core import audit
from judging.core.models import School, User, utcnow
from judging.core.sheets import Fault, SheetError
from judging.core.text import clean
from judging.exchange import workbook as wb
from judging.extensions import db
from judging.registration.models import ENTRY_STATUSES, Entry, EntryInstructor, EntryStudent
from judging.registration.rules import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    VIDEO_URL_MAX,
    format_code,
    normalise_class,
    normalise_grade,
)
from judging.registration.rules import NAME_MAX as PERSON_NAME_MAX
from judging.scoring import panels as panel_ops
from judging.scoring.models import Assignment, CriterionScore, Panel, PanelJudge, Score, ScoreHistory
from judging.scoring.operations import COMMENT_MAX, Submission, payload_hash, validate_values

DECIDING_ROUND_KIND = "final"
SCORE_SOURCE = "paper"
KEY_PREFIX = "wb:"
DEFAULT_EDITION_CODE = "KC"
UNUSABLE_PASSWORD_PREFIX = "!workbook-import!"  # never a valid argon2 hash: verify_password answers False
CODE_PATTERN = re.compile(r"^[A-Za-z0-9]+$")
ENTRY_CODE_MAX = 40
LEVEL_NAME_MAX = 20
CRITERION_NAME_MAX = 40
GENDER_WORDS = {"男": "男", "女": "女", "男生": "男", "女生": "女", "男性": "男", "女性": "女",
                "m": "男", "f": "女", "male": "男", "female": "女"}

STATUS_WORDS = {"有效": "approved", "已通过": "approved", "通过": "approved", "approved": "approved",
                "取消资格": "disqualified", "disqualified": "disqualified",
                "待审核": "submitted", "submitted": "submitted", "退回修改": "returned", "returned": "returned"}
STATUS_LABELS = {"approved": "有效", "disqualified": "取消资格", "submitted": ENTRY_STATUSES["submitted"],
                 "returned": ENTRY_STATUSES["returned"]}


class WorkbookError(Exception):
    """The workbook cannot be imported; .faults names every problem by sheet, row and column."""

    def __init__(self, faults):
        self.faults = list(faults)
        super().__init__("\n".join(str(f) for f in self.faults))


# --- The 大赛 sheet: which row sets what ---------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    label: str
    field: str
    kind: str  # text, ordinal, choice, int, optional_int, score, bool, datetime, date, code, pattern, cert_text
    target: str = "edition"  # edition, certificate, round, pools
    minimum: int = 0
    maximum: int = 0
    max_len: int = 0
    choices: tuple = ()
    aliases: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    # WORKBOOK.md
    Setting("名称", "name", "text", max_len=120, aliases=("大赛名称",)),
    Setting("届次", "number", "ordinal", minimum=1, maximum=999, aliases=("届",)),
    Setting("主办单位", "organizers", "text", max_len=255),
    Setting("评分方法", "scoring_method", "choice", choices=tuple(SCORING_METHODS.items())),
    Setting("去极值最少评委数", "trim_min_judges", "int", minimum=3, maximum=99),
    Setting("最少评委数", "min_judges", "int", minimum=1, maximum=99),
    Setting("获奖最低分", "min_score", "score", target="pools"),
    Setting("教师奖励累计方式", "reward_accumulation", "choice", choices=tuple(REWARD_ACCUMULATION.items())),
    # Kept too, so that an exported edition comes back whole
    Setting("大赛代码", "code", "code", max_len=20),
    Setting("主题", "theme", "text", max_len=120),
    Setting("学年", "school_year", "text", max_len=20),
    Setting("作品编号格式", "entry_code_pattern", "pattern", max_len=80),
    Setting("公示天数", "notice_days", "int", minimum=0, maximum=60),
    Setting("报名开始", "registration_opens", "datetime"),
    Setting("报名截止", "registration_closes", "datetime"),
    Setting("锁定报名", "registration_locked", "bool"),
    Setting("评审开始日期", "judging_starts", "date"),
    Setting("评审结束日期", "judging_ends", "date"),
    Setting("每班每类别作品上限", "max_entries_per_class", "optional_int", minimum=1, maximum=999),
    Setting("每校每类别作品上限", "max_entries_per_school", "optional_int", minimum=1, maximum=9999),
    Setting("合作指导教师奖励", "reward_split", "choice", choices=tuple(REWARD_SPLIT.items())),
    Setting("评选优秀组织奖", "org_award_enabled", "bool"),
    Setting("优秀组织奖最少参赛作品数", "org_award_min_entries", "int", minimum=0, maximum=9999),
    Setting("启用资格审查", "qualification", "bool", target="round"),
    Setting("启用初评", "preliminary", "bool", target="round"),
    Setting("证书落款", "issuer", "text", target="certificate", max_len=255),
    Setting("证书颁发日期", "issue_date", "date", target="certificate"),
    Setting("学生证书正文", "student_text", "cert_text", target="certificate"),
    Setting("优秀指导教师证书正文", "instructor_text", "cert_text", target="certificate"),
    Setting("优秀组织奖证书正文", "school_text", "cert_text", target="certificate"),
    Setting("证书编号格式", "number_pattern", "cert_pattern", target="certificate", max_len=120),
    Setting("集体作品每人一张证书", "one_per_member", "bool", target="certificate"),
    Setting("优秀组织奖名额", "org_award_count", "optional_int", target="certificate", minimum=1, maximum=9999),
)
SETTING_BY_LABEL = {wb.key(name): s for s in SETTINGS for name in (s.label, *s.aliases)}


# --- The plan ----------------------------------------------------------------------------------------

@dataclass
class CriterionPlan:
    row: int
    name: str
    max_points: Decimal
    descriptor: str | None


@dataclass
class CategoryPlan:
    row: int
    code: str
    name: str
    subforms: str | None
    max_students: int
    max_instructors: int
    criteria: list[CriterionPlan] = field(default_factory=list)

    @property
    def subform_list(self) -> list[str]:
        return wb.split_cell(self.subforms or "")


@dataclass
class DivisionPlan:
    row: int
    code: str
    name: str


@dataclass
class LevelPlan:
    name: str
    row: int | None = None  # its row in 辅导教师奖励, if any
    amount: Decimal = Decimal("0")
    points: Decimal = Decimal("0")
    certificate: bool = True
    org_points: int = 0


@dataclass
class PoolPlan:
    category: CategoryPlan
    division: DivisionPlan
    mode: str
    first_row: int
    min_score: Decimal | None = None
    min_score_row: int | None = None
    quotas: list[tuple[LevelPlan, Decimal, int]] = field(default_factory=list)  # (level, value, row)


@dataclass(eq=False)
class SchoolPlan:
    name: str
    row: int | None = None  # its row in 学校 (None: a school of the database not listed there)
    code: str | None = None
    cluster: str | None = None
    parent: str | None = None  # the parent's name or code as written
    existing_id: int | None = None
    parent_plan: "SchoolPlan | None" = None


@dataclass
class StudentPlan:
    name: str
    gender: str | None
    grade: str
    class_name: str


@dataclass(eq=False)
class EntryPlan:
    row: int
    code: str
    title: str
    category: CategoryPlan
    division: DivisionPlan
    school: SchoolPlan
    students: list[StudentPlan]
    instructors: list[str]
    description: str | None
    status: str
    subform: str | None
    video_url: str | None
    remark: str | None
    sequence: int | None = None
    assigned_code: bool = False  # the code was blank and assigned by the pattern
    advanced: bool = False  # advanced into the deciding round (晋级终评)
    override: tuple[LevelPlan | None, str] | None = None  # the organizer's prize decision and its reason


@dataclass(eq=False)
class JudgePlan:
    name: str
    unit: str
    username: str | None
    rows: list[int] = field(default_factory=list)
    school: SchoolPlan | None = None
    affiliation: str | None = None
    existing_id: int | None = None
    existing_active: bool = True
    new_username: str | None = None
    pools: list[tuple[CategoryPlan, DivisionPlan]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name}（{self.unit}）" if self.unit else self.name


@dataclass
class ScorePlan:
    row: int
    entry: EntryPlan
    judge: JudgePlan
    values: dict[str, Decimal]  # criterion name -> points; empty: assigned, not scored yet
    comment: str | None


@dataclass
class WorkbookPlan:
    filename: str
    digest: str = ""
    faults: list[Fault] = field(default_factory=list)
    warnings: list[Fault] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # sheet -> data rows read
    edition_data: dict = field(default_factory=dict)
    certificate_data: dict = field(default_factory=dict)
    rounds_enabled: dict[str, bool] = field(default_factory=dict)
    min_score: Decimal | None = None
    categories: list[CategoryPlan] = field(default_factory=list)
    divisions: list[DivisionPlan] = field(default_factory=list)
    levels: list[LevelPlan] = field(default_factory=list)
    pools: list[PoolPlan] = field(default_factory=list)
    schools: list[SchoolPlan] = field(default_factory=list)  # every school referred to, listed ones first
    entries: list[EntryPlan] = field(default_factory=list)
    judges: list[JudgePlan] = field(default_factory=list)
    scores: list[ScorePlan] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults and bool(self.edition_data)

    @property
    def title(self) -> str:
        from judging.core.numerals import edition_ordinal

        number = self.edition_data.get("number")
        return (edition_ordinal(number) if number else "") + self.edition_data.get("name", "")

    def summary(self) -> list[tuple[str, str]]:
        """What the import will write, for the preview: (what, how many)."""
        new_schools = sum(1 for s in self.schools if s.existing_id is None)
        reused_schools = len(self.schools) - new_schools
        new_judges = sum(1 for j in self.judges if j.existing_id is None)
        scored = sum(1 for s in self.scores if s.values)
        criteria = sum(len(c.criteria) for c in self.categories)
        quota_rows = sum(len(p.quotas) for p in self.pools)
        return [
            ("类别", f"{len(self.categories)}个（评分指标{criteria}项）"),
            ("组别", f"{len(self.divisions)}个"),
            ("奖项", f"{len(self.levels)}个" if self.levels else "默认（一、二、三等奖）"),
            ("获奖名额", f"{len(self.pools)}个类别·组别，{quota_rows}行"),
            ("学校", f"新建{new_schools}所，沿用已有{reused_schools}所"),
            ("作品", f"{len(self.entries)}件（其中{sum(1 for e in self.entries if e.assigned_code)}件按编号格式编号）"),
            ("评委", f"{len(self.judges)}名（新建账号{new_judges}个，沿用{len(self.judges) - new_judges}个）；"
                     f"评审组{len({(c.code, d.code) for j in self.judges for c, d in j.pools})}个"),
            ("评分", f"{scored}份（另有{len(self.scores) - scored}个已分配、未评分）"),
        ]


class _Faults:
    """Faults and warnings of the whole workbook, sorted by sheet order, row, then as found."""

    def __init__(self):
        self.items: list[tuple[int, int, int, Fault]] = []
        self.warnings: list[tuple[int, int, int, Fault]] = []

    @staticmethod
    def _entry(bucket, sheet, row, column, reason):
        order = wb.SHEET_ORDER.index(sheet) if sheet in wb.SHEET_ORDER else -1
        bucket.append((order, row or 0, len(bucket), Fault(reason=reason, sheet=sheet, row=row, column=column)))

    def add(self, sheet: str | None, row: int | None, column: str | None, reason: str) -> None:
        self._entry(self.items, sheet, row, column, reason)

    def warn(self, sheet: str | None, row: int | None, column: str | None, reason: str) -> None:
        self._entry(self.warnings, sheet, row, column, reason)

    def extend(self, faults) -> None:
        for f in faults:
            self.add(f.sheet, f.row, f.column, f.reason)

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self, warnings: bool = False) -> list[Fault]:
        bucket = self.warnings if warnings else self.items
        return [f for *_, f in sorted(bucket, key=lambda item: item[:3])]


# --- Planning --------------------------------------------------------------------------------------

def deciding_round(edition: Edition) -> Round:
    """The round whose scores the workbook holds and whose results decide the prizes (终评)."""
    rnd = next((r for r in edition.rounds if r.kind == DECIDING_ROUND_KIND and r.enabled), None)
    if rnd is None:
        rnd = next((r for r in edition.rounds if r.kind == DECIDING_ROUND_KIND), None)
    if rnd is None:  # every edition is created with its rounds; an old one may lack them
        raise WorkbookError([Fault(f"{edition.title}没有终评轮次。")])
    return rnd


def plan_import(data: bytes, filename: str) -> WorkbookPlan:
    """Read and check the whole workbook; nothing is written."""
    plan = WorkbookPlan(filename=filename, digest=hashlib.sha256(data).hexdigest())
    try:
        tables, file_faults = wb.read_tables(data, filename)
    except SheetError as error:
        plan.faults = list(error.faults)
        return plan
    _Planner(plan, tables, file_faults).run()
    return plan


class _Planner:
    def __init__(self, plan: WorkbookPlan, tables: dict[str, wb.Table], file_faults: list[Fault]):
        self.plan = plan
        self.tables = tables
        self.faults = _Faults()
        self.faults.extend(file_faults)
        self.categories: dict[str, CategoryPlan] = {}
        self.divisions: dict[str, DivisionPlan] = {}
        self.levels: dict[str, LevelPlan] = {}
        self.schools: dict[str, SchoolPlan] = {}  # key(name) and key(code) -> plan
        # Entries with a fault of their own, by code: their scores are still checked (no knock-on fault).
        self.faulty_entries: dict[str, SimpleNamespace] = {}
        self.faulty_judges: set[str] = set()  # names and labels of 评委 rows with a fault
        self.db_schools: dict[str, School] = {}

    # -- helpers --------------------------------------------------------------------------------

    def rows(self, title: str, spec=None, required: bool = False) -> wb.Rows | None:
        table = self.tables.get(title)
        if table is None:
            if required:
                self.faults.add(title, None, None, f"缺少工作表「{title}」")
            return None
        found: list[Fault] = []
        rows = wb.rows_of(table, spec or wb.SPECS[title], found)
        self.faults.extend(found)
        self.plan.counts[title] = len(rows.rows)
        if any("缺少必填列" in f.reason for f in found):
            return None  # the rows cannot be read as this sheet
        return rows

    def add(self, sheet, row, column, reason):
        self.faults.add(sheet, row, column, reason)

    def warn(self, sheet, row, column, reason):
        self.faults.warn(sheet, row, column, reason)

    def category(self, sheet: str, row: int, column: str, ref: str) -> CategoryPlan | None:
        if not ref:
            self.add(sheet, row, column, "请填写类别（名称或代码）")
            return None
        found = self.categories.get(wb.key(ref))
        if found is None:
            hint = "、".join(f"{c.name}/{c.code}" for c in self.plan.categories) or "（「类别」表中没有类别）"
            self.add(sheet, row, column, f"找不到类别「{ref}」：应为「类别」表中的名称或代码（{hint}）")
        return found

    def division(self, sheet: str, row: int, column: str, ref: str) -> DivisionPlan | None:
        if not ref:
            self.add(sheet, row, column, "请填写组别（名称或代码）")
            return None
        found = self.divisions.get(wb.key(ref)) or self.divisions.get(wb.key(ref) + "组")
        if found is None:
            hint = "、".join(f"{d.name}/{d.code}" for d in self.plan.divisions) or "（「组别」表中没有组别）"
            self.add(sheet, row, column, f"找不到组别「{ref}」：应为「组别」表中的名称或代码（{hint}）")
        return found

    def school(self, ref: str) -> SchoolPlan | None:
        """A school of the 学校 sheet, else of the database (by name, else code)."""
        found = self.schools.get(wb.key(normalise_name(ref))) or self.schools.get(wb.key(ref))
        if found is not None:
            return found
        school = self.db_schools.get(wb.key(normalise_name(ref))) or self.db_schools.get(wb.key(ref))
        if school is None:
            return None
        plan = SchoolPlan(name=school.name, code=school.code, cluster=school.cluster, existing_id=school.id)
        self.plan.schools.append(plan)
        self.schools[wb.key(school.name)] = plan
        if school.code:
            self.schools.setdefault(wb.key(school.code), plan)
        return plan

    # -- the sheets -----------------------------------------------------------------------------

    def run(self) -> None:
        plan = self.plan
        self.edition()
        self.category_sheet()
        self.division_sheet()
        self.rubric_sheet()
        self.reward_sheet()
        self.quota_sheet()
        self.school_sheet()
        self.entry_sheet()
        self.judge_sheet()
        self.score_sheet()
        plan.faults = self.faults.sorted()
        plan.warnings = self.faults.sorted(warnings=True)
        if plan.faults:
            plan.entries, plan.scores = [], []

    def edition(self) -> None:
        rows = self.rows(wb.EDITION, required=True)
        if rows is None:
            return
        sheet = rows.title
        data: dict = {}
        certificate: dict = {}
        seen: dict[str, int] = {}
        value_col = rows.header_of["value"]
        key_col = rows.header_of["key"]
        for row in rows.rows:
            label = row.get("key")
            raw = row.get("value")
            setting = SETTING_BY_LABEL.get(wb.key(label))
            if setting is None:
                if label:
                    self.warn(sheet, row.number, key_col, f"不认识的项目「{label}」，已忽略")
                else:
                    self.add(sheet, row.number, key_col, "请填写项目名称")
                continue
            if setting.label in seen:
                self.add(sheet, row.number, key_col, f"「{setting.label}」与第{seen[setting.label]}行重复")
                continue
            seen[setting.label] = row.number
            value, problem = self._setting_value(setting, raw)
            if problem:
                self.add(sheet, row.number, value_col, f"{setting.label}：{problem}")
                continue
            if setting.target == "edition":
                data[setting.field] = value
            elif setting.target == "certificate":
                certificate[setting.field] = value
            elif setting.target == "round":
                self.plan.rounds_enabled[setting.field] = value
            else:
                self.plan.min_score = value
        for required in ("名称", "届次"):
            if required not in seen:
                self.add(sheet, None, None, f"请在「大赛」表中填写「{required}」（项目列写“{required}”，值列写内容）")
        if data.get("name") is None and "名称" in seen:
            self.add(sheet, seen["名称"], value_col, "名称：请填写大赛名称（不含届次）")
        if self.faults.items and any(f.sheet == wb.EDITION for *_, f in self.faults.items):
            return
        data.setdefault("code", DEFAULT_EDITION_CODE)
        opens, closes = data.get("registration_opens"), data.get("registration_closes")
        if opens and closes and closes <= opens:
            self.add(sheet, seen["报名截止"], value_col, "报名截止：应晚于报名开始时间")
        starts, ends = data.get("judging_starts"), data.get("judging_ends")
        if starts and ends and ends < starts:
            self.add(sheet, seen["评审结束日期"], value_col, "评审结束日期：不能早于评审开始日期")
        clash = db.session.scalar(select(Edition).where(Edition.name == data["name"],
                                                        Edition.number == data["number"]))
        if clash is not None:
            self.add(sheet, seen["届次"], value_col,
                     f"已存在{clash.title}，不能重复导入；请修改「名称」或「届次」后再导入")
        self.plan.edition_data = data
        self.plan.certificate_data = certificate

    def _setting_value(self, setting: Setting, raw: str):
        text = raw.strip() if setting.kind in ("text", "cert_text") else clean(raw)
        kind = setting.kind
        if kind in ("text", "cert_text"):
            if kind == "cert_text":
                if not text:
                    return None, "请填写证书正文"
                problem = check_pattern(text, CERTIFICATE_TEXT_FIELDS)
                return (None, problem) if problem else (text, None)
            if setting.max_len and len(text) > setting.max_len:
                return None, f"最多{setting.max_len}个字"
            return text or None, None
        if kind == "ordinal":
            if not text:
                return None, "请填写届次（例如 13 或 第十三届）"
            number = wb.parse_ordinal(text)
            if number is None or not setting.minimum <= number <= setting.maximum:
                return None, f"「{text}」不是有效的届次（例如 13 或 第十三届，1到999）"
            return number, None
        if kind == "choice":
            if not text:
                return None, "请填写：" + "、".join(label for _, label in setting.choices)
            for code, label in setting.choices:
                if wb.key(text) in (wb.key(code), wb.key(label)):
                    return code, None
            return None, f"「{text}」无法识别，应为：" + "、".join(label for _, label in setting.choices)
        if kind in ("int", "optional_int"):
            if not text:
                if kind == "optional_int":
                    return None, None
                return None, "请填写数字"
            if kind == "optional_int" and text in ("不限", "无"):
                return None, None
            return wb.parse_int(text, setting.minimum, setting.maximum)
        if kind == "score":
            if not text or text in ("无", "不限"):
                return None, None
            return wb.parse_decimal(text, 2, Decimal(0), Decimal(100))
        if kind == "bool":
            if not text:
                return None, "请填写“是”或“否”"
            value = wb.parse_bool(text)
            return (value, None) if value is not None else (None, f"「{text}」无法识别，请填写“是”或“否”")
        if kind in ("datetime", "date"):
            if not text:
                return None, None
            value = wb.parse_datetime(text) if kind == "datetime" else wb.parse_date(text)
            example = "2026-11-01 08:00" if kind == "datetime" else "2026-11-20"
            return (value, None) if value is not None else (None, f"「{text}」不是有效的日期（例如 {example}）")
        if kind == "code":
            if not text:
                return None, "请填写大赛代码（字母和数字，例如 KC）"
            if not CODE_PATTERN.match(text) or len(text) > setting.max_len:
                return None, f"「{text}」：代码只能由字母和数字组成，最多{setting.max_len}个字符"
            return text, None
        if kind in ("pattern", "cert_pattern"):
            if not text:
                return None, "请填写格式"
            if len(text) > setting.max_len:
                return None, f"最多{setting.max_len}个字符"
            fields, sample = ((ENTRY_CODE_FIELDS, ENTRY_CODE_SAMPLE) if kind == "pattern"
                              else (CERTIFICATE_NUMBER_FIELDS, CERTIFICATE_NUMBER_SAMPLE))
            problem = check_pattern(text, fields, sample)
            return (None, problem) if problem else (text, None)
        raise AssertionError(kind)

    def _coded_sheet(self, title: str, spec, what: str, max_len: int):
        rows = self.rows(title, spec, required=True)
        if rows is None:
            return []
        sheet, out = rows.title, []
        code_col, name_col = rows.header_of["code"], rows.header_of["name"]
        seen_codes: dict[str, int] = {}
        seen_names: dict[str, int] = {}
        for row in rows.rows:
            code, name = row.get("code").upper(), row.get("name")
            ok = True
            if not code:
                self.add(sheet, row.number, code_col, f"请填写{what}代码（字母和数字，例如 XF）")
                ok = False
            elif not CODE_PATTERN.match(code) or len(code) > 10:
                self.add(sheet, row.number, code_col, f"{what}代码「{code}」只能由字母和数字组成，最多10个字符")
                ok = False
            elif code in seen_codes:
                self.add(sheet, row.number, code_col, f"{what}代码「{code}」与第{seen_codes[code]}行重复")
                ok = False
            if not name:
                self.add(sheet, row.number, name_col, f"请填写{what}名称")
                ok = False
            elif len(name) > max_len:
                self.add(sheet, row.number, name_col, f"{what}名称最多{max_len}个字")
                ok = False
            elif wb.key(name) in seen_names:
                self.add(sheet, row.number, name_col, f"{what}名称「{name}」与第{seen_names[wb.key(name)]}行重复")
                ok = False
            if code:
                seen_codes.setdefault(code, row.number)
            if name:
                seen_names.setdefault(wb.key(name), row.number)
            if ok:
                out.append((row, code, name))
        if not rows.rows:
            self.add(sheet, None, None, f"「{title}」表中没有{what}：至少需要一个")
        return out, rows

    def category_sheet(self) -> None:
        result = self._coded_sheet(wb.CATEGORIES, None, "类别", 40)
        if not result:
            return
        found, rows = result
        sheet = rows.title
        for row, code, name in found:
            limits = {}
            for column, default, low, high in (("max_students", 3, 1, 10), ("max_instructors", 2, 0, 5)):
                text = row.get(column)
                if not text:
                    limits[column] = default
                    continue
                value, problem = wb.parse_int(text, low, high)
                if problem:
                    self.add(sheet, row.number, rows.header_of[column], problem)
                limits[column] = value if value is not None else default
            subforms = "、".join(wb.split_cell(row.get("subforms"))) or None
            if subforms and len(subforms) > 200:
                self.add(sheet, row.number, rows.header_of["subforms"], "作品形式最多200个字")
            category = CategoryPlan(row.number, code, name, subforms, limits["max_students"],
                                    limits["max_instructors"])
            self.plan.categories.append(category)
        for c in self.plan.categories:
            self.categories.setdefault(wb.key(c.code), c)
        for c in self.plan.categories:
            self.categories[wb.key(c.name)] = c

    def division_sheet(self) -> None:
        result = self._coded_sheet(wb.DIVISIONS, None, "组别", 40)
        if not result:
            return
        found, _ = result
        for row, code, name in found:
            self.plan.divisions.append(DivisionPlan(row.number, code, name))
        for d in self.plan.divisions:
            self.divisions.setdefault(wb.key(d.code), d)
        for d in self.plan.divisions:
            self.divisions[wb.key(d.name)] = d

    def rubric_sheet(self) -> None:
        rows = self.rows(wb.RUBRIC)
        if rows is not None:
            sheet, h = rows.title, rows.header_of
            seen: dict[tuple[str, str], int] = {}
            for row in rows.rows:
                category = self.category(sheet, row.number, h["category"], row.get("category"))
                name = row.get("name")
                ok = category is not None
                if not name:
                    self.add(sheet, row.number, h["name"], "请填写指标名称")
                    ok = False
                elif len(name) > CRITERION_NAME_MAX:
                    self.add(sheet, row.number, h["name"], f"指标名称最多{CRITERION_NAME_MAX}个字")
                    ok = False
                elif wb.key(name) in {wb.key(n) for n in wb.SCORE_FIXED}:
                    self.add(sheet, row.number, h["name"], f"指标不能叫「{name}」（「评分」表已有这一列）")
                    ok = False
                elif category is not None and (category.code, name) in seen:
                    self.add(sheet, row.number, h["name"],
                             f"{category.name}的指标「{name}」与第{seen[(category.code, name)]}行重复")
                    ok = False
                text = row.get("max_points")
                points = None
                if not text:
                    self.add(sheet, row.number, h["max_points"], "请填写满分")
                    ok = False
                else:
                    points, problem = wb.parse_decimal(text, 1, Decimal("0.1"), Decimal(100))
                    if problem:
                        self.add(sheet, row.number, h["max_points"], f"满分{problem}")
                        ok = False
                descriptor = row.get("descriptor") or None
                if descriptor and len(descriptor) > 2000:
                    self.add(sheet, row.number, h["descriptor"], "说明最多2000个字")
                    ok = False
                if ok:
                    seen[(category.code, name)] = row.number
                    category.criteria.append(CriterionPlan(row.number, name, points, descriptor))
        for category in self.plan.categories:
            if not category.criteria:
                self.warn(wb.RUBRIC, None, None, f"类别「{category.name}」没有评分标准，评委无法打分（可导入后在系统中设置）")
            else:
                total = sum((c.max_points for c in category.criteria), Decimal(0))
                if total != 100:
                    self.warn(wb.RUBRIC, category.criteria[0].row, "满分",
                              f"类别「{category.name}」各指标满分合计{wb.fmt_decimal(total)}分，不是100分")

    def reward_sheet(self) -> None:
        rows = self.rows(wb.REWARDS)
        if rows is None:
            return
        sheet, h = rows.title, rows.header_of
        for row in rows.rows:
            name = row.get("level")
            if not name:
                self.add(sheet, row.number, h["level"], "请填写奖项名称（例如 一等奖）")
                continue
            if len(name) > LEVEL_NAME_MAX:
                self.add(sheet, row.number, h["level"], f"奖项名称最多{LEVEL_NAME_MAX}个字")
                continue
            if wb.key(name) in self.levels:
                self.add(sheet, row.number, h["level"], f"奖项「{name}」与第{self.levels[wb.key(name)].row}行重复")
                continue
            level = LevelPlan(name=name, row=row.number)
            for column, attr, high in (("amount", "amount", 100000), ("points", "points", 100)):
                text = row.get(column)
                if text:
                    value, problem = wb.parse_decimal(text, 2, Decimal(0), Decimal(high))
                    if problem:
                        self.add(sheet, row.number, h[column], problem)
                    else:
                        setattr(level, attr, value)
            if row.get("certificate"):
                value = wb.parse_bool(row.get("certificate"))
                if value is None:
                    self.add(sheet, row.number, h["certificate"], f"「{row.get('certificate')}」无法识别，请填写“是”或“否”")
                else:
                    level.certificate = value
            if row.get("org_points"):
                value, problem = wb.parse_int(row.get("org_points"), 0, 100)
                if problem:
                    self.add(sheet, row.number, h["org_points"], problem)
                else:
                    level.org_points = value
            self.levels[wb.key(name)] = level
            self.plan.levels.append(level)

    def quota_sheet(self) -> None:
        rows = self.rows(wb.QUOTAS)
        if rows is None:
            return
        sheet, h = rows.title, rows.header_of
        if "count" not in rows.present and "percent" not in rows.present:
            self.add(sheet, 1, h["count"], "缺少「名额」或「比例」列（表头应在第1行）")
            return
        pools: dict[tuple[str, str], PoolPlan] = {}
        for row in rows.rows:
            category = self.category(sheet, row.number, h["category"], row.get("category"))
            division = self.division(sheet, row.number, h["division"], row.get("division"))
            name = row.get("level")
            level = None
            if not name:
                self.add(sheet, row.number, h["level"], "请填写奖项（例如 一等奖）")
            elif len(name) > LEVEL_NAME_MAX:
                self.add(sheet, row.number, h["level"], f"奖项名称最多{LEVEL_NAME_MAX}个字")
            else:
                level = self.levels.get(wb.key(name))
                if level is None:  # a level named only here: no instructor reward
                    level = self.levels[wb.key(name)] = LevelPlan(name=name)
                    self.plan.levels.append(level)
            count_text, percent_text = row.get("count"), row.get("percent")
            mode = value = None
            if count_text and percent_text:
                self.add(sheet, row.number, h["count"], "「名额」和「比例」只能填一个")
            elif not count_text and not percent_text:
                self.add(sheet, row.number, h["count"], "请填写「名额」（人数）或「比例」（例如 10%）之一")
            elif count_text:
                mode = "count"
                value, problem = wb.parse_int(count_text, 0, 100000)
                if problem:
                    self.add(sheet, row.number, h["count"], f"名额{problem}")
                    mode = None
                else:
                    value = Decimal(value)
            else:
                mode = "percent"
                value, problem = wb.parse_percent(percent_text)
                if problem:
                    self.add(sheet, row.number, h["percent"], f"比例{problem}")
                    mode = None
            min_score = None
            if row.get("min_score"):
                min_score, problem = wb.parse_decimal(row.get("min_score"), 2, Decimal(0), Decimal(100))
                if problem:
                    self.add(sheet, row.number, h["min_score"], f"获奖最低分{problem}")
            if category is None or division is None or level is None or mode is None:
                continue
            pool = pools.get((category.code, division.code))
            if pool is None:
                pool = pools[(category.code, division.code)] = PoolPlan(category, division, mode, row.number)
                self.plan.pools.append(pool)
            label = f"{category.name}·{division.name}"
            if mode != pool.mode:
                column = h["count"] if mode == "count" else h["percent"]
                self.add(sheet, row.number, column,
                         f"{label}第{pool.first_row}行按{'名额' if pool.mode == 'count' else '比例'}，"
                         "同一类别·组别的各奖项应同为名额或同为比例")
                continue
            if any(q[0] is level for q in pool.quotas):
                first = next(q[2] for q in pool.quotas if q[0] is level)
                self.add(sheet, row.number, h["level"], f"{label}的「{level.name}」与第{first}行重复")
                continue
            if min_score is not None:
                if pool.min_score is not None and pool.min_score != min_score:
                    self.add(sheet, row.number, h["min_score"],
                             f"{label}的获奖最低分与第{pool.min_score_row}行不同（同一类别·组别只能有一个最低分）")
                    continue
                pool.min_score, pool.min_score_row = min_score, row.number
            pool.quotas.append((level, value, row.number))
        order = {id(level): i for i, level in enumerate(self.plan.levels)}
        for pool in self.plan.pools:
            label = f"{pool.category.name}·{pool.division.name}"
            positions = [order[id(q[0])] for q in pool.quotas]
            if positions != sorted(positions):
                names = "、".join(level.name for level in self.plan.levels)
                bad = next(q for q, p, prev in zip(pool.quotas[1:], positions[1:], positions) if p < prev)
                self.add(sheet, bad[2], h["level"],
                         f"{label}的奖项应从高到低排列（奖项顺序：{names}）")
            if pool.mode == "percent":
                total = sum((q[1] for q in pool.quotas), Decimal(0))
                if total > 100:
                    self.add(sheet, pool.quotas[-1][2], h["percent"],
                             f"{label}各奖项比例合计{wb.fmt_decimal(total)}%，超过了100%")

    def school_sheet(self) -> None:
        self.db_schools = {}
        for school in db.session.scalars(select(School)):
            if school.code:
                self.db_schools.setdefault(wb.key(school.code), school)
        for school in db.session.scalars(select(School)):
            self.db_schools[wb.key(school.name)] = school
        rows = self.rows(wb.SCHOOLS)
        if rows is None:
            return
        sheet, h = rows.title, rows.header_of
        seen_codes: dict[str, int] = {}
        for row in rows.rows:
            name = normalise_name(row.get("name"))
            code = row.get("code") or None
            cluster = normalise_name(row.get("cluster")) or None
            ok = True
            if not name:
                self.add(sheet, row.number, h["name"], "请填写学校名称")
                continue
            if len(name) > NAME_MAX:
                self.add(sheet, row.number, h["name"], f"学校名称最多{NAME_MAX}个字")
                ok = False
            if wb.key(name) in self.schools and self.schools[wb.key(name)].row is not None:
                self.add(sheet, row.number, h["name"], f"学校「{name}」与第{self.schools[wb.key(name)].row}行重复")
                continue
            if code and len(code) > CODE_MAX:
                self.add(sheet, row.number, h["code"], f"代码最多{CODE_MAX}个字符")
                ok = False
            elif code and wb.key(code) in seen_codes:
                self.add(sheet, row.number, h["code"], f"代码「{code}」与第{seen_codes[wb.key(code)]}行重复")
                ok = False
            if cluster and len(cluster) > CLUSTER_MAX:
                self.add(sheet, row.number, h["cluster"], f"片区最多{CLUSTER_MAX}个字")
                ok = False
            if not ok:
                continue
            if code:
                seen_codes[wb.key(code)] = row.number
            existing = self.db_schools.get(wb.key(name))
            if existing is not None and existing.name != name:
                existing = None  # the key matched a code: a school of this name is new
            plan = SchoolPlan(name=name, row=row.number, code=code, cluster=cluster,
                              parent=row.get("parent") or None)
            if existing is not None:
                plan.existing_id = existing.id
                if code and (existing.code or "").lower() != code.lower():
                    self.warn(sheet, row.number, h["code"],
                              f"系统中已有学校「{name}」（代码{existing.code or '空'}），沿用已有学校，不修改其代码")
            elif code:
                clash = self.db_schools.get(wb.key(code))
                if clash is not None and (clash.code or "").lower() == code.lower():
                    self.warn(sheet, row.number, h["code"],
                              f"代码「{code}」已被系统中的学校「{clash.name}」使用：新建学校「{name}」时不填代码")
                    plan.code = None
            self.plan.schools.append(plan)
            self.schools[wb.key(name)] = plan
        for plan in list(self.plan.schools):
            if plan.code:
                self.schools.setdefault(wb.key(plan.code), plan)
        for plan in [p for p in self.plan.schools if p.row is not None and p.parent]:
            parent = self.school(plan.parent)
            if parent is None:
                self.add(sheet, plan.row, h["parent"], f"找不到上级学校「{plan.parent}」：应为「学校」表或系统中已有的学校")
            elif parent is plan:
                self.add(sheet, plan.row, h["parent"], "上级学校不能是它自己")
            elif plan.existing_id is None:
                plan.parent_plan = parent

    def entry_sheet(self) -> None:
        rows = self.rows(wb.ENTRIES)
        if rows is None:
            return
        sheet, h = rows.title, rows.header_of
        codes: dict[str, int] = {}
        entries: list[EntryPlan] = []
        for row in rows.rows:
            n = row.number
            before = len(self.faults.items)
            code = row.get("code").strip()
            if code:
                if len(code) > ENTRY_CODE_MAX:
                    self.add(sheet, n, h["code"], f"作品编号最多{ENTRY_CODE_MAX}个字符")
                elif wb.key(code) in codes:
                    self.add(sheet, n, h["code"], f"作品编号「{code}」与第{codes[wb.key(code)]}行重复")
                else:
                    codes[wb.key(code)] = n
            title = row.get("title")
            if not title:
                self.add(sheet, n, h["title"], "请填写作品名称")
            elif len(title) > TITLE_MAX:
                self.add(sheet, n, h["title"], f"作品名称不能超过{TITLE_MAX}个字")
            category = self.category(sheet, n, h["category"], row.get("category"))
            division = self.division(sheet, n, h["division"], row.get("division"))
            school = None
            ref = row.get("school")
            if not ref:
                self.add(sheet, n, h["school"], "请填写学校（名称或代码）")
            else:
                school = self.school(ref)
                if school is None:
                    self.add(sheet, n, h["school"], f"找不到学校「{ref}」：应为「学校」表或系统中已有学校的名称或代码")
            names = [normalise_name(s) for s in wb.split_cell(row.get("students"))]
            if not names:
                self.add(sheet, n, h["students"], "至少填写一名学生")
            for name in names:
                if len(name) > PERSON_NAME_MAX:
                    self.add(sheet, n, h["students"], f"学生姓名「{name[:10]}…」过长")
            if len(set(names)) != len(names):
                self.add(sheet, n, h["students"], "学生姓名重复填写")
            genders = self._per_student(sheet, n, h["gender"], row.get("gender"), len(names), "性别",
                                        lambda v: GENDER_WORDS.get(wb.key(v)), "请填写“男”或“女”")
            grades = self._per_student(sheet, n, h["grade"], row.get("grade"), len(names), "年级",
                                       lambda v: _safe(normalise_grade, v), "例如 五年级、5、初一")
            classes = self._per_student(sheet, n, h["class_name"], row.get("class_name"), len(names), "班级",
                                        lambda v: _safe(normalise_class, v), "例如 3班、3")
            instructors = [normalise_name(t) for t in wb.split_cell(row.get("instructors"))]
            if len(set(instructors)) != len(instructors):
                self.add(sheet, n, h["instructors"], "指导教师重复填写")
            if any(len(t) > PERSON_NAME_MAX for t in instructors):
                self.add(sheet, n, h["instructors"], "指导教师姓名过长")
            description = row.get("description") or None
            if description and len(description) > DESCRIPTION_MAX:
                self.add(sheet, n, h["description"], f"简介不能超过{DESCRIPTION_MAX}个字")
            status_text = row.get("status")
            status = "approved"
            if status_text:
                status = STATUS_WORDS.get(wb.key(status_text))
                if status is None:
                    self.add(sheet, n, h["status"], f"状态「{status_text}」无法识别：应为“有效”或“取消资格”")
            video_url = row.get("video_url") or None
            if video_url:
                parts = urlsplit(video_url)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    self.add(sheet, n, h["video_url"], "视频链接应以 http:// 或 https:// 开头")
                elif len(video_url) > VIDEO_URL_MAX:
                    self.add(sheet, n, h["video_url"], f"视频链接不能超过{VIDEO_URL_MAX}个字符")
            subform = row.get("subform") or None
            if subform and len(subform) > 40:
                self.add(sheet, n, h["subform"], "作品形式最多40个字")
            remark = row.get("remark") or None
            advanced = False
            if row.get("advanced"):
                advanced = wb.parse_bool(row.get("advanced"))
                if advanced is None:
                    self.add(sheet, n, h["advanced"], f"「{row.get('advanced')}」无法识别，请填写“是”或“否”")
            override = self._override(sheet, n, h, row, status)
            if len(self.faults.items) > before or category is None or division is None or school is None:
                if code:  # the 评分 sheet is still checked against what is known of it
                    self.faulty_entries.setdefault(wb.key(code), SimpleNamespace(
                        code=code, category=category, division=division))
                continue
            forms = category.subform_list
            if subform and forms and subform not in forms:
                self.warn(sheet, n, h["subform"], f"“{subform}”不是{category.name}的作品形式（{'、'.join(forms)}）")
            if len(names) > category.max_students:
                self.warn(sheet, n, h["students"],
                          f"{category.name}每件作品最多{category.max_students}名学生，这里有{len(names)}名（照样导入）")
            if len(instructors) > category.max_instructors:
                self.warn(sheet, n, h["instructors"], f"{category.name}每件作品最多{category.max_instructors}名指导教师，"
                                                      f"这里有{len(instructors)}名（照样导入）")
            students = [StudentPlan(name, genders[i] or None, grades[i], classes[i]) for i, name in enumerate(names)]
            entries.append(EntryPlan(n, code, title, category, division, school, students, instructors, description,
                                     status, subform, video_url, remark, advanced=bool(advanced), override=override))
        self.plan.entries = entries
        if not self.faults.items:
            self._allocate_codes(entries, sheet)

    def _override(self, sheet, n, h, row, status):
        """奖项调整 and 调整理由: (level or None for 不获奖, reason), None without an adjustment."""
        text, reason = row.get("override"), row.get("override_reason")
        if not text:
            if reason:
                self.add(sheet, n, h["override"], "填了调整理由，却没有填调整后的奖项（或“不获奖”）")
            return None
        level = None
        if wb.key(text) not in ("不获奖", "无", "无奖项", "取消奖项"):
            level = self.levels.get(wb.key(text))
            if level is None and not self.plan.levels and text in contest_ops.DEFAULT_LEVEL_NAMES:
                level = LevelPlan(name=text)  # the edition keeps the default levels
            if level is None:
                names = "、".join(level.name for level in self.plan.levels) or "（没有设置奖项）"
                self.add(sheet, n, h["override"], f"没有奖项「{text}」：应为{names}，或“不获奖”")
                return None
            if status != "approved":
                self.add(sheet, n, h["override"], "未通过资格审查或已取消资格的作品不能获奖")
                return None
        if not reason:
            self.add(sheet, n, h["override_reason"], "调整奖项必须填写书面理由")
            return None
        return level, reason

    def _per_student(self, sheet, n, column, text, count, label, read, example) -> list[str]:
        values = wb.split_aligned(text)
        if not values:
            return [""] * count
        if len(values) == 1:
            values = values * max(count, 1)
        elif len(values) != count:
            self.add(sheet, n, column, f"{label}填了{len(values)}个，学生有{count}名：请填一个（全部学生相同），"
                                       f"或按学生顺序每人一个（不知道的写“{wb.BLANK_MARK}”）")
            return [""] * count
        out = []
        for value in values:
            if not value:
                out.append("")
                continue
            read_value = read(value)
            if read_value is None:
                self.add(sheet, n, column, f"{label}「{value}」无法识别（{example}）")
                return [""] * count
            out.append(read_value)
        return out

    def _allocate_codes(self, entries: list[EntryPlan], sheet: str) -> None:
        """Given codes keep the sequence they show under the pattern; blank ones get the next free one."""
        data = self.plan.edition_data
        pattern = data.get("entry_code_pattern") or DEFAULT_ENTRY_CODE_PATTERN
        edition = SimpleNamespace(entry_code_pattern=pattern, number=data.get("number") or 0)
        taken = {wb.key(e.code) for e in entries if e.code}
        used: dict[tuple[str, str], set[int]] = defaultdict(set)
        for e in entries:
            if e.code:
                sequence = _sequence_of(e.code, pattern, edition, e.category, e.division, e.school.code)
                if sequence is not None and sequence not in used[(e.category.code, e.division.code)]:
                    e.sequence = sequence
                    used[(e.category.code, e.division.code)].add(sequence)
        for e in entries:
            if e.sequence is not None:
                continue
            pool = used[(e.category.code, e.division.code)]
            sequence = max(pool, default=0) + 1
            if not e.code:
                while True:
                    try:
                        code = format_code(edition, e.category, e.division, sequence, e.school.code)
                    except (KeyError, ValueError, IndexError):
                        self.add(sheet, e.row, "作品编号", "作品编号为空，且无法按「作品编号格式」生成编号")
                        return
                    if wb.key(code) not in taken and len(code) <= ENTRY_CODE_MAX:
                        break
                    sequence += 1
                e.code, e.assigned_code = code, True
                taken.add(wb.key(code))
            e.sequence = sequence
            pool.add(sequence)
        self.entries_by_code = {wb.key(e.code): e for e in entries}

    def judge_sheet(self) -> None:
        rows = self.rows(wb.JUDGES)
        self.judges: dict[tuple, JudgePlan] = {}
        if rows is None:
            return
        sheet, h = rows.title, rows.header_of
        accounts = list(db.session.scalars(select(User).options(selectinload(User.school))))
        self.usernames = {u.username.lower() for u in accounts}
        by_username = {u.username.lower(): u for u in accounts}
        judges_by_name: dict[str, list[User]] = defaultdict(list)
        for u in sorted(accounts, key=lambda u: u.id):
            if u.role == "judge":
                judges_by_name[normalise_name(u.display_name)].append(u)
        pool_rows: dict[tuple, int] = {}
        for row in rows.rows:
            n = row.number
            before = len(self.faults.items)
            name = normalise_name(row.get("name"))
            unit = normalise_name(row.get("unit"))
            username = row.get("username").strip() or None
            if not name:
                self.add(sheet, n, h["name"], "请填写评委姓名")
            elif len(name) > DISPLAY_NAME_MAX:
                self.add(sheet, n, h["name"], f"姓名最多{DISPLAY_NAME_MAX}个字")
            if len(unit) > AFFILIATION_MAX:
                self.add(sheet, n, h["unit"], f"单位最多{AFFILIATION_MAX}个字")
            if username and (problem := username_problem(username)):
                self.add(sheet, n, h["username"], problem)
            categories = [self.category(sheet, n, h["category"], ref) for ref in wb.split_cell(row.get("category"))]
            divisions = [self.division(sheet, n, h["division"], ref) for ref in wb.split_cell(row.get("division"))]
            if not categories:
                self.add(sheet, n, h["category"], "请填写评委所在评审组的类别（名称或代码）")
            if not divisions:
                self.add(sheet, n, h["division"], "请填写评委所在评审组的组别（名称或代码）")
            if len(self.faults.items) > before:
                for label in (name, f"{name}（{unit}）", f"{name}({unit})", username or ""):
                    if label:
                        self.faulty_judges.add(wb.key(label))
                continue
            identity = (name, unit, (username or "").lower())
            judge = self.judges.get(identity)
            if judge is None:
                judge = self.judges[identity] = JudgePlan(name=name, unit=unit, username=username)
                self._resolve_judge(judge, by_username, judges_by_name)
                self.plan.judges.append(judge)
            judge.rows.append(n)
            for category in categories:
                for division in divisions:
                    pool = (category.code, division.code)
                    if (identity, pool) in pool_rows:
                        self.warn(sheet, n, h["category"], f"评委「{name}」在{category.name}·{division.name}评审组"
                                                           f"与第{pool_rows[(identity, pool)]}行重复")
                        continue
                    pool_rows[(identity, pool)] = n
                    judge.pools.append((category, division))
        used: dict[int, JudgePlan] = {}
        for judge in self.plan.judges:
            if judge.existing_id is not None:
                if judge.existing_id in used:  # two judges of the file found the same account
                    judge.existing_id = None
                else:
                    used[judge.existing_id] = judge
            if judge.existing_id is None:
                wanted = judge.username if judge.username and judge.username.lower() not in self.usernames else None
                judge.new_username = self._free_username(wanted or judge.name)
                if judge.username and wanted is None:
                    self.warn(sheet, judge.rows[0], h["username"], f"用户名「{judge.username}」已被其他账号使用："
                                                                  f"新建评委账号「{judge.new_username}」")
            elif not judge.existing_active:
                self.warn(sheet, judge.rows[0], h["name"],
                          f"评委账号「{judge.name}」已停用：照样加入评审组，启用后才能登录")

    def _resolve_judge(self, judge: JudgePlan, by_username, judges_by_name) -> None:
        if judge.unit:
            school = self.school(judge.unit)
            if school is not None:
                judge.school = school
            else:
                judge.affiliation = judge.unit
        candidate = None
        if judge.username:
            account = by_username.get(judge.username.lower())
            if account is not None and account.role == "judge" and normalise_name(account.display_name) == judge.name:
                candidate = account
        if candidate is None:
            for account in judges_by_name.get(judge.name, []):
                unit = account.school.name if account.school is not None else (account.affiliation or "")
                if normalise_name(unit) == judge.unit or (
                        judge.school is not None and judge.school.existing_id is not None
                        and account.school_id == judge.school.existing_id):
                    candidate = account
                    break
        if candidate is not None:
            judge.existing_id = candidate.id
            judge.existing_active = bool(candidate.active)

    def _free_username(self, wanted: str) -> str:
        base = re.sub(r"[^\w.@-]", "", wanted)[:50] or "judge"
        candidate, n = base, 1
        while candidate.lower() in self.usernames:
            n += 1
            candidate = f"{base}{n}"
        self.usernames.add(candidate.lower())
        return candidate

    def score_sheet(self) -> None:
        names: list[str] = []
        for category in self.plan.categories:
            for criterion in category.criteria:
                if criterion.name not in names:
                    names.append(criterion.name)
        spec = wb.score_spec(names)
        rows = self.rows(wb.SCORES, spec)
        if rows is None:
            return
        sheet, h = rows.title, rows.header_of
        key_of = {c.header: c.key for c in spec.columns}
        entries = getattr(self, "entries_by_code", None)
        if entries is None:  # the entries have faults: their codes are not known
            entries = {wb.key(e.code): e for e in self.plan.entries if e.code}
        judges = getattr(self, "judges", {})
        by_username = {j.username.lower(): j for j in judges.values() if j.username}
        by_label: dict[str, list[JudgePlan]] = defaultdict(list)
        for judge in judges.values():
            by_label[wb.key(judge.name)].append(judge)
            if judge.unit:
                for label in (f"{judge.name}（{judge.unit}）", f"{judge.name}({judge.unit})"):
                    by_label[wb.key(label)].append(judge)
        missing_columns: dict[str, int] = {}
        seen: dict[tuple[int, int], int] = {}
        for row in rows.rows:
            n = row.number
            before = len(self.faults.items)
            code = row.get("code")
            entry = None
            if not code:
                self.add(sheet, n, h["code"], "请填写作品编号")
            else:
                entry = entries.get(wb.key(code)) or self.faulty_entries.get(wb.key(code))
                if entry is None:
                    self.add(sheet, n, h["code"], f"「作品」表中没有编号为「{code}」的作品")
                elif entry.category is None:
                    entry = None  # its category is unknown: nothing to check its scores against
            ref = row.get("judge")
            judge = None
            if not ref:
                self.add(sheet, n, h["judge"], "请填写评委（姓名，或 姓名（单位））")
            else:
                # A name (or 姓名（单位）) first; a username where names repeat (as the export writes it).
                found = by_label.get(wb.key(normalise_name(ref)), []) or by_label.get(wb.key(ref), [])
                found = list(dict.fromkeys(found))
                by_login = by_username.get(ref.lower())
                if len(found) == 1:
                    judge = found[0]
                elif by_login is not None:
                    judge = by_login
                elif found:
                    self.add(sheet, n, h["judge"], f"「评委」表中有{len(found)}名评委叫「{ref}」，请写成 姓名（单位）"
                                                  "或用户名：" + "、".join(j.label for j in found))
                elif wb.key(normalise_name(ref)) in self.faulty_judges or wb.key(ref) in self.faulty_judges:
                    pass  # the 评委 row's own fault is reported there
                else:
                    self.add(sheet, n, h["judge"], f"「评委」表中没有评委「{ref}」")
            if entry is not None and judge is not None and entry.division is not None and not (
                    wb.key(judge.name) in self.faulty_judges):
                label = f"{entry.category.name}·{entry.division.name}"
                if not any(c is entry.category and d is entry.division for c, d in judge.pools):
                    self.add(sheet, n, h["judge"], f"评委「{judge.label}」不在{label}评审组（见「评委」表），"
                                                  f"不能评作品 {entry.code}")
                elif (id(entry), id(judge)) in seen:
                    self.add(sheet, n, h["judge"], f"与第{seen[(id(entry), id(judge))]}行重复：评委「{judge.label}」"
                                                  f"对作品 {entry.code} 只能有一行")
                else:
                    seen[(id(entry), id(judge))] = n
            values: dict[str, Decimal] = {}
            comment = row.get("comment") or None
            if comment and len(comment) > COMMENT_MAX:
                self.add(sheet, n, h["comment"], f"评语不能超过{COMMENT_MAX}字")
            if entry is not None:
                own = {c.name: c for c in entry.category.criteria}
                for name in names:
                    text = row.get(key_of[name])
                    if text and name not in own:
                        self.add(sheet, n, name, f"作品 {entry.code} 属于{entry.category.name}，其评分标准没有「{name}」，请留空")
                filled = {name: row.get(key_of[name]) for name in own if key_of[name] in rows.present}
                if any(filled.values()):
                    for name, criterion in own.items():
                        if key_of[name] not in rows.present:
                            missing_columns.setdefault(name, n)
                            continue
                        text = filled[name]
                        if not text:
                            self.add(sheet, n, name, f"请填写{name}的分数（0到{wb.fmt_decimal(criterion.max_points)}分），"
                                                     "或把这一行的分数全部留空（只分配、未评分）")
                            continue
                        checked = SimpleNamespace(id=0, name=name, max_points=criterion.max_points)
                        parsed, problems = validate_values([checked], {0: text}, "draft")
                        if problems:
                            for message in problems.values():
                                self.add(sheet, n, name, f"「{text}」：{message.split('：', 1)[-1]}")
                        else:
                            values[name] = parsed[0]
                elif comment:
                    self.add(sheet, n, h["comment"], "只有评语、没有分数：请填写各项分数，或删去评语")
            if len(self.faults.items) > before or not isinstance(entry, EntryPlan) or judge is None:
                continue
            self.plan.scores.append(ScorePlan(n, entry, judge, values, comment))
        for name, first in missing_columns.items():
            self.add(sheet, 1, name, f"缺少「{name}」列：第{first}行等作品的评分标准有这一项（表头应在第1行）")


def _safe(normalise, value: str) -> str | None:
    try:
        return normalise(value)
    except ValueError:
        return None


def _sequence_of(code: str, pattern: str, edition, category, division, school_code) -> int | None:
    """The 序号 a code shows under the edition's pattern (XFX-012 -> 12), or None when it does not match."""
    parts = []
    try:
        for literal, name, spec, _ in string.Formatter().parse(pattern):
            parts.append(re.escape(literal))
            if name is None:
                continue
            if name == "序号":
                parts.append(r"(\d+)")
            else:
                value = {"类别代码": category.code, "组别代码": division.code, "学校代码": school_code or "",
                         "届次": edition.number}.get(name)
                if value is None:
                    return None
                parts.append(re.escape(format(value, spec or "")))
    except (ValueError, TypeError):
        return None
    match = re.fullmatch("".join(parts), code, flags=re.IGNORECASE)
    if match is None or not match.groups():
        return None
    return int(match.group(1))


# --- Applying --------------------------------------------------------------------------------------

def import_workbook(data: bytes, filename: str, user: User | None = None) -> Edition:
    """Plan and apply in the caller's transaction; raises WorkbookError (nothing written) on a fault."""
    plan = plan_import(data, filename)
    if not plan.ok:
        raise WorkbookError(plan.faults or [Fault("工作簿中没有可导入的内容。")])
    return apply_import(plan, user)


def apply_import(plan: WorkbookPlan, user: User | None = None) -> Edition:
    """Write a plan without faults: the edition, its setup, schools, judges, panels, entries,
    assignments and scores, then one audit event for the whole file. Commits nothing; on a refusal
    raises WorkbookError and the caller rolls back."""
    if not plan.ok:
        raise WorkbookError(plan.faults or [Fault("工作簿有错误，未导入任何数据。")])
    try:
        edition = contest_ops.create_edition(dict(plan.edition_data))
        _apply_setup(plan, edition)
        schools = _apply_schools(plan)
        judges = _apply_judges(plan, schools, user)
        rnd = deciding_round(edition)
        panels = _apply_panels(plan, edition, rnd, judges, user)
        entries = _apply_entries(plan, edition, schools, user)
        counts = _apply_scores(plan, edition, rnd, panels, entries, judges, user)
        counts.update(_apply_round_decisions(plan, edition, rnd, entries, user))
    except (contest_ops.SetupError, panel_ops.PanelError, ValueError) as error:
        raise WorkbookError([Fault(f"导入失败：{error}")]) from error
    db.session.flush()
    audit.record("workbook_imported", edition, edition_id=edition.id, user=user,
                 after={"file": plan.filename, "sha256": plan.digest, "entries": len(entries),
                        "judges": len(judges), **counts},
                 summary=f"从竞赛数据包「{plan.filename}」导入{edition.title}：作品{len(entries)}件，"
                         f"评委{len(judges)}名，评分{counts['scores']}份")
    return edition


def _apply_setup(plan: WorkbookPlan, edition: Edition) -> None:
    if plan.rounds_enabled:
        db.session.flush()
        contest_ops.save_rounds(edition, {
            rnd.id: {"name": rnd.name, "enabled": plan.rounds_enabled.get(rnd.kind, rnd.enabled)}
            for rnd in edition.rounds})
    for position, c in enumerate(plan.categories, start=1):
        category = contest_ops.save_category(edition, {
            "code": c.code, "name": c.name, "subforms": c.subforms, "max_students": c.max_students,
            "max_instructors": c.max_instructors, "position": position})
        if c.criteria:
            contest_ops.save_rubric(category, [{"name": k.name, "max_points": k.max_points,
                                                "descriptor": k.descriptor} for k in c.criteria])
    for position, d in enumerate(plan.divisions, start=1):
        contest_ops.save_division(edition, {"code": d.code, "name": d.name, "position": position})
    if plan.levels:
        existing = list(edition.prize_levels)
        contest_ops.save_prize_levels(edition, [
            {"id": existing[i].id if i < len(existing) else None, "name": level.name,
             "reward_amount": level.amount, "reward_points": level.points,
             "instructor_certificate": level.certificate, "org_points": level.org_points}
            for i, level in enumerate(plan.levels)])
    categories = {c.code: c for c in edition.categories}
    divisions = {d.code: d for d in edition.divisions}
    levels = {level.name: level for level in edition.prize_levels}
    for pool in plan.pools:
        min_score = pool.min_score if pool.min_score is not None else plan.min_score
        contest_ops.save_pool_quota(edition, categories[pool.category.code], divisions[pool.division.code], pool.mode,
                                    min_score, {levels[level.name].id: value for level, value, _ in pool.quotas})
    if plan.certificate_data:
        data = dict(plan.certificate_data)
        settings = contest_ops.save_certificate_settings(edition, data)
        for name in set(data) - set(contest_ops.CERTIFICATE_FIELDS):  # fields the setup form does not carry
            setattr(settings, name, data[name])


def _apply_schools(plan: WorkbookPlan) -> dict[int, School]:
    """id(SchoolPlan) -> School: new schools created (parents set once all exist), others found."""
    out: dict[int, School] = {}
    existing_ids = [s.existing_id for s in plan.schools if s.existing_id is not None]
    found = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_(existing_ids)))} \
        if existing_ids else {}
    for school in plan.schools:
        if school.existing_id is not None:
            out[id(school)] = found[school.existing_id]
        else:
            out[id(school)] = save_school({"name": school.name, "code": school.code, "cluster": school.cluster})
    for school in plan.schools:
        if school.existing_id is None and school.parent_plan is not None:
            save_school({"name": school.name, "code": school.code, "cluster": school.cluster,
                         "parent_id": out[id(school.parent_plan)].id}, out[id(school)])
    return out


def _apply_judges(plan: WorkbookPlan, schools: dict[int, School], user: User | None) -> dict[int, User]:
    """id(JudgePlan) -> the judge account, found or created without a usable password."""
    out: dict[int, User] = {}
    ids = [j.existing_id for j in plan.judges if j.existing_id is not None]
    found = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    for judge in plan.judges:
        if judge.existing_id is not None:
            out[id(judge)] = found[judge.existing_id]
            continue
        account = User(username=judge.new_username, display_name=judge.name, role="judge",
                       school=schools[id(judge.school)] if judge.school is not None else None,
                       affiliation=judge.affiliation,
                       password_hash=UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(16),
                       must_change_password=True, active=True)
        db.session.add(account)
        db.session.flush()
        audit.record("user_created", account, user=user,
                     after={"username": account.username, "display_name": account.display_name, "role": "judge",
                            "school_id": account.school_id, "affiliation": account.affiliation},
                     summary=f"导入竞赛数据包：新建评委账号 {account.username}（需重置密码后登录）")
        out[id(judge)] = account
    return out


def _apply_panels(plan: WorkbookPlan, edition: Edition, rnd: Round, judges: dict[int, User],
                  user: User | None) -> dict[tuple[str, str], Panel]:
    categories = {c.code: c for c in edition.categories}
    divisions = {d.code: d for d in edition.divisions}
    panels: dict[tuple[str, str], Panel] = {}
    for judge in plan.judges:
        for category, division in judge.pools:
            pool = (category.code, division.code)
            panel = panels.get(pool)
            if panel is None:
                panel = panels[pool] = panel_ops.create_panel(rnd, categories[pool[0]], divisions[pool[1]], user)
            account = judges[id(judge)]
            if account.active:
                panel_ops.add_judge(panel, account, user)
            else:  # add_judge refuses a deactivated account; the workbook restores it as it was
                member = PanelJudge(panel_id=panel.id, judge_id=account.id, active=True)
                db.session.add(member)
                db.session.flush()
                audit.record("panel_judge_added", member, edition_id=edition.id, user=user,
                             after={"judge": account.username},
                             summary=f"{panel.name}：加入评委 {account.display_name}（账号已停用）")
    return panels


def _apply_entries(plan: WorkbookPlan, edition: Edition, schools: dict[int, School],
                   user: User | None) -> dict[int, int]:
    """id(EntryPlan) -> entry id; entries, students and instructors in three bulk inserts."""
    if not plan.entries:
        return {}
    categories = {c.code: c.id for c in edition.categories}
    divisions = {d.code: d.id for d in edition.divisions}
    now = utcnow()
    user_id = getattr(user, "id", None)
    rows = []
    for e in plan.entries:
        reviewed = e.status in ("approved", "disqualified", "returned")
        rows.append({
            "edition_id": edition.id, "category_id": categories[e.category.code],
            "division_id": divisions[e.division.code], "school_id": schools[id(e.school)].id, "code": e.code,
            "sequence": e.sequence, "title": e.title, "subform": e.subform, "description": e.description,
            "video_url": e.video_url, "status": e.status, "review_remark": e.remark,
            "reviewed_by_id": user_id if reviewed else None, "reviewed_at": now if reviewed else None,
            "checked_in_at": None, "checked_in_by_id": None, "created_by_id": user_id,
            "created_at": now, "updated_at": now})
    ids = list(db.session.scalars(insert(Entry).returning(Entry.id, sort_by_parameter_order=True), rows))
    students, instructors = [], []
    for entry_id, e in zip(ids, plan.entries):
        students += [{"entry_id": entry_id, "position": i, "name": s.name, "gender": s.gender, "grade": s.grade,
                      "class_name": s.class_name} for i, s in enumerate(e.students, start=1)]
        instructors += [{"entry_id": entry_id, "position": i, "name": name}
                        for i, name in enumerate(e.instructors, start=1)]
    if students:
        db.session.execute(insert(EntryStudent), students)
    if instructors:
        db.session.execute(insert(EntryInstructor), instructors)
    statuses = Counter(e.status for e in plan.entries)
    audit.record("entries_imported", object_type="entry", edition_id=edition.id, user=user,
                 after={"file": plan.filename, "count": len(ids), "statuses": dict(statuses)},
                 summary=f"从竞赛数据包「{plan.filename}」导入作品{len(ids)}件")
    return {id(e): entry_id for e, entry_id in zip(plan.entries, ids)}


def _apply_round_decisions(plan: WorkbookPlan, edition: Edition, rnd: Round, entries: dict[int, int],
                           user: User | None) -> dict[str, int]:
    """Entries advanced into the deciding round (from 初评) and the organizer's prize overrides there, as
    results.operations writes them (set_override needs a user; the command line has none)."""
    from judging.results.models import PrizeOverride
    from judging.scoring.models import Advancement

    user_id = getattr(user, "id", None)
    now = utcnow()
    advanced = [e for e in plan.entries if e.advanced]
    if advanced:
        source = next((r for r in edition.rounds if r.kind == "preliminary"), None) or rnd
        db.session.execute(insert(Advancement), [
            {"round_id": rnd.id, "entry_id": entries[id(e)], "from_round_id": source.id, "created_by_id": user_id,
             "created_at": now} for e in advanced])
        audit.record("entries_advanced", rnd, edition_id=edition.id, user=user,
                     after={"round_id": rnd.id, "count": len(advanced), "file": plan.filename},
                     summary=f"导入竞赛数据包：{len(advanced)}件作品晋级{rnd.name}")
    positions = {level.name: level.position for level in edition.prize_levels}
    overridden = [e for e in plan.entries if e.override is not None]
    for e in overridden:
        level, reason = e.override
        position = positions[level.name] if level is not None else None
        db.session.add(PrizeOverride(round_id=rnd.id, entry_id=entries[id(e)], level_position=position, reason=reason,
                                     created_by_id=user_id, created_at=now))
        audit.record("prize_overridden", object_type="entry", object_id=entries[id(e)], edition_id=edition.id,
                     user=user, after={"round_id": rnd.id, "level": position, "reason": reason},
                     summary=f"{rnd.name}：作品{e.code}奖项调整为{level.name if level else '不获奖'}（理由：{reason}）"
                             "（导入竞赛数据包）")
    return {"advanced": len(advanced), "overrides": len(overridden)}


def _apply_scores(plan: WorkbookPlan, edition: Edition, rnd: Round, panels: dict[tuple[str, str], Panel],
                  entries: dict[int, int], judges: dict[int, User], user: User | None) -> dict[str, int]:
    """Assignments for every (entry, judge) row of 评分; a submitted score with its criterion rows and
    history row for every scored one: what submit_score writes for a first submission."""
    if not plan.scores:
        return {"assignments": 0, "scores": 0}
    criteria = {(c.category.code, c.name): c.id for category in edition.categories for c in category.criteria}
    now = utcnow()
    db.session.execute(insert(Assignment), [
        {"round_id": rnd.id, "panel_id": panels[(s.entry.category.code, s.entry.division.code)].id,
         "entry_id": entries[id(s.entry)], "judge_id": judges[id(s.judge)].id, "created_at": now}
        for s in plan.scores])
    scored = [s for s in plan.scores if s.values]
    if not scored:
        return {"assignments": len(plan.scores), "scores": 0}
    written_by = getattr(user, "id", None)
    digest = plan.digest[:40]
    score_rows, values_of, history = [], [], []
    for s in scored:
        values = {criteria[(s.entry.category.code, name)]: points for name, points in s.values.items()}
        values_text = {str(cid): format(points, "f") for cid, points in sorted(values.items())}
        total = sum(values.values(), Decimal("0"))
        entry_id, judge_id = entries[id(s.entry)], judges[id(s.judge)].id
        key = f"{KEY_PREFIX}{rnd.id}:{digest}:{s.row}"
        submission = Submission(idempotency_key=key, round_id=rnd.id, entry_id=entry_id, values=values_text,
                                status="submitted", comment=s.comment, base_version=0)
        score_rows.append({"round_id": rnd.id, "entry_id": entry_id, "judge_id": judge_id, "status": "submitted",
                           "total": total, "comment": s.comment, "version": 1, "source": SCORE_SOURCE,
                           "updated_at": now, "submitted_at": now})
        values_of.append(values)
        history.append({"idempotency_key": key, "payload_hash": payload_hash(submission), "round_id": rnd.id,
                        "entry_id": entry_id, "judge_id": judge_id, "version": 1, "status": "submitted",
                        "values_json": json.dumps(values_text), "total": total, "comment": s.comment,
                        "source": SCORE_SOURCE, "written_by_id": written_by if written_by is not None else judge_id,
                        "at": now})
    score_ids = list(db.session.scalars(insert(Score).returning(Score.id, sort_by_parameter_order=True), score_rows))
    db.session.execute(insert(CriterionScore), [
        {"score_id": score_id, "criterion_id": cid, "points": points}
        for score_id, values in zip(score_ids, values_of) for cid, points in values.items()])
    db.session.execute(insert(ScoreHistory), history)
    return {"assignments": len(plan.scores), "scores": len(scored)}


# --- Exporting -------------------------------------------------------------------------------------

def _compress(values: list[str]) -> str:
    """Per-student values: one when all are the same, else one each (BLANK_MARK for an unknown one)."""
    if not values or all(not v for v in values):
        return ""
    if len(set(values)) == 1:
        return values[0]
    return "、".join(v or wb.BLANK_MARK for v in values)


def _setting_cell(setting: Setting, value):
    if value is None:
        return None
    kind = setting.kind
    if kind == "choice":
        return dict(setting.choices).get(value, value)
    if kind == "bool":
        return wb.bool_cell(value)
    if kind in ("datetime", "date"):
        return wb.datetime_cell(value)
    if kind == "score":
        return wb.number_cell(value)
    return value


def edition_sheets(edition: Edition) -> list[wb.OutSheet]:
    """Every sheet of WORKBOOK.md for the edition, in order (a handful of queries)."""
    rnd = deciding_round(edition)
    categories = list(edition.categories)
    divisions = list(edition.divisions)
    levels = list(edition.prize_levels)
    level_by_id = {level.id: level for level in levels}
    category_pos = {c.id: i for i, c in enumerate(categories)}
    division_pos = {d.id: i for i, d in enumerate(divisions)}
    rules = sorted(edition.pool_rules, key=lambda r: (category_pos.get(r.category_id, 0),
                                                      division_pos.get(r.division_id, 0)))
    min_scores = {r.min_score for r in rules}
    common_min = min_scores.pop() if len(min_scores) == 1 else None
    per_pool_min = len({r.min_score for r in rules}) > 1

    # 大赛
    certificate = edition.certificate_settings
    rounds = {r.kind: r for r in edition.rounds}
    settings_rows = []
    for setting in SETTINGS:
        if setting.target == "edition":
            value = getattr(edition, setting.field)
        elif setting.target == "certificate":
            if certificate is None:
                continue
            value = getattr(certificate, setting.field)
        elif setting.target == "round":
            if setting.field not in rounds:
                continue
            value = rounds[setting.field].enabled
        else:
            value = common_min
        settings_rows.append([setting.label, _setting_cell(setting, value)])

    # 类别, 组别, 评分标准
    category_rows = [[c.code, c.name, c.subforms, c.max_students, c.max_instructors] for c in categories]
    division_rows = [[d.code, d.name] for d in divisions]
    rubric_rows = [[c.name, k.name, wb.number_cell(k.max_points), k.descriptor]
                   for c in categories for k in c.criteria]

    # 奖项名额, 辅导教师奖励
    quota_headers = ["类别", "组别", "奖项", "名额", "比例"] + (["获奖最低分"] if per_pool_min else [])
    quota_rows = []
    for rule in rules:
        quotas = sorted(rule.quotas, key=lambda q: level_by_id[q.prize_level_id].position)
        for q in quotas:
            value = wb.number_cell(q.value)
            row = [rule.category.name, rule.division.name, level_by_id[q.prize_level_id].name,
                   value if rule.quota_mode == "count" else None, value if rule.quota_mode == "percent" else None]
            if per_pool_min:
                row.append(wb.number_cell(rule.min_score))
            quota_rows.append(row)
    reward_rows = [[level.name, wb.number_cell(level.reward_amount), wb.number_cell(level.reward_points),
                    wb.bool_cell(level.instructor_certificate), level.org_points] for level in levels]

    # 作品 (with the schools they name)
    entries = list(db.session.scalars(
        select(Entry).where(Entry.edition_id == edition.id)
        .options(selectinload(Entry.students), selectinload(Entry.instructors), selectinload(Entry.school))))
    entries.sort(key=lambda e: (category_pos.get(e.category_id, 0), division_pos.get(e.division_id, 0), e.sequence,
                                e.code))
    category_by_id = {c.id: c for c in categories}
    division_by_id = {d.id: d for d in divisions}
    from judging.results.models import PrizeOverride
    from judging.scoring.models import Advancement

    advanced = set(db.session.scalars(select(Advancement.entry_id).where(Advancement.round_id == rnd.id)))
    overrides = {o.entry_id: o for o in db.session.scalars(
        select(PrizeOverride).where(PrizeOverride.round_id == rnd.id))}
    level_name = {level.position: level.name for level in levels}
    entry_rows = []
    for e in entries:
        extra = []
        if advanced:
            extra.append(wb.bool_cell(e.id in advanced))
        if overrides:
            o = overrides.get(e.id)
            extra += [None, None] if o is None else [
                level_name.get(o.level_position, "不获奖") if o.level_position is not None else "不获奖", o.reason]
        entry_rows.append([
            e.code, e.title, category_by_id[e.category_id].name, division_by_id[e.division_id].name, e.school.name,
            "、".join(s.name for s in e.students), "、".join(i.name for i in e.instructors), e.description,
            STATUS_LABELS.get(e.status, e.status), e.subform,
            _compress([s.gender or "" for s in e.students]), _compress([s.grade or "" for s in e.students]),
            _compress([s.class_name or "" for s in e.students]), e.video_url, e.review_remark, *extra])
    entry_keys = {c.key for c in wb.ENTRY_SPEC.columns} - ({"advanced"} if not advanced else set()) - (
        {"override", "override_reason"} if not overrides else set())

    # 评委: the members of the deciding round's panels, and any judge assigned there besides
    panels = list(db.session.scalars(select(Panel).where(Panel.round_id == rnd.id)
                                     .options(selectinload(Panel.members).selectinload(PanelJudge.judge)
                                              .selectinload(User.school))))
    panels.sort(key=lambda p: (category_pos.get(p.category_id, 0), division_pos.get(p.division_id, 0)))
    assignments = db.session.execute(
        select(Assignment.entry_id, Assignment.judge_id).where(Assignment.round_id == rnd.id)).all()
    entry_by_id = {e.id: e for e in entries}
    seats: list[tuple[int, int, User]] = []  # (category id, division id, judge)
    seated = set()
    for panel in panels:
        for member in panel.members:
            if (panel.category_id, panel.division_id, member.judge_id) not in seated:
                seated.add((panel.category_id, panel.division_id, member.judge_id))
                seats.append((panel.category_id, panel.division_id, member.judge))
    strays = {(entry_by_id[a.entry_id].category_id, entry_by_id[a.entry_id].division_id, a.judge_id)
              for a in assignments if a.entry_id in entry_by_id} - seated
    if strays:
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({s[2] for s in strays}))
                                                     .options(selectinload(User.school)))}
        for category_id, division_id, judge_id in sorted(strays, key=lambda s: (
                category_pos.get(s[0], 0), division_pos.get(s[1], 0), s[2])):
            seats.append((category_id, division_id, users[judge_id]))
        seats.sort(key=lambda s: (category_pos.get(s[0], 0), division_pos.get(s[1], 0)))
    judge_order: dict[int, int] = {}
    for _, _, judge in seats:
        judge_order.setdefault(judge.id, len(judge_order))
    units = {judge.id: (judge.school.name if judge.school is not None else judge.affiliation or "")
             for _, _, judge in seats}
    judge_rows = [[judge.display_name, units[judge.id], category_by_id[c].name, division_by_id[d].name,
                   judge.username] for c, d, judge in seats]
    name_counts = Counter(normalise_name(j.display_name) for j in {j.id: j for _, _, j in seats}.values())
    labels = {}
    for _, _, judge in seats:
        if name_counts[normalise_name(judge.display_name)] == 1:
            labels[judge.id] = judge.display_name
        else:
            labels[judge.id] = judge.username  # 姓名（单位） may repeat too; the username never does

    # 评分: one row per assignment of the deciding round, with its submitted score if any
    criterion_names: list[str] = []
    for c in categories:
        for k in c.criteria:
            if k.name not in criterion_names:
                criterion_names.append(k.name)
    criterion_name = {k.id: k.name for c in categories for k in c.criteria}
    scores: dict[tuple[int, int], tuple[str | None, dict]] = {}  # (entry, judge) -> (comment, name -> points)
    for entry_id, judge_id, comment, criterion_id, points in db.session.execute(
            select(Score.entry_id, Score.judge_id, Score.comment, CriterionScore.criterion_id, CriterionScore.points)
            .outerjoin(CriterionScore, CriterionScore.score_id == Score.id)
            .where(Score.round_id == rnd.id, Score.status == "submitted")):
        item = scores.setdefault((entry_id, judge_id), (comment, {}))
        if criterion_id is not None:
            item[1][criterion_name.get(criterion_id, "")] = points
    entry_order = {e.id: i for i, e in enumerate(entries)}
    pairs = sorted({(a.entry_id, a.judge_id) for a in assignments if a.entry_id in entry_by_id},
                   key=lambda p: (entry_order[p[0]], judge_order.get(p[1], 1 << 30), p[1]))
    score_rows = []
    for entry_id, judge_id in pairs:
        comment, points = scores.get((entry_id, judge_id), (None, {}))
        score_rows.append([entry_by_id[entry_id].code, labels[judge_id],
                           *[wb.number_cell(points.get(name)) for name in criterion_names], comment])

    # 学校: those of the entries and the judges, with their parents
    school_ids = {e.school_id for e in entries} | {j.school_id for _, _, j in seats if j.school_id}
    listed: dict[int, School] = {}
    pending = set(school_ids)
    while pending:
        found = list(db.session.scalars(select(School).where(School.id.in_(pending))))
        pending = set()
        for school in found:
            listed[school.id] = school
            if school.parent_id and school.parent_id not in listed:
                pending.add(school.parent_id)
    school_rows = [[s.name, s.code, s.cluster, listed[s.parent_id].name if s.parent_id in listed else None]
                   for s in sorted(listed.values(), key=lambda s: s.name)]

    def cols(spec, keys=None):
        return [c.header for c in spec.columns if keys is None or c.key in keys]

    return [
        wb.OutSheet(wb.EDITION, cols(wb.EDITION_SPEC), settings_rows, {0: 24, 1: 60}),
        wb.OutSheet(wb.CATEGORIES, cols(wb.CATEGORY_SPEC), category_rows, {2: 24}),
        wb.OutSheet(wb.DIVISIONS, cols(wb.DIVISION_SPEC), division_rows),
        wb.OutSheet(wb.RUBRIC, cols(wb.RUBRIC_SPEC), rubric_rows, {3: 60}),
        wb.OutSheet(wb.QUOTAS, quota_headers, quota_rows),
        wb.OutSheet(wb.REWARDS, cols(wb.REWARD_SPEC), reward_rows),
        wb.OutSheet(wb.SCHOOLS, cols(wb.SCHOOL_SPEC), school_rows, {0: 28, 3: 28}),
        wb.OutSheet(wb.ENTRIES, cols(wb.ENTRY_SPEC, entry_keys), entry_rows, {0: 14, 1: 30, 4: 24, 5: 20, 7: 40}),
        wb.OutSheet(wb.JUDGES, cols(wb.JUDGE_SPEC), judge_rows, {1: 24}),
        wb.OutSheet(wb.SCORES, [wb.SCORE_CODE, wb.SCORE_JUDGE, *criterion_names, wb.SCORE_COMMENT], score_rows,
                    {0: 14, 1: 16, len(criterion_names) + 2: 30}),
    ]


def export_edition(edition: Edition) -> bytes:
    """The whole edition as a contest workbook (.xlsx), importable again."""
    return wb.write_workbook(edition_sheets(edition))


def export_filename(edition: Edition) -> str:
    return wb.safe_filename(f"{edition.title}竞赛数据包.xlsx", f"edition-{edition.id}.xlsx")


# --- Results -------------------------------------------------------------------------------------

def compute_deciding_results(edition: Edition, user: User | None = None, reason: str | None = None):
    """A new snapshot of the deciding round's results, computed with the edition's settings (not committed).
    Results already public (公示 or final) are recomputed only with a reason (results.operations)."""
    from judging.results.operations import compute_results

    return compute_results(edition, deciding_round(edition), user, reason)


def latest_snapshot(edition: Edition):
    """The latest computed snapshot of the deciding round (a superseded one only when nothing else), or None."""
    from judging.results.models import ResultSnapshot

    rnd = deciding_round(edition)
    order = (ResultSnapshot.computed_at.desc(), ResultSnapshot.id.desc())
    base = select(ResultSnapshot).where(ResultSnapshot.edition_id == edition.id, ResultSnapshot.round_id == rnd.id)
    return (db.session.scalar(base.where(ResultSnapshot.status != "superseded").order_by(*order).limit(1))
            or db.session.scalar(base.order_by(*order).limit(1)))


def results_filename(edition: Edition) -> str:
    return wb.safe_filename(f"{edition.title}成绩.xlsx", f"results-{edition.id}.xlsx")
