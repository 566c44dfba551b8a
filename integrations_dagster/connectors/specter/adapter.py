"""Adapter: Specter's two classic-ASP pages over HTTP, the ``key`` recipes, and the answers' two formats.

Role: everything that touches the wire and nothing else — the exporter, the feed reader and the
resource call :meth:`Adapter.get` and :meth:`Adapter.post` with an action, its key subject and its
parameters, and get an :class:`Answer` back or a :class:`Refused` carrying Specter's own message.

* Pages and methods [3p: PrestaShop module "specter" 6.4.7, SpecterConnector getDataFromSpecter /
  postDataToSpecter]: ``getInfo.asp?Action=…`` by GET, every parameter in the query (the change feeds,
  their acknowledgements, ``checkAccountSettings``); ``putInfo.asp?action=…`` by POST with
  ``action, sbmId, apiUserId, useXML, key`` in the query and the rest as a form body
  (``newArticleSubmit``, ``newCustomerSubmit``, ``newOrderSubmit``) [3p: CHANGELOG 3.17 "orders are sent
  by post instead"]. Base URL ``https://api.specter.se/`` [3p: `$specter_base_url`; partner: core-suite].
* Character set: ISO-8859-1 both ways [3p: PrestaShop utf8_decode()s what it sends and utf8_encode()s
  what it gets; CHANGELOG 6.1.4 "md5key issue with åäö in names"] (the exact form is a sandbox guess,
  guesses.CHARSET). Text is made ISO-8859-1-safe first (:func:`latin1`), so the bytes hashed into a key
  are the bytes sent.
* Keys [3p: PrestaShop, every call; Laravel app, newOrderSubmit with API v2], lower-case hex MD5 of
  plain concatenations: v1 ``md5(userKey + sbmId + subject)``; v2 ``md5(integrationKey + v1)`` — used
  whenever the connection has an ``integration_key`` (API v2 is required for multishop ``webshopId``
  [partner: Vendre]). The subject per action is the caller's business (docs/research/specter.md §2).
* Answers [3p: PrestaShop `explode(';', …)`, `explode(chr(13), …)`, `strpos($data, "0;99;")`]: text
  ``1;<id>;<text>`` or ``0;<code>;<message>``, lines separated by CR; XML with ``useXML=2`` [doc: v2.45
  change log], a refusal being ``<APIresponse><code/><message/></APIresponse>`` under the root
  [3p: PrestaShop `$xml->APIresponse->code == '99'`]. A refusal comes with HTTP 200 (nobody checks the
  status; sandbox guess): it raises :class:`Refused` with Specter's message; code 99 ("a batch is
  pending", the only evidenced code) raises :class:`BatchPending`, which the feed reader handles.
* Faults: HTTP 5xx/429/timeouts are retried for GETs by :class:`HttpClient` (Retry-After honoured);
  a POST whose answer is lost raises :class:`TransientError` — every Specter write here is safe to send
  again (articles are upserts, customers are matched by e-mail, orders refuse a second externalOrderNo),
  so the exporter sends it again (:meth:`Adapter.post_again`; orders by their own loop, which tells a
  duplicate its own lost attempt made from one made before).
* Numbers: sent with a decimal point [3p: number_format(x, n, '.', ''); CHANGELOG 4.7]; read with a
  comma or a point [3p: PrestaShop replaces ',' by '.' in priceExclVat, productWeight; CHANGELOG 4.11
  "0,5 stock values"].

Secrets never travel: only their MD5 digests go on the wire. The keys are held as :class:`Secret`
(masked repr), the query (which carries the digests and the account id) never enters an error's text.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable
from urllib.parse import urlencode


from integrations_dagster.connectors.http import (
    ApiError, HttpClient, RetryPolicy, Secret, TransientError,
)

CHARSET = "iso-8859-1"
CR = "\r"
GET_PAGE, PUT_PAGE = "/getInfo.asp", "/putInfo.asp"
BATCH_PENDING = "99"  # [3p: PrestaShop "0;99;" / <code>99</code>]
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"}
# Characters outside ISO-8859-1 that have a plain equivalent in it (typography a shop's editor adds).
_PLAIN = {"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201a": ",",
          "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2026": "...", "\u20ac": "EUR", "\u2122": "(TM)",
          "\u2009": " ", "\u202f": " ", "\u200b": ""}
_TAGS = re.compile(r"<[^>]+>")


# -- text and numbers ---------------------------------------------------------------------------------
def latin1(text: str | None) -> tuple[str, bool]:
    """``text`` as ISO-8859-1 can carry it: typographic characters replaced by plain ones, other letters
    by their base letter, anything else by "?"; and whether anything was replaced (for a warning)."""
    if not text:
        return "", False
    normal = unicodedata.normalize("NFC", text)
    out, changed = [], False
    for ch in normal:
        if ord(ch) < 256:
            out.append(ch)
        elif ch in _PLAIN:
            out.append(_PLAIN[ch])
            changed = changed or bool(_PLAIN[ch])
        else:  # a letter with a mark ISO-8859-1 lacks keeps its base letter ("ł" has none: "?")
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if ord(c) < 256)
            out.append(base or "?")
            changed = True
    return "".join(out), changed


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(CHARSET, errors="replace")).hexdigest()


def number(value: Any, what: str) -> Decimal:
    """A number as Specter writes it: decimal comma or point ("159,20")."""
    text = str(value if value is not None else "").strip().replace(",", ".")
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} {str(value)[:40]!r} is not a number") from None
    if not parsed.is_finite():
        raise ValueError(f"{what} {str(value)[:40]!r} is not a number")
    return parsed


def send_number(value: Decimal, places: int | None = None) -> str:
    """A number as Specter takes it: a decimal point, ``places`` decimals (half up) or as few as needed."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return format(value, "f")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


