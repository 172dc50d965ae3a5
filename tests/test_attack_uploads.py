"""Uploads that lie about themselves or try to exhaust the server, through the real pages: refused with a
Chinese message naming the file, and nothing stored (no row, no file on disk)."""
from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from judging.core import sheets
from tests.conftest import login
from tests.test_attack_surface import check_headers


def png(width=8, height=8, noise=False) -> bytes:
    from PIL import Image

    if noise:
        import os

        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), "green")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries one compressed row: the classic pixel-flood bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * (width * 3 + 1)))
            + chunk(b"IEND", b""))


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"

NOT_A_TYPE = "不是可用的文件类型"
ATTACHMENT_CASES = [
    ("a zip named .png", "作品照片.png", lambda: zip_of({"a.txt": b"x"}), NOT_A_TYPE),
    ("an HTML page named .png", "照片.png", lambda: HTML, NOT_A_TYPE),
    ("a Windows program named .png", "照片.png", lambda: PE, NOT_A_TYPE),
    ("an SVG with script named .png", "照片.png", lambda: SVG, NOT_A_TYPE),
    ("an SVG named .svg", "图.svg", lambda: SVG, NOT_A_TYPE),
    ("a GIF", "动图.gif", lambda: GIF, NOT_A_TYPE),
    ("an HTML page named .pdf", "论文.pdf", lambda: HTML, NOT_A_TYPE),
    ("a PDF cut short", "论文.pdf", lambda: PDF[:-8] + b"x" * 2000, "PDF 文件不完整"),
    ("a PNG named .pdf", "论文.pdf", lambda: png(), "扩展名是 .pdf，内容却是PNG 图片"),
    ("a PDF named .jpg", "照片.jpg", lambda: PDF, "扩展名是 .jpg，内容却是PDF 文件"),
    ("a pixel flood (40000 x 40000)", "大图.png", lambda: png_header_only(40000, 40000), "图片尺寸过大"),
    ("just over the pixel limit", "大图.png", lambda: png_header_only(8000, 8000), "图片尺寸过大"),
    ("a PNG cut short", "照片.png", lambda: png(64, 64, noise=True)[:300], "图片无法打开"),
    ("an empty file", "空.png", lambda: b"", "文件是空的"),
]


@pytest.fixture
def school_entry(db, make_user, make_school, make_entry):
    school = make_school("上传测试学校")
    coordinator = make_user("coordinator", username="upload_coord", school=school)
    return coordinator, make_entry(school)


def _stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _attachment_count(db) -> int:
    from judging.registration.models import Attachment

    return db.session.scalar(select(func.count()).select_from(Attachment))


def _upload(client, entry, files):
    data = {"files": [(io.BytesIO(body), name) for name, body in files]}
    return client.post(f"/school/entries/{entry.id}/attachments", data=data, content_type="multipart/form-data",
                       follow_redirects=True)


@pytest.mark.parametrize("what, name, make, reason", ATTACHMENT_CASES, ids=[c[0] for c in ATTACHMENT_CASES])
def test_attachments_that_lie_are_refused_and_nothing_is_kept(app, db, client, school_entry, what, name, make,
                                                             reason):
    coordinator, entry = school_entry
    login(client, coordinator)
    before = _stored_files(app)
    started = time.monotonic()
    page = _upload(client, entry, [(name, make())]).get_data(as_text=True)
    assert time.monotonic() - started < 5, what  # refused from the header, not after decoding a bomb
    assert f"文件「{name}」：" in page and reason in page, (what, page[page.find("flash"):][:400])
    assert _attachment_count(db) == 0
    assert _stored_files(app) == before  # no file, not even the temporary one


def test_one_bad_file_keeps_the_good_ones_of_the_batch_out_too(app, db, client, school_entry):
    coordinator, entry = school_entry
    login(client, coordinator)
    page = _upload(client, entry, [("好.png", png()), ("坏.png", HTML)]).get_data(as_text=True)
    assert "这次选择的文件都没有保存" in page
    assert _attachment_count(db) == 0 and _stored_files(app) == []


def test_an_attachment_over_the_per_file_limit_is_refused(app, db, client, school_entry):
    coordinator, entry = school_entry
    login(client, coordinator)
    app.config["ATTACHMENT_MAX_MB"] = 0.05  # 51 KB
    page = _upload(client, entry, [("大照片.png", png(200, 200, noise=True))]).get_data(as_text=True)
    assert "文件「大照片.png」：" in page and "超过了每个文件 0.05 MB 的上限" in page
    assert _attachment_count(db) == 0 and _stored_files(app) == []


