"""The URLs Specter calls when something changes ("R-Sync" push), through the shared webhook outbox.

Evidence:
* Talex [partner]: "When installing the connection, a web address is sent to Specter, which is called
  automatically every time there is a stock change … When the URL is called, the stock balance in the
  store is updated with the current stock balance from Specter's system." The Nordisk e-handel manual
  [partner] lists real-time syncs initiated by Specter for new/changed articles and new stock status.
* PrestaShop module [3p: specter.txt `_postProcess`]: the shop registers its URLs with
  ``getInfo.asp?action=checkAccountSettings`` (key ``md5(userKey + sbmId + date)``) as the parameters
  ``actionStockChange``, ``actionNewInvoice``
  (``…&orderId=$orderId&invoiceId=$invoiceId&invoiceSource=$invoiceSource``),
  ``actionRemoveOrder`` (``…&orderNo=$orderNo``), ``actionArticleChange`` and ``actionOrderChange``; an
  empty value switches one off. Specter substitutes the ``$name`` placeholders; the receiving controller
  [3p: controllers/front/specterreciever.php] reads ``calltype``/``orderNo``/``orderId``/``invoiceId`` from
  the request and answers ``1;Done``; it then re-reads the feeds — the call carries no data of its own.

Guesses (guesses.CALLBACK_*): POST with an empty body, one call per change operation, no retries.
A control route registers URLs too (what Specter support does at install time).
"""

from __future__ import annotations

from urllib.parse import quote

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.specter import guesses
from integrations_dagster.sandbox.webhooks import Delivery, Outbox


class Callbacks:
    def __init__(self, store: DocumentStore, outbox: Outbox) -> None:
        self.store, self.outbox = store, outbox

    def register(self, urls: dict[str, str]) -> dict[str, str]:
        """Set (or, with "", remove) the URL of each named callback given; the registry after."""
        for name, url in urls.items():
            if name not in guesses.CALLBACK_NAMES:
                raise ValueError(f"unknown callback {name!r}; known: {', '.join(guesses.CALLBACK_NAMES)}")
            found = self.store.find("callbacks", key=name, limit=1)
            if found:
                self.store.delete("callbacks", found[0]["id"])
            if url:
                self.store.insert("callbacks", {"name": name, "url": url}, key=name)
        return self.registered()

    def registered(self) -> dict[str, str]:
        return {doc["name"]: doc["url"] for doc in self.store.find("callbacks")}

    def fire(self, name: str, values: dict[str, str]) -> None:
        url = self.registered().get(name)
        if not url:
            return
        # Longest names first, so that $orderId is not read as $order + "Id".
        for key in sorted(values, key=len, reverse=True):
            url = url.replace(f"${key}", quote(str(values[key]), safe=""))
        self.outbox.send(Delivery(url=url, body=guesses.CALLBACK_BODY,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"},
                                  event=name, retry_delays_s=guesses.CALLBACK_RETRY_DELAYS_S))
