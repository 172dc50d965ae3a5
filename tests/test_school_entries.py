"""The school coordinator's registration pages: his entries, the entry form, attachments, and
every refusal (another school's ids, other roles, a closed window, bad uploads)."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from judging.core.models import AuditEvent
from judging.registration.models import Attachment, Entry
from tests.conftest import login


# --- helpers ------------------------------------------------------------------------------------------

def png_bytes(size=(40, 30), color=(200, 30, 40), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode != "1" else 1).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


PDF_BYTES = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
             b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
             b"trailer << /Root 1 0 R >>\n%%EOF\n")


def form_data(edition, category=None, division=None, title="会转弯的雨伞", students=None, instructors=("王老师",),
              **extra) -> dict:
    category = category or edition.categories[0]
    division = division or edition.divisions[0]
    data = {"title": title, "category": str(category.id), "division": str(division.id), "subform": "",
            "description": "用两根伞骨做成可以转弯的雨伞。\n第二行说明。", "video_url": ""}
    students = students if students is not None else [("张小明", "男", "5", "3"), ("李小红", "女", "五年级", "（3）班")]
    for i, (name, gender, grade, class_name) in enumerate(students, start=1):
        data.update({f"students-{i}-name": name, f"students-{i}-gender": gender, f"students-{i}-grade": grade,
                     f"students-{i}-class": class_name})
    for i, name in enumerate(instructors, start=1):
        data[f"instructors-{i}"] = name
    data.update(extra)
    return data


def upload(client, entry_id, *files):
    """files: (bytes, name) pairs."""
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post(f"/school/entries/{entry_id}/attachments", data=data, content_type="multipart/form-data",
                       follow_redirects=True)


def text(response) -> str:
    return response.get_data(as_text=True)


def entry_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Entry))


def attachment_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"]) / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def school_a(make_school):
    return make_school("城关镇中心校", code="CG")


@pytest.fixture
def school_b(make_school):
    return make_school("青山镇中心校", code="QS")


@pytest.fixture
def coordinator(make_user, school_a):
    return make_user("coordinator", username="cgzx", school=school_a, display_name="李晓红")


@pytest.fixture
def coord_client(app, coordinator, edition):
    client = app.test_client()
    assert login(client, coordinator).status_code == 302
    return client


@pytest.fixture
def other_entry(make_entry, school_b):
    """An entry of another school, with one attachment on disk."""
    return make_entry(school_b, title="外校作品", instructors=["外校老师"])


@pytest.fixture
def other_attachment(app, db, other_entry):
    folder = Path(app.config["UPLOAD_DIR"]) / "attachments" / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    stored = "ab" + "0" * 30 + ".png"
    (folder / stored).write_bytes(png_bytes())
    attachment = Attachment(entry_id=other_entry.id, kind="image", original_name="外校.png", stored_name=stored,
                            content_type="image/png", size=10, sha256="0" * 64)
    db.session.add(attachment)
    db.session.commit()
    return attachment


# --- the journey --------------------------------------------------------------------------------------

def test_coordinator_registers_edits_and_uploads(app, db, coord_client, edition, school_a):
    client = coord_client
    home = text(client.get("/home"))
    assert "/school/entries" in home  # the button on the home page and the nav link

    page = client.get("/school/entries")
    assert page.status_code == 200
    body = text(page)
    assert "报名进行中" in body and "本校还没有报名作品" in body

    form = text(client.get("/school/entries/new"))
    assert "第一作者" in form and 'name="students-3-name"' in form  # 小发明 allows 3: rows rendered without JS
    assert 'data-category="' in form and "卡通画" in form
    assert "entry_form.js" in form and "<script>" not in form

    response = client.post("/school/entries/new", data=form_data(edition))
    assert response.status_code == 302
    entry = db.session.scalar(select(Entry))
    assert response.headers["Location"].endswith(f"/school/entries/{entry.id}")
    assert entry.code == "XFX-001" and entry.school_id == school_a.id
    assert [(s.name, s.gender, s.grade, s.class_name) for s in entry.students] == [
        ("张小明", "男", "五年级", "3班"), ("李小红", "女", "五年级", "3班")]
    assert entry.instructor_names == "王老师"
    assert entry.description == "用两根伞骨做成可以转弯的雨伞。\n第二行说明。"

    listing = text(client.get("/school/entries"))
    assert "XFX-001" in listing and "会转弯的雨伞" in listing and "张小明、李小红" in listing
    assert "王老师" in listing and "待审核" in listing

    # The form offers the school's known instructors.
    assert '<option value="王老师">' in text(client.get(f"/school/entries/{entry.id}/edit"))
    response = client.post(f"/school/entries/{entry.id}/edit",
                           data=form_data(edition, title="会转弯的雨伞改进版", students=[("张小明", "男", "五", "3")],
                                          instructors=("王老师", "赵老师")))
    assert response.status_code == 302
    db.session.refresh(entry)
    assert entry.title == "会转弯的雨伞改进版" and entry.student_names == "张小明"
    assert entry.instructor_names == "王老师、赵老师"

    page = upload(client, entry.id, (png_bytes(), "画作照片.png"), (PDF_BYTES, "论文.pdf"))
    assert "已上传 2 个文件" in text(page)
    db.session.refresh(entry)
    image, pdf = entry.attachments
    assert (image.kind, image.content_type, image.original_name) == ("image", "image/png", "画作照片.png")
    assert (pdf.kind, pdf.content_type) == ("pdf", "application/pdf")
    root = Path(app.config["UPLOAD_DIR"]) / "attachments"
    for attachment in (image, pdf):
        assert re.fullmatch(r"[0-9a-f]{32}\.(png|pdf)", attachment.stored_name)
        path = root / attachment.stored_name[:2] / attachment.stored_name
        assert path.is_file() and "static" not in str(path)
        assert len(attachment.sha256) == 64 and attachment.size == path.stat().st_size
    assert not list(root.rglob("*.part"))
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "attachment_added")) == 2

    detail = text(client.get(f"/school/entries/{entry.id}"))
    assert f'<img src="/files/attachments/{image.id}"' in detail
    assert f'href="/files/attachments/{pdf.id}"' in detail and "论文.pdf" in detail

    served = client.get(f"/files/attachments/{image.id}")
    assert served.status_code == 200 and served.data == png_bytes()
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "private"
    assert served.headers["Content-Disposition"].startswith("inline")
    served = client.get(f"/files/attachments/{pdf.id}")
    assert served.status_code == 200 and served.mimetype == "application/pdf" and served.data == PDF_BYTES

    pdf_path = root / pdf.stored_name[:2] / pdf.stored_name
    response = client.post(f"/school/entries/{entry.id}/attachments/{pdf.id}/delete", follow_redirects=True)
    assert "已删除" in text(response)
    assert not pdf_path.exists()
    assert [a.id for a in db.session.scalars(select(Attachment))] == [image.id]


def test_coordinator_deletes_an_entry_with_its_files(app, db, coord_client, edition):
    coord_client.post("/school/entries/new", data=form_data(edition))
    entry = db.session.scalar(select(Entry))
    upload(coord_client, entry.id, (png_bytes(), "a.png"))
    assert len(attachment_files(app)) == 1
    response = coord_client.post(f"/school/entries/{entry.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/school/entries")
    assert entry_count(db) == 0 and attachment_files(app) == []


def test_kh_needs_a_subform_and_keeps_one_student(db, coord_client, edition):
    kh = edition.categories[1]
    data = form_data(edition, category=kh, students=[("王小丽", "女", "四年级", "2班")], instructors=())
    body = text(coord_client.post("/school/entries/new", data=data))
    assert "请选择作品形式（卡通画、素描画）" in body and entry_count(db) == 0
    data["subform"] = "卡通画"
    assert coord_client.post("/school/entries/new", data=data).status_code == 302
    entry = db.session.scalar(select(Entry))
    assert entry.code == "KHX-001" and entry.subform == "卡通画"
    assert "卡通画" in text(coord_client.get("/school/entries"))


def test_bad_input_is_named_by_field_kept_and_nothing_saved(db, coord_client, edition):
    data = form_data(edition, title="", students=[("张小明", "男", "五年级", "3班"), ("李小红", "", "火星年级", "3班")],
                     video_url="ftp://example.com/v")
    response = coord_client.post("/school/entries/new", data=data)
    assert response.status_code == 200
    body = text(response)
    assert entry_count(db) == 0
    assert "请填写作品名称" in body
    assert "第2名学生：年级无法识别" in body
    assert "视频链接应以 http:// 或 https:// 开头" in body
    assert 'value="火星年级"' in body and 'value="李小红"' in body and "ftp://example.com/v" in body
    assert "用两根伞骨做成可以转弯的雨伞。" in body
    # The student problem sits on the second row.
    row = re.search(r'<div class="entry-row student-row has-error" data-row="(\d)">', body)
    assert row and row.group(1) == "2"


def test_a_blank_first_row_maps_problems_to_the_typed_row(db, coord_client, edition):
    data = form_data(edition, students=[("", "", "", ""), ("李小红", "女", "五年级", "")])
    body = text(coord_client.post("/school/entries/new", data=data))
    assert "第1名学生：班级无法识别" in body and entry_count(db) == 0
    row = re.search(r'<div class="entry-row student-row has-error" data-row="(\d)">', body)
    assert row.group(1) == "2"  # the message is shown where the student was typed


def test_too_many_students_for_the_category(db, coord_client, edition):
    kh = edition.categories[1]
    data = form_data(edition, category=kh, subform="素描画", instructors=())
    body = text(coord_client.post("/school/entries/new", data=data))
    assert "科幻画每件作品最多1名学生，这里填了2名" in body and entry_count(db) == 0


def test_duplicate_title_is_a_warning_not_a_refusal(db, coord_client, edition):
    coord_client.post("/school/entries/new", data=form_data(edition))
    response = coord_client.post("/school/entries/new", follow_redirects=True, data=form_data(
        edition, students=[("王五", "男", "六年级", "1班")]))
    assert "本校已有同名作品" in text(response) and entry_count(db) == 2


def test_organizer_sees_a_school_and_registers_for_it(db, org_client, edition, school_a, school_b, make_entry):
    make_entry(school_a, title="甲校作品")
    make_entry(school_b, title="乙校作品")
    picker = text(org_client.get("/school/entries"))
    assert "选择学校" in picker and "城关镇中心校" in picker
    body = text(org_client.get(f"/school/entries?school={school_a.id}"))
    assert "甲校作品" in body and "乙校作品" not in body and "以组委会身份" in body
    response = org_client.post(f"/school/entries/new?school={school_b.id}", data=form_data(edition))
    assert response.status_code == 302
    assert db.session.scalar(select(Entry).where(Entry.title == "会转弯的雨伞")).school_id == school_b.id
    assert org_client.get("/school/entries?school=99999").status_code == 404


# --- who may see what ---------------------------------------------------------------------------------

def test_another_schools_ids_answer_404(app, db, coord_client, other_entry, other_attachment, edition):
    e, a = other_entry.id, other_attachment.id
    assert coord_client.get(f"/school/entries/{e}").status_code == 404
    assert coord_client.get(f"/school/entries/{e}/edit").status_code == 404
    assert coord_client.post(f"/school/entries/{e}/edit", data=form_data(edition, title="改掉")).status_code == 404
    assert coord_client.post(f"/school/entries/{e}/delete").status_code == 404
    response = coord_client.post(f"/school/entries/{e}/attachments", content_type="multipart/form-data",
                                 data={"files": [(io.BytesIO(png_bytes()), "x.png")]})
    assert response.status_code == 404
    assert coord_client.post(f"/school/entries/{e}/attachments/{a}/delete").status_code == 404
    assert coord_client.get(f"/files/attachments/{a}").status_code == 404
    assert coord_client.get("/school/entries/999999").status_code == 404  # a missing id looks the same
    db.session.expire_all()
    entry = db.session.get(Entry, e)
    assert entry.title == "外校作品" and len(entry.attachments) == 1
    assert len(attachment_files(app)) == 1


def test_an_attachment_through_another_entry_is_404(db, coord_client, edition, other_attachment):
    coord_client.post("/school/entries/new", data=form_data(edition))
    own = db.session.scalar(select(Entry).where(Entry.title == "会转弯的雨伞"))
    response = coord_client.post(f"/school/entries/{own.id}/attachments/{other_attachment.id}/delete")
    assert response.status_code == 404
    assert db.session.get(Attachment, other_attachment.id) is not None


def test_coordinator_never_sees_another_schools_entries(make_user, make_entry, app, school_a, school_b, edition):
    make_entry(school_a, title="本校的发明")
    make_entry(school_b, title="别校的发明", instructors=["别校老师"])
    client = app.test_client()
    login(client, make_user("coordinator", username="a_coord", school=school_a))
    body = text(client.get("/school/entries"))
    assert "本校的发明" in body and "别校的发明" not in body
    # ?school= of another school changes nothing for a coordinator
    body = text(client.get(f"/school/entries?school={school_b.id}"))
    assert "本校的发明" in body and "别校的发明" not in body
    # nor do the instructor suggestions leak
    assert "别校老师" not in text(client.get("/school/entries/new"))


def test_judges_are_refused_and_anonymous_users_sent_to_login(app, make_user, other_entry, other_attachment):
    judge = app.test_client()
    login(judge, make_user("judge", username="judge1"))
    for url in ("/school/entries", "/school/entries/new", f"/school/entries/{other_entry.id}",
                f"/school/entries/{other_entry.id}/edit"):
        assert judge.get(url).status_code == 403, url
    assert judge.post(f"/school/entries/{other_entry.id}/delete").status_code == 403
    assert judge.get(f"/files/attachments/{other_attachment.id}").status_code == 404  # blind judges: not this route
    anonymous = app.test_client()
    for url in ("/school/entries", "/school/entries/new", f"/school/entries/{other_entry.id}",
                f"/files/attachments/{other_attachment.id}"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    response = anonymous.post(f"/school/entries/{other_entry.id}/attachments")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_organizer_may_open_any_file(org_client, other_attachment):
    response = org_client.get(f"/files/attachments/{other_attachment.id}")
    assert response.status_code == 200 and response.mimetype == "image/png"


# --- the registration window and review state ------------------------------------------------------------

@pytest.mark.parametrize("closing", ["deadline", "locked"])
def test_closed_window_refuses_and_saves_nothing(app, db, coord_client, edition, school_a, make_entry, closing):
    entry = make_entry(school_a, title="早先报的作品")
    if closing == "deadline":
        edition.registration_closes = datetime.now() - timedelta(hours=1)
        expected = "报名已于"
    else:
        edition.registration_locked = True
        expected = "组委会已锁定报名"
    db.session.commit()
    listing = text(coord_client.get("/school/entries"))
    assert expected in listing and "/school/entries/new" not in listing
    form = text(coord_client.get("/school/entries/new"))
    assert expected in form and "<fieldset class=\"plain\" disabled>" in form

    body = text(coord_client.post("/school/entries/new", data=form_data(edition)))
    assert expected in body and entry_count(db) == 1
    body = text(coord_client.post(f"/school/entries/{entry.id}/edit", data=form_data(edition, title="截止后改")))
    assert expected in body
    body = text(upload(coord_client, entry.id, (png_bytes(), "late.png")))
    assert expected in body
    body = text(coord_client.post(f"/school/entries/{entry.id}/delete", follow_redirects=True))
    assert expected in body
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).title == "早先报的作品"
    assert attachment_files(app) == [] and db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_organizer_corrects_entries_after_the_deadline(db, org_client, edition, school_a, make_entry):
    entry = make_entry(school_a)
    edition.registration_locked = True
    db.session.commit()
    response = org_client.post(f"/school/entries/{entry.id}/edit", data=form_data(edition, title="组委会更正"))
    assert response.status_code == 302
    db.session.refresh(entry)
    assert entry.title == "组委会更正"
    assert "已上传 1 个文件" in text(upload(org_client, entry.id, (jpeg_bytes(), "a.jpg")))


def test_approved_entry_is_read_only_for_the_coordinator(db, coord_client, edition, school_a, make_entry, organizer):
    from judging.registration.operations import review_entry

    entry = make_entry(school_a, title="已通过的作品")
    review_entry(entry, "approve", None, organizer)
    db.session.commit()
    form = text(coord_client.get(f"/school/entries/{entry.id}/edit"))
    assert "不能再修改" in form and "<fieldset class=\"plain\" disabled>" in form
    body = text(coord_client.post(f"/school/entries/{entry.id}/edit", data=form_data(edition, title="偷偷改")))
    assert "不能再修改" in body
    assert "不能再修改" in text(upload(coord_client, entry.id, (png_bytes(), "a.png")))
    db.session.refresh(entry)
    assert entry.title == "已通过的作品" and not entry.attachments


def test_returned_entry_shows_the_remark_and_goes_back_to_review(db, coord_client, edition, school_a, make_entry,
                                                                 organizer):
    from judging.registration.operations import review_entry

    entry = make_entry(school_a, title="被退回的作品")
    review_entry(entry, "return", "请补充<b>作品照片</b>", organizer)
    db.session.commit()
    listing = text(coord_client.get("/school/entries"))
    assert "退回修改" in listing and "请补充&lt;b&gt;作品照片&lt;/b&gt;" in listing
    detail = text(coord_client.get(f"/school/entries/{entry.id}"))
    assert "审核记录" in detail and "请补充&lt;b&gt;作品照片&lt;/b&gt;" in detail
    students = [(s.name, s.gender or "", s.grade, s.class_name) for s in entry.students]
    response = coord_client.post(f"/school/entries/{entry.id}/edit",
                                 data=form_data(edition, title="被退回的作品", students=students, instructors=()))
    assert response.status_code == 302
    db.session.refresh(entry)
    assert entry.status == "submitted"


# --- uploads ------------------------------------------------------------------------------------------

@pytest.fixture
def own_entry(db, make_entry, school_a):
    return make_entry(school_a, title="上传测试作品")


def _nothing_kept(app, db):
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert attachment_files(app) == []


def test_a_jpg_that_is_text_is_refused(app, db, coord_client, own_entry):
    body = text(upload(coord_client, own_entry.id, (b"just some text, not a photo\n" * 20, "照片.jpg")))
    assert "文件「照片.jpg」" in body and "只接受 JPG、PNG、WEBP 图片或 PDF 文件" in body
    _nothing_kept(app, db)


def test_a_pdf_that_is_a_png_is_refused(app, db, coord_client, own_entry):
    body = text(upload(coord_client, own_entry.id, (png_bytes(), "论文.pdf")))
    assert "文件「论文.pdf」：扩展名是 .pdf，内容却是PNG 图片" in body
    _nothing_kept(app, db)


def test_a_broken_pdf_and_a_truncated_png_are_refused(app, db, coord_client, own_entry):
    body = text(upload(coord_client, own_entry.id, (b"%PDF-1.4\nno end", "a.pdf")))
    assert "PDF 文件不完整" in body
    body = text(upload(coord_client, own_entry.id, (png_bytes((300, 300))[:200], "b.png")))
    assert "文件「b.png」" in body and ("图片无法打开" in body or "只接受" in body)
    _nothing_kept(app, db)


def test_an_oversize_file_names_the_limit(app, db, coord_client, own_entry):
    app.config["ATTACHMENT_MAX_MB"] = 1
    body = text(upload(coord_client, own_entry.id, (b"\x00" * (1024 * 1024 + 300_000), "大照片.png")))
    assert "文件「大照片.png」：大小为 1.3 MB，超过了每个文件 1 MB 的上限" in body
    _nothing_kept(app, db)


def test_a_decompression_bomb_is_refused(app, db, coord_client, own_entry):
    bomb = png_bytes((10_000, 10_000), mode="1")  # 100 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    body = text(upload(coord_client, own_entry.id, (bomb, "bomb.png")))
    assert "文件「bomb.png」" in body and "图片尺寸过大" in body
    _nothing_kept(app, db)


def test_more_than_ten_attachments_are_refused(app, db, coord_client, own_entry):
    files = [(png_bytes(color=(i, 0, 0)), f"p{i}.png") for i in range(11)]
    body = text(upload(coord_client, own_entry.id, *files))
    assert "每件作品最多 10 个附件" in body
    _nothing_kept(app, db)
    assert "已上传 9 个文件" in text(upload(coord_client, own_entry.id, *files[:9]))
    body = text(upload(coord_client, own_entry.id, *files[9:]))
    assert "已有 9 个，这次选了 2 个" in body
    assert len(own_entry.attachments) == 9


def test_one_bad_file_keeps_the_whole_batch_out(app, db, coord_client, own_entry):
    body = text(upload(coord_client, own_entry.id, (png_bytes(), "good.png"), (b"MZ\x90\x00", "evil.png"),
                       (jpeg_bytes(), "good.jpg")))
    assert "文件「evil.png」" in body and "都没有保存" in body
    _nothing_kept(app, db)


def test_the_same_file_twice_is_refused(app, db, coord_client, own_entry):
    upload(coord_client, own_entry.id, (png_bytes(), "first.png"))
    body = text(upload(coord_client, own_entry.id, (png_bytes(), "again.png")))
    assert "与已上传的「first.png」内容相同" in body
    assert len(attachment_files(app)) == 1


def test_no_file_chosen(coord_client, own_entry):
    body = text(coord_client.post(f"/school/entries/{own_entry.id}/attachments", data={},
                                  follow_redirects=True))
    assert "请先选择要上传的照片" in body


def test_content_decides_the_type_and_the_name_is_only_shown(app, db, coord_client, own_entry):
    # A JPEG named .png is a JPEG; a path in the name is dropped; the stored name is ours.
    upload(coord_client, own_entry.id, (jpeg_bytes(), "C:\\fakepath\\../../etc/passwd.png"))
    attachment = db.session.scalar(select(Attachment))
    assert attachment.content_type == "image/jpeg" and attachment.stored_name.endswith(".jpg")
    assert attachment.original_name == "passwd.png"
    served = coord_client.get(f"/files/attachments/{attachment.id}")
    assert served.mimetype == "image/jpeg" and "passwd.jpg" in served.headers["Content-Disposition"]


def test_a_failed_commit_leaves_no_file(app, db, coord_client, own_entry, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken_commit():
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(db.session, "commit", broken_commit)
    body = text(upload(coord_client, own_entry.id, (png_bytes(), "a.png"), (PDF_BYTES, "b.pdf")))
    monkeypatch.undo()
    assert "文件没有保存" in body
    _nothing_kept(app, db)


def test_upload_requires_a_csrf_token(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        response = client.post("/school/entries/1/attachments", data={})
        assert response.status_code == 400  # refused before anything else is looked at


# --- escaping -----------------------------------------------------------------------------------------

def test_typed_text_is_shown_escaped(db, coord_client, edition):
    data = form_data(edition, title="<script>alert(1)</script>", instructors=('<img src=x onerror="alert(2)">',),
                     description="<b>粗体</b>\n第二行",
                     students=[('"><script>alert(3)</script>', "男", "五年级", "3班")])
    assert coord_client.post("/school/entries/new", data=data).status_code == 302
    entry = db.session.scalar(select(Entry))
    for url in ("/school/entries", f"/school/entries/{entry.id}", f"/school/entries/{entry.id}/edit"):
        body = text(coord_client.get(url))
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body and "<b>粗体" not in body, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url
    # A refused form shows the typed text back escaped too.
    data["division"] = ""
    body = text(coord_client.post("/school/entries/new", data=data))
    assert "请选择本届设置的组别" in body and "<script>alert" not in body
