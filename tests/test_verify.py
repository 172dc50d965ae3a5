"""The public verification page (judging/printing/verify_views.py): by the QR code's signed token
and by a typed number; valid (name partly masked), revoked, not found, a forged token; the rate
limit per client address, kept in the database so every worker process counts the same."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from judging.printing import operations as ops
from judging.printing.models import Certificate, VerifyLookup
from tests.test_certificates import DATE_TEXT, TITLE, contest, correct, final_world, issue  # noqa: F401


@pytest.mark.parametrize("name, masked", [
    ("王明", "王*"),
    ("王小明", "王*明"),
    ("王彧", "王*"),
    ("欧阳玥", "欧阳*"),
    ("欧阳娜娜", "欧阳**"),
    ("司马相如", "司马**"),
    ("李", "*"),
    ("阿依古丽", "阿**丽"),
    ("买买提·艾力", "买*提·艾*"),
    ("王彧、欧阳玥、孙犇", "王*、欧阳*、孙*"),
    (" 张 三 ", "张*"),
    ("Anna Li", "A**a L*"),
])
def test_mask_name(name, masked):
    assert ops.mask_name(name) == masked


def _cert(db, number) -> Certificate:
    return db.session.scalar(select(Certificate).where(Certificate.number == number))


def test_a_qr_token_shows_the_certificate_with_the_name_masked(db, final_world, client):
    issue(db, final_world)
    cert = _cert(db, "2026KC-XFX-1-0002")
    token = ops.certificate_token(cert.id)
    assert token == ops.certificate_token(cert.id)  # deterministic: the same QR code on every print
    response = client.get(f"/verify/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "证书有效" in page and "2026KC-XFX-1-0002" in page
    assert "欧阳*" in page and "欧阳玥" not in page
    assert "《智能垃圾分类桶》" in page and "一等奖" in page and TITLE in page and DATE_TEXT in page
    # Nothing else of the entry: no school, no teammates, no instructor.
    for private in ("王彧", "孙犇", "张老师", "城关第一小学"):
        assert private not in page


def test_a_typed_number_is_matched_exactly(db, final_world, client):
    issue(db, final_world)
    page = client.get("/verify", query_string={"number": "2026KC-XFX-2-0001"}).get_data(as_text=True)
    assert "证书有效" in page and "李*" in page and "李䶮" not in page and "二等奖" in page
    # Full-width characters and spaces as typed on a phone are forgiven; nothing else is.
    assert client.get("/verify", query_string={"number": " ２０２６ＫＣ-XFX-2-0001 "}).status_code == 200
    assert client.get("/verify", query_string={"number": "2026kc-xfx-2-0001"}).status_code == 200
    for near in ("2026KC-XFX-2-000", "2026KC-XFX-2-00011", "2026KC-XFX-2-0001%", "2026KC-XFX-2-%", "%"):
        response = client.get("/verify", query_string={"number": near})
        assert response.status_code == 404, near
        assert "没有编号为" in response.get_data(as_text=True)


def test_instructor_and_school_certificates_verify(db, final_world, client):
    issue(db, final_world)
    page = client.get("/verify", query_string={"number": "2026KC-ZDX-2-0001"}).get_data(as_text=True)
    assert "优秀指导教师" in page and "赵*" in page and "赵喆" not in page and "作品获二等奖" in page
    page = client.get("/verify", query_string={"number": "2026KC-ZZ-1-0001"}).get_data(as_text=True)
    assert "优秀组织奖" in page and "城关第一小学" in page  # a school's name is public


def test_a_revoked_certificate_says_so_with_the_date(db, final_world, client):
    from judging.core.numerals import chinese_date
    from judging.printing.operations import local_date

    issue(db, final_world)
    token = ops.certificate_token(_cert(db, "2026KC-XFX-2-0001").id)
    correct(db, final_world, {"e2": None})
    issue(db, final_world)
    cert = _cert(db, "2026KC-XFX-2-0001")
    for response in (client.get(f"/verify/{token}"),
                     client.get("/verify", query_string={"number": "2026KC-XFX-2-0001"})):
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "证书已撤销" in page and chinese_date(local_date(cert.revoked_at), with_day=True) in page
        assert "证书有效" not in page and "节水灌溉系统" not in page and "李*" not in page


def test_a_forged_or_unknown_token_is_not_found(db, final_world, client):
    issue(db, final_world)
    cert = _cert(db, "2026KC-KHX-1-0001")
    token = ops.certificate_token(cert.id)
    forged = ops.certificate_token(cert.id + 1000)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    from itsdangerous import URLSafeSerializer

    other_key = URLSafeSerializer("another-secret", salt=ops.VERIFY_SALT).dumps(cert.id)
    for code in (tampered, other_key, "abc", forged, "x" * 300):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404, code
        page = response.get_data(as_text=True)
        assert "未找到证书" in page and "二维码中的查验码无效" in page
        assert "2026KC-KHX-1-0001" not in page and "周*" not in page


def test_the_empty_form_is_public_and_counts_nothing(db, client):
    response = client.get("/verify")
    assert response.status_code == 200 and 'name="number"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(VerifyLookup)) == 0


def test_lookups_are_rate_limited_per_address_across_processes(db, final_world, make_app):
    issue(db, final_world)
    token = ops.certificate_token(_cert(db, "2026KC-XFX-1-0001").id)
    db.session.commit()  # this test's own session: no transaction open while the "workers" answer
    first = make_app(VERIFY_MAX_LOOKUPS=3, VERIFY_WINDOW_SECONDS=600)
    second = make_app(VERIFY_MAX_LOOKUPS=3, VERIFY_WINDOW_SECONDS=600)  # another worker, the same database
    here = {"REMOTE_ADDR": "203.0.113.7"}
    with first.app_context():
        client = first.test_client()
        assert client.get("/verify", query_string={"number": "2026KC-XFX-1-0001"}, environ_base=here).status_code == 200
        assert client.get("/verify", query_string={"number": "nothing"}, environ_base=here).status_code == 404
    with second.app_context():
        client = second.test_client()
        assert client.get(f"/verify/{token}", environ_base=here).status_code == 200
        response = client.get("/verify", query_string={"number": "2026KC-XFX-1-0001"}, environ_base=here)
        assert response.status_code == 429
        page = response.get_data(as_text=True)
        assert "查询过于频繁" in page and "10分钟内最多查验3次" in page and "证书有效" not in page
        assert response.headers["Retry-After"] == "600"
        assert client.get(f"/verify/{token}", environ_base=here).status_code == 429
        # Another address is not held up; the empty form is never limited.
        assert client.get(f"/verify/{token}", environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 200
        assert client.get("/verify", environ_base=here).status_code == 200
    # The table keeps no address in the clear.
    keys = set(db.session.scalars(select(VerifyLookup.client_key)))
    assert len(keys) == 2 and not any("203.0.113.7" in k for k in keys)


def test_old_lookups_stop_counting(db, final_world, make_app):
    from datetime import timedelta

    from judging.core.models import utcnow

    issue(db, final_world)
    db.session.commit()
    app = make_app(VERIFY_MAX_LOOKUPS=1, VERIFY_WINDOW_SECONDS=60)
    with app.app_context():
        key = ops.client_key("192.0.2.1")
        db.session.add(VerifyLookup(client_key=key, at=utcnow() - timedelta(seconds=120)))
        db.session.commit()
        client = app.test_client()
        response = client.get("/verify", query_string={"number": "2026KC-XFX-1-0001"},
                              environ_base={"REMOTE_ADDR": "192.0.2.1"})
        assert response.status_code == 200
        # The stale row was cleared on the way.
        assert db.session.scalar(select(func.count()).select_from(VerifyLookup)) == 1


@pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                    reason="needs poppler-utils (pdftoppm) and zbar-tools (zbarimg) to read the QR code back")
def test_the_printed_qr_code_reads_back_as_the_verification_link(db, final_world, client, tmp_path):
    from judging.printing import batches

    issue(db, final_world)
    pdf = tmp_path / "one.pdf"
    batches.write_pdf(final_world["edition"], batches.Selection("student", school_id=None, category_id=None,
                                                                number="2026KC-XFX-2-0001"),
                      pdf, "https://kc.example.edu.cn/")
    subprocess.run(["pdftoppm", "-png", "-r", "200", str(pdf), str(tmp_path / "page")], check=True)
    image = next(tmp_path.glob("page*.png"))
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True).stdout.strip()
    assert decoded.startswith("https://kc.example.edu.cn/verify/")
    token = decoded.rsplit("/", 1)[1]
    assert ops.certificate_from_token(token).number == "2026KC-XFX-2-0001"
    page = client.get(f"/verify/{token}").get_data(as_text=True)
    assert "证书有效" in page and "李*" in page
