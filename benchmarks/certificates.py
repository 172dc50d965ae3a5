"""Printing 10,000 certificates into one PDF against the floor of the work: bare reportlab drawing
the same texts with the same embedded font and the same QR codes.

The certificates are realistic: 80 % student (a few team certificates with up to six names),
17 % 优秀指导教师, 3 % 优秀组织奖; Chinese names with rare characters (彧 喆 玥 犇 淼 䶮 鑫), titles
of 6 to about 60 characters, a 证书编号 and a QR code of the verification URL on each. They come
from a generator (nothing holds the batch), the same one for both runs:
  (a) the floor: one reportlab Canvas; per page the title, the body cut into lines of a fixed
      number of characters at one fixed size, issuer, date and number with drawString, the QR
      code from reportlab's encoder (QrCodeWidget(...).qr) with its dark modules as one filled
      path; every page held in memory until save(). (Drawing the widget through renderPDF, as
      reportlab's examples do, makes this floor 3x slower: it encodes the code twice, once for
      getBounds, and validates every attribute of ~150 Rect shapes; so it is no floor);
  (b) judging.printing.certificates.write_certificates: glyph check, fitting (binary search over
      sizes with CJK line breaking), justified lines, frame, QR, each page streamed to the file.
Each runs in its own process, so its peak memory is its own: resource.getrusage ru_maxrss (peak
resident set size, the honest number; it includes the interpreter, Flask and the ~50 MB the two
registered font faces take), and the growth over the RSS measured just before the first page.
Times are the child's CPU time (time.process_time: user + system), with wall time beside it: on
a shared two-core machine wall time swings with the neighbours' load, CPU time hardly does.
The last line is ratio=<(b) CPU time / (a) CPU time>.

    .venv/bin/python benchmarks/certificates.py [--count 10000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COUNT = 10_000
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
DOUBLE_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方")
GIVEN = "子涵浩宇欣怡梓轩雨桐一诺思远俊杰嘉懿佳琪晨阳彧喆玥犇淼䶮鑫昊睿泽瑶婷博文皓语嫣煜祺芮萱铭"
TECH = ("物联网", "人工智能", "太阳能", "单片机", "3D打印", "图像识别", "北斗定位", "传感器", "Arduino")
PLACE = ("校园", "家庭", "教室", "社区", "农田", "河道", "公交站", "养老院")
THING = ("垃圾分类回收装置", "节水灌溉系统", "防近视台灯", "盲人导航手杖", "智能药盒", "空气质量监测仪", "雨伞烘干架",
         "防溺水报警手环", "自动浇花器")
SUFFIX = ("", "", "的设计与制作", "的研究", "的改进与应用研究", "的设计、制作与推广应用研究")
PAINTINGS = ("未来的海底城市", "太空农场", "会飞的学校", "月球上的图书馆", "2050年的环保机器人", "植物医生", "云端快递站")
CATEGORIES = (("XF", "小发明"), ("LW", "小论文"), ("KH", "科幻画"), ("SJ", "科技实践活动"))
DIVISIONS = (("X", "小学组"), ("C", "初中组"))
LEVELS = ("一等奖", "二等奖", "三等奖", "优秀奖")
ISSUER = "XX县教育局\nXX县科学技术协会"
EDITION = ("第十三届", "XX县青少年科技创新大赛")
URL = "https://kc.example.edu.cn/v/"


def name(rng: random.Random) -> str:
    surname = rng.choice(DOUBLE_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def title(rng: random.Random, category: str) -> str:
    if category == "科幻画":
        return rng.choice(PAINTINGS)
    text = f"基于{rng.choice(TECH)}的{rng.choice(PLACE)}{rng.choice(THING)}{rng.choice(SUFFIX)}"
    return text * 2 if rng.random() < 0.02 else text  # now and then a very long one


def certificates(count: int, seed: int = 20261125):
    """The batch, made one certificate at a time."""
    from judging.core.numerals import chinese_date
    from judging.printing.certificates import DEFAULT_TEXTS, CertificateData, fill_text
    import datetime as dt

    rng = random.Random(seed)
    date_text = chinese_date(dt.date(2026, 11, 25))
    sequence = {}
    for index in range(count):
        (code, category), (division_code, division) = rng.choice(CATEGORIES), rng.choice(DIVISIONS)
        level = rng.choices(range(4), weights=(1, 2, 3, 2))[0]
        key = (code, division_code, level)
        sequence[key] = sequence.get(key, 0) + 1
        number = f"2026KC-{code}{division_code}-{level + 1}-{sequence[key]:04d}"
        students = [name(rng) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        values = {"届次": EDITION[0], "大赛名称": EDITION[1], "类别": category, "组别": division, "等级": LEVELS[level],
                  "作品名称": title(rng, category), "学校": f"XX县第{rng.randint(1, 40)}实验小学", "日期": date_text,
                  "学生": "、".join(students), "指导教师": name(rng)}
        roll = rng.random()
        if roll < 0.03:
            kind, recipient, number = "school", values["学校"], f"2026KC-ORG-{index:05d}"
        elif roll < 0.20:
            kind, recipient, number = "instructor", values["指导教师"], number + "-T1"
        else:
            kind = "student"
            recipient = "、".join(students + [name(rng) for _ in range(3)]) if roll > 0.995 else students[0]
        body = fill_text(DEFAULT_TEXTS[kind], {**values, "姓名": recipient})
        yield CertificateData(kind, body, number, recipient, ISSUER, date_text, URL + number)


def rss_mb() -> float:
    """The current resident set size (Linux /proc), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def bare(items, path: Path, fonts) -> int:
    """The floor: plain reportlab, fixed positions and sizes, no checks, no fitting."""
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    width, height = landscape(A4)
    qr_size = 22 * mm
    c = Canvas(str(path), pagesize=(width, height), pageCompression=1, initialFontName=fonts.regular)
    pages = 0
    for item in items:
        c.setFont(fonts.bold, 46)
        c.drawCentredString(width / 2, height - 50 * mm, item.title)
        c.setFont(fonts.regular, 18)
        y = height - 80 * mm
        for start in range(0, len(item.body), 34):
            c.drawString(38 * mm, y, item.body[start:start + 34])
            y -= 18 * 1.75
        c.setFont(fonts.regular, 16)
        for k, line in enumerate(item.issuer.splitlines()):
            c.drawCentredString(width - 72 * mm, 56 * mm - k * 22, line)
        c.drawCentredString(width - 72 * mm, 30 * mm, item.date_text)
        c.setFont(fonts.regular, 10)
        c.drawString(32 * mm, 22 * mm, "证书编号：" + item.number)
        # The QR code from reportlab's encoder, its dark modules as one filled path: the cheapest
        # way to draw it (renderPDF of the widget costs 3x the whole page, see the module docstring).
        qr = QrCodeWidget(item.verify_url, barLevel="M", barBorder=0).qr
        qr.make()
        module = qr_size / qr.getModuleCount()
        path = c.beginPath()
        for row, modules in enumerate(qr.modules):
            top = 30 * mm + qr_size - (row + 1) * module
            column = 0
            for dark, run in itertools.groupby(modules):
                length = sum(1 for _ in run)
                if dark:
                    path.rect(32 * mm + column * module, top, length * module, module)
                column += length
        c.drawPath(path, stroke=0, fill=1)
        c.showPage()
        pages += 1
    c.save()
    return pages


