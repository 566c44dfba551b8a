"""Specter wire conventions: parameters, text and XML answers, refusals, numbers, MD5.

* Two classic-ASP pages, ``getInfo.asp?Action=…`` and ``putInfo.asp?action=…``, parameters in the query
  string and/or an ``application/x-www-form-urlencoded`` body [3p: PrestaShop module SpecterConnector
  getDataFromSpecter (GET) / postDataToSpecter (POST); Laravel app sends a write as GET]. Names are
  read case-insensitively, query first (guesses.PARAM_NAMES_CASE_INSENSITIVE), bytes as ISO-8859-1
  (guesses.CHARSET).
* Text answers: ``;``-separated fields, first ``1`` (success) or ``0`` (refusal: ``0;<code>;<message>``),
  lines separated by CR [3p: PrestaShop `explode(';', …)`, `strpos($data, "0;99;")`, `explode(chr(13), …)`].
* XML answers with ``useXML=2`` [doc: v2.45 change log "usexml=2 (xml-format)"]; a refusal is
  ``<APIresponse><code/><message/></APIresponse>`` under the document element [3p: PrestaShop
  `$xml->APIresponse->code == '99'`]; success ``<APIresponse><result>1</result>…`` [3p: Laravel app].
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable
from urllib.parse import parse_qsl

from starlette.responses import Response

from integrations_dagster.sandbox.specter import guesses


class Refusal(Exception):
    """A request Specter refuses: ``0;<code>;<message>`` (text) or ``<APIresponse>`` (XML)."""

    def __init__(self, code: int, **fmt: Any) -> None:
        self.code = code
        template = guesses.MESSAGES.get(code, "Fel")
        self.message = template.format(**fmt) if fmt else template
        super().__init__(self.message)

    @classmethod
    def raw(cls, code: int, message: str) -> "Refusal":
        refusal = cls.__new__(cls)
        Exception.__init__(refusal, message)
        refusal.code, refusal.message = code, message
        return refusal


class Params:
    """A request's parameters as classic ASP's ``Request(name)`` reads them (guesses: case-insensitive,
    query string before form body, a repeated name joined by ", ")."""

    def __init__(self, query: bytes, body: bytes) -> None:
        self._query = self._parse(query)
        self._form = self._parse(body)

    @staticmethod
    def _parse(raw: bytes) -> dict[str, str]:
        out: dict[str, list[str]] = {}
        text = raw.decode("latin-1")  # every byte is a character: the form is ISO-8859-1 (guesses.CHARSET)
        for name, value in parse_qsl(text, keep_blank_values=True, encoding=guesses.CHARSET, errors="replace"):
            out.setdefault(name.lower() if guesses.PARAM_NAMES_CASE_INSENSITIVE else name, []).append(value)
        return {k: guesses.DUPLICATE_PARAM_JOINER.join(v) for k, v in out.items()}

    def _key(self, name: str) -> str:
        return name.lower() if guesses.PARAM_NAMES_CASE_INSENSITIVE else name

    def get(self, name: str, default: str | None = None) -> str | None:
        key = self._key(name)
        if key in self._query:
            return self._query[key]
        return self._form.get(key, default)

    def text(self, name: str) -> str:
        """The value, stripped; "" when absent."""
        return (self.get(name) or "").strip()

    def has(self, name: str) -> bool:
        return self.text(name) != ""

    def flag(self, name: str) -> bool:
        return self.text(name).lower() in ("1", "true", "yes", "on")

    def require(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise Refusal(guesses.ERR_MISSING, name=name)
        return value

    def names(self) -> set[str]:
        return set(self._query) | set(self._form)


def wants_xml(params: Params) -> bool:
    return params.text("useXML") == guesses.XML_WHEN_USEXML


# --- answers ----------------------------------------------------------------------------------------
def _encode(text: str) -> bytes:
    return text.encode(guesses.CHARSET, errors="replace")


def text_answer(lines: Iterable[str]) -> Response:
    return Response(_encode(guesses.LINE_SEPARATOR.join(lines)), status_code=200,
                    headers={"Content-Type": guesses.TEXT_CONTENT_TYPE})


def text_fields(*fields: Any) -> str:
    return ";".join("" if f is None else str(f) for f in fields)


def xml_answer(root: ET.Element) -> Response:
    body = ET.tostring(root, encoding="unicode")
    declaration = f'<?xml version="1.0" encoding="{guesses.CHARSET.upper()}"?>'
    data = (declaration + body).encode(guesses.CHARSET, errors="xmlcharrefreplace")
    return Response(data, status_code=200, headers={"Content-Type": guesses.XML_CONTENT_TYPE})


def xml_root() -> ET.Element:
    return ET.Element(guesses.XML_ROOT)


def sub(parent: ET.Element, tag: str, text: Any = None, **attrs: Any) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: "" if v is None else str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = str(text)
    return element


def ok(params: Params, ident: Any = "", message: str = "") -> Response:
    """Success of a write or an acknowledgement: ``1;<id>;<message>`` or ``<APIresponse><result>1</result>…``."""
    if wants_xml(params):
        root = xml_root()
        api = sub(root, "APIresponse")
        for name, value in zip(guesses.XML_OK_FIELDS, ("1", ident, message)):
            sub(api, name, value)
        return xml_answer(root)
    return text_answer([text_fields(1, ident, message)])


def refusal_response(params: Params | None, refusal: Refusal, *, xml: bool | None = None) -> Response:
    as_xml = xml if xml is not None else (params is not None and wants_xml(params))
    if as_xml:
        root = xml_root()
        api = sub(root, "APIresponse")
        if guesses.XML_ERROR_HAS_RESULT:
            sub(api, "result", "0")
        sub(api, "code", refusal.code)
        sub(api, "message", refusal.message)
        response = xml_answer(root)
    else:
        response = text_answer([text_fields(0, refusal.code, refusal.message)])
    response.status_code = guesses.REFUSAL_HTTP_STATUS
    return response


# --- numbers ----------------------------------------------------------------------------------------
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse_number(value: str, name: str) -> Decimal:
    """A number as integrators send it: decimal point only (guesses.INPUT_DECIMAL_POINT_ONLY)."""
    text = value.strip()
    if not guesses.INPUT_DECIMAL_POINT_ONLY:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        raise Refusal(guesses.ERR_NUMBER, name=name, value=value)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise Refusal(guesses.ERR_NUMBER, name=name, value=value) from None


def fmt_decimal(value: Decimal | str | None, places: int | None) -> str:
    """A number as Specter writes it: decimal comma (guesses.OUTPUT_DECIMAL_SEPARATOR); ``places`` fixed
    decimals, or None for "integer when whole, else as few decimals as needed"."""
    if value is None or value == "":
        return ""
    number = Decimal(value)
    if places is None:
        text = format(number.normalize(), "f") if number != number.to_integral_value() else str(int(number))
    else:
        text = format(number.quantize(Decimal(1).scaleb(-places), rounding=guesses.TOTAL_ROUNDING), "f")
    return text.replace(".", guesses.OUTPUT_DECIMAL_SEPARATOR)


def fmt_quantity(value: Decimal) -> str:
    return fmt_decimal(value, None)


# --- keys -------------------------------------------------------------------------------------------
def md5_hex(text: str) -> str:
    """Lower-case hex MD5 of the text's ISO-8859-1 bytes (the bytes PHP integrators hash after utf8_decode)."""
    return hashlib.md5(text.encode(guesses.CHARSET, errors="replace")).hexdigest()
