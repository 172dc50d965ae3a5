"""Issuing certificates from the final results, and looking them up for the public.

Issuing (issue_certificates) brings the edition's certificates in line with its final results
(source.final_snapshot): who earns one, and for which prize.
- Student certificates: one per student of every entry with a prize (one per team when the
  certificate settings say so); 优秀指导教师: one per instructor of every entry whose prize has
  PrizeLevel.instructor_certificate (the text names the work and the prize, so it is per work);
  优秀组织奖: the schools ranked by reports.school_summary (edition.org_award_enabled), the best
  CertificateSettings.org_award_count ranks (ties at the boundary included; none set: every
  ranked school with points).
- A certificate keeps its row and its number for good: issuing or printing again changes nothing.
- A correction of the final results: a certificate whose prize vanished is revoked with the
  reason; one whose prize (or printed holder) changed is revoked and a new one, with a new number,
  is issued. The old number stays on record; the verification page answers "revoked".

Numbers follow CertificateSettings.number_pattern, default {年}{大赛代码}-{类别代码}{组别代码}-{等级序}-{序号:04d}:
  年        the year of the certificate settings' issue date, else the edition's (judging_ends,
            judging_starts, registration_closes, created), fixed when the number is given
  大赛代码  Edition.code; 届次 Edition.number
  类别代码, 组别代码, 等级序   the entry's category and division codes and prize position;
            优秀指导教师 use 类别代码 "ZD" (指导) with the entry's 组别代码 and 等级序;
            优秀组织奖 use 类别代码 "ZZ" (组织), no 组别代码 and 等级序 1
  序号      counts the certificates whose numbers read the same apart from 序号 (the "group":
            the number with its 序号 left out), across editions, from 1, in print order (pool,
            prize, entry code, listed order of the names; not by rank, which a 序号 would betray). A number already taken (a pattern
            change can make two groups meet) skips to the next 序号.
A pattern without {序号} is refused (every certificate of a group would get the same number).
A changed pattern applies to certificates issued afterwards; issued numbers never change.

Look-ups for the public page (verification): by the QR code's signed token (itsdangerous, the
app's SECRET_KEY, salt "certificate-verify", carrying the certificate id) or by a typed number,
matched exactly; rate-limited per client address in the database (VERIFY_MAX_LOOKUPS per
VERIFY_WINDOW_SECONDS, default 30 per 10 minutes), so walking numbers yields at most that.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from judging.contests.forms import CERTIFICATE_NUMBER_FIELDS, CERTIFICATE_NUMBER_SAMPLE, check_pattern, placeholders
from judging.contests.models import (
    DEFAULT_CERTIFICATE_NUMBER_PATTERN,
    DEFAULT_INSTRUCTOR_TEXT,
    DEFAULT_SCHOOL_TEXT,
    DEFAULT_STUDENT_TEXT,
    Edition,
    PrizeLevel,
)
from judging.core import audit
from judging.core.models import User, utcnow
from judging.core.numerals import chinese_date
from judging.core.strokes import name_sort_key
from judging.extensions import db
from judging.printing.models import Certificate, VerifyLookup
from judging.printing.source import PrintingError, final_snapshot
from judging.results import reports
from judging.results.models import ResultSnapshot

INSTRUCTOR_CATEGORY_CODE = "ZD"  # 指导
SCHOOL_CATEGORY_CODE = "ZZ"  # 组织
ORG_AWARD_NAME = "优秀组织奖"
VERIFY_SALT = "certificate-verify"
DEFAULT_VERIFY_MAX_LOOKUPS = 30
DEFAULT_VERIFY_WINDOW_SECONDS = 600


# --- The edition's certificate settings, with defaults ------------------------------------------

@dataclass(frozen=True)
class Settings:
    issuer: str
    issue_date: date | None
    student_text: str
    instructor_text: str
    school_text: str
    number_pattern: str
    one_per_member: bool
    seal_image: str | None
    border_image: str | None
    org_award_count: int | None


def settings_of(edition: Edition) -> Settings:
    """The certificate settings of the edition (the defaults where it has none)."""
    cs = edition.certificate_settings
    issuer = (cs.issuer if cs else None) or edition.organizers or f"{edition.name}组委会"
    return Settings(
        issuer=issuer,
        issue_date=cs.issue_date if cs else None,
        student_text=(cs.student_text if cs else None) or DEFAULT_STUDENT_TEXT,
        instructor_text=(cs.instructor_text if cs else None) or DEFAULT_INSTRUCTOR_TEXT,
        school_text=(cs.school_text if cs else None) or DEFAULT_SCHOOL_TEXT,
        number_pattern=(cs.number_pattern if cs else None) or DEFAULT_CERTIFICATE_NUMBER_PATTERN,
        one_per_member=True if cs is None or cs.one_per_member is None else bool(cs.one_per_member),
        seal_image=cs.seal_image if cs else None,
        border_image=cs.border_image if cs else None,
        org_award_count=cs.org_award_count if cs else None,
    )


def local_date(moment: datetime) -> date:
    """The office's calendar date of a stored (naive UTC) moment."""
    from flask_babel import to_user_timezone

    try:
        return to_user_timezone(moment).date()
    except RuntimeError:  # no app context
        return moment.date()


