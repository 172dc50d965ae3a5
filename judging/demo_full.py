"""A demo contest that has been through 初评: `flask --app wsgi demo --full`.

On top of the demo edition (contests/demo.py) it registers about 150 entries through the real
registration operation, reviews them (资格审查), sets up the 初评 panels, assigns the judges, submits
every assigned judge's score through the scoring operation, locks the round and computes its
results into a draft snapshot, ready for the organizer to review and publish. Every write goes
through the stage's own operation, so the audit log and the score history read like a real contest.

Made to show what organizers must look at:
- one judge notably harsh (周文博), one lenient (钱晓梅), so the analytics page has something to say;
- an exact tie across a prize boundary (小发明·初中组), flagged on the results page;
- an entry left with 2 scores (小论文·小学组: a judge declared a conflict after the assignment and
  the small panel had nobody to take over), reported as too few judges;
- one disqualified entry and two still waiting for review.

Deterministic for a seed, and run once: a second run finds its marker and changes nothing.
Sits beside cli.py because, like a command, it drives every stage.
"""
from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app, g
from flask_login import login_user
from sqlalchemy import func, select

from judging.contests.demo import DEMO_PASSWORD, EDITION_NAME, EDITION_NUMBER, load_demo
from judging.contests.models import Edition, Round
from judging.core import audit
from judging.core.models import School, SiteSetting, User
from judging.core.security import hash_password
from judging.extensions import db
from judging.registration import operations as registration
from judging.registration.models import Entry
from judging.registration.rules import EntryInput, RegistrationRules, StudentInput, registration_closed_reason
from judging.results import engine
from judging.results.models import EntryResultRow
from judging.results.operations import compute_results
from judging.scoring import panels as panel_ops
from judging.scoring.models import Assignment, Score
from judging.scoring.operations import Submission, set_round_lock, submit_score

FULL_DEMO_FLAG = "demo_full"


class DemoError(RuntimeError):
    """The full demo cannot be loaded; the message says why (Chinese)."""


# --- Who judges --------------------------------------------------------------------------------------

# Judges beyond judge1..judge5 of the demo: (username, name, school, affiliation)
EXTRA_JUDGES = [
    ("judge6", "钱晓梅", None, "县科学技术协会"),
    ("judge7", "冯建华", "河口镇中心校", None),
    ("judge8", "欧阳振宇", None, "县青少年活动中心"),
    ("judge9", "司马雯", None, "县美术家协会"),
    ("judge10", "黄淑芬", None, "县教育局教研室"),
]
HARSH_JUDGE, LENIENT_JUDGE = "judge3", "judge6"
LENIENCY = {HARSH_JUDGE: -0.13, LENIENT_JUDGE: 0.08}  # the others: drawn around 0

# (category, division) -> (judges of the 初评 panel, judges per entry)
PANELS = {
    ("XF", "X"): (["judge1", "judge3", "judge4", "judge5", "judge6", "judge7"], 5),
    ("XF", "C"): (["judge1", "judge2", "judge3", "judge4", "judge6", "judge8"], 5),
    # Few primary papers: a panel of three, each judge reads every paper.
    ("LW", "X"): (["judge3", "judge4", "judge10"], 3),
    ("LW", "C"): (["judge1", "judge2", "judge3", "judge5", "judge8", "judge10"], 5),
    ("KH", "X"): (["judge2", "judge4", "judge5", "judge6", "judge7", "judge9"], 5),
    ("KH", "C"): (["judge1", "judge2", "judge4", "judge6", "judge8", "judge9"], 5),
}
TIE_POOL = ("XF", "C")  # where two entries end exactly equal across a prize boundary
CONFLICT = (("LW", "X"), "judge10", 3, "作者是该评委的外甥女，评委本人申请回避；本组无其他评委可接替。")

# --- Who registers -----------------------------------------------------------------------------------

