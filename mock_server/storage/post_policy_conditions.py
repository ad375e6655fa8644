"""The rules a POST form must meet: its credential scope, the policy document, each condition.

Each check raises the error S3 sends: ``InvalidArgument`` for the signing fields,
``InvalidPolicyDocument`` for a policy S3 cannot read, and 403 ``AccessDenied`` for a condition
that does not hold, naming it as S3 prints it (simple conditions as ``eq`` arrays, the policy's
own spelling). Wording S3 has not been seen to use (the credential's date, service and terminal,
missing policy members, malformed conditions) follows versitygw, which models S3's texts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from mock_server.storage.s3_errors import AccessDenied, InvalidArgument, InvalidPolicyDocument

ALGORITHM = "AWS4-HMAC-SHA256"
POLICY_VIOLATION = "Invalid according to Policy: "
EQ, STARTS_WITH, CONTENT_LENGTH_RANGE = "eq", "starts-with", "content-length-range"

# S3 accepts only UTC with a literal "Z", with or without fractional seconds.
_EXPIRATION = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z", re.ASCII)
_BASE64_WHITESPACE = re.compile(r"[ \t\r\n]")
# Fields the AWS table lists as exact-match only; every other x-amz-* (not x-amz-meta-*) is too.
_EXACT_ONLY = frozenset({"bucket", "success_action_status"})
_LONG_DATE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)
_DATE_STAMP = re.compile(r"\d{8}", re.ASCII)
_MALFORMED_CREDENTIAL = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)


class CredentialScope(NamedTuple):
    access_key_id: str
    date_stamp: str


def credential_scope(form: Mapping[str, str], region: str) -> CredentialScope:
    """Check ``x-amz-algorithm``, ``x-amz-credential`` (against ``region``) and ``x-amz-date``.

    ``form`` maps lower-cased names to values and holds all three fields.
    Raises: InvalidArgument naming the first field that is wrong, with S3's wording.
    """
    algorithm = form["x-amz-algorithm"]
    if algorithm != ALGORITHM:
        message = f'X-Amz-Algorithm only supports "{ALGORITHM}"'
        raise InvalidArgument(message, ArgumentName="X-Amz-Algorithm", ArgumentValue=algorithm)
    credential = form["x-amz-credential"]

    def refused(message: str, **extra: str) -> InvalidArgument:
        return InvalidArgument(message, ArgumentName="X-Amz-Credential", ArgumentValue=credential, **extra)

    parts = credential.split("/")
    if len(parts) != 5:
        raise refused(_MALFORMED_CREDENTIAL)
    access_key_id, date_stamp, scope_region, service, terminal = parts
    if not access_key_id:
        raise refused("a non-empty Access Key (AKID) must be provided in the credential.")
    if not _valid_instant(date_stamp, "%Y%m%d", _DATE_STAMP):
        raise refused(f'incorrect date format "{date_stamp}". This date in the credential must be in '
                      'the format "yyyyMMdd".')
    if scope_region != region:
        raise refused(f"the region '{scope_region}' is wrong; expecting '{region}'", Region=region)
    if service != "s3":
        raise refused(f'incorrect service "{service}". This endpoint belongs to "s3".')
    if terminal != "aws4_request":
        raise refused(f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".')
    amz_date = form["x-amz-date"]
    if not _valid_instant(amz_date, "%Y%m%dT%H%M%SZ", _LONG_DATE):
        message = "X-Amz-Date must be formated via ISO8601 Long format"  # sic, as S3 spells it
        raise InvalidArgument(message, ArgumentName="X-Amz-Date", ArgumentValue=amz_date)
    return CredentialScope(access_key_id, date_stamp)


def _valid_instant(text: str, layout: str, shape: re.Pattern[str]) -> bool:
    # strptime alone accepts short fields ("2015129"), so the shape is checked first.
    if not shape.fullmatch(text):
        return False
    try:
        datetime.strptime(text, layout)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Condition:
    """One policy condition: canonical ``operation``, ``operands`` as written, S3's printed form."""

    operation: str
    operands: tuple[object, ...]
    text: str

    @property
    def field(self) -> str | None:
        """Lower-cased form field the condition names (``$`` stripped), or None."""
        if self.operation == CONTENT_LENGTH_RANGE:
            return None
        return field_name(self.operands[0])


@dataclass(frozen=True)
class PolicyDocument:
    expiration: datetime
    conditions: tuple[Condition, ...]


def field_name(operand: object) -> str | None:
    """``"$Content-Type"`` -> ``"content-type"``; None when the operand does not name a field."""
    if isinstance(operand, str) and operand.startswith("$"):
        return operand[1:].lower()
    return None


def named_fields(conditions: Iterable[object]) -> set[str]:
    """Lower-cased field names that raw (unparsed) conditions mention, for issuing policies."""
    names: set[str] = set()
    for condition in conditions:
        if isinstance(condition, Mapping):
            names.update(str(name).lower() for name in condition)
        elif isinstance(condition, Sequence) and not isinstance(condition, str) and len(condition) > 1:
            name = field_name(condition[1])
            if name is not None:
                names.add(name)
    return names


def _invalid(detail: str) -> InvalidPolicyDocument:
    return InvalidPolicyDocument(f"Invalid Policy: {detail}")


def _reject_number(text: str) -> object:
    raise ValueError(f"non-integer number {text}")


