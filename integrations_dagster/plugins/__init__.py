"""Ready-made transforms a flow names in its ``transforms:`` (``use: price_markup``): the manipulators
integration services sell as plugins — price +% / +amount, rounding, SKU search/replace, skip or fail
a record by a condition, set an order's status. Each is a plain function ``(record, **params) ->
record | None`` (None skips the record) registered in :data:`BUILTIN`; a user's own function has the
same shape and is named ``package.module:function`` (:mod:`integrations_dagster.flows.shaping`)."""

from integrations_dagster.plugins.builtin import BUILTIN

__all__ = ["BUILTIN"]