# (category, division) -> number of entries
POOL_SIZES = {("XF", "X"): 30, ("XF", "C"): 22, ("LW", "X"): 7, ("LW", "C"): 21, ("KH", "X"): 44, ("KH", "C"): 26}
# school -> (weight among the schools of its level, classes per grade)
PRIMARY_SCHOOLS = {
    "城关镇中心校": (4, 4), "城关镇东关村小学": (2, 2), "城关镇西岭村小学": (1, 1), "县实验小学": (5, 6),
    "青山镇中心校": (3, 3), "青山镇石桥村小学": (1, 1), "青山镇柳河村小学": (1, 1), "河口镇中心校": (3, 3),
    "河口镇团结村小学": (1, 1),
}
JUNIOR_SCHOOLS = {"县第一中学": (3, 8), "青山镇初级中学": (2, 4)}
GRADES = {
    ("XF", "X"): ["三年级", "四年级", "五年级", "六年级"],
    ("LW", "X"): ["四年级", "五年级", "六年级"],
    ("KH", "X"): ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"],
    "C": ["七年级", "八年级", "九年级"],
}
TEAM_SIZES = {"XF": ((1, 2, 3), (40, 35, 25)), "LW": ((1, 2, 3), (50, 30, 20)), "KH": ((1,), (1,))}
SUBFORMS = (("卡通画", "素描画", "国画"), (5, 2, 2))
# The school's coordinator registers (while the window is open); the organizer registers for the rest.
COORDINATORS = {"城关镇中心校": "cgzx", "县实验小学": "syxx", "县第一中学": "yizhong", "青山镇中心校": "qszx"}
INSTRUCTORS = {
    "城关镇中心校": ["李晓红", "王建军", "欧阳慧敏", "陈国平"],
    "城关镇东关村小学": ["刘春梅", "张伟"],
    "城关镇西岭村小学": ["杨志刚"],
    "县实验小学": ["张明", "周雪梅", "司马文涛", "徐丽娟", "何军"],
    "青山镇中心校": ["陈静", "黄金华", "林晓燕"],
    "青山镇石桥村小学": ["罗永福"],
    "青山镇柳河村小学": ["宋艳"],
    "河口镇中心校": ["梁海涛", "谢红霞", "唐志勇"],
    "河口镇团结村小学": ["韩立新"],
    "县第一中学": ["刘建国", "曹颖", "彭学军", "曾凡星", "萧雅"],
    "青山镇初级中学": ["邓国强", "田甜", "单文华"],
}
DISQUALIFIED = (("XF", "C"), 5, "经核查，该作品为市售成品简单改装，不符合小发明须由学生自主设计制作的要求，取消参赛资格。")
WAITING = [(("KH", "X"), 40), (("LW", "C"), 20)]  # (pool, index): left 待审核

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
            "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤单")
BOY_NAMES = ["子轩", "浩然", "宇航", "俊熙", "思远", "一鸣", "皓轩", "博文", "泽宇", "明哲", "天佑", "嘉树", "煜城",
             "奕辰", "梓豪", "志恒", "家乐", "晨阳", "景行", "书恒", "彧", "喆", "犇", "昊", "鑫", "睿", "淼"]
GIRL_NAMES = ["欣怡", "雨桐", "梓涵", "一诺", "诗琪", "若汐", "语嫣", "佳琪", "思彤", "可馨", "雨萱", "心悦", "紫涵",
              "芷若", "婉清", "梦瑶", "晓彤", "安琪", "静怡", "沐晴", "玥", "淼", "琳", "萱", "瑶", "楠"]
# First authors of the first entries registered, so the rare characters and two-character surnames are
# always there: (name, gender)
FEATURED_STUDENTS = [("欧阳子彧", "男"), ("司马玥", "女"), ("张喆", "男"), ("李犇", "男"), ("王淼淼", "女"),
                     ("刘䶮", "男"), ("欧阳诗琪", "女"), ("司马浩然", "男"), ("陈玥彤", "女"), ("赵鑫", "男")]