def number_year(edition: Edition, settings: Settings) -> int:
    """{年}: the issue date's year, else the edition's."""
    for day in (settings.issue_date, edition.judging_ends, edition.judging_starts, edition.registration_closes,
                edition.created_at):
        if day is not None:
            return day.year
    return date.today().year


def issue_date_text(edition: Edition, settings: Settings, snapshot: ResultSnapshot | None) -> str:
    """二〇二六年十一月: the settings' issue date, else the month the results became final."""
    day = settings.issue_date
    if day is None and snapshot is not None and snapshot.finalized_at is not None:
        day = local_date(snapshot.finalized_at)
    return chinese_date(day or date.today())


def check_number_pattern(pattern: str) -> None:
    problem = check_pattern(pattern, CERTIFICATE_NUMBER_FIELDS, CERTIFICATE_NUMBER_SAMPLE)
    if problem:
        raise PrintingError(f"证书编号格式「{pattern}」有误：{problem}。请在证书设置中修改。")
    if "序号" not in placeholders(pattern):
        raise PrintingError(f"证书编号格式「{pattern}」中没有 {{序号}}，同组证书会得到相同的编号。"
                            "请在证书设置中加上，例如 {序号:04d}。")


class _Hole:
    """Stands for 序号 while the group of a number is worked out."""

    def __format__(self, spec: str) -> str:
        return "{序号}"


def _format(pattern: str, fields: dict, sequence) -> str:
    return string.Formatter().vformat(pattern, (), {**fields, "序号": sequence})


# --- What the final results earn ------------------------------------------------------------------

@dataclass
class Wanted:
    """A certificate the final results earn."""

    kind: str
    subject_key: str
    holder_name: str
    entry_id: int | None
    school_id: int | None
    level_position: int | None
    category_code: str
    division_code: str
    level_code: int
    team: int = 1  # how many students the entry lists

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.subject_key)


def normalise_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name or "").split())


