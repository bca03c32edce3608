"""Figures on the book's pages: a figure glued from another chapter, numbered and captioned; and alternative text.

``glued-figure`` pastes a figure a chapter glued (``myst_nb.glue``) into another page as a numbered figure with a
caption, which myst-nb's own ``glue:figure`` does only within the chapter that glued it::

    ```{glued-figure} c07_profiles
    :doc: 07_results.ipynb
    :name: fig-intro-profiles

    The caption.
    ```

The book's stylesheet (``static/book.css``: glued numbers in the text's own weight, table captions) is added to
every page.

Every figure's image without alt text of its own (a notebook's output image has only its file path) gets its
caption, without the figure number, so that a screen reader reads what the figure shows.
"""
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective


class GluedFigure(SphinxDirective):
    """A figure whose content is an output glued in the notebook ``:doc:``; its content is the caption."""

    required_arguments = 1
    has_content = True
    option_spec = {"doc": directives.unchanged_required, "name": directives.unchanged}

    def run(self):
        from myst_nb.ext.glue.utils import PendingGlueReferenceError, create_pending_glue_ref, glue_warning

        try:
            pasted = create_pending_glue_ref(self.state.document, self.get_source_info()[0], self.lineno,
                                             self.options["doc"], self.arguments[0])
        except PendingGlueReferenceError as exc:
            return [glue_warning(str(exc), self.state.document, self.lineno)]
        figure = nodes.figure("", pasted)
        self.set_source_info(figure)
        self.add_name(figure)
        if self.content:
            parsed = nodes.Element()
            self.state.nested_parse(self.content, self.content_offset, parsed)
            first = parsed[0]
            if isinstance(first, nodes.paragraph):
                figure += nodes.caption(first.rawsource, "", *first.children)
            if len(parsed) > 1:
                figure += nodes.legend("", *parsed[1:])
        return [figure]


def caption_as_alt(app, doctree, docname):
    """Give each image of a captioned figure that lacks alt text the caption's text."""
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            alt = image.get("alt", "")
            if not alt or alt == image.get("uri") or alt.lower().endswith((".png", ".jpg", ".jpeg", ".svg")):
                image["alt"] = text


def add_stylesheet(app):
    """Serve ``static/`` beside this module and link its ``book.css`` from every page."""
    from pathlib import Path

    app.config.html_static_path.append(str(Path(__file__).parent / "static"))
    app.add_css_file("book.css")


def setup(app):
    app.add_directive("glued-figure", GluedFigure)
    app.connect("builder-inited", add_stylesheet)
    app.connect("doctree-resolved", caption_as_alt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