TITLES = {
    "XF": [
        "多功能防近视书立", "自动感应节水水龙头", "盲人智能导航手杖", "可折叠便携晾衣架", "防溢锅报警器",
        "黑板自动清洁器", "太阳能自动浇花器", "下雨自动关窗装置", "老人防跌倒报警鞋垫", "可调角度读写架",
        "自动计数跳绳", "垃圾分类语音提示桶", "防夹手安全门挡", "电动车雨棚自动收放装置", "定时提醒智能药盒",
        "多功能粉笔套", "坐姿矫正提醒器", "蔬菜大棚温湿度报警器", "自动喂鸡器", "楼道感应灯改进装置",
        "雨伞滴水收集套", "鞋底自动清洁踏板", "防倾倒暖水瓶座", "风力驱鸟器", "红绿灯盲人语音提示器",
        "可伸缩黑板擦", "书包防丢提醒器", "饮水机节能定时开关", "稻田水位监测报警器", "防烫手端碗夹",
        "自动翻页乐谱架", "教室空气质量提示灯", "可拆洗拖把头", "雨天防滑鞋套", "手摇式玉米脱粒机",
        "多功能量角尺", "磁力收纳笔盒", "防蚊感应驱蚊灯", "水果自动清洗器", "电池电量检测笔",
        "便携式折叠小板凳", "门窗防盗报警器", "衣柜自动除湿盒", "太阳能手机充电背包", "保温便当加热盒",
        "自动升降晒衣架", "智能宠物喂食器", "校园路灯光控开关", "防近视台灯", "环保纸浆铅笔",
        "节水马桶水箱改进装置", "自动收线风筝轮",
    ],
    "LW": [
        "关于本校学生近视情况的调查与思考", "蚂蚁喜欢什么食物的观察研究", "家庭厨房垃圾分类情况调查",
        "不同水质对绿豆发芽的影响", "家乡小河水质变化的调查报告", "校园植物种类调查",
        "雾霾天气与学生户外活动的调查", "小学生课外阅读时间调查", "影响蚕宝宝生长的因素研究",
        "不同材料保温效果的比较实验", "农村留守儿童科学兴趣调查", "蒜苗在不同光照下的生长观察",
        "家用电器待机耗电情况调查", "常见饮料含糖量调查与建议", "我县水稻秸秆利用现状调查",
        "柳河湿地鸟类观察记录", "中学生睡眠时间与学习效率的关系", "校园噪声来源及降噪方法研究",
        "一次性筷子使用情况调查", "食用油反复加热对健康影响的初步探究", "蚯蚓改良土壤的实验研究",
        "城区共享单车使用情况调查", "洗衣粉对水生植物生长影响的实验", "不同颜色光对豆芽生长的影响",
        "本地腌菜亚硝酸盐含量变化研究", "手机使用时长与中学生视力的关系", "塑料袋替代品的调查与比较",
        "家乡古石桥的结构与受力探究", "校园雨水收集利用的可行性研究",
    ],
    "KH": [
        "未来的海底城市", "太空垃圾清理站", "会飞的学校", "月球上的农场", "沙漠变绿洲", "机器人医生",
        "空中交通枢纽", "云朵发电站", "火星移民基地", "地心探险车", "时光邮局", "吃雾霾的大树",
        "未来的智能教室", "海洋净化鲸", "星际快递员", "梦想记录仪", "深海探测城", "彩虹能源站",
        "万能翻译耳机", "植物语言翻译器", "会走路的房子", "太空电梯", "宠物机器人", "天空之城",
        "气象控制塔", "微型医疗潜艇", "北极冰川修复者", "全息课堂", "未来的菜园", "声波灭火飞艇",
        "外星朋友来做客", "地震预警鸟", "空中花园城市", "垃圾变宝机", "星空图书馆", "太阳帆飞船",
        "森林守护者", "海上漂浮农场", "梦境探测器", "能量水果", "穿越时空的列车", "绿色能源城",
        "雨水银行", "潜艇学校", "未来医院", "沙尘暴捕手", "仿生蜻蜓侦察机", "月亮上的运动会",
        "海底隧道高铁", "会变形的校车", "机器人农夫", "云端游乐园", "光合作用衣服", "太空种子实验室",
        "时间胶囊发射站", "外太空观光巴士", "海洋塑料分解机", "智能交通精灵", "鸟语翻译帽", "宇宙清洁工",
        "城市森林大厦", "细胞修复机器人", "新能源风筝", "空气净化蒲公英", "火山能源站", "星际牧场",
        "彗星采矿船", "未来的家", "冰雪能量站", "蜜蜂机器人",
    ],
}
COMMENTS = {
    "XF": ["构思巧妙，建议改进外观和做工。", "实用性强，原理介绍清楚。", "创新点不够突出，与市售产品相近。",
           "制作精细，演示效果好。", "建议补充测试数据。"],
    "LW": ["选题贴近生活，数据记录完整。", "结论依据略显不足，样本偏少。", "研究过程有学生亲自参与的痕迹。",
           "写作规范，图表清楚。", "建议增加对照实验。"],
    "KH": ["想象大胆，色彩鲜明。", "构图饱满，科学依据稍弱。", "主题鲜明，富有童趣。", "绘画技法娴熟。",
           "创意新颖，细节可再丰富。"],
}
TENTHS = Decimal("0.1")


