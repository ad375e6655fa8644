"""Bucket CORS as S3 evaluates it: rules, preflight answers and the headers added to every response.

Rules are S3's ``CORSRule`` (``AllowedOrigins`` with at most one ``*`` wildcard each,
``AllowedMethods`` among GET/PUT/POST/DELETE/HEAD, ``AllowedHeaders`` with ``*`` wildcards,
``ExposeHeaders``, ``MaxAgeSeconds``) kept by the object store per bucket (at most 100, as S3 and
moto: more is 400 ``MalformedXML``), so ``PutBucketCors`` and fixtures write the same place. S3
uses the first rule that matches the Origin, the method and (on a preflight) every requested
header (AWS S3 User Guide, "How does Amazon S3 evaluate the CORS configuration on a bucket?").

Answers, as S3 gives them:
- preflight ``OPTIONS`` without ``Origin``: 400 ``BadRequest`` "Insufficient information. Origin
  request header needed."; with an unknown ``Access-Control-Request-Method``: 400 ``BadRequest``;
  on a bucket without CORS: 403 ``AccessForbidden`` "CORSResponse: CORS is not enabled for this
  bucket."; when no rule matches: 403 ``AccessForbidden`` "CORSResponse: This CORS request is not
  allowed..."; otherwise 200, empty, with the ``Access-Control-*`` headers.
- any other request with ``Origin`` on a bucket with CORS (errors included) carries ``Vary`` and,
  when a rule matches, ``Access-Control-Allow-Origin`` (``*`` for a ``*`` rule, else the Origin with
  ``Access-Control-Allow-Credentials: true``), ``-Allow-Methods``, ``-Expose-Headers``, ``-Max-Age``.

Vendor buckets get ``VENDOR_BUCKET_RULE`` (their browser flows: any origin may PUT/POST/GET/HEAD, ETag
exposed) unless the storage fixture declares rules for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

from mock_server.storage.s3 import ObjectStore
from mock_server.storage.s3_errors import S3Error

METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100  # rules per bucket (S3's CORS limit; moto refuses more with MalformedXML too)
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
    "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
    "whitelisted by the resource's CORS spec."
)
VENDOR_BUCKET_RULE: dict[str, Any] = {
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 3000,
}
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
RULE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["AllowedOrigins", "AllowedMethods"],
    "properties": {
        "ID": {"type": "string"},
        "AllowedOrigins": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "AllowedMethods": {"type": "array", "minItems": 1, "items": {"enum": list(METHODS)}},
        "AllowedHeaders": {"type": "array", "items": {"type": "string"}},
        "ExposeHeaders": {"type": "array", "items": {"type": "string"}},
        "MaxAgeSeconds": {"type": "integer", "minimum": 0},
    },
}


class BadRequest(S3Error):
    status = 400
    code = "BadRequest"
    default_message = "Insufficient information. Origin request header needed."


class AccessForbidden(S3Error):
    status = 403
    code = "AccessForbidden"
    default_message = NOT_ALLOWED


class NoSuchCORSConfiguration(S3Error):
    status = 404
    code = "NoSuchCORSConfiguration"
    default_message = "The CORS configuration does not exist"


class MalformedXML(S3Error):
    status = 400
    code = "MalformedXML"
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.IGNORECASE | re.DOTALL)


def rules_of(store: ObjectStore, bucket: str) -> list[dict[str, Any]]:
    """The bucket's rules in S3's shape (empty when CORS is not configured or the bucket is unknown)."""
    return [_copy(rule) for rule in store.cors_rules(bucket)]


def set_rules(store: ObjectStore, bucket: str, rules: Sequence[Mapping[str, Any]]) -> None:
    """Replace the bucket's rules (an empty list removes CORS). Raises: NoSuchBucket, MalformedXML
    for more than ``MAX_RULES``."""
    if len(rules) > MAX_RULES:
        raise MalformedXML()
    store.set_cors_rules(bucket, [_normalized(rule) for rule in rules])


def _normalized(rule: Mapping[str, Any]) -> dict[str, Any]:
    # Every list present (empty when not given), MaxAgeSeconds an int and ID only when not empty.
    found: dict[str, Any] = {
        "AllowedOrigins": list(rule["AllowedOrigins"]),
        "AllowedMethods": list(rule["AllowedMethods"]),
        "AllowedHeaders": list(rule.get("AllowedHeaders") or []),
        "ExposeHeaders": list(rule.get("ExposeHeaders") or []),
    }
    if rule.get("MaxAgeSeconds") is not None:
        found["MaxAgeSeconds"] = int(rule["MaxAgeSeconds"])
    if rule.get("ID"):
        found["ID"] = rule["ID"]
    return found


def _copy(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, list) else value for name, value in rule.items()}


def match(
    rules: Sequence[Mapping[str, Any]], origin: str, method: str, request_headers: Sequence[str] = ()
) -> tuple[Mapping[str, Any], bool] | None:
    """First rule allowing ``origin``, ``method`` and every header: ``(rule, matched by '*')`` or None."""
    for rule in rules:
        if method not in rule["AllowedMethods"]:
            continue
        origins = [o for o in rule["AllowedOrigins"] if _wildcard(o).fullmatch(origin)]
        if not origins:
            continue
        allowed = [_wildcard(h) for h in rule.get("AllowedHeaders", [])]
        if all(any(p.fullmatch(h) for p in allowed) for h in request_headers):
            return rule, "*" in origins
    return None


def allow_headers(rule: Mapping[str, Any], any_origin: bool, origin: str) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": "*" if any_origin else origin}
    headers["Access-Control-Allow-Methods"] = ", ".join(rule["AllowedMethods"])
    if not any_origin:
        headers["Access-Control-Allow-Credentials"] = "true"
    if rule.get("ExposeHeaders"):
        headers["Access-Control-Expose-Headers"] = ", ".join(rule["ExposeHeaders"])
    if rule.get("MaxAgeSeconds") is not None:
        headers["Access-Control-Max-Age"] = str(rule["MaxAgeSeconds"])
    headers["Vary"] = VARY
    return headers


def preflight(
    store: ObjectStore,
    bucket: str,
    resource_type: str,
    origin: str | None,
    method: str | None,
    requested_headers: str | None,
) -> dict[str, str]:
    """Headers of a 200 preflight answer. Raises: BadRequest, AccessForbidden (S3's wording)."""
    if not origin:
        raise BadRequest()
    if method not in METHODS:
        raise BadRequest(f"Invalid Access-Control-Request-Method: {method}")
    rules = rules_of(store, bucket)
    if not rules:
        raise AccessForbidden(
            "CORSResponse: CORS is not enabled for this bucket.", Method=method, ResourceType=resource_type
        )
    names = [h.strip().lower() for h in (requested_headers or "").split(",") if h.strip()]
    found = match(rules, origin, method, names)
    if found is None:
        raise AccessForbidden(Method=method, ResourceType=resource_type)
    headers = allow_headers(*found, origin)
    if names:
        headers["Access-Control-Allow-Headers"] = ", ".join(names)
    return headers


def response_headers(store: ObjectStore, bucket: str, origin: str, method: str) -> dict[str, str]:
    """Headers S3 adds to a (non-preflight) answer for a request with ``Origin``, errors included."""
    rules = rules_of(store, bucket)
    if not rules:
        return {}
    found = match(rules, origin, method)
    return allow_headers(*found, origin) if found else {"Vary": VARY}


# -- PutBucketCors / GetBucketCors bodies -------------------------------------------------------
_XML_FIELDS = (
    ("AllowedOrigin", "AllowedOrigins"),
    ("AllowedMethod", "AllowedMethods"),
    ("AllowedHeader", "AllowedHeaders"),
    ("ExposeHeader", "ExposeHeaders"),
)


def parse_configuration(body: bytes) -> list[dict[str, Any]]:
    """Rules of a ``CORSConfiguration`` document. Raises: MalformedXML."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise MalformedXML() from None
    rules: list[dict[str, Any]] = []
    for element in root:
        if element.tag.rsplit("}", 1)[-1] != "CORSRule":
            raise MalformedXML()
        rule: dict[str, Any] = {plural: [] for _, plural in _XML_FIELDS}
        for child in element:
            tag, text = child.tag.rsplit("}", 1)[-1], (child.text or "").strip()
            plural = dict(_XML_FIELDS).get(tag)
            if plural:
                rule[plural].append(text)
            elif tag == "MaxAgeSeconds" and text.isdigit():
                rule["MaxAgeSeconds"] = int(text)
            elif tag == "ID":
                rule["ID"] = text
            else:
                raise MalformedXML()
        if not rule["AllowedOrigins"] or not rule["AllowedMethods"]:
            raise MalformedXML()
        bad = [m for m in rule["AllowedMethods"] if m not in METHODS]
        if bad:
            raise S3Error(f"Found unsupported HTTP method in CORS config. Unsupported method is {bad[0]}")
        rules.append(rule)
    if not rules:
        raise MalformedXML()
    return rules


def render_configuration(rules: Sequence[Mapping[str, Any]]) -> bytes:
    root = ElementTree.Element("CORSConfiguration", xmlns=S3_NS)
    for rule in rules:
        element = ElementTree.SubElement(root, "CORSRule")
        if rule.get("ID"):
            ElementTree.SubElement(element, "ID").text = rule["ID"]
        for singular, plural in _XML_FIELDS:
            for value in rule.get(plural, []):
                ElementTree.SubElement(element, singular).text = value
        if rule.get("MaxAgeSeconds") is not None:
            ElementTree.SubElement(element, "MaxAgeSeconds").text = str(rule["MaxAgeSeconds"])
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