def _contains_null(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_contains_null(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_null(item) for item in value)
    return False


def _render(items: Sequence[object]) -> str:
    # S3 prints the failing condition as JSON with ", " between items and quotes escaped.
    return json.dumps(list(items), ensure_ascii=False)


def parse_policy(policy: str) -> PolicyDocument:
    """Decode the base64 ``policy`` field and validate its shape.

    Raises: InvalidPolicyDocument with S3's message: "Invalid JSON." for anything that is not
    base64 of a UTF-8 JSON object, or that holds a float or a null; "Unexpected: '<member>'";
    a missing or unreadable expiration or conditions; a malformed condition.
    """
    try:
        raw = base64.b64decode(_BASE64_WHITESPACE.sub("", policy), validate=True)
        document = json.loads(raw.decode("utf-8"), parse_float=_reject_number, parse_constant=_reject_number)
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _invalid("Invalid JSON.") from exc
    if not isinstance(document, dict) or _contains_null(document):
        raise _invalid("Invalid JSON.")
    unexpected = [member for member in document if member not in ("expiration", "conditions")]
    if unexpected:
        # S3 named 'statement', the last member of {Version, Id, Statement}, lower-cased.
        raise _invalid(f"Unexpected: '{unexpected[-1].lower()}'")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    expiration = _parse_expiration(document["expiration"])
    if "conditions" not in document:
        raise _invalid("Policy missing conditions.")
    conditions = document["conditions"]
    if not isinstance(conditions, list):
        raise _invalid("Invalid 'conditions' value: must be a List.")
    return PolicyDocument(expiration, tuple(_parse_condition(item) for item in conditions))


def _parse_expiration(value: object) -> datetime:
    match = _EXPIRATION.fullmatch(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError("not an ISO 8601 UTC instant")
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        micros = int((match.group(7) or "0").ljust(6, "0"))
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
    except ValueError as exc:
        shown = value if isinstance(value, str) else json.dumps(value)
        raise _invalid(f"Invalid 'expiration' value: '{shown}'") from exc


def _parse_condition(raw: object) -> Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise _invalid(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."
            )
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise _invalid("Invalid Simple-Condition: value must be a string.")
        return Condition(EQ, (f"${name}", value), _render([EQ, f"${name}", value]))
    if not isinstance(raw, list):
        raise _invalid("Invalid condition test: must be a List or Object.")
    if not raw or not isinstance(raw[0], str):
        raise _invalid("Invalid Condition: missing operation identifier.")
    operation = raw[0].lower()
    if operation not in (EQ, STARTS_WITH, CONTENT_LENGTH_RANGE):
        raise _invalid(f"Invalid Condition: unknown operation '{raw[0]}'.")
    if len(raw) != 3:
        raise _invalid(f"Invalid {raw[0]}: wrong number of arguments.")
    operands = tuple(raw[1:])
    if operation == CONTENT_LENGTH_RANGE:
        # Numeric strings are valid bounds and other strings fail as a condition (403), so only
        # JSON types other than int and string are refused here.
        if any(isinstance(bound, bool) or not isinstance(bound, int | str) for bound in operands):
            raise _invalid("Invalid JSON.")
        if any(isinstance(bound, int) and bound < 0 for bound in operands):
            raise _invalid(f"Invalid {raw[0]}: bounds must not be negative.")
    elif not all(isinstance(operand, str) for operand in operands):
        raise _invalid("Invalid JSON.")
    return Condition(operation, operands, _render(raw))


def _failed(condition: Condition) -> AccessDenied:
    return AccessDenied(f"{POLICY_VIOLATION}Policy Condition failed: {condition.text}")


def _size_bounds(condition: Condition) -> tuple[int, int] | None:
    # Parsing left only non-negative ints and strings; a string bound must be all digits.
    bounds = [str(bound) for bound in condition.operands]
    if not all(bound.isascii() and bound.isdigit() for bound in bounds):
        return None
    return int(bounds[0]), int(bounds[1])


def _exact_only(name: str) -> bool:
    return name in _EXACT_ONLY or (name.startswith("x-amz-") and not name.startswith("x-amz-meta-"))


def _holds(condition: Condition, form: Mapping[str, str], bucket: str) -> bool:
    name = condition.field
    if name is None:
        return False
    actual = bucket if name == "bucket" else form.get(name)
    expected = str(condition.operands[1])
    if actual is None:
        return False  # a condition on an absent field fails, even starts-with ""
    if condition.operation == EQ:
        return actual == expected
    if _exact_only(name):
        return False
    if name == "content-type":
        return all(item.strip().startswith(expected) for item in actual.split(","))
    return actual.startswith(expected)


def check_conditions(
    conditions: Sequence[Condition], form: Mapping[str, str], bucket: str
) -> tuple[int, int | None]:
    """Test every condition in policy order; return the (min, max) size the policy allows.

    ``form`` maps lower-cased field names to values (``key`` already expanded); ``bucket`` is
    the bucket of the URL, which is what a ``bucket`` condition is compared with.
    Raises: AccessDenied "Policy Condition failed: [...]" for the first condition that fails.
    """
    low, high = 0, None
    for condition in conditions:
        if condition.operation == CONTENT_LENGTH_RANGE:
            bounds = _size_bounds(condition)
            if bounds is None:
                raise _failed(condition)
            # Several ranges all apply, so the allowed sizes are their intersection.
            low, high = max(low, bounds[0]), bounds[1] if high is None else min(high, bounds[1])
        elif not _holds(condition, form, bucket):
            raise _failed(condition)
    return low, high


def uncovered_fields(conditions: Sequence[Condition], fields: Sequence[tuple[str, str]]) -> list[str]:
    """Form fields (as sent, first spelling, in form order) that no condition names.

    ``x-amz-signature``, ``file``, ``policy`` and ``x-ignore-*`` need no condition.
    """
    covered = {condition.field for condition in conditions}
    extra: dict[str, str] = {}
    for name, _value in fields:
        lowered = name.lower()
        if lowered in ("x-amz-signature", "file", "policy") or lowered.startswith("x-ignore-"):
            continue
        if lowered not in covered:
            extra.setdefault(lowered, name)
    return list(extra.values())