# --- Entry point ----------------------------------------------------------------------------------------

def load_full_demo(seed: int = 2026) -> dict:
    """Load the judged demo contest; returns counts. A second run changes nothing (created False)."""
    started = time.perf_counter()
    demo_created = load_demo()
    marker = db.session.get(SiteSetting, FULL_DEMO_FLAG)
    if marker is not None:
        return {**json.loads(marker.value), "created": False, "demo_created": demo_created}
    edition = db.session.scalar(select(Edition).where(Edition.name == EDITION_NAME, Edition.number == EDITION_NUMBER))
    if edition is None:
        raise DemoError(f"找不到演示届次“第{EDITION_NUMBER}届{EDITION_NAME}”，无法载入完整演示数据。")
    if db.session.scalar(select(func.count()).select_from(Entry).where(Entry.edition_id == edition.id)):
        raise DemoError(f"{edition.title}已有作品（不是完整演示数据载入的），为免混淆，未载入完整演示数据。")
    preliminary = next((r for r in edition.rounds if r.kind == "preliminary"), None)
    if preliminary is None or not preliminary.enabled:
        raise DemoError(f"{edition.title}没有启用初评，无法载入完整演示数据。")
    if preliminary.locked:
        raise DemoError(f"{edition.title}的初评已锁定，无法载入完整演示数据。")

    rng = random.Random(seed)
    users = _users()
    admin = users["admin"]
    entries = _register(edition, users, rng)
    reviewed = _review(entries, admin)
    panels = _panels(edition, preliminary, users, seed)
    _declare_conflict(edition, entries, users, admin)
    plan = _plan_scores(edition, preliminary, entries, users, rng)
    tie = _make_tie(edition, entries, plan)
    scores = _submit(preliminary, plan, users, rng)
    set_round_lock(preliminary, True, "初评评分已全部收齐，锁定后计算结果", admin)
    snapshot = compute_results(edition, preliminary, admin)

    flags = json.loads(snapshot.flags_json)
    rows = list(db.session.scalars(select(EntryResultRow).where(EntryResultRow.snapshot_id == snapshot.id)))
    counts = {
        "edition_id": edition.id, "round_id": preliminary.id, "snapshot_id": snapshot.id,
        "entries": sum(len(items) for items in entries.values()), "approved": reviewed["approved"], "disqualified": reviewed["disqualified"],
        "waiting": reviewed["waiting"], "judges": len({j for j, _ in plan}), "panels": panels,
        "assignments": len(plan), "scores": scores,
        "ranked": sum(1 for r in rows if r.rank is not None), "prized": sum(1 for r in rows if r.level_position),
        "too_few_judges": sum(len(f["entry_ids"]) for f in flags if f["kind"] == "too_few_judges"),
        "tie_flags": sum(1 for f in flags if f["kind"] in ("tie_across_boundary", "tie_last_boundary")),
        "tied_codes": tie,
    }
    db.session.add(SiteSetting(key=FULL_DEMO_FLAG, value=json.dumps(counts, ensure_ascii=False)))
    db.session.commit()
    return {**counts, "created": True, "demo_created": demo_created,
            "seconds": round(time.perf_counter() - started, 1)}


# --- Accounts -------------------------------------------------------------------------------------------

def _users() -> dict[str, User]:
    """The demo's accounts by username, with judge6..judge10 created when missing (one hash for all)."""
    wanted = {u for u, *_ in EXTRA_JUDGES}
    have = {u.username: u for u in db.session.scalars(select(User))}
    missing = [spec for spec in EXTRA_JUDGES if spec[0] not in have]
    if missing:
        admin = have.get("admin")
        schools = {s.name: s for s in db.session.scalars(select(School))}
        password_hash = hash_password(DEMO_PASSWORD)  # argon2 costs ~0.1 s: once, not per account
        for username, name, school, affiliation in missing:
            user = User(username=username, display_name=name, role="judge", school=schools.get(school),
                        affiliation=affiliation, password_hash=password_hash)
            db.session.add(user)
            db.session.flush()
            audit.record("user_created", user, user=admin,
                         summary=f"演示数据：新建评委账号 {username}（{name}）")
            have[username] = user
    needed = {"admin", *COORDINATORS.values(), *(f"judge{i}" for i in range(1, 6)), *wanted}
    absent = sorted(needed - set(have))
    if absent:
        raise DemoError(f"演示账号缺失：{'、'.join(absent)}，无法载入完整演示数据。")
    for username in needed:
        user = have[username]
        if username.startswith("judge") and (user.role != "judge" or not user.active):
            raise DemoError(f"演示账号 {username} 不是在用的评委账号，无法载入完整演示数据。")
    return have


