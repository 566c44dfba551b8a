"""Specter Business Management (Swedish ERP): the web-shop API's connector.

One module per role: :mod:`.adapter` (HTTP, key recipes, ISO-8859-1, text/XML answers), :mod:`.mapper`
(declarative field mapping), :mod:`.exporter` (articles, customers and orders into Specter),
:mod:`.feeds` (the change feeds' batch / acknowledge protocol), :mod:`.client` (the resource),
:mod:`.options` (the YAML options it reads).
"""

from integrations_dagster.connectors.specter.client import SpecterResource

__all__ = ["SpecterResource"]
