"""The Chinese fonts every PDF embeds (labels, catalogues, certificates, lists).

Where the font comes from (PITFALLS: PDFs and fonts):
- By default Noto Sans SC from the PyPI package `justmytype-intl-cjk` (SIL OFL). It ships as one
  *variable* TrueType font, which reportlab would draw at its default weight, Thin. So a static
  Regular (wght 400) and Bold (wght 700) instance is made once with fontTools' varLib.instancer
  (about 12 s each on these machines; both at once in two processes: about 14 s, peak ~250 MB
  each) and cached as plain .ttf files (~10 MB each) in a cache folder: FONT_CACHE_DIR (app config
  or environment), else the app's instance/fonts. Files are written to a temporary name and
  renamed, under a lock file, so parallel workers never read half a font nor make it twice.
- A school may prefer 楷体 or 宋体: app.config["FONT_PATH"] names a TrueType (.ttf, or a .ttc whose
  first face has TrueType outlines) that replaces it; FONT_BOLD_PATH optionally names its bold face
  (without it the same face serves both names). A variable .ttf given there is instanced the same
  way. OpenType/CFF fonts (.otf, Noto CJK .ttc) are refused with a message: reportlab embeds
  TrueType (glyf) outlines only.

Use:
    fonts = ensure_fonts()              # in an app context, or ensure_fonts(font_path=..., cache_dir=...)
    canvas.setFont(fonts.regular, 12)   # "CJK"; fonts.bold is "CJK-Bold"
    check_coverage([("作品 XFX-001", title), ...])   # FontCoverageError names every missing character

The names are registered with reportlab once per process; asking for another source (a test with
a different FONT_PATH) registers the same names again for that source.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REGULAR = "CJK"
BOLD = "CJK-Bold"
PACKAGE = "justmytype_intl_cjk"
PACKAGE_FONT = "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
DEFAULT_FAMILY = "Noto Sans SC（思源黑体）"
CACHE_FORMAT = 1  # bump when the way instances are made changes, so old cache files are not reused


class FontError(RuntimeError):
    """The configured or packaged font cannot be used; the message says why, in Chinese."""


class FontCoverageError(ValueError):
    """Text to print contains characters the font has no glyph for.

    .missing is a list of (where, characters): where names the entry (作品 XFX-001) or the part
    of the page, characters the missing ones in order of appearance."""

    def __init__(self, missing: list[tuple[str, list[str]]], family: str = ""):
        self.missing = missing
        self.family = family
        super().__init__(self.message)

    @property
    def characters(self) -> list[str]:
        seen: list[str] = []
        for _, chars in self.missing:
            seen.extend(c for c in chars if c not in seen)
        return seen

    @property
    def message(self) -> str:
        shown = self.missing[:20]
        parts = [f"{where}：{'、'.join(describe_character(c) for c in chars)}" for where, chars in shown]
        more = f"；另有{len(self.missing) - len(shown)}处未列出" if len(self.missing) > len(shown) else ""
        family = f"「{self.family}」" if self.family else ""
        return (f"打印所用字体{family}缺少以下字符，为避免打印出方框，本次未生成文件。"
                f"{'；'.join(parts)}{more}。请联系管理员更换字体（FONT_PATH）或核对这些文字。")


def describe_character(char: str) -> str:
    """「䶮」(U+4DAE): the character, and its code point for when it cannot be shown either."""
    return f"「{char}」(U+{ord(char):04X})"


@dataclass(frozen=True)
class FontSet:
    """The registered reportlab font names and where their files are."""

    regular: str
    bold: str
    regular_file: Path
    bold_file: Path
    family: str
    source: str  # "package" or the configured path
    cmap: frozenset[int] = field(repr=False, default=frozenset())  # characters both faces can draw


_lock = threading.Lock()
_active: tuple[tuple, FontSet] | None = None  # (source key, fonts): one object, so a reader never mixes two
_files_seen: dict[tuple, tuple[Path, Path, str, str]] = {}  # switching back to a source skips the cache look-up


# --- Finding and checking font files -------------------------------------------------------------

def package_font() -> Path:
    """The variable Noto Sans SC shipped by justmytype-intl-cjk."""
    try:
        from importlib.resources import files

        path = Path(str(files(PACKAGE) / PACKAGE_FONT))
    except ModuleNotFoundError as error:
        raise FontError("未安装中文字体包 justmytype-intl-cjk（思源黑体 Noto Sans SC）。"
                        "请运行 pip install -r requirements.txt，或用 FONT_PATH 指定一个 .ttf 字体文件。") from error
    if not path.is_file():
        raise FontError(f"字体包 justmytype-intl-cjk 中找不到 {PACKAGE_FONT}，请重新安装该包。")
    return path


def check_truetype(path: Path) -> None:
    """Refuse what reportlab cannot embed, with a message an administrator can act on."""
    if not path.is_file():
        raise FontError(f"找不到字体文件「{path}」（FONT_PATH）。请检查路径，或清空 FONT_PATH 使用自带的{DEFAULT_FAMILY}。")
    with path.open("rb") as handle:
        head = handle.read(12)
        if head[:4] == b"ttcf":
            # A collection: look at the first face's outline format.
            handle.seek(12)
            offset = int.from_bytes(handle.read(4), "big")
            handle.seek(offset)
            head = handle.read(4)
    if head[:4] == b"OTTO":
        raise FontError(
            f"字体文件「{path.name}」是 OpenType/CFF 格式（.otf，或 CFF 轮廓的 .ttc，例如 Noto Sans CJK / 思源黑体 .otf），"
            "PDF 生成库 reportlab 只能嵌入 TrueType（glyf 轮廓）字体。请改用 .ttf 字体文件，"
            f"或清空 FONT_PATH 使用自带的{DEFAULT_FAMILY}。")
    if head[:4] not in (b"\x00\x01\x00\x00", b"true"):
        raise FontError(f"文件「{path.name}」不是可用的 TrueType 字体（.ttf）。")


def _fingerprint(path: Path) -> str:
    """Names the cached instances after the source's content (and the fontTools that made them), so
    a reinstalled package or another checkout of the project finds them, and a changed font does not."""
    import fontTools

    digest = hashlib.sha256(f"{CACHE_FORMAT}:{fontTools.version}:".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _is_variable(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True, fontNumber=0)
    try:
        return "fvar" in font and any(axis.axisTag == "wght" for axis in font["fvar"].axes)
    finally:
        font.close()


def default_cache_dir() -> Path:
    """FONT_CACHE_DIR from the app config or the environment, else <instance>/fonts."""
    try:
        from flask import current_app, has_app_context
    except ImportError:  # pragma: no cover - flask is always installed with the app
        has_app_context = lambda: False  # noqa: E731
    if has_app_context():
        configured = current_app.config.get("FONT_CACHE_DIR") or os.environ.get("FONT_CACHE_DIR")
        return Path(configured) if configured else Path(current_app.instance_path) / "fonts"
    configured = os.environ.get("FONT_CACHE_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "judging-fonts"


@contextmanager
def _file_lock(path: Path):
    """An exclusive lock between processes where the platform has one (POSIX flock)."""
    try:
        import fcntl
    except ImportError:  # Windows: the atomic rename alone keeps readers safe
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _instance_path(source: Path, weight: int, cache_dir: Path) -> Path:
    return cache_dir / f"{source.stem.split('[')[0]}-w{weight}-{_fingerprint(source)}.ttf"


def _make_instance(source: str, weight: int, target: str) -> str:
    """Instance source at weight into target, written under a temporary name and renamed.
    A top-level function so a worker process can run it."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = TTFont(source, fontNumber=0)
    static = instancer.instantiateVariableFont(font, {"wght": weight})
    static["OS/2"].usWeightClass = weight
    _rename(static, weight)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".instance-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            static.save(handle)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _instance_files(jobs: list[tuple[Path, int]], cache_dir: Path) -> list[Path]:
    """Static instances of variable fonts, one per (source, weight), made once and cached.
    Missing ones are made under a lock file (a second worker waits, then finds them), two at a
    time in separate processes where there are two cores: the first print waits ~13 s, not ~25 s."""
    targets = [_instance_path(source, weight, cache_dir) for source, weight in jobs]
    if all(t.is_file() for t in targets):
        return targets
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(cache_dir / ".lock"):
        todo = sorted({(str(source), weight, str(target)) for (source, weight), target in zip(jobs, targets)
                       if not target.is_file()})
        if len(todo) > 1 and (os.cpu_count() or 1) > 1:
            try:
                _parallel(todo)
            except (OSError, ImportError, RuntimeError):  # no process pool here: one after the other
                pass
        for source, weight, target in todo:
            if not Path(target).is_file():
                _make_instance(source, weight, target)
    return targets