@contextmanager
def _acting_as(user: User):
    """Operations that log without taking the user (create_entry, review_entry) read current_user:
    give them a request in which this user is logged in, so the audit log names who acted."""
    with current_app.test_request_context("/"):
        login_user(user)
        try:
            yield
        finally:
            g.pop("_login_user", None)


# --- Registration and review ----------------------------------------------------------------------------

def _student_name(rng: random.Random, used: set[str]) -> tuple[str, str]:
    while True:
        gender = rng.choice(("男", "女"))
        surname = rng.choices(("欧阳", "司马", rng.choice(SURNAMES)), (2, 2, 96))[0]
        name = surname + rng.choice(BOY_NAMES if gender == "男" else GIRL_NAMES)
        if name not in used:
            used.add(name)
            return name, gender


def _entry_specs(edition: Edition, rng: random.Random) -> list[tuple[tuple[str, str], str, EntryInput]]:
    """(pool, school name, input) for every demo entry, pools in a fixed order."""
    categories = {c.code: c for c in edition.categories}
    divisions = {d.code: d for d in edition.divisions}
    titles = {code: rng.sample(items, len(items)) for code, items in TITLES.items()}
    title_at = Counter()
    used_names: dict[str, set[str]] = defaultdict(set)
    first_authors = Counter()  # (school, category, grade, class): the per-class cap counts first authors
    featured = list(FEATURED_STUDENTS)
    specs = []
    for pool, size in POOL_SIZES.items():
        category_code, division_code = pool
        category, division = categories[category_code], divisions[division_code]
        schools = PRIMARY_SCHOOLS if division_code == "X" else JUNIOR_SCHOOLS
        grades = GRADES["C"] if division_code == "C" else GRADES[pool]
        names = list(schools)
        picks = rng.choices(names, [schools[n][0] for n in names], k=size)
        for school in picks:
            classes = schools[school][1]
            while True:
                grade, class_name = rng.choice(grades), f"{rng.randint(1, classes)}班"
                if first_authors[(school, category_code, grade, class_name)] < edition.max_entries_per_class:
                    break
            first_authors[(school, category_code, grade, class_name)] += 1
            sizes, weights = TEAM_SIZES[category_code]
            students = []
            for position in range(rng.choices(sizes, weights)[0]):
                if position == 0 and featured:
                    name, gender = featured.pop(0)
                    used_names[school].add(name)
                else:
                    name, gender = _student_name(rng, used_names[school])
                # Team members are of one grade, mostly of one class.
                own_class = class_name if rng.random() < 0.7 else f"{rng.randint(1, classes)}班"
                students.append(StudentInput(name, gender, grade, class_name if position == 0 else own_class))
            teachers = INSTRUCTORS[school]
            count = min(category.max_instructors, len(teachers), rng.choices((1, 2), (60, 40))[0])
            instructors = rng.sample(teachers, count)
            title = titles[category_code][title_at[category_code] % len(titles[category_code])]
            title_at[category_code] += 1
            subform = rng.choices(*SUBFORMS)[0] if category.subform_list else None
            specs.append((pool, school, EntryInput(
                title=title, category_id=category.id, division_id=division.id, students=students,
                instructors=instructors, subform=subform, description=_description(category_code, title, subform))))
    return specs


def _description(category_code: str, title: str, subform: str | None) -> str:
    if category_code == "XF":
        return f"同学们在日常生活中发现问题，自己设计制作了“{title}”，经过多次试验和改进，能够稳定演示。"
    if category_code == "LW":
        return f"本文通过观察、实验和调查，记录了完整的研究过程和数据，对“{title}”得出了自己的结论并提出建议。"
    return f"{subform}作品，描绘了“{title}”的场景，表达了对未来科技生活的想象。"


