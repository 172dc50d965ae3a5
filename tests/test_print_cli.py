"""`flask --app wsgi print certificates ID --out FILE.pdf`: every student certificate of an
edition into one PDF, with stable numbers; refused before the results are final."""
from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import func, select

from judging.printing.models import Certificate
from tests.test_certificates import STUDENT_NUMBERS, contest, final_world, squash  # noqa: F401


def _pages(path) -> list[str]:
    return [squash(page.extract_text()) for page in PdfReader(io.BytesIO(path.read_bytes())).pages]


def test_print_certificates_writes_every_student_certificate(db, app, final_world, tmp_path):
    edition_id = final_world["edition"].id
    db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "证书.pdf"
    result = runner.invoke(args=["print", "certificates", str(edition_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "已打印6张学生证书" in result.output
    pages = _pages(out)
    assert len(pages) == 6
    for page, (name, number) in zip(pages, STUDENT_NUMBERS.items()):
        assert f"{name}同学：" in page and f"证书编号：{number}" in page
    assert "王彧同学：你的作品《智能垃圾分类桶》在第十三届测试县青少年科技创新大赛小发明（小学组）中荣获一等奖。" in pages[0]
    # Again: the same numbers, nothing new issued.
    count = db.session.scalar(select(func.count()).select_from(Certificate))
    again = tmp_path / "again.pdf"
    result = runner.invoke(args=["print", "certificates", str(edition_id), "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert _pages(again) == pages
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == count


def test_print_certificates_is_refused_before_the_results_are_final(db, app, contest, tmp_path):
    edition_id = contest["edition"].id
    db.session.commit()
    out = tmp_path / "out.pdf"
    result = app.test_cli_runner().invoke(args=["print", "certificates", str(edition_id), "--out", str(out)])
    assert result.exit_code == 1
    assert "尚未确定为最终结果" in result.output and not out.exists()
    result = app.test_cli_runner().invoke(args=["print", "certificates", "9999", "--out", str(out)])
    assert result.exit_code == 1 and "没有编号为9999的届次" in result.output
