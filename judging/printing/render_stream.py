"""A reportlab canvas that writes each page to its output as soon as the page is finished.

A plain reportlab Canvas keeps every page (its content stream and page dictionary) in memory until
save(): 10,000 certificates grow the process by hundreds of MB. StreamingCanvas hands reportlab a
document object that, the moment a page is added, formats the page dictionary and its content
stream as PDF objects, writes them to the sink, notes their byte offsets and drops them. What only
the end can know (the font subsets, which depend on every character printed, the page tree, the
catalog and the cross-reference table) is written by save() after the pages. The result is an
ordinary single-file PDF (objects appear in the file out of number order, which the format allows);
nothing needs to seek, so the sink may be an HTTP response as well as a file.

    sink = []                                    # anything with .write(bytes), or a list-like .append
    c = StreamingCanvas(sink.append, pagesize=landscape(A4), initialFontName=fonts.regular)
    ... draw; c.showPage() ...                   # each page reaches the sink here
    c.save()                                     # fonts, page tree, xref, trailer

Built on reportlab 4/5's pdfdoc internals (PDFDocument.format, Reference, PDFPages.pages); the test
suite reads the result back with pypdf, so a change there shows up as a failing test, not a bad file.
"""
from __future__ import annotations

from collections.abc import Callable

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen import canvas as pdfcanvas

Write = Callable[[bytes], object]


class StreamingDocument(pdfdoc.PDFDocument):
    """A PDFDocument that writes pages as they are added and the rest on save."""

    def __init__(self, write: Write, **kwargs):
        super().__init__(**kwargs)
        self._write = write
        self._offset = 0
        self._written: set[str] = set()  # internal names of objects already in the output
        header = pdfdoc.PDFFile(self._pdfVersion)  # "%PDF-1.x" and the binary comment line
        self._emit(b"".join(header.strings))

    def _emit(self, data: bytes) -> int:
        position = self._offset
        self._write(data)
        self._offset += len(data)
        return position

    def _flush_object(self, name: str) -> None:
        obj = self.idToObject[name]
        self.idToOffset[name] = self._emit(pdfdoc.PDFIndirectObject(name, obj).format(self))
        self._written.add(name)
        del self.idToObject[name]  # format() skips written names; nothing refers to the object again

    def addPage(self, page):
        name = self.thisPageName()
        if page.compression and page.stream and not page.Contents:
            # Deflate only: reportlab's default also wraps it in ASCII85 (rl_config.useA85), which
            # makes the file a quarter larger and costs time in pure Python.
            contents = pdfdoc.PDFStream()
            contents.filters = [pdfdoc.PDFZCompress]
            contents.content = page.stream
            contents.__Comment__ = "page stream"
            page.Contents = contents
        super().addPage(page)
        # Formatting the page gives its content stream an object number; write both, then forget them.
        self._flush_object(name)
        contents = page.Contents
        if contents is not None and getattr(contents, "__InternalName__", None):
            self._flush_object(contents.__InternalName__)
        page.Contents = page.stream = None
        # The page tree needs only the reference.
        self.Pages.pages[-1] = pdfdoc.PDFObjectReference(name)

    def SaveToFile(self, filename, canvas):  # noqa: N802 - reportlab's name
        if getattr(self, "_savedToFile", False):
            raise RuntimeError("a streamed document can be saved only once")
        self._savedToFile = True
        self.GetPDFData(canvas)  # realises the fonts, then calls format(), which writes

    def format(self):
        """PDFDocument.format, skipping what addPage already wrote and writing as it goes."""
        self.encrypt.prepare(self)
        cat, info = self.Catalog, self.info
        self.Reference(cat)
        self.Reference(info)
        encrypt_info = self.encrypt.info()
        encrypt_ref = self.Reference(encrypt_info) if encrypt_info else None
        ids = []
        counter = 0
        while True:  # objects may register new ones while being formatted (font subsets do)
            counter += 1
            if counter not in self.numberToId:
                break
            name = self.numberToId[counter]
            ids.append(name)
            if name in self._written:
                continue
            obj = self.idToObject[name]
            if not rl_config.invariant and rl_config.pdfComments:
                self._emit(pdfdoc.pdfdocEnc("%% %s: class %s \n" % (ascii(name), obj.__class__.__name__[:50])))
            self.idToOffset[name] = self._emit(pdfdoc.PDFIndirectObject(name, obj).format(self))
        count = len(self.numberToId)
        if counter - 1 != count:
            raise ValueError(f"object numbering is not contiguous: {counter - 1} != {count}")
        xref = pdfdoc.PDFCrossReferenceTable()
        xref.addsection(0, ids)
        xref_offset = self._emit(xref.format(self))
        trailer = pdfdoc.PDFTrailer(startxref=xref_offset, Size=count + 1, Root=self.Reference(cat),
                                    Info=self.Reference(info), Encrypt=encrypt_ref, ID=self.ID())
        self._emit(trailer.format(self))
        return b""


class StreamingCanvas(pdfcanvas.Canvas):
    """A Canvas whose pages go to write(bytes) as they are shown. save() finishes the file;
    it does not close whatever write belongs to."""

    def __init__(self, write: Write, **kwargs):
        super().__init__(None, **kwargs)
        old = self._doc
        if old.idToObject.keys() - {pdfdoc.BasicFonts}:
            # An initial font with objects of its own (a standard Type 1 font) was registered in
            # the document reportlab made; the embedded CJK font (dynamic) never is.
            raise ValueError("StreamingCanvas needs an embedded TrueType initialFontName")
        self._doc = StreamingDocument(write, compression=self._pageCompression, invariant=old.invariant,
                                      pdfVersion=old._pdfVersion, lang=kwargs.get("lang"))
        self.setEncrypt(None)
        self._make_preamble()
