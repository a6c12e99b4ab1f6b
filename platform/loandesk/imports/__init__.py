"""Excel import and export of business records (批量导入 / 导出), for any record type whose
plugin gives it a ``create`` function.

``sheets`` builds and reads workbooks (the template, the rejected rows, exports); ``service``
holds the steps: upload → preview (a job validating every row through the one validation
path) → confirm → import (a job writing the valid rows in batches) and the rows' fingerprints
that make imports idempotent. ``views`` and ``loandesk.api.imports`` are thin adapters.
"""
