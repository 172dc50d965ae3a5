"""The demo county contest: 第十三届XX县青少年科技创新大赛, loaded by `flask --app wsgi demo`."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from judging.contests import operations as ops
from judging.contests.models import Edition
from judging.core.models import SiteSetting, School, User
from judging.core.security import hash_password
from judging.core.views import DEMO_FLAG
from judging.extensions import db

DEMO_PASSWORD = "Demo2026"
EDITION_NAME = "XX县青少年科技创新大赛"
EDITION_NUMBER = 13

# (name, code, cluster, parent name)
SCHOOLS = [
    ("城关镇中心校", "CG00", "城关片区", None),
    ("城关镇东关村小学", "CG01", "城关片区", "城关镇中心校"),
    ("城关镇西岭村小学", "CG02", "城关片区", "城关镇中心校"),
    ("县实验小学", "SY00", "城关片区", None),
    ("县第一中学", "YZ00", "城关片区", None),
    ("青山镇中心校", "QS00", "青山片区", None),
    ("青山镇石桥村小学", "QS01", "青山片区", "青山镇中心校"),
    ("青山镇柳河村小学", "QS02", "青山片区", "青山镇中心校"),
    ("青山镇初级中学", "QS10", "青山片区", None),
    ("河口镇中心校", "HK00", "河口片区", None),
    ("河口镇团结村小学", "HK01", "河口片区", "河口镇中心校"),
]

# (username, display name, role, school, affiliation, note)
ACCOUNTS = [
    ("admin", "县科协 王老师", "organizer", None, None, "组委会：设置届次、审核作品、评审与发布"),
    ("cgzx", "李晓红", "coordinator", "城关镇中心校", None, "城关镇中心校学校管理员"),
    ("syxx", "张明", "coordinator", "县实验小学", None, "县实验小学学校管理员"),
    ("yizhong", "刘建国", "coordinator", "县第一中学", None, "县第一中学学校管理员"),
    ("qszx", "陈静", "coordinator", "青山镇中心校", None, "青山镇中心校学校管理员"),
    ("judge1", "赵志强", "judge", "县第一中学", None, "评委（县第一中学，回避本校作品）"),
    ("judge2", "孙丽", "judge", "青山镇初级中学", None, "评委（青山镇初级中学）"),
    ("judge3", "周文博", "judge", None, "县教师进修学校", "评委（县教师进修学校）"),
    ("judge4", "吴海燕", "judge", None, "县科技馆", "评委（县科技馆）"),
    ("judge5", "郑磊", "judge", "县实验小学", None, "评委（县实验小学）"),
]

RUBRICS = {
    "XF": [
        ("创新性", 30, "构思新颖独特，有自己的发现或改进，不是简单模仿已有产品。"),
        ("科学性", 25, "原理正确，结构合理，符合科学规律。"),
        ("实用性", 25, "能解决生活或学习中的实际问题，便于推广使用。"),
        ("制作完成度", 10, "作品完整、做工精细，能正常演示。"),
        ("展示答辩", 10, "能清楚介绍作品的原理、制作过程和用途。"),
    ],
    "LW": [
        ("创新性", 20, "选题角度新颖，有独到的发现或见解。"),
        ("选题", 15, "贴近学生生活，问题明确，大小适当。"),
        ("科学性", 30, "方法得当，数据真实，结论有依据。"),
        ("研究过程", 20, "有观察、实验或调查的完整记录，体现学生亲自参与。"),
        ("写作规范", 15, "结构完整，表达清楚，图表和参考资料规范。"),
    ],
    "KH": [
        ("想象力", 50, "想象丰富大胆，主题鲜明，富有创意。"),
        ("科学性", 25, "幻想有科学依据，体现对未来科技的合理展望。"),
        ("绘画水平", 25, "构图、色彩和表现手法与主题相称。"),
    ],
}

CATEGORIES = [
    {"code": "XF", "name": "小发明", "subforms": None, "max_students": 3, "max_instructors": 2},
    {"code": "LW", "name": "小论文", "subforms": None, "max_students": 3, "max_instructors": 2},
    {"code": "KH", "name": "科幻画", "subforms": "卡通画、素描画、国画", "max_students": 1, "max_instructors": 1},
]
DIVISIONS = [{"code": "X", "name": "小学组"}, {"code": "C", "name": "初中组"}]
# (name, amount, points, instructor certificate, 优秀组织奖 points)
LEVELS = [("一等奖", "300", "3", True, 5), ("二等奖", "200", "2", True, 3), ("三等奖", "100", "1", False, 1)]
PRIMARY_COUNTS = ["15", "25", "40"]  # 小学组一等奖15名、二等奖25名、三等奖40名
JUNIOR_PERCENT = ["10", "20", "30"]  # 初中组 10% / 20% / 30%


def demo_loaded() -> bool:
    return db.session.get(SiteSetting, DEMO_FLAG) is not None


def load_demo(today: datetime | None = None) -> bool:
    """Load the demo contest; returns False (and changes nothing) when it is already there."""
    if demo_loaded():
        return False
    today = (today or datetime.now()).date()
    schools = _schools()
    accounts = _accounts(schools)
    if db.session.scalar(select(Edition).where(Edition.name == EDITION_NAME, Edition.number == EDITION_NUMBER)) is None:
        _edition(today)
    db.session.add(SiteSetting(key=DEMO_FLAG, value=json.dumps(accounts, ensure_ascii=False)))
    db.session.commit()
    return True


def _schools() -> dict[str, School]:
    by_name: dict[str, School] = {}
    for name, code, cluster, parent in SCHOOLS:
        school = db.session.scalar(select(School).where(School.name == name))
        if school is None:
            taken = db.session.scalar(select(School).where(School.code == code))
            school = School(name=name, code=None if taken else code, cluster=cluster,
                            parent=by_name.get(parent) if parent else None)
            db.session.add(school)
        by_name[name] = school
    db.session.flush()
    return by_name


def _accounts(schools: dict[str, School]) -> list[dict]:
    listed = []
    password_hash = hash_password(DEMO_PASSWORD)
    for username, name, role, school, affiliation, note in ACCOUNTS:
        exists = db.session.scalar(select(User).where(func.lower(User.username) == username))
        if exists is None:
            db.session.add(User(username=username, display_name=name, role=role,
                                school=schools[school] if school else None, affiliation=affiliation,
                                password_hash=password_hash))
            listed.append({"role": {"organizer": "组委会", "coordinator": "学校管理员", "judge": "评委"}[role],
                           "username": username, "password": DEMO_PASSWORD, "note": note})
    db.session.flush()
    return listed


def _edition(today) -> Edition:
    opens = datetime.combine(today - timedelta(days=14), time(8, 0))
    closes = datetime.combine(today + timedelta(days=21), time(17, 0))
    edition = ops.create_edition({
        "name": EDITION_NAME, "number": EDITION_NUMBER, "code": "XXKC", "theme": "创新·体验·成长",
        "organizers": "XX县教育局　XX县科学技术协会", "school_year": f"{today.year}-{today.year + 1}"
        if today.month >= 8 else f"{today.year - 1}-{today.year}",
        "registration_opens": opens, "registration_closes": closes, "registration_locked": False,
        "judging_starts": closes.date() + timedelta(days=7), "judging_ends": closes.date() + timedelta(days=8),
        "notice_days": 7, "max_entries_per_class": 3, "max_entries_per_school": None,
        "entry_code_pattern": "{类别代码}{组别代码}-{序号:03d}", "scoring_method": "trimmed_mean",
        "trim_min_judges": 5, "min_judges": 3, "reward_split": "equal", "reward_accumulation": "sum",
        "org_award_enabled": True, "org_award_min_entries": 5,
    })
    for spec in CATEGORIES:
        category = ops.save_category(edition, spec)
        ops.save_rubric(category, [{"name": n, "max_points": Decimal(p), "descriptor": d}
                                   for n, p, d in RUBRICS[spec["code"]]])
    divisions = [ops.save_division(edition, spec) for spec in DIVISIONS]
    ops.save_prize_levels(edition, [
        {"id": level.id, "name": name, "reward_amount": Decimal(amount), "reward_points": Decimal(points),
         "instructor_certificate": cert, "org_points": org}
        for level, (name, amount, points, cert, org) in zip(edition.prize_levels, LEVELS)])
    levels = edition.prize_levels
    for category in edition.categories:
        ops.save_pool_quota(edition, category, divisions[0], "count", None,
                            {lv.id: Decimal(v) for lv, v in zip(levels, PRIMARY_COUNTS)})
        ops.save_pool_quota(edition, category, divisions[1], "percent", None,
                            {lv.id: Decimal(v) for lv, v in zip(levels, JUNIOR_PERCENT)})
    ops.save_certificate_settings(edition, {"issuer": "XX县教育局　XX县科学技术协会"})
    return edition