# -- keys ---------------------------------------------------------------------------------------------
class Keys:
    """The account's key recipes; the user key and the integration key never leave this object."""

    def __init__(self, sbm_id: str, user_key: str, integration_key: str | None) -> None:
        self.sbm_id = str(sbm_id).strip()
        self._user = Secret(str(user_key or ""))
        self._integration = Secret(str(integration_key or ""))

    @property
    def version(self) -> int:
        return 2 if self._integration else 1

    def key(self, subject: str) -> str:
        """v1 ``md5(userKey + sbmId + subject)``; v2 ``md5(integrationKey + v1)`` [3p]."""
        inner = md5_hex(self._user.value + self.sbm_id + subject)
        return md5_hex(self._integration.value + inner) if self._integration else inner

    def __repr__(self) -> str:
        return f"Keys(sbm_id=**********, v{self.version})"


# -- answers ------------------------------------------------------------------------------------------
class Refused(ApiError):
    """Specter refused a request: ``0;<code>;<message>`` or ``<APIresponse><code/>``. Its text is
    Specter's message, which is what a person reads in the sync log."""

    def __init__(self, action: str, code: str, message: str) -> None:
        ApiError.__init__(self, 200, message, None, method="", path=action)
        self.code, self.action = code, action
        self.args = (f"Specter refused {action}: {message}" + (f" (code {code})" if code else ""),)

    def quoted(self) -> list[str]:
        """The strings the message quotes between single quotes, in order (PrestaShop's
        ``explode("'", $message)`` at [1], [3], …)."""
        return self.message.split("'")[1::2]


class BatchPending(Refused):
    """Code 99: another batch of this feed waits for its acknowledgement; the message quotes it."""


@dataclass
class Answer:
    """A success: text lines split on ';' (``fields`` is the first), or the XML document."""

    lines: list[list[str]] = field(default_factory=list)
    xml: ET.Element | None = None

    @property
    def fields(self) -> list[str]:
        return self.lines[0] if self.lines else []

    def field(self, n: int) -> str:
        return self.fields[n] if len(self.fields) > n else ""


def parse(action: str, raw: bytes) -> Answer:
    """An answer body (ISO-8859-1) as an :class:`Answer`, or the refusal it is."""
    text = raw.decode(CHARSET)
    stripped = text.lstrip("\ufeff \r\n\t")
    if stripped.startswith("<"):
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as exc:
            raise failure(f"Specter answered {action} with XML that does not parse ({exc})", 200) from None
        api = root.find("APIresponse") if root.tag != "APIresponse" else root
        if api is not None and (api.findtext("code") or "").strip():
            code = (api.findtext("code") or "").strip()
            cls = BatchPending if code == BATCH_PENDING else Refused
            raise cls(action, code, (api.findtext("message") or "").strip())
        if api is not None and (api.findtext("result") or "").strip() == "0":
            raise Refused(action, "", (api.findtext("message") or "").strip())
        return Answer(lines=[[(api.findtext(n) or "") for n in ("result", "id", "message")]] if api is not None
                      else [], xml=root)
    lines = [line.split(";") for line in text.split(CR) if line.strip("\n")]
    lines = [[f.strip("\n") for f in line] for line in lines]
    first = lines[0][0].strip() if lines else ""
    if first == "0":
        code = lines[0][1].strip() if len(lines[0]) > 1 else ""
        message = ";".join(lines[0][2:]).strip()
        raise (BatchPending if code == BATCH_PENDING else Refused)(action, code, message)
    return Answer(lines=lines)