def test_a_request_body_over_max_upload_is_answered_413_in_chinese(app, db, client, school_entry):
    coordinator, entry = school_entry
    login(client, coordinator)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = client.post(f"/school/entries/{entry.id}/attachments", content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(b"\x00" * (2 * 1024 * 1024)), "巨大.png")]})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "文件过大" in page and "上传的文件超过了1 MB 的上限" in page
    assert not check_headers(response, "413")
    assert _attachment_count(db) == 0 and _stored_files(app) == []


def test_a_client_supplied_name_and_type_decide_nothing(app, db, client, school_entry):
    """A path in the name and a text/html content type: stored under our random name as a PNG, served as one."""
    from judging.registration.models import Attachment

    coordinator, entry = school_entry
    login(client, coordinator)
    data = {"files": [(io.BytesIO(png()), "../../../static/evil.png", "text/html")]}
    client.post(f"/school/entries/{entry.id}/attachments", data=data, content_type="multipart/form-data")
    attachment = db.session.scalar(select(Attachment))
    assert attachment.original_name == "evil.png" and attachment.content_type == "image/png"
    files = _stored_files(app)
    assert [p.name for p in files] == [attachment.stored_name]
    assert files[0].parent.parent == Path(app.config["UPLOAD_DIR"]) / "attachments"
    response = client.get(f"/files/attachments/{attachment.id}")
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_that_is_also_html_is_served_as_a_pdf_only(app, db, client, school_entry):
    """A polyglot passes the PDF check (it is a PDF); what keeps its HTML inert is how it is served."""
    from judging.registration.models import Attachment

    coordinator, entry = school_entry
    login(client, coordinator)
    polyglot = b"%PDF-1.4\n" + HTML + b"\n%%EOF\n"
    _upload(client, entry, [("论文.pdf", polyglot)])
    attachment = db.session.scalar(select(Attachment))
    assert attachment.kind == "pdf" and attachment.stored_name.endswith(".pdf")
    response = client.get(f"/files/attachments/{attachment.id}")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


# --- Excel imports -------------------------------------------------------------------------------------------

def _school_sheet(rows=(("城关小学",),)) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "学校"
    ws.append(["名称"])
    for row in rows:
        ws.append(list(row))
    return sheets.workbook_bytes(book)