def _register(edition: Edition, users: dict[str, User], rng: random.Random) -> dict[tuple[str, str], list[Entry]]:
    """Register every entry through registration.create_entry; returns the entries per pool in order."""
    schools = {s.name: s for s in db.session.scalars(select(School))}
    open_window = registration_closed_reason(edition) is None
    rules = RegistrationRules(edition)
    codes = registration.CodeAllocator(edition)
    by_pool: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    specs = _entry_specs(edition, rng)
    # The coordinator registers his school's entries while the window is open; the organizer the others
    # (and all of them once the window has closed: the operation lets only the organizer do that).
    by_actor: dict[str, list] = defaultdict(list)
    for index, (pool, school, data) in enumerate(specs):
        actor = COORDINATORS.get(school) if open_window else None
        by_actor[actor or "admin"].append((index, pool, school, data))
    created: dict[int, tuple] = {}
    for actor, items in by_actor.items():
        user = users[actor]
        with _acting_as(user):
            for index, pool, school, data in items:
                try:
                    entry, _ = registration.create_entry(edition, schools[school], data, user, rules=rules, codes=codes)
                except registration.RegistrationError as error:
                    raise DemoError(f"演示作品《{data.title}》（{school}）报名失败：{error}") from error
                created[index] = (pool, entry)
    for index in sorted(created):
        pool, entry = created[index]
        by_pool[pool].append(entry)
    db.session.flush()
    return by_pool


def _review(entries: dict[tuple[str, str], list[Entry]], admin: User) -> dict[str, int]:
    """资格审查: approve almost all, disqualify one with a remark, leave two waiting."""
    waiting = {(pool, index) for pool, index in WAITING}
    dq_pool, dq_index, dq_remark = DISQUALIFIED
    counts = Counter()
    with _acting_as(admin):
        for pool, items in entries.items():
            for index, entry in enumerate(items):
                if (pool, index) in waiting:
                    counts["waiting"] += 1
                elif (pool, index) == (dq_pool, dq_index):
                    registration.review_entry(entry, "disqualify", dq_remark, admin)
                    counts["disqualified"] += 1
                else:
                    registration.review_entry(entry, "approve", None, admin)
                    counts["approved"] += 1
    db.session.flush()
    return counts


# --- Panels and assignment ------------------------------------------------------------------------------

def _panels(edition: Edition, rnd: Round, users: dict[str, User], seed: int) -> int:
    admin = users["admin"]
    codes = {(p.category.code, p.division.code): p for p in panel_ops.create_round_panels(rnd, admin)}
    for key, panel in sorted(codes.items()):
        judges, per_entry = PANELS[key]
        for username in judges:
            panel_ops.add_judge(panel, users[username], admin)
        panel_ops.save_settings(panel, per_entry, seed % 2**31, admin)
        try:
            panel_ops.run_assignment(panel, admin)
        except panel_ops.AssignmentImpossible as error:
            raise DemoError(f"{panel.name}分配失败：{error.message}") from error
    db.session.flush()
    return len(codes)


def _declare_conflict(edition: Edition, entries, users: dict[str, User], admin: User) -> None:
    """A judge of the small 小论文·小学组 panel recuses himself after the assignment: nobody is left to
    take over, so the entry keeps two judges and will be reported as having too few scores."""
    pool, username, index, reason = CONFLICT
    entry = entries[pool][index]
    panel_ops.declare_conflict(edition, users[username], reason, admin, entry=entry)
    db.session.flush()


# --- Scores ---------------------------------------------------------------------------------------------

def _plan_scores(edition: Edition, rnd: Round, entries, users: dict[str, User], rng: random.Random) -> dict:
    """{(judge_id, entry_id): {criterion_id: Decimal}} for every assignment of the round.

    An entry's quality is drawn once, each criterion varies around it, each judge has a leniency
    (one harsh, one lenient, the others close to 0) and some noise; points have one decimal."""
    by_id = {u.id: u for u in users.values()}
    leniency = {}
    for user in sorted(by_id.values(), key=lambda u: u.id):
        drawn = max(-0.03, min(0.03, rng.gauss(0, 0.015)))  # the others stay well short of the harsh one
        leniency[user.id] = LENIENCY.get(user.username, drawn)
    pairs = sorted(db.session.execute(select(Assignment.judge_id, Assignment.entry_id)
                                      .where(Assignment.round_id == rnd.id)).all(), key=lambda p: (p[1], p[0]))
    all_entries = {e.id: e for items in entries.values() for e in items}
    criteria = {c.id: list(c.criteria) for c in edition.categories}
    quality: dict[int, tuple[float, list[float]]] = {}
    plan = {}
    for judge_id, entry_id in pairs:
        entry = all_entries[entry_id]
        rubric = criteria[entry.category_id]
        if entry_id not in quality:
            base = min(0.93, max(0.42, rng.gauss(0.72, 0.1)))
            quality[entry_id] = (base, [rng.gauss(0, 0.05) for _ in rubric])
        base, shifts = quality[entry_id]
        values = {}
        for criterion, shift in zip(rubric, shifts):
            share = min(1.0, max(0.15, base + shift + leniency.get(judge_id, 0) + rng.gauss(0, 0.04)))
            values[criterion.id] = (criterion.max_points * Decimal(repr(share))).quantize(TENTHS, ROUND_HALF_UP)
        plan[(judge_id, entry_id)] = values
    return plan


