"""Re-sending named records: the Fortnox articles whose stock levels the keys a person or the sync log gives.

:meth:`FortnoxResource.read_keys` answers through here. A stock level's key is the article number,
with ``@<location>`` when the flow's ``location`` option is not ``default`` (``StockLevel.key``); the
sync log names an article it could not map by its bare number, so both are read. Each key is one
``GET /3/articles/{ArticleNumber}`` [spec: openapi-fortnox.json; it types the path parameter int32,
but ``fortnox_Article.ArticleNumber`` is a string of at most 50], the number quoted as one path
segment: article numbers may hold characters a path does not carry as they are (``/``, ``+``,
letters such as ``å``), and a key holding ``?`` or ``#`` must ask for that number, never for another
article. A 404 is "no such article" [rec: recordings/articles/find_failure.yml answers ``Kan inte
hitta artikeln.`` with code 2000428]. The answer's own ``ArticleNumber`` must be the one asked for,
so a lookup never returns another article's level; compared without case, as whether Fortnox
matches numbers with case is not documented (the product writer's article index casefolds too).
Records come as ``read()`` yields them when a list row lacks the stock figure: the whole article,
with ``QuantityInStock``, and the read time as ``_fetched_at`` (the level's freshness token).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from integrations_dagster.connectors.http import ApiError, TransientError

if TYPE_CHECKING:
    from integrations_dagster.connectors.fortnox.client import FortnoxResource


def stock(fx: "FortnoxResource", keys: list[str], options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
    """The articles holding ``keys`` (each once) and why the others were not found."""
    location = options.get("location", "default")
    suffix = f"@{location}" if location != "default" else None
    fetched_at = datetime.now(UTC).isoformat()
    records: list[dict] = []
    seen: set[str] = set()
    missing: dict[str, str] = {}
    for key in dict.fromkeys(str(k) for k in keys):
        number = key.strip()
        if suffix and number.endswith(suffix):
            number = number[: -len(suffix)]
        if not number:
            missing[key] = "an empty key names no article"
            continue
        if number.casefold() in seen:
            continue
        try:
            found = fx._get(fx._article_path(number))
        except TransientError:
            raise  # not the key's fault: the run gives up and is retried
        except ApiError as exc:  # Fortnox refused the number itself (e.g. 400)
            missing[key] = f"Fortnox refused article number {number!r}: {exc}"
            continue
        article = (found or {}).get("Article")
        if not isinstance(article, dict):
            missing[key] = f"no article {number!r} in Fortnox"
            continue
        answered = str(article.get("ArticleNumber", ""))
        if answered.casefold() != number.casefold():
            missing[key] = f"Fortnox answered article {answered!r} when asked for {number!r}"
            continue
        seen.add(number.casefold())
        records.append({**article, "_fetched_at": fetched_at})
    return records, missing
