"""Reports (报表): datasets that plugins register, and report specs compiled to one SQL
aggregate query under the viewer's data scope and field permissions (DESIGN §4 "Reports"),
and the built-in reports plugins ship (``loandesk.reports.builtin``)."""

from loandesk.reports.datasets import BUCKETS, Dataset, Dimension, Measure, Source, SourceColumn

__all__ = ["BUCKETS", "Dataset", "Dimension", "Measure", "Source", "SourceColumn"]
