"""A 10,000-row entry import against the floor of the work: openpyxl reading the same file.

Builds an edition with generous caps in a fresh SQLite database made by the migrations, writes
a 10,000-row organizer template (write_only, rows spread over 50 schools, 1-3 students each),
then times
  (a) openpyxl alone: read_only, every row, values only;
  (b) the preview: read + normalise + check every row (plan_entry_import);
  (c) the confirmed import as the confirm step runs it: load the rows the preview kept, create
      every entry through create_entry (which checks every rule again) with its students and
      instructors, one flush, one audit event, commit.
The last line is ratio=<(c) / (a)>.

    .venv/bin/python benchmarks/import_entries.py [rows]
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
SCHOOLS = 50


def build_file(edition, schools) -> bytes:
    from openpyxl import Workbook

    from judging.registration.imports import entry_sheet

    spec = entry_sheet(edition, organizer=True, for_template=True)
    categories = edition.categories
    divisions = edition.divisions
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(spec.title)
    ws.append([c.header for c in spec.columns])
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    for i in range(ROWS):
        category = categories[i % len(categories)]
        team = 1 + i % category.max_students
        names = "、".join(f"{surnames[(i + k) % len(surnames)]}同学{i}号{k}" for k in range(team))
        genders = "、".join("男女"[(i + k) % 2] for k in range(team))
        forms = category.subform_list
        ws.append([
            schools[i % len(schools)].name if i % 3 else schools[i % len(schools)].code,
            f"第{i}号作品：会思考的节水装置",
            category.name if i % 2 else category.code.lower(),
            forms[i % len(forms)] if forms else "",
            divisions[i % len(divisions)].name,
            names,
            genders,
            ["五年级", "5", "初一", "八年级"][i % 4],
            f"{i % 12 + 1}班",
            "王老师、赵老师" if category.max_instructors >= 2 else "王老师",
            "利用传感器在土壤干燥时自动浇水，节约用水，方便家庭养花。",
            f"https://video.example.com/{i}" if i % 5 == 0 else "",
        ])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def openpyxl_read(data: bytes) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    count = 0
    for _ in wb["作品"].iter_rows(values_only=True):
        count += 1
    wb.close()
    return count


def best_of(times: int, fn):
    best, result = None, None
    for _ in range(times):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench_import_"))
    os.environ["JUDGING_INSTANCE"] = str(workdir)
    os.environ.setdefault("SECRET_KEY", "benchmark-only")

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from judging import create_app
    from judging.contests import operations as contest_ops
    from judging.core.models import School, User
    from judging.extensions import db
    from judging.registration.imports import apply_entry_import, dump_plan, load_plan, plan_entry_import
    from judging.registration.models import Entry, EntryStudent

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
                      "UPLOAD_DIR": str(workdir / "uploads"), "FAST_PASSWORD_HASH": True})
    with app.app_context():
        upgrade()
        organizer = User(username="bench", display_name="组委会", role="organizer", password_hash="x")
        db.session.add(organizer)
        schools = [School(name=f"第{i}实验学校", code=f"S{i:02d}") for i in range(SCHOOLS)]
        db.session.add_all(schools)
        edition = contest_ops.create_edition({"name": "基准县青少年科技创新大赛", "number": 1, "code": "JZ",
                                              "max_entries_per_class": None, "max_entries_per_school": None})
        for spec in ({"code": "XF", "name": "小发明", "max_students": 3, "max_instructors": 2},
                     {"code": "LW", "name": "小论文", "max_students": 3, "max_instructors": 2},
                     {"code": "KH", "name": "科幻画", "subforms": "卡通画、素描画、国画", "max_students": 1,
                      "max_instructors": 1}):
            contest_ops.save_category(edition, spec)
        contest_ops.save_division(edition, {"code": "X", "name": "小学组"})
        contest_ops.save_division(edition, {"code": "C", "name": "初中组"})
        edition.max_entries_per_class = edition.max_entries_per_school = None  # generous caps
        db.session.commit()

        start = time.perf_counter()
        data = build_file(edition, schools)
        print(f"file: {ROWS} rows, {len(data) / 1024:.0f} KiB, written in {time.perf_counter() - start:.2f} s")

        read_time, count = best_of(3, lambda: openpyxl_read(data))
        assert count == ROWS + 1, count
        print(f"(a) openpyxl read_only, all rows, values only: {read_time:.2f} s")

        preview_time, plan = best_of(2, lambda: plan_entry_import(data, "bench.xlsx", edition, organizer))
        assert plan.ok, [str(f) for f in plan.faults[:5]]
        db.session.rollback()  # the preview reads only
        print(f"(b) preview (read + normalise + check): {preview_time:.2f} s  ({preview_time / read_time:.2f}x)")

        kept = dump_plan(plan)  # what the preview keeps beside the upload
        print(f"    rows kept by the preview: {len(kept) / 1024:.0f} KiB")

        start = time.perf_counter()
        plan = load_plan(kept, edition, None)
        loaded = time.perf_counter()
        result = apply_entry_import(plan, edition, organizer)
        db.session.commit()
        import_time = time.perf_counter() - start
        print(f"(c) confirmed import (load kept rows {loaded - start:.2f} s + check and write "
              f"{import_time - (loaded - start):.2f} s): {import_time:.2f} s")

        entries = db.session.scalar(select(func.count()).select_from(Entry))
        students = db.session.scalar(select(func.count()).select_from(EntryStudent))
        assert entries == ROWS == result.count, (entries, result.count)
        print(f"    {entries} entries, {students} students; codes {result.summary}")
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"ratio={import_time / read_time:.2f}")


if __name__ == "__main__":
    main()
