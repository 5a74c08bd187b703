"""Enumerations and result types of the binding (plain, typed, immutable values).

The enumerations are generated from ``aa_logon.h`` (``_generated.py``), so their values are the
C API's: :class:`ServerStatus` (``enum aa_server_status``: MORE_DATA, NEXT, OK, FAILED, STOP,
UNKNOWN), :class:`Prompt` (``enum aa_prompt``: INSERT_KEY, TOUCH_KEY, TOUCHED) and
:class:`LogLevel` (``enum aa_log_level``: OFF, ERROR, WARN, INFO, DEBUG, TRACE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

from ._generated import LogLevel, Prompt, ServerStatus


@dataclass(frozen=True)
class SignRequest:
    """One entry of a U2F sign request (one per key enrolled for the user)."""

    version: str
    challenge: str
    key_handle: str
    app_id: str


@dataclass(frozen=True)
class Chain:
    """An authentication chain: a named sequence of methods such as ``("LDAP_PASSWORD:1", "U2F:1")``."""

    name: str
    methods: Tuple[str, ...]
    id_hex: Optional[str] = None
    short_name: Optional[str] = None
    is_enabled: Optional[bool] = None
    position: Optional[int] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Chain:
        position = data.get("position")
        is_enabled = data.get("is_enabled")
        return cls(
            name=str(data.get("name", "")),
            methods=tuple(str(method) for method in data.get("methods") or ()),
            id_hex=_optional_str(data.get("id_hex")),
            short_name=_optional_str(data.get("short_name")),
            is_enabled=is_enabled if isinstance(is_enabled, bool) else None,
            position=position if isinstance(position, int) and not isinstance(position, bool) else None,
        )


@dataclass(frozen=True)
class UserChains:
    """The chains a user may use for an event (``Client.chains``)."""

    chains: Tuple[Chain, ...]
    user_is_locked: bool

    def by_name(self, name: str) -> Optional[Chain]:
        """The chain called ``name``, if the user has it."""
        return next((chain for chain in self.chains if chain.name == name), None)


@dataclass(frozen=True)
class User:
    """The user the server reported in its last answer (its ``user_*`` fields).

    The common fields have attributes; ``fields`` holds every field the library reports for the
    user by its AA name: each ``user_*`` field, and ``repo_id`` and ``tenant_name`` when sent.
    """

    name: Optional[str] = None
    id: Optional[str] = None
    email: Optional[str] = None
    sid: Optional[str] = None
    upn: Optional[str] = None
    dn: Optional[str] = None
    cn: Optional[str] = None
    mobile_phone: Optional[str] = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> User:
        return cls(
            name=fields.get("user_name"),
            id=fields.get("user_id"),
            email=fields.get("user_email"),
            sid=fields.get("user_sid"),
            upn=fields.get("user_upn"),
            dn=fields.get("user_dn"),
            cn=fields.get("user_cn"),
            mobile_phone=fields.get("user_mobile_phone"),
            fields=dict(fields),
        )


@dataclass(frozen=True)
class LoginSession:
    """Information about a login session (``Client.login_session``)."""

    login_session_id: str
    user_name: Optional[str]
    user_id: Optional[str]
    event_name: Optional[str]
    created: Optional[str]
    chain_id: Optional[str]
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, login_session_id: str, data: Mapping[str, Any]) -> LoginSession:
        return cls(
            login_session_id=login_session_id,
            user_name=_optional_str(data.get("user_name")),
            user_id=_optional_str(data.get("user_id")),
            event_name=_optional_str(data.get("event_name")),
            created=_optional_str(data.get("created")),
            chain_id=_optional_str(data.get("chain_id")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class DeviceInfo:
    """A FIDO security key present now (``Client.devices``)."""

    path: str
    vendor_id: int
    product_id: int
    manufacturer: Optional[str] = None
    product: Optional[str] = None
    serial_number: Optional[str] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeviceInfo:
        return cls(
            path=str(data.get("path", "")),
            vendor_id=int(data.get("vendor_id") or 0),
            product_id=int(data.get("product_id") or 0),
            manufacturer=_optional_str(data.get("manufacturer")),
            product=_optional_str(data.get("product")),
            serial_number=_optional_str(data.get("serial_number")),
        )


def _optional_str(value: Any) -> Optional[str]:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


__all__ = [
    "Chain",
    "DeviceInfo",
    "LogLevel",
    "LoginSession",
    "Prompt",
    "ServerStatus",
    "SignRequest",
    "User",
    "UserChains",
]
