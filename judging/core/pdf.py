"""Pieces the PDF builders share (registration/documents.py, scoring/paper.py): escaping user text
for Paragraph markup, CJK paragraph styles, invisible section markers with a document template that
tracks them, and a canvas that holds its pages back until save() so the footer can print
"第 x 页 共 y 页".
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from judging.core.fonts import FontSet

FOOTER_Y = 8 * mm
FOOTER_SIZE = 8.5


def markup(text: str | None) -> str:
    """User text made safe for Paragraph markup: & < > escaped, so it prints as typed."""
    return escape(text or "")


def paragraph_style(name: str, font: str, size: float, leading: float | None = None, align=TA_LEFT,
                    color=colors.black, line_height: float = 1.25) -> ParagraphStyle:
    """A style that wraps CJK text anywhere; leading defaults to size * line_height."""
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading or round(size * line_height, 2),
                          alignment=align, textColor=color, wordWrap="CJK", splitLongWords=True)


class SectionMarker(Flowable):
    """An invisible flowable: where a section (a category, a judge's pool...) begins in the story."""

    def __init__(self, name: str = ""):
        super().__init__()
        self.width = self.height = 0
        self.name = name

    def wrap(self, *args):
        return 0, 0

    def draw(self):
        pass


class SectionedDoc(BaseDocTemplate):
    """One frame filling the page within the margins. self.section is the last SectionMarker laid out
    (None before the first) and self.section_started_here tells whether it began on the current page.

    A page that continues a section gets a running head from continued_format (e.g.
    "{heading}　{name}（续）", with the document's heading and the section's name); empty: none.
    Subclasses that mark their pages for the footer extend _page_ends."""

    continued_format = ""
    running_head_size = 8.0

    def __init__(self, out, fonts: FontSet, heading: str = "", **kwargs):
        super().__init__(out, **kwargs)
        self.fonts = fonts
        self.heading = heading
        self.section: SectionMarker | None = None
        self.section_started_here = False
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate("page", frames=[frame], onPage=self._page_begins,
                                            onPageEnd=self._page_ends)])

    def _page_begins(self, canvas, doc):
        self.section_started_here = False

    def afterFlowable(self, flowable):
        if isinstance(flowable, SectionMarker):
            self.section = flowable
            self.section_started_here = True

    def _page_ends(self, canvas, doc):
        name = self.section.name if self.section else ""
        if self.continued_format and name and not self.section_started_here:
            canvas.saveState()
            canvas.setFont(self.fonts.regular, self.running_head_size)
            canvas.setFillColor(colors.HexColor("#555555"))
            canvas.drawString(self.leftMargin, self.pagesize[1] - self.topMargin + 4 * mm,
                              self.continued_format.format(heading=self.heading, name=name))
            canvas.restoreState()


class DeferredCanvas(pdfcanvas.Canvas):
    """A canvas that keeps every page until save(), then calls draw_footer(index) on each.

    Subclasses set initial_font (the embedded regular font, so no unembedded Helvetica is used)
    and override draw_footer.
    """

    initial_font = ""

    def __init__(self, *args, **kwargs):
        kwargs["initialFontName"] = kwargs.get("initialFontName") or self.initial_font  # no unembedded Helvetica
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict] = []

    def showPage(self):
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def draw_footer(self, index: int, state: dict) -> None:
        """Draw on page index (0-based) whose state is restored; nothing by default."""

    def save(self):
        for index, state in enumerate(self._saved_pages):
            self.__dict__.update(state)
            self.draw_footer(index, state)
            pdfcanvas.Canvas.showPage(self)
        pdfcanvas.Canvas.save(self)


def draw_page_footer(canvas, font: str, number: int, total: int, margin: float, left_text: str,
                     right_text: str = "") -> None:
    """"第 x 页 共 y 页" centred at the foot of the page, left_text (and right_text) beside it."""
    width, _ = canvas._pagesize
    canvas.saveState()
    canvas.setFont(font, FOOTER_SIZE)
    canvas.setFillColor(colors.HexColor("#333333"))
    canvas.drawCentredString(width / 2, FOOTER_Y, f"第 {number} 页 共 {total} 页")
    canvas.setFillColor(colors.HexColor("#777777"))
    canvas.drawString(margin, FOOTER_Y, left_text)
    if right_text:
        canvas.drawRightString(width - margin, FOOTER_Y, right_text)
    canvas.restoreState()