def child(mode: str, count: int, out: Path) -> None:
    """One measured run in this process; prints its numbers as JSON."""
    from judging.core.fonts import ensure_fonts
    from judging.printing.certificates import write_certificates

    fonts = ensure_fonts()
    before = rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    if mode == "bare":
        pages = bare(certificates(count), out, fonts)
    else:
        pages = write_certificates(certificates(count), out, fonts)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"pages": pages, "seconds": seconds, "cpu": cpu, "peak_mb": peak, "setup_mb": before,
                      "bytes": out.stat().st_size, "family": fonts.family}))


def run(mode: str, count: int, out: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", mode, "--count", str(count), "--out", str(out)],
                            capture_output=True, text=True, check=False)
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"the {mode} run failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=COUNT, help="certificates to print (default 10,000)")
    parser.add_argument("--keep", metavar="DIR", help="keep both PDFs in this folder")
    parser.add_argument("--child", choices=("bare", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The static font instances take ~25 s to make once: share the cache the tests use.
    os.environ.setdefault("FONT_CACHE_DIR", str(Path.home() / ".cache" / "judging" / "fonts"))
    if args.child:
        child(args.child, args.count, Path(args.out))
        return

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_certificates_"))
    workdir.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for item in certificates(args.count):
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    # Make the font instances (once per machine) outside the timed runs.
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                    "from judging.core.fonts import ensure_fonts; ensure_fonts()", str(ROOT)], check=True)
    print(f"{args.count} certificates: {kinds.get('student', 0)} student, {kinds.get('instructor', 0)} instructor, "
          f"{kinds.get('school', 0)} school; one QR code (level M) each")

    results = {}
    for mode, label in (("bare", "(a) bare reportlab: fixed lines, QR as one path, pages held until save"),
                        ("ours", "(b) write_certificates: check, fit, wrap, justify, frame, QR, streamed")):
        out = workdir / f"{mode}.pdf"
        r = results[mode] = run(mode, args.count, out)
        assert r["pages"] == args.count, r
        print(f"{label}:\n    {r['cpu']:.1f} s CPU ({r['seconds']:.1f} s wall), {r['pages'] / r['cpu']:.0f} pages/s, peak RSS "
              f"{r['peak_mb']:.0f} MB (+{r['peak_mb'] - r['setup_mb']:.0f} MB over {r['setup_mb']:.0f} MB after "
              f"loading the font), {r['bytes'] / 1e6:.1f} MB file")
    print(f"font: {results['ours']['family']}")

    from pypdf import PdfReader

    reader = PdfReader(str(workdir / "ours.pdf"))
    last = None
    for last in certificates(args.count):
        pass
    assert len(reader.pages) == args.count
    assert last.number in reader.pages[-1].extract_text(), "the last page does not show its number"
    print(f"read back with pypdf: {len(reader.pages)} pages, the last shows {last.number}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"ratio={results['ours']['cpu'] / results['bare']['cpu']:.2f}")


if __name__ == "__main__":
    main()
