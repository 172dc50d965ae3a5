"""The organizer's side of registration: the entry list with filters, 资格审查, and 签收."""
from __future__ import annotations

from sqlalchemy import select

from judging.core.models import AuditEvent
from judging.registration.models import Entry
from judging.registration.rules import StudentInput


def test_list_filters_and_search(org_client, db, make_entry, make_school, edition):
    a = make_school("城关小学", cluster="城关片区")
    b = make_school("青山小学", cluster="青山片区")
    make_entry(a, title="自动浇花器", students=[StudentInput("王彧", "男", "五年级", "1班")])
    make_entry(b, title="雨水收集", instructors=["陈淼"])
    make_entry(b, title="未来城市", category=edition.categories[1], subform="卡通画")
    page = org_client.get(f"/admin/entries?edition={edition.id}").get_data(as_text=True)
    assert "自动浇花器" in page and "雨水收集" in page and "未来城市" in page
    page = org_client.get(f"/admin/entries?edition={edition.id}&cluster=青山片区").get_data(as_text=True)
    assert "自动浇花器" not in page and "雨水收集" in page
    page = org_client.get(f"/admin/entries?edition={edition.id}&category={edition.categories[1].id}").get_data(as_text=True)
    assert "未来城市" in page and "雨水收集" not in page
    for term in ("王彧", "陈淼", "XFX-001", "青山"):
        page = org_client.get(f"/admin/entries?edition={edition.id}&q={term}").get_data(as_text=True)
        assert ("自动浇花器" in page) == (term in ("王彧", "XFX-001")), term


def test_list_pages(org_client, db, make_entry, make_school, edition):
    db.session.execute(__import__("sqlalchemy").update(type(edition)).values(max_entries_per_class=None))
    db.session.commit()
    school = make_school()
    for i in range(55):
        make_entry(school, title=f"批量作品{i:02d}")
    first = org_client.get(f"/admin/entries?edition={edition.id}").get_data(as_text=True)
    second = org_client.get(f"/admin/entries?edition={edition.id}&page=2").get_data(as_text=True)
    assert "1 / 2" in first and "批量作品00" in first and "批量作品54" not in first
    assert "批量作品54" in second


def test_review_return_needs_a_reason_and_is_audited(org_client, db, make_entry, make_school):
    entry = make_entry(make_school())
    response = org_client.post(f"/admin/entries/{entry.id}/review", data={"action": "return", "remark": ""},
                               follow_redirects=True)
    assert "退回修改需要填写原因" in response.get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.status == "submitted"
    org_client.post(f"/admin/entries/{entry.id}/review", data={"action": "return", "remark": "请上传作品照片"})
    db.session.refresh(entry)
    assert entry.status == "returned" and entry.review_remark == "请上传作品照片"
    org_client.post(f"/admin/entries/{entry.id}/review", data={"action": "disqualify", "remark": "非原创"})
    db.session.refresh(entry)
    assert entry.status == "disqualified"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "entry"))]
    assert "entry_returned" in actions and "entry_disqualified" in actions


def test_bulk_approve(org_client, db, make_entry, make_school, edition):
    school = make_school()
    entries = [make_entry(school) for _ in range(3)]
    org_client.post(f"/admin/entries/review?edition={edition.id}",
                    data={"action": "approve", "ids": [str(entries[0].id), str(entries[2].id)]})
    db.session.expire_all()
    assert [e.status for e in entries] == ["approved", "submitted", "approved"]


def test_bulk_review_ignores_entries_of_other_editions(org_client, db, make_entry, make_school, edition):
    from judging.contests import operations as ops

    entry = make_entry(make_school())
    other = ops.create_edition({"name": "别的大赛", "number": 2, "code": "B"})
    db.session.commit()
    org_client.post(f"/admin/entries/review?edition={other.id}", data={"action": "approve", "ids": [str(entry.id)]})
    db.session.refresh(entry)
    assert entry.status == "submitted"


def test_check_in_by_typed_or_scanned_code(org_client, db, make_entry, make_school, edition, organizer):
    entry = make_entry(make_school(), title="太阳能小车")
    response = org_client.post(f"/admin/checkin?edition={edition.id}", data={"code": " xfx-001 "})
    assert "签收成功" in response.get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.checked_in_at is not None and entry.checked_in_by_id == organizer.id
    again = org_client.post(f"/admin/checkin?edition={edition.id}", data={"code": "XFX-001"}).get_data(as_text=True)
    assert "签收过，未重复登记" in again
    unknown = org_client.post(f"/admin/checkin?edition={edition.id}", data={"code": "ZZZ-999"}).get_data(as_text=True)
    assert "找不到作品编号“ZZZ-999”" in unknown
    page = org_client.get(f"/admin/checkin?edition={edition.id}").get_data(as_text=True)
    assert "1 / 1" in page and "太阳能小车" in page
    org_client.post(f"/admin/entries/{entry.id}/checkin/undo")
    db.session.refresh(entry)
    assert entry.checked_in_at is None


def test_teacher_text_is_escaped_in_the_organizer_list(org_client, make_entry, make_school, edition):
    make_entry(make_school(), title="<script>alert(1)</script>",
               students=[StudentInput("<b>坏</b>", "男", "五年级", "1班")])
    page = org_client.get(f"/admin/entries?edition={edition.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>坏</b>" not in page


def test_entries_page_without_any_edition_goes_to_setup(org_client):
    response = org_client.get("/admin/entries")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
