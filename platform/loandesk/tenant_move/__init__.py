"""Moving one tenant between installs (cloud ↔ private install), its ids intact.

``export_tenant`` writes every row of the tenant — each table with a required ``tenant_id``,
found from the models of the core and of every installed plugin, plus the tenant's own row and
the rows outside it that it points at (its plan) — and its uploaded files into one archive
(``loandesk.tenant_move.archive``). ``import_tenant`` checks the archive whole and loads it into
another database in one transaction, verified before it commits. docs/tenant-move.md.
"""

from loandesk.tenant_move.archive import MoveError, Reader
from loandesk.tenant_move.export import Exported, export_tenant
from loandesk.tenant_move.importer import Imported, import_tenant

__all__ = ["Exported", "Imported", "MoveError", "Reader", "export_tenant", "import_tenant"]
