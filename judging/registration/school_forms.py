"""The school coordinator's entry form and attachment checks.

The entry form is parsed by hand (rows of students and instructors, raw text kept to show back)
into the rules' EntryInput; every rule is checked once, by registration.rules through the
operations. CSRF is checked by FlaskForm (see school_views).

Attachments are judged by their content, never by their name: an image must be a JPEG, PNG or
WEBP that Pillow decodes; a PDF must start with %PDF- and end with %%EOF.
"""
from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from judging.contests.models import Category, Edition
from judging.core.text import clean, clean_block, split_list
from judging.registration.models import Entry
from judging.registration.rules import EntryInput, StudentInput, normalise_class, normalise_grade

# --- The entry form ---------------------------------------------------------------------------------

STUDENT_FIELDS = ("name", "gender", "grade", "class")
GRADE_SUGGESTIONS = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级")


@dataclass
class StudentRow:
    """One student row as typed (shown back unchanged when the form is refused)."""

    name: str = ""
    gender: str = ""
    grade: str = ""
    class_name: str = ""

    @property
    def blank(self) -> bool:
        return not (self.name or self.grade or self.class_name)


@dataclass
class EntryFormState:
    """What the form shows: the typed values, and the problems per field."""

    title: str = ""
    category_id: int | None = None
    subform: str = ""
    division_id: int | None = None
    students: list[StudentRow] = field(default_factory=list)
    instructors: list[str] = field(default_factory=list)
    description: str = ""
    video_url: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    # students[k-1] of the EntryInput came from row student_rows[k-1] (1-based), blank rows skipped
    student_rows: list[int] = field(default_factory=list)

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def add_problems(self, problems) -> None:
        """Problems from the rules, each next to its field; 'students-2' is the second student given,
        which is shown on the row it was typed in."""
        for problem in problems:
            name = problem.field
            match = re.fullmatch(r"students-(\d+)", name)
            if match:
                k = int(match.group(1))
                row = self.student_rows[k - 1] if 0 < k <= len(self.student_rows) else k
                name = f"students-{row}"
            self.add_error(name, problem.message)

    def general_errors(self, known: set[str]) -> list[str]:
        return [m for name, messages in self.errors.items() if name not in known for m in messages]


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_entry_form(form, student_rows: int, instructor_rows: int) -> tuple[EntryFormState, EntryInput]:
    """The posted form -> (what to show back, what the rules check). Blank rows are skipped."""
    state = EntryFormState(
        title=clean(form.get("title")),
        category_id=_int_or_none(form.get("category")),
        subform=clean(form.get("subform")),
        division_id=_int_or_none(form.get("division")),
        description=clean_block(form.get("description")),
        video_url=clean(form.get("video_url")),
    )
    students: list[StudentInput] = []
    for row in range(1, student_rows + 1):
        typed = StudentRow(*(clean(form.get(f"students-{row}-{name}")) for name in STUDENT_FIELDS))
        state.students.append(typed)
        if typed.blank:
            continue
        state.student_rows.append(row)
        students.append(StudentInput(
            name=typed.name,
            gender=typed.gender or None,
            grade=normalise_grade(typed.grade) or "",  # unreadable: the rules name the row
            class_name=normalise_class(typed.class_name) or "",
        ))
    instructors: list[str] = []
    for row in range(1, instructor_rows + 1):
        typed = clean(form.get(f"instructors-{row}"))
        state.instructors.append(typed)
        instructors.extend(split_list(typed))  # '张三、李四' typed in one row is two teachers
    data = EntryInput(
        title=state.title,
        category_id=state.category_id or 0,
        division_id=state.division_id or 0,
        students=students,
        instructors=instructors,
        subform=state.subform or None,
        description=state.description or None,
        video_url=state.video_url or None,
    )
    return state, data


def state_from_entry(entry: Entry) -> EntryFormState:
    return EntryFormState(
        title=entry.title, category_id=entry.category_id, subform=entry.subform or "",
        division_id=entry.division_id,
        students=[StudentRow(s.name, s.gender or "", s.grade, s.class_name) for s in entry.students],
        instructors=[i.name for i in entry.instructors],
        description=entry.description or "", video_url=entry.video_url or "",
    )


def row_counts(edition: Edition, state: EntryFormState) -> tuple[int, int]:
    """How many student and instructor rows the form renders: the largest category maximum (the
    script hides what the chosen category does not allow), and never fewer than already typed."""
    categories: list[Category] = edition.categories
    students = max([c.max_students for c in categories] + [1, len(state.students)])
    instructors = max([c.max_instructors for c in categories] + [0, len(state.instructors)])
    return students, instructors


