"""Bibliography in the author–year style of the citations: entries labelled "Zahn et al. 2024", sorted by author
and year, with their DOI or URL (a pybtex style registered for sphinxcontrib-bibtex)."""
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


class AuthorYearLabels(BaseLabelStyle):
    """"Han 2015", "Frankle & Carbin 2019", "Zahn et al. 2024"; a, b, … appended when two labels coincide."""

    def format_labels(self, sorted_entries):
        labels = []
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            last = [" ".join(p.last_names) for p in people]
            if len(last) == 1:
                who = last[0]
            elif len(last) == 2:
                who = f"{last[0]} & {last[1]}"
            else:
                who = f"{last[0] if last else entry.key} et al."
            labels.append(f"{who} {entry.fields.get('year', '')}".strip())
        seen = {}
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
        suffix = {}
        for label in labels:
            if seen[label] > 1:
                suffix[label] = suffix.get(label, 0) + 1
                yield f"{label}{'abcdefghijklmnopqrstuvwxyz'[suffix[label] - 1]}"
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