def _unique_names(names: list[str]) -> list[tuple[str, str]]:
    """(name, key part) per listed name; a name listed twice gets "#2" in its key."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        clean = normalise_name(name)
        if not clean:
            continue
        seen[clean] = seen.get(clean, 0) + 1
        out.append((clean, clean if seen[clean] == 1 else f"{clean}#{seen[clean]}"))
    return out


def org_award_schools(snapshot: ResultSnapshot, count: int | None) -> list[reports.SchoolSummary]:
    """The schools that get 优秀组织奖, best first: ranked by reports.school_summary (at least the
    edition's minimum of entries), with points, within the first `count` ranks (ties included)."""
    if not snapshot.edition.org_award_enabled:
        return []
    ranked = [row for row in reports.school_summary(snapshot)
              if row.org_rank is not None and (row.org_points or 0) > 0]
    ranked.sort(key=lambda row: (row.org_rank, name_sort_key(row.school_name), row.school_id))
    if count is not None:
        ranked = [row for row in ranked if row.org_rank <= count]
    return ranked


def wanted_certificates(edition: Edition, snapshot: ResultSnapshot, settings: Settings) -> list[Wanted]:
    """Every certificate the snapshot earns, in print order."""
    levels = {lv.position: lv for lv in db.session.scalars(
        select(PrizeLevel).where(PrizeLevel.edition_id == edition.id))}
    # Print order: pool by pool, by prize, then by entry code (not by rank: a 序号 must not tell
    # who ranked first within a prize that is announced 排名不分先后).
    lines = reports.result_lines(snapshot)
    pools = {}
    for line in lines:
        pools.setdefault(line.pool, len(pools))
    lines = sorted((line for line in lines if line.level_position is not None),
                   key=lambda l: (pools[l.pool], l.level_position, reports.code_sort_key(l.code), l.entry_id))
    students: list[Wanted] = []
    instructors: list[Wanted] = []
    for line in lines:
        names = _unique_names(line.students)
        common = dict(entry_id=line.entry_id, school_id=line.school_id, level_position=line.level_position,
                      division_code=line.division_code, level_code=line.level_position, team=len(names))
        # A student alone on his entry has the same certificate either way (and the same key).
        if settings.one_per_member or len(names) == 1:
            for name, key in names:
                students.append(Wanted("student", f"{line.entry_id}:{key}", name,
                                       category_code=line.category_code, **common))
        elif names:
            students.append(Wanted("student", str(line.entry_id), "、".join(n for n, _ in names),
                                   category_code=line.category_code, **common))
        level = levels.get(line.level_position)
        if level is not None and level.instructor_certificate:
            for name, key in _unique_names(line.instructors):
                instructors.append(Wanted("instructor", f"{line.entry_id}:{key}", name,
                                          category_code=INSTRUCTOR_CATEGORY_CODE, **common))
    schools = [Wanted("school", str(row.school_id), row.school_name, None, row.school_id, None,
                      SCHOOL_CATEGORY_CODE, "", 1)
               for row in org_award_schools(snapshot, settings.org_award_count)]
    return students + instructors + schools


# --- Issuing --------------------------------------------------------------------------------------

@dataclass
class IssueReport:
    snapshot_id: int
    created: list[str] = field(default_factory=list)  # numbers of the new certificates
    kept: int = 0
    revoked: list[tuple[str, str]] = field(default_factory=list)  # (number, reason)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.revoked)

    @property
    def summary(self) -> str:
        parts = [f"新发{len(self.created)}张", f"沿用{self.kept}张"]
        if self.revoked:
            parts.append(f"撤销{len(self.revoked)}张")
        return "证书编号：" + "，".join(parts) + "。"


def active_certificates(edition: Edition) -> dict[tuple[str, str], Certificate]:
    return {(c.kind, c.subject_key): c for c in db.session.scalars(
        select(Certificate).where(Certificate.edition_id == edition.id, Certificate.revoked_at.is_(None)))}


def _vanished_reason(cert: Certificate, wanted_entries: dict[int, Wanted], levels: dict[int, str],
                     edition: Edition, settings: Settings) -> str:
    """Why a certificate is no longer earned, in words for the audit log and the organizer."""
    if cert.kind == "school":
        if not edition.org_award_enabled:
            return "本届不再评选优秀组织奖"
        return "更正后该校不在优秀组织奖名单中"
    line = wanted_entries.get(cert.entry_id) if cert.entry_id is not None else None
    if line is None:
        return "更正后该作品未获奖"
    if cert.kind == "instructor":
        return "该作品的指导教师名单或奖项已更正，不再颁发这张优秀指导教师证书"
    per_member = ":" in cert.subject_key
    if line.team > 1 and per_member != settings.one_per_member:
        return "证书设置改为" + ("集体作品每位学生各发一张" if settings.one_per_member else "集体作品每件一张")
    return f"获奖作品的学生名单中已无「{cert.holder_name}」（姓名更正或成员变更）"


def issue_certificates(edition: Edition, user: User | None, dry_run: bool = False) -> IssueReport:
    """Bring the edition's certificates in line with its final results (see the module's
    docstring). Commits nothing; with dry_run changes nothing and reports what issuing would do.
    PrintingError when the results are not final or the number pattern is unusable."""
    snapshot = final_snapshot(edition)
    settings = settings_of(edition)
    wanted = wanted_certificates(edition, snapshot, settings)
    level_names = reports.level_names(edition)
    existing = active_certificates(edition)
    report = IssueReport(snapshot.id)
    by_entry = {w.entry_id: w for w in wanted if w.entry_id is not None}
    to_issue: list[Wanted] = []
    revoke: list[tuple[Certificate, str]] = []  # reasons for level changes are completed below
    replaced: dict[tuple[str, str], Certificate] = {}
    wanted_keys = {w.key for w in wanted}
    for item in wanted:
        cert = existing.get(item.key)
        if cert is None:
            to_issue.append(item)
        elif cert.level_position != item.level_position:
            replaced[item.key] = cert
            to_issue.append(item)
        elif cert.holder_name != item.holder_name:
            replaced[item.key] = cert
            to_issue.append(item)
        else:
            report.kept += 1
    for key, cert in existing.items():
        if key not in wanted_keys:
            revoke.append((cert, _vanished_reason(cert, by_entry, level_names, edition, settings)))
    if to_issue:
        check_number_pattern(settings.number_pattern)
    numbers = _allocate_numbers(edition, settings, to_issue)
    wanted_by_key = {w.key: w for w in wanted}
    for key, cert in replaced.items():
        item = wanted_by_key[key]
        new_number = numbers[key][0]
        if cert.level_position != item.level_position:
            old = level_names.get(cert.level_position, f"第{cert.level_position}等")
            new = level_names.get(item.level_position, f"第{item.level_position}等")
            reason = f"更正后奖项由{old}改为{new}，已换发新证书 {new_number}"
        else:
            reason = f"获奖者名称更正为「{item.holder_name}」，已换发新证书 {new_number}"
        revoke.append((cert, reason))
    report.revoked = [(cert.number, reason) for cert, reason in revoke]
    report.created = [numbers[item.key][0] for item in to_issue]
    if dry_run:
        return report
    now = utcnow()
    for cert, reason in revoke:
        cert.revoked_at = now
        cert.revoked_reason = reason
        cert.revoked_by_id = getattr(user, "id", None)
        audit.record("certificate_revoked", cert, edition_id=edition.id, user=user,
                     before={"number": cert.number, "holder": cert.holder_name, "level": cert.level_position},
                     after={"revoked_reason": reason}, summary=f"撤销证书 {cert.number}（{cert.holder_name}）：{reason}")
    try:
        db.session.flush()  # the partial unique index: the revoked rows step aside first
        for item in to_issue:
            number, group, sequence = numbers[item.key]
            db.session.add(Certificate(
                edition_id=edition.id, kind=item.kind, subject_key=item.subject_key, number=number,
                number_group=group, sequence=sequence, holder_name=item.holder_name, entry_id=item.entry_id,
                school_id=item.school_id, level_position=item.level_position, snapshot_id=snapshot.id,
                issued_at=now, issued_by_id=getattr(user, "id", None)))
        db.session.flush()
    except IntegrityError as error:  # someone else issued the same numbers a moment ago
        db.session.rollback()
        raise PrintingError("证书编号正在由另一位组委会成员同时发放，本次没有发放。请刷新页面后重试。") from error
    if report.changed:
        audit.record("certificates_issued", object_type="edition", object_id=edition.id, edition_id=edition.id,
                     user=user, after={"snapshot": snapshot.id, "created": len(report.created), "kept": report.kept,
                                       "revoked": [n for n, _ in report.revoked],
                                       "first": report.created[:1], "last": report.created[-1:]},
                     summary=f"{edition.title}：{report.summary}")
    return report


def _allocate_numbers(edition: Edition, settings: Settings, items: list[Wanted]) -> dict[tuple[str, str],
                                                                                         tuple[str, str, int]]:
    """{wanted key: (number, group, sequence)} for the certificates to issue, in their order."""
    if not items:
        return {}
    pattern = settings.number_pattern
    year = number_year(edition, settings)
    planned: list[tuple[Wanted, dict, str]] = []
    for item in items:
        fields = {"年": year, "大赛代码": edition.code, "届次": edition.number, "类别代码": item.category_code,
                  "组别代码": item.division_code, "等级序": item.level_code}
        planned.append((item, fields, _format(pattern, fields, _Hole())))
    groups = sorted({group for _, _, group in planned})
    last: dict[str, int] = {}
    for start in range(0, len(groups), 500):
        chunk = groups[start:start + 500]
        last.update(db.session.execute(select(Certificate.number_group, func.max(Certificate.sequence))
                                       .where(Certificate.number_group.in_(chunk))
                                       .group_by(Certificate.number_group)).all())
    out: dict[tuple[str, str], tuple[str, str, int]] = {}
    used: set[str] = set()
    pending = planned
    while pending:
        for item, fields, group in pending:
            sequence = last.get(group, 0) + 1
            number = _format(pattern, fields, sequence)
            while number in used:
                sequence += 1
                number = _format(pattern, fields, sequence)
            last[group] = sequence
            used.add(number)
            out[item.key] = (number, group, sequence)
        candidates = [out[item.key][0] for item, _, _ in pending]
        taken: set[str] = set()
        for start in range(0, len(candidates), 500):
            taken.update(db.session.scalars(select(Certificate.number)
                                            .where(Certificate.number.in_(candidates[start:start + 500]))))
        # A number another group already holds: take the next 序号 of this group and check again.
        pending = [(item, fields, group) for item, fields, group in pending if out[item.key][0] in taken]
        used |= taken
    for item in items:
        number = out[item.key][0]
        if len(number) > 120:
            raise PrintingError(f"证书编号「{number[:40]}…」超过120个字符，请在证书设置中缩短编号格式。")
    return out


# --- Verification ----------------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=VERIFY_SALT)


def certificate_token(certificate_id: int) -> str:
    """The signed token in the QR code: the same for the same certificate (deterministic)."""
    return _serializer().dumps(certificate_id)


def certificate_from_token(token: str) -> Certificate | None:
    """The certificate a QR token names; None when the token is forged or names nothing."""
    try:
        certificate_id = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(certificate_id, int) or isinstance(certificate_id, bool):
        return None
    return db.session.get(Certificate, certificate_id)


def clean_number(text: str) -> str:
    """A typed number as the office prints it: full-width letters and digits made half-width,
    spaces dropped. Nothing else is forgiven: the match is exact."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())[:120]


def certificate_by_number(text: str) -> Certificate | None:
    number = clean_number(text)
    if not number:
        return None
    found = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if found is None and number.upper() != number:
        found = db.session.scalar(select(Certificate).where(Certificate.number == number.upper()))
    return found


COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 独孤 南宫 西门 "
    "百里 呼延 万俟 闻人 赫连 澹台 公冶 太史 申屠 仲孙 濮阳 淳于 单于 第五 拓跋 左丘 东郭 梁丘 司空".split())


def mask_name(name: str) -> str:
    """A holder's name as the public page shows it: the surname stays, the given name is masked
    except its last character (王*明, 李*, 欧阳**; a compound surname hides the whole given name);
    a name in parts (买买提·艾力) is masked part by part, a team name by name."""
    name = normalise_name(name)
    if "、" in name:
        return "、".join(mask_name(part) for part in name.split("、"))
    if "·" in name or "•" in name:
        sep = "·" if "·" in name else "•"
        return sep.join(mask_name(part) for part in name.split(sep))
    if any("\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0003134f" for ch in name):
        return _mask_one(name.replace(" ", ""))  # 张 三: spaces only pad a Chinese name
    return " ".join(_mask_one(word) for word in name.split(" "))  # Tom Li: word by word


def _mask_one(name: str) -> str:
    if not name:
        return ""
    if len(name) == 1:
        return "*"
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2] + "*" * (len(name) - 2)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass
class VerifyAnswer:
    """What the public page shows for a look-up."""

    status: str  # valid | revoked | not_found
    number: str = ""
    kind_label: str = ""
    holder: str = ""  # masked (a school's name is shown in full)
    work: str = ""
    prize: str = ""
    edition_title: str = ""
    issue_date: str = ""
    revoked_on: str = ""


def verify_answer(cert: Certificate | None, number: str = "") -> VerifyAnswer:
    if cert is None:
        return VerifyAnswer("not_found", number=clean_number(number))
    if cert.revoked_at is not None:
        return VerifyAnswer("revoked", number=cert.number, kind_label=cert.kind_label,
                            revoked_on=chinese_date(local_date(cert.revoked_at), with_day=True))
    edition = cert.edition
    settings = settings_of(edition)
    if cert.kind == "school":
        holder, prize, work = cert.holder_name, ORG_AWARD_NAME, ""
    else:
        holder = mask_name(cert.holder_name)
        level = reports.level_names(edition).get(cert.level_position, "")
        prize = level if cert.kind == "student" else f"优秀指导教师（作品获{level}）"
        work = cert.entry.title if cert.entry is not None else ""
    return VerifyAnswer("valid", number=cert.number, kind_label=cert.kind_label, holder=holder, work=work,
                        prize=prize, edition_title=edition.title,
                        issue_date=issue_date_text(edition, settings, cert.snapshot))


# --- Rate limit ----------------------------------------------------------------------------------------

def client_key(address: str | None) -> str:
    """The client's address as the rate limit keeps it: an HMAC, not the address itself."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(secret, f"verify|{address or '-'}".encode(), hashlib.sha256).hexdigest()[:64]


def verify_limits() -> tuple[int, int]:
    config = current_app.config
    return (int(config.get("VERIFY_MAX_LOOKUPS", DEFAULT_VERIFY_MAX_LOOKUPS)),
            int(config.get("VERIFY_WINDOW_SECONDS", DEFAULT_VERIFY_WINDOW_SECONDS)))


def take_lookup(address: str | None = None) -> bool:
    """Count one look-up of this client; False (and nothing counted) when the limit is reached.

    Runs in a short transaction of its own and commits: the write comes first (on SQLite a GET
    request reads in a deferred transaction, and upgrading a read to a write fails at once
    under load instead of waiting), then the count, which includes this look-up."""
    if address is None and has_request_context():
        address = request.remote_addr
    limit, window = verify_limits()
    key = client_key(address)
    since = utcnow() - timedelta(seconds=window)
    db.session.rollback()  # no earlier read of this request holds a snapshot
    db.session.add(VerifyLookup(client_key=key))
    db.session.flush()
    # Keep the table small: look-ups older than the window no longer count.
    db.session.execute(delete(VerifyLookup).where(VerifyLookup.at < since))
    used = db.session.scalar(select(func.count()).select_from(VerifyLookup).where(
        VerifyLookup.client_key == key, VerifyLookup.at >= since)) or 0
    if used > limit:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def verify_window_minutes() -> int:
    return max(1, verify_limits()[1] // 60)


# --- Seal and border images ---------------------------------------------------------------------------

IMAGE_FOLDER = "certificates"  # under UPLOAD_DIR
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
IMAGES = {"seal_image": "印章图片", "border_image": "证书边框图片"}
_STORED_IMAGE = re.compile(r"e\d+-(seal|border)-[0-9a-f]{16}\.(png|jpg)")


def image_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / IMAGE_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_path(stored_name: str | None) -> Path | None:
    """Where a stored seal or border image lives (the name is ours, checked again before use)."""
    if not stored_name:
        return None
    if not _STORED_IMAGE.fullmatch(stored_name):
        raise PrintingError("证书图片的文件名有误，请在证书设置中重新上传。")
    return image_dir() / stored_name


def check_image(which: str, data: bytes, filename: str) -> str:
    """The stored extension ("png" or "jpg") of an acceptable upload, else PrintingError saying why.
    The content decides, not the name: Pillow must decode it. A seal must be a PNG with a
    transparent background (it is printed over the issuer and the date)."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    label = IMAGES[which]
    if not data:
        raise PrintingError(f"{label}「{filename}」是空文件。")
    if len(data) > IMAGE_MAX_BYTES:
        raise PrintingError(f"{label}「{filename}」超过 {IMAGE_MAX_BYTES // (1024 * 1024)} MB，请压缩后再上传。")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
                width, height = image.size
                if width * height > IMAGE_MAX_PIXELS:
                    raise PrintingError(f"{label}「{filename}」尺寸过大（{width}×{height} 像素），请缩小后再上传。")
                image.load()
                kind = image.format
                transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        except PrintingError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PrintingError(f"{label}「{filename}」尺寸过大，请缩小后再上传。") from None
        except UnidentifiedImageError:
            raise PrintingError(f"{label}「{filename}」不是 PNG 或 JPG 图片。") from None
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
            raise PrintingError(f"{label}「{filename}」无法打开（文件可能已损坏或只上传了一部分）。") from None
    if which == "seal_image" and not (kind == "PNG" and transparent):
        raise PrintingError(f"印章图片「{filename}」需要是背景透明的 PNG 图片，否则会遮住落款单位和日期。")
    return "png" if kind == "PNG" else "jpg"


def store_image(edition: Edition, which: str, data: bytes, filename: str, user: User | None) -> str | None:
    """Keep an uploaded seal or border image for the edition; returns the replaced file's name
    (the caller deletes it after committing)."""
    from judging.contests.models import CertificateSettings

    extension = check_image(which, data, filename)
    name = f"e{edition.id}-{which.split('_')[0]}-{secrets.token_hex(8)}.{extension}"
    (image_dir() / name).write_bytes(data)
    settings = edition.certificate_settings
    if settings is None:
        settings = edition.certificate_settings = CertificateSettings(issuer=edition.organizers)
    old = getattr(settings, which)
    setattr(settings, which, name)
    audit.record("certificate_image_saved", settings, edition_id=edition.id, user=user,
                 before={which: old}, after={which: name, "original_name": filename[:120], "size": len(data)},
                 summary=f"上传{IMAGES[which]}「{filename[:60]}」")
    return old


def remove_image(edition: Edition, which: str, user: User | None) -> str | None:
    settings = edition.certificate_settings
    old = getattr(settings, which) if settings else None
    if old is None:
        return None
    setattr(settings, which, None)
    audit.record("certificate_image_removed", settings, edition_id=edition.id, user=user,
                 before={which: old}, after={which: None}, summary=f"删除{IMAGES[which]}")
    return old


def delete_image_file(stored_name: str | None) -> None:
    try:
        path = image_path(stored_name)
    except PrintingError:
        return
    if path is not None:
        path.unlink(missing_ok=True)