# --- Attachments ------------------------------------------------------------------------------------

MAX_ATTACHMENTS = 10
# Pixels an uploaded photo may have: a 48-megapixel phone photo passes, a decompression bomb does not.
MAX_IMAGE_PIXELS = 60_000_000
PDF_EOF_WINDOW = 1024
ALLOWED_IMAGE_FORMATS = {
    # Pillow format: (kind, detected content type, stored extension, name for messages)
    "JPEG": ("image", "image/jpeg", "jpg", "JPG"),
    "PNG": ("image", "image/png", "png", "PNG"),
    "WEBP": ("image", "image/webp", "webp", "WEBP"),
}
CLAIMED_KIND = {"jpg": "image", "jpeg": "image", "png": "image", "webp": "image", "pdf": "pdf"}
ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"


class UploadRefused(ValueError):
    """A file that cannot be kept; the message says why, in Chinese, without the file name."""


@dataclass
class DetectedFile:
    kind: str  # image | pdf
    content_type: str
    extension: str
    label: str  # PNG, JPG, WEBP, PDF


PDF = DetectedFile("pdf", "application/pdf", "pdf", "PDF")


def clean_filename(name: str | None) -> str:
    """The client's file name for display only: no folders, no control characters, at most 255."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[\\/]", text)[-1]  # old browsers send C:\fakepath\x.png
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = clean(text)
    if len(text) > 255:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else text[:255]
    return text or "未命名文件"


def claimed_kind(filename: str) -> str | None:
    """What the file's name says it is (image or pdf), or None for a name that says nothing we know."""
    _, dot, ext = filename.rpartition(".")
    return CLAIMED_KIND.get(ext.lower()) if dot else None


def format_size(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:.1f} MB" if mb >= 0.1 else f"{max(1, round(size / 1024))} KB"


def detect_file(path: Path) -> DetectedFile:
    """The type of an uploaded file by its content, or UploadRefused saying why not."""
    with path.open("rb") as handle:
        head = handle.read(8)
        if head.startswith(b"%PDF-"):
            handle.seek(0, 2)
            end = handle.tell()
            handle.seek(max(0, end - PDF_EOF_WINDOW))
            if b"%%EOF" not in handle.read():
                raise UploadRefused("PDF 文件不完整（缺少文件结尾），请重新导出或重新下载后再上传")
            return PDF
    return _detect_image(path)


def _detect_image(path: Path) -> DetectedFile:
    from PIL import Image, UnidentifiedImageError

    limit = min(MAX_IMAGE_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_IMAGE_PIXELS)
    with warnings.catch_warnings():
        # Pillow warns about a huge image and refuses a huger one: both are a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=tuple(ALLOWED_IMAGE_FORMATS)) as image:
                width, height = image.size
                if width * height > limit:
                    raise UploadRefused(f"图片尺寸过大（{width}×{height} 像素），最多 {limit // 1_000_000} 百万像素；"
                                        "请缩小后再上传")
                detected = ALLOWED_IMAGE_FORMATS[image.format]
                if image.format == "JPEG":
                    image.draft("RGB", (2048, 2048))  # decode at a reduced scale: cheap, still every block
                image.load()
        except UploadRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadRefused(f"图片尺寸过大，最多 {limit // 1_000_000} 百万像素；请缩小后再上传") from None
        except UnidentifiedImageError:
            raise UploadRefused("不是可用的文件类型：只接受 JPG、PNG、WEBP 图片或 PDF 文件"
                                "（手机拍的 HEIC 照片请先转成 JPG）") from None
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
            raise UploadRefused("图片无法打开（文件可能已损坏或只上传了一部分）") from None
    kind, content_type, extension, label = detected
    return DetectedFile(kind, content_type, extension, label)


def check_claim(filename: str, detected: DetectedFile) -> None:
    """A name that says PDF on a photo (or the other way round) is refused: the wrong file was chosen."""
    claimed = claimed_kind(filename)
    if claimed is not None and claimed != detected.kind:
        extension = filename.rpartition(".")[2].lower()
        what = f"{detected.label} 图片" if detected.kind == "image" else "PDF 文件"
        raise UploadRefused(f"扩展名是 .{extension}，内容却是{what}；请确认选对了文件")


def download_name(original_name: str, detected_extension: str) -> str:
    """The name a served file carries: the client's name with the extension of its real type."""
    stem, dot, ext = original_name.rpartition(".")
    if dot and stem and ext.lower() in CLAIMED_KIND:
        original_name = stem
    return f"{original_name}.{detected_extension}"

