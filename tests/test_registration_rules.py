"""The registration rules and code allocation shared by the entry form and the Excel import."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judging.registration.operations import RegistrationError, create_entry, review_entry, update_entry
from judging.registration.rules import EntryInput, StudentInput, normalise_class, normalise_grade


@pytest.mark.parametrize("raw, grade", [("5", "五年级"), ("五", "五年级"), ("５年级", "五年级"), ("初一", "七年级"),
                                        ("初中二年级", "八年级"), ("高三", "十二年级"), ("小学三年级", "三年级"),
                                        ("初四", None), ("0", None), ("abc", None), ("", None)])
def test_grades_in_the_forms_teachers_write_them(raw, grade):
    assert normalise_grade(raw) == grade


@pytest.mark.parametrize("raw, klass", [("3", "3班"), ("3班", "3班"), ("(3)班", "3班"), ("（３）班", "3班"),
                                        ("三班", "3班"), ("0", None), ("班", None)])
def test_classes(raw, klass):
    assert normalise_class(raw) == klass


def _student(name="张三", grade="五年级", klass="1班"):
    return StudentInput(name, "男", grade, klass)


def test_codes_follow_the_pattern_per_pool(make_entry, make_school, edition):
    school = make_school()
    xf, kh = edition.categories
    x, c = edition.divisions
    assert make_entry(school, category=xf, division=x).code == "XFX-001"
    assert make_entry(school, category=xf, division=x).code == "XFX-002"
    assert make_entry(school, category=xf, division=c).code == "XFC-001"
    assert make_entry(school, category=kh, division=x, subform="卡通画").code == "KHX-001"


def test_class_cap_counts_the_first_authors_class(db, make_entry, make_school, edition):
    school = make_school()
    for i in range(3):  # the default cap: 3 works per class and category
        make_entry(school, students=[_student(f"甲{i}", klass="2班")])
    with pytest.raises(RegistrationError, match="五年级2班的小发明作品已有3件，达到每班3件的上限"):
        make_entry(school, students=[_student("乙", klass="2班")])
    make_entry(school, students=[_student("乙", klass="3班")])  # another class is fine
    make_entry(school, category=edition.categories[1], subform="卡通画", students=[_student("丙", klass="2班")])


def test_school_cap(db, make_entry, make_school, edition):
    edition.max_entries_per_school = 2
    db.session.commit()
    school = make_school()
    make_entry(school)
    make_entry(school)
    with pytest.raises(RegistrationError, match="达到每校2件的上限"):
        make_entry(school)
    make_entry(make_school())  # another school has its own cap


def test_a_student_in_one_entry_per_category(make_entry, make_school, edition):
    school = make_school()
    make_entry(school, students=[_student("王小明")])
    with pytest.raises(RegistrationError, match="学生“王小明”（五年级1班）已报名小发明作品 XFX-001"):
        make_entry(school, students=[_student("李四"), _student("王小明")])
    # the same name in another class is another child; another category is allowed
    make_entry(school, students=[_student("王小明", klass="4班")])
    make_entry(school, category=edition.categories[1], subform="素描画", students=[_student("王小明")])


def test_team_size_and_instructor_count(make_entry, make_school, edition):
    school = make_school()
    kh = edition.categories[1]  # 1 student, 1 instructor
    with pytest.raises(RegistrationError, match="科幻画每件作品最多1名学生"):
        make_entry(school, category=kh, subform="卡通画", students=[_student("A"), _student("B")])
    with pytest.raises(RegistrationError, match="科幻画每件作品最多1名指导教师"):
        make_entry(school, category=kh, subform="卡通画", instructors=["刘老师", "陈老师"])
    with pytest.raises(RegistrationError, match="请选择作品形式"):
        make_entry(school, category=kh)


def test_duplicate_title_in_a_school_is_a_warning(db, make_entry, make_school, edition, organizer):
    school = make_school()
    make_entry(school, title="自动浇花器")
    data = EntryInput(title="《自动 浇花器》", category_id=edition.categories[0].id,
                      division_id=edition.divisions[0].id, students=[_student("赵六")])
    entry, verdict = create_entry(edition, school, data, organizer)
    assert verdict.warnings and "同名作品" in verdict.warnings[0]


def test_window_binds_coordinators_not_organizers(db, make_user, make_school, edition, organizer):
    school = make_school()
    coordinator = make_user("coordinator", school=school)
    data = EntryInput(title="作品", category_id=edition.categories[0].id, division_id=edition.divisions[0].id,
                      students=[_student()])
    edition.registration_closes = datetime.now() - timedelta(hours=1)
    db.session.commit()
    with pytest.raises(RegistrationError, match="报名已于"):
        create_entry(edition, school, data, coordinator)
    edition.registration_closes = None
    edition.registration_opens = datetime.now() + timedelta(days=1)
    db.session.commit()
    with pytest.raises(RegistrationError, match="报名尚未开始"):
        create_entry(edition, school, data, coordinator)
    edition.registration_opens = None
    edition.registration_locked = True
    db.session.commit()
    with pytest.raises(RegistrationError, match="组委会已锁定报名"):
        create_entry(edition, school, data, coordinator)
    create_entry(edition, school, data, organizer)  # the office may still correct


def test_edit_moves_the_code_with_the_pool_and_keeps_own_students(db, make_entry, make_school, edition, organizer):
    school = make_school()
    entry = make_entry(school, students=[_student("钱七")])
    data = EntryInput(title="改名", category_id=entry.category_id, division_id=edition.divisions[1].id,
                      students=[_student("钱七")])
    update_entry(entry, data, organizer)
    db.session.commit()
    assert entry.code == "XFC-001" and entry.title == "改名"


def test_returned_entry_goes_back_to_review_when_corrected(db, make_entry, make_school, make_user, edition, organizer):
    school = make_school()
    coordinator = make_user("coordinator", school=school)
    entry = make_entry(school)
    with pytest.raises(RegistrationError, match="需要填写原因"):
        review_entry(entry, "return", "", organizer)
    review_entry(entry, "return", "请补充作品说明", organizer)
    db.session.commit()
    from judging.registration.operations import entry_input

    data = entry_input(entry)
    data.description = "补充的说明"
    update_entry(entry, data, coordinator)
    assert entry.status == "submitted"
    review_entry(entry, "approve", None, organizer)
    data.title = "再改"
    with pytest.raises(RegistrationError, match="作品状态为“已通过”，不能再修改"):
        update_entry(entry, data, coordinator)


def test_category_with_entries_cannot_be_deleted(app, db, make_entry, make_school, edition):
    from judging.contests import operations as contest_ops

    make_entry(make_school())
    with pytest.raises(contest_ops.SetupError, match="已有1件作品，不能删除"):
        contest_ops.delete_category(edition.categories[0])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["1班", "2班"]), st.sampled_from(["甲", "乙", "丙", "丁", "戊"])),
                min_size=1, max_size=12))
def test_caps_never_exceeded_whatever_the_order(make_app, rows):
    """Whatever order entries arrive in, no class ever holds more than the cap and no student two entries."""
    app = make_app()
    with app.app_context():
        from sqlalchemy import delete

        from judging.contests import operations as ops
        from judging.core.models import School, User
        from judging.extensions import db
        from judging.registration.models import Entry

        db.session.execute(delete(Entry))
        edition = db.session.scalar(__import__("sqlalchemy").select(ops.Edition).limit(1))
        if edition is None:
            edition = ops.create_edition({"name": "性质县大赛", "number": 1, "code": "P", "max_entries_per_class": 2})
            cat = ops.save_category(edition, {"code": "XF", "name": "小发明", "max_students": 1, "max_instructors": 0})
            ops.save_division(edition, {"code": "X", "name": "小学组"})
            db.session.add(School(name="性质学校"))
            db.session.add(User(username="p_org", display_name="o", role="organizer", password_hash="x"))
            db.session.commit()
        school = db.session.scalar(__import__("sqlalchemy").select(School).limit(1))
        user = db.session.scalar(__import__("sqlalchemy").select(User).limit(1))
        accepted = []
        for klass, name in rows:
            data = EntryInput(title="t", category_id=edition.categories[0].id, division_id=edition.divisions[0].id,
                              students=[StudentInput(name, None, "五年级", klass)])
            try:
                create_entry(edition, school, data, user)
                accepted.append((klass, name))
            except RegistrationError:
                pass
        db.session.commit()
        from collections import Counter

        per_class = Counter(k for k, _ in accepted)
        assert all(n <= 2 for n in per_class.values())
        assert len(set(accepted)) == len(accepted)
        # every refusal had a reason: the accepted set is exactly the greedy one
        expected, seen, counts = [], set(), Counter()
        for klass, name in rows:
            if (klass, name) not in seen and counts[klass] < 2:
                expected.append((klass, name))
                seen.add((klass, name))
                counts[klass] += 1
        assert accepted == expected
        db.session.execute(delete(Entry))
        db.session.commit()
