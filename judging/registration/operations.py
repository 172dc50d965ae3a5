"""What registration pages, imports and commands do to entries. Every change writes the audit log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from judging.contests import operations as contest_ops
from judging.contests.models import Category, Division, Edition
from judging.core import audit
from judging.core.models import School, User, utcnow
from judging.extensions import db
from judging.registration.models import Entry, EntryInstructor, EntryStudent
from judging.registration.rules import (
    EntryInput,
    RegistrationRules,
    StudentInput,
    Verdict,
    format_code,
    next_sequences,
    registration_closed_reason,
)

ENTRY_FIELDS = ("code", "title", "category_id", "division_id", "subform", "description", "video_url", "status")


class RegistrationError(ValueError):
    """A refused change; .problems lists (field, message) pairs, .message says it in one line."""

    def __init__(self, problems, warnings=()):
        self.problems = list(problems)
        self.warnings = list(warnings)
        super().__init__("；".join(p.message for p in self.problems))


def entry_input(entry: Entry) -> EntryInput:
    """An entry's current state in the shape the rules check."""
    return EntryInput(
        title=entry.title, category_id=entry.category_id, division_id=entry.division_id,
        students=[StudentInput(s.name, s.gender, s.grade, s.class_name) for s in entry.students],
        instructors=[i.name for i in entry.instructors], subform=entry.subform,
        description=entry.description, video_url=entry.video_url)


def entry_snapshot(entry: Entry) -> dict:
    state = audit.snapshot(entry, ENTRY_FIELDS)
    state["students"] = [f"{s.name}/{s.gender or ''}/{s.grade}{s.class_name}" for s in entry.students]
    state["instructors"] = [i.name for i in entry.instructors]
    return state


def check_window(edition: Edition, user: User, now: datetime | None = None) -> None:
    """Schools register inside the window; organizers may correct entries at any time."""
    if user.role == "organizer":
        return
    reason = registration_closed_reason(edition, now)
    if reason:
        from judging.registration.rules import Problem

        raise RegistrationError([Problem("_", reason)])


def _fill(entry: Entry, data: EntryInput) -> None:
    entry.title = data.title
    entry.category_id = data.category_id
    entry.division_id = data.division_id
    entry.subform = data.subform or None
    entry.description = data.description or None
    entry.video_url = data.video_url or None
    if entry.id is not None and (entry.students or entry.instructors):
        # Old rows go first: the new ones reuse their positions, which are unique per entry.
        entry.students = []
        entry.instructors = []
        db.session.flush()
    entry.students = [EntryStudent(position=i, name=s.name, gender=s.gender or None, grade=s.grade,
                                   class_name=s.class_name) for i, s in enumerate(data.students, start=1)]
    entry.instructors = [EntryInstructor(position=i, name=name) for i, name in enumerate(data.instructors, start=1)]


class CodeAllocator:
    """Hands out the next sequence of each pool; loaded once, so a bulk import asks the database once."""

    def __init__(self, edition: Edition):
        self.edition = edition
        self.last = next_sequences(edition)
        self.categories = {c.id: c for c in edition.categories}
        self.divisions = {d.id: d for d in edition.divisions}

    def allocate(self, category_id: int, division_id: int, school: School) -> tuple[int, str]:
        key = (category_id, division_id)
        self.last[key] = self.last.get(key, 0) + 1
        sequence = self.last[key]
        return sequence, format_code(self.edition, self.categories[category_id], self.divisions[division_id],
                                     sequence, school.code)


def create_entry(edition: Edition, school: School, data: EntryInput, user: User,
                 rules: RegistrationRules | None = None, codes: CodeAllocator | None = None,
                 write_audit: bool = True) -> tuple[Entry, Verdict]:
    """Register one entry. Raises RegistrationError when a rule refuses it; returns the warnings."""
    check_window(edition, user)
    rules = rules or RegistrationRules(edition, {school.id})
    verdict = rules.check(school.id, data)
    if not verdict.ok:
        raise RegistrationError(verdict.problems, verdict.warnings)
    for attempt in range(3):
        allocator = codes or CodeAllocator(edition)
        sequence, code = allocator.allocate(data.category_id, data.division_id, school)
        entry = Entry(edition_id=edition.id, school_id=school.id, sequence=sequence, code=code,
                      created_by_id=user.id, status="submitted")
        _fill(entry, data)
        if codes is not None:  # bulk: the caller flushes once and owns the transaction
            db.session.add(entry)
            break
        try:
            with db.session.begin_nested():
                db.session.add(entry)
                db.session.flush()
            break
        except IntegrityError:
            # Another school took this pool's sequence a moment ago (PostgreSQL): take the next one.
            if attempt == 2:
                raise
    rules.accept(school.id, data, entry.code)
    if write_audit:
        db.session.flush()
        audit.record("entry_created", entry, user=user, after=entry_snapshot(entry),
                     summary=f"{school.name} 报名作品 {entry.code}《{entry.title}》")
    return entry, verdict