def _make_tie(edition: Edition, entries, plan: dict) -> list[str]:
    """Give the entries either side of a prize boundary of TIE_POOL the same scores (judge by judge, in
    judge order): an exact tie that the tie-breakers cannot split, so the results page flags it."""
    items = [e for e in entries[TIE_POOL] if e.status == "approved"]
    category_id, division_id = items[0].category_id, items[0].division_id
    rule = next(r for r in edition.pool_rules if (r.category_id, r.division_id) == (category_id, division_id))
    positions = {level.id: level.position for level in edition.prize_levels}
    quotas = sorted((positions[q.prize_level_id], Decimal(q.value)) for q in rule.quotas)
    first = items[0].category.criteria[0].id  # rubric order: the first criterion breaks ties
    judges = defaultdict(list)
    for judge_id, entry_id in sorted(plan):
        judges[entry_id].append(judge_id)

    def pool_input():
        return engine.PoolInput(
            entries=[engine.EntryScores(e.id, True, [
                engine.JudgeTotal(j, sum(plan[(j, e.id)].values(), Decimal(0)), plan[(j, e.id)][first])
                for j in judges[e.id]]) for e in items],
            method=edition.scoring_method, trim_min_judges=edition.trim_min_judges, min_judges=edition.min_judges,
            quota_mode=rule.quota_mode, quotas=quotas, min_score=rule.min_score)

    result = engine.compute_pool(pool_input())
    ranked = [r.entry_id for r in result.results if r.rank is not None]
    inner = [c for _, c in result.boundaries if 0 < c < len(ranked)]
    if not inner:
        return []
    boundary = inner[len(inner) // 2]
    above, below = ranked[boundary - 1], ranked[boundary]
    if len(judges[above]) != len(judges[below]):
        return []
    for source, target in zip(judges[above], judges[below]):
        plan[(target, below)] = dict(plan[(source, above)])
    codes = {e.id: e.code for e in items}
    return [codes[above], codes[below]]


def _submit(rnd: Round, plan: dict, users: dict[str, User], rng: random.Random) -> int:
    """Every planned score, submitted by its judge from the tablet through scoring.submit_score."""
    by_id = {u.id: u for u in users.values()}
    entries = {e.id: e for e in db.session.scalars(select(Entry).where(
        Entry.id.in_({entry_id for _, entry_id in plan})))}
    submitted = 0
    for judge_id, entry_id in sorted(plan, key=lambda p: (p[0], p[1])):
        entry = entries[entry_id]
        comment = rng.choice(COMMENTS[entry.category.code]) if rng.random() < 0.2 else None
        status, body = submit_score(by_id[judge_id], Submission(
            idempotency_key=f"demo-{rnd.id}-{entry_id}-{judge_id}", round_id=rnd.id, entry_id=entry_id,
            values={str(cid): format(points, "f") for cid, points in plan[(judge_id, entry_id)].items()},
            status="submitted", comment=comment), source="tablet")
        if status not in (200, 201):
            raise DemoError(f"演示评分提交失败（作品 {entry.code}，评委 {by_id[judge_id].username}）：{body.get('message')}")
        submitted += 1
    db.session.flush()
    present = db.session.scalar(select(func.count()).select_from(Score).where(
        Score.round_id == rnd.id, Score.status == "submitted"))
    if present != submitted:
        raise DemoError(f"演示评分数不符：提交{submitted}份，库中{present}份。")
    return submitted