def _rewrite(data: bytes, change) -> bytes:
    """The workbook with change(name, body) -> body applied to each part (and parts it returns extra)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, change(info.filename, source.read(info.filename)))
        for name, body in change(None, None) or {}:
            archive.writestr(name, body)
    return out.getvalue()


def shared_strings_bomb(count: int) -> bytes:
    """A real workbook whose cell points into a shared-string table of `count` one-letter strings (11 million
    of them: 480 KB compressed, 195 MB inflated; openpyxl took 68 s and 1.1 GB to open it)."""
    def change(name, body):
        if name is None:
            table = (b'<?xml version="1.0" encoding="utf-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main"><si><t>SHARED</t></si>' + b"<si><t>a</t></si>" * count + b"</sst>")
            return [("xl/sharedStrings.xml", table)]
        if name == "xl/worksheets/sheet1.xml":
            return body.replace(b'<c r="A2" t="inlineStr"><is><t>\xe5\x9f\x8e\xe5\x85\xb3\xe5\xb0\x8f\xe5\xad\xa6</t>'
                                b'</is></c>', b'<c r="A2" t="s"><v>0</v></c>')
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(b"</Relationships>", b'<Relationship Type="http://schemas.openxmlformats.org/'
                                b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml" '
                                b'Id="rId99" /></Relationships>')
        if name == "[Content_Types].xml":
            return body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" /></Types>')
        return body

    return _rewrite(_school_sheet(), change)


def cell_flood(rows: int, columns: int) -> bytes:
    """A sheet of rows x columns numeric cells without references (valid: each follows the last), so few
    physical rows and a tiny file: the row limits never see it."""
    body = b"".join(b'<row r="%d">' % r + b"<c><v>1</v></c>" * columns + b"</row>" for r in range(2, rows + 2))

    def change(name, part):
        if name == "xl/worksheets/sheet1.xml":
            return part.replace(b"</sheetData>", body + b"</sheetData>")
        return part

    return _rewrite(_school_sheet(), change)


def _entity(declaration: bytes, reference: bytes) -> bytes:
    def change(name, part):
        if name == "xl/worksheets/sheet1.xml":
            part = part.replace(b"?>", b"?>" + declaration, 1)
            return part.replace("名称".encode(), reference)  # in the header: every import reads it first
        return part

    return _rewrite(_school_sheet(), change)


XXE = _entity(b'<!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>', b"&e;")
LAUGHS = _entity(b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">' + b"".join(
    b'<!ENTITY %s "%s">' % (chr(98 + i).encode(), (b"&%s;" % chr(97 + i).encode()) * 10) for i in range(9)) + b"]>",
    b"&j;")
NOT_XLSX = "不是有效的Excel文件"
IMPORT_CASES = [
    ("an HTML page named .xlsx", "学校.xlsx", lambda: HTML, NOT_XLSX),
    ("a zip that is no workbook", "学校.xlsx", lambda: zip_of({"evil.sh": b"rm -rf /"}), NOT_XLSX),
    ("an old .xls", "学校.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "旧版Excel（.xls）"),
    ("a zip bomb (201 MB of zeros)", "学校.xlsx",
     lambda: zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"\x00" * (201 * 1024 * 1024)}),
     "解压后过大"),
    ("11 million shared strings", "学校.xlsx", lambda: shared_strings_bomb(11_000_000), "单元格或文字过多"),
    ("2.4 million cells in 400 rows", "学校.xlsx", lambda: cell_flood(400, 6000), "单元格或文字过多"),
    ("an external entity", "学校.xlsx", lambda: XXE, "可能已损坏"),
    ("a billion laughs", "学校.xlsx", lambda: LAUGHS, "可能已损坏"),
    ("over the 5 MB import limit", "学校.xlsx", lambda: _school_sheet() + b"\x00" * (5 * 1024 * 1024), "5 MB的上限"),
]


@pytest.mark.parametrize("what, name, make, reason", IMPORT_CASES, ids=[c[0] for c in IMPORT_CASES])
def test_workbooks_that_lie_or_explode_are_refused_by_every_import(app, db, org_client, make_user, make_school,
                                                                  edition, what, name, make, reason):
    from judging.core.models import School

    data = make()
    schools_before = db.session.scalar(select(func.count()).select_from(School))
    coordinator = make_user("coordinator", username="import_coord", school=make_school("导入测试学校"))
    coordinator_client = app.test_client()
    login(coordinator_client, coordinator)
    round_id = edition.rounds[0].id
    pages = [(org_client, "/admin/schools/import"), (org_client, "/admin/users/import"),
             (coordinator_client, "/school/entries/import"), (org_client, "/admin/exchange/import"),
             (org_client, f"/admin/rounds/{round_id}/scores-import")]
    for client, url in pages:
        started = time.monotonic()
        response = client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        elapsed = time.monotonic() - started
        page = response.get_data(as_text=True)
        assert response.status_code == 200, (url, response.status_code)
        assert reason in page and f"「{name}」" in page, (what, url, page[page.find('class="flash'):][:300])
        assert elapsed < 5, (what, url, elapsed)
        assert "root:" not in page  # the external entity was never read
    assert not (Path(app.config["UPLOAD_DIR"]) / "imports").exists() or \
        not any((Path(app.config["UPLOAD_DIR"]) / "imports").iterdir())
    assert db.session.scalar(select(func.count()).select_from(School)) == schools_before + 1  # only the fixture's


def test_the_counts_leave_real_workbooks_alone():
    """A 5,000-entry contest workbook (the sample generator) and a 20,000-row paper-score sheet open."""
    from openpyxl import Workbook

    from judging.exchange.sample import sample_workbook

    started = time.monotonic()
    book = sheets.open_workbook(sample_workbook(5000), "大赛.xlsx")
    book.close()
    big = Workbook()
    ws = big.active
    ws.append(["作品编号", "评委", "创新性", "科学性", "实用性", "完成度", "答辩"])
    for i in range(20000):
        ws.append([f"XFX-{i:05d}", f"评委{i % 40}", 25, 20, 20, 8, 9])
    sheets.open_workbook(sheets.workbook_bytes(big), "评分.xlsx").close()
    assert time.monotonic() - started < 30