def failure(message: str, status: int = 0) -> ApiError:
    """An :class:`ApiError` whose text is ``message`` alone (not "-> HTTP 0: …")."""
    error = ApiError(status, message)
    error.args = (message,)
    return error


def unexpected(action: str, answer: "Answer") -> ApiError:
    return failure(f"Specter answered {action} with {';'.join(answer.fields)[:200]!r}, not 1;<id>;…", 200)


def html_message(body: Any) -> str:
    """One line of an error page (IIS answers faults with HTML)."""
    text = _TAGS.sub(" ", str(body))
    return " ".join(text.split())[:300] or "no message"


# -- transport ----------------------------------------------------------------------------------------
class _Form:
    """A form body already encoded in ISO-8859-1, handed through :meth:`HttpClient.request`'s ``json``
    slot to :meth:`SpecterHttp._send` (the shared client sends JSON bodies only)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"_Form({len(self.data)} bytes)"


@dataclass
class SpecterHttp(HttpClient):
    """:class:`HttpClient` that also sends ISO-8859-1 form bodies (retries, limits and masking as there)."""

    def _send(self, method: str, url: str, params: Any, json: Any):
        if not isinstance(json, _Form):
            return super()._send(method, url, params, json)
        return self._attempt(lambda: self.session.request(method, url, params=params, data=json.data,
                                                          headers=FORM_HEADERS, auth=self.auth, timeout=self.timeout))


def _query(pairs: dict[str, str]) -> str:
    """Parameters as an ISO-8859-1 query string (``requests`` would encode them as UTF-8)."""
    return urlencode([(k, latin1(str(v))[0]) for k, v in pairs.items()], encoding=CHARSET, errors="replace")


class Adapter:
    """One Specter account: ``get``/``post`` an action with its key subject."""

    def __init__(self, base_url: str, keys: Keys, api_user_id: str | None, *, timeout: float = 30,
                 attempts: int = 6, log: Callable[[str], None] | None = None) -> None:
        self.keys = keys
        self.api_user_id = str(api_user_id or "").strip()
        self.retry = RetryPolicy(attempts=attempts)
        self.http = SpecterHttp(base_url=base_url, timeout=timeout, retry=self.retry, error_message=html_message,
                                headers={"Accept": "text/html, text/xml, */*"}, on_retry=log)

    def __repr__(self) -> str:
        return f"Adapter({self.http.base_url!r}, {self.keys!r})"

    @property
    def version(self) -> int:
        return self.keys.version

    def _ids(self, subject: str) -> dict[str, str]:
        ids = {"sbmId": self.keys.sbm_id}
        if self.api_user_id:
            ids["apiUserId"] = self.api_user_id
        ids["key"] = self.keys.key(latin1(subject.strip())[0])
        return ids

    def get(self, action: str, subject: str, **params: Any) -> Answer:
        """``getInfo.asp?Action=<action>&…`` (the key made from ``subject``)."""
        query = _query({"Action": action, **self._ids(subject), **{k: v for k, v in params.items() if v is not None}})
        resp = self.http.request("GET", GET_PAGE, params=query)
        return parse(action, resp.content)

    def post(self, action: str, subject: str, form: dict[str, Any], **query: Any) -> Answer:
        """``putInfo.asp?action=<action>`` with ids, key and ``query`` in the URL and ``form`` as the body.
        Text answers (``useXML=1``), as the PrestaShop module asks for them."""
        url_params = {"action": action, **self._ids(subject), "useXML": "1",
                      **{k: v for k, v in query.items() if v is not None}}
        body = _query({k: v for k, v in form.items() if v is not None}).encode("ascii")
        resp = self.http.request("POST", PUT_PAGE, params=_query(url_params), json=_Form(body))
        return parse(action, resp.content)

    def post_again(self, action: str, subject: str, form: dict[str, Any], **query: Any) -> Answer:
        """:meth:`post`, sent again while its answer is lost (5xx, timeout, dropped connection): safe
        for every Specter write this connector makes (see the module docstring). A refusal on a later
        attempt may be the earlier attempt's doing (the order exists): the caller reads it so."""
        for attempt in range(self.retry.attempts):
            try:
                return self.post(action, subject, form, **query)
            except TransientError:
                if attempt + 1 >= self.retry.attempts:
                    raise
                time.sleep(self.retry.delay(attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover
