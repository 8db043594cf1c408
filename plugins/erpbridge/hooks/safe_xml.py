"""Safe XML parsing and building for XML-speaking vendors (no DTDs, no external entities)."""

from __future__ import annotations

from io import BytesIO
from typing import Callable, TypeVar
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from erpbridge.errors import ExternalSystemError
from erpbridge.hooks.transport import Retryable

T = TypeVar("T")


class MalformedXml(ValueError):
    """The body is not well-formed XML or carries a DTD / entity declarations."""


class UnsafeXml(MalformedXml):
    """The body carries a DTD or entity declarations (XXE, billion laughs): refused unparsed."""


def parse(body: bytes) -> Element:
    """Parse ``body`` refusing DTDs, entity declarations and external references."""
    try:
        return SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:  # refused before any entity is read or expanded
        raise UnsafeXml(f"unsafe XML refused (a DTD or entity declaration, never parsed): {exc}") from exc
    except SafeET.ParseError as exc:
        raise MalformedXml(f"unreadable XML: {exc}") from exc


def parse_response(response, system: str) -> Element:
    """A vendor's XML answer. Unreadable: Retryable (a cut body may come whole next time). Unsafe:
    ExternalSystemError at once (asking again will not make it safe)."""
    try:
        return parse(response.content)
    except UnsafeXml as exc:
        raise ExternalSystemError(system, f"HTTP {response.status_code}: {exc}", "UNSAFE_XML",
                                  response.status_code) from exc
    except MalformedXml as exc:
        raise Retryable(f"HTTP {response.status_code}: {exc}", status=response.status_code) from exc


def each_in_response(response, system: str, tag: str, convert: Callable[[Element], T]) -> list[T]:
    """``convert`` of every ``tag`` element of a vendor's XML answer, read as a stream: each element is dropped
    once converted, so a long list never stands in memory as one tree. Refusals as :func:`parse_response`."""
    found: list[T] = []
    try:
        for _, element in SafeET.iterparse(BytesIO(response.content), forbid_dtd=True):
            if element.tag == tag:
                found.append(convert(element))
                element.clear()
    except DefusedXmlException as exc:
        raise ExternalSystemError(system, f"HTTP {response.status_code}: unsafe XML refused: {exc}", "UNSAFE_XML",
                                  response.status_code) from exc
    except SafeET.ParseError as exc:
        raise Retryable(f"HTTP {response.status_code}: unreadable XML: {exc}", status=response.status_code) from exc
    return found


def child(element: Element | None, name: str) -> Element | None:
    """The first child whose tag equals ``name`` case-insensitively."""
    if element is None:
        return None
    wanted = name.lower()
    return next((c for c in element if c.tag.lower() == wanted), None)


def children(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    wanted = name.lower()
    return [c for c in element if c.tag.lower() == wanted]


def text(element: Element | None, name: str) -> str | None:
    found = child(element, name)
    return None if found is None else (found.text or "")


def build(tag: str, content: dict | list | str | None, attrs: dict | None = None) -> Element:
    """Build an element from nested dicts; a list value repeats the tag; a (text, attrs) tuple adds attributes."""
    element = Element(tag, attrs or {})
    _fill(element, content)
    return element


def _fill(element: Element, content) -> None:
    if isinstance(content, dict):
        for name, value in content.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, tuple):
                    _fill(SubElement(element, name, item[1]), item[0])
                else:
                    _fill(SubElement(element, name), item)
    elif content is not None:
        element.text = str(content)


def serialize(element: Element) -> bytes:
    return tostring(element, encoding="utf-8", xml_declaration=True)
