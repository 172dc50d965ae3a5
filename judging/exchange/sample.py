"""A sample contest workbook for the docs and for timing imports: the demo contest's setup
(contests/demo.py: rubrics, divisions, quotas, rewards), a few schools, `entries` entries spread over
the pools, five judges per pool and every judge's score of every entry of his pool (终评).

    python -m judging.exchange.sample --entries 60 --out 竞赛数据包示例.xlsx

Needs no database; deterministic for a seed. Importing it twice needs another 届次 (--number).
"""
from __future__ import annotations

import argparse
import random
from decimal import Decimal

from judging.contests import demo
from judging.exchange import workbook as wb

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
GIVEN = "子涵浩然梓轩欣怡雨桐思远一诺佳琪宇航俊杰语嫣若曦明轩沐阳晨曦彧鑫喆玥犇淼"
TITLES = {"XF": ["自动感应浇花器", "防近视台灯", "节水龙头", "智能垃圾分类桶", "盲人导航手杖", "折叠晾衣架"],
          "LW": ["校园噪声调查", "家乡河流水质观察", "蚂蚁觅食路线研究", "不同材料保温效果比较"],
          "KH": ["未来城市", "海底学校", "太空农场", "会飞的房子"]}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def sample_sheets(entries: int = 60, seed: int = 2026, number: int = demo.EDITION_NUMBER) -> list[wb.OutSheet]:
    rng = random.Random(seed)
    categories = demo.CATEGORIES
    divisions = demo.DIVISIONS
    levels = demo.LEVELS
    settings = [["名称", demo.EDITION_NAME], ["届次", number], ["主办单位", "XX县教育局　XX县科学技术协会"],
                ["评分方法", "去掉最高分和最低分"], ["去极值最少评委数", 5], ["最少评委数", 3], ["获奖最低分", 60],
                ["教师奖励累计方式", "累加"], ["大赛代码", "XXKC"], ["主题", "创新·体验·成长"]]
    category_rows = [[c["code"], c["name"], c["subforms"], c["max_students"], c["max_instructors"]]
                     for c in categories]
    division_rows = [[d["code"], d["name"]] for d in divisions]
    rubric_rows = [[c["name"], name, points, text]
                   for c in categories for name, points, text in demo.RUBRICS[c["code"]]]
    quota_rows = []
    for c in categories:
        for name, count in zip((lv[0] for lv in levels), demo.PRIMARY_COUNTS):
            quota_rows.append([c["name"], divisions[0]["name"], name, int(count), None])
        for name, percent in zip((lv[0] for lv in levels), demo.JUNIOR_PERCENT):
            quota_rows.append([c["name"], divisions[1]["name"], name, None, f"{percent}%"])
    reward_rows = [[name, int(amount), int(points)] for name, amount, points, *_ in levels]
    schools = [(name, code, cluster, parent) for name, code, cluster, parent in demo.SCHOOLS]
    school_rows = [[name, code, cluster, parent] for name, code, cluster, parent in schools]

    pools = [(c, d) for c in categories for d in divisions]
    judges: dict[tuple[str, str], list[tuple[str, str]]] = {}
    judge_rows = []
    units = ["县教师进修学校", "县科技馆", "县科协", "县第一中学", "县实验小学", "县教研室"]
    for c, d in pools:
        panel = [(_name(rng), rng.choice(units)) for _ in range(5)]
        judges[(c["code"], d["code"])] = panel
        judge_rows += [[name, unit, c["name"], d["name"]] for name, unit in panel]
    entry_rows, score_rows = [], []
    sequences: dict[tuple[str, str], int] = {}
    criterion_names: list[str] = []
    for c in categories:
        for name, *_ in demo.RUBRICS[c["code"]]:
            if name not in criterion_names:
                criterion_names.append(name)
    for i in range(entries):
        c, d = pools[i % len(pools)]
        sequences[(c["code"], d["code"])] = sequences.get((c["code"], d["code"]), 0) + 1
        code = f"{c['code']}{d['code']}-{sequences[(c['code'], d['code'])]:03d}"
        school = rng.choice(schools)[0]
        students = list(dict.fromkeys(_name(rng) for _ in range(rng.randint(1, c["max_students"]))))
        grade = rng.choice(("三年级", "四年级", "五年级", "六年级")) if d["code"] == "X" else rng.choice(("七年级", "八年级", "九年级"))
        forms = wb.split_cell(c["subforms"] or "")
        entry_rows.append([code, rng.choice(TITLES[c["code"]]), c["name"], d["name"], school, "、".join(students),
                           _name(rng) + "老师" if c["max_instructors"] else None, "作品说明。", "有效",
                           rng.choice(forms) if forms else None, None, grade, f"{rng.randint(1, 8)}班"])
        quality = rng.uniform(0.45, 0.95)
        for judge, unit in judges[(c["code"], d["code"])]:
            points = {}
            for name, maximum, _ in demo.RUBRICS[c["code"]]:
                value = Decimal(str(max(0.0, min(maximum, maximum * (quality + rng.uniform(-0.12, 0.12))))))
                points[name] = float(value.quantize(Decimal("0.1")))
            score_rows.append([code, f"{judge}（{unit}）", *[points.get(n) for n in criterion_names], None])
    return [
        wb.OutSheet(wb.EDITION, ["项目", "值"], settings, {0: 20, 1: 40}),
        wb.OutSheet(wb.CATEGORIES, ["代码", "名称", "作品形式", "学生人数上限", "指导教师人数上限"], category_rows),
        wb.OutSheet(wb.DIVISIONS, ["代码", "名称"], division_rows),
        wb.OutSheet(wb.RUBRIC, ["类别", "指标", "满分", "说明"], rubric_rows, {3: 60}),
        wb.OutSheet(wb.QUOTAS, ["类别", "组别", "奖项", "名额", "比例"], quota_rows),
        wb.OutSheet(wb.REWARDS, ["奖项", "金额", "加分"], reward_rows),
        wb.OutSheet(wb.SCHOOLS, ["名称", "代码", "片区", "上级学校"], school_rows, {0: 24, 3: 24}),
        wb.OutSheet(wb.ENTRIES, ["作品编号", "作品名称", "类别", "组别", "学校", "学生", "指导教师", "简介", "状态",
                                 "作品形式", "性别", "年级", "班级"], entry_rows, {1: 24, 4: 24}),
        wb.OutSheet(wb.JUDGES, ["姓名", "单位", "类别", "组别"], judge_rows, {1: 20}),
        wb.OutSheet(wb.SCORES, ["作品编号", "评委", *criterion_names, "评语"], score_rows, {1: 24}),
    ]


def sample_workbook(entries: int = 60, seed: int = 2026, number: int = demo.EDITION_NUMBER) -> bytes:
    return wb.write_workbook(sample_sheets(entries, seed, number))


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a sample contest workbook (竞赛数据包示例).")
    parser.add_argument("--entries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--number", type=int, default=demo.EDITION_NUMBER, help="届次")
    parser.add_argument("--out", default="竞赛数据包示例.xlsx")
    args = parser.parse_args()
    with open(args.out, "wb") as out:
        out.write(sample_workbook(args.entries, args.seed, args.number))
    print(args.out)


if __name__ == "__main__":
    main()