def update_entry(entry: Entry, data: EntryInput, user: User) -> Verdict:
    edition = entry.edition
    check_window(edition, user)
    if user.role != "organizer" and entry.status in ("approved", "disqualified"):
        from judging.registration.rules import Problem

        raise RegistrationError([Problem("_", f"作品状态为“{entry.status_label}”，不能再修改；如需更正请联系组委会。")])
    rules = RegistrationRules(edition, {entry.school_id})
    old = entry_input(entry)
    rules.forget(entry.school_id, old, entry.code)
    verdict = rules.check(entry.school_id, data, own_code=entry.code)
    if not verdict.ok:
        raise RegistrationError(verdict.problems, verdict.warnings)
    before = entry_snapshot(entry)
    if (data.category_id, data.division_id) != (entry.category_id, entry.division_id):
        # A new pool: the code follows the category and division (allocated before the entry moves).
        entry.sequence, entry.code = CodeAllocator(edition).allocate(data.category_id, data.division_id, entry.school)
    _fill(entry, data)
    if entry.status == "returned" and user.role != "organizer":
        entry.status = "submitted"  # corrected: back to the organizer's queue
    db.session.flush()
    after = entry_snapshot(entry)
    audit.record("entry_updated", entry, user=user, before=before, after=after,
                 summary=f"修改作品 {entry.code}《{entry.title}》")
    return verdict


def delete_entry(entry: Entry, user: User) -> None:
    check_window(entry.edition, user)
    if user.role != "organizer" and entry.status != "submitted" and entry.status != "returned":
        from judging.registration.rules import Problem

        raise RegistrationError([Problem("_", f"作品状态为“{entry.status_label}”，不能删除；如需撤回请联系组委会。")])
    audit.record("entry_deleted", entry, user=user, before=entry_snapshot(entry),
                 summary=f"删除作品 {entry.code}《{entry.title}》")
    db.session.delete(entry)


# --- 资格审查 (organizer review) ----------------------------------------------------------------

REVIEW_ACTIONS = {"approve": "approved", "return": "returned", "disqualify": "disqualified", "reopen": "submitted"}


def review_entry(entry: Entry, action: str, remark: str | None, user: User) -> None:
    from judging.registration.rules import Problem

    if action not in REVIEW_ACTIONS:
        raise RegistrationError([Problem("action", "未知的审核操作")])
    if action in ("return", "disqualify") and not (remark or "").strip():
        what = "退回修改" if action == "return" else "取消资格"
        raise RegistrationError([Problem("remark", f"{what}需要填写原因，学校会看到这段说明")])
    before = {"status": entry.status, "review_remark": entry.review_remark}
    entry.status = REVIEW_ACTIONS[action]
    entry.review_remark = (remark or "").strip() or None
    entry.reviewed_by_id = user.id
    entry.reviewed_at = utcnow()
    audit.record(f"entry_{entry.status}", entry, user=user, before=before,
                 after={"status": entry.status, "review_remark": entry.review_remark},
                 summary=f"资格审查：{entry.code} {entry.status_label}" + (f"（{entry.review_remark}）" if entry.review_remark else ""))


# --- 签收 (check-in of the physical work) ---------------------------------------------------------

def find_by_code(edition: Edition, code: str) -> Entry | None:
    code = code.strip().upper()
    return db.session.scalar(select(Entry).where(Entry.edition_id == edition.id, func.upper(Entry.code) == code))


def check_in(entry: Entry, user: User) -> bool:
    """Mark the physical work as received; False when it already was (the first check-in is kept)."""
    if entry.checked_in_at is not None:
        return False
    entry.checked_in_at = utcnow()
    entry.checked_in_by_id = user.id
    audit.record("entry_checked_in", entry, user=user, after={"checked_in_at": entry.checked_in_at},
                 summary=f"签收作品 {entry.code}")
    return True


def undo_check_in(entry: Entry, user: User) -> None:
    before = {"checked_in_at": entry.checked_in_at, "checked_in_by_id": entry.checked_in_by_id}
    entry.checked_in_at = None
    entry.checked_in_by_id = None
    audit.record("entry_check_in_undone", entry, user=user, before=before, summary=f"撤销签收 {entry.code}")


# --- What refers to setup objects (blocks their deletion) -------------------------------------------

def _entries_in_category(category: Category):
    return db.session.scalar(select(func.count()).select_from(Entry).where(Entry.category_id == category.id)), "件作品"


def _entries_in_division(division: Division):
    return db.session.scalar(select(func.count()).select_from(Entry).where(Entry.division_id == division.id)), "件作品"


def _entries_of_school(school: School):
    return db.session.scalar(select(func.count()).select_from(Entry).where(Entry.school_id == school.id)), "件作品"


def register_usage_checks() -> None:
    from judging.contests import people_operations

    for checks, fn in ((contest_ops.category_usage_checks, _entries_in_category),
                       (contest_ops.division_usage_checks, _entries_in_division),
                       (people_operations.school_usage_checks, _entries_of_school)):
        if fn not in checks:
            checks.append(fn)
