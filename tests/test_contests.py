"""Organizer setup: editions, categories and rubrics, divisions, prizes, quotas, copying, demo."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from judging.contests import operations as ops
from judging.contests.models import Category, Criterion, Division, Edition, PoolRule, PrizeLevel, Quota
from judging.core.models import AuditEvent, School, User


def _edition_form(**changes):
    data = {
        "name": "新县青少年科技创新大赛", "number": "13", "code": "XK", "theme": "创新·体验·成长",
        "organizers": "新县教育局", "school_year": "2026-2027", "registration_opens": "2026-11-01T08:00",
        "registration_closes": "2026-12-20T17:00", "judging_starts": "2026-12-27", "judging_ends": "2026-12-28",
        "notice_days": "7", "max_entries_per_class": "3", "max_entries_per_school": "",
        "entry_code_pattern": "{类别代码}{组别代码}-{序号:03d}", "scoring_method": "trimmed_mean",
        "trim_min_judges": "5", "min_judges": "3", "reward_split": "equal", "reward_accumulation": "sum",
        "org_award_min_entries": "5",
    }
    data.update(changes)
    return data


def test_organizer_creates_an_edition_with_default_rounds_and_levels(org_client, db):
    response = org_client.post("/admin/editions/new", data=_edition_form())
    assert response.status_code == 302
    edition = db.session.scalar(select(Edition))
    assert edition.title == "第十三届新县青少年科技创新大赛"
    assert [r.name for r in edition.rounds] == ["资格审查", "初评", "终评"]
    assert [p.name for p in edition.prize_levels] == ["一等奖", "二等奖", "三等奖"]
    assert edition.certificate_settings is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edition_created")).username == "org"


@pytest.mark.parametrize("changes, message", [
    ({"registration_closes": "2026-10-01T08:00"}, "报名截止时间应晚于报名开始时间"),
    ({"judging_ends": "2026-12-01"}, "评审结束日期不能早于开始日期"),
    ({"entry_code_pattern": "{类别}-{序号}"}, "未知的占位符：{类别}"),
    ({"entry_code_pattern": "{类别代码-{序号}"}, "花括号不成对"),
    ({"code": "K C"}, "代码只能由字母和数字组成"),
    ({"number": "0"}, "届次应为1到999"),
    ({"name": ""}, "请填写大赛名称"),
])
def test_edition_form_errors_are_named_in_chinese_and_nothing_is_saved(org_client, db, changes, message):
    response = org_client.post("/admin/editions/new", data=_edition_form(**changes))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Edition)) == 0


def test_edition_number_is_unique_per_contest_name(org_client, edition):
    response = org_client.post("/admin/editions/new", data=_edition_form(name=edition.name, number="13"))
    assert "届次不能重复" in response.get_data(as_text=True)


def test_edition_settings_change_is_audited_with_before_and_after(org_client, db, edition):
    response = org_client.post(f"/admin/editions/{edition.id}/settings",
                               data=_edition_form(name=edition.name, theme="新主题", notice_days="5"))
    assert response.status_code == 302
    db.session.refresh(edition)
    assert edition.notice_days == 5
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edition_updated"))
    assert '"notice_days": 7' in event.before and '"notice_days": 5' in event.after


def test_category_codes_are_unique_within_an_edition(org_client, edition):
    response = org_client.post(f"/admin/editions/{edition.id}/categories/new",
                               data={"code": "xf", "name": "另一个", "max_students": "3", "max_instructors": "2"})
    assert "类别代码“XF”已被使用" in response.get_data(as_text=True)


def test_new_category_leads_to_its_rubric(org_client, db, edition):
    response = org_client.post(f"/admin/editions/{edition.id}/categories/new",
                               data={"code": "lw", "name": "小论文", "max_students": "3", "max_instructors": "2"})
    category = db.session.scalar(select(Category).where(Category.code == "LW"))
    assert response.headers["Location"].endswith(f"/categories/{category.id}/rubric")


def _rubric_post(rows):
    data = {}
    for i, (cid, name, points, descriptor) in enumerate(rows):
        data[f"rows-{i}-criterion_id"] = cid
        data[f"rows-{i}-name"] = name
        data[f"rows-{i}-max_points"] = points
        data[f"rows-{i}-descriptor"] = descriptor
    return data


def test_rubric_not_summing_to_100_is_saved_with_a_warning(org_client, db, edition):
    xf = edition.categories[0]
    url = f"/admin/editions/{edition.id}/categories/{xf.id}/rubric"
    response = org_client.post(url, data=_rubric_post([("", "创新性", "30", ""), ("", "科学性", "25", "")]),
                               follow_redirects=True)
    assert "合计为55分，不是100分" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [(c.name, c.max_points) for c in xf.criteria] == [("创新性", Decimal("30")), ("科学性", Decimal("25"))]


def test_rubric_keeps_order_renames_and_removes(org_client, db, edition):
    xf = edition.categories[0]
    first, second = xf.criteria
    url = f"/admin/editions/{edition.id}/categories/{xf.id}/rubric"
    # swap order, rename the second to the first's old name's neighbour, drop nothing
    response = org_client.post(url, data=_rubric_post([
        (str(second.id), "创新性", "40", "新"), (str(first.id), "实用性", "60", ""), ("", "", "", "")]))
    assert response.status_code == 302
    db.session.expire_all()
    assert [(c.name, c.max_points) for c in xf.criteria] == [("创新性", Decimal("40")), ("实用性", Decimal("60"))]
    # remove one
    org_client.post(url, data=_rubric_post([(str(first.id), "实用性", "100", "")]))
    db.session.expire_all()
    assert [c.name for c in xf.criteria] == ["实用性"]


@pytest.mark.parametrize("rows, message", [
    ([("", "创新性", "", "")], "请填写满分"),
    ([("", "", "30", "")], "请填写指标名称"),
    ([("", "创新性", "30.25", "")], "满分最多一位小数"),
    ([("", "创新性", "300", "")], "满分应在0.1到100之间"),
    ([("", "创新性", "30", ""), ("", "创新性", "70", "")], "指标名称重复：创新性"),
])
def test_rubric_faults_save_nothing(org_client, db, edition, rows, message):
    xf = edition.categories[0]
    before = [(c.name, c.max_points) for c in xf.criteria]
    response = org_client.post(f"/admin/editions/{edition.id}/categories/{xf.id}/rubric", data=_rubric_post(rows),
                               follow_redirects=True)
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert [(c.name, c.max_points) for c in xf.criteria] == before


def test_category_with_entries_cannot_be_deleted_and_the_message_says_why(org_client, db, edition):
    xf = edition.categories[0]

    def fake_entries(category):
        return (4 if category.code == "XF" else 0), "件作品"

    ops.category_usage_checks.append(fake_entries)
    try:
        response = org_client.post(f"/admin/editions/{edition.id}/categories/{xf.id}/delete", follow_redirects=True)
    finally:
        ops.category_usage_checks.remove(fake_entries)
    assert "类别“小发明”已有4件作品，不能删除" in response.get_data(as_text=True)
    assert db.session.get(Category, xf.id) is not None


def test_category_without_entries_is_deleted_with_its_rubric(org_client, db, edition):
    kh = edition.categories[1]
    response = org_client.post(f"/admin/editions/{edition.id}/categories/{kh.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Category, kh.id) is None
    assert db.session.scalar(select(func.count()).select_from(Criterion).where(Criterion.category_id == kh.id)) == 0


def test_objects_of_another_edition_are_not_followed(org_client, db, edition):
    other = ops.create_edition({"name": "别的县大赛", "number": 1, "code": "B"})
    db.session.commit()
    xf = edition.categories[0]
    assert org_client.get(f"/admin/editions/{other.id}/categories/{xf.id}/rubric").status_code == 404
    assert org_client.post(f"/admin/editions/{other.id}/categories/{xf.id}/delete").status_code == 404
    assert db.session.get(Category, xf.id) is not None


def test_division_codes_unique_and_deletion(org_client, db, edition):
    response = org_client.post(f"/admin/editions/{edition.id}/divisions/new", data={"code": "x", "name": "低年级组"})
    assert "组别代码“X”已被使用" in response.get_data(as_text=True)
    response = org_client.post(f"/admin/editions/{edition.id}/divisions/new", data={"code": "T", "name": "教师组"})
    assert response.status_code == 302
    teacher = db.session.scalar(select(Division).where(Division.code == "T"))
    assert org_client.post(f"/admin/editions/{edition.id}/divisions/{teacher.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Division, teacher.id) is None


def _quota_form(edition, mode, values, min_score=""):
    data = {}
    for c in edition.categories:
        for d in edition.divisions:
            key = f"{c.id}-{d.id}"
            data[f"mode-{key}"] = mode
            data[f"min-{key}"] = min_score
            for level, value in zip(edition.prize_levels, values):
                data[f"q-{key}-{level.id}"] = value
    return data


def test_quotas_by_count_and_by_percent(org_client, db, edition):
    response = org_client.post(f"/admin/editions/{edition.id}/quotas",
                               data=_quota_form(edition, "percent", ["10", "20%", "３０"], "60"))
    assert response.status_code == 302
    db.session.expire_all()
    rules = db.session.scalars(select(PoolRule)).all()
    assert len(rules) == 4
    assert all(r.quota_mode == "percent" and r.min_score == Decimal("60") for r in rules)
    assert sorted(q.value for q in rules[0].quotas) == [Decimal("10"), Decimal("20"), Decimal("30")]


@pytest.mark.parametrize("mode, values, message", [
    ("percent", ["50", "30", "30"], "超过了100%"),
    ("count", ["1.5", "2", "3"], "按名额时每个奖项应为整数"),
    ("count", ["abc", "2", "3"], "应为数字"),
    ("count", ["-1", "2", "3"], "不能为负数"),
])
def test_quota_faults_save_nothing(org_client, db, edition, mode, values, message):
    response = org_client.post(f"/admin/editions/{edition.id}/quotas", data=_quota_form(edition, mode, values))
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PoolRule)) == 0


def test_prize_levels_and_rewards(org_client, db, edition):
    levels = edition.prize_levels
    data = {}
    for i, (level, amount) in enumerate(zip(levels, ["300", "200", "100"])):
        data.update({f"rows-{i}-level_id": str(level.id), f"rows-{i}-name": level.name,
                     f"rows-{i}-reward_amount": amount, f"rows-{i}-reward_points": str(3 - i),
                     f"rows-{i}-org_points": str(5 - 2 * i)})
    data.update({"rows-3-level_id": "", "rows-3-name": "优秀奖", "rows-3-reward_amount": "50",
                 "rows-3-reward_points": "0.5", "rows-3-org_points": "0"})
    data["rows-0-instructor_certificate"] = "y"
    assert org_client.post(f"/admin/editions/{edition.id}/prizes", data=data).status_code == 302
    db.session.expire_all()
    got = [(p.position, p.name, p.reward_amount, p.instructor_certificate) for p in edition.prize_levels]
    assert got == [(1, "一等奖", Decimal("300.00"), True), (2, "二等奖", Decimal("200.00"), False),
                   (3, "三等奖", Decimal("100.00"), False), (4, "优秀奖", Decimal("50.00"), False)]


def test_prize_levels_can_be_reordered_without_tripping_unique_indexes(db, edition):
    first, second, third = edition.prize_levels
    ops.save_prize_levels(edition, [{"id": second.id, "name": "一等奖"}, {"id": first.id, "name": "二等奖"},
                                    {"id": third.id, "name": "三等奖"}])
    db.session.commit()
    assert [(p.id, p.name) for p in edition.prize_levels] == [(second.id, "一等奖"), (first.id, "二等奖"),
                                                              (third.id, "三等奖")]


def test_certificate_texts_refuse_unknown_placeholders(org_client, db, edition):
    data = {"issuer": "县教育局", "student_text": "{姓名}同学获得{奖项}", "instructor_text": "{姓名}老师",
            "school_text": "{学校}", "number_pattern": "{年}{大赛代码}-{序号:04d}", "one_per_member": "y"}
    response = org_client.post(f"/admin/editions/{edition.id}/certificates", data=data)
    assert "未知的占位符：{奖项}" in response.get_data(as_text=True)
    data["student_text"] = "{姓名}同学获得{等级}"
    assert org_client.post(f"/admin/editions/{edition.id}/certificates", data=data).status_code == 302
    db.session.expire_all()
    assert edition.certificate_settings.student_text == "{姓名}同学获得{等级}"


def test_copy_edition_carries_every_setting_but_not_dates(org_client, db, edition):
    ops.save_pool_quota(edition, edition.categories[0], edition.divisions[0], "count", Decimal("60"),
                        {level.id: Decimal(v) for level, v in zip(edition.prize_levels, ["15", "25", "40"])})
    db.session.commit()
    response = org_client.post(f"/admin/editions/{edition.id}/copy",
                               data={"name": edition.name, "number": "14", "theme": "新主题", "school_year": "2027-2028"})
    assert response.status_code == 302
    new = db.session.scalar(select(Edition).where(Edition.number == 14))
    assert new.title == "第十四届测试县青少年科技创新大赛"
    assert new.copied_from_id == edition.id and new.registration_closes is None
    assert [(c.code, [(k.name, k.max_points) for k in c.criteria]) for c in new.categories] == \
           [(c.code, [(k.name, k.max_points) for k in c.criteria]) for c in edition.categories]
    assert [d.code for d in new.divisions] == ["X", "C"]
    rule = new.pool_rules[0]
    assert rule.category.edition_id == new.id and rule.min_score == Decimal("60")
    assert sorted(q.value for q in rule.quotas) == [15, 25, 40]
    assert all(q.prize_level.edition_id == new.id for q in rule.quotas)
    # the source is untouched
    assert len(edition.categories) == 2 and edition.pool_rules[0].quotas[0].prize_level.edition_id == edition.id


def test_copy_refuses_an_existing_number(org_client, edition):
    response = org_client.post(f"/admin/editions/{edition.id}/copy", data={"name": edition.name, "number": "13"})
    assert "届次不能重复" in response.get_data(as_text=True)


def test_demo_loads_the_county_contest_once(app, db):
    from judging.contests.demo import load_demo

    assert load_demo() is True
    assert load_demo() is False
    edition = db.session.scalar(select(Edition))
    assert edition.title == "第十三届XX县青少年科技创新大赛"
    assert [c.name for c in edition.categories] == ["小发明", "小论文", "科幻画"]
    assert all(c.rubric_total == 100 for c in edition.categories)
    assert [c.name for c in edition.categories[0].criteria] == ["创新性", "科学性", "实用性", "制作完成度", "展示答辩"]
    assert [d.name for d in edition.divisions] == ["小学组", "初中组"]
    assert [(p.name, p.reward_amount) for p in edition.prize_levels] == [
        ("一等奖", Decimal("300")), ("二等奖", Decimal("200")), ("三等奖", Decimal("100"))]
    primary = [r for r in edition.pool_rules if r.division.name == "小学组"]
    junior = [r for r in edition.pool_rules if r.division.name == "初中组"]
    assert len(primary) == len(junior) == 3
    assert all(sorted(q.value for q in r.quotas) == [15, 25, 40] and r.quota_mode == "count" for r in primary)
    assert all(sorted(q.value for q in r.quotas) == [10, 20, 30] and r.quota_mode == "percent" for r in junior)
    schools = db.session.scalars(select(School)).all()
    assert len(schools) >= 10
    assert any(s.children for s in schools) and len({s.cluster for s in schools}) >= 3
    roles = {u.role for u in db.session.scalars(select(User))}
    assert roles == {"organizer", "coordinator", "judge"}
    assert db.session.scalar(select(func.count()).select_from(Edition)) == 1


def test_login_page_lists_demo_accounts_only_when_demo_is_loaded(client, db):
    assert "演示账号" not in client.get("/login").get_data(as_text=True)
    from judging.contests.demo import DEMO_PASSWORD, load_demo

    load_demo()
    page = client.get("/login").get_data(as_text=True)
    assert "演示账号" in page and DEMO_PASSWORD in page and "admin" in page
    assert client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD}).status_code == 302
    client.post("/logout")
    judge = db.session.scalar(select(User).where(User.username == "judge1"))
    judge.active = False
    db.session.commit()
    page = client.get("/login").get_data(as_text=True)
    assert "judge1" not in page and "judge2" in page


def test_demo_command_twice_through_the_cli(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and "演示数据已载入" in first.output
    assert second.exit_code == 0 and "未重复载入" in second.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 10


def test_dashboard_and_setup_pages_render_the_demo(org_client, db):
    from judging.contests.demo import load_demo

    load_demo()
    edition = db.session.scalar(select(Edition))
    for path in ["/admin/", f"/admin/editions/{edition.id}", f"/admin/editions/{edition.id}/quotas",
                 f"/admin/editions/{edition.id}/prizes", f"/admin/editions/{edition.id}/categories",
                 f"/admin/editions/{edition.id}/categories/{edition.categories[0].id}/rubric",
                 f"/admin/editions/{edition.id}/rounds", f"/admin/editions/{edition.id}/certificates",
                 f"/admin/editions/{edition.id}/settings", "/admin/audit"]:
        response = org_client.get(path)
        assert response.status_code == 200, path
        assert "第十三届XX县青少年科技创新大赛" in response.get_data(as_text=True) or path in ("/admin/audit",)