def _parallel(todo: list[tuple[str, int, str]]) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the caller may be a threaded web server.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1), mp_context=context) as pool:
        for future in [pool.submit(_make_instance, *job) for job in todo]:
            future.result()


def _rename(font, weight: int) -> None:
    """Name the instance Regular/Bold (the variable font calls its default Thin)."""
    style = "Bold" if weight >= 700 else "Regular"
    names = font["name"]
    family = names.getDebugName(16) or names.getDebugName(1) or "CJK"
    ascii_family = "".join(c for c in family if c.isascii() and c.isalnum()) or "CJKFont"
    postscript = f"{ascii_family}-{style}"
    for record in list(names.names):
        if record.nameID in (16, 17, 21, 22, 25):
            names.removeNames(nameID=record.nameID)
    for name_id, value in ((1, family), (2, style), (4, f"{family} {style}"), (6, postscript)):
        names.removeNames(nameID=name_id, platformID=1)  # keep one (Windows, Unicode) record each
        names.setName(value, name_id, 3, 1, 0x409)


def font_files(font_path: str | os.PathLike | None = None, bold_path: str | os.PathLike | None = None,
               cache_dir: str | os.PathLike | None = None) -> tuple[Path, Path, str, str]:
    """(regular file, bold file, family shown to users, source) for the configured or packaged font;
    variable fonts are instanced into cache_dir (once) first."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if font_path:
        regular_source = Path(font_path).expanduser()
        bold_source = Path(bold_path).expanduser() if bold_path else regular_source
        check_truetype(regular_source)
        check_truetype(bold_source)
        family, source = regular_source.stem, str(regular_source)
    else:
        regular_source = bold_source = package_font()
        family, source = DEFAULT_FAMILY, "package"
    jobs = [(regular_source, 400), (bold_source, 700)]
    variable = [job for job in jobs if _is_variable(job[0])]
    made: dict[tuple[Path, int], Path] = {}
    if variable:
        try:
            made = dict(zip(variable, _instance_files(variable, cache)))
        except PermissionError:
            # A read-only instance folder (a locked-down install): use the system temp folder.
            fallback = Path(tempfile.gettempdir()) / "judging-fonts"
            if cache == fallback:
                raise
            made = dict(zip(variable, _instance_files(variable, fallback)))
    regular, bold = (made.get(job, job[0]) for job in jobs)
    return regular, bold, family, source


# --- Registering with reportlab ----------------------------------------------------------------

def _register(name: str, path: Path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    try:
        font = TTFont(name, str(path), subfontIndex=0)
    except TTFError as error:
        raise FontError(f"字体文件「{path.name}」无法使用：{error}") from error
    pdfmetrics.registerFont(font)
    return font


def ensure_fonts(font_path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                 bold_path: str | os.PathLike | None = None) -> FontSet:
    """Register "CJK" and "CJK-Bold" for the configured font (or the packaged Noto Sans SC) once
    per process and return them. Without arguments inside an app context, FONT_PATH,
    FONT_BOLD_PATH and FONT_CACHE_DIR come from the app config."""
    global _active
    if font_path is None and bold_path is None:
        font_path, bold_path = _configured_paths()
    key = (str(font_path or ""), str(bold_path or ""))
    current = _active
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        if _active is not None and _active[0] == key:
            return _active[1]
        seen = _files_seen.get(key)
        if seen is None or not (seen[0].is_file() and seen[1].is_file()):
            seen = _files_seen[key] = font_files(font_path, bold_path, cache_dir)
        regular_file, bold_file, family, source = seen
        from reportlab.lib.fonts import addMapping

        regular = _register(REGULAR, regular_file)
        bold = _register(BOLD, bold_file)
        # <b> inside a Paragraph in the CJK family switches to the bold face.
        addMapping(REGULAR, 0, 0, REGULAR)
        addMapping(REGULAR, 1, 0, BOLD)
        addMapping(REGULAR, 0, 1, REGULAR)
        addMapping(REGULAR, 1, 1, BOLD)
        cmap = frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)
        fonts = FontSet(REGULAR, BOLD, regular_file, bold_file, family, source, cmap)
        _active = (key, fonts)
        return fonts


def _configured_paths() -> tuple[str | None, str | None]:
    try:
        from flask import current_app, has_app_context
    except ImportError:  # pragma: no cover
        return None, None
    if not has_app_context():
        return os.environ.get("FONT_PATH") or None, os.environ.get("FONT_BOLD_PATH") or None
    return current_app.config.get("FONT_PATH") or None, current_app.config.get("FONT_BOLD_PATH") or None


# --- Coverage ----------------------------------------------------------------------------------

def _printable(char: str) -> bool:
    """Characters that are drawn; line breaks and other controls never reach the page."""
    return unicodedata.category(char) not in ("Cc", "Cf")


def missing_glyphs(text: str, fonts: FontSet | None = None) -> list[str]:
    """The characters of text (each once, in order) that the registered fonts cannot draw."""
    fonts = fonts or ensure_fonts()
    missing: list[str] = []
    for char in text or "":
        if ord(char) not in fonts.cmap and _printable(char) and char not in missing:
            missing.append(char)
    return missing


def check_coverage(items: Iterable[tuple[str, str]], fonts: FontSet | None = None) -> None:
    """items: (where, text) pairs, e.g. ("作品 XFX-001", title). Raises FontCoverageError naming
    each place and its missing characters; texts of one place are merged."""
    fonts = fonts or ensure_fonts()
    found: dict[str, list[str]] = {}
    for where, text in items:
        for char in missing_glyphs(text, fonts):
            chars = found.setdefault(where, [])
            if char not in chars:
                chars.append(char)
    if found:
        raise FontCoverageError(list(found.items()), fonts.family)
