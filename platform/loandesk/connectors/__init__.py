"""Connectors (连接器): the contract a connector plugin declares through ``loandesk_connectors``
(``Connector``: a key, labels, the plugin, and a harmless ``test`` call to its provider), and
each tenant's record of how its connectors last fared (``status``)."""

from loandesk.connectors.contract import Connector, ConnectorTestFailed

__all__ = ["Connector", "ConnectorTestFailed"]
