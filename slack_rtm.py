"""slack_rtm: a synchronous client for Slack's Real Time Messaging API, in one file.

    import slack_rtm

    with slack_rtm.connect("xoxb-...") as rtm:        # keeps itself alive, reconnects
        team = rtm.wait_team()                        # users and conversations, from the Web API
        print(rtm.start.self_.name, len(team.users), team.channel_by_name("general"))
        for event in rtm:                             # plain dicts, exactly as Slack sent them
            if event.get("type") == "message" and event.get("text") == "ping":
                who = team.user(event["user"])        # kept current from the events
                rtm.send_message(event["channel"], f"pong, {who.name if who else 'you'}", wait=True)

The module is a pure core that does no I/O (form encoding, answer decoding,
frame decoding, retry and keepalive decisions) under a thin shell built on
urllib3 (HTTPS) and websocket-client (WebSocket).  Both are imported lazily, at
the first call that needs them, so a vendored copy can parse saved answers with
neither installed.
"""

import sys

# First of all, and in Python 3.0's syntax: an older Python hears why in one
# line (a copied file run there would fail deep in the module instead).
if sys.version_info < (3, 9):
    _OLD_PYTHON = "slack_rtm needs Python 3.9 or newer; this is Python %d.%d" % sys.version_info[:2]
    if __name__ == "__main__":
        sys.exit(_OLD_PYTHON)
    raise ImportError(_OLD_PYTHON)

import copy
import dataclasses
import difflib
import functools
import gc
import json
import json.scanner
import logging
import math
import os
import random
import signal
import threading
import time
import types
import urllib.parse
import warnings
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import (TYPE_CHECKING, IO, Any, Callable, ClassVar, Deque, Dict, FrozenSet, Generator, Iterable,
                    Iterator, List, Mapping, MutableMapping, NamedTuple, NoReturn, Optional, Sequence, Set, TextIO,
                    Tuple, Type, TypedDict, TypeVar, Union, cast, overload)

if TYPE_CHECKING:                          # types only: both are imported lazily, when first needed
    from typing_extensions import Unpack
    import socket
    import ssl
    import urllib3
    import websocket

#: A decoded JSON object: an answer, an event, a frame, as Slack sent it.
_Json = Dict[str, Any]
#: A clock: seconds, monotonic (time.monotonic, or a test's fake clock).
_Clock = Callable[[], float]

__version__ = "0.1.0"

__all__ = [
    # Web API
    "api_call", "rtm_start", "rtm_connect", "Retry", "default_user_agent",
    # Web API pages and the team's state
    "api_pages", "api_items", "TeamState", "load_team", "TEAM_PARTS",
    # Session
    "connect", "Session", "SocketModeSession", "FakeSlack",
    # The pure core: no I/O (for tests, replays, or another transport)
    "RtmProtocol", "Ping", "Drop", "CONNECTING", "OPEN", "DRAINING", "LOST", "ENDED", "CLOSED",
    "SocketModeProtocol", "Ack", "Deliver", "Connect", "Probe", "Retire", "Stop", "RETIRING",
    "decode_frame", "encode_frame",
    "build_request", "decode_response", "encode_form", "encode_json",
    # Data
    "RtmStart", "Self", "Team", "User", "Profile", "Channel", "Group", "Mpim", "Im", "Bot",
    "Topic", "SlackResponse",
    # Errors (one class per Slack error code besides these; see ERRORS)
    "SlackError", "SlackApiError", "AuthError", "RequestFormatError", "RetryableError",
    "DeprecatedError", "InvalidArgument", "InvalidResponse", "ServerError", "TruncatedResponse", "ResponseTooLarge",
    "TransportError", "Timeout", "TLSError", "ProtocolError", "RtmError", "MessageTooLong", "Unacknowledged",
    "ConnectionClosed", "UrlExpired", "UpgradeRefused", "MessageTooLarge", "BadHello", "LocalProtocolError",
    "ERRORS",
    "PaginationError",
    # Warnings
    "SlackWarning", "MissingCharsetWarning", "SuperfluousCharsetWarning",
    "MethodDeprecatedWarning", "MemberListTruncatedWarning", "WARNINGS",
]

log: logging.Logger = logging.getLogger("slack_rtm")  # not __name__: that is "__main__" under python -m
log.addHandler(logging.NullHandler())     # an application that configures no logging sees no stray lines

#: Where Slack's Web API lives.  Every method is a POST below it.
DEFAULT_BASE_URL = "https://slack.com/api/"
#: Seconds for one whole Web API request: connect, headers and body.  A large
#: team's rtm.start is tens of MB, which Slack sends in a second or two.
DEFAULT_TIMEOUT = 30.0
#: The largest Web API answer read, after any Content-Encoding is undone:
#: far above the largest real rtm.start (tens of MB), so that a broken or
#: hostile server (a gzip bomb, an endless body) cannot exhaust memory.
MAX_RESPONSE_SIZE: int = 256 << 20
#: Longest argument name accepted.  Slack refuses "very long" names with
#: invalid_arg_name without saying how long; its own names are under 30.
MAX_ARG_NAME = 64
#: How much of an unexpected body an exception quotes.
QUOTE_CHARS = 200
#: Slack's documented limits on what a client sends over RTM.
MAX_MESSAGE_CHARS = 4000
MAX_FRAME_BYTES = 16384
#: The WebSocket URL of an rtm.start / rtm.connect answer is valid this long.
URL_LIFETIME = 30.0
#: The WebSocket gateway Slack's desktop client dials with a session token
#: (connect(gateway=True)): no rtm.* call, the token in the URL's query.
DESKTOP_GATEWAY = "wss://wss-primary.slack.com/"
#: The largest message the session reads from the server.  RTM events are
#: kilobytes; this bounds the memory a broken or hostile server can take.
MAX_MESSAGE_SIZE: int = 8 << 20

if TYPE_CHECKING:                          # types only: the data classes' PEP 681 marker, the index's records
    from typing_extensions import dataclass_transform

#: A function a decorator hands back as it is (for type checkers).
_F_data = TypeVar("_F_data", bound=Callable[..., Any])
#: A data class: from_dict and the rest answer with the class they are called on.
_M_data = TypeVar("_M_data", bound="_Model")


###############################################################################
# Errors ######################################################################
###############################################################################
#
# SlackError                       everything this module raises on purpose
# +-- InvalidArgument (ValueError) a bad argument, found before any I/O
# +-- SlackApiError                an answer with "ok": false; .error is the code
# |   +-- AuthError                authentication and access (never retried)
# |   +-- RequestFormatError       the request was malformed (never retried)
# |   +-- RetryableError           rate limits and transient trouble (retried)
# |   |   +-- RateLimited          .retry_after from the Retry-After header
# |   +-- DeprecatedError          the method is gone or going
# |   +-- one class per code, under one of the four above (see ERRORS);
# |       LinkDisabled (an AuthError) is Socket Mode's permanent disconnect
# +-- InvalidResponse              an answer that is not a JSON object
# |   +-- ServerError              ... with an HTTP 5xx status (retried)
# |   +-- TruncatedResponse        ... cut short on the way (retried)
# |   +-- ResponseTooLarge         ... larger than max_response_size
# +-- TransportError (ConnectionError)  the network failed (retried)
# |   +-- Timeout (TimeoutError)
# |   +-- TLSError                 the certificate did not verify (not retried)
# |   +-- ConnectionClosed         the RTM WebSocket ended
# |       +-- UrlExpired           ... its URL was used too late (a fresh one is fetched)
# |       +-- UpgradeRefused       ... the server or proxy did not upgrade it
# |       +-- MessageTooLarge      ... a message over max_message_size came
# +-- ProtocolError                the RTM server broke the protocol
# |   +-- BadHello                 the first frame was not hello (retried)
# +-- RtmError                     an RTM reply with "ok": false
# +-- MessageTooLong (ValueError)  a frame (or Socket Mode ack) over Slack's limits, refused before sending
# +-- Unacknowledged               a sent message whose fate is unknown after a disconnect
# +-- LocalProtocolError (RuntimeError)  a call a protocol core's phase does not allow (a bug in its caller)
# +-- PaginationError              a paginated method's cursors did not lead to an end

_ERRORS: Dict[str, Type["SlackApiError"]] = {}


def _unpickle_error(cls: Type["SlackError"], args: Tuple[Any, ...], state: Dict[str, Any]) -> "SlackError":
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class SlackError(Exception):
    """Base of every exception slack_rtm raises on purpose."""

    #: Whether retrying the same call can help.
    retryable: bool = False

    def __reduce__(self) -> Tuple[Callable[..., "SlackError"],
                                  Tuple[Type["SlackError"], Tuple[Any, ...], Dict[str, Any]]]:
        # Exceptions pickle as cls(*args) by default, which does not fit the
        # keyword constructors below: rebuild from args and attributes instead.
        return _unpickle_error, (type(self), self.args, dict(self.__dict__))


class InvalidArgument(SlackError, ValueError):
    """An argument was refused before anything was sent."""


class SlackApiError(SlackError):
    """Slack answered ``"ok": false``.

    ``error`` is Slack's code, ``method`` the method called, ``response`` the
    decoded answer (None when the error was found before sending) and
    ``warnings`` the warnings that came with it.  An unknown code raises this
    class itself; a known one raises the class in ``ERRORS``.
    """

    #: The Slack error code a subclass stands for.
    code: Optional[str] = None
    #: The HTTP status of the answer: Slack sends its errors with 200.
    status: int = 200

    def __init_subclass__(cls, code: Optional[str] = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = code
        if code is not None:
            if code in _ERRORS:
                raise TypeError(f"two classes for error code {code!r}")
            _ERRORS[code] = cls

    def __init__(self, method: str, error: str, response: Optional[_Json] = None,
                 warnings: Iterable["SlackWarning"] = ()) -> None:
        super().__init__(f"{method}: {error}")
        self.method: str = method
        self.error: str = error
        self.response: Optional[_Json] = response
        self.warnings: Tuple[SlackWarning, ...] = tuple(warnings)

    @property
    def messages(self) -> List[str]:
        """The ``[ERROR]`` texts of ``response_metadata.messages``, if any."""
        meta = (self.response or {}).get("response_metadata") if isinstance(self.response, dict) else None
        messages = meta.get("messages") if isinstance(meta, dict) else None
        return [m for m in messages or () if isinstance(m, str) and m.startswith("[ERROR]")]


class AuthError(SlackApiError):
    """Authentication or access failed: a new token or new rights are needed."""


class RequestFormatError(SlackApiError):
    """The request was malformed: the same call will fail again."""


class RetryableError(SlackApiError):
    """Transient trouble on Slack's side: the same call may succeed later."""

    retryable = True


class DeprecatedError(SlackApiError):
    """The method is deprecated, retired or not available to this token."""


# BEGIN GENERATED by tools/generate_errors.py from corpus/reference
class NotAuthed(AuthError, code="not_authed"):
    """No authentication token provided."""


class InvalidAuth(AuthError, code="invalid_auth"):
    """Some aspect of authentication cannot be validated. Either the provided token is invalid or
    the request originates from an IP address disallowed from making the request."""


class AccountInactive(AuthError, code="account_inactive"):
    """Authentication token is for a deleted user or workspace when using a bot token."""


class TokenRevoked(AuthError, code="token_revoked"):
    """Authentication token is for a deleted user or workspace or the app has been removed when
    using a user token."""


class TokenExpired(AuthError, code="token_expired"):
    """Authentication token has expired."""


class NoPermission(AuthError, code="no_permission"):
    """The workspace token used in this request does not have the permissions necessary to complete
    the request. Make sure your app is a member of the conversation it's attempting to post a
    message to."""


class MissingScope(AuthError, code="missing_scope"):
    """The token used is not granted the specific scope permissions required to complete this
    request."""


class NotAllowedTokenType(AuthError, code="not_allowed_token_type"):
    """The token type used in this request is not allowed."""


class AccessDenied(AuthError, code="access_denied"):
    """Access to a resource specified in the request is denied."""


class Accesslimited(AuthError, code="accesslimited"):
    """Access to this method is limited on the current network."""


class EkmAccessDenied(AuthError, code="ekm_access_denied"):
    """Administrators have suspended the ability to post a message."""


class EnterpriseIsRestricted(AuthError, code="enterprise_is_restricted"):
    """The method cannot be called from an Enterprise."""


class TeamIsRestricted(AuthError, code="team_is_restricted"):
    """The workspace (an Enterprise Grid's) refuses this method to this token: a session token is
    refused even client.counts on some grids."""


class TwoFactorSetupRequired(AuthError, code="two_factor_setup_required"):
    """Two factor setup is required."""


class IsBot(AuthError, code="is_bot"):
    """This method cannot be called by a legacy bot."""


class MissingArgs(AuthError, code="missing_args"):
    """An app-level token wasn't provided."""


class ForbiddenTeam(AuthError, code="forbidden_team"):
    """The authenticated team cannot use this API"""


class LinkDisabled(AuthError, code="link_disabled"):
    """Socket Mode was turned off in the app's settings (a Socket Mode disconnect with reason
    link_disabled): permanent until a person turns it on again, so the session ends without
    opening another connection."""


class InvalidArgName(RequestFormatError, code="invalid_arg_name"):
    """The method was passed an argument whose name falls outside the bounds of accepted or
    expected values. This includes very long names and names with non-alphanumeric characters
    other than _. If you get this error, it is typically an indication that you have made a very
    malformed API call."""


class InvalidArrayArg(RequestFormatError, code="invalid_array_arg"):
    """The method was passed an array as an argument. Please only input valid strings."""


class InvalidCharset(RequestFormatError, code="invalid_charset"):
    """The method was called via a POST request, but the charset specified in the Content-Type
    header was invalid. Valid charset names are: utf-8 iso-8859-1."""


class InvalidFormData(RequestFormatError, code="invalid_form_data"):
    """The method was called via a POST request with Content-Type application/x-www-form-urlencoded
    or multipart/form-data, but the form data was either missing or syntactically invalid."""


class InvalidPostType(RequestFormatError, code="invalid_post_type"):
    """The method was called via a POST request, but the specified Content-Type was invalid. Valid
    types are: application/json application/x-www-form-urlencoded multipart/form-data
    text/plain."""


class MissingPostType(RequestFormatError, code="missing_post_type"):
    """The method was called via a POST request and included a data payload, but the request did
    not include a Content-Type header."""


class InvalidJson(RequestFormatError, code="invalid_json"):
    """The method was called with a JSON body that could not be parsed."""


class JsonNotObject(RequestFormatError, code="json_not_object"):
    """The method was called with a JSON body that is not an object."""


class InvalidArguments(RequestFormatError, code="invalid_arguments"):
    """The method was either called with invalid arguments or some detail about the arguments
    passed are invalid, which is more likely when using complex arguments like blocks or
    attachments."""


class InsecureRequest(RequestFormatError, code="insecure_request"):
    """The method was not called via a POST request."""


class RateLimited(RetryableError, code="ratelimited"):
    """The request has been ratelimited. Refer to the Retry-After header for when to retry the
    request."""

    #: Seconds to wait, from the Retry-After header (None when it was absent).
    retry_after: Optional[float] = None


class MigrationInProgress(RetryableError, code="migration_in_progress"):
    """Workspace is being migrated between servers. See the team_migration_started event
    documentation for details."""


class ServiceUnavailable(RetryableError, code="service_unavailable"):
    """The service is temporarily unavailable."""


class InternalError(RetryableError, code="internal_error"):
    """The server could not complete your operation(s) without encountering an error, likely due to
    a transient issue on our end. It's possible some aspect of the operation succeeded before
    the error was raised."""


class FatalError(RetryableError, code="fatal_error"):
    """The server could not complete your operation(s) without encountering a catastrophic error.
    It's possible some aspect of the operation succeeded before the error was raised."""


class RequestTimeout(RetryableError, code="request_timeout"):
    """The method was called via a POST request, but the POST data was either missing or truncated."""


class TeamAddedToOrg(RetryableError, code="team_added_to_org"):
    """The workspace associated with your request is currently undergoing migration to an
    Enterprise Organization. Web API and other platform operations will be intermittently
    unavailable until the transition is complete."""


class OrgLoginRequired(RetryableError, code="org_login_required"):
    """The workspace is undergoing an enterprise migration and will not be available until
    migration is complete."""


class MethodDeprecated(DeprecatedError, code="method_deprecated"):
    """rtm.start is deprecated. Please use rtm.connect instead of rtm.start. Read
    https://docs.slack.dev/changelog/2021-10-rtm-start-to-stop for more info."""


class DeprecatedEndpoint(DeprecatedError, code="deprecated_endpoint"):
    """The endpoint has been deprecated."""


class RtmConnectRequired(DeprecatedError, code="rtm_connect_required"):
    """rtm.start is deprecated. Please use rtm.connect instead of rtm.start. Read
    https://docs.slack.dev/changelog/2021-10-rtm-start-to-stop for more info."""


class UnknownMethod(DeprecatedError, code="unknown_method"):
    """This method is currently not available."""


class UpgradeRequired(DeprecatedError, code="upgrade_required"):
    """The client or API version used is no longer supported; an upgrade is required."""


class LegacyCustomBotsDeprecated(DeprecatedError, code="legacy_custom_bots_deprecated"):
    """A legacy custom bot's token: legacy custom bots stopped working on 2025-03-31 (rtm.start
    answers this since 2025-04-04)."""

    def __str__(self) -> str:
        return (f"{super().__str__()} (legacy custom bots stopped working on 2025-03-31: make a Slack "
                "app and use its token)")
# END GENERATED


class InvalidResponse(SlackError):
    """The answer was not the JSON object Slack sends: a proxy's HTML page, a
    truncated body, or something else between the client and Slack."""

    def __init__(self, method: str, status: int, content_type: Optional[str],
                 body: Union[bytes, bytearray, str, None] = b"", reason: str = "not a JSON object",
                 secrets: Iterable[str] = ()) -> None:
        quoted = None if body is None else _quote(body, secrets=secrets)
        super().__init__(f"{method}: HTTP {status}, Content-Type {content_type or '(none)'}: {reason}"
                         + ("" if quoted is None else f": {quoted}"))
        self.method: str = method
        self.status: int = status
        self.content_type: Optional[str] = content_type
        self.body_start: str = quoted or ""


class ServerError(InvalidResponse):
    """An HTTP 5xx answer that carried no Slack error code."""

    retryable = True


class TruncatedResponse(InvalidResponse):
    """The answer ended before the length its headers announced."""

    retryable = True


class ResponseTooLarge(InvalidResponse):
    """The answer (its body after any Content-Encoding is undone) was larger
    than ``max_response_size``: reading stopped there."""


class TransportError(SlackError, ConnectionError):
    """The network failed: no answer, or the connection broke."""

    retryable = True


class Timeout(TransportError, TimeoutError):
    """No answer within the timeout."""


class TLSError(TransportError):
    """The TLS handshake failed: most often a certificate that does not
    verify.  Retrying will not help; give the right CA (``ca_certs`` or
    ``ssl_context``) instead."""

    retryable = False


class ConnectionClosed(TransportError):
    """The RTM WebSocket ended (closed by the server, reset, or found dead)."""

    #: True when the server ended it in order, with a close frame.
    clean: bool = False


class UrlExpired(ConnectionClosed):
    """The WebSocket URL was used too late (error frame code 1, or an answer
    slower than the URL lives): the session fetches a fresh one."""


class UpgradeRefused(ConnectionClosed):
    """The server (or the proxy's CONNECT) did not upgrade the connection to
    a WebSocket: another status than 101 (200), or an answer too large."""


class MessageTooLarge(ConnectionClosed):
    """The server sent a message over ``max_message_size``: the connection
    cannot go on, as the rest of the message cannot be skipped."""


class ProtocolError(SlackError):
    """The RTM server sent what the protocol does not allow."""


class BadHello(ProtocolError):
    """The first frame of a connection was not hello: a new connection may do better."""

    retryable = True


class RtmError(SlackError):
    """An RTM reply with ``"ok": false``: ``code`` and ``msg`` are Slack's.

    Code -1 ("slow down, too many messages") is a rate limit: ``retryable``.
    """

    def __init__(self, code: Optional[int], msg: Optional[str], reply_to: Optional[int] = None,
                 reply: Optional[_Json] = None) -> None:
        super().__init__(f"RTM error {code}: {msg}")
        self.code: Optional[int] = code
        self.msg: Optional[str] = msg
        self.reply_to: Optional[int] = reply_to
        self.reply: Optional[_Json] = reply
        self.retryable = code == -1


class MessageTooLong(SlackError, ValueError):
    """A message over 4,000 characters or a frame over 16,384 bytes (Slack
    would close the connection), or a Socket Mode ack of MAX_ACK_BYTES or
    more (Slack would drop it): it was not sent."""


class Unacknowledged(SlackError):
    """A message was sent but its connection ended before Slack acknowledged
    it, and the next connection did not acknowledge it either: it may or may
    not have been delivered.  ``event`` is what was sent."""

    def __init__(self, event: _Json) -> None:
        super().__init__(f"message {event.get('id')} to {event.get('channel')} was not acknowledged "
                         "before the connection ended; it may not have been delivered")
        self.event: _Json = event


class LocalProtocolError(SlackError, RuntimeError):
    """A call the RtmProtocol's (or SocketModeProtocol's) phase does not allow (h11's rule): opened()
    while open, a message while not connected...  A bug in the code that
    drives the protocol, never something a server did."""


class PaginationError(SlackError):
    """A paginated method's pages did not lead to an end: a cursor came back
    a second time, or a page lacked the list it pages through."""


#: Every documented Slack error code, mapped to its exception class.  Read-only.
ERRORS: Mapping[str, Type[SlackApiError]] = types.MappingProxyType(_ERRORS)
__all__ += sorted(cls.__name__ for cls in _ERRORS.values())


def _redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (the token, the ``d`` cookie, the
    WebSocket URL and its ticket) replaced by ``<redacted>``: the one place
    where what a server sent is made safe for a message, a log line or a
    warning.  Longest first, so that a secret holding another goes whole."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return text


def _quote(body: object, limit: int = QUOTE_CHARS, secrets: Iterable[str] = ()) -> str:
    """The start of ``body``, for a message.  The ``secrets`` are redacted
    before the cut, so that one lying across it cannot show in part."""
    secrets = [s for s in secrets if s]
    margin = max(map(len, secrets), default=0)      # a secret across the cut is still whole here
    if isinstance(body, (bytes, bytearray)):
        cut = (limit + margin) * 4                  # enough bytes for that many characters
        text, more = bytes(body[:cut]).decode("utf-8", "replace"), len(body) > cut
    else:
        text = str(body)
        text, more = text[:limit + margin], len(text) > limit + margin
    text = _redact(text, secrets)
    return repr(text[:limit] + ("..." if more or len(text) > limit else ""))


def _redacted(error: SlackError, secrets: Sequence[str]) -> SlackError:
    """``error``, or for an RtmError whose ``msg`` (the server's) holds one
    of ``secrets``, a copy with it redacted."""
    if isinstance(error, RtmError) and error.msg and _redact(error.msg, secrets) != error.msg:
        return RtmError(error.code, _redact(error.msg, secrets), error.reply_to, error.reply)
    return error


###############################################################################
# Warnings ####################################################################
###############################################################################

_WARNINGS: Dict[str, Type["SlackWarning"]] = {}


class SlackWarning(UserWarning):
    """A warning Slack attached to an answer.  ``code`` is Slack's code (None
    for a code-less ``[WARN]`` message), ``method`` the method called and
    ``text`` the message that came with it, if any."""

    code: Optional[str] = None

    def __init_subclass__(cls, code: Optional[str] = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = code
        if code is not None:
            _WARNINGS[code] = cls

    def __init__(self, method: str, code: Optional[str] = None, text: Optional[str] = None) -> None:
        parts = [method, code or "warning"] + ([text] if text else [])
        super().__init__(": ".join(parts))
        self.method: str = method
        self.code = code
        self.text: Optional[str] = text

    def __reduce__(self) -> Tuple[Type["SlackWarning"], Tuple[str, Optional[str], Optional[str]]]:
        return type(self), (self.method, self.code, self.text)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.args == other.args  # type: ignore[attr-defined]  # self's type

    def __hash__(self) -> int:
        return hash((type(self), self.args))


class MissingCharsetWarning(SlackWarning, code="missing_charset"):
    """A non-form Content-Type (JSON, plain text) came without a charset."""


class SuperfluousCharsetWarning(SlackWarning, code="superfluous_charset"):
    """A form Content-Type came with a charset, which form types do not take."""


class MethodDeprecatedWarning(SlackWarning, code="method_deprecated"):
    """The method is deprecated (rtm.start: use rtm.connect)."""


class MemberListTruncatedWarning(SlackWarning, code="member_list_truncated"):
    """A channel's ``members`` list was cut at 1,500; conversations.members has them all."""


#: Every documented warning code, mapped to its warning class.  Read-only.
WARNINGS: Mapping[str, Type[SlackWarning]] = types.MappingProxyType(_WARNINGS)

_WARN_PREFIX = "[WARN] "


def _code_and_text(message: str) -> Optional[Tuple[str, str]]:
    """("code", "text") of "code: text" where code is a Slack code, else None."""
    code, sep, text = message.partition(": ")
    if sep and code[:1].isalpha() and code.islower() and _is_word(code):
        return code, text
    return None


def _is_word(name: str) -> bool:
    """Letters, digits and _ (ASCII), at least one."""
    return name.isascii() and name.replace("_", "a").isalnum()


def _collect_warnings(method: str, answer: _Json, secrets: Sequence[str] = ()) -> Tuple[SlackWarning, ...]:
    """Every warning of an answer, once each, in the order Slack gave them,
    ``secrets`` redacted from their codes and texts.

    Slack uses four shapes: ``warning`` (comma-separated), a top-level
    ``warnings`` list, ``response_metadata.warnings`` and
    ``response_metadata.messages`` strings starting ``[WARN] ``, with or
    without a ``code: `` before the text.
    """
    found: Dict[str, Optional[str]] = {}               # code -> text
    loose: List[str] = []                              # code-less messages

    def add(code: str, text: Optional[str] = None) -> None:
        code = code.strip()
        if code and (code not in found or (text and not found[code])):
            found[code] = text or found.get(code)

    single = answer.get("warning")
    if isinstance(single, str):
        for code in single.split(","):
            add(code)
    meta = answer.get("response_metadata")
    meta = meta if isinstance(meta, dict) else {}
    for codes in (answer.get("warnings"), meta.get("warnings")):
        if isinstance(codes, list):
            for code in codes:
                if isinstance(code, str):
                    add(code)
    for message in meta.get("messages") or ():
        if isinstance(message, str) and message.startswith(_WARN_PREFIX):
            text = message[len(_WARN_PREFIX):]
            found_code = _code_and_text(text)
            if found_code:
                add(*found_code)
            elif text not in loose:
                loose.append(text)
    out = [_WARNINGS.get(code, SlackWarning)(method, _redact(code, secrets), text and _redact(text, secrets))
           for code, text in found.items()]
    return tuple(out + [SlackWarning(method, None, _redact(text, secrets)) for text in loose])


def _warn(warning: Warning) -> None:
    """Issue ``warning`` at the line that called into slack_rtm: the first
    frame outside this file (a stacklevel fixed in advance would be wrong for
    every path but one)."""
    frame: Optional[types.FrameType]
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        level, frame = level + 1, frame.f_back
    warnings.warn(warning, stacklevel=level)


###############################################################################
# Data ########################################################################
###############################################################################
#
# The classes below are plain dataclasses whose instance __dict__ *is* Slack's
# JSON object: from_json adopts the dicts json.loads made, so nothing is copied
# per field, unknown keys stay as they came, an absent key stays absent (the
# class attribute gives the default) and a null stays None.  The objects of
# the lists (users, channels, ...) are wrapped at once; nested objects (a
# user's profile, a channel's topic) when first read, in place.  to_dict()
# turns it all back into new dicts.


class _GcPaused:
    """Pause the cyclic garbage collector while a large answer is decoded.

    json.loads and the wrapping below create a million containers, none of
    them cyclic garbage; with the collector on, the allocations trigger
    collections that walk the growing heap again and again.  Paused, the
    heap is walked once, by the next collection after the parse (which falls
    on whatever allocates next: benchmarks/ counts it).  The previous state
    is restored, so a collector that was already off stays off.
    """

    __slots__ = ("active", "was_enabled")

    def __init__(self, active: bool = True) -> None:
        self.active = active
        self.was_enabled = False

    def __enter__(self) -> None:
        if self.active and gc.isenabled():
            self.was_enabled = True
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


#: Answers at least this large pause the collector while they are decoded.
_GC_PAUSE_BYTES = 1 << 20


if TYPE_CHECKING:
    def _method(func: _F_data) -> _F_data:
        """For type checkers a _method is the function it wraps: read from an
        instance, it is that function bound (the class below, at run time)."""
        return func
else:
    class _method:
        """A method that a key of the data cannot hide.

        A data class's instance __dict__ is Slack's object, and an instance
        attribute hides a plain method of the same name: an answer with a key
        "user" would turn ``start.user(...)`` into the data.  A descriptor with
        __set__ comes before the instance __dict__, so the method stays; the
        data is still in to_dict().
        """

        def __init__(self, func: Callable[..., Any]) -> None:
            self.func = func
            functools.update_wrapper(self, func)

        def __get__(self, obj: object, cls: Optional[type] = None) -> Callable[..., Any]:
            return self.func if obj is None else types.MethodType(self.func, obj)

        def __set__(self, obj: object, value: object) -> NoReturn:
            raise AttributeError(f"{self.func.__name__} is a method")


class _Model:
    """Shared behaviour of the data classes: adopt, copy in, copy out."""

    #: (key, class) of nested objects, wrapped when first read.
    _nested: Tuple[Tuple[str, Type["_Model"]], ...] = ()
    #: (key, class) of lists of objects, wrapped when the answer is adopted.
    _lists: Tuple[Tuple[str, Type["_Model"]], ...] = ()
    #: Attribute names that differ from Slack's key ("self_" -> "self").
    _renamed: Mapping[str, str] = {}

    @classmethod
    def _adopt(cls: Type[_M_data], data: _Json) -> _M_data:
        """Wrap a dict that this object may own and change (json.loads's own)."""
        for key, sub in cls._lists:
            value = data.get(key)
            if type(value) is list:
                data[key] = sub._adopt_list(value)
        obj = object.__new__(cls)
        obj.__dict__ = data
        return obj

    @classmethod
    def _adopt_list(cls, items: List[Any]) -> List[Any]:
        """Wrap each dict of a list; other items stay as they are.  The hot
        loop of a large answer: one object per item, nothing copied."""
        new = object.__new__
        out: List[Any] = []
        append = out.append
        for item in items:
            if type(item) is dict:
                obj = new(cls)
                obj.__dict__ = item
                item = obj
            append(item)
        return out

    @classmethod
    def from_dict(cls: Type[_M_data], data: _Json) -> _M_data:
        """Build from a decoded JSON object, which is copied, never changed."""
        if not isinstance(data, dict):
            raise InvalidArgument(f"{cls.__name__}.from_dict needs a dict, not {type(data).__name__}")
        return cls._adopt(_copy_objects(data))

    @_method
    def to_dict(self) -> _Json:
        """The JSON object this was built from, as new dicts and lists."""
        return _plain(self)

    _repr_fields: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_fields)
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _plain(self) == _plain(other)

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # unhashable, as its equality is by value

    def __getstate__(self) -> _Json:
        return self.__dict__

    def __setstate__(self, state: _Json) -> None:
        self.__dict__ = state


@overload
def _copy_objects(value: _Json) -> _Json: ...
@overload
def _copy_objects(value: Any) -> Any: ...
def _copy_objects(value: Any) -> Any:
    """A copy of the dicts and lists of a JSON value (leaves are shared)."""
    if type(value) is dict:
        return {k: _copy_objects(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_objects(v) for v in value]
    return value


@overload
def _plain(value: "_Model") -> _Json: ...
@overload
def _plain(value: object) -> object: ...
def _plain(value: Any) -> Any:
    """A JSON value with every data class turned back into its dict; all
    dicts and lists new (the data classes keep their own)."""
    if isinstance(value, _Model):
        value = value.__dict__
    if isinstance(value, _Members):            # a conversation's members, kept by TeamState
        return list(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _attribute(key: str, sub: Optional[Type[_Model]] = None) -> property:
    """The attribute for Slack's ``key``: a data descriptor over the
    instance __dict__ that wraps a nested object in ``sub`` the first time
    it is read (so a large answer does not pay for profiles and topics no
    one reads) and keeps the wrapper."""
    def get(obj: _Model) -> Any:
        data = obj.__dict__
        value = data.get(key)
        if sub is not None and type(value) is dict:
            if sub._lists:
                value = data[key] = sub._adopt(value)
            else:
                wrapper = object.__new__(sub)
                wrapper.__dict__ = value
                value = data[key] = wrapper
        return value

    def put(obj: _Model, value: Any) -> None:
        obj.__dict__[key] = value
    return property(get, put, doc=f"Slack's {key!r}" + (f", as a {sub.__name__}" if sub else ""))


def _detail() -> Any:
    """A field kept out of the repr (reprs stay one short line)."""
    return field(default=None, repr=False)


if TYPE_CHECKING:
    @dataclass_transform(eq_default=False, field_specifiers=(field,))
    def _model(cls: Type[_M_data]) -> Type[_M_data]:
        """For type checkers: _model makes a dataclass (the function below, at run time)."""
        return cls
else:
    def _model(cls: Type[_M_data]) -> Type[_M_data]:
        # repr and eq are _Model's own: the repr names the fields marked repr=True
        # and equality is that of the JSON objects, unknown keys included.
        cls = dataclass(repr=False, eq=False)(cls)
        cls._repr_fields = tuple(f.name for f in dataclasses.fields(cls) if f.repr)
        for f in dataclasses.fields(cls):          # an answer without an id still reads (as None)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                setattr(cls, f.name, None)
        attrs = {key: attr for attr, key in cls._renamed.items()}
        for key, sub in cls._nested:
            setattr(cls, attrs.pop(key, key), _attribute(key, sub))
        for key, attr in attrs.items():            # "self_" reads Slack's "self"
            setattr(cls, attr, _attribute(key))
        return cls


@_model
class Topic(_Model):
    """A channel's topic or purpose."""

    value: Optional[str] = None
    creator: Optional[str] = None
    last_set: Optional[int] = None


@_model
class Profile(_Model):
    """A user's profile (only the common fields are named; all are kept)."""

    real_name: Optional[str] = None
    display_name: Optional[str] = None
    email: Optional[str] = None
    first_name: Optional[str] = _detail()
    last_name: Optional[str] = _detail()
    title: Optional[str] = _detail()
    phone: Optional[str] = _detail()
    status_text: Optional[str] = _detail()
    status_emoji: Optional[str] = _detail()
    bot_id: Optional[str] = _detail()
    image_72: Optional[str] = _detail()


@_model
class User(_Model):
    """A member of the team."""

    id: str
    name: Optional[str] = None
    deleted: Optional[bool] = None
    real_name: Optional[str] = None
    is_bot: Optional[bool] = None
    profile: Optional[Profile] = _detail()
    team_id: Optional[str] = _detail()
    color: Optional[str] = _detail()
    tz: Optional[str] = _detail()
    tz_label: Optional[str] = _detail()
    tz_offset: Optional[int] = _detail()
    is_admin: Optional[bool] = _detail()
    is_owner: Optional[bool] = _detail()
    is_primary_owner: Optional[bool] = _detail()
    is_restricted: Optional[bool] = _detail()
    is_ultra_restricted: Optional[bool] = _detail()
    is_app_user: Optional[bool] = _detail()
    presence: Optional[str] = _detail()
    updated: Optional[int] = _detail()

    _nested = (("profile", Profile),)

    @classmethod
    def _adopt_list(cls, items: List[Any]) -> List[Any]:
        # The hot loop of a large rtm.start.  Values that repeat across
        # users (one team, a few time zones) become one object each:
        # json.loads makes a new str per occurrence, and sharing them saves
        # more memory than the wrappers cost.
        new = object.__new__
        seen: Dict[str, str] = {}
        share = seen.setdefault
        out: List[Any] = []
        append = out.append
        for item in items:
            if type(item) is dict:
                value = item.get("team_id")
                if type(value) is str:
                    item["team_id"] = share(value, value)
                value = item.get("tz")
                if type(value) is str:
                    item["tz"] = share(value, value)
                value = item.get("tz_label")
                if type(value) is str:
                    item["tz_label"] = share(value, value)
                user = new(cls)
                user.__dict__ = item
                item = user
            append(item)
        return out


@_model
class _Conversation(_Model):
    """What channels and groups share.  ``members``, ``topic``, ``purpose``
    and read state come only where the user is a member."""

    id: str
    name: Optional[str] = None
    is_archived: Optional[bool] = None
    created: Optional[int] = _detail()
    creator: Optional[str] = _detail()
    members: Optional[Sequence[str]] = _detail()
    topic: Optional[Topic] = _detail()
    purpose: Optional[Topic] = _detail()
    last_read: Optional[str] = _detail()
    latest: Any = _detail()
    unread_count: Optional[int] = _detail()
    unread_count_display: Optional[int] = _detail()

    _nested = (("topic", Topic), ("purpose", Topic))


@_model
class Channel(_Conversation):
    """A public channel."""

    is_member: Optional[bool] = None
    is_channel: Optional[bool] = _detail()
    is_general: Optional[bool] = _detail()


@_model
class Group(_Conversation):
    """A private channel the user is in."""

    is_group: Optional[bool] = _detail()
    is_mpim: Optional[bool] = _detail()


@_model
class Mpim(Group):
    """A multi-party direct message (only with ``mpim_aware``)."""


@_model
class Im(_Model):
    """A direct message channel with one user."""

    id: str
    user: Optional[str] = None
    is_im: Optional[bool] = _detail()
    is_open: Optional[bool] = _detail()
    is_user_deleted: Optional[bool] = _detail()
    created: Optional[int] = _detail()
    last_read: Optional[str] = _detail()
    latest: Any = _detail()
    unread_count: Optional[int] = _detail()
    unread_count_display: Optional[int] = _detail()


@_model
class Bot(_Model):
    """An integration of the team."""

    id: str
    name: Optional[str] = None
    deleted: Optional[bool] = None
    app_id: Optional[str] = _detail()
    icons: Optional[Dict[str, str]] = _detail()
    updated: Optional[int] = _detail()


@_model
class Team(_Model):
    """The team (workspace)."""

    id: str
    name: Optional[str] = None
    domain: Optional[str] = None
    email_domain: Optional[str] = _detail()
    enterprise_id: Optional[str] = _detail()
    enterprise_name: Optional[str] = _detail()
    icon: Optional[Dict[str, Any]] = _detail()
    prefs: Optional[Dict[str, Any]] = _detail()
    plan: Optional[str] = _detail()
    msg_edit_window_mins: Optional[int] = _detail()
    over_storage_limit: Optional[bool] = _detail()


@_model
class Self(_Model):
    """The user the token belongs to."""

    id: str
    name: Optional[str] = None
    prefs: Optional[Dict[str, Any]] = _detail()
    created: Optional[int] = _detail()
    manual_presence: Optional[str] = _detail()


def _bare(name: str, sigil: str) -> str:
    """A name without its sigil: "#general" -> "general", "@alice" -> "alice".
    One sigil only, and only the kind's own (Slack's names never start with
    one), so every lookup by name takes both forms alike."""
    if type(name) is str and name.startswith(sigil):
        return name[1:]
    return name


if TYPE_CHECKING:
    class _ByKind(TypedDict, total=False):
        """For type checkers: an _Index map, kind -> (id or name -> item)."""

        users: Dict[str, User]
        channels: Dict[str, Channel]
        groups: Dict[str, Group]
        mpims: Dict[str, Mpim]
        ims: Dict[str, Im]
        bots: Dict[str, Bot]


class _Index:
    """Lookups by id and by name, built once on first use."""

    __slots__ = ("by_id", "by_name", "im_by_user")

    def __init__(self, start: "RtmStart") -> None:
        self.by_id: _ByKind = {}
        self.by_name: _ByKind = {}
        for kind in ("users", "channels", "groups", "mpims", "ims", "bots"):
            ids: Dict[str, Any]                 # the items of start's list of this kind
            names: Dict[str, Any]
            ids, names = {}, {}
            items = getattr(start, kind)
            for item in items if isinstance(items, (list, tuple)) else ():
                if isinstance(item, _Model):
                    key, name = item.__dict__.get("id"), item.__dict__.get("name")
                    if isinstance(key, str):
                        ids.setdefault(key, item)
                    if isinstance(name, str):
                        names.setdefault(name, item)
            self.by_id[kind] = ids
            self.by_name[kind] = names
        self.im_by_user: Dict[str, Im] = {im.user: im for im in self.by_id["ims"].values() if isinstance(im.user, str)}


@_model
class RtmStart(_Model):
    """An rtm.start or rtm.connect answer.

    ``self_`` and ``team`` are always there: an answer without them (every
    recorded one has both) raises InvalidResponse, from from_json,
    rtm_start, rtm_connect and connect alike, and InvalidArgument from
    from_dict (otherwise, as for every data class, lenient).  Lists absent from the
    answer (rtm.connect, or rtm.start since 2022) read as empty and stay
    absent in to_dict().  ``user("U1")``,
    ``user_by_name("alice")``, ``channel(...)``, ``channel_by_name(...)``,
    ``group``/``group_by_name``, ``im``/``im_for_user`` and ``bot`` look up in
    constant time; the index is built at the first lookup.
    """

    self_: Self
    team: Team
    url: Optional[str] = _detail()
    users: Sequence[User] = field(default=(), repr=False)
    channels: Sequence[Channel] = field(default=(), repr=False)
    groups: Sequence[Group] = field(default=(), repr=False)
    mpims: Sequence[Mpim] = field(default=(), repr=False)
    ims: Sequence[Im] = field(default=(), repr=False)
    bots: Sequence[Bot] = field(default=(), repr=False)
    ok: Optional[bool] = _detail()
    cache_ts: Optional[int] = _detail()
    cache_version: Optional[str] = _detail()
    latest_event_ts: Optional[str] = _detail()
    subteams: Optional[Dict[str, Any]] = _detail()
    dnd: Optional[Dict[str, Any]] = _detail()

    # The index lives in a slot, outside __dict__, which is Slack's data alone.
    __slots__ = ("_lookup", "_warnings")
    _renamed = {"self_": "self"}
    _nested = (("self", Self), ("team", Team))
    _lists = (("users", User), ("channels", Channel), ("groups", Group), ("mpims", Mpim), ("ims", Im),
              ("bots", Bot))

    def __repr__(self) -> str:
        counts = ((k, getattr(self, k)) for k in ("users", "channels", "groups", "mpims", "ims", "bots"))
        lists = ", ".join(f"{len(v)} {k}" for k, v in counts if isinstance(v, (list, tuple)) and v)
        return f"RtmStart(self_={self.self_!r}, team={self.team!r}{', ' if lists else ''}{lists})"

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        """Not callable: slack_sdk's ``rtm.start()`` habit gets a TypeError
        that says what to do (the stub leaves this out, so that a type
        checker still calls it an error)."""
        raise TypeError("rtm.start is the RtmStart of the connection, not a method: connect() already called "
                        "rtm.start (or rtm.connect) and opened the WebSocket; read rtm.start.self_ and "
                        "rtm.start.team, and iterate the session for events (for event in rtm: ...)")

    @classmethod
    def _adopt(cls: Type[_M_data], data: _Json) -> _M_data:
        users = data.get("users")
        with _GcPaused(type(users) is list and len(users) > 1000):
            return super()._adopt(data)

    @classmethod
    def from_dict(cls: Type[_M_data], data: _Json) -> _M_data:
        """Build from a decoded answer, which is copied, never changed;
        InvalidArgument without the ``self`` and ``team`` objects."""
        for key in ("self", "team"):
            if isinstance(data, dict) and not isinstance(data.get(key), dict):
                raise InvalidArgument(f'RtmStart.from_dict: "{key}" is missing or not an object (every '
                                      "rtm.start and rtm.connect answer has it)")
        return super().from_dict(data)

    @classmethod
    def from_json(cls, data: Union[str, bytes, bytearray], method: str = "rtm.start") -> "RtmStart":
        """Parse the bytes (or str) of an answer.  A body that is not a JSON
        object raises InvalidResponse; ``"ok": false`` raises its error class."""
        answer = _loads_object(method, data)
        if answer.get("ok") is False:
            raise _api_error(method, answer, _collect_warnings(method, answer))
        why = _start_oddity(answer)
        if why:                                 # the body is not quoted: its url holds a connection ticket
            raise InvalidResponse(method, 200, "application/json", None, why)
        start = cls._adopt(answer)
        start._warnings = _collect_warnings(method, answer)
        return start

    @classmethod
    def _from_response(cls, response: "SlackResponse") -> "RtmStart":
        start = cls._adopt(dict(response))
        start._warnings = response.warnings
        return start

    @property
    def warnings(self) -> Tuple[SlackWarning, ...]:
        """The warnings Slack attached to this answer."""
        try:
            return self._warnings
        except AttributeError:
            self._warnings: Tuple[SlackWarning, ...]    # declared for type checkers; from_json sets it
            return _collect_warnings("rtm.start", self.__dict__)

    @property
    def _index(self) -> _Index:
        try:
            return self._lookup
        except AttributeError:
            self._lookup: _Index = _Index(self)
            return self._lookup

    @_method
    def user(self, user_id: str) -> Optional[User]:
        return self._index.by_id["users"].get(user_id)

    @_method
    def user_by_name(self, name: str) -> Optional[User]:
        return self._index.by_name["users"].get(_bare(name, "@"))

    @_method
    def channel(self, channel_id: str) -> Optional[Channel]:
        return self._index.by_id["channels"].get(channel_id)

    @_method
    def channel_by_name(self, name: str) -> Optional[Channel]:
        return self._index.by_name["channels"].get(_bare(name, "#"))

    @_method
    def group(self, group_id: str) -> Optional[Group]:
        return self._index.by_id["groups"].get(group_id)

    @_method
    def group_by_name(self, name: str) -> Optional[Group]:
        return self._index.by_name["groups"].get(_bare(name, "#"))

    @_method
    def mpim(self, mpim_id: str) -> Optional[Mpim]:
        return self._index.by_id["mpims"].get(mpim_id)

    @_method
    def im(self, im_id: str) -> Optional[Im]:
        return self._index.by_id["ims"].get(im_id)

    @_method
    def im_for_user(self, user_id: str) -> Optional[Im]:
        return self._index.im_by_user.get(user_id)

    @_method
    def bot(self, bot_id: str) -> Optional[Bot]:
        return self._index.by_id["bots"].get(bot_id)


def _start_oddity(answer: _Json) -> Optional[str]:
    """Why an rtm.start or rtm.connect answer cannot be used, or None.  Only
    what a session reads is checked (``self`` and ``team`` are there and are
    objects, ``url`` parses); everything else stays as lenient as the classes
    above.  The URL is never quoted: it holds a connection ticket."""
    for key in ("self", "team"):
        value = answer.get(key)
        if value is None:
            return f'"{key}" is missing (every rtm.start and rtm.connect answer has it)'
        if not isinstance(value, dict):
            return f'"{key}" is a JSON {type(value).__name__}, not an object'
    url = answer.get("url")
    if url is not None and not isinstance(url, str):
        return f'"url" is a JSON {type(url).__name__}, not a string'
    fault = _url_fault(url or "")
    return f'"url" is not a valid URL: {fault}' if fault else None


def _url_fault(url: str) -> Optional[str]:
    """What makes urlsplit refuse ``url``, or None, in words that quote
    none of it: its port or host may be a token a server echoed (as may
    urlsplit's ValueError, which quotes the port)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "it does not parse (a broken IPv6 literal, say)"
    try:
        parts.port
    except ValueError:
        return "its port is not a number from 0 to 65535"
    try:
        (parts.hostname or "").encode("idna")
    except UnicodeError:
        return "its host is not a valid name"
    return None


###############################################################################
# Team state: the team's users and conversations, kept current ################
###############################################################################
#
# Since 2022-09-27 rtm.start answers with the rtm.connect shape: no users, no
# channels (SLACK.md).  A client builds the team from the Web API (users.list,
# conversations.list) and keeps it current from events, as slack-ruby-client
# 2.x's Store and wee-slack do.  TeamState is that, as a pure object: it is
# filled from an RtmStart or from pages, and apply(event) updates it; the
# Web API calls that fill it are the I/O shell's (_TeamLoader, load_team).
# It holds the same data classes as RtmStart, adopting the dicts of a page
# (nothing copied); an RtmStart's objects and what comes in an event are
# copied, as the answer and the event stay what Slack sent.
#
# Every event costs O(1): dicts by id and by name, updated in place.  A
# conversation's ``members`` (Slack's list, carried by rtm.start's channels
# and by channel_joined) is held as _Members, an insertion-ordered dict of
# ids: Slack's order is kept, to_dict() gives the list back, and a join, a
# leave or a membership test is one dict operation instead of a list scan.

#: A data class (User, Bot, Channel...): the helpers below give back the class they are given.
_M_team = TypeVar("_M_team", bound=_Model)
#: A conversation of any kind, as TeamState holds them.
_AnyConversation = Union[Channel, Group, Mpim, Im]


class _Members:
    """A conversation's ``members``: Slack's list of user ids, in Slack's
    order, with constant-time ``in``, ``add`` and ``discard``.  It compares
    equal to the list it holds; to_dict() turns it back into that list."""

    __slots__ = ("_ids",)
    _ids: Dict[str, None]

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids = dict.fromkeys(ids)

    def __contains__(self, user_id: object) -> bool:
        return type(user_id) is str and user_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> List[str]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[str, List[str]]:  # O(n): for code that indexes a list
        return list(self._ids)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Members):
            return list(self._ids) == list(other._ids)
        return list(self._ids) == list(other) if isinstance(other, (list, tuple)) else NotImplemented

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # unhashable, as the list it stands for

    def __repr__(self) -> str:
        return repr(list(self._ids))

    def __getstate__(self) -> List[str]:
        return list(self._ids)

    def __setstate__(self, state: Iterable[str]) -> None:
        self._ids = dict.fromkeys(state)

    def add(self, user_id: str) -> None:
        self._ids[user_id] = None

    def discard(self, user_id: str) -> None:
        self._ids.pop(user_id, None)


def _as_members(value: object) -> object:
    """_Members for a list of distinct ids; anything else (junk, or a list
    that names someone twice, which a dict could not give back) as it is."""
    if type(value) is list and all(type(item) is str for item in value):
        members = _Members(value)
        if len(members) == len(value):
            return members
    return value


def _conversation_class(data: _Json, default: Type[_AnyConversation]) -> Type[_AnyConversation]:
    """Channel, Group, Mpim or Im for a conversation object, by its flags.

    conversations.list marks a private channel ``is_channel`` and
    ``is_private`` (``is_group`` only on the oldest ones), rtm.start put them
    in ``groups`` with ``is_group``; both are Groups here.  An object without
    flags (channel_rename carries id, name and created) keeps ``default``.
    """
    if data.get("is_im") is True:
        return Im
    if data.get("is_mpim") is True:
        return Mpim
    if data.get("is_private") is True or data.get("is_group") is True:
        return Group
    if data.get("is_channel") is True:
        return Channel
    return default


def _text(event: _Json, key: str) -> Optional[str]:
    value = event.get(key)
    return value if type(value) is str else None


def _object_copy(event: _Json, key: str) -> Optional[_Json]:
    """A copy of the object ``event[key]`` if it is one with a str id."""
    value = event.get(key)
    if type(value) is dict and type(value.get("id")) is str:
        copied: _Json = _copy_objects(value)
        return copied
    return None


#: Conversation types conversations.list is asked for, by TeamState kind.
_CONVERSATION_TYPES = {"channels": "public_channel", "groups": "private_channel", "mpims": "mpim",
                       "ims": "im"}
#: The data class of each kind of conversation.
_CONVERSATION_CLASSES: Dict[str, Type[_AnyConversation]] = {"channels": Channel, "groups": Group, "mpims": Mpim,
                                                             "ims": Im}
#: What load_team can load: users.list, and conversations.list's types.
TEAM_PARTS: FrozenSet[str] = frozenset(("users",) + tuple(_CONVERSATION_TYPES))
#: Page sizes.  users.list: Slack's page recommends no more than 200 a page.
#: conversations.list takes up to 999 ("an integer under 1000"): fewer pages
#: of a Tier 2 method (about 20 calls a minute) is what a large team needs.
USERS_LIST_LIMIT = 200
CONVERSATIONS_LIST_LIMIT = 999
#: A lazy users.info / conversations.info that failed is not asked again
#: for the same id for this long (seconds): a bad id in every message of a
#: busy channel must not cost a call each.
LOOKUP_FAILURE_SECONDS = 300.0
#: How long lazy lookups pause after a 429 that gave no Retry-After.
LOOKUP_RATE_LIMIT_SECONDS = 60.0
#: The bounds of a team load (load_team's, a session's).  At the first hit
#: the load stops with a WARNING, and the state's ``incomplete`` says which.
#: Pages, all lists together: a 100,000-user Enterprise Grid is 500 pages of
#: users.list, and its conversations a few hundred more at 999 a page.
TEAM_MAX_PAGES = 2000
#: Users and conversations held (a server may send more a page than asked).
TEAM_MAX_ITEMS = 1000000
#: Seconds from the first page: that Grid, at Tier 2's ~20 calls a minute,
#: takes about 40 minutes.
TEAM_MAX_SECONDS = 3600.0
#: The largest list page read (bytes): 200 users with full profiles are
#: about 1 MB, 999 conversations about 2.
TEAM_PAGE_BYTES = 32 << 20
#: The bytes of all the answers of one load (bodies, as decoded): that Grid
#: is about 500 MB.  Checked after each page, so a load reads at most one
#: page (TEAM_PAGE_BYTES) more; a page count or an item count cannot bound
#: memory when one member of a page may be 30 MB.
TEAM_MAX_BYTES = 1 << 30
#: In a session, each page is one request of at most this many seconds (or
#: the session's ``timeout`` if shorter): the most an event waits for the load.
TEAM_PAGE_TIMEOUT = 10.0
#: How long a session takes a team page (which holds the frames up) to
#: last until one was timed: the first waits at most CATCH_UP_YIELD times
#: this behind a busy stream.
_FIRST_CALL = 0.1


#: How a TeamState asks the Web API for one object it does not know (users.info,
#: conversations.info): ``lookup(method, key, args)`` gives the answer or None.
#: The I/O shell provides it (load_team, a session); the state never does I/O.
_Lookup = Callable[[str, str, _Json], Optional[_Json]]


class TeamState:
    """The team's users, bots and conversations, kept current from events.

    Build it with ``TeamState.from_start(start)`` (an rtm.start answer that
    carries the lists, or the short one, which gives team and self), fill
    it from the Web API with ``load_team(token)`` or from saved pages with
    ``add_users(members)`` / ``add_conversations(channels)``, and keep it
    current with ``apply(event)`` for every event, before the event is used.

    Lookups take constant time: ``user``, ``user_by_name``, ``channel``,
    ``channel_by_name``, ``group``, ``group_by_name``, ``mpim``, ``im``,
    ``im_for_user``, ``bot`` and ``conversation`` (any kind, by id).  Names
    are accepted with or without their sigil ("#general", "@alice").
    ``fetch_user`` / ``fetch_conversation`` ask users.info /
    conversations.info for an id not yet known, through ``lookup`` (given
    by load_team or a session: ``can_fetch`` says whether there is one).
    ``presence=True`` tracks presence_change and manual_presence_change.
    The state does no I/O of its own: load_team and a session fill it.

    ``incomplete`` is None when every list asked for was loaded whole (or
    none was), else why not: "loading" while a load goes on, or the bound
    or error that stopped it; ``complete`` is ``incomplete is None``.

    Threads: one thread applies events and adds pages; any thread may read.
    Every change (apply, add_*, a page) and every read takes the state's
    lock: each list property (users, bots, conversations, channels, groups,
    mpims, ims) is a consistent snapshot, and a lookup sees an event whole
    or not at all.  The objects are the state's own, and apply() changes
    them in place: keep what you need of one, not the object, to compare
    it later.
    """

    def __init__(self, *, team: Optional[Team] = None, self_: Optional[Self] = None, presence: bool = False,
                 lookup: Optional[_Lookup] = None) -> None:
        self.team: Optional[Team] = team
        self.self_: Optional[Self] = self_
        self.presence: bool = presence
        #: users.info / conversations.info for fetch_user and fetch_conversation (None: none).
        self.lookup: Optional[_Lookup] = lookup
        #: None when complete; otherwise why not ("loading", a bound hit, an error).
        self.incomplete: Optional[str] = None
        self._users: Dict[str, User] = {}
        self._user_names: Dict[str, User] = {}
        self._bots: Dict[str, Bot] = {}
        self._conversations: Dict[str, _AnyConversation] = {}
        self._conversation_names: Dict[str, _AnyConversation] = {}
        self._im_by_user: Dict[str, Im] = {}
        self._lock = threading.Lock()             # held by every change and by the list snapshots

    def __repr__(self) -> str:
        counts = (f"{len(self._users)} users, {len(self._conversations)} conversations, "
                  f"{len(self._bots)} bots")
        return f"TeamState(team={self.team!r}, self_={self.self_!r}, {counts})"

    def __getstate__(self) -> Dict[str, Any]:
        # A copy or a pickle is data: no lock to share, no Web API (the lookup
        # holds a token).  It is copied whole under the lock: apply() changes
        # the objects in place, and another thread may be applying events.
        with self._lock:
            state: Dict[str, Any] = copy.deepcopy(dict(self.__dict__, _lock=None, lookup=None))
            return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def __copy__(self) -> "TeamState":
        """An independent state (copy.copy and copy.deepcopy alike): events
        applied to the copy change nothing in this one."""
        copied = type(self).__new__(type(self))
        copied.__setstate__(self.__getstate__())
        return copied

    def __deepcopy__(self, memo: Dict[int, Any]) -> "TeamState":
        copied = memo[id(self)] = self.__copy__()
        return copied

    @property
    def complete(self) -> bool:
        """True when every list asked for was loaded whole (see ``incomplete``)."""
        return self.incomplete is None

    @property
    def can_fetch(self) -> bool:
        """True when fetch_user / fetch_conversation may ask the Web API."""
        return self.lookup is not None

    # -- building ---------------------------------------------------------

    @classmethod
    def from_start(cls, start: RtmStart, *, presence: bool = False,
                   lookup: Optional[_Lookup] = None) -> "TeamState":
        """The state of an RtmStart: its team, self, and whatever lists it
        carries (pre-2022 answers).  The state holds copies, so that the
        start stays the answer Slack sent whatever events change: team and
        self copied whole, each user, conversation and bot one level deep
        (what apply() changes in place is an object's own keys)."""
        if not isinstance(start, RtmStart):
            raise InvalidArgument(f"TeamState.from_start needs an RtmStart, not {type(start).__name__}")
        state = cls(team=_copy_model(start.team), self_=_copy_model(start.self_), presence=presence, lookup=lookup)
        with _GcPaused():
            state.add_users([dict(user.__dict__) for user in _list_of(start.users, User)])
            for kind in ("channels", "groups", "mpims", "ims"):
                state.add_conversations([type(item)._adopt(dict(item.__dict__))  # type: ignore[misc]  # conversations
                                         for item in _list_of(getattr(start, kind), _Model)])
            for bot in _list_of(start.bots, Bot):
                state._put(state._bots, Bot._adopt(dict(bot.__dict__)))
        return state

    def add_users(self, members: Iterable[Union[_Json, User]]) -> None:
        """Add (or replace) users: a users.list page's ``members``, dicts or
        Users.  Dicts are adopted, not copied (as from_json does)."""
        adopted = User._adopt_list([m for m in members if type(m) is dict or type(m) is User])
        with self._lock:
            self._add_users(adopted)

    def _add_users(self, adopted: List[User]) -> None:
        users, names = self._users, self._user_names
        for user in adopted:
            data = user.__dict__                 # _put_user, inlined: the loop of a large team
            user_id, name = data.get("id"), data.get("name")
            if type(user_id) is not str:
                continue
            old = users.get(user_id)
            if old is not None:
                _unname(names, old)
            users[user_id] = user
            if type(name) is str:
                names[name] = user

    def add_conversations(self, channels: Iterable[Union[_Json, Channel, Group, Mpim, Im]]) -> None:
        """Add (or replace) conversations: a conversations.list page's
        ``channels``, each made a Channel, Group, Mpim or Im by its flags."""
        with self._lock:
            for item in channels:
                if type(item) is dict and type(item.get("id")) is str:
                    self._put_conversation(_conversation_class(item, Channel)._adopt(item))
                elif isinstance(item, (_Conversation, Im)) and type(item.__dict__.get("id")) is str:
                    self._put_conversation(item)

    def add_bots(self, bots: Iterable[Union[_Json, Bot]]) -> None:
        """Add (or replace) bots: rtm.start's ``bots`` (Bots), bots.info's
        ``bot`` (a dict, adopted)."""
        with self._lock:
            for item in bots:
                bot = Bot._adopt(item) if type(item) is dict else item
                if type(bot) is Bot and type(bot.__dict__.get("id")) is str:
                    self._put(self._bots, bot)

    # -- lookups ----------------------------------------------------------

    # Each lookup takes the lock: an event applied meanwhile by another
    # thread is seen whole or not at all (a rename forgets, then puts back).

    def user(self, user_id: Optional[str]) -> Optional[User]:
        with self._lock:
            return self._users.get(user_id) if type(user_id) is str else None

    def user_by_name(self, name: Optional[str]) -> Optional[User]:
        with self._lock:
            return self._user_names.get(_bare(name, "@")) if type(name) is str else None

    def bot(self, bot_id: Optional[str]) -> Optional[Bot]:
        with self._lock:
            return self._bots.get(bot_id) if type(bot_id) is str else None

    def conversation(self, conversation_id: Optional[str]) -> Optional[Union[Channel, Group, Mpim, Im]]:
        """A Channel, Group, Mpim or Im by id."""
        with self._lock:
            return self._conversations.get(conversation_id) if type(conversation_id) is str else None

    def _of_kind(self, found: Optional[_AnyConversation], cls: Type[_M_team]) -> Optional[_M_team]:
        return found if type(found) is cls else None

    def channel(self, channel_id: Optional[str]) -> Optional[Channel]:
        return self._of_kind(self.conversation(channel_id), Channel)

    def channel_by_name(self, name: Optional[str]) -> Optional[Channel]:
        return self._of_kind(self._by_name(name), Channel)

    def group(self, group_id: Optional[str]) -> Optional[Group]:
        return self._of_kind(self.conversation(group_id), Group)

    def group_by_name(self, name: Optional[str]) -> Optional[Group]:
        return self._of_kind(self._by_name(name), Group)

    def mpim(self, mpim_id: Optional[str]) -> Optional[Mpim]:
        return self._of_kind(self.conversation(mpim_id), Mpim)

    def im(self, im_id: Optional[str]) -> Optional[Im]:
        return self._of_kind(self.conversation(im_id), Im)

    def im_for_user(self, user_id: Optional[str]) -> Optional[Im]:
        with self._lock:
            return self._im_by_user.get(user_id) if type(user_id) is str else None

    def _by_name(self, name: Optional[str]) -> Optional[_AnyConversation]:
        with self._lock:
            return self._conversation_names.get(_bare(name, "#")) if type(name) is str else None

    # The list properties copy under the lock: another thread may be
    # applying events, and a dict that changes size while it is iterated
    # raises RuntimeError.

    @property
    def users(self) -> List[User]:
        with self._lock:
            return list(self._users.values())

    @property
    def bots(self) -> List[Bot]:
        with self._lock:
            return list(self._bots.values())

    @property
    def conversations(self) -> List[Union[Channel, Group, Mpim, Im]]:
        with self._lock:
            return list(self._conversations.values())

    def _kind(self, cls: Type[_M_team]) -> List[_M_team]:
        with self._lock:
            return [c for c in self._conversations.values() if type(c) is cls]

    # Properties in the decorator form (property(lambda ...) reads as Any to a type checker).
    @property
    def channels(self) -> List[Channel]:
        """The public channels."""
        return self._kind(Channel)

    @property
    def groups(self) -> List[Group]:
        """The private channels."""
        return self._kind(Group)

    @property
    def mpims(self) -> List[Mpim]:
        """The multi-party direct messages."""
        return self._kind(Mpim)

    @property
    def ims(self) -> List[Im]:
        """The direct messages."""
        return self._kind(Im)

    # -- the indexes ------------------------------------------------------

    def _put(self, by_id: Dict[str, _M_team], item: _M_team) -> None:
        by_id[item.__dict__["id"]] = item

    def _put_user(self, user: User) -> None:
        old = self._users.get(user.id)
        if old is not None:
            _unname(self._user_names, old)
        self._users[user.id] = user
        _name(self._user_names, user)

    def _put_conversation(self, item: _AnyConversation) -> None:
        data = item.__dict__
        self._forget(data["id"])
        if type(data.get("members")) is list:
            data["members"] = _as_members(data["members"])
        self._conversations[data["id"]] = item
        _name(self._conversation_names, item)
        user = data.get("user") if type(item) is Im else None
        if type(user) is str:
            self._im_by_user[user] = item       # type: ignore[assignment]  # an Im: user is read from an Im only

    def _forget(self, conversation_id: Optional[str]) -> Optional[_AnyConversation]:
        old = self._conversations.pop(conversation_id, None)  # type: ignore[arg-type]  # None: nothing to forget
        if old is None:
            return None
        _unname(self._conversation_names, old)
        user = old.__dict__.get("user")
        if type(user) is str and self._im_by_user.get(user) is old:
            del self._im_by_user[user]
        return old

    def _merge(self, data: _Json, default: Type[_AnyConversation]) -> _AnyConversation:
        """Merge a conversation object into the one of its id (or add it):
        the keys it carries replace those known, the others stay."""
        old = self._forget(data["id"])
        if old is None:
            self._put_conversation(_conversation_class(data, default)._adopt(data))
        else:                                    # the same object, unless its kind changed
            old.__dict__.update(data)
            cls = _conversation_class(data, type(old))
            self._put_conversation(old if cls is type(old) else cls._adopt(old.__dict__))
        return self._conversations[data["id"]]

    # -- events -----------------------------------------------------------
    #
    # One handler per event type (https://api.slack.com/events/<type>),
    # each O(1) but for presence_change's ``users`` list.  A handler reads
    # the event and never changes it; a key missing or of the wrong type
    # makes the event a no-op.

    _EVENTS: ClassVar[Mapping[str, Tuple[str, Tuple[Any, ...]]]] = {
        "team_join": ("_on_user", ()), "user_change": ("_on_user", ()),
        "user_huddle_changed": ("_on_user", ()), "user_status_changed": ("_on_user", ()),
        "user_profile_changed": ("_on_user", ()),
        "bot_added": ("_on_bot", ()), "bot_changed": ("_on_bot", ()),
        "channel_created": ("_on_object", (Channel,)), "channel_rename": ("_on_object", (Channel,)),
        "group_rename": ("_on_object", (Group,)), "mpim_joined": ("_on_object", (Mpim,)),
        "channel_joined": ("_on_joined", (Channel,)), "group_joined": ("_on_joined", (Group,)),
        "im_created": ("_on_im_created", ()),
        "channel_deleted": ("_on_deleted", ()), "group_deleted": ("_on_deleted", ()),
        "channel_archive": ("_on_flag", ("is_archived", True)),
        "channel_unarchive": ("_on_flag", ("is_archived", False)),
        "group_archive": ("_on_flag", ("is_archived", True)),
        "group_unarchive": ("_on_flag", ("is_archived", False)),
        "group_open": ("_on_flag", ("is_open", True)), "group_close": ("_on_flag", ("is_open", False)),
        "mpim_open": ("_on_flag", ("is_open", True)), "mpim_close": ("_on_flag", ("is_open", False)),
        "im_open": ("_on_im_open", ()), "im_close": ("_on_flag", ("is_open", False)),
        "channel_left": ("_on_left", ()), "group_left": ("_on_left", ()),
        "member_joined_channel": ("_on_member", (True,)), "member_left_channel": ("_on_member", (False,)),
        "channel_marked": ("_on_marked", ()), "group_marked": ("_on_marked", ()),
        "im_marked": ("_on_marked", ()),
        "team_rename": ("_on_team", ("name",)), "team_domain_change": ("_on_team", ("domain",)),
        "email_domain_changed": ("_on_team", ("email_domain",)), "team_plan_change": ("_on_team", ("plan",)),
        "team_pref_change": ("_on_pref", ("team",)), "pref_change": ("_on_pref", ("self_",)),
        "presence_change": ("_on_presence", ()), "manual_presence_change": ("_on_manual_presence", ()),
    }

    #: The event types apply() knows; every other type is left alone.
    EVENT_TYPES: ClassVar[FrozenSet[str]] = frozenset(_EVENTS)

    def apply(self, event: _Json) -> bool:
        """Update the state from an event; True if it changed anything.

        Any dict is accepted: unknown types and malformed events change
        nothing and raise nothing.  The event is never changed.
        """
        kind = event.get("type") if type(event) is dict else None
        handler = self._EVENTS.get(kind) if type(kind) is str else None
        if handler is None:
            return False
        name, extra = handler
        with self._lock:
            return getattr(self, name)(event, *extra)  # type: ignore[no-any-return]  # every _on_ handler returns bool

    def _on_user(self, event: _Json) -> bool:
        data = _object_copy(event, "user")
        if data is None:
            return False
        old = self._users.get(data["id"])
        if old is None:
            self._put_user(User._adopt(data))
            return True
        _unname(self._user_names, old)           # a user_change carries the whole user
        old.__dict__.update(data)
        _name(self._user_names, old)
        return True

    def _on_bot(self, event: _Json) -> bool:
        data = _object_copy(event, "bot")
        if data is None:
            return False
        old = self._bots.get(data["id"])
        if old is not None:
            old.__dict__.update(data)
        else:
            self._put(self._bots, Bot._adopt(data))
        return True

    def _on_object(self, event: _Json, default: Type[_AnyConversation]) -> bool:
        data = _object_copy(event, "channel")
        if data is None:
            return False
        self._merge(data, default)
        return True

    def _on_joined(self, event: _Json, default: Type[_AnyConversation]) -> bool:
        data = _object_copy(event, "channel")
        if data is None:
            return False
        joined = self._merge(data, default)
        joined.__dict__["is_member"] = True
        self._add_member(joined, True)
        return True

    def _on_im_created(self, event: _Json) -> bool:
        data = _object_copy(event, "channel")
        if data is None:
            return False
        if "user" not in data and _text(event, "user"):
            data["user"] = event["user"]
        self._merge(data, Im)
        return True

    def _on_im_open(self, event: _Json) -> bool:
        # An im not yet known (conversations.list lists open ims only) is
        # added: its id and user are all a lookup needs.
        im_id, user = _text(event, "channel"), _text(event, "user")
        if im_id and user and im_id not in self._conversations:
            self._put_conversation(Im._adopt({"id": im_id, "user": user, "is_im": True, "is_open": True}))
            return True
        return self._on_flag(event, "is_open", True)

    def _on_deleted(self, event: _Json) -> bool:
        return self._forget(_text(event, "channel")) is not None

    def _on_flag(self, event: _Json, key: str, value: bool) -> bool:
        found = self._conversations.get(_text(event, "channel"))  # type: ignore[arg-type]  # None finds nothing
        if found is None:
            return False
        found.__dict__[key] = value
        return True

    def _on_left(self, event: _Json) -> bool:
        found = self._conversations.get(_text(event, "channel"))  # type: ignore[arg-type]  # None finds nothing
        if found is None:
            return False
        found.__dict__["is_member"] = False
        self._add_member(found, False)
        return True

    def _add_member(self, found: _AnyConversation, joined: bool, user: Optional[str] = None) -> None:
        user = user or (self.self_.id if self.self_ is not None else None)
        members = found.__dict__.get("members")
        if type(user) is not str or type(members) is not _Members:
            return
        if joined:
            members.add(user)
        else:
            members.discard(user)

    def _on_member(self, event: _Json, joined: bool) -> bool:
        # member_joined_channel / member_left_channel: a members list is
        # updated only where it is known (conversations.list carries none).
        found = self._conversations.get(_text(event, "channel"))  # type: ignore[arg-type]  # None finds nothing
        user = _text(event, "user")
        if found is None or user is None:
            return False
        self._add_member(found, joined, user)
        if self.self_ is not None and user == self.self_.id:
            found.__dict__["is_member"] = joined
        return True

    def _on_marked(self, event: _Json) -> bool:
        found = self._conversations.get(_text(event, "channel"))  # type: ignore[arg-type]  # None finds nothing
        ts = _text(event, "ts")
        if found is None or ts is None:
            return False
        found.__dict__["last_read"] = ts
        return True

    def _on_team(self, event: _Json, key: str) -> bool:
        # team_rename's "name", team_domain_change's "domain"...: the key of
        # the event is the team's.
        value = _text(event, key)
        if self.team is None or value is None:
            return False
        self.team.__dict__[key] = value
        return True

    def _on_pref(self, event: _Json, owner: str) -> bool:
        # pref_change is the user's own preference (self.prefs), and
        # team_pref_change the team's (team.prefs): one name, one value.
        holder, name = getattr(self, owner), _text(event, "name")
        if holder is None or name is None or "value" not in event:
            return False
        prefs = holder.__dict__.get("prefs")
        if type(prefs) is not dict:
            prefs = holder.__dict__["prefs"] = {}
        prefs[name] = _copy_objects(event["value"])
        return True

    def _on_presence(self, event: _Json) -> bool:
        # One user, or with batch_presence_aware a ``users`` list.
        presence = _text(event, "presence")
        if not self.presence or presence is None:
            return False
        ids = event.get("users") if type(event.get("users")) is list else [event.get("user")]
        changed = False
        for user_id in ids:                      # type: ignore[union-attr]  # the list tested or a new one
            user = self._users.get(user_id) if type(user_id) is str else None
            if user is not None:
                user.__dict__["presence"] = presence
                changed = True
        return changed

    def _on_manual_presence(self, event: _Json) -> bool:
        presence = _text(event, "presence")
        if not self.presence or presence is None or self.self_ is None:
            return False
        self.self_.__dict__["manual_presence"] = presence
        return True

    # -- replacing parts, and the lazy lookups ------------------------------

    def replace(self, fresh: "TeamState", *, team: Union[str, Iterable[str], None] = "all") -> "TeamState":
        """Put ``team``'s parts of ``fresh`` (a state loaded again, after a
        reconnect may have missed events) in place of this state's: what was
        deleted goes, what changed is current; the other parts are kept.
        Returns this state."""
        parts = _team_parts(team)
        if fresh is self:
            return self
        reloaded = {_CONVERSATION_CLASSES[p] for p in parts if p in _CONVERSATION_CLASSES}
        # Both locks (fresh's first, always): another thread may be applying
        # events to both.  The dicts are copied: each state keeps its own.
        with fresh._lock, self._lock:
            if "users" in parts:
                self._users, self._user_names = dict(fresh._users), dict(fresh._user_names)
            kept = [c for c in self._conversations.values() if type(c) not in reloaded]
            self._conversations, self._conversation_names, self._im_by_user = {}, {}, {}
            for item in fresh._conversations.values():
                if type(item) in reloaded:
                    self._put_conversation(item)
            for item in kept:
                if item.__dict__["id"] not in self._conversations:
                    self._put_conversation(item)
        return self

    def fetch_user(self, user_id: Optional[str]) -> Optional[User]:
        """The user of this id, asking users.info when it is not known yet
        (cached; None when Slack does not know it or is rate limiting)."""
        found = self.user(user_id)
        if found is not None or type(user_id) is not str:
            return found
        answer = self._lookup("users.info", user_id, {"user": user_id})
        data = answer.get("user") if answer is not None else None
        if type(data) is dict and data.get("id") == user_id:
            with self._lock:
                self._put_user(User._adopt(data))
        return self.user(user_id)

    def fetch_conversation(self, conversation_id: Optional[str]) -> Optional[Union[Channel, Group, Mpim, Im]]:
        """The conversation of this id, asking conversations.info when it is
        not known yet (cached; None when unknown or rate limited)."""
        found = self.conversation(conversation_id)
        if found is not None or type(conversation_id) is not str:
            return found
        answer = self._lookup("conversations.info", conversation_id, {"channel": conversation_id})
        data = answer.get("channel") if answer is not None else None
        if type(data) is dict and data.get("id") == conversation_id:
            with self._lock:
                self._put_conversation(_conversation_class(data, Channel)._adopt(data))
        return self.conversation(conversation_id)

    def _lookup(self, method: str, key: str, args: _Json) -> Optional[_Json]:
        if self.lookup is None:
            raise InvalidArgument(f"{method}: this TeamState has no Web API to ask (load_team or a session gives "
                                  "it one; team=None loads nothing but still can)")
        return self.lookup(method, key, args)


def _copy_model(obj: Optional[_M_team]) -> Optional[_M_team]:
    """A copy of a data class and everything in it (None for None)."""
    return type(obj)._adopt(_plain(obj)) if isinstance(obj, _Model) else obj


def _list_of(items: object, cls: Type[_M_team]) -> List[_M_team]:
    """The items of a list that are ``cls`` objects with a str id."""
    if not isinstance(items, (list, tuple)):
        return []
    return [item for item in items if isinstance(item, cls) and type(item.__dict__.get("id")) is str]


def _name(names: Dict[str, _M_team], item: _M_team) -> None:
    name = item.__dict__.get("name")
    if type(name) is str:
        names[name] = item


def _unname(names: Dict[str, _M_team], item: _M_team) -> None:
    name = item.__dict__.get("name")
    if type(name) is str and names.get(name) is item:
        del names[name]


def _team_parts(team: Union[str, Iterable[str], None]) -> FrozenSet[str]:
    """The set of TEAM_PARTS that ``team=`` asks for."""
    if team is None or team == "none":
        return frozenset()
    if team == "all":
        return TEAM_PARTS
    parts = frozenset([team] if isinstance(team, str) else team)
    if not parts <= TEAM_PARTS:
        raise InvalidArgument(f"team= takes 'all', 'none' or a subset of {sorted(TEAM_PARTS)}, "
                              f"not {sorted(map(str, parts - TEAM_PARTS))}")
    return parts


###############################################################################
# Pure core: Web API requests and answers #####################################
###############################################################################

if TYPE_CHECKING:                          # types only: the proxy's False, and the decompressor's type
    import zlib
    from typing import Literal

#: What a call returns, for Retry.call.
_T_web = TypeVar("_T_web")

_FORM_TYPE = "application/x-www-form-urlencoded"
_JSON_TYPE = "application/json; charset=utf-8"


def _check_token(token: object) -> None:
    # The token goes into a header: refuse anything that could split it, and
    # never quote it back.
    if not isinstance(token, str) or not token:
        raise InvalidArgument("the token must be a non-empty str")
    if any(c in token for c in "\r\n\0 \t") or not token.isascii():
        raise InvalidArgument("the token holds whitespace, a control character or non-ASCII "
                              "(it is not quoted here, to keep it secret)")


def _check_arg_names(method: str, args: Iterable[object]) -> None:
    """Refuse, before any I/O, the names Slack would refuse (same classes)."""
    for name in args:
        if not isinstance(name, str):
            raise InvalidArgument(f"{method}: argument names are str, not {type(name).__name__}")
        if "[" in name:                          # foo[7], foo[]: PHP-style arrays
            raise _ERRORS["invalid_array_arg"](method, "invalid_array_arg")
        if not _is_word(name) or len(name) > MAX_ARG_NAME:
            raise _ERRORS["invalid_arg_name"](method, "invalid_arg_name")


#: What slack_sdk's (and requests') users reach for, too far from an option
#: for difflib: the option meant, and a word on it.
_OPTION_HABITS = {
    "ssl": ("ssl_context", "an ssl.SSLContext; or ca_certs, a CA bundle file"),
    "proxies": ("proxy", "one proxy URL, or False for none"),
    "retries": ("retry", "a Retry, True or False"),
    "max_retries": ("retry", "a Retry, True or False"),
    "retry_handlers": ("retry", "a Retry, True or False"),
    "headers": ("user_agent", "for the User-Agent; any other header: http=urllib3.PoolManager(headers={...})"),
    "user_agent_prefix": ("user_agent", "the whole User-Agent"),
    "user_agent_suffix": ("user_agent", "the whole User-Agent"),
    "json": ("as_json", "as_json=True sends the arguments as a JSON body"),
    "params": ("args", "a mapping of Slack's arguments"),
}
#: How close (difflib's ratio) a keyword must be to an option to be taken for
#: a misspelling of it: "timout" is 0.92 from timeout, "proxi" 0.80 from
#: proxy; of Slack's argument names the closest to an option is "time", 0.73
#: from timeout (corpus/reference and slack_sdk's WebClient, in the tests).
_MISSPELT_CUTOFF = 0.8


def _keywords_of(*funcs: Callable[..., Any]) -> Tuple[str, ...]:
    """The keyword-only parameters of functions: the options they take."""
    names: List[str] = []
    for func in funcs:
        code: types.CodeType = func.__code__
        names += code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    return tuple(names)


def _refuse_misspelt(where: str, names: Iterable[str], options: Iterable[str], *,
                     hatch: Optional[str] = "args") -> None:
    """Raise InvalidArgument for a name of ``names`` (keywords that would go
    to Slack as arguments) that looks like a misspelt option: one of
    slack_sdk's habits, or close to one of ``options``.  The message names
    the option meant and ``hatch``, the mapping that sends the name to Slack
    as it is.  Names that are options, or far from all, pass."""
    options = list(options)
    for name in names:
        if name in options:
            continue
        habit = _OPTION_HABITS.get(name)
        if habit is not None and habit[0] in options:
            meant = f"{habit[0]}=? ({habit[1]})"
        else:
            close = difflib.get_close_matches(name, options, n=1, cutoff=_MISSPELT_CUTOFF)
            if not close:
                continue
            meant = f"{close[0]}=?"
        escape = f" To send {name!r} to Slack as it is, give it in {hatch}={{...}}." if hatch else ""
        raise InvalidArgument(f"{where}: {name}= looks like a misspelt option: did you mean {meant}{escape}")


def _form_value(method: str, name: str, value: object) -> str:
    # Slack reads booleans as true/false (its docs and recorded calls send
    # "simple_latest=true"); "false" is sent rather than omitted so that an
    # argument whose default is true can be turned off.  Numbers go as their
    # decimal text, lists and dicts as JSON (how Slack takes array arguments).
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return repr(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    raise InvalidArgument(f"{method}: argument {name!r} cannot be sent as {type(value).__name__}")


def encode_form(method: str, args: Mapping[str, Any]) -> Tuple[bytes, str]:
    """The body and Content-Type of a form-encoded Web API call.

    The body is the percent-encoded UTF-8 of every value; ``None`` leaves an
    argument out.  The Content-Type has no charset: form types do not take
    one and Slack answers a charset with ``superfluous_charset``.
    """
    _check_arg_names(method, args)
    pairs = [(name, _form_value(method, name, value)) for name, value in args.items() if value is not None]
    try:
        return urllib.parse.urlencode(pairs, encoding="utf-8").encode("ascii"), _FORM_TYPE
    except UnicodeEncodeError:
        raise _not_unicode(method, pairs) from None


def _not_unicode(method: str, pairs: Iterable[Tuple[str, str]]) -> InvalidArgument:
    """InvalidArgument naming the first value UTF-8 cannot encode (a lone surrogate)."""
    for name, value in pairs:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return InvalidArgument(f"{method}: argument {name!r} is not valid Unicode "
                                   f"({exc.reason} at position {exc.start})")
    return InvalidArgument(f"{method}: an argument is not valid Unicode")


def encode_json(method: str, args: Mapping[str, Any]) -> Tuple[bytes, str]:
    """The body and Content-Type of a JSON Web API call (charset included,
    as Slack asks of non-form types)."""
    _check_arg_names(method, args)
    body = {name: value for name, value in args.items() if value is not None}
    try:
        data = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return data.encode("utf-8"), _JSON_TYPE
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"{method}: the body is not valid Unicode ({exc.reason})") from None
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{method}: {exc}") from None


def _cookie_value(cookie: object) -> str:
    """The ``d`` cookie of a browser session token (``xoxc-``), as sent:
    URL-encoded unless it already is (a ``%`` says so), ``d=`` or not."""
    if not isinstance(cookie, str) or not cookie:
        raise InvalidArgument("the cookie must be a non-empty str")
    value = cookie[2:] if cookie.startswith("d=") else cookie
    if "%" not in value:
        value = urllib.parse.quote(value, safe="")         # Slack's xoxd- values hold + / =
    if not value or not value.isascii() or any(c in value for c in '\r\n\0 \t;,"\\'):
        raise InvalidArgument("the cookie holds whitespace, a separator, a control character or non-ASCII "
                              "(it is not quoted here, to keep it secret)")
    return value


@functools.lru_cache(maxsize=None)
def default_user_agent() -> str:
    """The User-Agent slack_rtm sends unless told otherwise: its version,
    Python's and its dependencies' (``slack_rtm/0.1.0 Python/3.11.7
    urllib3/2.8.0 websocket-client/1.9.2``).  Add your own in front of it:
    ``user_agent=f"mybot/1.0 {slack_rtm.default_user_agent()}"``."""
    import platform
    from importlib import metadata
    parts = [f"slack_rtm/{__version__}", f"Python/{platform.python_version()}"]
    for name in ("urllib3", "websocket-client"):
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:         # vendored without its metadata: not named then
            continue
        if _is_header_text(version):
            parts.append(f"{name}/{version}")
    return " ".join(parts)


def _is_header_text(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _user_agent(user_agent: object) -> str:
    """The User-Agent to send: ``user_agent``, checked, or the default."""
    if user_agent is None:
        return default_user_agent()
    if (not isinstance(user_agent, str) or not user_agent or user_agent != user_agent.strip()
            or not _is_header_text(user_agent)):
        raise InvalidArgument("user_agent must be a str of printable ASCII, neither empty nor starting or ending "
                              f"with a space, not {user_agent!r}")
    return user_agent


def build_request(method: str, token: str, args: Mapping[str, Any], *, base_url: str = DEFAULT_BASE_URL,
                  as_json: bool = False, cookie: Optional[str] = None,
                  user_agent: Optional[str] = None) -> Tuple[str, Dict[str, str], bytes]:
    """(url, headers, body) of a Web API call.  The token goes in the
    Authorization header only, never in the URL or the body; ``cookie``
    (the ``d`` cookie a session token needs) as ``Cookie: d=...``;
    ``user_agent`` (default_user_agent() when None) as the User-Agent."""
    if not isinstance(method, str) or not all(p[:1].isalpha() and _is_word(p) for p in method.split(".")):
        raise InvalidArgument(f"not a Web API method name: {method!r}")
    _check_token(token)
    agent = _user_agent(user_agent)
    body, content_type = (encode_json if as_json else encode_form)(method, args)
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}",
               "Accept": "application/json", "User-Agent": agent}
    if cookie is not None:
        headers["Cookie"] = "d=" + _cookie_value(cookie)
    return _join_url(base_url, method), headers, body


def _join_url(base_url: str, method: str) -> str:
    return base_url if base_url.endswith("/" + method) else base_url.rstrip("/") + "/" + method


def _parse_object(body: Union[str, bytes, bytearray]) -> Tuple[Any, Optional[str]]:
    """(the JSON object, None), or (None, why the body is not one)."""
    # The object is Any to mypy: a _Json exactly when why is None, which every caller tests.
    try:
        with _GcPaused(len(body) >= _GC_PAUSE_BYTES):
            answer = json.loads(body)
    except (ValueError, TypeError) as exc:     # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, f"not JSON ({exc})"
    except RecursionError:                     # [[[[... a thousand deep: no answer of Slack's nests so
        return None, "JSON nested deeper than Python's recursion limit"
    if not isinstance(answer, dict):
        return None, f"JSON {type(answer).__name__}, not an object"
    return answer, None


def _loads_object(method: str, body: Union[str, bytes, bytearray], status: int = 200,
                  content_type: Optional[str] = "application/json") -> _Json:
    answer, why = _parse_object(body)
    if why:
        raise InvalidResponse(method, status, content_type, body, why)
    return answer                              # type: ignore[no-any-return]  # why is None: the object


def _retry_after(headers: Optional[Mapping[str, str]]) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or None."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _api_error(method: str, answer: _Json, warnings_: Iterable[SlackWarning], retry_after: Optional[float] = None,
               status: int = 200, secrets: Sequence[str] = ()) -> SlackApiError:
    code = answer.get("error")
    if not isinstance(code, str) or not code:
        code = "unknown_error" if code is None else str(code)
    cls = _ERRORS.get(code, SlackApiError)
    error: SlackApiError = cls(method, _redact(code, secrets), answer, warnings_)   # the code may echo a secret
    if cls is _ERRORS.get("ratelimited"):
        error.retry_after = retry_after        # type: ignore[attr-defined]  # cls is RateLimited here
    if status not in (200, 429):              # Slack's own errors come with 200: say what came instead
        error.status = status
        error.args = (f"{error.args[0]} (HTTP {status})",)
    return error


class _Headers(Mapping[str, str]):
    """An answer's HTTP headers, read-only: names are case-insensitive (kept
    in lower case), a repeated header's values are joined with ", " (as
    urllib3 does), and ``secrets`` (ours, should a server echo one) are
    redacted.  The repr leaves out Set-Cookie's values: a session token's
    answers may set a new ``d`` cookie, which must not show in a log."""

    def __init__(self, headers: Optional[Mapping[str, str]] = None, secrets: Sequence[str] = ()) -> None:
        self._items: Dict[str, str] = {}
        for name in headers or {}:               # each name once (an HTTPHeaderDict's items() may repeat it)
            key, value = str(name).lower(), _redact(str(headers[name]), secrets)  # type: ignore[index]  # set: iterated
            self._items[key] = f"{self._items[key]}, {value}" if key in self._items else value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        shown = {k: "<not shown>" if k == "set-cookie" else v for k, v in self._items.items()}
        return f"{type(self).__name__}({shown!r})"

    def __reduce__(self) -> Tuple[Type["_Headers"], Tuple[Dict[str, str]]]:
        return type(self), (dict(self._items),)


class SlackResponse(dict[str, Any]):           # not typing.Dict: that would add Generic to the MRO
    """A successful answer: the decoded JSON object, with ``.warnings``,
    the HTTP ``status`` and ``headers`` (a read-only mapping whose names are
    case-insensitive: ``headers["x-oauth-scopes"]``, ``x-ratelimit-*``).  The
    dict is the answer alone: ``==`` and json.dumps see neither."""

    warnings: Tuple[SlackWarning, ...] = ()
    status: int = 200
    headers: Mapping[str, str] = _Headers()

    def __reduce__(self) -> Tuple[Callable[..., "SlackResponse"],
                                  Tuple[_Json, Tuple[SlackWarning, ...], int, Mapping[str, str]]]:
        return _make_response, (dict(self), self.warnings, self.status, self.headers)


def _make_response(data: Mapping[str, Any], warnings_: Iterable[SlackWarning], status: int = 200,
                   headers: Optional[Mapping[str, str]] = None) -> SlackResponse:
    response = SlackResponse(data)
    response.warnings = tuple(warnings_)
    response.status = status
    response.headers = headers if isinstance(headers, _Headers) else _Headers(headers)
    return response


def decode_response(method: str, status: int, headers: Optional[Mapping[str, str]], body: bytes, *,
                    emit: bool = True, secrets: Sequence[str] = ()) -> SlackResponse:
    """Turn an HTTP answer into data or an exception (raised).

    ``ok`` -> a SlackResponse (``status`` and ``headers`` on it too);
    ``ok: false`` -> the class of its code (the
    status in the message when it is not 200); HTTP 429 -> RateLimited with
    ``retry_after``, whatever the body; anything that is not a JSON object
    -> InvalidResponse (ServerError for 5xx) naming the status and
    Content-Type and quoting the start of the body.  ``secrets`` are
    redacted from every text the server controls: the quote, the error
    code and the warnings.
    Warnings are issued with warnings.warn (when ``emit``) and kept on the
    result or error.
    """
    headers = headers or {}
    content_type = headers.get("Content-Type")
    if status == 429:
        answer = _parse_object(body)[0] or {}
        if answer.get("error") != "ratelimited":
            answer = dict(answer, ok=False, error="ratelimited")
        raise _api_error(method, answer, _collect_warnings(method, answer, secrets), _retry_after(headers),
                         secrets=secrets)
    answer, why = _parse_object(body)
    if why is None and not isinstance(answer.get("ok"), bool):
        why = 'a JSON object without a boolean "ok"'
    if why:
        raise (ServerError if status >= 500 else InvalidResponse)(method, status, content_type, body, why,
                                                                  secrets)
    found = _collect_warnings(method, answer, secrets)
    if emit:
        for warning in found:
            _warn(warning)
    if answer.get("ok") is not True:
        raise _api_error(method, answer, found, _retry_after(headers), status, secrets)
    return _make_response(answer, found, status, _Headers(headers, secrets))


@dataclass(frozen=True)
class Retry:
    """When to retry a Web API call, as a small immutable value.

    Retryable errors (rate limits, ``migration_in_progress``, transient server
    trouble, network failures) are retried; authentication and request-format
    errors never are.  ``ratelimited`` waits ``Retry-After``; the others wait
    ``base`` seconds, doubling each time up to ``cap``, with up to ``jitter``
    of that added at random, until ``deadline`` seconds have passed since the
    first try.  ``sleep``, ``clock`` and ``random`` are injectable for tests.
    """

    deadline: float = 120.0
    base: float = 2.0
    cap: float = 60.0
    jitter: float = 0.25
    sleep: Callable[[float], object] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def delay(self, attempt: int, error: BaseException) -> Optional[float]:
        """Seconds to wait before try ``attempt + 1`` after ``error``, or None
        when the error is not worth retrying.  Retry-After is honoured but
        never below ``base``: a server answering 0, a negative or a past date
        does not get a hot loop."""
        if not getattr(error, "retryable", False):
            return None
        retry_after: Optional[float] = getattr(error, "retry_after", None)
        if retry_after is not None:
            return max(retry_after, self.base)
        return self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        """The wait before try ``attempt + 1``, jitter included.  Stays finite
        however many tries (a week-long outage is survived)."""
        backoff = min(self.cap, self.base * 2.0 ** min(attempt, 64))
        return backoff + backoff * self.jitter * self.random()

    def call(self, fn: Callable[[], _T_web]) -> _T_web:
        """Call ``fn()`` until it returns, retrying as this policy says."""
        started = self.clock()
        attempt = 0
        while True:
            try:
                return fn()
            except SlackError as error:
                wait = self.delay(attempt, error)
                if wait is None or self.clock() + wait - started > self.deadline:
                    raise
                log.info("%s; retrying in %.1f s", error, wait)
                self.sleep(wait)
                attempt += 1


###############################################################################
# I/O shell: HTTPS with urllib3 ###############################################
###############################################################################

_LOOPBACK_NAMES = ("localhost", "localhost.")
#: Bytes asked of the socket per read of an answer's body.
_READ_BYTES = 1 << 18
#: The most a Content-Encoding is inflated in one step, so that a bomb is
#: stopped at the size bound and never inflated whole in one call.
_INFLATE_BYTES = 1 << 20
_RTM_METHODS = ("rtm.start", "rtm.connect")


#: The package that installs each module imported lazily.
_PACKAGES = {"urllib3": "urllib3", "websocket": "websocket-client", "websockets": "websockets"}


def _require(purpose: str, *modules: str) -> types.ModuleType:
    """The first of ``modules``, imported after all of them are.  When some
    are missing, one ImportError names every missing package: a user who
    installs what it says is done."""
    missing = []
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            missing.append(_PACKAGES[name])
    if missing:
        names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
        raise ImportError(f"slack_rtm needs {names} for {purpose}: pip install {' '.join(missing)}") from None
    return sys.modules[modules[0]]


def _installed() -> bool:
    """Whether this file is the slack_rtm.py that an installed distribution's
    RECORD lists, rather than a copy beside someone's code (which has no
    extras to install) or a source tree's (whose egg-info has no RECORD).
    Only asked on the way to an ImportError."""
    from importlib import metadata
    here = os.path.realpath(__file__)
    for dist in metadata.distributions(name="slack_rtm"):
        if dist.read_text("RECORD") is not None and any(
                os.path.realpath(file.locate()) == here for file in dist.files or () if file.name == "slack_rtm.py"):
            return True
    return False


def _urllib3() -> types.ModuleType:
    return _require("Web API calls", "urllib3")


def _is_loopback(host: Optional[str]) -> bool:
    import ipaddress
    host = (host or "").strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: object, allow_http: bool = False) -> urllib.parse.SplitResult:
    """Refuse a base URL that does not parse, or that would send the token in
    clear to another host."""
    try:
        parts = urllib.parse.urlsplit(base_url if isinstance(base_url, str) else "")
        parts.port, (parts.hostname or "").encode("idna")
    except ValueError as exc:                  # a bad port or IPv6 literal; UnicodeError: a bad host
        raise InvalidArgument(f"base_url is not a valid URL ({exc})") from None
    if parts.scheme == "https" and parts.hostname:
        return parts
    if parts.scheme == "http" and parts.hostname and (allow_http or _is_loopback(parts.hostname)):
        return parts
    if parts.scheme == "http" and parts.hostname:
        raise InvalidArgument(f"refusing http:// to {parts.hostname}: the token would travel in clear "
                              "(use https://, or pass allow_http=True to insist)")
    raise InvalidArgument(f"base_url must be an https:// URL, not {base_url!r}")


class _Proxy(NamedTuple):
    """A proxy, parsed once for both halves (the Web API's pool and the
    WebSocket's tunnel): where it is, and the credentials of its URL's user
    info, which go as Proxy-Authorization (urllib3 ignores them in a URL)."""

    scheme: str
    host: str
    port: int
    credentials: Optional[str]                  # "user:password", unquoted

    @property
    def url(self) -> str:
        """The proxy's URL without its user info."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def headers(self) -> Optional[Dict[str, str]]:
        """The Proxy-Authorization header of the credentials, if any (Basic, UTF-8)."""
        if self.credentials is None:
            return None
        import base64
        return {"Proxy-Authorization": "Basic " + base64.b64encode(self.credentials.encode("utf-8")).decode("ascii")}


def _parse_proxy(proxy_url: str) -> _Proxy:
    """The proxy of ``proxy_url`` ("host:port" is http://host:port), or
    InvalidArgument, which does not quote it: it may hold a password."""
    try:
        parts = urllib.parse.urlsplit(proxy_url if "://" in proxy_url else "http://" + proxy_url)
        port = parts.port
    except ValueError:
        raise InvalidArgument("the proxy is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("the proxy must be an http:// URL or host:port")
    credentials = None
    if parts.username is not None:
        credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    return _Proxy(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), credentials)


def _proxy_for(url: str, proxy: "Union[str, Literal[False], None]" = None) -> Optional[str]:
    """The proxy URL to use for ``url``: ``proxy`` if given (False or "" for none),
    else HTTPS_PROXY / HTTP_PROXY from the environment unless NO_PROXY
    names the host.  A loopback target never goes through an environment
    proxy that is not itself on loopback: that proxy cannot reach this
    machine's loopback, and a plain-http request would cross the network in
    clear; the request goes direct."""
    import urllib.request
    if proxy is False or proxy == "":           # an empty proxy is none, for both halves, whatever the environment
        return None
    if proxy:
        return proxy
    parts = urllib.parse.urlsplit(url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    found = urllib.request.getproxies_environment().get(scheme)
    if not found or urllib.request.proxy_bypass_environment(  # type: ignore[attr-defined]  # not in typeshed
            parts.hostname or ""):
        return None
    try:
        proxy_host: Optional[str] = _parse_proxy(found).host
    except InvalidArgument:
        proxy_host = None
    if _is_loopback(parts.hostname) and not _is_loopback(proxy_host):
        return None
    return found


def _check_proxy(url: str, proxy_host: Optional[str], allow_http: bool) -> None:
    """Refuse to send plain http through a proxy off this machine (the token
    would cross the network in clear), unless ``allow_http`` insists."""
    if proxy_host is not None and url.startswith("http:") and not allow_http and not _is_loopback(proxy_host):
        raise InvalidArgument(f"refusing to send http:// through the proxy at {proxy_host}: the token would "
                              "cross the network in clear (use https://, or pass allow_http=True to insist)")


def _check_ssl_context(ssl_context: "Optional[ssl.SSLContext]") -> None:
    import ssl
    if ssl_context is not None and (ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname):
        raise InvalidArgument("the SSLContext does not verify certificates and host names; "
                              "slack_rtm always verifies (give ca_certs for a private CA)")


def make_pool(url: str = DEFAULT_BASE_URL, *, proxy: "Union[str, Literal[False], None]" = None,
              ssl_context: "Optional[ssl.SSLContext]" = None, ca_certs: Optional[str] = None, maxsize: int = 1,
              allow_http: bool = False) -> "urllib3.PoolManager":
    """A urllib3 PoolManager (or ProxyManager) for ``url``, verifying TLS,
    whose connections a request's deadline can reach (see _Deadline)."""
    urllib3 = _urllib3()
    _check_ssl_context(ssl_context)
    options = {"cert_reqs": "CERT_REQUIRED", "maxsize": maxsize, "retries": False}
    if ssl_context is not None:
        options["ssl_context"] = ssl_context
    if ca_certs is not None:
        options["ca_certs"] = ca_certs
    proxy_url = _proxy_for(url, proxy)
    if proxy_url:
        via = _parse_proxy(proxy_url)
        _check_proxy(url, via.host, allow_http)
        try:
            http = urllib3.ProxyManager(via.url, proxy_headers=via.headers, **options)
        except ValueError:                      # not quoted: the URL may hold a password
            raise InvalidArgument("the proxy is not a valid URL") from None
    else:
        http = urllib3.PoolManager(**options)
    http._slack_rtm_connections = connections = _Connections()
    http.pool_classes_by_scheme = {scheme: _watched_pool(cls, connections)
                                   for scheme, cls in http.pool_classes_by_scheme.items()}
    return http                                 # type: ignore[no-any-return]  # made by the lazily imported module


class _Connections:
    """Tells the request being made on each thread (its _Deadline) of the
    connection and the socket it uses, from a pool that make_pool made.
    Per thread, not per pool: threads sharing a pool stop only their own
    requests."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def deadline(self) -> Optional["_Deadline"]:
        """The deadline of the request this thread is making, if any."""
        return getattr(self._local, "deadline", None)

    @deadline.setter
    def deadline(self, deadline: Optional["_Deadline"]) -> None:
        self._local.deadline = deadline

    def add(self, connection: object, sock: object = None) -> None:
        """A connection taken for this thread's request, or the socket it
        just made (shut down at once if the request is stopped);
        ConnectionAbortedError for a connection taken once the request is
        stopped, before any I/O."""
        deadline = self.deadline
        if deadline is not None and deadline.attach(connection if sock is None else sock) and sock is None:
            raise ConnectionAbortedError("the request was stopped")


def _watched_pool(pool_cls: "Type[urllib3.HTTPConnectionPool]",
                  connections: _Connections) -> "Type[urllib3.HTTPConnectionPool]":
    """A subclass of a urllib3 pool class whose connections, new or kept
    alive, join the request of the thread taking them, and whose new
    sockets join it as soon as they exist, before the TLS handshake."""
    class Connection(pool_cls.ConnectionCls):   # type: ignore[name-defined, misc]  # a base known at run time
        def _new_conn(self) -> "socket.socket":
            sock = super()._new_conn()
            connections.add(self, sock)         # a stop that came while it connected shuts it down now
            return sock                         # type: ignore[no-any-return]  # urllib3's, untyped here

    class Pool(pool_cls):                       # type: ignore[valid-type, misc]  # a base known at run time
        ConnectionCls = Connection

        def _get_conn(self, timeout: Optional[float] = None) -> object:
            connection = super()._get_conn(timeout)
            connections.add(connection)         # before any I/O: a stopped request opens nothing
            return connection
    return Pool


def _check_pool(http: "urllib3.PoolManager", url: str = "https:", allow_http: bool = False) -> None:
    """Refuse a caller's pool that would not verify the certificate and the
    host name of ``url``, or that would send plain http through a remote proxy."""
    import ssl
    kw = getattr(http, "connection_pool_kw", None) or {}
    if kw.get("cert_reqs") not in (None, "CERT_REQUIRED", "REQUIRED", ssl.CERT_REQUIRED):
        raise InvalidArgument("the PoolManager given does not verify certificates; slack_rtm always verifies")
    host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".")
    for name in ("assert_hostname", "server_hostname"):     # False, "", or another name: not the URL's host
        value = kw.get(name)
        if value is not None and not (isinstance(value, str) and value.lower().rstrip(".") == host):
            raise InvalidArgument(f"the PoolManager given checks certificates against {name}={value!r}, "
                                  "not the host of the URL; slack_rtm always verifies the host name")
    _check_ssl_context(kw.get("ssl_context"))
    proxy = getattr(http, "proxy", None)
    _check_proxy(url, getattr(proxy, "host", None) if proxy is not None else None, allow_http)


#: Where foreign exceptions (socket, ssl, urllib3, websocket-client) become
#: ours, as httpx's HTTPCORE_EXC_MAP: the most specific class of an
#: exception's MRO found here wins.  None: the failure of the place,
#: TransportError (ConnectionClosed on an open WebSocket).  Only a certificate
#: that does not verify is a TLSError, also when urllib3 wraps it: a handshake
#: cut short (EOF, reset) is the network's failure, and is retried.
#: urllib3's NewConnectionError (a refused connection, a failed name lookup)
#: subclasses its ConnectTimeoutError in 1.26 and 2.x, but is no timeout.
_FOREIGN_ERRORS: Tuple[Tuple[str, Optional[Type["TransportError"]]], ...] = (
    ("builtins.OSError", None),
    ("builtins.TimeoutError", Timeout),
    ("socket.timeout", Timeout),               # 3.9's is no TimeoutError
    ("ssl.SSLError", None),
    ("ssl.SSLCertVerificationError", TLSError),
    ("urllib3.exceptions.HTTPError", None),
    ("urllib3.exceptions.TimeoutError", Timeout),
    ("urllib3.exceptions.NewConnectionError", None),
    ("websocket.WebSocketException", None),
    ("websocket.WebSocketTimeoutException", Timeout),
    ("websocket.WebSocketConnectionClosedException", ConnectionClosed),
)


def _foreign_class(exc: BaseException, otherwise: Type[TransportError]) -> Type[TransportError]:
    """Our class for ``exc``, by _FOREIGN_ERRORS (``otherwise`` for None or no match); a TLSError
    when a certificate that does not verify is what it was made of (see _wrapped)."""
    if any(_is_a(link, "ssl.SSLCertVerificationError") for link in _wrapped(exc)):
        return TLSError                         # urllib3 wraps it in its SSLError, MaxRetryError
    for cls in type(exc).__mro__:
        for name, ours in _FOREIGN_ERRORS:
            if _is_a(cls, name, exact=True):
                return ours or otherwise
    return otherwise


def _is_a(thing: object, name: str, exact: bool = False) -> bool:
    """Whether ``thing`` is (``exact``: the class ``thing`` is) the class
    ``name``, of a module already imported: one not imported raised nothing."""
    module, _, attr = name.rpartition(".")
    cls = getattr(sys.modules.get(module), attr, None)
    if not isinstance(cls, type):
        return False
    return thing is cls if exact else isinstance(thing, cls)


def _wrapped(exc: BaseException) -> List[BaseException]:
    """``exc`` and what it was made of: its ``raise ... from`` cause, and
    what urllib3 wraps without one (1.26 and 2.x alike: ``SSLError(e)``,
    ``ProxyError(message, e)``, MaxRetryError's ``reason``).  Never the
    __context__: an exception being handled where the call was made (a
    caller's except block) is no part of this failure."""
    links: List[BaseException] = []
    todo: List[object] = [exc]
    while todo and len(links) < 16:
        link = todo.pop(0)
        if not isinstance(link, BaseException) or any(link is seen for seen in links):
            continue
        links.append(link)
        todo.append(link.__cause__)
        if _is_a(link, "urllib3.exceptions.HTTPError"):
            todo += [getattr(link, "reason", None), *link.args]
    return links


def _chain(exc: Optional[BaseException]) -> List[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    links: List[BaseException] = []
    while exc is not None and exc not in links and len(links) < 16:
        links.append(exc)
        exc = exc.__cause__ or exc.__context__
    return links


def _foreign(exc: BaseException, what: str, secrets: Sequence[str] = (),
             otherwise: Type[TransportError] = TransportError) -> TransportError:
    """Our exception for the foreign ``exc`` met while doing ``what``, its
    text redacted, with ``exc`` as its cause when that can show no secret
    (raise it ``from`` the result's __cause__)."""
    error = _foreign_class(exc, otherwise)(_redact(f"{what}: {type(exc).__name__}: {exc}", secrets))
    error.__cause__ = _clean_cause(exc, secrets)
    return error


def _clean_cause(exc: BaseException, secrets: Sequence[str]) -> Optional[BaseException]:
    """``exc`` with the secrets redacted from the args of every exception of
    its chain, as a cause to keep; None when a secret would still show in
    a traceback (an exception whose text is not its args)."""
    links = _chain(exc)
    for link in links:
        link.args = tuple(_redact(arg, secrets) if isinstance(arg, str) else arg for arg in link.args)
    shown = "".join(f"{link!r} {link!s}" for link in links)
    return None if any(secret and secret in shown for secret in secrets) else exc


class _Cancel(threading.Event):
    """Stops a session's Web API calls at once, from any thread: ``set()``
    (close()) shuts down the sockets of the request in flight, so that the
    thread blocked in it wakes, and every later try, retry sleep and
    connection is refused.  A private option of _call (``cancel``): the
    session passes one in its Web API options, so every call it makes stops
    with it."""

    def __init__(self) -> None:
        super().__init__()
        # Reentrant, as the Event's own: set() (close()) may come from a
        # signal handler that interrupted this thread while it held either.
        self._cond = threading.Condition(threading.RLock())
        self._guard = threading.RLock()
        self._deadlines: List["_Deadline"] = []

    def set(self) -> None:
        with self._guard:
            super().set()
            deadlines = list(self._deadlines)
        for deadline in deadlines:
            deadline.abort()

    def join(self, deadline: "_Deadline") -> None:
        """Abort ``deadline``'s request when set (at once if it already is)."""
        with self._guard:
            self._deadlines.append(deadline)
            stopped = self.is_set()
        if stopped:
            deadline.abort()

    def leave(self, deadline: "_Deadline") -> None:
        with self._guard:
            self._deadlines.remove(deadline)

    def error(self, method: str) -> ConnectionClosed:
        """What a call stopped by close() raises: not retryable."""
        error = ConnectionClosed(f"{method}: stopped, the session was closed")
        error.retryable = False
        return error

    def check(self, method: str) -> None:
        if self.is_set():
            raise self.error(method)


class _Deadline:
    """The end of one request's ``seconds``, or its ``cancel``: then its
    sockets are shut down.

    Why not a socket timeout shrunk to the time left before each read:
    http.client reads the status line and the headers itself, a recv at a
    time, each under the socket's timeout, and returns only when they are
    all in, so a server trickling a byte a second defeats any bound set per
    read (and the TLS handshake and a proxy's CONNECT are read the same
    way).  A timer thread that shuts the socket down (shutdown(), not
    close(): the reading thread still owns the descriptor) wakes a read
    blocked in any layer, whatever urllib3's version; the request then fails
    and is reported as a Timeout.  The pools make_pool makes tell it their
    connections as they connect (and a connection starting once it is
    stopped is refused); of a caller's pool it learns the response's
    connection once the headers are in, so there the connect and the
    headers are bounded per read only, and close() stops the request only
    once its headers are in.
    """

    def __init__(self, seconds: Optional[float], connections: Optional["_Connections"] = None,
                 cancel: Optional[_Cancel] = None) -> None:
        self.seconds = seconds
        self.expired = self.cancelled = False
        self._at = None if seconds is None else time.monotonic() + seconds
        self._connections = connections
        self._cancel = cancel
        self._extra: List[object] = []          # connections and sockets of this request alone
        self._lock = threading.RLock()          # reentrant: close() may come from a signal handler
        self._timer: Optional[threading.Timer] = None
        self._previous: Optional[_Deadline] = None

    @property
    def stopped(self) -> bool:
        return self.expired or self.cancelled

    def __enter__(self) -> "_Deadline":
        if self._connections is not None:
            self._previous, self._connections.deadline = self._connections.deadline, self
        if self._cancel is not None:
            self._cancel.join(self)
        if self._at is not None:
            self._timer = threading.Timer(self.seconds, self._expire)  # type: ignore[arg-type]  # _at set: seconds too
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connections is not None and self._connections.deadline is self:
            self._connections.deadline = self._previous
        self.done()
        if self._cancel is not None:
            self._cancel.leave(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()

    def timeout(self, urllib3: types.ModuleType) -> "urllib3.Timeout":
        """urllib3's per-read timeout: the time left, also a bound on the connect."""
        if self._at is None:
            return urllib3.Timeout(connect=None, read=None)  # type: ignore[no-any-return]  # the lazy module's
        left = max(self._at - time.monotonic(), 0.001)
        return urllib3.Timeout(connect=left, read=left)  # type: ignore[no-any-return]  # the lazy module's

    def watch(self, connection: object) -> None:
        """The connection of a caller's pool, known once the headers are in."""
        self.attach(connection)

    def attach(self, connection: object) -> bool:
        """Shut ``connection`` (a urllib3 connection, or a socket) down when
        this request stops, or now if it is stopped (then True).  Checked
        and added under the lock that the stop takes: no connection or
        socket made meanwhile escapes it (no check-then-connect race)."""
        with self._lock:
            stopped = self.stopped
            if not stopped:
                self._extra.append(connection)
        if stopped:
            _shutdown(connection)
        return stopped

    def done(self) -> None:
        """The request is over (its connection may go to another request):
        a later stop shuts nothing down."""
        with self._lock:
            self._extra = []

    def _expire(self) -> None:
        self._stop("expired")

    def abort(self) -> None:
        """close(): stop the request now (from any thread)."""
        self._stop("cancelled")

    def _stop(self, why: str) -> None:
        with self._lock:
            setattr(self, why, True)
            connections = list(self._extra)
        for connection in connections:
            _shutdown(connection)

    def failure(self, method: str, exc: Optional[BaseException], secrets: Sequence[str]) -> TransportError:
        """Our error for a request that failed with ``exc`` (None: an answer
        that looked whole, or broken, only because the deadline cut it)."""
        if self.cancelled:
            return self._cancel.error(method)   # type: ignore[union-attr]  # cancelled: there is a _Cancel
        if self.expired or exc is None:
            return Timeout(f"{method}: no complete answer within {self.seconds:g} s (the timeout bounds "
                           "the whole request)")
        return _foreign(exc, method, secrets)


def _shutdown(connection: object) -> None:
    """Shut down a socket, or a urllib3 connection's socket, waking every
    thread waiting on it, from any thread.  The plain socket call: ssl's
    own would also drop its TLS state."""
    import socket
    sock = connection if isinstance(connection, socket.socket) else getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:                         # closed meanwhile, or detached by the TLS wrapping
            pass


class _Inflater:
    """Undoes a gzip or deflate Content-Encoding a step at a time, so that
    a bomb is stopped at the size bound instead of inflated whole."""

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding != "deflate"
        self.zlib: "Optional[zlib._Decompress]" = None
        self._head = b""

    def feed(self, data: bytes, room: int) -> List[bytes]:
        """The decoded pieces of ``data``, stopping once past ``room`` bytes."""
        import zlib
        data, self._head = self._head + data, b""
        pieces, made = [], 0
        while data and made <= room:
            if self.zlib is None or (self.zlib.eof and self.gzip):      # the start, or a next gzip member
                if len(data) < 2:
                    self._head = data
                    break
                self.zlib = zlib.decompressobj(self._wbits(data))
            piece = self.zlib.decompress(data, min(room - made + 1, _INFLATE_BYTES))
            pieces.append(piece)
            made += len(piece)
            data = self.zlib.unconsumed_tail or (self.zlib.unused_data if self.zlib.eof and self.gzip else b"")
        return pieces

    def _wbits(self, data: bytes) -> int:
        import zlib
        if self.gzip:
            return 16 + zlib.MAX_WBITS
        # RFC 9110's deflate is a zlib stream, but servers have long sent raw
        # deflate too: a zlib header (RFC 1950: method 8, a multiple of 31) tells.
        zlib_header = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS

    def complete(self) -> bool:
        return self.zlib is not None and self.zlib.eof and not self._head


class _Body:
    """An answer's body as it is read: the size bounded and the
    Content-Encoding undone as the bytes come, never after."""

    chunks: List[bytes]

    def __init__(self, method: str, response: "urllib3.BaseHTTPResponse", limit: int, secrets: Sequence[str]) -> None:
        self.method, self.status, self.limit, self.secrets = method, response.status, limit, secrets
        self.content_type = response.headers.get("Content-Type")
        self.chunks, self.size, self.raw = [], 0, 0
        encodings = [e.strip().lower() for e in (response.headers.get("Content-Encoding") or "").split(",")]
        encodings = [e for e in encodings if e not in ("", "identity")]
        if len(encodings) > 1 or (encodings and encodings[0] not in ("gzip", "x-gzip", "deflate")):
            raise self.error(f"Content-Encoding {', '.join(encodings)!r} is not supported (slack_rtm asks "
                             "for none and undoes one gzip or deflate)")
        self.inflater = _Inflater(encodings[0]) if encodings else None
        if (getattr(response, "length_remaining", None) or 0) > limit:
            raise self.too_large("its Content-Length is")

    def feed(self, data: bytes) -> None:
        self.raw += len(data)
        if self.inflater is None:
            pieces = [data]
        else:
            import zlib
            try:
                pieces = self.inflater.feed(data, self.limit - self.size)
            except zlib.error as exc:
                raise self.error(f"the {'gzip' if self.inflater.gzip else 'deflate'} encoding is broken ({exc})")
        self.chunks += pieces
        self.size += sum(map(len, pieces))
        if self.size > self.limit or self.raw > self.limit:
            raise self.too_large("it is")

    def finish(self) -> bytes:
        if self.inflater is not None and self.raw and not self.inflater.complete():
            raise TruncatedResponse(self.method, self.status, self.content_type, None,
                                    "the compressed body ended early")
        return b"".join(self.chunks)

    def error(self, why: str, cls: Type[InvalidResponse] = InvalidResponse) -> InvalidResponse:
        return cls(self.method, self.status, self.content_type, b"".join(self.chunks[:1]), why, self.secrets)

    def too_large(self, what: str) -> InvalidResponse:
        return self.error(f"{what} larger than max_response_size ({self.limit:,} bytes)", ResponseTooLarge)


def _read_body(method: str, response: "urllib3.BaseHTTPResponse", limit: int, secrets: Sequence[str]) -> bytes:
    """The body of ``response``, read raw a piece at a time and decoded
    here: urllib3's own decoder would inflate a bomb whole."""
    body = _Body(method, response, limit, secrets)
    while True:
        data = response.read(_READ_BYTES, decode_content=False)
        if not data:
            break
        body.feed(data)
    if getattr(response, "length_remaining", None):     # urllib3 1.26 does not check it on sized reads
        raise TruncatedResponse(method, response.status, response.headers.get("Content-Type"), None,
                                "the body ended early (before its Content-Length)")
    return body.finish()


def _post(http: "urllib3.PoolManager", method: str, url: str, headers: Mapping[str, str], body: bytes,
          timeout: Optional[float], max_size: int = MAX_RESPONSE_SIZE,
          secrets: Sequence[str] = (), cancel: Optional[_Cancel] = None) -> Tuple[int, Mapping[str, str], bytes]:
    """(status, headers, body) of one POST, within ``timeout`` seconds in all
    and ``max_size`` bytes of body, stopped by ``cancel``, with the foreign
    errors mapped."""
    urllib3 = _urllib3()
    if cancel is not None:                      # before each try: a closed session sends nothing more
        cancel.check(method)
    log.debug("POST %s: %d bytes of %s", url, len(body), headers.get("Content-Type"))
    with _Deadline(timeout, getattr(http, "_slack_rtm_connections", None), cancel) as deadline:
        try:
            response = http.request("POST", url, body=body, headers=headers, redirect=False, retries=False,
                                    timeout=deadline.timeout(urllib3), preload_content=False,
                                    decode_content=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            _raise(deadline.failure(method, exc, secrets))
        deadline.watch(response.connection)
        try:
            data = _read_body(method, response, max_size, secrets)
        except urllib3.exceptions.ProtocolError as exc:
            if deadline.stopped:
                _raise(deadline.failure(method, exc, secrets))
            raise TruncatedResponse(method, response.status, response.headers.get("Content-Type"), b"",
                                    _redact(f"the body ended early ({exc})", secrets)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            _raise(deadline.failure(method, exc, secrets))
        except SlackError:
            if deadline.stopped:                # an answer cut by the deadline looks broken
                _raise(deadline.failure(method, None, secrets))
            raise
        finally:
            deadline.done()                     # the connection goes back to the pool: no stop may reach it
            if not response.isclosed():         # type: ignore[attr-defined]  # an HTTPResponse, typed as its base
                response.close()
            response.release_conn()
        if deadline.stopped:                    # a shutdown socket can look like a clean end
            _raise(deadline.failure(method, None, secrets))
    log.debug("%s: HTTP %d, %d bytes", method, response.status, len(data))
    return response.status, response.headers, data


def _raise(error: SlackError) -> NoReturn:
    """Raise ``error`` from the cause _foreign kept (None: the foreign
    exception being handled, which may hold a secret, is not shown)."""
    raise error from error.__cause__


def _secrets(token: str, cookie: Optional[str]) -> Tuple[str, ...]:
    """What must never show in a message: the token, and the cookie as given and as sent."""
    found = [token] if isinstance(token, str) else []
    if isinstance(cookie, str) and cookie:
        found += [cookie, cookie[2:] if cookie.startswith("d=") else cookie, _cookie_value(cookie)]
    return tuple(sorted(set(found), key=len, reverse=True))


def _check_bounds(timeout: object, max_response_size: object) -> None:
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise InvalidArgument(f"timeout must be a positive number of seconds or None, not {timeout!r}")
    if not (isinstance(max_response_size, int) and max_response_size > 0):
        raise InvalidArgument(f"max_response_size must be a positive int, not {max_response_size!r}")


def _call(method: str, token: str, args: Mapping[str, Any], *, base_url: str, timeout: Optional[float],
          http: "Optional[urllib3.PoolManager]", retry: Union[Retry, bool], proxy: "Union[str, Literal[False], None]",
          ssl_context: "Optional[ssl.SSLContext]", ca_certs: Optional[str], allow_http: bool, as_json: bool = False,
          cookie: Optional[str] = None, max_response_size: int = MAX_RESPONSE_SIZE,
          user_agent: Optional[str] = None, cancel: Optional[_Cancel] = None,
          measure: Optional[Callable[[int], object]] = None) -> SlackResponse:
    """The answer of a call (a SlackResponse), retried as ``retry`` says;
    ``cancel`` (a session's) stops it, the request in flight and the retry
    sleeps too, when set; ``measure`` is told the size of each body read."""
    _check_base_url(base_url, allow_http)
    _check_bounds(timeout, max_response_size)
    url, headers, body = build_request(method, token, args, base_url=base_url, as_json=as_json, cookie=cookie,
                                       user_agent=user_agent)
    secrets = _secrets(token, cookie)
    own_pool = http is None
    if own_pool:
        http = make_pool(url, proxy=proxy, ssl_context=ssl_context, ca_certs=ca_certs, allow_http=allow_http)
    else:
        _check_pool(http, url, allow_http)      # type: ignore[arg-type]  # not own_pool: http is not None
    policy = _cancelled_by(Retry() if retry is True else retry, cancel, method)
    # The pool's own headers go too (urllib3 drops them when a request has
    # headers); its User-Agent, as it is, unless user_agent was given.
    pool_headers = dict(getattr(http, "headers", None) or {})
    if user_agent is None and any(k.lower() == "user-agent" for k in pool_headers):
        del headers["User-Agent"]
    else:
        pool_headers = {k: v for k, v in pool_headers.items() if k.lower() != "user-agent"}
    headers = dict(pool_headers, **headers)

    def once() -> SlackResponse:
        status, answer_headers, data = _post(http,  # type: ignore[arg-type]  # not None: made or checked above
                                             method, url, headers, body, timeout, max_response_size, secrets,
                                             cancel)
        if measure is not None:
            measure(len(data))
        answer = decode_response(method, status, answer_headers, data, secrets=secrets)
        why = _start_oddity(answer) if method in _RTM_METHODS else None
        if why:
            raise InvalidResponse(method, status, answer_headers.get("Content-Type"), None, why)
        return answer

    try:
        return policy.call(once) if policy else once()
    finally:
        if own_pool:
            http.clear()                        # type: ignore[union-attr]  # own_pool: make_pool made it


def _cancelled_by(policy: Union[Retry, "Literal[False]"], cancel: Optional[_Cancel],
                  method: str) -> Union[Retry, "Literal[False]"]:
    """``policy`` with its sleeps cut short by ``cancel`` (the default
    sleep), or refused once it is set (an injected one)."""
    if not policy or cancel is None:
        return policy
    if policy.sleep is time.sleep:
        return dataclasses.replace(policy, sleep=cancel.wait)
    injected = policy.sleep

    def sleep(seconds: float) -> None:
        cancel.check(method)
        injected(seconds)
    return dataclasses.replace(policy, sleep=sleep)


def api_call(method: str, token: str, *, base_url: str = DEFAULT_BASE_URL, timeout: Optional[float] = DEFAULT_TIMEOUT,
             http: "Optional[urllib3.PoolManager]" = None, retry: Union[Retry, bool] = True,
             proxy: "Union[str, Literal[False], None]" = None, ssl_context: "Optional[ssl.SSLContext]" = None,
             ca_certs: Optional[str] = None, allow_http: bool = False, as_json: bool = False,
             cookie: Optional[str] = None, max_response_size: int = MAX_RESPONSE_SIZE,
             user_agent: Optional[str] = None, args: Optional[Mapping[str, Any]] = None,
             **kwargs: Any) -> SlackResponse:
    """Call a Web API method and return its answer as a SlackResponse (a dict
    with ``.warnings``).

    Arguments go form-encoded (``as_json=True`` for a JSON body); ``None``
    leaves one out.  Give them as keywords, or in ``args`` (a mapping), which
    sends every name it holds as it is.  A keyword that looks like a
    misspelt option (``timout=``, ``proxi=``, or slack_sdk's ``ssl=``,
    ``retries=``, ``headers=``) raises InvalidArgument before any I/O,
    naming the option meant; every other keyword goes to Slack.  So a
    Slack argument named like an option (``timeout``, ``retry``...) or
    close to one goes in ``args``.  ``http`` takes your urllib3 PoolManager
    or ProxyManager; otherwise one is made for the call, honouring ``proxy`` or HTTPS_PROXY /
    NO_PROXY (credentials in the proxy URL go as Proxy-Authorization).  TLS
    is always verified (``ca_certs`` or ``ssl_context`` for a private CA).
    Redirects are not followed.  ``cookie`` is the ``d`` cookie a browser
    session token (``xoxc-``) needs, sent as ``Cookie: d=...`` and as secret
    as the token.  ``user_agent`` replaces default_user_agent() (which names
    slack_rtm, Python, urllib3 and websocket-client with their versions); a
    pool given as ``http`` with a User-Agent of its own keeps it.

    Bounds: ``timeout`` (30 s) bounds each try whole, connect, headers and
    body (with your own ``http`` pool, the connect and the headers are bounded
    per read only); ``max_response_size`` (256 MiB) bounds the body, after a
    gzip or deflate Content-Encoding is undone, while it is read
    (ResponseTooLarge).  ``retry`` is a Retry, True for the default policy
    or False: the default retries what is retryable (rate limits, transient
    errors, a refused connection or a failed name lookup) until 120 s
    (``Retry.deadline``) have passed since the first try, so a call to an
    unreachable server raises after about two minutes, and never takes much
    more than ``deadline + timeout``; ``retry=False`` raises at once.  Raises
    only SlackError subclasses (and ImportError without urllib3).
    """
    _refuse_misspelt(method, kwargs, _keywords_of(api_call))
    args = dict(args or {}, **kwargs)
    return _call(method, token, args, base_url=base_url, timeout=timeout, http=http, retry=retry, proxy=proxy,
                 ssl_context=ssl_context, ca_certs=ca_certs, allow_http=allow_http, as_json=as_json, cookie=cookie,
                 max_response_size=max_response_size, user_agent=user_agent)


# Pagination (https://api.slack.com/apis/pagination): pass ``limit`` and
# ``cursor``; the answer's response_metadata.next_cursor is the next page's
# cursor, and an empty string (or none) means the end.  Each page is one
# api_call, so each has the retry policy, and a 429's Retry-After, of a call.

def _next_cursor(page: Mapping[str, Any]) -> Optional[str]:
    meta = page.get("response_metadata")
    cursor = meta.get("next_cursor") if type(meta) is dict else None
    return cursor if type(cursor) is str and cursor else None


class _Cursor:
    """Where the next page of a list starts: ``value`` (None for the first
    page), stepped past each page by ``advance``, the one cursor loop of
    api_pages and the team load."""

    __slots__ = ("method", "value", "pages", "_seen")

    def __init__(self, method: str, cursor: Optional[str] = None) -> None:
        self.method, self.value, self.pages = method, cursor, 0
        self._seen = {cursor} if cursor else set()

    def advance(self, page: Mapping[str, Any], secrets: Sequence[str]) -> bool:
        """Step past ``page``: True when another page follows.  A cursor the
        server sends a second time raises PaginationError (its text
        redacted: the server may echo a secret) rather than loop."""
        self.pages += 1
        cursor = self.value = _next_cursor(page)
        if cursor is None:
            return False
        if cursor in self._seen:
            raise PaginationError(f"{self.method}: the server sent the cursor {_redact(repr(cursor), secrets)} a "
                                  f"second time, after {self.pages} pages; stopping rather than fetching them again")
        self._seen.add(cursor)
        return True


def api_pages(method: str, token: str, *, limit: Optional[int] = None, cursor: Optional[str] = None,
              args: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Iterator[SlackResponse]:
    """Every page (a SlackResponse) of a cursor-paginated method, in order.

    ``limit`` is the page size asked for (Slack may send fewer), ``cursor``
    where to start; the other arguments are api_call's, Slack's arguments
    and options alike, and go to every page's call (a keyword that looks
    like a misspelt option raises InvalidArgument at the first page, before
    any request, as api_call says).  A page is fetched
    once: a retried call asks the same cursor, and a cursor the server sends
    a second time raises PaginationError rather than loop.  Pages are
    fetched as they are read, over one connection pool (``http`` if given).
    """
    _refuse_misspelt(method, kwargs, _keywords_of(api_call, api_pages))
    steps = _Cursor(method, cursor)
    own_pool = kwargs.get("http") is None
    if own_pool:                                # one pool for all pages, made as api_call makes its own
        kwargs["http"] = make_pool(_join_url(kwargs.get("base_url", DEFAULT_BASE_URL), method),
                                   **{k: kwargs.get(k)  # type: ignore[arg-type]  # three Optional options only
                                      for k in ("proxy", "ssl_context", "ca_certs")})
    try:
        while True:
            page = api_call(method, token, args=dict(args or {}, limit=limit, cursor=steps.value), **kwargs)
            yield page
            if not steps.advance(page, _secrets(token, kwargs.get("cookie"))):
                return
    finally:
        if own_pool:
            kwargs["http"].clear()


def api_items(method: str, token: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of the list ``key`` of every page of ``method`` (users.list's
    "members", conversations.list's "channels"), as api_pages fetches them.
    A page without that list raises PaginationError."""
    secrets = _secrets(token, kwargs.get("cookie"))
    for page in api_pages(method, token, **kwargs):
        yield from _page_items(method, page, key, secrets)


def _page_items(method: str, page: Mapping[str, Any], key: str, secrets: Sequence[str] = ()) -> List[Any]:
    items = page.get(key)
    if type(items) is not list:                 # the keys are the server's: redacted
        raise PaginationError(f"{method}: a page has no list {key!r} (keys: "
                              f"{_redact(str(sorted(page)[:10]), secrets)})")
    return items


_WEB_OPTIONS = ("base_url", "timeout", "http", "retry", "proxy", "ssl_context", "ca_certs", "allow_http", "cookie",
                "max_response_size", "user_agent")


# The team load: TeamState (above) is the pure state; what fills it from the
# Web API lives here.  A load is a _TeamLoader, one page a step(), so that a
# session loads between events, never holds them, and stops when closed;
# load_team runs one to its end.

class _Lookups:
    """A TeamState's lazy lookups (users.info, conversations.info): one try
    each, made while an event waits, so never a sleep: while the method is
    rate limited (its Retry-After) or the id failed in the last
    LOOKUP_FAILURE_SECONDS, no call is made and the answer is None.  Each
    call is ``_call`` with ``web`` as it is then, ``overrides`` on top.  The
    token stays out of the repr."""

    def __init__(self, token: str, web: _Json, clock: _Clock, overrides: Optional[_Json] = None) -> None:
        _check_token(token)
        self._token, self._web, self._clock = token, web, clock
        self._overrides = dict(overrides or {}, retry=False)
        self._failed: Dict[str, float] = {}        # id -> when it may be asked again
        self._paused: Dict[str, float] = {}        # method -> when its rate limit ends

    def __repr__(self) -> str:
        return "_Lookups(token hidden)"

    def __call__(self, method: str, key: str, args: _Json) -> Optional[_Json]:
        now = self._clock()
        if now < self._paused.get(method, now) or now < self._failed.get(key, now):
            return None
        try:
            answer: _Json = _call(method, self._token, args, **dict(self._web, **self._overrides))
            return answer
        except RateLimited as error:
            wait = error.retry_after if error.retry_after is not None else LOOKUP_RATE_LIMIT_SECONDS
            self._paused[method] = now + wait
            log.info("%s: rate limited; lazy lookups pause for %.0f s", method, wait)
        except SlackError as error:              # unknown id, no scope, network: not again soon
            self._failed[key] = now + LOOKUP_FAILURE_SECONDS
            shown = _redact(repr(key), _secrets(self._token, self._web.get("cookie")))   # an event's id: it may echo one
            log.info("%s %s failed: %s", method, shown, error)
        return None


def _team_lists(parts: FrozenSet[str], limit: Optional[int], args: _Json) -> List[Tuple[str, str, int, _Json]]:
    """(method, list key, page size, arguments) of each list a load of
    ``parts`` pages through: users.list, then one conversations.list for
    every type of conversation wanted (archived ones included)."""
    types = ",".join(_CONVERSATION_TYPES[p] for p in sorted(parts) if p in _CONVERSATION_TYPES)
    lists = [("users.list", "members", limit or USERS_LIST_LIMIT, dict(args))] if "users" in parts else []
    if types:
        lists.append(("conversations.list", "channels", limit or CONVERSATIONS_LIST_LIMIT, dict(args, types=types)))
    return lists


#: The load's ``incomplete`` once its session was closed.
_CLOSED_LOAD = "stopped: the session was closed"


class _TeamLoader:
    """Fills a TeamState from users.list and conversations.list, one page a
    step(), so that a session loads between events and can stop at once.

    ``due(now)`` is when the next page may be fetched (None: the load is
    over); ``step()`` fetches it with one _call (``web`` as it is then, with
    ``overrides`` on top, retry off and at most TEAM_PAGE_BYTES a page) and
    adds its items, so names resolve as pages come.
    A retryable failure is never slept on: ``policy`` schedules the next try
    (a 429's Retry-After), for up to its ``deadline`` of failures in a row.
    The load stops, the state's ``incomplete`` saying why, at a bound
    (``bounds``: pages, items, seconds, bytes of answers; a WARNING), when
    ``closing`` is set, or at an error not retried (which step() raises);
    close() stops it from any thread.  With ``replace`` (a refresh) the pages fill ``fresh``,
    which takes the place of those parts at the end; events go to both
    meanwhile (the keeper applies them).  A load that gets all its lists
    leaves the state's ``incomplete`` at ``unfinished`` (None: complete;
    a refresh of some parts cannot complete what another load left out).
    ``done`` holds the parts whose lists were loaded whole so far."""

    def __init__(self, state: TeamState, token: str, web: _Json, parts: FrozenSet[str], *,
                 limit: Optional[int] = None, args: Optional[_Json] = None, replace: bool = False,
                 policy: Optional[Retry] = None,
                 bounds: Tuple[int, int, float, int] = (TEAM_MAX_PAGES, TEAM_MAX_ITEMS, TEAM_MAX_SECONDS,
                                                        TEAM_MAX_BYTES),
                 clock: _Clock = time.monotonic, closing: Optional[threading.Event] = None,
                 overrides: Optional[_Json] = None, unfinished: Optional[str] = None) -> None:
        _check_token(token)
        self.state, self.parts, self._token, self._policy = state, parts, token, policy
        self._web, self._overrides = web, dict(overrides or {}, retry=False)
        self._pool: "Optional[urllib3.PoolManager]" = None
        self._bounds, self._clock, self._closing = bounds, clock, closing
        self._lists = _team_lists(parts, limit, args or {})
        self.fresh = TeamState(team=state.team, self_=state.self_, presence=state.presence) if replace else None
        self._cursor = _Cursor(self._lists[0][0] if self._lists else "")
        self.pages = self.items = self.bytes = self._failures = 0
        self._failing_since: Optional[float] = None
        self._started = self._next = clock()
        self._unfinished, self.over = unfinished, not self._lists
        self.done: Set[str] = set()
        if self._lists:
            state.incomplete = "loading"

    def due(self, now: float) -> Optional[float]:
        """When the next page may be fetched (the clock's time), or None."""
        return self._next if self._lists else None

    def step(self) -> None:
        """Fetch the next page and add its items; or stop, at a bound or
        when closing.  Raises the SlackError that ended the load, if one did."""
        lists = self._lists                      # close() puts an empty list in its place, from any thread
        if not lists:
            return
        try:
            self._page(lists)
        finally:
            if self.over:                        # closed meanwhile: close() may have left the pool to the step
                self._release()

    def _page(self, lists: List[Tuple[str, str, int, _Json]]) -> None:
        now = self._clock()
        why = self._bound(now)
        if why is not None:
            return self._stop(why, logging.DEBUG if why == _CLOSED_LOAD else logging.WARNING)
        method, key, limit, args = lists[0]
        try:
            page = _call(method, self._token, dict(args, limit=limit, cursor=self._cursor.value), **self._options())
            items = _page_items(method, page, key, self._secrets())
        except SlackError as error:
            if self._closing is not None and self._closing.is_set():      # close() aborted the page
                return self._stop(_CLOSED_LOAD, logging.DEBUG)
            if not self._retry(method, error, now):
                self._stop(f"{method} failed: {error}", logging.DEBUG)
                raise
            return
        self._add(key, items, now)
        self._advance(lists, method, page)

    def _add(self, key: str, items: List[Any], now: float) -> None:
        self.pages, self.items, self._failures, self._failing_since = self.pages + 1, self.items + len(items), 0, None
        target = self.fresh if self.fresh is not None else self.state
        with _GcPaused():                        # why: see _GcPaused; a page of a large team is many dicts
            (target.add_users if key == "members" else target.add_conversations)(items)
        self._next = now                         # the next page is due at once

    def run(self, sleep: Callable[[float], object]) -> TeamState:
        """Every step, sleeping until each is due; returns the state."""
        with _GcPaused():                        # one collection after the load, not one per page
            while True:
                due = self.due(self._clock())
                if due is None:
                    return self.state
                if due > self._clock():
                    sleep(due - self._clock())
                self.step()

    def _bound(self, now: float) -> Optional[str]:
        max_pages, max_items, max_seconds, max_bytes = self._bounds
        if self._closing is not None and self._closing.is_set():
            return _CLOSED_LOAD
        if self.pages >= max_pages:
            return f"stopped after {self.pages} pages (max_pages)"
        if self.items >= max_items:
            return f"stopped after {self.items} users and conversations (max_items)"
        if self.bytes >= max_bytes:
            return f"stopped after {self.bytes:,} bytes of answers (max_bytes)"
        if now - self._started >= max_seconds:
            return f"stopped after {now - self._started:.0f} s (max_seconds)"
        return None

    def _retry(self, method: str, error: SlackError, now: float) -> bool:
        """Schedule the page again if the policy says so, within the bounds."""
        policy = self._policy
        wait = policy.delay(self._failures, error) if policy is not None else None
        if self._failing_since is None:
            self._failing_since = now
        if policy is None or wait is None or now + wait - self._failing_since > policy.deadline:
            return False
        self._failures += 1
        self._next = now + wait
        if now + wait - self._started >= self._bounds[2]:
            self._stop(f"stopped: {method} failed ({error}) and the next try is past max_seconds", logging.WARNING)
        else:
            log.info("%s: %s; the team load goes on in %.1f s", method, error, wait)
        return True

    def _advance(self, lists: List[Tuple[str, str, int, _Json]], method: str, page: _Json) -> None:
        try:
            more = self._cursor.advance(page, self._secrets())
        except PaginationError as error:
            self._stop(f"{method} failed: {error}", logging.DEBUG)
            raise
        if not more:                             # this list is whole: the next one, or the end
            lists.pop(0)
            self.done |= {"users"} if method == "users.list" else self.parts - {"users"}
            self._cursor = _Cursor(lists[0][0] if lists else "")
            if not lists:
                self._stop(None, logging.DEBUG)

    def _secrets(self) -> Tuple[str, ...]:
        return _secrets(self._token, self._web.get("cookie"))

    def _measure(self, size: int) -> None:
        self.bytes += size                       # every answer read, a failed try's too

    def _options(self) -> _Json:
        """_call's options for a page."""
        options = dict(self._web, **self._overrides)
        options["max_response_size"] = min(options.get("max_response_size", TEAM_PAGE_BYTES), TEAM_PAGE_BYTES)
        options["measure"] = self._measure
        if options["http"] is None:              # one pool for all pages, made as api_pages makes its own
            if self._pool is None:
                self._pool = make_pool(_join_url(options["base_url"], "users.list"),
                                       **{k: options[k] for k in ("proxy", "ssl_context", "ca_certs")})
            options["http"] = self._pool
        return options

    def _stop(self, why: Optional[str], level: int) -> None:
        """The load is over: ``why`` None when it got everything."""
        if not self.over:
            self.over, self._lists = True, []
            if self.fresh is not None and why is None:
                self.state.replace(self.fresh, team=self.parts)
            elif self.fresh is not None:         # what did come is newer than what is held; nothing goes
                self.state.add_users(self.fresh.users)
                self.state.add_conversations(self.fresh.conversations)
            self.state.incomplete = why if why is not None else self._unfinished
            if why is not None:
                log.log(level, "the team load %s; the team state is incomplete", why)
        self._release()

    def close(self, why: str = _CLOSED_LOAD, release: bool = True) -> None:
        """Stop now, ``why`` the state's ``incomplete``: the session was
        closed, or a reconnect loads the parts again.  From any thread, or a
        signal handler: no lock is taken; the pool is cleared if
        ``release`` (no step runs: else the step clears it as it ends; a
        page in flight is aborted by the session's ``closing``).  The pages
        in ``fresh`` go (the state keeps what it held)."""
        if not self.over:
            self.over, self._lists = True, []     # a new list: a step running keeps its own
            self.state.incomplete = why
        if release:
            self._release()

    def _release(self) -> None:
        pool, self._pool = self._pool, None      # the pool's sockets go now, not when it is collected
        if pool is not None:
            pool.clear()


def load_team(token: str, *, start: Optional[RtmStart] = None, team: Union[str, Iterable[str], None] = "all",
              limit: Optional[int] = None, presence: bool = False, state: Optional[TeamState] = None,
              max_pages: int = TEAM_MAX_PAGES, max_items: int = TEAM_MAX_ITEMS,
              max_seconds: float = TEAM_MAX_SECONDS, max_bytes: int = TEAM_MAX_BYTES,
              clock: _Clock = time.monotonic, args: Optional[Mapping[str, Any]] = None,
              **web_options: Any) -> TeamState:
    """A TeamState from the Web API, its lazy lookups (fetch_user,
    fetch_conversation) asking with this token and these options.

    Team and self come from ``start`` (an RtmStart, as rtm_connect returns)
    if given.  ``team`` says what to load: "all", None or "none" (nothing:
    lazy lookups only), or a subset of TEAM_PARTS ("users", "channels",
    "groups", "mpims", "ims").  Conversations come from one
    conversations.list (the types wanted, archived ones included) and users
    from users.list, USERS_LIST_LIMIT and CONVERSATIONS_LIST_LIMIT a page
    (``limit`` overrides both).  ``web_options`` are api_call's (base_url,
    timeout, retry, proxy...); ``retry`` is applied to each page (a 429
    waits its Retry-After).  Any other keyword, and what ``args`` holds (a
    mapping: the way to send an argument named like an option), is one of
    Slack's arguments, sent with every page (``team_id`` on a Grid), as
    api_call sends them; a keyword close to an option raises
    InvalidArgument before any request.  With ``state``, that state is loaded again and
    the parts loaded take the place of its own: after a reconnect, what was
    deleted goes and what changed is current (until it returns, the old
    state serves).

    Bounds: ``max_pages`` (2,000, all lists together), ``max_items``
    (1,000,000 users and conversations), ``max_seconds`` (3,600, on
    ``clock``), ``max_bytes`` (1 GiB of answers, checked after each page);
    at the first one hit the load stops with a logged WARNING
    and the state's ``incomplete`` says which.  An error the retry policy
    gives up on is raised.

    Cost for a team of 20,000 users and 10,000 conversations: users.list
    100 pages, conversations.list 11, all Tier 2 (about 20 calls a
    minute, so about 3 s a call once the first minute's burst is spent):
    111 calls, about 5.5 minutes, nearly all of it users.list.  users.info
    (Tier 4, 100+ a minute) and conversations.info (Tier 3, 50+ a minute)
    make team=None plus lazy lookups the choice for a team that large.
    """
    parts = _team_parts(team)
    web: _Json = dict(base_url=DEFAULT_BASE_URL, timeout=DEFAULT_TIMEOUT, http=None, retry=True, proxy=None,
                      ssl_context=None, ca_certs=None, allow_http=False)
    slack_args = {k: v for k, v in web_options.items() if k not in web and k not in _CALL_OPTIONS}
    _refuse_misspelt("load_team", slack_args, _keywords_of(load_team, api_call))
    web.update((k, v) for k, v in web_options.items() if k not in slack_args)
    slack_args = dict(args or {}, **slack_args)
    policy = Retry() if web["retry"] is True else web["retry"] or None
    replace = state is not None
    if state is None:
        state = TeamState.from_start(start, presence=presence) if start is not None else TeamState(presence=presence)
    state.lookup = _Lookups(token, web, clock)
    loader = _TeamLoader(state, token, web, parts, limit=limit, args=slack_args, replace=replace, policy=policy,
                         bounds=(max_pages, max_items, max_seconds, max_bytes), clock=clock)
    return loader.run(policy.sleep if policy else time.sleep)


#: _call's options that load_team has no default for; any other keyword is
#: one of Slack's arguments, sent with every page (as api_pages does).
_CALL_OPTIONS = ("as_json", "cookie", "max_response_size", "user_agent")


def _web_options(options: Mapping[str, Any]) -> Dict[str, Any]:
    return {name: options[name] for name in _WEB_OPTIONS}


def rtm_start(token: str, *, simple_latest: Optional[bool] = None, no_unreads: Optional[bool] = None,
              mpim_aware: Optional[bool] = None, presence_sub: Optional[bool] = None,
              batch_presence_aware: Optional[bool] = None, no_latest: Optional[bool] = None,
              include_locale: Optional[bool] = None, base_url: str = DEFAULT_BASE_URL,
              timeout: Optional[float] = DEFAULT_TIMEOUT, http: "Optional[urllib3.PoolManager]" = None,
              retry: Union[Retry, bool] = True, proxy: "Union[str, Literal[False], None]" = None,
              ssl_context: "Optional[ssl.SSLContext]" = None, ca_certs: Optional[str] = None,
              allow_http: bool = False, cookie: Optional[str] = None,
              max_response_size: int = MAX_RESPONSE_SIZE, user_agent: Optional[str] = None) -> RtmStart:
    """Call rtm.start and return the answer as an RtmStart.

    The arguments are Slack's; None (the default) leaves one out, so Slack's
    own default applies.  Apps made after 2021-11-30 get RtmConnectRequired;
    since 2022-09-27 every answer has the short rtm.connect shape (url, self,
    team), which is a valid RtmStart with empty lists.  The other options
    are api_call's.
    """
    args = dict(simple_latest=simple_latest, no_unreads=no_unreads, mpim_aware=mpim_aware,
                presence_sub=presence_sub, batch_presence_aware=batch_presence_aware, no_latest=no_latest,
                include_locale=include_locale)
    return RtmStart._from_response(_call("rtm.start", token, args, **_web_options(locals())))


def rtm_connect(token: str, *, presence_sub: Optional[bool] = None, batch_presence_aware: Optional[bool] = None,
                base_url: str = DEFAULT_BASE_URL, timeout: Optional[float] = DEFAULT_TIMEOUT,
                http: "Optional[urllib3.PoolManager]" = None, retry: Union[Retry, bool] = True,
                proxy: "Union[str, Literal[False], None]" = None, ssl_context: "Optional[ssl.SSLContext]" = None,
                ca_certs: Optional[str] = None, allow_http: bool = False, cookie: Optional[str] = None,
                max_response_size: int = MAX_RESPONSE_SIZE, user_agent: Optional[str] = None) -> RtmStart:
    """Call rtm.connect (url, self and team only) and return an RtmStart."""
    args = dict(presence_sub=presence_sub, batch_presence_aware=batch_presence_aware)
    return RtmStart._from_response(_call("rtm.connect", token, args, **_web_options(locals())))


###############################################################################
# Pure core: the RTM protocol #################################################
###############################################################################
#
# Everything the session decides lives here, and nothing here does I/O,
# takes a lock or sleeps (h11's rule): when a keepalive ping is due, when a
# connection is dead, which reply acknowledges which message, when messages
# left in doubt by a lost connection are reported, when and after how long
# to connect again.  The Session feeds it the frames that came and the time,
# and does what it answers; it calls it under its lock.
#
#   CONNECTING --opened()--> OPEN --receive(goodbye)--> DRAINING
#       ^                     |  \--tick(): dead, or lost()--> LOST
#       +----connecting()-----+---------------------------------+
#   any --ended()--> ENDED (no more connections)    any --closed()--> CLOSED
#
# A life-cycle call not drawn here (and receive() or message() with no
# connection open) raises LocalProtocolError; once CLOSED, every one of
# them does nothing, as close() may come from another thread at any time.

if TYPE_CHECKING:                          # types only
    from typing import Literal, Protocol

    class _Frame(Protocol):
        """A frame websocket-client read (its ABNF): a received one's data is bytes."""
        opcode: int
        fin: int
        data: bytes

#: What a connection tells of each WebSocket ping or pong (at the session
#: clock's time): None, or the Drop to end it with.
_OnControl = Callable[[float], Optional[Union["Drop", "Retire"]]]

CONNECTING: str
OPEN: str
DRAINING: str
LOST: str
ENDED: str
CLOSED: str
CONNECTING, OPEN, DRAINING, LOST, ENDED, CLOSED = "connecting", "open", "draining", "lost", "ended", "closed"

_scan_object = json.scanner.make_scanner(json.JSONDecoder())   # type: ignore[arg-type]  # as json.decoder does
_SPACE = " \t\n\r"

#: Events after which Slack closes the connection (RTM docs, "goodbye" and
#: "team_migration_started"): reconnect at once.
_RECONNECT_TYPES = frozenset(("goodbye", "team_migration_started"))

#: A connection that stayed up this long resets the reconnect backoff.
STABLE_AFTER = 60.0

#: rtm.start and rtm.connect are Tier 1, about one call a minute with small
#: bursts tolerated (SLACK.md): whatever a server does, a session's rtm.*
#: calls keep to a burst of RTM_CALL_BURST, then RTM_CALL_RATE a second.
RTM_CALL_BURST = 5
RTM_CALL_RATE = 1 / 60.0

#: The least room a frame needs for the ``"id":N,`` the session puts in
#: front (N = 1); message() checks the frame with its real id.
_ID_ROOM = len('"id":1,')

#: Pongs to the session's own pings still recognised when they come late.
_OWN_PINGS = 8

#: WebSocket control frames (pings, pongs) a server may send: a burst of
#: CONTROL_BURST, then CONTROL_RATE a second.  They keep nothing alive, and
#: a server that floods them would starve the events: the connection is
#: dropped as broken past the budget.
CONTROL_BURST = 100
CONTROL_RATE = 10.0


def decode_frame(data: bytes) -> _Json:
    """A text frame's payload (bytes) -> the event dict, or ProtocolError.

    UTF-8 is checked here, once, by bytes.decode (in C), so websocket-client
    runs with skip_utf8_validation=True and its pure-Python check is skipped.
    An object is scanned by json's C scanner directly, without json.loads's
    Python wrapper and its two whitespace regexes: this runs once per event.
    """
    event: _Json
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _frame_error(f"a frame that is not UTF-8 ({exc.reason} at byte {exc.start})", data) from None
    if text[:1] == "{":
        try:
            event, end = _scan_object(text, 0)
        except (ValueError, StopIteration, RecursionError):
            event, end = None, -1              # type: ignore[assignment]  # never returned: end is -1
        if end == len(text) or (end > 0 and not text[end:].strip(_SPACE)):
            return event
    try:
        event = json.loads(text)
    except RecursionError:
        raise _frame_error("a frame nested too deep to decode", data) from None
    except ValueError as exc:
        raise _frame_error(f"a frame that is not JSON ({exc})", data) from None
    if type(event) is not dict:
        raise _frame_error("a frame that is JSON but not an object", data)
    return event


#: The bytes of a refused frame an error keeps, to be quoted again
#: (_requoted): more than a quote with the longest secret redacted reads.
_FRAME_KEPT = 4096


def _frame_error(why: str, data: bytes) -> ProtocolError:
    """A ProtocolError saying ``why`` and quoting the frame ``data``.  The
    pure core knows no secrets: it keeps the frame's start so that the shell
    can quote it again with them redacted before the cut (_requoted)."""
    error = ProtocolError(f"{why}: {_quote(data, 100)}")
    error._frame = (why, bytes(data[:_FRAME_KEPT]))   # type: ignore[attr-defined]  # private, for _requoted
    return error


def _requoted(error: ProtocolError, secrets: Sequence[str], cls: Type[ProtocolError] = ProtocolError,
              prefix: str = "") -> ProtocolError:
    """``error`` (of decode_frame) as ``cls``, its frame quoted again with
    ``secrets`` redacted before the cut, after ``prefix``."""
    kept = error.__dict__.get("_frame")
    if kept is None:
        return cls(prefix + _redact(str(error), secrets))
    why, data = kept                            # longer than any quote's cut: "..." stays when it was cut
    return cls(f"{prefix}{why}: {_quote(data, 100, secrets)}")


def encode_frame(event: Mapping[str, Any], *, max_chars: int = MAX_MESSAGE_CHARS,
                 max_bytes: int = MAX_FRAME_BYTES) -> str:
    """The text of a client frame, or MessageTooLong before anything is sent
    (Slack's RTM limits: 4,000 characters of text, 16 KB a frame)."""
    data, size = _encoded(event, max_chars)
    _check_frame_size(size, max_bytes)
    return data


def _encoded(event: Mapping[str, Any], max_chars: int) -> Tuple[str, int]:
    """(the text of a frame, its size in bytes), or MessageTooLong / InvalidArgument."""
    text = event.get("text")
    if isinstance(text, str) and len(text) > max_chars:
        raise MessageTooLong(f"message text of {len(text)} characters; Slack takes at most {max_chars}")
    try:
        data = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return data, len(data.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"the event is not valid Unicode ({exc.reason})") from None
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"the event cannot be sent as JSON: {exc}") from None


def _check_frame_size(size: int, max_bytes: int = MAX_FRAME_BYTES, with_id: str = "") -> None:
    if size > max_bytes:
        raise MessageTooLong(f"a frame of {size} bytes{with_id}; Slack closes the connection past {max_bytes}")


def _check_seconds(name: str, value: object) -> None:
    """InvalidArgument unless ``value`` is a positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise InvalidArgument(f"{name} must be a positive number of seconds, not {value!r}")


def _check_channel(channel: object) -> None:
    if not isinstance(channel, str) or not channel:
        raise InvalidArgument(f"channel must be a conversation's id (a non-empty string), not {channel!r}")
    if channel.startswith(("#", "@")):            # RTM takes ids only: Slack would answer "invalid channel id"
        raise InvalidArgument(f"channel must be a conversation's id (C..., G..., D...), not a name like "
                              f"{channel!r}: look it up first, e.g. rtm.team.channel_by_name('general').id")


def _message_event(channel: object, text: object, thread_ts: object, wait: object, timeout: object,
                   extra: Mapping[str, Any]) -> _Json:
    """The event of Session.send_message, its arguments checked first:
    InvalidArgument for a channel or text that is not a string, a thread_ts
    neither a string nor None, a wait not a bool, a timeout not a positive
    number of seconds, or a ``type`` among the extra fields."""
    _check_channel(channel)
    for name, value in (("text", text), ("thread_ts", thread_ts)):
        if not isinstance(value, str) and not (name == "thread_ts" and value is None):
            raise InvalidArgument(f"{name} must be a string, not {type(value).__name__}")
    if type(wait) is not bool:
        raise InvalidArgument(f"wait must be True or False, not {wait!r}")
    _check_seconds("timeout", timeout)
    if "type" in extra:
        raise InvalidArgument(f"a message's type is \"message\", not {extra['type']!r}")
    _refuse_misspelt("send_message", extra, ("thread_ts", "wait", "timeout"), hatch=None)   # thred_ts=: refused
    event = dict(type="message", channel=channel, text=text, **extra)
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


@dataclass(frozen=True)
class Ping:
    """What RtmProtocol.tick() may call for: send ``text``, a keepalive ping frame, now."""

    text: str


@dataclass(frozen=True)
class Drop:
    """What RtmProtocol.tick() or control() may call for: the connection is
    dead or broken; drop it (``error``, a ConnectionClosed, says why)."""

    error: ConnectionClosed


class _Bucket:
    """A token bucket: ``rate`` a second sustained, ``burst`` at once.
    ``take(now)`` takes one and says how long the taker must wait for it
    (the send throttle sleeps that long; the control-frame budget gives up)."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if not rate > 0 or not burst >= 1:
            raise InvalidArgument("a rate must be positive and a burst at least 1")
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), now

    def take(self, now: float) -> float:
        self.tokens = self._at(now) - 1.0
        self.stamp = now
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def due(self, now: float) -> float:
        """How long after ``now`` a token will be there (none is taken)."""
        tokens = self._at(now)
        return 0.0 if tokens >= 1 else (1.0 - tokens) / self.rate

    def _at(self, now: float) -> float:
        return min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)


class _Pending:
    """A sent message waiting for its reply: ``reply`` or ``error`` once settled."""

    __slots__ = ("event", "waited", "reply", "error")
    event: _Json
    waited: bool

    def __init__(self, event: _Json, waited: bool = False) -> None:
        self.event, self.waited = event, waited
        self.reply: Optional[_Json] = None
        self.error: Optional[SlackError] = None

    @property
    def settled(self) -> bool:
        return self.reply is not None or self.error is not None

    def outcome(self, secrets: Sequence[str] = ()) -> _Json:
        """The reply of a settled message, or its error raised (an error
        reply's text with ``secrets`` redacted: the server may echo one)."""
        if self.error is not None:
            raise _redacted(self.error, secrets)
        return self.reply                        # type: ignore[return-value]  # settled: one of the two is set


class RtmProtocol:
    """The decisions of an RTM session, with no I/O, no lock and no clock of
    its own: fed the frames that came and the time (any monotonic clock, in
    seconds), it says which event to deliver, what to send and when a
    connection is dead.  One serves a session across its connections, so
    message ids are unique in the session and a reply that arrives on the
    next connection is still matched.  Not thread-safe: the Session calls it
    under its lock.

    Every message (``type: message``) has exactly one outcome: its ack
    (``_Pending.reply``), an error ack (``RtmError``), or, when its
    connection ended first and the next connection's first frames did not
    acknowledge it either (or ``ack_grace`` passed), Unacknowledged: raised
    to a sender that waits, listed in ``unacknowledged`` otherwise.

    The time calls for typed actions: ``tick()`` answers a Ping (send its
    text) or a Drop (the connection is dead), ``control()`` a Drop.  A call
    the phase does not allow raises LocalProtocolError (h11's rule), except
    once closed: close() may come from any thread at any time, so after
    ``closed()`` every other life-cycle call does nothing.
    """

    ping_interval: float
    pong_timeout: float
    ack_grace: float
    phase: str
    unacknowledged: List[_Json]
    frames: int
    skipped: int

    def __init__(self, *, ping_interval: float = 10.0, pong_timeout: float = 10.0, ack_grace: float = 5.0,
                 now: float = 0.0) -> None:
        for name, value in (("ping_interval", ping_interval), ("pong_timeout", pong_timeout),
                            ("ack_grace", ack_grace)):
            _check_seconds(name, value)
        self.ping_interval, self.pong_timeout, self.ack_grace = ping_interval, pong_timeout, ack_grace
        self.phase = CONNECTING
        self.unacknowledged = []
        self.frames = self.skipped = 0
        self._ids = 0
        self._pending: Dict[int, _Pending] = {}       # sent on this connection
        self._in_doubt: Dict[int, _Pending] = {}      # sent on the one before, not yet acknowledged
        self._doubt_until: Optional[float] = None
        self._own_pings: Deque[int] = deque(maxlen=_OWN_PINGS)
        self._ping_sent: Optional[float] = None
        self._last_frame = now
        self._frames_at_hello = 0
        self._control = _Bucket(CONTROL_RATE, CONTROL_BURST, now)
        self._reconnect_url: Optional[str] = None

    @property
    def last_frame(self) -> float:
        """When the last frame came (or the connection opened)."""
        return self._last_frame

    def __repr__(self) -> str:
        return (f"<RtmProtocol {self.phase} pending={len(self._pending)} in_doubt={len(self._in_doubt)} "
                f"frames={self.frames}>")

    # -- a connection's life

    def _allowed(self, call: str, *phases: str) -> bool:
        """True: ``call`` may go on; False: the session is closed and the
        call does nothing; LocalProtocolError in any other phase."""
        if self.phase == CLOSED:
            return False
        if self.phase not in phases:
            raise LocalProtocolError(f"RtmProtocol.{call}() in phase {self.phase}")
        return True

    def connecting(self) -> None:
        """A new connection is being made (after LOST)."""
        if self._allowed("connecting", LOST, CONNECTING):
            self.phase = CONNECTING

    def opened(self, now: float) -> None:
        """The new connection said hello: the keepalive starts over, and the
        grace for messages in doubt starts."""
        if not self._allowed("opened", CONNECTING):
            return
        self.phase = OPEN
        self._last_frame, self._ping_sent = now, None
        self._frames_at_hello = self.frames
        self._own_pings.clear()
        self._control = _Bucket(CONTROL_RATE, CONTROL_BURST, now)
        if self._in_doubt:
            self._doubt_until = now + self.ack_grace

    def lost(self, *, clean: bool = False, oversized: bool = False) -> bool:
        """The connection is gone: its unacknowledged messages are now in
        doubt (those of the connection before are reported).  ``clean``: the
        server closed it in order (a close frame; after goodbye it is clean
        anyway); ``oversized``: it ended on a message over the size limit,
        which counts as skipped.  Returns whether the connection was healthy:
        ended cleanly after it delivered an event (not counting a goodbye)."""
        if not self._allowed("lost", OPEN, DRAINING):
            return False
        draining = self.phase == DRAINING
        events = self.frames - self._frames_at_hello - draining      # the goodbye is no event
        healthy = (clean or draining) and events > 0
        if oversized:
            self.skipped += 1
        self._settle()
        self._in_doubt, self._pending = self._pending, {}
        self.phase = LOST
        return healthy

    def skip(self) -> None:
        """A frame the connection could not hand over (a binary one) was skipped."""
        self.skipped += 1

    def ended(self) -> None:
        """No more connections: every unacknowledged message is reported."""
        self._finish(CLOSED if self.phase == CLOSED else ENDED)

    def closed(self) -> None:
        """close() was called: as ended(), and final."""
        self._finish(CLOSED)

    def _finish(self, phase: str) -> None:
        self._settle()
        self._in_doubt, self._pending = self._pending, {}
        self._settle()
        self.phase = phase

    # -- what came

    def receive(self, data: bytes, now: float) -> Optional[_Json]:
        """The event a text frame's payload carries, to deliver, or None for
        a pong to the session's own keepalive.  Any complete frame shows the
        connection alive.  Matches acks (an echo with ``reply_to`` but no
        ``ok`` is not one), notes goodbye and migration (-> DRAINING), and
        reports in-doubt messages at the first frame that is not a reply.
        ProtocolError (counted in ``skipped``) for a frame that is not a
        JSON object."""
        if self.phase in (CONNECTING, LOST, ENDED):
            raise LocalProtocolError(f"RtmProtocol.receive() in phase {self.phase}: no connection is open")
        self.frames += 1
        self._last_frame, self._ping_sent = now, None
        try:
            event = decode_frame(data)
        except ProtocolError:
            self.skipped += 1
            raise
        if "reply_to" in event:
            if not self._reply(event):
                return None
        elif self._doubt_until is not None:
            self._settle()
        kind = event.get("type")
        if type(kind) is str and kind in _RECONNECT_TYPES and self.phase == OPEN:
            self.phase = DRAINING
        elif kind == "reconnect_url" and type(event.get("url")) is str:
            self._reconnect_url = event["url"]
        return event

    def take_reconnect_url(self) -> Optional[str]:
        """The URL of the newest ``reconnect_url`` frame (SLACK.md: a ticket
        for a fast reconnect), forgotten as it is taken: it is single-use."""
        url, self._reconnect_url = self._reconnect_url, None
        return url

    def _reply(self, event: _Json) -> bool:
        reply_to = event.get("reply_to")
        if type(reply_to) is not int:
            return True                          # not an id of ours: an ordinary event
        if reply_to in self._own_pings and event.get("type") == "pong":
            self._own_pings.remove(reply_to)
            return False
        if "ok" not in event:                    # an echo of our own message: not an ack
            return True
        pending = self._pending.pop(reply_to, None) or self._in_doubt.pop(reply_to, None)
        if pending is not None:
            if event["ok"] is True:
                pending.reply = event
            else:
                error: _Json = (event.get("error")  # type: ignore[assignment]  # isinstance: a dict, not None
                                if isinstance(event.get("error"), dict) else {})
                pending.error = RtmError(error.get("code"), error.get("msg"), reply_to, event)
        if self._doubt_until is not None and not self._in_doubt:
            self._doubt_until = None
        return True

    def control(self, now: float) -> Optional[Drop]:
        """A WebSocket ping or pong came: None, or a Drop when a server
        floods them."""
        if self._control.take(now) > 0:
            return Drop(ConnectionClosed(f"more than {CONTROL_BURST} WebSocket control frames at over "
                                         f"{CONTROL_RATE:g} a second: the connection is dropped as broken"))
        return None

    # -- the clock

    def deadline(self) -> Optional[float]:
        """When tick() next has something to do (in the clock's time), or None."""
        when = None
        if self.phase == OPEN:
            when = (self._last_frame + self.ping_interval if self._ping_sent is None
                    else self._ping_sent + self.pong_timeout)
        if self._doubt_until is not None and (when is None or self._doubt_until < when):
            when = self._doubt_until
        return when

    def tick(self, now: float) -> Union[Ping, Drop, None]:
        """What the time calls for: a Ping to send, a Drop of a dead
        connection, or None.  Reports in-doubt messages whose grace is over."""
        if self._doubt_until is not None and now >= self._doubt_until:
            self._settle()
        if self.phase != OPEN:
            return None
        # The same sums as deadline()'s, so that tick(deadline()) always acts
        # (now - sent < timeout may round the other way, and a fake clock
        # standing at the deadline would spin).
        if self._ping_sent is not None:
            if now < self._ping_sent + self.pong_timeout:
                return None
            return Drop(ConnectionClosed(f"no frame for {now - self._last_frame:.1f} s, not even a pong: "
                                         "the connection is dead"))
        if now < self._last_frame + self.ping_interval:
            return None
        self._ids += 1
        self._own_pings.append(self._ids)
        self._ping_sent = now
        return Ping('{"id":%d,"type":"ping"}' % self._ids)

    # -- what to send

    @staticmethod
    def encode(event: _Json) -> str:
        """The text of ``event`` (a dict) before it has an id, refused with
        MessageTooLong or InvalidArgument when it could not be sent even
        with the shortest id."""
        if not isinstance(event, dict):
            raise InvalidArgument(f"an event is a dict, not {type(event).__name__}")
        if "id" in event:                        # the session numbers frames itself
            event = {k: v for k, v in event.items() if k != "id"}
        text, size = _encoded(event, MAX_MESSAGE_CHARS)
        _check_frame_size(size + _ID_ROOM, with_id=" with its id")
        return text

    def message(self, event: _Json, text: str, waited: bool = False) -> Tuple[int, str, Optional[_Pending]]:
        """(id, frame, the _Pending of a message or None) for an event about
        to be sent, ``text`` being encode(event): the id goes in front, so
        the event is encoded once.  MessageTooLong (and no id taken) when
        the frame with its id is over MAX_FRAME_BYTES."""
        if self.phase != OPEN:
            raise LocalProtocolError(f"RtmProtocol.message() in phase {self.phase}: no connection is open")
        ident = self._ids + 1
        frame = '{"id":%d,%s' % (ident, text[1:]) if len(text) > 2 else '{"id":%d}' % ident
        if 4 * len(frame) > MAX_FRAME_BYTES:     # may be over (UTF-8 takes at most 4 bytes a character)
            _check_frame_size(len(frame.encode("utf-8")), with_id=" with its id")
        self._ids = ident
        pending = None
        if event.get("type") == "message":
            pending = self._pending[ident] = _Pending(dict(event, id=ident), waited)
        return ident, frame, pending

    def unsent(self, ident: int, pending: Optional[_Pending]) -> bool:
        """The frame ``ident`` could not be sent.  True: it is forgotten, and
        the sender says so; False: its outcome was given already (the
        connection's end reported it), and that stands."""
        if pending is not None and pending.settled:
            return False
        self._forget(ident)
        return True

    def abandon(self, pending: _Pending, error: SlackError) -> None:
        """A waiting sender gives up on ``pending`` with ``error``: it is
        never reported again."""
        self._forget(pending.event["id"])
        pending.error = error

    def _forget(self, ident: int) -> None:
        self._pending.pop(ident, None)
        self._in_doubt.pop(ident, None)
        if self._doubt_until is not None and not self._in_doubt:
            self._doubt_until = None

    def _settle(self) -> None:
        doubts, self._in_doubt, self._doubt_until = self._in_doubt, {}, None
        for pending in doubts.values():
            pending.error = Unacknowledged(pending.event)
            if not pending.waited:
                self.unacknowledged.append(pending.event)
                log.warning("message %s to %s was not acknowledged before its connection ended",
                            pending.event.get("id"), pending.event.get("channel"))


class _Reconnects:
    """When to try connecting again, with no I/O.  Waits come from ``Retry``
    (``backoff``); failures count across connections until one stays up
    STABLE_AFTER; each run of tries has its deadline (``connect_deadline``
    for the first connection, ``reconnect_deadline`` after, None for none),
    counted from the first try or from the loss of the connection, the wait
    before the first try included.  An expired URL gets a fresh one at once
    the first time in a run, then waits like any failure.  During a
    reconnect, an answer that is not Slack's (a captive portal's or a
    proxy's page) is retried too: it may go with the trouble that brought
    it.  A healthy connection (it delivered events, and the server ended it
    in order: a close frame, goodbye) is no failure: the next try is at
    once.  Whatever the waits, the rtm.* calls (``calling()``) keep to
    Tier 1: a burst of RTM_CALL_BURST, then one a minute; ``paced`` is the
    part of the last wait that this budget added."""

    def __init__(self, backoff: Retry, connect_deadline: Optional[float], reconnect_deadline: Optional[float],
                 now: float) -> None:
        self.backoff = backoff
        self.connect_deadline, self.reconnect_deadline = connect_deadline, reconnect_deadline
        self.failures = 0
        self.first = True
        self.since = now
        self.connected_at: Optional[float] = None
        self.expired = 0
        self.calls = _Bucket(RTM_CALL_RATE, RTM_CALL_BURST, now)
        self.paced = 0.0

    @property
    def deadline(self) -> Optional[float]:
        return self.connect_deadline if self.first else self.reconnect_deadline

    def connected(self, now: float) -> None:
        self.first, self.connected_at, self.expired = False, now, 0

    def calling(self, now: float) -> None:
        """An rtm.* call goes out at ``now``: it counts against the budget."""
        self.calls.take(now)

    def lost(self, now: float, healthy: bool = False) -> float:
        """The wait before the first try after losing the connection at ``now``
        (``healthy``: see the class)."""
        stable = healthy or (self.connected_at is not None and now - self.connected_at >= STABLE_AFTER)
        self.failures = 0 if stable else self.failures + 1
        self.since, self.connected_at = now, None
        wait = 0.0
        if self.failures:
            wait = self.backoff.backoff(self.failures - 1)
            wait = wait if self.deadline is None else max(0.0, min(wait, self.deadline))
        return self._paced(now, wait)

    def _paced(self, now: float, wait: float) -> float:
        """``wait``, longer if the call after it would pass the rtm.* budget."""
        self.paced = self.calls.due(now + wait)
        return wait + self.paced

    def failed(self, error: SlackError, now: float) -> Optional[float]:
        """The wait before the next try after ``error`` at ``now``, or None:
        give up (and raise ``error``)."""
        if isinstance(error, UrlExpired) and not self.expired:
            wait = 0.0
        elif error.retryable:
            delay = self.backoff.delay(self.failures, error)
            if delay is None:                    # a policy that declines a retryable error: give up
                return None
            wait = delay
            self.failures += 1
        elif not self.first and isinstance(error, InvalidResponse):
            wait = self.backoff.backoff(self.failures)
            self.failures += 1
        else:
            return None
        self.expired = self.expired + 1 if isinstance(error, UrlExpired) else 0
        wait = self._paced(now, wait)
        if self.deadline is not None and now + wait - self.since > self.deadline:
            return None
        return wait


###############################################################################
# Pure core: Socket Mode ######################################################
###############################################################################
#
# The decisions of a Socket Mode session (SLACK.md, "Socket Mode"), with no
# I/O, as RtmProtocol's are: which envelope to deliver, which ack to send on
# which connection and when, when to open the next connection, when one is
# dead or done, when the session must end.  A Socket Mode session may run
# several connections at once; each has a key (an int) its shell chooses.
#
#   opening(k) --> CONNECTING --receive(hello)--> OPEN --receive(disconnect)--> RETIRING
#   RETIRING --a newer hello, then RETIRE_GRACE--> Retire(k)          (its successor is open)
#   CONNECTING --no hello in hello_timeout--> Retire(k, BadHello)
#   OPEN, RETIRING --silent past ping_interval--> Probe(k) --no frame in pong_timeout--> Retire(k, error)
#   disconnect link_disabled --> Stop(LinkDisabled): ENDED     closed() --> CLOSED
#
# A call the state does not allow raises LocalProtocolError; once CLOSED,
# every call does nothing (close() may come from any thread at any time).

#: Slack drops acks of 20 KB or more without a word (SLACK.md): an ack frame
#: of this many bytes or more is refused before anything is sent.
MAX_ACK_BYTES = 20_000
#: Seconds an envelope id or event id is remembered, so that a duplicate or a
#: retry is delivered once: Slack retries over about 5 minutes (at once, +1
#: min, +5 min), and the memory must cover that (at least 10 minutes).
SEEN_WINDOW = 600.0
#: The most ids remembered (the oldest go first past it): 10 minutes of
#: Slack's cap of 30,000 deliveries an hour per workspace, for 10 workspaces.
SEEN_LIMIT = 50_000
#: Seconds a connection Slack announced the end of is still read after a
#: newer one said hello: what was in flight on it still arrives.
RETIRE_GRACE = 2.0
#: Slack allows at most 10 Socket Mode connections open at once per app.
MAX_CONNECTIONS = 10
#: An envelope id longer than this is no Slack's (they are UUIDs): skipped.
_MAX_ENVELOPE_ID = 256

RETIRING: str = "retiring"


@dataclass(frozen=True)
class Ack:
    """What SocketModeProtocol asks for: send ``text``, an ack frame, on
    connection ``key`` now (and as one frame: Slack drops fragmented acks)."""

    key: int
    text: str


@dataclass(frozen=True, repr=False)
class Deliver:
    """What SocketModeProtocol.receive() asks for: hand ``envelope`` (as Slack sent it) to the user."""

    envelope: _Json

    def __repr__(self) -> str:                  # the payload may hold a verification token
        return f"Deliver(envelope_id={self.envelope.get('envelope_id')!r}, type={_kind(self.envelope.get('type'))})"


@dataclass(frozen=True)
class Connect:
    """What SocketModeProtocol.receive() asks for: open one more connection
    (a new apps.connections.open) before the one that announced its end closes."""


@dataclass(frozen=True)
class Probe:
    """What SocketModeProtocol.tick() asks for: send a WebSocket ping on
    connection ``key``, silent for ``ping_interval``."""

    key: int


@dataclass(frozen=True)
class Retire:
    """What SocketModeProtocol asks for: close connection ``key``, already
    forgotten by the protocol.  ``error`` None: a routine end (its successor
    is open); otherwise why it failed: replace it as the reconnect policy says."""

    key: int
    error: Optional[SlackError] = None


@dataclass(frozen=True)
class Stop:
    """What SocketModeProtocol.receive() asks for: end the session, closing
    every connection and opening none: ``error`` (LinkDisabled) is permanent."""

    error: SlackError


_SocketModeAction = Union[Ack, Deliver, Connect, Probe, Retire, Stop]


class _Seen:
    """The ids seen in the last ``window`` seconds, at most ``limit`` of them
    (past it the oldest are forgotten first): memory bounded in time and count."""

    __slots__ = ("window", "limit", "_at")

    def __init__(self, window: float, limit: int) -> None:
        self.window, self.limit = window, limit
        # Time order.  An OrderedDict, not a dict: taking from the front of a
        # dict leaves holes that every next(iter()) scans again.
        self._at: "OrderedDict[str, float]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._at)

    def add(self, keys: Sequence[str], now: float) -> bool:
        """Note ``keys`` as seen at ``now``; True when none of them was seen before."""
        self._forget(now)
        seen = self._at
        fresh = True
        for key in keys:
            if key in seen:
                fresh = False
        for key in keys:
            self._at[key] = now
            self._at.move_to_end(key)
        while len(self._at) > self.limit:
            self._at.popitem(last=False)
        return fresh

    def discard(self, keys: Sequence[str]) -> None:
        """Forget ``keys``: what they name may be delivered again."""
        for key in keys:
            self._at.pop(key, None)

    def _forget(self, now: float) -> None:
        while self._at:
            key, seen = next(iter(self._at.items()))
            if now - seen < self.window:
                return
            self._at.popitem(last=False)


class _Socket:
    """What SocketModeProtocol knows of one connection."""

    __slots__ = ("state", "last", "probed", "retire_at", "control")

    def __init__(self, now: float) -> None:
        self.state = CONNECTING
        self.last = now                          # the last frame, ping or pong (or the start)
        self.probed: Optional[float] = None      # when our ping went, unanswered
        self.retire_at: Optional[float] = None
        self.control = _Bucket(CONTROL_RATE, CONTROL_BURST, now)

    def due(self, hello_timeout: float, ping_interval: float, pong_timeout: float) -> float:
        if self.state == CONNECTING:
            return self.last + hello_timeout
        when = self.last + ping_interval if self.probed is None else self.probed + pong_timeout
        return when if self.retire_at is None else min(when, self.retire_at)


class SocketModeProtocol:
    """The decisions of a Socket Mode session, with no I/O, no lock and no
    clock of its own (as RtmProtocol): fed what each connection received and
    the time, it answers typed actions (Ack, Deliver, Connect, Probe, Retire,
    Stop) for the shell to carry out, in order.  Not thread-safe: the shell
    calls it under its lock.

    Acks: an envelope is acked on its own connection as it is read (before
    it is delivered), unless it has ``accepts_response_payload: true``: then
    the user acks it (``ack()``), or, once it was handed over (``handed()``)
    and the user asks for the next one (``asked()``), it is acked empty.
    Exactly once: an envelope whose ``envelope_id``, or whose event's
    ``event_id``, was seen in the last ``seen_window`` seconds is acked
    again, not delivered.  ``hello`` and ``disconnect`` are never delivered.
    The session keeps ``connections`` connections open (``needed()`` says
    how many to open now); a refresh opens the next before the old one goes.
    """

    connections: int
    ping_interval: float
    pong_timeout: float
    hello_timeout: float
    phase: str
    frames: int
    skipped: int
    delivered: int
    duplicates: int

    def __init__(self, *, connections: int = 1, ping_interval: float = 10.0, pong_timeout: float = 10.0,
                 hello_timeout: float = 10.0, seen_window: float = SEEN_WINDOW, seen_limit: int = SEEN_LIMIT,
                 now: float = 0.0) -> None:
        for name, value in (("ping_interval", ping_interval), ("pong_timeout", pong_timeout),
                            ("hello_timeout", hello_timeout), ("seen_window", seen_window)):
            _check_seconds(name, value)
        _check_count("connections", connections, 1, MAX_CONNECTIONS)
        _check_count("seen_limit", seen_limit, 1000, sys.maxsize)
        if seen_window < SEEN_WINDOW:
            raise InvalidArgument(f"seen_window must be at least {SEEN_WINDOW:g} s (Slack retries for "
                                  f"minutes), not {seen_window!r}")
        self.connections = connections
        self.ping_interval, self.pong_timeout, self.hello_timeout = ping_interval, pong_timeout, hello_timeout
        self.phase = CONNECTING
        self.frames = self.skipped = self.delivered = self.duplicates = 0
        self._seen = _Seen(seen_window, seen_limit)
        self._sockets: Dict[int, _Socket] = {}
        self._owed: Dict[str, Tuple[int, bool, Tuple[str, ...]]] = {}   # envelope id -> (key, handed, seen keys)
        self._orphans: Deque[str] = deque(maxlen=1000)     # owed acks whose connection ended

    def __repr__(self) -> str:
        states = ",".join(s.state for s in self._sockets.values())
        return (f"<SocketModeProtocol {self.phase} connections=[{states}] owed={len(self._owed)} "
                f"delivered={self.delivered}>")

    # -- the connections

    def _socket(self, call: str, key: int) -> Optional[_Socket]:
        """The connection ``key``; None once closed; LocalProtocolError for
        an unknown one or once ended."""
        if self.phase == CLOSED:
            return None
        if self.phase == ENDED or key not in self._sockets:
            raise LocalProtocolError(f"SocketModeProtocol.{call}() for connection {key}, which is not open "
                                     f"(phase {self.phase})")
        return self._sockets[key]

    def quiet(self, key: int, now: float) -> float:
        """Seconds since connection ``key``'s last frame (0 if it is not known)."""
        sock = self._sockets.get(key)
        return 0.0 if sock is None else max(0.0, now - sock.last)

    def listening(self) -> bool:
        """Whether a connection said hello and is still open."""
        return any(sock.state != CONNECTING for sock in self._sockets.values())

    def needed(self) -> int:
        """How many connections to open now (each after an apps.connections.open)."""
        if self.phase in (ENDED, CLOSED):
            return 0
        live = 0
        for sock in self._sockets.values():         # (a loop: this is asked before every read)
            if sock.state != RETIRING:
                live += 1
        return max(0, min(self.connections - live, MAX_CONNECTIONS - len(self._sockets)))

    def opening(self, key: int, now: float) -> None:
        """Connection ``key`` is being made; its hello is due within hello_timeout."""
        if self.phase == CLOSED:
            return
        if self.phase == ENDED or key in self._sockets or len(self._sockets) >= MAX_CONNECTIONS:
            raise LocalProtocolError(f"SocketModeProtocol.opening({key}) in phase {self.phase} with "
                                     f"{len(self._sockets)} connections")
        self._sockets[key] = _Socket(now)

    def lost(self, key: int) -> None:
        """Connection ``key`` ended (closed by the server, reset, failed).  The
        acks still owed on it can no longer be sent (Slack sends those
        envelopes again).  A connection already retired is no error."""
        if self._sockets.pop(key, None) is not None:
            self._orphan(key)

    def _orphan(self, key: int) -> None:
        for ident in [i for i, (k, _, _) in self._owed.items() if k == key]:
            # Never acked: Slack sends it again, and it must be yielded again (the user can ack it then).
            self._seen.discard(self._owed.pop(ident)[2])
            self._orphans.append(ident)

    def ended(self) -> None:
        """No more connections (the session gave up)."""
        self._finish(CLOSED if self.phase == CLOSED else ENDED)

    def closed(self) -> None:
        """close() was called: final."""
        self._finish(CLOSED)

    def skip(self) -> None:
        """The shell skipped a frame it could not hand over (a binary one): counted."""
        self.skipped += 1

    def _finish(self, phase: str) -> None:
        for key in list(self._sockets):
            self.lost(key)
        self.phase = phase

    # -- what came

    def receive(self, key: int, data: bytes, now: float) -> List[_SocketModeAction]:
        """The actions a text frame's payload on connection ``key`` calls for.
        ProtocolError (counted in ``skipped``) for a frame that is not a
        JSON object, or an envelope with no ``envelope_id``."""
        sock = self._socket("receive", key)
        if sock is None:
            return []
        self.frames += 1
        sock.last, sock.probed = now, None
        try:
            frame = decode_frame(data)
        except ProtocolError:
            self.skipped += 1
            raise
        kind = frame.get("type")
        if sock.state == CONNECTING and kind == "disconnect" and frame.get("reason") != "link_disabled":
            del self._sockets[key]                  # refused at once (too_many_websockets): a failure
            return [Retire(key, ConnectionClosed(f"Slack sent disconnect, reason {_kind(frame.get('reason'))}, "
                                                 "instead of hello"))]
        if sock.state == CONNECTING and kind not in ("hello", "disconnect"):
            del self._sockets[key]
            return [Retire(key, BadHello(f"the first Socket Mode frame was {_kind(kind)}, not hello"))]
        if kind == "hello":
            return self._hello(sock, now)
        if kind == "disconnect":
            return self._disconnect(key, sock, frame)
        return self._envelope(key, frame, now)

    def _hello(self, sock: _Socket, now: float) -> List[_SocketModeAction]:
        if sock.state == CONNECTING:
            sock.state = self.phase = OPEN
            for other in self._sockets.values():   # its predecessors may go
                if other.state == RETIRING and other.retire_at is None:
                    other.retire_at = now + RETIRE_GRACE
        return []

    def _disconnect(self, key: int, sock: _Socket, frame: _Json) -> List[_SocketModeAction]:
        reason = frame.get("reason")
        log.info("Socket Mode connection %d: disconnect, reason %s", key, _kind(reason))
        if reason == "link_disabled":
            self._finish(ENDED)
            return [Stop(LinkDisabled("apps.connections.open", "link_disabled", frame))]
        if reason == "too_many_websockets":
            self.lost(key)
            return [Retire(key, ConnectionClosed("Slack refused the connection: too_many_websockets "
                                                 f"(at most {MAX_CONNECTIONS} per app)"))]
        # warning, refresh_requested or any other: Slack closes this one
        # soon; the next one opens first, and this one is read till then.
        if sock.state == RETIRING:
            return []
        sock.state = RETIRING
        return [Connect()]

    def _envelope(self, key: int, frame: _Json, now: float) -> List[_SocketModeAction]:
        ident = frame.get("envelope_id")
        if type(ident) is not str or not 0 < len(ident) <= _MAX_ENVELOPE_ID:
            self.skipped += 1
            raise ProtocolError(f"a Socket Mode frame of type {_kind(frame.get('type'))} with no usable "
                                "envelope_id: skipped")
        accepts = frame.get("accepts_response_payload") is True
        keys = _seen_keys(ident, frame)
        fresh = self._seen.add(keys, now)
        actions: List[_SocketModeAction] = []
        if not fresh or not accepts:
            actions.append(Ack(key, _ack_text(ident)))
        if not fresh:
            self.duplicates += 1
            return actions
        if accepts:
            self._owed[ident] = (key, False, keys)
        self.delivered += 1
        actions.append(Deliver(frame))
        return actions

    def control(self, key: int, now: float) -> Optional[Retire]:
        """A WebSocket ping or pong came on ``key``: it is alive.  A Retire
        when a server floods them."""
        sock = self._socket("control", key)
        if sock is None:
            return None
        sock.last, sock.probed = now, None
        if sock.control.take(now) > 0:
            self.lost(key)
            return Retire(key, ConnectionClosed(f"more than {CONTROL_BURST} WebSocket control frames at over "
                                                f"{CONTROL_RATE:g} a second: the connection is dropped as broken"))
        return None

    # -- the clock

    def deadline(self) -> Optional[float]:
        """When tick() next has something to do (in the clock's time), or None."""
        when = None
        for sock in self._sockets.values():
            due = sock.due(self.hello_timeout, self.ping_interval, self.pong_timeout)
            if when is None or due < when:
                when = due
        return when

    def tick(self, now: float) -> List[_SocketModeAction]:
        """What the time calls for: a Probe of a silent connection, a Retire
        of a dead one, of one with no hello, or of one whose successor is open."""
        actions: List[_SocketModeAction] = []
        for key, sock in list(self._sockets.items()):
            # The same sums as _Socket.due(), so that tick(deadline()) always acts.
            if now < sock.due(self.hello_timeout, self.ping_interval, self.pong_timeout):
                continue
            if sock.state == CONNECTING:
                actions.append(self._retire(key, BadHello(f"no hello within {self.hello_timeout:g} s")))
            elif sock.retire_at is not None and now >= sock.retire_at:
                actions.append(self._retire(key, None))
            elif sock.probed is None:
                sock.probed = now
                actions.append(Probe(key))
            else:
                actions.append(self._retire(key, ConnectionClosed(
                    f"no frame and no ping for {now - sock.last:.1f} s, not even a pong: the connection is dead")))
        return actions

    def _retire(self, key: int, error: Optional[SlackError]) -> Retire:
        self.lost(key)
        return Retire(key, error)

    # -- acks the user gives

    def handed(self, envelope: _Json) -> None:
        """``envelope`` is handed to the user now: from the next asked(), an
        ack it still owes is sent empty."""
        ident = envelope.get("envelope_id")
        if type(ident) is str and ident in self._owed:
            key, _, keys = self._owed[ident]
            self._owed[ident] = (key, True, keys)

    def asked(self) -> List[Ack]:
        """The user asks for the next envelope: the acks owed for envelopes
        already handed over go now, empty."""
        if not self._owed:                          # (asked before every envelope: at once)
            return []
        passed = [ident for ident, (_, handed, _) in self._owed.items() if handed]
        return [Ack(self._owed.pop(ident)[0], _ack_text(ident)) for ident in passed]

    def ack(self, envelope: _Json, payload: Optional[_Json] = None) -> Optional[Ack]:
        """The user's ack of ``envelope``, with ``payload`` (a dict) or none:
        the Ack to send, or None when the envelope was acked as it was read
        (and there is no payload).  InvalidArgument for an envelope that
        takes no payload or was acked already, MessageTooLong for an ack of
        MAX_ACK_BYTES or more (nothing is sent: it stays owed),
        ConnectionClosed when its connection ended first."""
        ident = envelope.get("envelope_id") if isinstance(envelope, dict) else None
        if isinstance(envelope, str):           # slack_sdk's habit: SocketModeResponse(envelope_id=...)
            raise InvalidArgument("ack() takes the envelope the session yielded (the dict), not its envelope_id")
        if type(ident) is not str:
            raise InvalidArgument("ack() takes an envelope the session yielded (a dict with its envelope_id)")
        if payload is not None and not isinstance(payload, dict):
            raise InvalidArgument(f"an ack's payload is a dict, not {type(payload).__name__}")
        if self.phase == CLOSED:
            raise ConnectionClosed("the session is closed: the ack was not sent")
        owed = self._owed.get(ident)
        if owed is None:
            self._not_owed(envelope, ident, payload)
            return None
        ack = Ack(owed[0], _ack_text(ident, payload))
        del self._owed[ident]
        return ack

    def _not_owed(self, envelope: _Json, ident: str, payload: Optional[_Json]) -> None:
        """Raise why an envelope that owes no ack cannot be acked (with a payload)."""
        if ident in self._orphans:
            raise ConnectionClosed(f"the connection envelope {ident} came on has ended: the ack was not sent "
                                   "(Slack sends the envelope again)")
        if envelope.get("accepts_response_payload") is True:
            raise InvalidArgument(f"envelope {ident} was acked already")
        if payload is not None:
            raise InvalidArgument(f"envelope {ident} does not accept a response payload "
                                  "(accepts_response_payload is not true); it was acked as it was read")


def _check_count(name: str, value: object, least: int, most: int) -> None:
    """InvalidArgument unless ``value`` is an int from ``least`` to ``most``."""
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise InvalidArgument(f"{name} must be a whole number from {least} to {most}, not {value!r}")


def _kind(value: object) -> str:
    """A frame's ``type`` or ``reason`` for a log line or a message, whatever
    a server sent: shown only when it reads like one of Slack's (lower-case
    words joined by "_", as "events_api"), else as its kind: a server that
    echoes a ticket or a token there has it in no message."""
    if isinstance(value, str) and 0 < len(value) <= 40 and not value.strip(_KIND_LETTERS):
        return repr(value)
    return f"(a {type(value).__name__})"


_KIND_LETTERS = "abcdefghijklmnopqrstuvwxyz_"


def _seen_keys(ident: str, frame: _Json) -> Tuple[str, ...]:
    """The ids a delivery is known by: its envelope, and its event's event_id (retries carry it again)."""
    payload = frame.get("payload")
    event_id = payload.get("event_id") if isinstance(payload, dict) else None
    return ("e:" + ident, "v:" + event_id) if type(event_id) is str else ("e:" + ident,)


_JSON_TEXT = json.JSONEncoder(ensure_ascii=False)


def _ack_text(ident: str, payload: Optional[_Json] = None) -> str:
    """The ack frame of envelope ``ident``: compact JSON, refused with
    MessageTooLong at MAX_ACK_BYTES or more, InvalidArgument if not JSON."""
    if payload is None:                          # the common case, at every envelope: at once
        return '{"envelope_id":' + _JSON_TEXT.encode(ident) + "}"   # (ident is at most _MAX_ENVELOPE_ID long)
    ack: _Json = {"envelope_id": ident, "payload": payload}
    try:
        text = json.dumps(ack, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"an ack's payload must be JSON: {exc}") from None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"an ack's payload must be text that UTF-8 can carry: {exc.reason} at "
                              f"{exc.start}") from None
    if size >= MAX_ACK_BYTES:
        raise MessageTooLong(f"an ack of {size} bytes was not sent: Slack drops acks of {MAX_ACK_BYTES} "
                             "bytes or more without a word")
    return text


###############################################################################
# Pure core: catch-up after a reconnect #######################################
###############################################################################
#
# Neither RTM nor Socket Mode replays what happened while no socket was open
# (SLACK.md, "Nothing replays what a client missed").  After a reconnect
# that was not seamless, _CatchUp plans conversations.history calls, one
# conversation at a time (for a session token, client.counts first picks
# the conversations with activity), and says what to deliver: each
# conversation's missed messages in ts order, then the live messages of that
# conversation that came meanwhile (held back until then: a caught-up
# message never comes after a later live one), each message once.  What it
# cannot fetch (a budget spent, an error) becomes one Missed report in the
# conversation's place.  No I/O and no clock of its own: the session makes
# the calls and gives it the answers and the time.
#
# Thread replies: conversations.history has the top-level messages and the
# replies also sent to the channel; other replies are not caught up (that
# would take a conversations.replies call per thread).  Edits and deletions
# of older messages made during the gap are not caught up either.

#: conversations.history is Tier 3, about 50 calls a minute: the catch-up
#: keeps to it, with a minute's calls as its burst (across reconnects).
CATCH_UP_RATE = 50 / 60.0
CATCH_UP_BURST = 50
#: Per catch-up (one reconnect): the most Web API calls, and the most
#: messages delivered; past either, what is left is reported Missed.
CATCH_UP_CALLS = 100
CATCH_UP_MESSAGES = 1000
#: Messages asked for per conversations.history page (Slack suggests 200).
CATCH_UP_PAGE = 200
#: For a conversation with nothing delivered yet, the catch-up starts this
#: many seconds before the last frame of the lost connection (clock skew).
CATCH_UP_MARGIN = 10.0
#: Socket Mode: Slack retries an envelope (at once, after about 1 and 5
#: minutes), so a gap shorter than this is left to its retries; after a
#: longer one the catch-up runs too (what both bring is yielded once).
SOCKET_MODE_CATCH_UP_AFTER = 60.0
#: While live frames flow, a catch-up call or a team page is followed by
#: this many times its own duration of reading only: calls take at most a
#: tenth of the iterating thread's time (the live rate stays at nine tenths
#: or more).
CATCH_UP_YIELD = 9.0
#: The longest Retry-After a catch-up waits for (live messages of the
#: conversations left are held back meanwhile); a longer one ends it, each
#: conversation left reported Missed.
CATCH_UP_MAX_WAIT = 120.0
#: Tries of one page after a transient failure (5xx, a timeout, a proxy's
#: page), 2, 4 ... seconds apart; a rate limit waits its Retry-After.
CATCH_UP_TRIES = 3


class CaughtUp(dict[str, Any]):   # not typing.Dict (see SlackResponse)
    """A message a session fetched after a reconnect: the message exactly as
    conversations.history gave it, plus its ``channel`` (as a live message
    event has it).  A dict like any event; ``isinstance(event, CaughtUp)``
    tells it from a live one (no field Slack sent is changed or added but
    ``channel``)."""

    __slots__ = ()


class Missed(dict[str, Any]):   # not typing.Dict (see SlackResponse)
    """What a catch-up could not fetch, yielded in the conversation's place
    (before its later messages): ``{"type": "missed", "channel": id (None
    when unknown), "oldest": ts, "latest": ts or None, "reason": "budget" |
    "error" | "unknown", "error": text}``: messages of ``channel`` after
    ``oldest`` (and before ``latest`` when given) may be missing."""

    __slots__ = ()


def _caught_up_envelope(item: _Json) -> _Json:
    """In Socket Mode, a caught-up message goes to the user as an events_api
    envelope with no envelope_id (nothing to ack): a CaughtUp, like the message."""
    if type(item) is not CaughtUp:
        return item
    return CaughtUp(type="events_api", envelope_id=None, accepts_response_payload=False,
                    payload={"type": "event_callback", "event": dict(item)})


def _ts_key(ts: object) -> Optional[int]:
    """A Slack ts ("1700000000.000100") as microseconds, to order two; None
    if it is not one ("1700000000" and "1700000000.5" are: history's
    oldest and latest take them)."""
    if type(ts) is not str:
        return None
    seconds, dot, fraction = ts.partition(".")
    if not (seconds + fraction).isascii() or not seconds.isdigit() or len(fraction) > 6:
        return None
    if dot and not fraction.isdigit():
        return None
    return int(seconds) * 1_000_000 + int(fraction.ljust(6, "0"))


def _ts_at(seconds: float) -> str:
    return f"{max(0.0, seconds):.6f}"


class _Fetch:
    """One conversation's catch-up: from ``oldest`` (exclusive), the pages
    read so far (``got``: ts -> message), the live messages held back
    (``held``: (ts, item)), the cursor of the next page."""

    __slots__ = ("channel", "oldest", "key", "cursor", "cursors", "got", "held", "tries", "rank")

    def __init__(self, channel: str, oldest: str, rank: int) -> None:
        self.channel, self.oldest, self.rank = channel, oldest, rank
        self.key = _ts_key(oldest) or 0
        self.cursor = ""
        self.cursors: Set[str] = set()             # every cursor given: one again is a loop
        self.got: Dict[str, _Json] = {}
        self.held: List[Tuple[str, Any]] = []
        self.tries = 0


class _CatchUp:
    """The catch-up's decisions (see above).  The session tells it each
    message event it receives (``route``), a lost connection (``lost``,
    with the wall-clock time of the last frame), a reconnect that was not
    seamless (``begin``); it answers ``request(now)`` with the next call
    when ``due(now)``, and ``answered``/``failed`` with what to deliver.
    Not thread-safe: the session calls it under its lock."""

    def __init__(self, *, calls: int = CATCH_UP_CALLS, messages: int = CATCH_UP_MESSAGES,
                 page: int = CATCH_UP_PAGE, margin: float = CATCH_UP_MARGIN, counts: bool = False,
                 now: float = 0.0) -> None:
        _check_count("catch_up_calls", calls, 1, sys.maxsize)
        _check_count("catch_up_messages", messages, 1, sys.maxsize)
        self.calls, self.messages, self.page, self.margin, self.counts = calls, messages, page, margin, counts
        self.last: Dict[str, str] = {}             # the newest ts received, per conversation
        self.fetches: Dict[str, _Fetch] = {}       # the conversations being caught up
        self.caught: Dict[str, Set[str]] = {}      # the ts the last catch-up delivered, per conversation
        self.bucket = _Bucket(CATCH_UP_RATE, CATCH_UP_BURST, now)
        self.gap: Optional[float] = None           # wall-clock time the gap began (None: no gap)
        self.calls_left = self.messages_left = 0
        self.retry_at = -math.inf                  # after a transient failure (a catch-up's own)
        self.limited_until = -math.inf             # a 429's Retry-After (Slack's, whatever reconnects)
        self.round = 0                             # the catch-up's number: an answer to an older one is stale
        self.counting = False                      # client.counts is the next call
        self.stats = {"catch_ups": 0, "history_calls": 0, "counts_calls": 0, "caught_up": 0, "missed": 0,
                      "live_duplicates": 0}

    # -- what the session tells it --------------------------------------

    def route(self, channel: str, ts: str, item: Any) -> bool:
        """A live message ``item`` of ``channel`` came: True to deliver it
        now; False when it is held back (its conversation is being caught
        up) or was delivered by the catch-up already."""
        fetch = self.fetches.get(channel)
        if fetch is not None:
            fetch.held.append((ts, item))
            return False
        caught = self.caught.get(channel)
        if caught is not None and ts in caught:
            self.stats["live_duplicates"] += 1
            return False
        self._note(channel, ts)
        return True

    def _note(self, channel: str, ts: str) -> None:
        last = self.last.get(channel)
        if last is None or (ts > last if len(ts) == len(last) else        # Slack's ts: one length, for ages
                            (_ts_key(ts) or 0) > (_ts_key(last) or 0)):
            self.last[channel] = ts

    def lost(self, wall: float) -> None:
        """A connection was lost; its last frame came at ``wall`` (time.time)."""
        if self.gap is None:
            self.gap = wall

    def seamless(self) -> None:
        """The reconnect lost nothing (fast_reconnect): no catch-up."""
        self.gap = None

    def begin(self, conversations: Iterable[str], now: float) -> None:
        """A reconnect after a gap: catch up ``conversations`` (each from the
        newest ts received in it, or from the gap's start less the margin).
        A catch-up still going is taken up again from its start."""
        gap, self.gap = self.gap, None
        if gap is None:
            return
        since = _ts_at(gap - self.margin)
        wanted = list(dict.fromkeys(conversations))
        wanted.sort(key=lambda c: _ts_key(self.last.get(c)) or 0, reverse=True)   # the active first
        for rank, channel in enumerate(wanted):
            fetch = self.fetches.get(channel)
            if fetch is None:
                self.fetches[channel] = _Fetch(channel, self.last.get(channel) or since, rank)
            else:
                fetch.cursor, fetch.cursors, fetch.got, fetch.tries, fetch.rank = "", set(), {}, 0, rank
        self.calls_left, self.messages_left = self.calls, self.messages
        self.caught, self.retry_at, self.counting = {}, -math.inf, self.counts and bool(self.fetches)
        self.round += 1
        self.stats["catch_ups"] += 1

    # -- the calls ------------------------------------------------------

    def due(self, now: float) -> Optional[float]:
        """When the next call may be made (None: none to make)."""
        if not self.fetches:
            return None
        return max(self.retry_at, self.limited_until, now + self.bucket.due(now))

    def request(self, now: float) -> Optional[Tuple[str, _Json]]:
        """The next call (method, args), taken from the rate and the budget;
        None when none is due now (or left: see ``spent``)."""
        due = self.due(now)
        if due is None or due > now or self.calls_left <= 0:
            return None
        self.bucket.take(now)
        self.calls_left -= 1
        if self.counting:
            self.stats["counts_calls"] += 1
            return "client.counts", {}
        fetch = self._next()
        self.stats["history_calls"] += 1
        args: _Json = {"channel": fetch.channel, "oldest": fetch.oldest, "inclusive": False, "limit": self.page}
        if fetch.cursor:
            args["cursor"] = fetch.cursor
        return "conversations.history", args

    def _next(self) -> _Fetch:
        """The conversation to fetch next: one holding live messages back first, then the most active."""
        return min(self.fetches.values(), key=lambda f: (not f.held, f.rank))

    def spent(self) -> List[_Json]:
        """A budget is spent: every conversation left is reported Missed."""
        if (self.calls_left > 0 and self.messages_left > 0) or not self.fetches:
            return []
        what = "calls" if self.calls_left <= 0 else "messages"
        out: List[_Json] = []
        for fetch in list(self.fetches.values()):
            out += self._end(fetch, "budget", f"the catch-up's budget of {what} was spent")
        return out

    def answered(self, method: str, args: _Json, answer: Mapping[str, Any], now: float,
                 ticket: Optional[int] = None) -> List[_Json]:
        """What to deliver, in order, after ``answer`` to the call ``request``
        made (``ticket``: ``round`` then; an answer to a catch-up taken up
        again since is stale, and dropped: its conversation starts over)."""
        if ticket is not None and ticket != self.round:
            return []
        if method == "client.counts":
            self.counting = False
            return self._counted(answer) + self.spent()
        fetch = self.fetches.get(str(args.get("channel")))
        if fetch is None:
            return []
        fetch.tries = 0
        messages = answer.get("messages")
        if not isinstance(messages, list):
            return self._end(fetch, "error", "conversations.history answered without a list of messages")
        for message in messages:
            key = _ts_key(message.get("ts")) if isinstance(message, dict) else None
            if key is not None and key > fetch.key:      # a server repeating itself or ignoring oldest: not again
                fetch.got.setdefault(message["ts"], message)
        cursor = _next_cursor(answer) or ""
        if cursor and cursor in fetch.cursors:         # a server going round in circles
            return self._end(fetch, "error", "conversations.history gave the same cursor again") + self.spent()
        if len(fetch.got) > self.messages_left:
            return self._end(fetch, "budget", "the catch-up's budget of messages was spent") + self.spent()
        if cursor and answer.get("has_more") is not False:
            fetch.cursor = cursor
            fetch.cursors.add(cursor)
            return self.spent()
        return self._end(fetch, None, "") + self.spent()

    def failed(self, method: str, args: _Json, error: SlackError, now: float, shown: str,
               ticket: Optional[int] = None) -> List[_Json]:
        """What to deliver after the call failed with ``error`` (``shown``:
        its text, secrets redacted; ``ticket``: see ``answered``)."""
        if ticket is not None and ticket != self.round:
            return []
        if method == "client.counts":          # a restricted team (or any refusal): every conversation is checked
            self.counting = False
            return self.spent()
        fetch = self.fetches.get(str(args.get("channel")))
        if fetch is None:
            return []
        if isinstance(error, RateLimited):
            wait = error.retry_after if error.retry_after is not None else 60.0
            if wait <= CATCH_UP_MAX_WAIT:
                self.limited_until = now + wait
                return self.spent()
            return self._end_all(f"rate limited: Slack asked to wait {wait:.0f} s, longer than a catch-up waits "
                                 f"({CATCH_UP_MAX_WAIT:.0f} s)")
        if isinstance(error, AuthError) and not isinstance(error, (MissingScope, NoPermission)):
            return self._end_all(shown)        # the token cannot read history: nothing more can be fetched
        transient = isinstance(error, (RetryableError, TransportError, InvalidResponse))
        fetch.tries += 1
        if transient and fetch.tries < CATCH_UP_TRIES:
            self.retry_at = now + 2.0 ** fetch.tries
            return self.spent()
        return self._end(fetch, "error", shown) + self.spent()

    def _end_all(self, why: str) -> List[_Json]:
        out: List[_Json] = []
        for fetch in list(self.fetches.values()):
            out += self._end(fetch, "error", why)
        return out

    def _counted(self, answer: Mapping[str, Any]) -> List[_Json]:
        """client.counts answered: a conversation whose newest message is
        not after where its catch-up starts has nothing to fetch."""
        latest: Dict[str, Optional[int]] = {}
        for kind in ("channels", "mpims", "ims", "groups"):
            for count in answer.get(kind) or ():
                if isinstance(count, dict) and isinstance(count.get("id"), str):
                    latest[count["id"]] = _ts_key(count.get("latest"))
        out: List[_Json] = []
        for fetch in list(self.fetches.values()):
            key = latest.get(fetch.channel, math.inf)       # not in the answer: checked all the same
            if key is not None and key <= fetch.key and not fetch.got:
                out += self._end(fetch, None, "")
        return out

    def _end(self, fetch: _Fetch, reason: Optional[str], why: str) -> List[_Json]:
        """The conversation's catch-up ends: a Missed report (if ``reason``),
        its messages in ts order, then the live ones held back (not twice)."""
        del self.fetches[fetch.channel]
        got = sorted(fetch.got.items(), key=lambda item: _ts_key(item[0]) or 0)
        if len(got) > self.messages_left:
            got = got[len(got) - self.messages_left:]       # the newest: what is missing is older
        self.messages_left -= len(got)
        out: List[_Json] = []
        if reason is not None:
            latest = got[0][0] if got else None
            out.append(Missed(type="missed", channel=fetch.channel, oldest=fetch.oldest, latest=latest,
                              reason=reason, error=why))
            self.stats["missed"] += 1
        caught = self.caught.setdefault(fetch.channel, set())
        for ts, message in got:
            out.append(CaughtUp(message) if "channel" in message else CaughtUp(message, channel=fetch.channel))
            caught.add(ts)
            self._note(fetch.channel, ts)
        self.stats["caught_up"] += len(got)
        for ts, item in fetch.held:
            if ts in caught:
                self.stats["live_duplicates"] += 1
            else:
                self._note(fetch.channel, ts)
                out.append(item)
        return out


###############################################################################
# I/O shell: the RTM session on websocket-client ##############################
###############################################################################
#
# websocket-client does the framing (RFC 6455); the connection under it is
# ours: _dial() makes it (through a proxy's CONNECT tunnel, TLS verified),
# and a _Wire gives it to websocket-client as a socket that reads in big
# chunks, bounds the upgrade, and never waits past a deadline.  A _Link is
# one connection; the Session holds the current one and does what the
# RtmProtocol says.

#: Bytes read from the socket at once, served to websocket-client's small reads.
_READ_CHUNK = 256 << 10
#: The largest upgrade answer (status line and headers) read (RFC 6455 4.1).
MAX_UPGRADE_BYTES: int = 64 << 10
#: The most fragments one message may come in.  Each costs a frame's work, so
#: a server sending a message a few bytes at a time cannot burn a core.
MAX_FRAGMENTS = 4096
#: The buffer of frames a waiting sender read for the iterator: at most
#: ``max_buffer`` frames and this many bytes; past either the oldest go,
#: with a warning (a session whose iterator nobody reads must not fail).
MAX_BUFFER_BYTES: int = 64 << 20
#: Seconds a polite close frame may take to leave.
_CLOSE_TIMEOUT = 1.0

_TEXT, _BINARY, _CONT, _CLOSE, _PING, _PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def _websocket() -> Any:                     # the websocket module
    return _require("RTM sessions", "websocket", "urllib3")      # a session calls rtm.start first


#: A _Wire deadline that reads only what has come, never waiting.
_NO_WAIT = -math.inf


class _DeadlineReached(TimeoutError):
    """A wait reached its deadline (a TimeoutError, as websocket-client and
    the socket module expect of a socket)."""


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (time.monotonic), or _DeadlineReached."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _DeadlineReached("timed out")
    return left


#: How a session waits to read: ``wait(poll, until)`` is False once
#: ``until`` (the session clock's time; None: never) has come, else True
#: when the socket may be readable (``poll`` is a select.poll holding it).
_Waiter = Callable[[Any, Optional[float]], bool]


def _waiter(clock: _Clock) -> _Waiter:
    """The clock's own ``wait(poll, until)`` if it has one (a test's fake
    clock moves its time there: no real time passes), else a poll() for the
    seconds left on the clock."""
    own = getattr(clock, "wait", None)
    if callable(own):
        return own                             # type: ignore[no-any-return]  # the documented protocol

    def wait(poll: Any, until: Optional[float]) -> bool:
        left = None if until is None else until - clock()
        if left is not None and left <= 0:
            return False
        poll.poll(None if left is None else left * 1000.0)
        return True
    return wait


class _Wire:
    """The socket under websocket-client.

    websocket-client reads each frame in three small reads (header, length,
    payload), each one or two system calls on a plain socket; here they are
    served from one buffer that a poll and a recv_into fill.  The socket is
    non-blocking and every wait is ours: no read waits past ``deadline``
    (the session clock's time; None for none), even while bytes trickle,
    and no send past ``send_timeout`` (real seconds).  Until the upgrade is
    answered, the status line and headers are read whole, bounded in size,
    and anything but 101 is refused before websocket-client reads a body or
    follows a redirect.  The upgrade request's ``hidden`` stand-ins (bytes)
    are replaced here by what they stand for, so that websocket-client,
    which traces the request it makes, never holds the secrets.
    """

    def __init__(self, sock: "socket.socket", deadline: Optional[float], send_timeout: float,
                 secrets: Sequence[str] = (), clock: _Clock = time.monotonic,
                 hidden: Sequence[Tuple[bytes, bytes]] = ()) -> None:
        import select
        import ssl
        self.sock, self.deadline, self.send_timeout, self.secrets = sock, deadline, send_timeout, secrets
        self._hidden = tuple(hidden)
        self.clock, self._wait = clock, _waiter(clock)
        self._tls = isinstance(sock, ssl.SSLSocket)
        self._again = (BlockingIOError, InterruptedError, ssl.SSLWantReadError)
        self._want_write = ssl.SSLWantWriteError
        self._buf = bytearray(_READ_CHUNK)
        self._view = memoryview(self._buf)
        self._pos = self._end = 0
        self._upgrading = True
        self._closed: "Type[websocket.WebSocketConnectionClosedException]" = (
            _websocket().WebSocketConnectionClosedException)
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        sock.setblocking(False)

    # websocket-client sees a socket without a timeout, and so calls recv and
    # send directly: the timing is ours.
    def gettimeout(self) -> float:
        return 0.0

    def settimeout(self, timeout: Optional[float]) -> None:
        pass

    def recv(self, size: int) -> bytes:
        pos, end = self._pos, self._end
        if pos == end:
            if self._upgrading:
                self._read_upgrade()
            else:
                self._end = self._read_into(0, _READ_CHUNK)
                self._pos = 0
            pos, end = 0, self._end
            if not end:
                raise self._closed("Connection to remote host was lost.")
        stop = pos + size if pos + size < end else end
        self._pos = stop
        return bytes(self._view[pos:stop])

    def _read_into(self, start: int, stop: int) -> int:
        """Read what has come into the buffer at ``start``: its length, 0 at
        the end.  Once the deadline has passed, what is readable is still
        taken (a read that would block raises _DeadlineReached): a deadline
        that came while a team page was fetched must not leave the frames
        that came meanwhile unread."""
        while True:
            late = False
            if not (self._tls and self.sock.pending()):     # type: ignore[attr-defined]  # _tls: an SSLSocket
                late = not self._wait(self._poll, self.deadline)
            try:
                return self.sock.recv_into(self._view[start:stop])
            except self._again:
                if late:
                    raise _DeadlineReached("timed out") from None
            except self._want_write:
                self._wait_select(write=True, deadline=time.monotonic() + self.send_timeout)

    def buffered(self) -> bool:
        """Whether bytes are here to read without waiting (in the buffer, or TLS's)."""
        return self._pos < self._end or bool(self._tls and self.sock.pending())  # type: ignore[attr-defined]  # _tls: an SSLSocket

    def _wait_select(self, write: bool, deadline: Optional[float]) -> None:
        import select
        timeout = None if deadline is None else _left(deadline)
        select.select(() if write else (self.sock,), (self.sock,) if write else (), (), timeout)

    def _read_upgrade(self) -> None:
        end = 0
        while self._buf.find(b"\r\n\r\n", 0, end) < 0:
            if end >= MAX_UPGRADE_BYTES:
                raise UpgradeRefused(f"an upgrade answer over {MAX_UPGRADE_BYTES} bytes (status line and headers)")
            got = self._read_into(end, MAX_UPGRADE_BYTES)
            if not got:
                raise ConnectionClosed("the server closed the connection before answering the upgrade")
            end += got
        self._pos, self._end, self._upgrading = 0, end, False
        status = bytes(self._buf[:self._buf.find(b"\r\n")])
        code = status.split(b" ", 2)[1:2]
        if code != [b"101"]:
            redirect = " (redirects are not followed)" if code[:1] and code[0][:1] == b"3" else ""
            raise UpgradeRefused(f"the server refused the WebSocket upgrade: {_quote(status, 100, self.secrets)}"
                                 f"{redirect}")

    def send(self, data: bytes) -> int:
        if self._hidden:
            return self._send_upgrade(data)
        deadline = time.monotonic() + self.send_timeout
        while True:
            try:
                return self.sock.send(data)
            except (BlockingIOError, InterruptedError, self._want_write):
                self._wait_select(write=True, deadline=deadline)
            except self._again:                   # TLS wants to read first
                self._wait_select(write=False, deadline=deadline)

    def _send_upgrade(self, data: bytes) -> int:
        """Send the upgrade request whole (websocket-client sends it in one
        call, and does not look at what was sent), the stand-ins replaced."""
        real = data
        for stand_in, secret in self._hidden:
            real = real.replace(stand_in, secret)
        self._hidden = ()
        sent = 0
        while sent < len(real):
            sent += self.send(real[sent:])
        return len(data)

    def shutdown(self, how: Optional[int] = None) -> None:
        """Wake every thread waiting on this connection (safe from any thread)."""
        _shutdown(self.sock)

    def close(self) -> None:
        """Close the socket and free the buffer (websocket-client's objects
        live in reference cycles until the next collection: they keep none
        of it)."""
        self.sock.close()
        if self._view is not None:
            self._view.release()
            self._buf = self._view = None         # type: ignore[assignment]  # closed: never read again

    def fileno(self) -> int:
        return self.sock.fileno()


def _dial(parts: urllib.parse.SplitResult, via: Optional[_Proxy], ssl_context: Optional["ssl.SSLContext"],
          ca_certs: Optional[str], deadline: float, opening: Callable[["socket.socket"], None],
          user_agent: str, secrets: Sequence[str] = ()) -> "socket.socket":
    """A socket connected to the WebSocket URL's host, before ``deadline``:
    through the proxy ``via`` (an HTTP CONNECT tunnel) if given, TLS for
    wss:// (``ssl_context``, or a default one trusting ``ca_certs``).
    ``opening(sock)`` is told of each socket as it is made, before it
    connects.  A connection that cannot be made is a TransportError naming
    the port, and the host as _shown_host shows it (no ConnectionClosed:
    nothing was open)."""
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "wss" else 80)
    target = (via.host, via.port) if via else (host, port)
    try:
        sock = _connect_tcp(target, deadline, opening)      # type: ignore[arg-type]  # _check_ws_url: a host
    except SlackError:                          # opening(): the session was closed
        raise
    except OSError as exc:                      # refused, unreachable, no such name, or the deadline
        shown = (f"the proxy at {_authority(*target)}" if via       # type: ignore[arg-type]  # a host: checked
                 else _authority(_shown_host(host), port))          # type: ignore[arg-type]  # a host: checked
        _raise(_foreign(exc, f"WebSocket: could not connect to {shown}", secrets))
    try:
        opening(sock)
        if via:
            _tunnel(sock, host, port, via, deadline,    # type: ignore[arg-type]  # _check_ws_url: it has a host
                    user_agent, secrets)
        if parts.scheme == "wss":                   # any case: urlsplit reads "WSS://" as wss too
            import ssl
            context = ssl_context or ssl.create_default_context(cafile=ca_certs)
            sock.settimeout(_left(deadline))
            sock = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
            opening(sock)
            sock.do_handshake()
    except BaseException:
        sock.close()
        raise
    return sock


def _connect_tcp(target: Tuple[str, int], deadline: float,
                 opening: Callable[["socket.socket"], None]) -> "socket.socket":
    """A TCP connection to ``target`` before ``deadline``, made as
    socket.create_connection makes one (each address in turn), except that
    ``opening(sock)`` is told of each socket before it connects: close()
    can then shut it down, which ends a connect() hanging on a host that
    drops the SYN at once, instead of after the deadline."""
    import socket
    error: Optional[OSError] = None
    for family, kind, proto, _, address in socket.getaddrinfo(*target, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            opening(sock)
            sock.settimeout(_left(deadline))
            sock.connect(address)
            # Frames are small and wait for no more (an ack, a message):
            # Nagle would hold each until the last one's TCP ack came back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except SlackError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("the host name has no address")


def _shown_host(host: str) -> str:
    """``host`` for a message or a log line when it cannot be a secret
    that a server echoed into the WebSocket URL (an IP address, a loopback
    name, a host of Slack's domains); otherwise words naming none of it
    (redacting would not do: urlsplit lowercases the host, not the token)."""
    import ipaddress
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        return host if _is_loopback(host) or _cookie_scope(host) in _SLACK_DOMAINS else "the WebSocket URL's host"


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tunnel(sock: "socket.socket", host: str, port: int, via: _Proxy, deadline: float,
            user_agent: str, secrets: Sequence[str] = ()) -> None:
    """Open a CONNECT tunnel through an HTTP proxy (RFC 9110, 9.3.6), with
    Basic credentials from the proxy URL's user info."""
    authority = _authority(host, port)
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", f"User-Agent: {user_agent}"]
    lines += [f"{name}: {value}" for name, value in (via.headers or {}).items()]
    sock.settimeout(_left(deadline))
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("idna" if not host.isascii() else "ascii"))
    head = b""
    while b"\r\n\r\n" not in head:
        if len(head) > MAX_UPGRADE_BYTES:
            raise UpgradeRefused(f"the proxy's answer to CONNECT is over {MAX_UPGRADE_BYTES} bytes")
        sock.settimeout(_left(deadline))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionClosed("the proxy closed the connection before answering CONNECT")
        head += chunk
    status = head.split(b"\r\n", 1)[0]
    if status.split(b" ", 2)[1:2] != [b"200"] or not head.endswith(b"\r\n\r\n"):
        raise UpgradeRefused(f"the proxy refused the tunnel: {_quote(status, 100, secrets)}")


class _MessageSize:
    """The bytes of the message being read, against ``limit``.

    websocket-client reads a whole frame into memory before returning it,
    with no limit of its own, so a broken or hostile server could exhaust
    memory with one frame (or endless fragments).  The count is checked when
    each frame's header announces its length, before the payload is read;
    it restarts when a message is complete.
    """

    __slots__ = ("limit", "count")

    def __init__(self, limit: int) -> None:
        self.limit, self.count = limit, 0

    def refuse(self) -> NoReturn:
        raise MessageTooLarge(f"a message of more than {self.limit} bytes (max_message_size); "
                              "the connection is dropped, as the rest of it cannot be skipped")

    def watch(self, ws: "websocket.WebSocket") -> None:
        """Hook the frame reader of ``ws`` at its per-frame length read."""
        frames = ws.frame_buffer
        read_length = frames.recv_length

        def recv_length() -> None:             # once per frame: kept to the one call
            read_length()
            self.count += frames.length        # type: ignore[operator]  # read_length() just set it
            if self.count > self.limit:
                self.refuse()
        frames.recv_length = recv_length       # type: ignore[method-assign]  # the hook, on this instance

    @staticmethod
    def unwatch(ws: "websocket.WebSocket") -> None:
        ws.frame_buffer.__dict__.pop("recv_length", None)


class _Link:
    """One RTM connection: websocket-client's WebSocket over a _Wire, the
    size bound, and the fragments of the message being read.  The one place
    where websocket-client's, the socket's and TLS's exceptions become ours
    (as httpx maps httpcore's): its methods raise only SlackError.
    ``hello()``, ``read()`` and ``release()`` belong to the thread holding
    the session's read lock; ``send()`` and ``shutdown()`` may come from
    any thread."""

    __slots__ = ("ws", "wire", "size", "parts", "errors", "timeout", "secrets")

    def __init__(self, ws: "websocket.WebSocket", wire: _Wire, max_message_size: int,
                 secrets: Tuple[str, ...]) -> None:
        websocket = _websocket()
        self.ws, self.wire, self.secrets = ws, wire, secrets
        self.size = _MessageSize(max_message_size)
        self.size.watch(ws)
        # The frame reader reads the wire itself, not through the two
        # wrappers (WebSocket._recv, websocket._socket.recv) that map a
        # socket's timeouts and end to websocket-client's exceptions: the
        # wire raises those itself.  A third of the reading time, per frame.
        # (websocket-client 1.9.0 annotates that reader as returning int: it returns bytes.)
        if callable(getattr(ws.frame_buffer, "recv", None)):
            ws.frame_buffer.recv = wire.recv      # type: ignore[assignment, unused-ignore]
        self.parts: Optional[List[bytes]] = None
        self.errors: Tuple[Type[Exception], ...] = (websocket.WebSocketException, OSError)
        self.timeout: Tuple[Type[Exception], ...] = (websocket.WebSocketTimeoutException, _DeadlineReached)

    @classmethod
    def open(cls, url: str, *, base_url: str, proxy: Union[str, "Literal[False]", None],
             ssl_context: Optional["ssl.SSLContext"], ca_certs: Optional[str], timeout: float,
             send_timeout: float, max_message_size: int,
             cookie: Optional[str], user_agent: str, opening: Callable[["socket.socket"], None],
             secrets: Tuple[str, ...], clock: _Clock = time.monotonic) -> "_Link":
        """Connect, upgrade (within ``timeout`` seconds: real ones to dial,
        the session clock's to read) and return the link."""
        websocket = _websocket()
        parts = _check_ws_url(url, base_url, cookie)
        secrets = (url, parts.path, parts.query) + secrets
        proxy_url = _proxy_for(url, proxy)
        via = _parse_proxy(proxy_url) if proxy_url else None
        deadline = time.monotonic() + timeout
        shown, shown_cookie, hidden = _stand_ins(parts, cookie)
        try:
            wire = _Wire(_dial(parts, via, ssl_context, ca_certs, deadline, opening, user_agent, secrets),
                         clock() + timeout, send_timeout, secrets, clock, hidden)
            try:
                ws = websocket.create_connection(shown, socket=wire, skip_utf8_validation=True,
                                                 enable_multithread=True, redirect_limit=0,
                                                 header={"User-Agent": user_agent}, cookie=shown_cookie)
                link = cls(ws, wire, max_message_size, secrets)
            except BaseException:
                wire.close()
                raise
        except SlackError:                      # ours (a TransportError is an OSError too)
            raise
        except (websocket.WebSocketException, OSError) as exc:
            _raise(_foreign(exc, "WebSocket", secrets))
        log.debug("WebSocket open to %s", _shown_host(parts.hostname))     # type: ignore[arg-type]  # checked: a host
        return link

    def hello(self, control: _OnControl, timeout: float) -> _Json:
        """The first frame: hello, or the error frame of an expired URL."""
        data = self.read(control)
        if data is None:
            raise Timeout(f"no hello within {timeout} s")
        try:
            event = decode_frame(data)
        except ProtocolError as error:          # quoted again: the frame may echo the URL's ticket
            raise _requoted(error, self.secrets, BadHello, "the first frame: ") from None
        if event.get("type") == "hello":
            return event
        # mypy (misc) refuses the except's name reused below, as if still deleted: it is a new variable
        error = event.get("error") if isinstance(event.get("error"), dict) else {}  # type: ignore[misc]  # see above
        if event.get("type") == "error" and error.get("code") == 1:  # type: ignore[misc]  # see above
            raise UrlExpired("the WebSocket URL has expired: "
                             f"{_quote(error.get('msg'), 100, self.secrets)}")  # type: ignore[misc]  # see above
        raise BadHello(f"the first frame was not hello: {_quote(data, 100, self.secrets)}")

    def read(self, control: _OnControl) -> Optional[bytes]:
        """The payload of the next complete text message, or None when the
        wire's deadline came first.  Pings are answered and, with pongs,
        told to ``control(now)`` (the wire's clock: the session's), whose
        Drop ends the connection; fragments are joined once, at the end."""
        ws = self.ws
        try:
            while True:
                frame: "_Frame" = ws.recv_frame()    # type: ignore[no-untyped-call]  # unannotated there
                opcode = frame.opcode
                if opcode == _TEXT and self.parts is None:
                    if frame.fin:
                        self.size.count = 0
                        return frame.data
                    self.parts = [frame.data]
                elif opcode == _CONT and self.parts is not None:
                    self.parts.append(frame.data)
                    if frame.fin:
                        data, self.parts, self.size.count = b"".join(self.parts), None, 0
                        return data
                    if len(self.parts) > MAX_FRAGMENTS:
                        raise ConnectionClosed(f"a message in more than {MAX_FRAGMENTS} fragments")
                else:
                    self._other(frame, control)
        except SlackError:
            raise
        except self.timeout:
            return None
        except self.errors as exc:
            _raise(_foreign(exc, "WebSocket", self.secrets, ConnectionClosed))

    def _other(self, frame: "_Frame", control: _OnControl) -> None:
        opcode = frame.opcode
        if opcode in (_PING, _PONG):
            if opcode == _PING:
                self.ws.pong(frame.data)
            refused = control(self.wire.clock())
            if refused is not None and refused.error is not None:
                raise refused.error
        elif opcode == _CLOSE:
            code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
            error = ConnectionClosed(f"the server closed the connection (code {code})")
            error.clean = True                  # in order: reconnecting is healthy (see _Reconnects)
            raise error
        elif opcode == _BINARY and frame.fin and self.parts is None:
            self.size.count = 0                   # a whole message, skipped: the next one counts from zero
            raise ProtocolError(f"a binary frame of {len(frame.data)} bytes; RTM sends text")
        else:
            raise ConnectionClosed(f"a frame out of sequence (opcode {opcode}, fin {frame.fin}) "
                                   "breaks the WebSocket protocol")

    def send(self, text: str) -> None:
        """Send a text frame; a TransportError (ConnectionClosed, or Timeout
        when the socket had no room in time), and the link shut down (part
        of a frame may have gone), when it cannot be sent."""
        try:
            data = text.encode("utf-8")
            if len(data) < 126:                 # an ack, a ping: framed here, at a third of the cost
                self._send_small(data)
            else:
                self.ws.send(text)
        except self.errors as exc:
            self.shutdown()
            _raise(_foreign(exc, "not sent", self.secrets, ConnectionClosed))

    def _send_small(self, data: bytes) -> None:
        """One final text frame of under 126 bytes, masked (RFC 6455 5.3),
        under websocket-client's lock: frames from two threads never mix."""
        size = len(data)
        key = os.urandom(4)
        mask = int.from_bytes((key * (size // 4 + 1))[:size], "little")
        frame = bytes((0x80 | _TEXT, 0x80 | size)) + key + (int.from_bytes(data, "little") ^ mask).to_bytes(
            size, "little")
        with self.ws.lock:
            while frame:
                frame = frame[self.wire.send(frame):]

    def ping(self) -> None:
        """Send a WebSocket ping (as send() fails)."""
        try:
            self.ws.ping()
        except self.errors as exc:
            self.shutdown()
            _raise(_foreign(exc, "not sent", self.secrets, ConnectionClosed))

    def close_politely(self, reason: bytes) -> None:
        """A close frame (best effort: the connection is dropped next anyway).
        None while a send holds websocket-client's lock: its holder may be
        the very thread a signal handler's close() interrupted."""
        if not self.ws.lock.acquire(blocking=False):
            return
        self.ws.lock.release()
        self.wire.send_timeout = _CLOSE_TIMEOUT
        try:
            self.ws.send_close(reason=reason)
        except self.errors:
            pass

    def shutdown(self) -> None:
        self.wire.shutdown()

    def release(self) -> None:
        self.wire.shutdown()
        self.wire.close()
        self.size.unwatch(self.ws)              # the hook is a cycle that would keep the buffer to the next GC


def _stand_ins(parts: urllib.parse.SplitResult, cookie: Optional[str]) -> Tuple[str, Optional[str],
                                                                             Tuple[Tuple[bytes, bytes], ...]]:
    """(the URL, the cookie header's value) to give websocket-client, and
    the (stand-in, secret) pairs its upgrade request gets back on the wire.
    websocket-client prints the request it makes when its trace is on
    (websocket.enableTrace): what it is given is the URL's host alone, with
    a random stand-in for the path and query (a ticket, or the gateway's
    token) and one for the d cookie."""
    nonce = os.urandom(8).hex()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path = f"/hidden-{nonce}"
    pairs = [(f"GET {path} ".encode(), f"GET {target} ".encode("utf-8"))]
    shown_cookie = None
    if cookie is not None:
        shown_cookie = f"d=hidden-{nonce}"
        pairs.append((shown_cookie.encode(), ("d=" + _cookie_value(cookie)).encode("utf-8")))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", "")), shown_cookie, tuple(pairs)


def _check_ws_url(url: object, base_url: str, cookie: Optional[str] = None) -> urllib.parse.SplitResult:
    """The parts of a WebSocket URL: wss:// (ws:// only to loopback from a
    loopback base_url), and with a ``cookie``, a host the cookie may go to.
    No part of the URL is quoted: its host or port may be a token a server
    echoed, its path is a ticket."""
    if not isinstance(url, str):
        raise ProtocolError("refusing WebSocket URL: the answer has none")
    fault = _url_fault(url)
    if fault:
        raise ProtocolError(f"the answer's WebSocket URL is not a URL: {fault}")
    parts = urllib.parse.urlsplit(url)
    base_host = urllib.parse.urlsplit(base_url).hostname
    local = _is_loopback(base_host)
    if not (parts.hostname and (parts.scheme == "wss" or (parts.scheme == "ws" and local
                                                          and _is_loopback(parts.hostname)))):
        scheme = f"{parts.scheme}://" if parts.scheme in ("ws", "wss", "http", "https") else "another scheme"
        raise ProtocolError(f"refusing WebSocket URL ({scheme}{'' if parts.hostname else ', no host'}): "
                            "only wss:// (ws:// only to loopback, from a loopback base_url)")
    if cookie is not None and not _cookie_may_go(parts.hostname, base_host):
        scope = _cookie_scope(base_host or "")
        raise ProtocolError("refusing the WebSocket URL: the d cookie goes only to "
                            f"{'the hosts of ' if scope in _SLACK_DOMAINS else ''}{scope}, the base URL's")
    return parts


#: Slack's registrable domains (as the Public Suffix List draws them): a
#: base URL on one of them, or on a host under it (acme.slack.com,
#: acme.enterprise.slack.com), lets the ``d`` cookie go to every host of
#: that domain (the WebSocket's wss-primary.slack.com); a base URL on any
#: other host lets it go to that very host alone.  An explicit list: the
#: last two labels of a name are no domain (x.example.co.uk's are co.uk).
_SLACK_DOMAINS = ("slack.com", "slack-gov.com")


def _cookie_may_go(host: str, base_host: Optional[str]) -> bool:
    """Whether the ``d`` cookie may go to ``host`` for a base URL on
    ``base_host``: a host of _cookie_scope(base_host), and only loopback
    from loopback."""
    host, base = host.lower().rstrip("."), (base_host or "").lower().rstrip(".")
    if _is_loopback(base) or _is_loopback(host):
        return _is_loopback(base) and _is_loopback(host)
    scope = _cookie_scope(base)
    return host == scope or (scope in _SLACK_DOMAINS and host.endswith("." + scope))


def _cookie_scope(base_host: str) -> str:
    """Where the cookie goes for a base URL on ``base_host``: the Slack
    domain it is under (every host of it), else ``base_host`` itself."""
    base = base_host.lower().rstrip(".")
    return next((d for d in _SLACK_DOMAINS if base == d or base.endswith("." + d)), base)


def _check_gateway(gateway: object, web: _Json, rtm_args: _Json) -> Optional[str]:
    """The gateway a session dials instead of calling rtm.* (None: none),
    from connect()'s ``gateway``: True for DESKTOP_GATEWAY, or a ws:// or
    wss:// address (checked as any WebSocket URL is: where the d cookie may
    go), without a token of its own.  InvalidArgument otherwise, and for
    rtm.start's arguments, which no rtm.* call would carry."""
    if gateway is False:
        return None
    if gateway is not True and not isinstance(gateway, str):
        raise InvalidArgument(f"gateway must be True, False or a wss:// address, not {_kind(gateway)}")
    address = DESKTOP_GATEWAY if gateway is True else gateway
    try:
        parts = _check_ws_url(address, web["base_url"], web["cookie"])
    except ProtocolError as error:
        raise InvalidArgument(f"gateway: {str(error).replace('the answer', 'the address')}") from None
    if "token" in urllib.parse.parse_qs(parts.query):
        raise InvalidArgument("gateway: give the address alone: the session adds its token to the query")
    if rtm_args:
        raise InvalidArgument(f"gateway: no rtm.* call is made, so rtm.start's arguments "
                              f"({', '.join(sorted(rtm_args))}) would go nowhere")
    return address


def _gateway_url(gateway: str, token: str, team_id: str) -> str:
    """The gateway's URL as Slack's desktop client dials it (SLACK.md, "Who
    still uses RTM"): the token (a secret: see _stand_ins), the team's
    gateway server and the desktop client's parameters in the query."""
    parts = urllib.parse.urlsplit(gateway)
    query = urllib.parse.urlencode({"token": token, "gateway_server": f"{team_id}-1", "slack_client": "desktop",
                                    "batch_presence_aware": "1"})
    return urllib.parse.urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


def _gateway_start(answer: _Json, gateway: str) -> RtmStart:
    """The start of a gateway session, from auth.test's answer: ``self``
    (user_id, user) and ``team`` (team_id, team, and the domain: the first
    label of its url's host); ``url`` is the gateway's address, no token."""
    team_id, user_id = answer.get("team_id"), answer.get("user_id")
    if not (isinstance(team_id, str) and _is_word(team_id) and isinstance(user_id, str)):
        raise InvalidResponse("auth.test", 200, "application/json", None,
                              "no team_id and user_id to dial the gateway with")
    host = urllib.parse.urlsplit(answer["url"]).hostname if isinstance(answer.get("url"), str) else None
    team: _Json = {"id": team_id, "name": answer.get("team"), "domain": (host or "").split(".")[0] or None}
    if isinstance(answer.get("enterprise_id"), str) and answer["enterprise_id"]:
        team["enterprise_id"] = answer["enterprise_id"]
    return RtmStart._adopt({"ok": True, "url": gateway, "self": {"id": user_id, "name": answer.get("user")},
                            "team": team})


class _Connector:
    """Makes a session's connections: the rtm.* call, the WebSocket within
    its 30 seconds, the hello, the RtmStart (rtm.connect keeps the team data
    already fetched), retrying as the _Reconnects policy says.  Tells the
    session of each socket it makes, so that close() can stop it.  With a
    ``gateway``, no rtm.* call: auth.test once, then the gateway, each
    time.  A reconnect first tries the URL ``reconnect_url()`` gives (the
    newest reconnect_url frame's), once; when it fails, the usual way at
    once."""

    def __init__(self, token: str, rtm_args: _Json, web: _Json, *, policy: _Reconnects, hello_timeout: float,
                 max_message_size: int, clock: _Clock, sleep: Callable[[float], object],
                 closing: _Cancel, gateway: Optional[str] = None,
                 reconnect_url: Optional[Callable[[], Optional[str]]] = None) -> None:
        _check_token(token)
        _check_seconds("timeout", web["timeout"])   # a session's sends and pages need a bound: None is none
        _check_base_url(web["base_url"], web["allow_http"])
        _check_ssl_context(web["ssl_context"])
        if isinstance(web["proxy"], str) and web["proxy"]:
            _parse_proxy(web["proxy"])          # refused before any I/O, as the pool would
        self.user_agent = _user_agent(web["user_agent"])
        _websocket()
        self.token, self.rtm_args, self.web, self.policy = token, rtm_args, web, policy
        self.secrets = _secrets(token, web["cookie"])
        self.hello_timeout, self.max_message_size = hello_timeout, max_message_size
        self.clock, self.sleep, self.closing = clock, sleep, closing
        self.gateway, self.reconnect_url = gateway, reconnect_url
        self.start: Optional[RtmStart] = None
        self.team_answer: Optional[_Json] = None
        self.socket: Optional["socket.socket"] = None   # the one being connected, for stop()
        self.first_wait = 0.0                    # before the next connect(), after a loss
        self.lock = threading.RLock()            # reentrant: close() may come from a signal handler
        self.counts = {"connections": 0, "rtm_calls": 0}

    def opening(self, sock: Optional["socket.socket"], done: bool = False) -> None:
        """The socket being connected (None: none); ConnectionClosed instead
        once the session is closed."""
        with self.lock:
            if self.closing.is_set() and not done:
                raise ConnectionClosed("the session was closed")
            self.socket = sock

    def stop(self) -> None:
        """close(): shut down the socket being connected, if any (the
        session's closing event is set)."""
        with self.lock:
            if self.socket is not None:
                _shutdown(self.socket)

    def lost(self, now: float, healthy: bool) -> None:
        """The session's connection was lost at ``now`` (``healthy``: see
        _Reconnects): the next connect() first waits as the policy says."""
        self.first_wait = self.policy.lost(now, healthy)

    def connect(self, method: str, control: _OnControl) -> Tuple[_Link, _Json, RtmStart]:
        """(link, hello, start), or the last error when the policy gives up."""
        if self.first_wait:
            self.wait(self.first_wait, "reconnecting in %.1f s")
            self.first_wait = 0.0
        resumed = self._resume(control)
        if resumed is not None:
            return resumed
        while True:
            self.opening(None)                   # raises once the session is closed
            try:
                if self.gateway is not None:
                    return self._via_gateway(self.gateway, control)
                return self._once(method, control)
            except RtmConnectRequired:
                if method == "rtm.connect":
                    raise
                log.info("rtm.start: rtm_connect_required; falling back to rtm.connect")
                _warn(MethodDeprecatedWarning("rtm.start", "method_deprecated",
                                              "this app must use rtm.connect (rtm_connect_required)"))
                method = "rtm.connect"
            except SlackError as error:
                if self.closing.is_set():       # close() cut the try short: no "trying again" after it
                    raise self.closing.error(method) from None
                wait = self.policy.failed(error, self.clock())
                if wait is None:
                    raise
                if isinstance(error, UrlExpired):
                    method = "rtm.connect"
                self.wait(wait, f"connecting failed ({error}); trying again in %.1f s",
                          logging.WARNING if wait else logging.INFO, getattr(error, "retry_after", None))

    def wait(self, wait: float, message: str, level: int = logging.INFO,
             retry_after: Optional[float] = None) -> None:
        """Log ``message`` and sleep ``wait``; say so when a Retry-After asked
        for more than the backoff's cap (jitter alone may pass it too)."""
        log.log(level, message, wait)
        if self.policy.paced:
            log.info("%.1f s of it keeps the rtm.* calls within Slack's Tier 1 (a burst of %d, then one a "
                     "minute)", self.policy.paced, RTM_CALL_BURST)
        if retry_after is not None and retry_after > self.policy.backoff.cap:     # not the Tier 1 pacing
            log.warning("waiting %.0f s, longer than the backoff's cap, as Slack's Retry-After asks", wait)
        self.sleep(wait)

    def _once(self, method: str, control: _OnControl) -> Tuple[_Link, _Json, RtmStart]:
        asked = self.clock()
        args = self.rtm_args if method == "rtm.start" else {
            k: v for k, v in self.rtm_args.items() if k in ("presence_sub", "batch_presence_aware")}
        self.policy.calling(asked)
        answer = _call(method, self.token, args, **self.web)
        self.counts["rtm_calls"] += 1
        if method == "rtm.start":
            self.team_answer = answer           # kept even if this URL fails: rtm.connect adds a fresh one
        fetched = self.clock()
        if fetched - asked > URL_LIFETIME:      # a slow download of a large team: the URL is already dead
            raise UrlExpired(f"the answer took {fetched - asked:.0f} s, longer than its URL lives")
        url = answer.get("url")
        link = self._open(url)                  # first: the URL lives 30 seconds; the data can wait
        try:
            hello = link.hello(control, self.hello_timeout)
            start = self._start_of(answer, url, method)
        except BaseException:
            link.release()
            raise
        self.counts["connections"] += 1
        self.policy.connected(self.clock())
        log.info("connected to team %s (%.2f s after the answer)",     # the server's id: it may echo a secret
                 _quote(start.team and start.team.id, 40, link.secrets), self.clock() - fetched)
        return link, hello, start

    def _resume(self, control: _OnControl) -> Optional[Tuple[_Link, _Json, RtmStart]]:
        """A connection through the newest reconnect_url frame's URL (taken:
        it is single-use), or None when there is none or it failed: an
        upgrade refused, an expired URL, no hello, a URL the cookie may not
        go to.  The start stays the one the session has."""
        start = self.start
        url = self.reconnect_url() if self.reconnect_url is not None and start is not None else None
        if url is None or start is None:
            return None
        self.opening(None)                       # raises once the session is closed
        try:
            link, hello = self._greeted(url, control)
        except SlackError as error:
            if self.closing.is_set():
                raise self.closing.error("reconnect_url") from None
            log.info("the reconnect URL failed (%s); connecting anew", error)
            return None
        return self._up(link, hello, start, "through the reconnect URL")

    def _via_gateway(self, gateway: str, control: _OnControl) -> Tuple[_Link, _Json, RtmStart]:
        """A connection to the gateway; auth.test first, once (its answer is
        the start, kept for every reconnect)."""
        if self.start is None:
            self.start = _gateway_start(_call("auth.test", self.token, {}, **self.web), gateway)
        link, hello = self._greeted(_gateway_url(gateway, self.token, self.start.team.id), control)
        return self._up(link, hello, self.start, "through the gateway")

    def _greeted(self, url: str, control: _OnControl) -> Tuple[_Link, _Json]:
        """A link to ``url`` that said hello (released when it did not)."""
        link = self._open(url)
        try:
            return link, link.hello(control, self.hello_timeout)
        except BaseException:
            link.release()
            raise

    def _up(self, link: _Link, hello: _Json, start: RtmStart, how: str) -> Tuple[_Link, _Json, RtmStart]:
        self.counts["connections"] += 1
        self.policy.connected(self.clock())
        log.info("connected to team %s %s", _quote(start.team and start.team.id, 40, link.secrets), how)
        return link, hello, start

    def _start_of(self, answer: "SlackResponse", url: Any, method: str) -> RtmStart:
        start: RtmStart
        if method == "rtm.start":
            start = RtmStart._from_response(answer)
        elif self.start is not None or self.team_answer is not None:
            data = self.start.__dict__ if self.start is not None else self.team_answer
            start = RtmStart._adopt(dict(data, url=url))   # type: ignore[arg-type]  # not None: the elif
        else:
            start = RtmStart._from_response(answer)
        self.start, self.team_answer = start, None
        return start

    def _open(self, url: Any) -> _Link:               # the answer's url, whatever it is
        web = self.web
        try:
            return _Link.open(url, base_url=web["base_url"], proxy=web["proxy"], ssl_context=web["ssl_context"],
                              ca_certs=web["ca_certs"], timeout=self.hello_timeout, send_timeout=web["timeout"],
                              max_message_size=self.max_message_size, cookie=web["cookie"],
                              user_agent=self.user_agent, opening=self.opening, secrets=self.secrets,
                              clock=self.clock)
        finally:
            self.opening(None, done=True)


class _RtmStartArgs(TypedDict, total=False):
    """rtm.start's arguments (its documentation and recorded calls), as
    connect() takes them: None leaves one out.  A new one goes in
    ``rtm_args={...}``, so that a misspelt option is not sent to Slack."""

    simple_latest: Optional[bool]
    no_unreads: Optional[bool]
    mpim_aware: Optional[bool]
    presence_sub: Optional[bool]
    batch_presence_aware: Optional[bool]
    no_latest: Optional[bool]
    include_locale: Optional[bool]


#: The names of rtm.start's arguments that connect() takes as keywords.
RTM_START_ARGS: FrozenSet[str] = frozenset(_RtmStartArgs.__annotations__)


def _refuse_unknown_options(args: Mapping[str, object]) -> None:
    """Refuse a keyword of connect() that is neither an option nor one of
    rtm.start's arguments: a misspelt option (naming the one meant), not an
    argument for Slack, which goes in rtm_args."""
    unknown = sorted(set(args) - RTM_START_ARGS)
    if unknown:
        _refuse_misspelt("connect", unknown, _keywords_of(Session.__init__) + tuple(RTM_START_ARGS),
                         hatch="rtm_args")
        raise InvalidArgument(f"unknown option {', '.join(map(repr, unknown))} (rtm.start's arguments are "
                              f"{', '.join(sorted(RTM_START_ARGS))}; give a new one in rtm_args={{...}})")
#: After a reconnect, users are loaded again only for a team this small: a
#: large team's users come from user_change / team_join and lazy users.info.
REFRESH_USERS_UP_TO = 1000


class _TeamKeeper:
    """A session's TeamState: made at the first hello, from the rtm.start
    answer when it carries the lists (before 2022) and otherwise loaded from
    the Web API; after each reconnect, what the gap may have changed is
    loaded again: the parts loaded whole (``whole``), the users only for a
    team of at most REFRESH_USERS_UP_TO.  A reconnect during the first load
    lets it go on from its cursor, and what it had finished is loaded again
    after it (``owed``); one during a refresh starts the refresh again.  The
    state is complete only once every part was loaded whole.  The load is a
    _TeamLoader that the iterating thread steps between frames: ``step()``
    runs one page when it is due, ``due()`` says when the read must wake for
    the next; ``stop()`` ends it (close()).  A page holds the frames up
    while it lasts, so frames go first (_FramesFirst; ``waiting()`` says
    whether some wait).  A load that fails is logged and leaves the state
    incomplete: names are a help, the session goes on without them."""

    def __init__(self, token: str, web: _Json, team: Union[str, Iterable[str], None], presence: bool,
                 clock: _Clock, closing: threading.Event, drain: Callable[[], object] = lambda: None,
                 frames: Callable[[], int] = lambda: 0, waiting: Callable[[], bool] = lambda: False) -> None:
        self.token, self.parts, self.presence, self.drain = token, _team_parts(team), presence, drain
        self.clock, self.closing, self.web = clock, closing, web
        self.turn = _FramesFirst(clock, frames, waiting, drain)
        # A page, or a lazy lookup, is one try of at most TEAM_PAGE_TIMEOUT: what a frame waits at most.
        self.overrides = {"timeout": min(web["timeout"], TEAM_PAGE_TIMEOUT)}
        self.state: Optional[TeamState] = None
        self.loader: Optional[_TeamLoader] = None
        self.stepping = threading.Lock()          # one page at a time, whichever thread steps
        self.whole: FrozenSet[str] = frozenset()  # the parts loaded whole by a load that ended
        self.why: Optional[str] = None            # why the first load did not get them all
        self.owed: FrozenSet[str] = frozenset()   # loaded again once the first load ends

    def apply(self, event: _Json) -> _Json:
        """The event, once the state shows what it describes (and the state
        being loaded again, so that the refresh does not lose it)."""
        if self.state is not None:
            self.state.apply(event)
            fresh = self.loader.fresh if self.loader is not None else None
            if fresh is not None:
                fresh.apply(event)
        return event

    def connected(self, start: RtmStart, fast: bool = False) -> None:
        """The connection is up: make the state and start its load, or start
        loading again what the gap may have changed, unless the hello said
        ``fast`` (``fast_reconnect``: the server kept the session, and sent
        what the gap changed).  No I/O here."""
        loader, state = self.loader, self.state
        if loader is not None and loader.over:   # it ended on another thread (wait_team), not yet noted
            self._ended(loader)
            loader = self.loader
        if state is None:
            lookup = _Lookups(self.token, self.web, self.clock, self.overrides)
            state = self.state = TeamState.from_start(start, presence=self.presence, lookup=lookup)
            if start.__dict__.get("users"):      # before 2022: the lists came in the answer
                self.whole = self.parts
            else:
                self._start(state, self.parts, replace=False)
        elif fast:
            log.debug("a fast reconnect: the team state is not loaded again")
        elif loader is not None and loader.fresh is None and not loader.over:
            self.owed = frozenset(loader.done)    # the first load goes on; what it finished comes again after
        else:
            self._refresh(state, self.whole)

    def _refresh(self, state: TeamState, parts: FrozenSet[str]) -> None:
        if len(state.users) > REFRESH_USERS_UP_TO:
            parts -= {"users"}                   # a large team's users: from events and lazy users.info
        self._start(state, parts, replace=True)

    def _start(self, state: TeamState, parts: FrozenSet[str], replace: bool) -> None:
        """Start a load of ``parts``, stopping the one it replaces."""
        old, self.loader = self.loader, None
        unfinished = None if self.whole >= self.parts else self.why
        if old is not None and not old.over:
            old.close("stopped: loaded again after a reconnect")
            state.incomplete = unfinished
        self.loader = _TeamLoader(state, self.token, self.web, parts, replace=replace, policy=Retry(),
                                  bounds=(TEAM_MAX_PAGES, TEAM_MAX_ITEMS, TEAM_MAX_SECONDS, TEAM_MAX_BYTES),
                                  clock=self.clock, closing=self.closing, overrides=self.overrides,
                                  unfinished=unfinished) if parts else None

    def _ended(self, loader: _TeamLoader) -> None:
        """A load ended: note what the first one got whole; run the refresh it owes."""
        self.loader = None
        if loader.fresh is None:
            self.whole, self.why = frozenset(loader.done), loader.state.incomplete
        owed, self.owed = self.owed & self.whole, frozenset()
        if owed:
            self._refresh(loader.state, owed)

    def lists_conversations(self) -> bool:
        """Whether the state lists every conversation of the user (a load of them all ended whole)."""
        return self.state is not None and self.state.complete and frozenset(_CONVERSATION_TYPES) <= self.whole

    def stop(self) -> None:
        """close(): the load ends at once, the state saying so.  Safe from
        any thread and a signal handler: the pool is cleared here only when
        no page is being fetched (its queue's lock may be held), else by the
        step as it ends."""
        loader, self.loader, self.owed = self.loader, None, frozenset()
        if loader is not None and self.stepping.acquire(blocking=False):
            try:
                loader.close()
            finally:
                self.stepping.release()
        elif loader is not None:
            loader.close(release=False)

    def due(self, patient: bool = False) -> Optional[float]:
        """When the load's next page is due (the clock's time), or None;
        frames first unless ``patient`` (see step())."""
        loader = self.loader
        due = None if loader is None or self.stepping.locked() else loader.due(self.clock())
        return due if due is None or patient else self.turn.at(due)

    def wake(self, end: float = math.inf, patient: bool = False) -> Optional[float]:
        """When a read must stop: the load's next page or ``end``, the sooner (None: neither)."""
        due = self.due(patient) if self.loader is not None else None   # no load: the per-frame cost is this test
        when = end if due is None else min(due, end)
        return None if when == math.inf else when

    def step(self, patient: bool = False) -> bool:
        """Run the load's next page if it is due, after ``drain()`` (which
        reads, and keeps, the frames that came) unless frames wait and may
        still go first (see above; ``patient``: they wait for the page, as
        in wait_team()); True while the load goes on."""
        loader = self.loader
        if loader is None:
            return False
        due = loader.due(self.clock())
        if due is not None and due <= self.clock() and self.stepping.acquire(blocking=False):
            try:
                if self.turn.clear(due, patient):    # what a frame raises (strict) is the caller's, not the load's
                    self._page(loader)
            finally:
                self.stepping.release()
        if loader.due(self.clock()) is None and self.loader is loader:
            self._ended(loader)
        return self.loader is not None

    def _page(self, loader: _TeamLoader) -> None:
        started = self.clock()
        try:
            loader.step()
        except SlackError as error:
            log.warning("the team's users and conversations could not all be loaded (%s); names may be missing",
                        error)
        self.turn.ran(started)


class _FramesFirst:
    """When a call that holds the frames up while it lasts (a team page),
    due at ``due``, may run.  While frames flow (one waits, ``waiting()``,
    or one was read, ``frames()``, since the last call ended), not before
    they have had CATCH_UP_YIELD times as long as the last call took since
    it ended (``ran``; before the first, _FIRST_CALL since ``due``); else
    at once.  So calls take at most a tenth of the iterating thread while
    frames flow, and go one after the other when none come.  No I/O but
    ``drain()``, which reads (and keeps) what has come.  (A catch-up call
    runs at once when due: the live messages of its conversations are
    held until it is done; _CatchUpRunner spaces the calls after it.)"""

    def __init__(self, clock: _Clock, frames: Callable[[], int], waiting: Callable[[], bool],
                 drain: Callable[[], object]) -> None:
        self.clock, self.frames, self.waiting, self.drain = clock, frames, waiting, drain
        self.ended, self.took, self.read = -math.inf, _FIRST_CALL, 0   # the last call's end, duration, frames()

    def at(self, due: float) -> float:
        """When the call due at ``due`` may run, as things stand."""
        first = self.ended == -math.inf
        if not self.waiting() and (first or self.frames() == self.read):
            return due                            # no frame flows: at once
        return max(due, (due if first else self.ended) + CATCH_UP_YIELD * self.took)

    def clear(self, due: float, patient: bool = False) -> bool:
        """Whether the call may run now; if so, what has come was read first
        (frames that wait go first, and no more is read meanwhile).
        ``patient``: the frames wait for the call (wait_team())."""
        if not patient and self.at(due) > self.clock():
            return False
        self.drain()
        return patient or self.at(due) <= self.clock()

    def ran(self, started: float) -> None:
        """A call that began at ``started`` has ended."""
        self.ended, self.read = self.clock(), self.frames()
        self.took = self.ended - started


class _CatchUpRunner:
    """Runs a session's _CatchUp: the session tells it of each event
    received (``live``), a lost connection and a reconnect; ``step()``, in
    the iterating thread between frames, makes the call that is due (after
    ``drain()``, which reads what has come, so that keepalive goes on) and
    hands what to deliver to ``put`` (under the session's lock).  ``due()``
    says when the read must wake for the next call.  A call holds the
    frames up for as long as it takes: while frames flow (the drain before
    a call read some), the next call waits CATCH_UP_YIELD times as long as
    this one took, so that calls take at most a tenth of the iterating
    thread's time and live events keep nine tenths of their rate; when
    nothing comes, the calls go one after the other (as the tier allows).
    ``frames()`` counts the frames read."""

    def __init__(self, core: _CatchUp, token: str, web: _Json, targets: Optional[Sequence[str]],
                 clock: _Clock, lock: "threading.RLock", put: Callable[[_Json], object],
                 drain: Callable[[], object], frames: Callable[[], int],
                 wall: Callable[[], float] = time.time) -> None:
        self.core, self.token, self.targets, self.clock, self.lock = core, token, targets, clock, lock
        self.web = dict(web, timeout=min(web["timeout"], TEAM_PAGE_TIMEOUT))   # a call holds the frames up
        self.put, self.drain, self.frames, self.wall = put, drain, frames, wall
        self.next_at = -math.inf                  # while frames flow: not before (see above)
        self.wake_at: Optional[float] = None      # when step() has a call to make (None: none)
        self.secrets = _secrets(token, web.get("cookie"))
        self.stepping = threading.Lock()
        self.closing: threading.Event = web["cancel"]
        self.began: Optional[float] = None        # when the catch-up going on began
        self.before: Dict[str, int] = {}          # the counts then

    def live(self, event: _Json) -> bool:
        """Whether ``event`` (received) is delivered now (under the lock)."""
        channel, ts = event.get("channel"), event.get("ts")
        if type(channel) is str and type(ts) is str:
            return self.core.route(channel, ts, event)
        return True

    def lost(self, quiet_for: float) -> None:
        """The connection was lost, its last frame ``quiet_for`` seconds ago (under the lock)."""
        self.core.lost(self.wall() - max(0.0, quiet_for))

    def reconnected(self, seamless: bool, known: Callable[[], Tuple[List[str], List[_Json]]]) -> None:
        """A new connection said hello (under the lock): catch up unless ``seamless``;
        ``known()`` gives the conversations to check and what to report of the others."""
        if seamless or self.core.gap is None:
            return self.core.seamless()
        conversations, reports = known()
        for report in reports:
            self.put(report)
        self.core.begin(conversations, self.clock())
        self._rewake()
        self.began, self.before = self.clock(), dict(self.core.stats)
        log.info("catching up %d conversation(s) after the reconnect", len(self.core.fetches))
        return None

    def due(self) -> Optional[float]:
        return None if self.stepping.locked() else self.wake_at

    def _rewake(self) -> None:
        """Work out when the next call is due: only the core's calls, and
        the session's reconnects, change it (step() runs at every next():
        a clock read is what it costs until then)."""
        due = self.core.due(self.clock())
        self.wake_at = None if due is None else max(due, self.next_at)

    def step(self) -> None:
        """Make the call that is due now, if any, and deliver what it brings."""
        wake = self.wake_at
        if wake is None or wake > self.clock() or not self.stepping.acquire(blocking=False):
            return
        try:
            read = self.frames()
            self.drain()
            flowing = self.frames() != read
            started = self.clock()
            with self.lock:
                call, ticket = self.core.request(started), self.core.round
                out = self.core.spent() if call is None else []
            if call is not None:
                out = self._call(*call, ticket)
                self.next_at = self.clock() + (CATCH_UP_YIELD * (self.clock() - started) if flowing else 0.0)
            with self.lock:
                for item in out:
                    self.put(item)
                if not self.core.fetches and self.began is not None:
                    self._done()
                self._rewake()
        finally:
            self.stepping.release()

    def _done(self) -> None:
        stats, before = self.core.stats, self.before
        log.info("caught up %d message(s) in %.1f s with %d call(s); %d reported missed",
                 stats["caught_up"] - before["caught_up"], self.clock() - (self.began or 0.0),
                 stats["history_calls"] + stats["counts_calls"] - before["history_calls"] - before["counts_calls"],
                 stats["missed"] - before["missed"])
        self.began = None

    def _call(self, method: str, args: _Json, ticket: int) -> List[_Json]:
        try:
            answer = _call(method, self.token, args, **self.web)
        except SlackError as error:
            if self.closing.is_set():
                return []                         # close() cut it short: the iteration ends
            shown = _redact(str(error), self.secrets)
            level = logging.INFO if method == "client.counts" else logging.WARNING
            log.log(level, "catch-up: %s failed (%s)", method, shown)
            with self.lock:
                return self.core.failed(method, args, error, self.clock(), shown, ticket)
        with self.lock:
            return self.core.answered(method, args, answer, self.clock(), ticket)


def _catch_up_targets(catch_up: object) -> Optional[Tuple[str, ...]]:
    """connect()'s ``catch_up``: None for True (the member conversations),
    the ids and names given; InvalidArgument for anything else."""
    if catch_up is True:
        return None
    if isinstance(catch_up, (str, bytes)) or not isinstance(catch_up, Iterable):
        raise InvalidArgument(f"catch_up must be True, False or a collection of conversation ids or names, "
                              f"not {type(catch_up).__name__}")
    targets = tuple(catch_up)
    if not all(isinstance(t, str) and t for t in targets):
        raise InvalidArgument("catch_up must hold conversation ids or names (non-empty str)")
    return targets


def _catch_up_known(targets: Optional[Sequence[str]], state: Optional[TeamState],
                    seen: Iterable[str], listed: bool = False) -> Tuple[List[str], List[_Json]]:
    """(the conversations to catch up, Missed reports for the others):
    ``targets`` resolved (ids as they are, names through the team state),
    or for None the member conversations the team state lists and those
    ``seen`` (a message came from), with a report unless the state has
    ``listed`` every conversation."""
    if targets is not None:
        found, unknown = [], []
        for target in targets:
            conversation = None if state is None or _is_conversation_id(target) else (
                state.channel_by_name(target) or state.group_by_name(target))
            if conversation is not None:
                found.append(conversation.id)
            elif _is_conversation_id(target):
                found.append(target)
            else:
                unknown.append(target)
        return found, [Missed(type="missed", channel=None, name=name, oldest=None, latest=None, reason="unknown",
                              error=f"no conversation named {name!r} is known") for name in unknown]
    members = [] if state is None else [c.id for c in state.conversations if _caught_up_member(c)]
    reports: List[_Json] = []
    if not listed:
        reports.append(Missed(type="missed", channel=None, oldest=None, latest=None, reason="unknown",
                              error="the team state is incomplete: conversations it does not list were not checked"))
    known = set(members)
    return members + [c for c in seen if c not in known], reports


def _caught_up_member(conversation: Union[Channel, Group, Mpim, Im]) -> bool:
    """Whether the user is in ``conversation`` (and it can have new messages)."""
    data = conversation.__dict__
    if data.get("is_archived") or data.get("is_user_deleted"):
        return False
    return type(conversation) is Im or data.get("is_member") is not False


class _Buffer:
    """Frames a sender waiting for its ack read for the iterator, bounded by
    ``max_frames`` and ``max_bytes``: past either the oldest go (counted in
    ``dropped``, with a warning the first time, and passed to ``dropping``,
    which keeps the team state current), so that a session whose iterator
    nobody reads never fails its senders.  What a catch-up fetched is
    ``kept``: never dropped, and not counted against the bounds (its own
    budget bounds it: nothing else would bring it again)."""

    __slots__ = ("frames", "size", "kept", "max_frames", "max_bytes", "dropped", "dropping", "largest")

    def __init__(self, max_frames: int, max_bytes: int, dropping: Callable[[_Json], object],
                 largest: int = MAX_MESSAGE_SIZE) -> None:
        self.frames: Deque[Tuple[_Json, int, bool]] = deque()
        self.size = self.dropped = self.kept = 0
        self.max_frames, self.max_bytes, self.dropping = max_frames, max_bytes, dropping
        self.largest = largest                    # the largest frame a read may bring (max_message_size)

    def room(self) -> bool:
        """True while one frame more, however large, drops none."""
        return len(self.frames) - self.kept < self.max_frames and self.size + self.largest <= self.max_bytes

    def __len__(self) -> int:
        return len(self.frames)

    def put(self, event: _Json, size: int, kept: bool = False) -> None:
        self.frames.append((event, size, kept))
        self.size += size
        if kept:
            self.kept += 1
            return
        counted = len(self.frames) - self.kept
        while counted > 1 and (counted > self.max_frames or self.size > self.max_bytes):
            oldest = next(i for i, (_, _, k) in enumerate(self.frames) if not k)
            if oldest == len(self.frames) - 1:
                break                             # the frame just put stays
            if not self.dropped:
                log.warning("nobody iterates the session: over %d frames or %d bytes buffered; dropping "
                            "the oldest", self.max_frames, self.max_bytes)
            dropped, size_of, _ = self.frames[oldest]
            del self.frames[oldest]
            self.size -= size_of
            self.dropping(dropped)
            self.dropped += 1
            counted -= 1

    def take(self) -> _Json:
        event, size, kept = self.frames.popleft()
        self.size -= size
        self.kept -= kept
        return event


def _skip(error: ProtocolError, strict: bool, secrets: Sequence[str]) -> None:
    """A frame that is not a JSON object: raised when ``strict``, otherwise
    skipped with a warning that quotes its start (never silently), with
    ``secrets`` redacted from the quote (a frame may echo one)."""
    error = _requoted(error, secrets)
    if strict:
        raise error
    log.warning("skipping %s", error)


class _Turns:
    """Whose turn it is to read a session's connection.  One thread at a
    time holds ``read_lock``: the iterator, or a sender waiting for its ack
    while nobody iterates; the others wait on ``cond`` (the session's
    lock), told after each frame and when the reader lets go."""

    __slots__ = ("cond", "read_lock", "waiters", "reading")

    def __init__(self, cond: threading.Condition, read_lock: "threading.RLock") -> None:
        self.cond, self.read_lock = cond, read_lock
        self.waiters = 0                          # threads waiting on cond for the read lock or an ack
        self.reading = False                      # a thread takes its turn, with the read lock

    def take(self, step: Callable[[], Optional[_Json]]) -> Optional[_Json]:
        """``step()`` with the read lock, which the caller took; then the lock
        is let go and the waiting threads are told (one may read now)."""
        self.reading = True
        try:
            return step()
        finally:
            self.reading = False
            self.read_lock.release()
            if self.waiters:
                with self.cond:
                    self.cond.notify_all()

    def wait(self, seconds: float, done: Callable[[], bool]) -> bool:
        """Wait for ``done()``, a change or ``seconds``: True when this
        thread got the read lock instead, and must take its turn."""
        with self.cond:
            if done():
                return False
            self.waiters += 1
            try:
                if self.read_lock.acquire(blocking=False):
                    return True
                self.cond.wait(seconds)
                return False
            finally:
                self.waiters -= 1

    def tell(self) -> None:
        """A frame came (called under the lock): the waiting threads look again."""
        if self.waiters:
            self.cond.notify_all()

    def drain(self, read: Callable[[], object], proto: Union["RtmProtocol", "SocketModeProtocol"],
              buffer: _Buffer) -> None:
        """Before a team page, a turn (the read lock, waited for) to
        ``read()`` (one frame, kept for the iteration, without waiting) again
        and again while frames come and the buffer has room: the page holds
        no frame that had come, and keepalive goes on (a ping due is sent,
        a pong read)."""
        self.read_lock.acquire()
        self.take(lambda: self._drain(read, proto, buffer))

    @staticmethod
    def _drain(read: Callable[[], object], proto: Union["RtmProtocol", "SocketModeProtocol"],
               buffer: _Buffer) -> None:
        frames = -1
        while proto.phase == OPEN and proto.frames != frames and buffer.room():
            frames = proto.frames
            read()


class _Throttle:
    """The send rate: a _Bucket on the session's clock, taken under the
    session's lock; a sender sleeps its wait off outside it."""

    __slots__ = ("bucket", "clock", "sleep", "lock")

    def __init__(self, bucket: _Bucket, clock: _Clock, sleep: Callable[[float], object],
                 lock: "threading.RLock") -> None:
        self.bucket, self.clock, self.sleep, self.lock = bucket, clock, sleep, lock

    def pause(self) -> None:
        with self.lock:
            wait = self.bucket.take(self.clock())
        if wait > 0:
            log.debug("throttled: sleeping %.2f s before sending", wait)
            self.sleep(wait)


class _Shell:
    """The I/O shell of a session, whichever core it runs: Session runs an
    RtmProtocol over one connection at a time, SocketModeSession a
    SocketModeProtocol over one or several at once.  The shell holds the
    links (keyed by number), reads them in the thread that calls it (one
    thread at a time: _Turns), waits on the session clock, writes what the
    core asks for and closes.  Several links are read through one poll over
    their sockets, each only for what has come, so that none holds the
    others up.  No thread of its own.

    A session says how a connection is made (``_between``), what a frame,
    the clock and a lost link call for (``_received``, ``_tick``,
    ``_lost``), what is done before a read (``_before_read``) and with a
    frame handed to the user (``_hand``).
    """

    strict: bool
    _proto: Union["RtmProtocol", "SocketModeProtocol"]
    _buffer: _Buffer
    _connector: "_Connector"

    def __init__(self, clock: _Clock, strict: bool, sleep: Optional[Callable[[float], object]]) -> None:
        self._clock, self.strict = clock, strict
        self._closing = _Cancel()                 # close() sets it: it also stops the Web API call in flight
        self._sleep = sleep or self._closing.wait
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._read_lock = threading.RLock()       # reentrant: close() may come from a signal handler
        self._turns = _Turns(self._cond, self._read_lock)
        self._links: Dict[int, _Link] = {}
        self._waiter = _waiter(clock)
        self._last_key = 0                        # the link read last: several are read in turn
        self._error: Optional[SlackError] = None  # what ended the session, raised once its frames are out

    @property
    def phase(self) -> str:
        """The core's phase."""
        return self._proto.phase

    def __enter__(self: "_Self_shell") -> "_Self_shell":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self: "_Self_shell") -> "_Self_shell":
        return self

    def __next__(self) -> _Json:
        """The next frame, as a dict, exactly as Slack sent it.  Keepalive,
        reconnects and acks happen in here, in the caller's thread.  Raises
        StopIteration once the session has ended or been closed; the error
        that ended it (a SlackError) once, after the frames read before it;
        ProtocolError when ``strict`` and a frame is not a JSON object."""
        self._first()
        while True:
            if self._buffer.frames or self._proto.phase in (ENDED, CLOSED):
                with self._lock:
                    if self._proto.phase == CLOSED:
                        self._release_closed()
                        raise StopIteration
                    if self._buffer.frames:
                        return self._hand(self._buffer.take())
                    if self._proto.phase == ENDED:
                        self._raise_error()
                        raise StopIteration
            until = self._before_read()
            self._read_lock.acquire()
            event = self._turn(until=until)
            if event is not None and self._proto.phase != CLOSED:
                return self._hand(event)

    def _release_closed(self) -> None:
        """Closed while another thread read: the links it left go now (if no one reads)."""
        if self._links and self._read_lock.acquire(blocking=False):
            try:
                if not self._turns.reading:
                    self._between()
            finally:
                self._read_lock.release()

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _turn(self, until: Optional[float] = None, keep: bool = False) -> Optional[_Json]:
        """A step with the read lock, which the caller took (see _Turns)."""
        return self._turns.take(lambda: None if self._buffer.frames and not keep else self._step(until, keep))

    def _step(self, until: Optional[float] = None, keep: bool = False) -> Optional[_Json]:
        """Read one frame and return what it hands over (or, with ``keep``,
        buffer it), or do what the time, a connection's end or a missing
        connection calls for and return None.  Called with the read lock
        held; stops waiting at ``until`` (the clock's time) if given."""
        if self._must_connect():
            return self._between()  # type: ignore[func-returns-value, no-any-return]  # None: no event
        key = self._ready(until)
        link = self._links.get(key) if key is not None else None
        if link is None:
            return self._tick()  # type: ignore[func-returns-value, no-any-return]  # None: no event
        try:
            data = link.read(self._control_of(key))   # type: ignore[arg-type]  # not None: link is
        except ProtocolError as error:                  # a binary frame: skipped, and counted
            self._proto.skip()
            return _skip(error, self.strict, link.secrets)  # type: ignore[func-returns-value, no-any-return]  # None: no event
        except SlackError as error:
            return self._lost(key, error)  # type: ignore[func-returns-value, no-any-return, arg-type]  # None: no event
        if data is None:
            return self._tick()  # type: ignore[func-returns-value, no-any-return]  # None: no event
        return self._received(key, link, data, keep)   # type: ignore[arg-type]  # not None: link is

    def _ready(self, until: Optional[float]) -> Optional[int]:
        """The key of the link to read next, its wire's deadline set; None
        when the deadline (the core's, or ``until`` if sooner) came first.
        One link waits on its own socket; several in one poll, and the one
        read is then read only for what has come."""
        due = self._due()
        if until is not None and (due is None or until < due):
            due = until
        links = self._links
        if len(links) == 1:
            for key, link in links.items():
                link.wire.deadline = due
                return key
        keys = sorted(links, key=lambda k: k <= self._last_key)      # in turn, from after the last read
        chosen = next((k for k in keys if links[k].wire.buffered()), None)
        if chosen is None:
            chosen = self._polled(keys, due)
        if chosen is not None:
            links[chosen].wire.deadline, self._last_key = _NO_WAIT, chosen
        return chosen

    def _polled(self, keys: List[int], due: Optional[float]) -> Optional[int]:
        import select
        poll = select.poll()
        for key in keys:
            poll.register(self._links[key].wire.sock, select.POLLIN)
        self._waiter(poll, due)                # False at the deadline: what has come is still read
        ready = {fd for fd, _ in poll.poll(0)}
        return next((k for k in keys if self._links[k].wire.fileno() in ready), None)

    # -- closing ----------------------------------------------------------

    def close(self) -> None:
        """End the session: send each connection a close frame, end the
        iteration, never connect again, release every waiting thread.
        Returns at once (a reader blocked on a socket is woken); safe from
        any thread, from a signal handler, and more than once."""
        if self._closing.is_set():
            return
        self._closing.set()
        with self._cond:
            links = list(self._links.values())
            self._proto.closed()
            self._cond.notify_all()
        for link in links:
            link.close_politely(b"client closing")
            link.shutdown()                           # wakes a thread blocked reading
        self._connector.stop()
        self._stopping()
        # The links are released by the thread that reads: this one, unless
        # another is reading or this close() interrupts a read (a signal).
        if self._read_lock.acquire(blocking=False):
            try:
                if not self._turns.reading:
                    self._between()
            finally:
                self._read_lock.release()
        log.info("session closed")

    def _release_all(self) -> None:
        with self._lock:
            links, self._links = self._links, {}
        for link in links.values():
            link.release()

    # -- what each session says -------------------------------------------

    def _first(self) -> None:
        """Done first at each __next__."""

    def _before_read(self) -> Optional[float]:
        """Done in __next__ before it reads: the time to stop waiting at."""
        return None

    def _hand(self, frame: _Json) -> _Json:
        """A frame goes to the user now."""
        return frame

    def _stopping(self) -> None:
        """close() was called: stop what else the session runs."""

    def _must_connect(self) -> bool:
        raise NotImplementedError

    def _between(self) -> None:
        raise NotImplementedError

    def _due(self) -> Optional[float]:
        raise NotImplementedError

    def _control_of(self, key: int) -> _OnControl:
        raise NotImplementedError

    def _received(self, key: int, link: _Link, data: bytes, keep: bool) -> Optional[_Json]:
        raise NotImplementedError

    def _tick(self) -> None:
        raise NotImplementedError

    def _lost(self, key: int, error: SlackError) -> None:
        raise NotImplementedError


_Self_shell = TypeVar("_Self_shell", bound=_Shell)


class Session(_Shell):
    """A connected RTM session: iterate it for events, send on it, close it.

    Made by connect(), which documents the options.  ``start`` is the
    RtmStart of the current connection; ``phase`` the RtmProtocol's.
    ``unacknowledged`` lists the messages sent without ``wait`` whose
    connection ended before Slack acknowledged them (each may or may not
    have been delivered).  ``stats`` counts connections, Web API calls,
    frames, frames skipped and frames dropped from a full buffer.

    Threads: one thread iterates; any thread may send and close.  The
    RtmProtocol, the buffer and the current link are touched only under the
    lock; reading is done by one thread at a time (_Turns).
    """

    auto_reconnect: bool
    _proto: "RtmProtocol"

    def __init__(self, token: str, *, method: str = "rtm.start", auto_reconnect: bool = True,
                 ping_interval: float = 10.0, pong_timeout: float = 10.0, hello_timeout: float = 10.0,
                 connect_deadline: Optional[float] = 300.0, reconnect_deadline: Optional[float] = None,
                 ack_grace: float = 5.0, send_rate: float = 1.0, send_burst: int = 5, max_buffer: int = 10000,
                 max_buffer_bytes: int = MAX_BUFFER_BYTES, max_message_size: int = MAX_MESSAGE_SIZE,
                 strict: bool = False, backoff: Optional[Retry] = None, clock: _Clock = time.monotonic,
                 sleep: Optional[Callable[[float], object]] = None, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = DEFAULT_TIMEOUT, http: Optional["urllib3.PoolManager"] = None,
                 proxy: Union[str, "Literal[False]", None] = None, ssl_context: Optional["ssl.SSLContext"] = None,
                 ca_certs: Optional[str] = None, allow_http: bool = False, cookie: Optional[str] = None,
                 max_response_size: int = MAX_RESPONSE_SIZE, user_agent: Optional[str] = None,
                 team: Union[str, Iterable[str], None] = "all",
                 presence: bool = False, catch_up: Union[bool, Iterable[str]] = False,
                 catch_up_calls: int = CATCH_UP_CALLS, catch_up_messages: int = CATCH_UP_MESSAGES,
                 rtm_args: Optional[Mapping[str, Any]] = None, gateway: Union[bool, str] = False,
                 fast_reconnect: bool = True, **args: "Unpack[_RtmStartArgs]") -> None:
        if method not in ("rtm.start", "rtm.connect"):
            raise InvalidArgument(f"method must be rtm.start or rtm.connect, not {method!r}")
        super().__init__(clock, strict, sleep)
        self.auto_reconnect, self._timeout = auto_reconnect, timeout
        self._proto = RtmProtocol(ping_interval=ping_interval, pong_timeout=pong_timeout, ack_grace=ack_grace,
                                  now=clock())
        throttle = _Bucket(send_rate, send_burst, clock())
        web: _Json = dict(base_url=base_url, timeout=timeout, http=http, proxy=proxy, ssl_context=ssl_context,
                          ca_certs=ca_certs, allow_http=allow_http, retry=False, cookie=cookie,
                          max_response_size=max_response_size, user_agent=user_agent, cancel=self._closing)
        policy = _Reconnects(backoff or Retry(deadline=math.inf, base=1.0, cap=60.0, jitter=0.25),
                             connect_deadline, reconnect_deadline, clock())
        _refuse_unknown_options(args)
        rtm_args = dict(args, **(rtm_args or {}))
        self._connector = _Connector(token, rtm_args, web, policy=policy, hello_timeout=hello_timeout,
                                     max_message_size=max_message_size, clock=clock, sleep=self._sleep,
                                     closing=self._closing, gateway=_check_gateway(gateway, web, rtm_args),
                                     reconnect_url=self._proto.take_reconnect_url if fast_reconnect else None)
        self._team = _TeamKeeper(token, web, team, presence, clock, self._closing, lambda: self._turns.drain(
            lambda: self._step(-math.inf, keep=True), self._proto, self._buffer),   # before each team page
            lambda: self._proto.frames, lambda: bool(self._buffer.frames))
        self._buffer = _Buffer(max_buffer, max_buffer_bytes, self._team.apply, max_message_size)
        self._throttle = _Throttle(throttle, clock, self._sleep, self._lock)
        self._catch = None if catch_up is False else _CatchUpRunner(
            _CatchUp(calls=catch_up_calls, messages=catch_up_messages, counts=token.startswith("xoxc-"),
                     now=clock()), token, web, _catch_up_targets(catch_up), clock, self._lock,
            lambda item: self._buffer.put(item, 0, kept=True), self._team.drain, lambda: self._proto.frames)
        #: The RtmStart of the current connection (set before __init__ returns).
        self.start: RtmStart = None               # type: ignore[assignment]  # _connect sets it, or raises
        self._connect(method)

    @property
    def team(self) -> TeamState:
        """The TeamState, as of the event last yielded."""
        return self._team.state                   # type: ignore[return-value]  # made at the first connection

    @property
    def unacknowledged(self) -> List[_Json]:
        """Messages reported unacknowledged."""
        return self._proto.unacknowledged

    @property
    def stats(self) -> Dict[str, int]:
        """Counts: connections made, rtm.* calls, frames read, skipped and dropped."""
        stats = dict(self._connector.counts, frames=self._proto.frames, skipped=self._proto.skipped,
                     dropped=self._buffer.dropped)
        return stats if self._catch is None else dict(stats, **self._catch.core.stats)

    def __repr__(self) -> str:
        team = self.start.team.domain if self.start and self.start.team else None
        return f"<slack_rtm.Session {self._proto.phase} team={team!r} connections={self.stats['connections']}>"

    # -- connecting -------------------------------------------------------

    def _connect(self, method: str) -> None:
        """Connect (the _Connector retries) and make the new link current."""
        link, hello, start = self._connector.connect(method, self._proto.control)
        fast = hello.get("fast_reconnect") is True       # Slack resumed the stream: nothing was lost
        with self._cond:
            if self._proto.phase == CLOSED:
                link.release()
                raise ConnectionClosed("the session was closed")
            self._links[0], self.start = link, start
            self._proto.opened(self._clock())
            self._buffer.put(hello, 0)
            if self._catch is not None:
                self._catch.reconnected(fast, lambda: _catch_up_known(
                    self._catch.targets, self._team.state, self._catch.core.last,   # type: ignore[union-attr]  # tested
                    self._team.lists_conversations()))
            self._cond.notify_all()
        self._team.connected(start, fast=fast)

    # -- reading ----------------------------------------------------------

    def _first(self) -> None:
        """At every next() with frames buffered (a busy stream, or a sender
        reading for its ack, keeps the buffer full, and _before_read is for
        an empty one): a team page or a catch-up call that is due."""
        if self._buffer.frames:
            self._team.step()
            if self._catch is not None:
                self._catch.step()

    def _before_read(self) -> Optional[float]:
        self._team.step()                     # if a team page is due: what has come is read, then the page
        if self._catch is None:
            return self._team.wake()          # wakes for the load's next page
        self._catch.step()                    # so too a catch-up call
        due = self._catch.due()
        return self._team.wake(math.inf if due is None else due)

    def _hand(self, frame: _Json) -> _Json:
        return self._team.apply(frame)

    @property
    def _link(self) -> Optional[_Link]:
        return self._links.get(0)

    def wait_team(self, timeout: Optional[float] = None) -> TeamState:
        """Run the team load to its end (or for ``timeout`` seconds), keeping the frames that come
        meanwhile for the iteration (up to ``max_buffer``); the TeamState's ``complete`` says if it got all."""
        end = self._clock() + (math.inf if timeout is None else timeout)
        while self._team.step(patient=True) and self._proto.phase not in (ENDED, CLOSED) and self._clock() < end:
            self._read_lock.acquire()
            self._turn(until=self._team.wake(end, patient=True), keep=True)
        return self.team

    def _must_connect(self) -> bool:
        return self._proto.phase != OPEN or not self._links

    def _due(self) -> Optional[float]:
        return self._proto.deadline()

    def _control_of(self, key: int) -> _OnControl:
        return self._proto.control

    def _received(self, key: int, link: _Link, data: bytes, keep: bool) -> Optional[_Json]:
        """The event of frame ``data`` (None with ``keep``: it is buffered)."""
        event: Union[_Json, ProtocolError, None]
        with self._lock:
            try:
                event = self._proto.receive(data, self._clock())
            except ProtocolError as error:
                event = error
            else:
                if event is not None and self._catch is not None and event.get("type") == "message" \
                        and not self._catch.live(event):
                    event = None                  # held back for the catch-up, or had from it already
                if keep and event is not None:
                    self._buffer.put(event, len(data))
            self._turns.tell()
        if isinstance(event, ProtocolError):
            return _skip(event, self.strict, link.secrets)  # type: ignore[func-returns-value, no-any-return]  # None: no event
        return None if keep else event

    def _tick(self) -> None:
        """The read stopped at the protocol's deadline: do what it calls for."""
        with self._cond:
            action = self._proto.tick(self._clock())
            self._cond.notify_all()
        if isinstance(action, Ping):
            try:
                self._link.send(action.text)        # type: ignore[union-attr]  # the link just read
            except SlackError as error:
                return self._lost(0, error)
        elif action is not None:
            return self._lost(0, action.error)

    def _between(self) -> None:
        """Not reading: reconnect when the connection is lost or draining."""
        if self._proto.phase == DRAINING:    # goodbye or migration: close it ourselves, politely
            self._lost(0, ConnectionClosed("the server asked for a new connection"), polite=True)
        elif self._proto.phase == CLOSED and self._links:
            self._lost(0, ConnectionClosed("the session was closed"))
        if self._proto.phase != LOST:
            return None
        with self._lock:
            self._proto.connecting()
        try:
            self._connect("rtm.connect")
        except SlackError:
            with self._cond:
                self._proto.ended()
                self._cond.notify_all()
            if not self._closing.is_set():
                raise

    def _lost(self, key: int, error: SlackError, polite: bool = False) -> None:
        """The connection ended (or must end): release it (with a close frame
        when ``polite``: the server asked for it and is still there); the
        next step reconnects unless closing or auto_reconnect is off."""
        closing = self._closing.is_set()
        log.log(logging.DEBUG if closing else logging.INFO if polite else logging.WARNING, "%s", error)
        with self._cond:
            link = self._links.pop(0, None)
            if link is not None and self._catch is not None:
                self._catch.lost(self._clock() - self._proto.last_frame)
            healthy = self._proto.lost(clean=getattr(error, "clean", False),
                                       oversized=isinstance(error, MessageTooLarge))
            if not self.auto_reconnect:
                self._proto.ended()
            self._cond.notify_all()
        self._connector.lost(self._clock(), healthy)
        if link is not None:
            if polite and not closing:
                link.close_politely(b"reconnecting")
            link.release()
        if isinstance(error, MessageTooLarge) and self.strict:
            raise ProtocolError(str(error))

    # -- sending ----------------------------------------------------------

    def send(self, event: _Json) -> int:
        """Send an event (a dict) and return the ``id`` it was given (unique
        in the session).  Refuses frames over Slack's limits with
        MessageTooLong and keeps to the send rate, sleeping if need be.
        While the session reconnects, waits up to ``timeout`` for it."""
        return self._send(event)[0]

    def _send(self, event: _Json, waited: bool = False, deadline: Optional[float] = None,
              throttled: bool = True) -> Tuple[int, Optional[_Pending]]:
        """(id, the _Pending of a message or None).  Refused before the
        throttle's wait if too long; waits until ``deadline`` to be connected."""
        text = self._proto.encode(event)
        if throttled:
            self._throttle.pause()
        if deadline is None:
            deadline = self._clock() + self._timeout
        while True:
            with self._lock:
                phase, link = self._proto.phase, self._link
                if phase in (ENDED, CLOSED):
                    raise ConnectionClosed(f"the session is {'closed' if phase == CLOSED else 'over'}")
                if phase == OPEN and link is not None:
                    ident, frame, pending = self._proto.message(event, text, waited)
                    break
            self._await(deadline, lambda: self._proto.phase in (OPEN, ENDED, CLOSED), "not connected")
        try:
            link.send(frame)
        except TransportError as error:
            with self._lock:
                if self._proto.unsent(ident, pending):
                    raise ConnectionClosed(f"message {ident} was {error}") from None
        return ident, pending

    @overload
    def send_message(self, channel: str, text: str, *, thread_ts: Optional[str] = ...,
                     wait: "Literal[False]" = ..., timeout: float = ..., **extra: Any) -> int: ...
    @overload
    def send_message(self, channel: str, text: str, *, thread_ts: Optional[str] = ...,
                     wait: "Literal[True]", timeout: float = ..., **extra: Any) -> _Json: ...
    @overload
    def send_message(self, channel: str, text: str, *, thread_ts: Optional[str] = ...,
                     wait: bool, timeout: float = ..., **extra: Any) -> Union[int, _Json]: ...
    def send_message(self, channel: str, text: str, *, thread_ts: Optional[str] = None, wait: bool = False,
                     timeout: float = DEFAULT_TIMEOUT, **extra: Any) -> Union[int, _Json]:
        """Send a message and return its id; with ``wait``, block until Slack
        acknowledges it and return the ack (``ok``, ``reply_to``, ``ts``,
        ``text``).  An ``ok: false`` ack raises RtmError, a connection that
        ends without one Unacknowledged, no ack within ``timeout`` seconds
        (30) Timeout.  Frames that come meanwhile are kept and still
        yielded, in order.  A bad argument raises InvalidArgument."""
        event = _message_event(channel, text, thread_ts, wait, timeout, extra)
        deadline = self._clock() + timeout
        message_id, pending = self._send(event, waited=wait, deadline=deadline)
        # a message always has its _Pending, never None: hence the ignore below
        return self._wait_reply(pending, timeout, deadline) if wait else message_id  # type: ignore[arg-type]

    def typing(self, channel: str) -> int:
        """Show the typing indicator in a channel (throttled like messages)."""
        _check_channel(channel)
        return self.send({"type": "typing", "channel": channel})

    def ping(self, **extra: Any) -> int:
        """Send an RTM ping now; its pong is yielded like any frame."""
        return self._send(dict(extra, type="ping"), throttled=False)[0]

    def _wait_reply(self, pending: _Pending, timeout: float, deadline: float) -> _Json:
        """Read (or let the reading thread read) until ``pending`` settles."""
        while True:
            with self._lock:
                if pending.settled:
                    return pending.outcome(self._connector.secrets)
                if self._clock() >= deadline:
                    self._proto.abandon(pending, Timeout(f"no ack for message {pending.event['id']} "
                                                         f"within {timeout} s"))
                    continue
            self._await(deadline, lambda: pending.settled, None)

    def _await(self, deadline: float, done: Callable[[], bool], what: Optional[str]) -> None:
        """Let the session move on until ``done()`` or ``deadline``: read if
        no other thread reads, else wait to be told of a change."""
        left = deadline - self._clock()
        if left <= 0 and what is not None:
            raise ConnectionClosed(f"{what} within the timeout")
        if left > 0 and self._turns.wait(left, done):
            self._turn(until=deadline, keep=True)

    def _stopping(self) -> None:
        self._team.stop()


# -- Socket Mode on the same shell --------------------------------------------

#: apps.connections.open is Tier 3 (50+ calls a minute, docs.slack.dev): the
#: session keeps far within it, with rtm.connect's budget (one a minute after
#: a burst) and a burst with room for all N connections at once.
APP_CALL_BURST = MAX_CONNECTIONS


def _check_app_token(token: object) -> None:
    """InvalidArgument for a token Socket Mode cannot use: a bot, user or
    session token (Socket Mode takes an app-level token, ``xapp-``)."""
    _check_token(token)
    if isinstance(token, str) and token.startswith(("xoxb-", "xoxp-", "xoxc-", "xoxe-")):
        raise InvalidArgument(f"Socket Mode needs an app-level token (xapp-...), not a {token[:4]}- token "
                              "(use it for the Web API, or connect() it for RTM)")


class _AppConnector(_Connector):
    """Makes a Socket Mode session's connections: apps.connections.open (the
    app-level token in the Authorization header; every URL is a one-time
    ticket) and the WebSocket, retried as the _Reconnects policy says.  The
    hello is the SocketModeProtocol's to read."""

    def open_link(self, patient: bool = True) -> Union[_Link, float]:
        """A new link, or the last error when the policy gives up.  Not
        ``patient`` (other links are open, and must be read meanwhile): one
        try, and the seconds to wait before the next instead of sleeping."""
        if self.first_wait:
            first, self.first_wait = self.first_wait, 0.0
            if not patient:
                return first
            self.wait(first, "reconnecting in %.1f s")
        while True:
            self.opening(None)                   # raises once the session is closed
            try:
                self.policy.calling(self.clock())
                answer = _call("apps.connections.open", self.token, {}, **self.web)
                self.counts["calls"] += 1
                link = self._open(answer.get("url"))
                self.counts["connections"] += 1
                self.policy.connected(self.clock())
                return link
            except SlackError as error:
                if self.closing.is_set():
                    raise self.closing.error("apps.connections.open") from None
                wait = self.policy.failed(error, self.clock())
                if wait is None:
                    raise
                if not patient:
                    log.warning("connecting failed (%s); trying again in %.1f s", error, wait)
                    return wait
                self.wait(wait, f"connecting failed ({error}); trying again in %.1f s",
                          logging.WARNING if wait else logging.INFO, getattr(error, "retry_after", None))


class SocketModeSession(_Shell):
    """A connected Socket Mode session: iterate it for envelopes, ack them,
    close it.  Made by connect() with an app-level token (``xapp-``), which
    documents the options; ``connections`` (1 to 10, default 1) is how many
    connections are kept open at once.

    ``for envelope in session`` yields each envelope as Slack sent it;
    ``hello`` and ``disconnect`` are the session's business, not yielded.
    Every envelope is acked on its own connection as soon as it is read,
    before it is yielded, except one with ``accepts_response_payload:
    true``: ack it with ``ack(envelope, payload)``; if the loop asks for
    the next envelope first, it is acked empty then.  Each ``next()``
    first reads and acks what is already waiting on every connection.
    An envelope seen before (its envelope_id, or its event's event_id, in
    the last ``seen_window`` seconds) is acked again, not yielded.
    ``max_buffer`` (1,000): the most envelopes read ahead (and acked) for
    the iteration; past it the rest wait, unacked, in the socket: memory
    stays bounded (about 50 MiB through a burst of 100,000).

    Threads: one thread iterates (it reads every connection: the session
    has no thread of its own); ack() and close() may come from any thread.
    """

    _proto: SocketModeProtocol
    _connector: _AppConnector

    def __init__(self, app_token: str, *, connections: int = 1, ping_interval: float = 10.0,
                 pong_timeout: float = 10.0, hello_timeout: float = 10.0,
                 connect_deadline: Optional[float] = 300.0, reconnect_deadline: Optional[float] = None,
                 max_buffer: int = 1000, max_message_size: int = MAX_MESSAGE_SIZE, strict: bool = False,
                 backoff: Optional[Retry] = None, clock: _Clock = time.monotonic,
                 sleep: Optional[Callable[[float], object]] = None, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = DEFAULT_TIMEOUT, http: Optional["urllib3.PoolManager"] = None,
                 proxy: Union[str, "Literal[False]", None] = None, ssl_context: Optional["ssl.SSLContext"] = None,
                 ca_certs: Optional[str] = None, allow_http: bool = False,
                 max_response_size: int = MAX_RESPONSE_SIZE, user_agent: Optional[str] = None,
                 seen_window: float = SEEN_WINDOW, catch_up: Union[bool, Iterable[str]] = False,
                 catch_up_token: Optional[str] = None, catch_up_after: float = SOCKET_MODE_CATCH_UP_AFTER,
                 catch_up_calls: int = CATCH_UP_CALLS, catch_up_messages: int = CATCH_UP_MESSAGES) -> None:
        _check_app_token(app_token)
        _check_count("max_buffer", max_buffer, 1, sys.maxsize)
        super().__init__(clock, strict, sleep)
        self._proto = SocketModeProtocol(connections=connections, ping_interval=ping_interval,
                                         pong_timeout=pong_timeout, hello_timeout=hello_timeout,
                                         seen_window=seen_window, now=clock())
        web: _Json = dict(base_url=base_url, timeout=timeout, http=http, proxy=proxy, ssl_context=ssl_context,
                          ca_certs=ca_certs, allow_http=allow_http, retry=False, cookie=None,
                          max_response_size=max_response_size, user_agent=user_agent, cancel=self._closing)
        policy = _Reconnects(backoff or Retry(deadline=math.inf, base=1.0, cap=60.0, jitter=0.25),
                             connect_deadline, reconnect_deadline, clock())
        policy.calls = _Bucket(RTM_CALL_RATE, APP_CALL_BURST, clock())
        self._connector = _AppConnector(app_token, {}, web, policy=policy, hello_timeout=hello_timeout,
                                        max_message_size=max_message_size, clock=clock, sleep=self._sleep,
                                        closing=self._closing)
        self._connector.counts = {"connections": 0, "calls": 0}
        # Never full past max_buffer: a read stops first (what is left waits in the socket, not acked).
        self._buffer = _Buffer(max_buffer, MAX_BUFFER_BYTES, lambda envelope: None, max_message_size)
        self._keys = 0
        self._retry_at = -math.inf                # the next try to open one, while others are open
        self._controls: Dict[int, _OnControl] = {}   # each link's: what its pings and pongs are told to
        self._catch = None if catch_up is False else self._catch_up(
            catch_up, catch_up_token, catch_up_after, web, catch_up_calls, catch_up_messages)
        self._connected(connect_deadline)

    def _connected(self, deadline: Optional[float]) -> None:
        """Return once a connection said hello; Timeout (the session closed)
        when none did within ``deadline`` seconds, or the error that ended it."""
        end = None if deadline is None else self._clock() + deadline
        while self._proto.phase == CONNECTING:
            if end is not None and self._clock() >= end:
                self.close()
                raise Timeout(f"no Socket Mode connection said hello within {deadline:g} s")
            self._read_lock.acquire()
            self._turn(until=end, keep=True)
            self._raise_error()

    @property
    def stats(self) -> Dict[str, int]:
        """Counts: connections made, apps.connections.open calls, frames read, skipped,
        envelopes delivered, duplicates acked but not delivered, connections open now."""
        proto = self._proto
        stats = dict(self._connector.counts, frames=proto.frames, skipped=proto.skipped,
                     delivered=proto.delivered, duplicates=proto.duplicates, open=len(self._links))
        return stats if self._catch is None else dict(self._catch.core.stats, **stats)

    def __repr__(self) -> str:
        return (f"<slack_rtm.SocketModeSession {self._proto.phase} open={len(self._links)} "
                f"connections={self._connector.counts['connections']}>")

    def _catch_up(self, catch_up: object, token: Optional[str], after: float, web: _Json, calls: int,
                  messages: int) -> _CatchUpRunner:
        """The catch-up's runner: history is read with ``token`` (a Web API
        token; the app-level token cannot), after a gap over ``after`` s."""
        if token is None:
            raise InvalidArgument("Socket Mode's catch-up reads conversations.history with a Web API token "
                                  "(xoxb- or xoxp-): give it as catch_up_token (the app-level token cannot)")
        _check_token(token)
        if token.startswith("xapp-"):
            raise InvalidArgument("catch_up_token must be a Web API token (xoxb- or xoxp-), not the app-level token")
        if isinstance(after, bool) or not isinstance(after, (int, float)) or not 0 <= after < math.inf:
            raise InvalidArgument(f"catch_up_after must be a number of seconds (0 or more), not {after!r}")
        self._catch_after = after
        targets = _catch_up_targets(catch_up)
        names = [target for target in targets or () if not _is_conversation_id(target)]
        if names:
            raise InvalidArgument(f"Socket Mode's catch-up takes conversation ids (it has no team state to look "
                                  f"names up in), not {', '.join(map(repr, names))}")
        core = _CatchUp(calls=calls, messages=messages, now=self._clock())
        return _CatchUpRunner(core, token, web, targets, self._clock, self._lock,
                              lambda item: self._buffer.put(_caught_up_envelope(item), 0, kept=True),
                              lambda: self._turns.drain(
                                  lambda: self._links and self._step(_NO_WAIT, keep=True), self._proto, self._buffer),
                              lambda: self._proto.frames)

    def ack(self, envelope: _Json, payload: Optional[_Json] = None) -> None:
        """Ack ``envelope`` (one with ``accepts_response_payload: true``),
        with ``payload`` (a dict) or none, on its own connection.  Refused
        before anything is sent: MessageTooLong at MAX_ACK_BYTES or more,
        InvalidArgument for an envelope acked already or that takes no
        payload; ConnectionClosed when its connection ended first (Slack
        then sends it again).  A CaughtUp has nothing to ack: nothing is
        done.  Safe from any thread."""
        if type(envelope) is CaughtUp:
            return
        with self._lock:
            action = self._proto.ack(envelope, payload)
            link = None if action is None else self._links.get(action.key)
        if action is None:
            return
        if link is None:
            raise ConnectionClosed("the connection the envelope came on has ended: the ack was not sent")
        link.send(action.text)

    # -- on the shell -----------------------------------------------------

    def _first(self) -> None:
        """At every next(): the acks owed for what was handed over go; then
        what has come on every connection is read and acked (kept for the
        iteration, up to max_buffer)."""
        with self._lock:
            acks = self._proto.asked()
        if acks:
            self._do(acks, keep=True)
        if self._catch is not None:
            self._catch.step()                   # when due, whatever the buffer holds: a busy stream never starves it
        if self._proto.phase == OPEN and self._buffer.room():     # (no connection: it waits for an empty buffer)
            self._turns.drain(lambda: self._links and self._step(_NO_WAIT, keep=True), self._proto, self._buffer)

    def _hand(self, frame: _Json) -> _Json:
        with self._lock:
            self._proto.handed(frame)
        return frame

    def _before_read(self) -> Optional[float]:
        if self._catch is None:
            return None
        self._catch.step()                       # a catch-up call, if one is due
        return self._catch.due()

    @staticmethod
    def _live(catch: _CatchUpRunner, envelope: _Json) -> bool:
        """Whether an envelope (read) is delivered now: a message event's is
        held while its conversation is caught up (see _CatchUpRunner.live)."""
        payload = envelope.get("payload")
        event = payload.get("event") if envelope.get("type") == "events_api" and type(payload) is dict else None
        if type(event) is dict and event.get("type") == "message":
            channel, ts = event.get("channel"), event.get("ts")
            if type(channel) is str and type(ts) is str:
                return catch.core.route(channel, ts, envelope)
        return True

    def _heard(self, catch: _CatchUpRunner) -> None:
        """A connection said hello after none was open (under the lock):
        catch up if the gap was longer than Slack's retries are trusted to
        cover; ``True`` means the conversations messages came from."""
        gap, targets, last = catch.core.gap, catch.targets, catch.core.last
        short = gap is None or catch.wall() - gap <= self._catch_after
        catch.reconnected(short, lambda: _catch_up_known(targets, None, last) if targets is not None
                          else (list(last), []))

    def _must_connect(self) -> bool:
        proto = self._proto
        return (proto.phase in (ENDED, CLOSED) or not self._links
                or (proto.needed() > 0 and self._clock() >= self._retry_at))

    def _due(self) -> Optional[float]:
        due = self._proto.deadline()
        if self._retry_at != -math.inf and self._proto.needed() > 0 and (due is None or self._retry_at < due):
            due = self._retry_at
        return due

    def _control_of(self, key: int) -> _OnControl:
        control = self._controls.get(key)
        if control is None:
            control = self._controls[key] = functools.partial(self._control, key)
        return control

    def _control(self, key: int, now: float) -> Optional[Retire]:
        with self._lock:
            return self._proto.control(key, now)

    def _received(self, key: int, link: _Link, data: bytes, keep: bool) -> Optional[_Json]:
        with self._lock:
            catch = self._catch
            deaf = catch is not None and not self._proto.listening()
            try:
                actions: Union[List[_SocketModeAction], ProtocolError] = self._proto.receive(
                    key, data, self._clock())
            except ProtocolError as error:
                actions = error
            if catch is not None and deaf and self._proto.listening():
                self._heard(catch)
            self._turns.tell()
        if isinstance(actions, ProtocolError):
            return _skip(actions, self.strict, link.secrets)  # type: ignore[func-returns-value, no-any-return]  # None: no envelope
        return self._do(actions, keep, len(data))

    def _tick(self) -> None:
        with self._lock:
            actions = self._proto.tick(self._clock())
        self._do(actions, keep=True)

    def _do(self, actions: Sequence[_SocketModeAction], keep: bool, size: int = 0) -> Optional[_Json]:
        """Carry out the core's actions, in order; the envelope delivered
        (None with ``keep``: it is buffered)."""
        envelope, catch = None, self._catch
        for action in actions:
            if isinstance(action, Ack):
                link = self._links.get(action.key)
                if link is not None:                # else its connection ended: Slack sends it again
                    self._send(action.key, link, action.text)
            elif isinstance(action, Deliver):
                if catch is not None and not self._live(catch, action.envelope):
                    continue                         # held back for the catch-up, or had from it already
                if keep or envelope is not None:
                    self._buffer.put(action.envelope, size)
                else:
                    envelope = action.envelope
            elif isinstance(action, Probe):
                link = self._links.get(action.key)
                if link is not None:
                    self._send(action.key, link, None)
            elif isinstance(action, Retire):
                self._lost(action.key, action.error)
            elif isinstance(action, Stop):
                self._error = action.error
                self._release_all()
            # Connect: the next step opens it (the core's needed() says so)
        return envelope

    def _send(self, key: int, link: _Link, text: Optional[str]) -> None:
        """Send ``text`` (None: a WebSocket ping) on link ``key``; a link that cannot take it is lost."""
        try:
            link.send(text) if text is not None else link.ping()
        except TransportError as error:
            self._lost(key, error)

    def _between(self) -> None:
        """Open connections until the core has the number it wants (while
        others are open, one try at a time: they are read meanwhile)."""
        proto = self._proto
        if proto.phase in (ENDED, CLOSED):
            return self._release_all()
        while proto.needed() > 0 and not self._closing.is_set():
            if self._links and self._clock() < self._retry_at:
                return None
            try:
                opened = self._connector.open_link(patient=not self._links)
            except SlackError as error:
                with self._cond:
                    proto.ended()
                    self._cond.notify_all()
                self._release_all()
                if not self._closing.is_set():
                    self._error = error            # raised once the envelopes already read are yielded
                return None
            if isinstance(opened, float):
                self._retry_at = self._clock() + opened
                return None
            self._retry_at = -math.inf
            with self._lock:
                if proto.phase == CLOSED:
                    return opened.release()
                self._keys += 1
                proto.opening(self._keys, self._clock())
                self._links[self._keys] = opened
        return None

    def _lost(self, key: int, error: Optional[SlackError]) -> None:
        """Release link ``key``: retired in order (``error`` None: its
        successor is open), or lost (the backoff says when to open the next)."""
        with self._lock:
            link = self._links.pop(key, None)
            self._controls.pop(key, None)
            quiet = self._proto.quiet(key, self._clock())
            self._proto.lost(key)
            if self._catch is not None and link is not None and not self._proto.listening():
                self._catch.lost(quiet)
        if link is None:
            return
        if error is None:
            link.close_politely(b"refreshed")
        else:
            clean = getattr(error, "clean", False)       # a refresh ends so, after its successor said hello
            quiet = self._closing.is_set() or clean
            log.log(logging.INFO if quiet else logging.WARNING, "Socket Mode connection %d: %s", key,
                    _redact(str(error), link.secrets))      # a frame's type or reason is quoted: it may echo the ticket
            self._connector.lost(self._clock(), healthy=clean)
        link.release()


_R_session = TypeVar("_R_session")

if TYPE_CHECKING:
    from typing_extensions import ParamSpec
    _P_session = ParamSpec("_P_session")

    def _options_of(cls: Callable[_P_session, Any]) -> Callable[[Callable[..., _R_session]],
                                                                Callable[_P_session, _R_session]]:
        """For type checkers: the function takes exactly what ``cls`` takes
        (so connect()'s options are Session's, each with its type)."""
else:
    def _options_of(cls):
        return lambda function: function


@_options_of(Session)
def connect(token: str, **options: Any) -> Session:
    """Open an RTM session and return it, connected: ``Session(token, **options)``.

    ``method``: "rtm.start" (default; the team data in ``start``) or
    "rtm.connect" (url, self and team only).  rtm_connect_required falls
    back to rtm.connect with a MethodDeprecatedWarning.
    ``auto_reconnect`` (True): reconnect on goodbye, team migration, a
    closed or dead connection, always with rtm.connect.  Waits before trying
    again after failures: 1 s, doubling to 60 s, plus up to 25% jitter, or
    Retry-After (never less than the 1 s floor; a longer one is honoured and
    logged); a connection that stayed up STABLE_AFTER (60 s) resets them.
    A healthy connection, one that delivered an event and that the server
    ended in order (a close frame, goodbye, a migration), is no failure:
    the session reconnects at once.  Whatever the server does, the rtm.*
    calls keep to Slack's Tier 1: a burst of RTM_CALL_BURST (5), then one
    a minute; a wait this adds is logged at INFO.  So a steady failure calls
    rtm.* about once a minute after a burst of five, and a server that ends
    every connection after 20 s is rejoined at once five times, then once a
    minute (connected about a third of the time: the most Tier 1 allows).
    Errors retrying cannot fix raise at once; during a reconnect an
    answer that is not Slack's (a captive portal's page) is retried too.
    ``ping_interval`` (10 s) without a frame sends an RTM ping;
    ``pong_timeout`` (10 s) more without one and the connection is dead.
    Only a complete RTM frame counts: bytes trickling, fragments and
    WebSocket pings do not.
    ``hello_timeout`` (10 s): to connect, upgrade and read hello.
    ``connect_deadline`` (300 s) for the first connection,
    ``reconnect_deadline`` (None: forever) for each run of reconnects,
    counted from the loss; then the last error is raised.
    ``send_rate`` (1/s) and ``send_burst`` (5): the send throttle.
    ``ack_grace`` (5 s): how long after a reconnect a message sent on the
    lost connection may still be acknowledged before it is reported.
    ``max_buffer`` (10,000 frames) and ``max_buffer_bytes`` (64 MiB): the
    frames a sender waiting for its ack reads for the iterator; past either
    the oldest are dropped, with a warning, and counted in ``stats``.
    ``strict`` (False): raise ProtocolError on a frame that is not a UTF-8
    JSON object, instead of skipping it with a logged warning.
    ``max_message_size`` (8 MiB): a larger message drops the connection
    before it is read into memory.
    ``backoff`` (a Retry), ``clock`` and ``sleep``: the waits between
    tries and how they are timed and slept (injectable for tests).  Every
    timer of the session runs on ``clock``; a clock with a method
    ``wait(poll, until)`` also does the waiting for the socket (``poll``, a
    select.poll holding it): True when it may be readable, False once the
    clock reached ``until`` (None: no end).  A test's fake clock moves its
    own time there, so the session's timers take no real time.
    ``base_url``, ``timeout``, ``http``, ``proxy``, ``ssl_context``,
    ``ca_certs``, ``allow_http``, ``cookie``, ``user_agent``: as for
    api_call (the User-Agent goes on the WebSocket upgrade too).  The
    ``cookie`` goes on the upgrade only to a host of the Slack domain the
    base URL is on (slack.com or slack-gov.com: wss-primary.slack.com for
    acme.slack.com or acme.enterprise.slack.com), to the base URL's host
    alone for any other base URL, and to loopback only from a loopback
    base URL: a WebSocket URL on another host is refused with
    ProtocolError before any connection, rather than sent the cookie or
    connected without it.
    ``proxy`` (an http:// URL, or host:port), ``ssl_context`` and
    ``ca_certs`` (and HTTPS_PROXY / NO_PROXY) apply to the WebSocket too;
    a pool given as ``http`` serves the Web API calls only, so give the
    WebSocket the same settings through them.
    ``timeout`` (30 s) also bounds a send's wait for a reconnect and for
    room on the socket: a positive number of seconds (None, which means no
    bound to api_call, raises InvalidArgument here: a session needs a
    bound).  close() aborts the session's Web API call in flight, and
    none of another thread's on a shared make_pool pool (with your own
    ``http`` pool, once its headers are in).  ``team`` ("all", a subset
    of TEAM_PARTS, or None) and ``presence`` (False): what the session's
    TeamState loads, a page at a time between frames after connect()
    returns (see wait_team).  ``catch_up`` (False): True, or a collection
    of conversation ids and names: after a reconnect that was not seamless,
    what was posted in those conversations while no socket was open is
    fetched (conversations.history; for a session token client.counts
    first) and yielded as CaughtUp messages, in ts order, before the later
    live messages of their conversation, each message once; what cannot be
    fetched is yielded as a Missed report.  ``catch_up_calls`` (100) and
    ``catch_up_messages`` (1,000) bound each catch-up (see the README,
    "Catching up after a reconnect").  Other keywords are rtm.start's arguments
    (simple_latest, no_unreads, mpim_aware, presence_sub, ...); any other
    raises InvalidArgument before any I/O, naming the option meant when it
    looks like a misspelt one (``auto_reconect=``).  An argument of
    rtm.start not named here goes in ``rtm_args={...}``, as it is.
    ``gateway`` (False): True dials DESKTOP_GATEWAY, the gateway Slack's
    desktop client uses with a session token (``xoxc-`` and its
    ``cookie``), for workspaces that refuse rtm.connect to session tokens;
    a str dials that ws:// or wss:// address instead (checked as any
    WebSocket URL is: where the cookie may go).  No rtm.* call is made
    (``method`` is not used; rtm.start's arguments are refused): auth.test
    is called once, for the team and user (``start``: self, team id, name
    and domain), then the gateway is dialed with the token, the team's
    gateway server and the desktop client's parameters in the URL's query,
    and dialed again at each reconnect, with the same backoff.  The token
    in that URL never reaches a log line, a repr or an exception, nor
    websocket-client's own trace (it is given stand-ins for the URL's path
    and query and for the cookie; the real ones are put in on the wire).
    ``fast_reconnect`` (True): the session keeps the URL of the newest
    ``reconnect_url`` frame (a frame Slack sends the live clients; it is
    still yielded) and the next reconnect tries it first, once; when it
    fails (refused, expired, no hello) the session falls back at once to
    rtm.connect (or the gateway).  When a new connection's ``hello`` says
    ``"fast_reconnect": true``, the team state is not loaded again.

    Socket Mode: with an app-level token (``xapp-...``), or
    ``transport="socket_mode"``, connect() calls apps.connections.open and
    returns a SocketModeSession (see its documentation), connected: a
    connection said hello.  It takes the options above but for those of
    RTM alone (method, auto_reconnect, ack_grace, send_rate, send_burst,
    max_buffer_bytes, cookie, team, presence, rtm_args and rtm.start's
    arguments), and two of its own: ``connections`` (1 to 10; 1) kept open
    at once, and ``seen_window`` (600 s, the least): how long an envelope
    id is remembered, so that Slack's retries of one already yielded are
    acked, not yielded again.  ``catch_up`` as for RTM (True: the
    conversations messages came from), with ``catch_up_token`` (a Web API
    token: the app-level token cannot read history), after a gap longer
    than ``catch_up_after`` (60 s; shorter ones Slack's retries cover);
    a caught-up message comes as an events_api envelope with no
    envelope_id (a CaughtUp).  (Type checkers see connect() return a
    Session: typed code calls SocketModeSession(app_token, ...) itself.)
    ``transport="rtm"`` refuses an app-level token.
    """
    transport = options.pop("transport", None)
    if transport not in (None, "rtm", "socket_mode"):
        raise InvalidArgument(f"transport must be 'rtm' or 'socket_mode', not {transport!r}")
    app = isinstance(token, str) and token.startswith("xapp-")
    if transport == "socket_mode" or (transport is None and app):
        known = _keywords_of(SocketModeSession.__init__)
        unknown = sorted(set(options) - set(known))
        if unknown:
            _refuse_misspelt("connect", unknown, known, hatch=None)
            raise InvalidArgument(f"Socket Mode takes no option {', '.join(map(repr, unknown))}")
        return SocketModeSession(token, **options)  # type: ignore[return-value]  # see the docstring's last note
    if app:
        raise InvalidArgument("an app-level token (xapp-...) connects to Socket Mode, not RTM: leave out "
                              "transport='rtm'")
    return Session(token, **options)


###############################################################################
# FakeSlack: a Slack on loopback for tests ####################################
###############################################################################
#
# HTTP is the standard library's http.server; the WebSocket side is the
# websockets library's threaded server (the optional extra "fake"), so no
# framing is written here.  Everything listens on 127.0.0.1 only.

if TYPE_CHECKING:                          # types only: FakeSlack and the command line import these when run
    import argparse
    import http.server
    # websockets is optional (FakeSlack only): a copy of this file checks without it.
    from websockets.http11 import Request, Response                 # type: ignore[import-not-found, unused-ignore]
    from websockets.sync.server import Server, ServerConnection     # type: ignore[import-not-found, unused-ignore]

#: What the lookups of _Names find (a User, a conversation), for _Names._find.
_Found_D = TypeVar("_Found_D")
#: What FakeSlack.wait_for's predicate returns.
_T_fake = TypeVar("_T_fake")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_POST_TYPES = _FORM_TYPES + ("application/json", "text/plain")
_CHARSETS = ("utf-8", "iso-8859-1")


class FakeRequest:
    """One HTTP request FakeSlack received, exactly as it came: ``method``
    (the Slack method, "rtm.start"), ``http_method``, ``target`` (path and
    query as sent), ``headers``, ``body`` (bytes), the decoded ``args`` and
    the ``token`` it carried.  The WebSocket upgrades (FakeSlack.upgrades)
    are FakeRequests too, with ``method`` "websocket"."""

    __slots__ = ("method", "http_method", "target", "headers", "body", "args", "token")
    method: str
    http_method: str
    target: str
    headers: Dict[str, str]
    body: bytes
    args: _Json
    token: Optional[str]

    def __init__(self, method: str, http_method: str, target: str, headers: Dict[str, str], body: bytes) -> None:
        self.method, self.http_method, self.target = method, http_method, target
        self.headers, self.body, self.args, self.token = headers, body, {}, None

    def __repr__(self) -> str:
        return f"FakeRequest({self.http_method} {self.target})"


class _Scripted:
    """An HTTP answer FakeSlack was told to give."""

    __slots__ = ("status", "body", "headers", "delay", "truncate")
    status: int
    body: bytes
    headers: Dict[str, str]
    delay: float
    truncate: bool

    def __init__(self, status: int = 200, body: bytes = b"", headers: Optional[Mapping[str, str]] = None,
                 delay: float = 0.0, truncate: bool = False) -> None:
        self.status, self.body, self.headers = status, body, dict(headers or {})
        self.delay, self.truncate = delay, truncate


def _default_team() -> _Json:
    team = {"id": "T0FAKE", "name": "Fake Team", "domain": "fake",
            "icon": {"image_default": True}, "prefs": {}}
    me = {"id": "U0BOT", "name": "bot", "prefs": {}, "created": 1600000000}
    users = [
        {"id": "U0BOT", "name": "bot", "deleted": False, "is_bot": True, "real_name": "Bot",
         "profile": {"real_name": "Bot", "display_name": "bot"}},
        {"id": "U0ALICE", "name": "alice", "deleted": False, "is_bot": False, "real_name": "Alice",
         "tz": "Europe/Paris", "profile": {"real_name": "Alice", "display_name": "alice"}},
        {"id": "U0BOB", "name": "bob", "deleted": False, "is_bot": False, "real_name": "Bob",
         "tz": "America/New_York", "profile": {"real_name": "Bob", "display_name": "bob"}},
    ]
    topic = {"value": "", "creator": "", "last_set": 0}
    channels = [
        {"id": "C0GENERAL", "name": "general", "is_channel": True, "is_general": True, "is_member": True,
         "is_archived": False, "members": ["U0BOT", "U0ALICE", "U0BOB"], "topic": topic, "purpose": topic},
        {"id": "C0RANDOM", "name": "random", "is_channel": True, "is_general": False, "is_member": True,
         "is_archived": False, "members": ["U0BOT", "U0ALICE"], "topic": topic, "purpose": topic},
    ]
    groups = [{"id": "G0SECRET", "name": "secret", "is_group": True, "is_archived": False,
               "members": ["U0BOT", "U0BOB"], "topic": topic, "purpose": topic}]
    mpims = [{"id": "G0TRIO", "name": "mpdm-bot--alice--bob-1", "is_group": True, "is_mpim": True,
              "is_archived": False, "members": ["U0BOT", "U0ALICE", "U0BOB"], "topic": topic, "purpose": topic}]
    ims = [{"id": "D0ALICE", "is_im": True, "user": "U0ALICE", "is_open": True}]
    bots = [{"id": "B0BOT", "name": "bot", "deleted": False}]
    return {"self": me, "team": team, "users": users, "channels": channels, "groups": groups,
            "mpims": mpims, "ims": ims, "bots": bots}


#: The app FakeSlack's Socket Mode serves.
_FAKE_APP_ID = "A0FAKEAPP"
_NOT_STARTED = "this FakeSlack is not running: call start() first, or use it in a with statement"


class FakeSlack:
    """A Slack on loopback: the Web API (rtm.start, rtm.connect, auth.test)
    over HTTP and the RTM WebSocket, for tests of slack_rtm and of your bots.

        with slack_rtm.FakeSlack() as slack:
            with slack_rtm.connect("xoxb-test", base_url=slack.base_url) as rtm:
                slack.send({"type": "message", "channel": "C0GENERAL", "user": "U0ALICE", "text": "hi"})
                ...

    The HTTP side checks what Slack checks (Content-Type and charset, token,
    argument names) and answers with Slack's warnings and errors.  The
    WebSocket side says hello, acknowledges messages with a ``ts``, answers
    pings, and does what a test scripts: events, goodbye, error frames, a
    dropped or stalled connection, a team migration.  ``requests`` holds
    every HTTP request and ``received`` every frame clients sent.  Other
    clients work too (slack_sdk's RTM client is tested): ``auth.test`` names
    the bot of a bot token and a WebSocket URL may carry a query string.

    ``tokens`` are the tokens it accepts; ``team`` overrides parts of the
    rtm.start answer (self, team, users, channels, groups, mpims, ims, bots);
    ``rtm_start`` is "full" (the pre-2022 answer), "short" (since 2022) or
    "connect_required" (apps made after 2021-11-30).  users.list,
    conversations.list, users.info and conversations.info serve the same
    team, cursor-paginated, at most ``page_size`` items a page;
    ``rate_limits`` ({"users.list": 20}) answers 429 with Retry-After past
    that many calls of a method in a minute of ``clock``.  ``auto_ack`` is True
    (acknowledge every message with a ``ts``), False (``ack()`` by hand) or
    a function of the frame returning the reply to send, or None for none.
    With a server-side ``ssl_context`` it serves https:// and wss://.
    ``cookies`` maps a browser session token (``xoxc-``, also in ``tokens``)
    to its ``d`` cookie: as Slack does, the Web API answers such a token
    ``invalid_auth`` unless the request carries that cookie (URL-encoded or
    not), and one with no entry here never works.

    ``gateway_url`` is the desktop client's gateway (connect(gateway=...)):
    its upgrade must carry a known token in the query (an ``xoxc-`` one
    with its d cookie) and ``gateway_server=<team id>-1``, or it is refused
    (401, 400); then it serves as an RTM connection does.  With
    ``reconnect_urls`` each RTM connection gets a ``reconnect_url`` frame
    after its hello (``send_reconnect_url()`` sends another at any time).
    Each such URL is single-use and does not expire with time
    (``expire_next_urls`` makes one fail); a connection made through it
    says hello with ``"fast_reconnect": true``, then sends the messages
    posted (``post``) while no RTM connection was open since the one that
    got the URL was lost, as the fast reconnect Slack promises.

    Socket Mode: ``apps.connections.open`` with one of ``app_tokens``
    (``xapp-``; another kind of token gets not_allowed_token_type) opens a
    connection that says Slack's hello and carries envelopes:
    ``send_event()``, ``send_slash_command()``, or ``send_envelope()`` for
    any type or a whole envelope (a recorded one; the same one again for a
    duplicate), each on one connection in turn.  An envelope not acked
    within ``ack_timeout`` (3 s) comes again, up to ``max_retries`` times,
    with ``retry_attempt`` and ``retry_reason``.  ``refresh(reason)``
    (``disconnect`` then close), ``disable_link()`` (link_disabled, for
    good) and ``refuse_websockets(n)`` (too_many_websockets) script Slack's
    ends; ``acks`` holds every ack with its payload, ``wait_acks(n)`` waits.

    The Web API a bot answers with: ``chat.postMessage`` (channel, text or
    blocks, thread_ts) posts as the team's ``self`` into the conversation's
    ``history`` and records the message in ``posts``; ``reactions.add``
    (channel, timestamp, name) adds the bot's reaction to a message there;
    ``conversations.history`` (channel, oldest, latest, inclusive, limit,
    cursor) reads it back newest first, without thread replies, as Slack
    does (not_in_channel for a public channel the team's ``self`` is not
    in).  ``post(channel, text, user=)`` writes a message there as someone
    of the team and sends it to the connected clients; ``wait_posts(n)``
    waits for the bot's posts.  ``client.counts`` (undocumented, what
    Slack's own clients ask) lists the conversations ``self`` is in with
    their ``latest`` message and ``last_read`` mark, which ``mark(channel,
    ts)`` sets (``self``'s own messages count as read); a restricted team
    refuses it: ``fail("client.counts", "team_is_restricted", times=None)``.

    A test waits for what the client does with ``wait_connections(n)``,
    ``wait_received(n, type=)``, ``wait_calls(method, n)``,
    ``wait_closes(n)`` or, for anything else, ``wait_for(predicate)``:
    each returns what it waited for, or raises AssertionError saying what
    did not come within its ``timeout`` (10 s), so a test fails, never hangs.
    """

    _http: Optional["http.server.ThreadingHTTPServer"]    # both set by start(), None when not running
    _ws: Optional["Server"]

    def __init__(self, *, tokens: Iterable[str] = ("xoxb-test",), team: Optional[Mapping[str, Any]] = None,
                 rtm_start: str = "short",
                 auto_ack: Union[bool, Callable[[_Json], Optional[_Json]]] = True,
                 auto_pong: bool = True, ssl_context: Optional["ssl.SSLContext"] = None,
                 cookies: Optional[Mapping[str, str]] = None, page_size: int = 1000,
                 rate_limits: Optional[Mapping[str, int]] = None, clock: _Clock = time.monotonic,
                 app_tokens: Iterable[str] = ("xapp-test",), ack_timeout: float = 3.0, max_retries: int = 3,
                 reconnect_urls: bool = False) -> None:
        self.tokens: Tuple[str, ...] = tuple(tokens)
        self.reconnect_urls: bool = reconnect_urls
        self._granted: Dict[str, "ServerConnection"] = {}        # a reconnect URL's ticket: the connection it came on
        self._lost_at: Dict["ServerConnection", int] = {}        # a lost RTM connection: len(_missed) then
        self._missed: List[_Json] = []            # messages posted while no RTM connection was open
        self.app_tokens: Tuple[str, ...] = tuple(app_tokens)
        self.ack_timeout: float = ack_timeout
        self.max_retries: int = max_retries
        self.acks: List[_Json] = []               # Socket Mode acks, with their payloads
        self.history: Dict[str, List[_Json]] = {}  # each conversation's messages, oldest first
        self.posts: List[_Json] = []              # chat.postMessage's messages, each with its channel
        self._last_read: Dict[str, str] = {}      # mark()'s read marks, for client.counts
        self._refused_posts: List[str] = []       # chat.postMessage's errors, for wait_posts to tell
        self._socket_mode: Set["ServerConnection"] = set()
        self._socket_mode_tickets: Set[str] = set()
        self._unacked: Dict[str, _Json] = {}
        self._timers: List[threading.Timer] = []
        self._turn = self._too_many = self._event_ids = 0
        self._link_disabled = False
        self.cookies: Dict[str, str] = dict(cookies or {})
        self.page_size: int = page_size
        self.rate_limits: Dict[str, int] = dict(rate_limits or {})
        self._clock = clock
        self._calls_by_method: Dict[str, Deque[float]] = {}
        self.team: _Json = dict(_default_team(), **(team or {}))
        self.rtm_start_mode: str = rtm_start
        self.auto_ack: Union[bool, Callable[[_Json], Optional[_Json]]] = auto_ack
        self.auto_pong: bool = auto_pong
        self.ssl_context: Optional["ssl.SSLContext"] = ssl_context
        self.requests: List[FakeRequest] = []
        self.upgrades: List[FakeRequest] = []
        self.received: List[_Json] = []
        self.closes: List[Optional[int]] = []     # close codes clients sent (None: no close frame)
        self.connections: int = 0
        self._withhold = 0
        self._scripts: Dict[str, Deque[_Scripted]] = {}
        self._always: Dict[str, _Scripted] = {}  # answer(times=None): every later call of the method
        self._tickets: Dict[str, Tuple[float, Optional[str]]] = {}     # ticket: (issued, token)
        self._expire_next = 0
        self._on_connect: Deque[Tuple[Union[_Json, str, bytes], ...]] = deque()
        self._live: List["ServerConnection"] = []
        self._http_live: Dict["socket.socket", threading.Thread] = {}   # the HTTP connections open, their threads
        self._closing = threading.Event()                 # close() is under way: a scripted delay ends
        self._stalled: Set["ServerConnection"] = set()
        self._ts = 0
        self._cond = threading.Condition()
        self._http = self._ws = None
        self._wake: Tuple[socket.socket, socket.socket]   # set by start(): written by close()
        self._threads: List[threading.Thread] = []

    # -- life -------------------------------------------------------------

    def start(self) -> "FakeSlack":
        """Start listening on 127.0.0.1 (ephemeral ports)."""
        import http.server
        import socket
        try:
            from websockets.sync.server import serve
        except ImportError:
            extra = " (slack_rtm's \"fake\" extra)" if _installed() else ""
            raise ImportError(f"FakeSlack needs the websockets package{extra}: pip install websockets") from None
        self._closing.clear()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _fake_http_handler(self))
        server.daemon_threads = True
        try:
            if self.ssl_context is not None:          # the handshake happens in the handler's thread
                server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True,
                                                             do_handshake_on_connect=False)
            self._ws = serve(self._serve_ws, "127.0.0.1", 0, compression=None, ping_interval=None, max_size=None,
                             process_request=self._upgrade,
                             ssl=self.ssl_context, logger=_FakeWsLog(_fake_ws_logger(), self._closing))
        except BaseException:
            server.server_close()                     # not started: close() has nothing to stop
            raise
        self._http = server
        # websockets 16 and later poll every 0.1 s in shutdown() for handler
        # threads still ending: every FakeSlack's close() waited that long.
        setattr(self._ws, "SHUTDOWN_POLLING_INTERVAL", 0.002)     # absent before 16, and unused there
        self._wake = socket.socketpair()
        for target in (functools.partial(_serve_until_woken, self._http, self._wake[0]), self._ws.serve_forever):
            thread = threading.Thread(target=target, name="FakeSlack", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        """Stop both servers and end every connection."""
        if self._http is None:
            return
        self._closing.set()
        self._wake[1].send(b"x")                  # the HTTP thread ends at once, not at its next poll
        self._threads[0].join(5)
        with self._cond:                          # a client's kept-alive connection ends, and so its thread
            live = dict(self._http_live)          # (daemons, which server_close() does not join)
        for sock, thread in live.items():
            _shutdown(sock)
            thread.join(5)
        self._http.server_close()
        for sock in self._wake:
            sock.close()
        for timer in list(self._timers):
            timer.cancel()
        for conn in list(self._live):
            self._drop(conn)
        self._ws.shutdown()      # type: ignore[union-attr]  # start() sets _ws with _http, close() clears both
        for thread in self._threads:
            thread.join(5)
        # websockets 15 leaves its shutdown pipe open (two raw descriptors;
        # later versions use a socket pair and close it): close it here.
        for name in ("shutdown_watcher", "shutdown_notifier"):
            descriptor = getattr(self._ws, name, None)
            if isinstance(descriptor, int):
                try:
                    os.close(descriptor)
                except OSError:
                    pass
        self._http = self._ws = None

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        if self._http is None:
            raise RuntimeError(_NOT_STARTED)
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self._http.server_address[1]}/api/"

    @property
    def gateway_url(self) -> str:
        """The gateway's address, for connect(gateway=...)."""
        return f"{'wss' if self.ssl_context is not None else 'ws'}://127.0.0.1:{self.ws_port}/gateway"

    @property
    def ws_port(self) -> int:
        if self._ws is None:
            raise RuntimeError(_NOT_STARTED)
        return self._ws.socket.getsockname()[1]      # type: ignore[no-any-return]  # (host, port) of an AF_INET socket

    # -- HTTP scripting ---------------------------------------------------

    def answer(self, method: str, json_body: Optional[_Json] = None, *, status: int = 200,
               body: Optional[bytes] = None, headers: Optional[Mapping[str, str]] = None, delay: float = 0.0,
               truncate: bool = False, times: Optional[int] = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with this instead of
        the usual: a JSON object, or raw ``body`` bytes (an HTML page, say),
        with a status and headers, after ``delay`` seconds, or cut short
        (``truncate``: the Content-Length promises more than is sent).
        ``times=None``: every call from now on, once those scripted with a
        number of times are used up."""
        if body is None:
            body = json.dumps(json_body if json_body is not None else {"ok": True}).encode()
            headers = dict({"Content-Type": "application/json; charset=utf-8"}, **(headers or {}))
        scripted = _Scripted(status, body, dict(headers or {}), delay, truncate)
        with self._cond:
            if times is None:
                self._always[method] = scripted
            else:
                self._scripts.setdefault(method, deque()).extend([scripted] * times)

    def fail(self, method: str, error: str, *, times: Optional[int] = 1, retry_after: Optional[float] = None) -> None:
        """Answer the next ``times`` calls of ``method`` (None: every call
        from now on) with Slack error ``error`` (429 with Retry-After for
        "ratelimited").  A restricted team, say:
        ``fail("client.counts", "team_is_restricted", times=None)``."""
        if error == "ratelimited":
            headers = {"Retry-After": str(retry_after if retry_after is not None else 1)}
            self.answer(method, {"ok": False, "error": error}, status=429, headers=headers, times=times)
        else:
            self.answer(method, {"ok": False, "error": error}, times=times)

    def calls(self, method: str) -> List[FakeRequest]:
        """The requests made to ``method``."""
        return [r for r in self.requests if r.method == method]

    # -- WebSocket scripting ----------------------------------------------

    def send(self, event: Union[_Json, str, bytes]) -> None:
        """Send a frame (a dict, or str for raw text, bytes for a raw text
        frame that may not even be UTF-8) on every live connection.  One the
        client has just closed (its handler has not seen it yet) is passed
        over; AssertionError when the frame reached none."""
        from websockets.exceptions import ConnectionClosed as Closed   # type: ignore[import-not-found, unused-ignore]
        conns = self._wait_live()
        closed = 0
        for conn in conns:
            try:
                self._send(conn, event)
            except Closed:
                closed += 1
        if closed == len(conns):
            raise AssertionError("FakeSlack: every live connection was closed by the client: the frame went "
                                 "nowhere")

    def send_burst(self, events: Iterable[Union[_Json, bytes]]) -> None:
        """Send many frames at once, framed by the websockets library and
        written in one call: a server fast enough for benchmarks and soaks."""
        from websockets.frames import Frame, Opcode          # type: ignore[import-not-found, unused-ignore]
        blob = b"".join(Frame(Opcode.TEXT, e if isinstance(e, bytes) else json.dumps(e).encode()).serialize(
            mask=False, extensions=[]) for e in events)
        for conn in self._wait_live():
            with conn.protocol_mutex:
                conn.socket.sendall(blob)

    def goodbye(self) -> None:
        """Send ``goodbye`` and close, as Slack does before a restart."""
        self._end_live({"type": "goodbye"})

    def migrate(self) -> None:
        """Send ``team_migration_started`` and close the connection."""
        self._end_live({"type": "team_migration_started"})

    def close_connections(self, code: int = 1000) -> None:
        """Close every live connection cleanly.  Returns at once: the closing
        handshake finishes in the background, when the client reads."""
        self._end_live(None, code)

    def drop(self) -> None:
        """Reset every live connection: no close frame, the socket just ends."""
        for conn in self._take_live():
            self._drop(conn)

    def _take_live(self) -> List["ServerConnection"]:
        """The live connections, which stop being live at once: a frame
        scripted after a fault goes to the next connection."""
        with self._cond:
            conns = self._wait_live()
            self._live = [c for c in self._live if c not in conns]
            for conn in conns:                   # what is posted from now on, a fast reconnect brings
                self._lost_at.setdefault(conn, len(self._missed))
            self._cond.notify_all()
        return conns

    def _end_live(self, event: Optional[_Json], code: int = 1000) -> None:
        for conn in self._take_live():
            if event is not None:
                self._send(conn, event)
            thread = threading.Thread(target=conn.close, args=(code,), name="FakeSlack close", daemon=True)
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def stall(self) -> None:
        """Stop answering on the live connections (no pongs, no acks): the
        connection looks open but is dead."""
        with self._cond:
            self._stalled.update(self._live)

    def expire_next_urls(self, count: int = 1) -> None:
        """The next ``count`` WebSocket connections are told their URL has
        expired (error code 1) and closed."""
        with self._cond:
            self._expire_next += count

    def withhold_hello(self, count: int = 1) -> None:
        """The next ``count`` connections get no hello (and nothing else)."""
        with self._cond:
            self._withhold += count

    def send_reconnect_url(self) -> List[str]:
        """Send each live RTM connection a ``reconnect_url`` frame, a new URL
        each (see the class); return the URLs."""
        with self._cond:
            conns = [c for c in self._live if c not in self._socket_mode]
        urls = []
        for conn in conns:
            urls.append(self._grant(conn))
            self._send(conn, {"type": "reconnect_url", "url": urls[-1]})
        return urls

    def _grant(self, conn: "ServerConnection") -> str:
        """A new reconnect URL for ``conn``'s client."""
        url = self._issue_url()
        with self._cond:
            self._granted[_fake_ticket(url)] = conn
        return url.replace("/websocket/", "/reconnect/")

    def on_connect(self, *frames: Union[_Json, str, bytes]) -> None:
        """Send these frames right after the ``hello`` of the next connection."""
        with self._cond:
            self._on_connect.append(frames)

    def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` WebSocket connections have said hello."""
        self.wait_for(lambda: self.connections >= count, timeout,
                      lambda: f"{count} WebSocket connections (there were {self.connections})")

    def wait_received(self, count: int = 1, timeout: float = 10.0, type: Optional[str] = None) -> List[_Json]:
        """Block until ``count`` frames (of ``type``, if given) have come
        from the clients; return them."""
        def matching() -> List[_Json]:
            return [f for f in self.received if type is None or f.get("type") == type]
        kind = "" if type is None else f" of type {type!r}"
        self.wait_for(lambda: len(matching()) >= count, timeout,
                      lambda: f"{count} frames{kind} from the client (there were {len(matching())}: "
                              f"{_fake_frames(matching())})")
        with self._cond:
            return matching()

    def wait_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> List[FakeRequest]:
        """Block until ``method`` has been called ``count`` times; return the calls."""
        self.wait_for(lambda: len(self.calls(method)) >= count, timeout,
                      lambda: f"{count} {method} calls (there were {len(self.calls(method))})")
        return self.calls(method)

    def wait_closes(self, count: int = 1, timeout: float = 10.0) -> List[Optional[int]]:
        """Block until ``count`` client connections have ended; return
        ``closes``, their close codes (None: the client sent no close frame)."""
        self.wait_for(lambda: len(self.closes) >= count, timeout,
                      lambda: f"{count} connections closed by the client (there were {len(self.closes)})")
        return list(self.closes)

    def wait_for(self, predicate: Callable[[], _T_fake], timeout: float = 10.0,
                 what: Union[str, Callable[[], str]] = "the predicate") -> _T_fake:
        """Block until ``predicate()`` is true and return its value: it is
        checked at each change FakeSlack sees, and at least every 0.1 s (so
        it may test anything).  AssertionError, naming ``what`` (a string,
        or a function making one), when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                left = deadline - time.monotonic()
                if value or left <= 0:
                    break
                self._cond.wait(min(left, 0.1))
        if not value:
            raise AssertionError(f"FakeSlack: waited {timeout} s for {what() if callable(what) else what}, in vain")
        return value

    # -- Socket Mode scripting --------------------------------------------

    def send_envelope(self, kind: Union[str, _Json], payload: Optional[_Json] = None, *,
                      accepts_response_payload: bool = False) -> _Json:
        """Send a Socket Mode envelope on one live Socket Mode connection
        (the next in turn: Slack sends each payload to any of them) and
        return it.  ``kind`` is "events_api", "interactive" or
        "slash_commands", with its ``payload``; or a whole envelope (a dict)
        sent as it is: a recorded one, or one sent before (a duplicate).
        Unless acked within ``ack_timeout``, it is sent again, up to
        ``max_retries`` times, with ``retry_attempt`` counting up and
        ``retry_reason`` "timeout", as Slack does."""
        import uuid
        if isinstance(kind, dict):
            envelope = _copy_objects(kind)
        else:
            envelope = {"envelope_id": str(uuid.uuid4()), "type": kind, "payload": payload or {},
                        "accepts_response_payload": accepts_response_payload, "retry_attempt": 0,
                        "retry_reason": ""}
        self._deliver(envelope, self._wait_socket_mode())
        return envelope

    def send_event(self, event: _Json) -> _Json:
        """Send ``event`` (``{"type": "app_mention", ...}``) in an events_api
        envelope, wrapped as Slack wraps it (event_callback, event_id, ...)."""
        import uuid
        self._event_ids += 1
        payload = {"token": "fake-verification-token", "team_id": self.team["team"]["id"],
                   "api_app_id": _FAKE_APP_ID, "event": event, "type": "event_callback",
                   "event_id": f"Ev{self._event_ids:09d}", "event_time": int(time.time()),
                   "event_context": uuid.uuid4().hex}
        return self.send_envelope("events_api", payload)

    def send_slash_command(self, command: str, text: str = "", *, channel_id: str = "C0GENERAL",
                           user_id: str = "U0ALICE") -> _Json:
        """Send a slash command in a slash_commands envelope that accepts a
        response payload (the shape of the recorded ones)."""
        team = self.team["team"]
        payload = {"token": "fake-verification-token", "team_id": team["id"], "team_domain": team["domain"],
                   "channel_id": channel_id, "user_id": user_id, "command": command, "text": text,
                   "api_app_id": _FAKE_APP_ID, "response_url": "https://hooks.slack.com/commands/fake",
                   "trigger_id": f"{self._next_ts()}.fake"}
        return self.send_envelope("slash_commands", payload, accepts_response_payload=True)

    def refresh(self, reason: str = "warning", close_after: float = 0.5) -> None:
        """Announce the end of every live Socket Mode connection (``disconnect``
        with ``reason``: "warning", "refresh_requested", "link_disabled"...)
        and close each ``close_after`` seconds later.  Envelopes sent after
        this go to the connections opened after it."""
        with self._cond:
            conns = [c for c in self._live if c in self._socket_mode]
            self._live = [c for c in self._live if c not in conns]
            self._cond.notify_all()
        for conn in conns:
            self._send(conn, {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}})
            self._later(close_after, conn.close)

    def disable_link(self) -> None:
        """Socket Mode is switched off in the app's settings: every live and
        later connection gets ``disconnect`` with reason link_disabled."""
        with self._cond:
            self._link_disabled = True
        self.refresh("link_disabled", close_after=0.0)

    def refuse_websockets(self, count: int = 1) -> None:
        """The next ``count`` Socket Mode connections get ``disconnect`` with
        reason too_many_websockets (in the recorded shape) instead of hello."""
        with self._cond:
            self._too_many += count

    def wait_acks(self, count: int = 1, timeout: float = 10.0) -> List[_Json]:
        """Block until ``count`` Socket Mode acks have come; return ``acks``."""
        self.wait_for(lambda: len(self.acks) >= count, timeout,
                      lambda: f"{count} Socket Mode acks (there were {len(self.acks)})")
        return list(self.acks)

    def _wait_socket_mode(self, timeout: float = 10.0) -> List["ServerConnection"]:
        with self._cond:
            if not self._cond.wait_for(lambda: self._socket_mode & set(self._live), timeout):
                raise AssertionError(f"FakeSlack: no Socket Mode client connected within {timeout} s")
            return [c for c in self._live if c in self._socket_mode]

    def _deliver(self, envelope: _Json, conns: List["ServerConnection"]) -> None:
        """Send ``envelope`` on one of ``conns`` (in turn); retry it if it is not acked."""
        with self._cond:
            self._turn += 1
            conn = conns[self._turn % len(conns)]
            self._unacked[envelope["envelope_id"]] = envelope
        self._send(conn, envelope)
        self._later(self.ack_timeout, functools.partial(self._retry, envelope["envelope_id"]))

    def _retry(self, envelope_id: str) -> None:
        with self._cond:
            envelope = self._unacked.pop(envelope_id, None)
            conns = [c for c in self._live if c in self._socket_mode]
        if envelope is None or self._http is None:
            return
        attempt = int(envelope.get("retry_attempt") or 0) + 1
        if attempt > self.max_retries:
            return
        retry = dict(envelope, retry_attempt=attempt, retry_reason="timeout")
        if conns:
            self._deliver(retry, conns)
        else:                                    # none open: Slack tries again later
            with self._cond:
                self._unacked[envelope_id] = envelope
            self._later(self.ack_timeout, functools.partial(self._retry, envelope_id))

    def _later(self, seconds: float, action: Callable[[], object]) -> None:
        """Do ``action`` in ``seconds`` (a timer thread, cancelled by close())."""
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        with self._cond:
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _socket_mode_hello(self, conn: "ServerConnection") -> Optional[str]:
        """The hello of a new Socket Mode connection, as Slack greets it; or
        None when it was refused (and is closing)."""
        with self._cond:
            refuse = self._too_many > 0
            self._too_many -= refuse
            live = len(self._socket_mode & set(self._live))
            disabled = self._link_disabled
        info = {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060}
        if disabled:
            conn.send(json.dumps({"type": "disconnect", "reason": "link_disabled", "debug_info": info}))
            conn.close()
            return None
        if refuse:
            conn.send(json.dumps({"type": "disconnect", "reason": "too_many_websockets",
                                  "num_connections": live, "debug_info": info,
                                  "connection_info": {"app_id": _FAKE_APP_ID}}))
            conn.close()
            return None
        return json.dumps({"type": "hello", "num_connections": live + 1, "debug_info": info,
                           "connection_info": {"app_id": _FAKE_APP_ID}})

    def ack(self, frame: _Json, ok: bool = True, error: Optional[_Json] = None, **extra: Any) -> None:
        """Reply to a client frame by hand (with ``auto_ack=False``)."""
        self.send(self.reply(frame, ok, error, **extra))

    def reply(self, frame: _Json, ok: bool = True, error: Optional[_Json] = None, **extra: Any) -> _Json:
        """The reply Slack gives a message frame: ``ok`` with a ``ts``, or an
        error (by default code 2, "message text is missing")."""
        reply: _Json = {"ok": ok, "reply_to": frame["id"]}
        if ok:
            reply.update(ts=self._next_ts(), text=frame.get("text"))
        else:
            reply["error"] = error or {"code": 2, "msg": "message text is missing"}
        reply.update(extra)
        return reply

    # -- messages: a conversation's history ---------------------------------

    def post(self, channel: str, text: str, user: str = "U0ALICE", ts: Optional[str] = None, *,
             live: bool = True, **fields: Any) -> _Json:
        """Write a message from ``user`` into ``channel``'s history, as if
        someone of the team had, and send it as a ``message`` event to the
        clients connected now, if any (every RTM connection, and one Socket
        Mode connection in an events_api envelope); return the message
        stored.  ``live=False``: stored only, as if it came while the
        client was away (a message it missed, which only a catch-up finds).  ``ts`` is a new one unless given; ``fields`` (thread_ts,
        blocks, subtype...) go into the message.  InvalidArgument for a
        conversation the team does not have, or a ts malformed or taken."""
        if not self._has_conversation(channel):
            raise InvalidArgument(f"FakeSlack.post: the team has no conversation {channel!r}")
        if ts is not None and _fake_ts_key(ts, exact=True) is None:
            raise InvalidArgument(f"FakeSlack.post: ts {ts!r} is not a Slack ts (like '1600000000.000100')")
        message: _Json = dict({"type": "message", "user": user, "text": text, "ts": ts or self._next_ts()}, **fields)
        if not self._store(channel, message):
            raise InvalidArgument(f"FakeSlack.post: {channel} already has a message with ts {ts!r}")
        if live:
            self._announce(dict(message, channel=channel), missed=True)
        return _copy_objects(message)

    def mark(self, channel: str, ts: str) -> None:
        """Set the team user's read mark in ``channel`` at ``ts``, as Slack's
        conversations.mark does: client.counts answers it as ``last_read``
        and what is newer as unread.  InvalidArgument for a conversation the
        team does not have, or a ts malformed."""
        if not self._has_conversation(channel):
            raise InvalidArgument(f"FakeSlack.mark: the team has no conversation {channel!r}")
        if _fake_ts_key(ts, exact=True) is None:
            raise InvalidArgument(f"FakeSlack.mark: ts {ts!r} is not a Slack ts (like '1600000000.000100')")
        with self._cond:
            self._last_read[channel] = ts
            self._cond.notify_all()

    def wait_posts(self, count: int = 1, timeout: float = 10.0) -> List[_Json]:
        """Block until chat.postMessage has posted ``count`` messages; return
        ``posts`` (each message with its ``channel``).  AssertionError after
        ``timeout`` seconds, naming the posts that came and the calls refused."""
        self.wait_for(lambda: len(self.posts) >= count, timeout, lambda: self._posts_so_far(count))
        return list(self.posts)

    def _posts_so_far(self, count: int) -> str:
        with self._cond:
            posts = [f"{p['channel']} {str(p.get('text'))[:40]!r}" for p in self.posts]
            refused = list(self._refused_posts)
        return (f"{count} chat.postMessage posts (there were {len(posts)}: {', '.join(posts) or 'none'}; "
                f"calls refused: {', '.join(refused) or 'none'})")

    def _announce(self, event: _Json, missed: bool = False) -> None:
        """Send ``event`` to the clients connected now: each RTM connection,
        and one Socket Mode connection (Slack sends an event to one); with
        ``missed``, kept for a fast reconnect when no RTM connection is open."""
        with self._cond:
            rtm = [c for c in self._live if c not in self._socket_mode]
            socket_mode = bool(self._socket_mode & set(self._live))
            if missed and not rtm:
                self._missed.append(event)
        for conn in rtm:
            self._send(conn, event)
        if socket_mode:
            self.send_event(event)

    def _store(self, channel: str, message: _Json) -> bool:
        """Put ``message`` into ``channel``'s history in ts order and count
        it in its thread; False (and nothing stored) if its ts is taken."""
        key = _fake_ts_key(message["ts"])
        with self._cond:
            messages = self.history.setdefault(channel, [])
            keys = [_fake_ts_key(m.get("ts")) or 0 for m in messages]
            if key in keys:
                return False
            messages.insert(sum(1 for k in keys if k < (key or 0)), message)
            _fake_count_reply(messages, message)
            self._cond.notify_all()
        return True

    def _conversation(self, channel: Any) -> Optional[Tuple[str, _Json]]:
        """(the team's list holding ``channel``, the conversation), or None."""
        return next(((kind, c) for kind in _FAKE_FLAGS for c in self.team.get(kind) or ()
                     if isinstance(c, dict) and c.get("id") == channel), None)

    def _has_conversation(self, channel: Any) -> bool:
        """Whether ``channel`` (an argument: a JSON body's may be anything) is
        the id of one of the team's conversations."""
        return isinstance(channel, str) and any(
            isinstance(c, dict) and c.get("id") == channel for kind in _FAKE_FLAGS for c in self.team.get(kind) or ())

    # -- internals --------------------------------------------------------

    def _next_ts(self) -> str:
        with self._cond:
            self._ts += 1
            return f"{int(time.time())}.{self._ts:06d}"

    def _wait_live(self, timeout: float = 10.0) -> List["ServerConnection"]:
        """The live connections, waiting for one if need be: a scripted
        frame with no client to take it is a mistake in the test, said aloud."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._live, timeout):
                raise AssertionError(f"FakeSlack: no client connected within {timeout} s")
            return list(self._live)

    def _send(self, conn: "ServerConnection", event: Union[_Json, str, bytes]) -> None:
        if isinstance(event, bytes):
            conn.send(event, text=True)
        else:
            conn.send(event if isinstance(event, str) else json.dumps(event))

    def _drop(self, conn: "ServerConnection") -> None:
        import socket
        try:
            conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _issue_url(self, token: Optional[str] = None, socket_mode: bool = False) -> str:
        import secrets
        ticket = secrets.token_urlsafe(12)
        with self._cond:
            self._tickets[ticket] = (time.monotonic(), token)
            if socket_mode:
                self._socket_mode_tickets.add(ticket)
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.ws_port}/{'link' if socket_mode else 'websocket'}/{ticket}"

    def _upgrade(self, conn: "ServerConnection", request: "Request") -> Optional["Response"]:
        """Record the upgrade; refuse it (401) for a session token whose d
        cookie is missing, as the Web API does."""
        headers = dict(request.headers.raw_items())
        with self._cond:
            self.upgrades.append(FakeRequest("websocket", "GET", request.path, headers, b""))
            token = self._tickets.get(_fake_ticket(request.path), (None, None))[1]
            self._cond.notify_all()
        if _fake_ticket(request.path) == "gateway":
            refusal = self._gateway_refusal(request.path, headers.get("Cookie"))
            return None if refusal is None else conn.respond(401 if refusal == "invalid_auth" else 400,
                                                             refusal + "\n")
        if token is not None and not self._cookie_fits(token, headers.get("Cookie")):
            return conn.respond(401, "the session token's d cookie is missing\n")
        return None

    def _gateway_refusal(self, target: str, cookie: Optional[str]) -> Optional[str]:
        """Why the gateway refuses an upgrade to ``target``, or None: a
        token it does not know (or an xoxc- token without its d cookie), a
        gateway_server that is not the team's."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))
        token = query.get("token", "")
        if token not in self.tokens or not self._cookie_fits(token, cookie):
            return "invalid_auth"
        if query.get("gateway_server") != f"{self.team['team']['id']}-1":
            return "invalid gateway_server"
        return None

    def _serve_ws(self, conn: "ServerConnection") -> None:
        # request is set by the handshake, before this
        ticket = _fake_ticket(conn.request.path)        # type: ignore[union-attr, unused-ignore]
        with self._cond:
            issued = self._tickets.pop(ticket, (None, None))[0]
            socket_mode = ticket in self._socket_mode_tickets
            self._socket_mode_tickets.discard(ticket)
            granted = self._granted.pop(ticket, None)     # a reconnect URL's: not timed, resumes a session
            if ticket == "gateway" or granted is not None:
                issued = time.monotonic()
            expired = issued is None or time.monotonic() - issued > URL_LIFETIME or self._expire_next > 0
            if self._expire_next > 0:
                self._expire_next -= 1
            withhold = self._withhold > 0
            self._withhold -= withhold
        if expired:
            conn.send(json.dumps({"type": "error", "error": {"code": 1, "msg": "Socket URL has expired"}}))
            conn.close()
            return
        if withhold:
            self._read_frames(conn)
            return
        hello = self._socket_mode_hello(conn) if socket_mode else self._rtm_hello(granted)
        if hello is None:
            self._read_frames(conn)
            return
        with self._cond:            # live and hello at once: what is scripted after the hello acts on this one
            self._live.append(conn)
            self.connections += 1
            if socket_mode:
                self._socket_mode.add(conn)
            conn.send(hello)
            for message in self._missed[self._lost_at.pop(granted, len(self._missed)):] if granted else ():
                self._send(conn, message)
            if self.reconnect_urls and not socket_mode:
                self._send(conn, {"type": "reconnect_url", "url": self._grant(conn)})
            for frame in self._on_connect.popleft() if self._on_connect else ():
                self._send(conn, frame)
            self._cond.notify_all()
        try:
            self._read_frames(conn)
        finally:
            with self._cond:
                if not socket_mode:
                    self._lost_at.setdefault(conn, len(self._missed))
                if conn in self._live:
                    self._live.remove(conn)
                self._stalled.discard(conn)
                self._socket_mode.discard(conn)
                self._cond.notify_all()

    @staticmethod
    def _rtm_hello(granted: Optional["ServerConnection"]) -> str:
        """An RTM hello: one that resumes a session (through a reconnect URL) says so."""
        return '{"type": "hello", "fast_reconnect": true}' if granted is not None else '{"type": "hello"}'

    def _read_frames(self, conn: "ServerConnection") -> None:
        from websockets.exceptions import ConnectionClosed as Closed   # type: ignore[import-not-found, unused-ignore]
        while True:
            try:
                data = conn.recv()
            except Closed as exc:
                with self._cond:
                    self.closes.append(exc.rcvd.code if exc.rcvd else None)
                    self._cond.notify_all()
                return
            frame = json.loads(data)
            with self._cond:
                self.received.append(frame)
                if conn in self._socket_mode and "envelope_id" in frame:
                    self.acks.append(frame)
                    self._unacked.pop(frame["envelope_id"], None)
                self._cond.notify_all()
                stalled = conn in self._stalled
            if not stalled:
                self._reply(conn, frame)

    def _reply(self, conn: "ServerConnection", frame: _Json) -> None:
        kind = frame.get("type")
        if kind == "ping" and self.auto_pong:
            self._send(conn, dict(frame, type="pong", reply_to=frame.get("id")))
        elif kind == "message" and self.auto_ack and "id" in frame:
            reply = self.auto_ack(frame) if callable(self.auto_ack) else self._ack(frame)
            if reply is not None:
                self._send(conn, reply)

    def _ack(self, frame: _Json) -> _Json:
        """Slack's reply to a message frame: refused without text (code 2)
        or to a conversation the team does not have (code 0), as the
        recorded replies show (corpus/events/by_type/_reply_ack.json)."""
        text = frame.get("text")
        if not isinstance(text, str) or not text:
            return self.reply(frame, ok=False, error={"code": 2, "msg": "message text is missing"})
        known = {c.get("id") for kind in ("channels", "groups", "mpims", "ims") for c in self.team.get(kind) or ()}
        if frame.get("channel") not in known:
            return self.reply(frame, ok=False, error={"code": 0, "msg": "invalid channel id"})
        return self.reply(frame)

    # The Web API, as Slack checks and answers it (SLACK.md).

    def _http_answer(self, request: FakeRequest) -> _Scripted:
        """(status, headers, body, scripted) for a request."""
        with self._cond:
            self.requests.append(request)
            queue = self._scripts.get(request.method)
            scripted = queue.popleft() if queue else self._always.get(request.method)
            self._cond.notify_all()
        if scripted is not None:
            return scripted
        limited = self._rate_limited(request.method)
        if limited is not None:
            return limited
        answer = self._slack_answer(request)
        return _Scripted(200, json.dumps(answer).encode(), {"Content-Type": "application/json; charset=utf-8"})

    def _slack_answer(self, request: FakeRequest) -> _Json:
        warnings_: List[str] = []
        args, error = self._parse_args(request, warnings_)
        if error is None:
            error = self._check_args(args, request)
        if error is not None:
            answer: _Json = {"ok": False, "error": error}
        else:
            answer = self._method_answer(request.method, args, request.token)
        if warnings_:
            answer["warning"] = ",".join(warnings_)
            answer.setdefault("response_metadata", {})["warnings"] = warnings_    # next to a next_cursor
        return answer

    def _parse_args(self, request: FakeRequest, warnings_: List[str]) -> Tuple[_Json, Optional[str]]:
        content_type = request.headers.get("Content-Type")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.target).query))
        if not request.body:
            return query, None
        if not content_type:
            return query, "missing_post_type"
        mime, _, params = content_type.partition(";")
        mime = mime.strip().lower()
        charset = dict(p.strip().lower().partition("=")[::2] for p in params.split(";") if "=" in p).get("charset")
        if mime not in _POST_TYPES:
            return query, "invalid_post_type"
        if charset is not None and charset not in _CHARSETS:
            return query, "invalid_charset"
        if mime in _FORM_TYPES and charset:
            warnings_.append("superfluous_charset")
        if mime not in _FORM_TYPES and not charset:
            warnings_.append("missing_charset")
        text = request.body.decode(charset or "utf-8", "replace")
        if mime == "application/json":
            try:
                parsed = json.loads(text)
            except ValueError:
                return query, "invalid_json"
            if not isinstance(parsed, dict):
                return query, "json_not_object"
            return dict(query, **parsed), None
        try:
            return dict(query, **dict(urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True))), None
        except ValueError:
            return query, "invalid_form_data"

    def _check_args(self, args: _Json, request: FakeRequest) -> Optional[str]:
        for name in args:
            if "[" in name:
                return "invalid_array_arg"
            if not _is_word(name) or len(name) > MAX_ARG_NAME:
                return "invalid_arg_name"
        request.args = args
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else args.get("token")
        if not token:
            return "not_authed"
        request.token = token
        if request.method == "apps.connections.open":
            return _fake_app_token_error(token, self.app_tokens)
        if token not in self.tokens or not self._cookie_fits(token, request.headers.get("Cookie")):
            return "invalid_auth"
        return None

    def _cookie_fits(self, token: str, header: Optional[str]) -> bool:
        """Whether a session token (xoxc-) came with its d cookie; other tokens need none."""
        if not token.startswith("xoxc-"):
            return True
        pairs = (p.strip().partition("=") for p in (header or "").split(";"))
        sent = [urllib.parse.unquote(value) for name, _, value in pairs if name == "d"]
        expected = self.cookies.get(token)
        return expected is not None and sent == [urllib.parse.unquote(expected[2:] if expected.startswith("d=")
                                                                      else expected)]

    def _method_answer(self, method: str, args: Optional[_Json] = None, token: Optional[str] = None) -> _Json:
        team = self.team
        if method == "rtm.start":
            if self.rtm_start_mode == "connect_required":
                return {"ok": False, "error": "rtm_connect_required"}
            if self.rtm_start_mode == "full" and str((args or {}).get("mpim_aware")).lower() not in ("true", "1"):
                # Before 2022 rtm.start listed mpims only with mpim_aware (SLACK.md).
                without = {key: value for key, value in team.items() if key != "mpims"}
                return dict(_copy_objects(without), ok=True, url=self._issue_url(token))
            if self.rtm_start_mode == "full":
                return dict(_copy_objects(team), ok=True, url=self._issue_url(token))
        if method in ("rtm.start", "rtm.connect"):
            short_team = {k: team["team"][k] for k in ("id", "name", "domain")}
            short_self = {k: team["self"][k] for k in ("id", "name")}
            return {"ok": True, "url": self._issue_url(token), "team": short_team, "self": short_self}
        if method == "auth.test":
            return self._auth_test(token)
        if method == "apps.connections.open":
            return {"ok": True, "url": self._issue_url(token, socket_mode=True)}
        if method in _FAKE_TEAM_METHODS:
            answer: _Json = getattr(self, _FAKE_TEAM_METHODS[method])(args or {})
            return answer
        return {"ok": False, "error": "unknown_method"}

    def _auth_test(self, token: Optional[str]) -> _Json:
        """auth.test's answer, as recorded (corpus/web_api_envelope): a bot
        token's names its bot (the team's bot named as ``self``), which
        slack_sdk's RTM client needs to tell its own messages from others'."""
        team, me = self.team["team"], self.team["self"]
        answer: _Json = {"ok": True, "url": f"https://{team['domain']}.slack.com/", "team": team["name"],
                         "user": me["name"], "team_id": team["id"], "user_id": me["id"]}
        bots = [b.get("id") for b in self.team.get("bots") or () if isinstance(b, dict) and b.get("name") == me["name"]]
        if (token or "").startswith("xoxb-") and bots:
            answer["bot_id"] = bots[0]
        answer["is_enterprise_install"] = False
        return answer

    # The team's Web API: users.list, conversations.list, users.info,
    # conversations.info (https://api.slack.com/methods/<method>), served
    # from ``team`` with opaque cursors.

    def _rate_limited(self, method: str) -> Optional[_Scripted]:
        """A 429 answer if ``method`` is past its calls a minute, else None
        (the call is counted)."""
        limit = self.rate_limits.get(method)
        if limit is None:
            return None
        with self._cond:
            now = self._clock()
            calls = self._calls_by_method.setdefault(method, deque())
            while calls and calls[0] <= now - 60.0:
                calls.popleft()
            if len(calls) < limit:
                calls.append(now)
                return None
            wait = max(1, math.ceil(calls[0] + 60.0 - now))
        body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
        return _Scripted(429, body, {"Content-Type": "application/json; charset=utf-8", "Retry-After": str(wait)})

    def _page(self, method: str, items: List[_Json], args: _Json,
              default_limit: Optional[int]) -> Tuple[Optional[List[_Json]], str]:
        """(the page of ``items`` that ``args`` asks for, next_cursor), or
        (None, error code)."""
        try:
            limit = int(args.get("limit") or default_limit or self.page_size)
        except (TypeError, ValueError):          # a JSON body can carry anything
            return None, "invalid_limit"
        start = _fake_cursor_offset(method, str(args.get("cursor") or ""))
        if start is None:
            return None, "invalid_cursor"
        if limit < 1 or limit > 1000:
            return None, "invalid_limit"
        end = start + min(limit, self.page_size)
        more = end < len(items)
        return items[start:end], _fake_cursor(method, end) if more else ""

    def _users_list(self, args: _Json) -> _Json:
        page, cursor = self._page("users.list", self.team.get("users") or [], args, None)
        if page is None:
            return {"ok": False, "error": cursor}
        return {"ok": True, "members": _copy_objects(page), "cache_ts": 0,
                "response_metadata": {"next_cursor": cursor}}

    def _conversations_list(self, args: _Json) -> _Json:
        types = str(args.get("types") or "public_channel").split(",")
        if not set(types) <= set(_FAKE_KINDS):
            return {"ok": False, "error": "invalid_types"}
        found = [c for kind in types for c in self._web_conversations(_FAKE_KINDS[kind])]
        if str(args.get("exclude_archived")).lower() in ("true", "1"):
            found = [c for c in found if not c.get("is_archived")]
        page, cursor = self._page("conversations.list", found, args, 100)
        if page is None:
            return {"ok": False, "error": cursor}
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _web_conversations(self, kind: str) -> List[_Json]:
        """The team's ``kind`` list as conversations.list shows it: today's
        flags (a private channel is is_channel and is_private), no members."""
        flags = _FAKE_FLAGS[kind]
        return [dict({k: v for k, v in _copy_objects(c).items() if k != "members"}, **flags)
                for c in self.team.get(kind) or [] if isinstance(c, dict)]

    def _users_info(self, args: _Json) -> _Json:
        for user in self.team.get("users") or []:
            if isinstance(user, dict) and user.get("id") == args.get("user"):
                return {"ok": True, "user": _copy_objects(user)}
        return {"ok": False, "error": "user_not_found"}

    def _conversations_info(self, args: _Json) -> _Json:
        for kind in _FAKE_FLAGS:
            for conversation in self._web_conversations(kind):
                if conversation.get("id") == args.get("channel"):
                    return {"ok": True, "channel": conversation}
        return {"ok": False, "error": "channel_not_found"}

    # The messages a bot reads, writes and reacts to: chat.postMessage,
    # reactions.add, conversations.history, served from ``history``.

    def _chat_post_message(self, args: _Json) -> _Json:
        """The bot's message stored in the conversation's history (and in
        ``posts``), or channel_not_found / no_text / invalid_blocks /
        invalid_attachments."""
        message, error = self._bot_message(args)
        if message is None:
            with self._cond:
                self._refused_posts.append(f"{error} (channel {args.get('channel')!r})")
            return {"ok": False, "error": error}
        channel = str(args["channel"])
        while not self._store(channel, message):       # a ts that post() was given: take the next
            message["ts"] = self._next_ts()
        with self._cond:
            self.posts.append(dict(_copy_objects(message), channel=channel))
            self._cond.notify_all()
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": _copy_objects(message)}

    def _bot_message(self, args: _Json) -> Tuple[Optional[_Json], str]:
        """(the message chat.postMessage's ``args`` make, "") or (None, error code)."""
        if not self._has_conversation(args.get("channel")):
            return None, "channel_not_found"
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return None, "no_text"              # one of them is required (chat.postMessage's page)
        message: _Json = {"type": "message", "user": self.team["self"]["id"], "text": str(args.get("text") or "")}
        for name in ("blocks", "attachments"):
            if args.get(name):
                value = _fake_json_list(args[name])
                if value is None:
                    return None, f"invalid_{name}"
                message[name] = value
        message["ts"] = self._next_ts()
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        return message, ""

    def _reactions_add(self, args: _Json) -> _Json:
        """The bot's reaction ``name`` on the message at ``timestamp`` in
        ``channel``, as the message's ``reactions`` show it."""
        channel, ts, name = (str(args.get(key) or "") for key in ("channel", "timestamp", "name"))
        if not channel or not ts:
            error = "no_item_specified"
        elif not self._has_conversation(channel):
            error = "channel_not_found"
        elif not name:
            error = "invalid_name"
        else:
            error = self._react(channel, ts, name, str(self.team["self"]["id"]))
        return {"ok": False, "error": error} if error else {"ok": True}

    def _react(self, channel: str, ts: str, name: str, user: str) -> str:
        """Add ``user``'s reaction; the error code, or "" when it was added."""
        with self._cond:
            message = next((m for m in self.history.get(channel, ()) if m.get("ts") == ts), None)
            if message is None:
                return "message_not_found"
            reactions = message.setdefault("reactions", [])
            reaction = next((r for r in reactions if r.get("name") == name), None)
            if reaction is None:
                reaction = {"name": name, "users": [], "count": 0}
                reactions.append(reaction)
            if user in reaction["users"]:
                return "already_reacted"
            reaction["users"].append(user)
            reaction["count"] = len(reaction["users"])
            self._cond.notify_all()
        return ""

    def _conversations_history(self, args: _Json) -> _Json:
        """The conversation's messages newest first, thread replies left out
        (they are conversations.replies'), between ``oldest`` and ``latest``
        (exclusive unless ``inclusive``), ``limit`` (100, at most 999) a
        page.  The cursor names the ts the next page starts at, as Slack's
        do ("next_ts:..."), so a message posted between pages moves nothing."""
        error = self._history_refusal(args.get("channel"))
        if error:
            return {"ok": False, "error": error}
        within, error = _fake_time_range(args)
        if within is None:
            return {"ok": False, "error": error}
        with self._cond:
            shown = [_copy_objects(m) for m in reversed(self.history.get(str(args["channel"]), []))
                     if _fake_in_channel(m) and within(_fake_ts_key(m.get("ts")) or 0)]
        page, cursor = self._history_page(shown, args)
        if page is None:
            return {"ok": False, "error": cursor}
        answer: _Json = {"ok": True, "messages": page, "has_more": bool(cursor), "pin_count": 0,
                         "channel_actions_ts": None, "channel_actions_count": 0}
        if cursor:                  # a last page has no response_metadata, as recorded (corpus/web_api)
            answer["response_metadata"] = {"next_cursor": cursor}
        return answer

    def _history_refusal(self, channel: Any) -> str:
        """conversations.history's error for ``channel``, or "": not_in_channel
        for a public channel the team's user is not in, channel_not_found for
        one the team lacks or a private one the user is not in (Slack shows
        those to their members only).  Every token acts as the team's user."""
        found = self._conversation(channel)
        if found is None:
            return "channel_not_found"
        kind, conversation = found
        if _fake_is_member(conversation, str(self.team["self"]["id"])):
            return ""
        return "not_in_channel" if kind == "channels" else "channel_not_found"

    def _history_page(self, messages: List[_Json], args: _Json) -> Tuple[Optional[List[_Json]], str]:
        """(the page of ``messages``, newest first, that ``args`` asks for,
        next_cursor), or (None, error code)."""
        try:
            limit = int(args.get("limit") or 100)
        except (TypeError, ValueError):          # a JSON body can carry anything
            return None, "invalid_limit"
        if limit < 1 or limit > 999:
            return None, "invalid_limit"
        below = _fake_cursor_offset("conversations.history", str(args.get("cursor") or ""))
        if below is None:
            return None, "invalid_cursor"
        keys = [_fake_ts_key(m.get("ts")) or 0 for m in messages]
        start = next((i for i, key in enumerate(keys) if key <= below), len(keys)) if below else 0
        end = start + min(limit, self.page_size)
        more = end < len(messages)
        return messages[start:end], _fake_cursor("conversations.history", keys[end]) if more else ""

    # client.counts: what Slack's own clients ask after a reconnect to learn
    # which conversations had activity (undocumented; SLACK.md).  Its shape
    # is wee-slack's typing of it (typings/slack_api/slack_client_counts.pyi).

    def _client_counts(self, args: _Json) -> _Json:
        """Each conversation the team's user is in, in ``channels`` (private
        ones too), ``mpims`` or ``ims``, with its newest message (``latest``),
        read mark (``last_read``) and unread mentions; threads are not
        followed (no unreads there).  Every token acts as the team's user."""
        me = str(self.team["self"]["id"])
        lists: Dict[str, List[_Json]] = {"channels": [], "mpims": [], "ims": []}
        for kind, conversation in self._conversations_of(me):
            lists["channels" if kind == "groups" else kind].append(self._counts_entry(kind, conversation["id"], me))
        badges = {"channels": sum(c["mention_count"] for c in lists["channels"]),
                  "dms": sum(c["mention_count"] for c in lists["mpims"] + lists["ims"]),
                  "app_dms": 0, "thread_mentions": 0, "thread_unreads": 0}
        return dict({"ok": True, "threads": {"has_unreads": False, "mention_count": 0}}, **lists,
                    channel_badges=badges, alerts={}, saved={"uncompleted_count": 0, "uncompleted_overdue_count": 0})

    def _conversations_of(self, user: str) -> List[Tuple[str, _Json]]:
        """(the team's list, conversation) of each conversation ``user`` is in."""
        return [(kind, c) for kind in _FAKE_FLAGS for c in self.team.get(kind) or ()
                if isinstance(c, dict) and _fake_is_member(c, user)]

    def _counts_entry(self, kind: str, channel: str, me: str) -> _Json:
        """``channel``'s client.counts entry.  Its read mark is mark()'s, moved
        up to the user's own newest message there (what one writes is read,
        as in Slack's clients); in an im every unread message is a mention."""
        with self._cond:
            shown = [m for m in self.history.get(channel, ()) if _fake_in_channel(m)]   # oldest first
            marked = self._last_read.get(channel, _FAKE_NO_TS)
        latest = str(shown[-1]["ts"]) if shown else _FAKE_NO_TS
        last_read = max([marked] + [str(m["ts"]) for m in shown if m.get("user") == me], key=_fake_ts_order)
        unread = [m for m in shown if _fake_ts_order(m["ts"]) > _fake_ts_order(last_read) and m.get("user") != me]
        mentions = len(unread) if kind == "ims" else sum(f"<@{me}>" in str(m.get("text")) for m in unread)
        return {"id": channel, "last_read": last_read, "latest": latest,
                "updated": max(latest, last_read, key=_fake_ts_order), "mention_count": mentions,
                "has_unreads": _fake_ts_order(latest) > _fake_ts_order(last_read)}


#: The team and message methods FakeSlack serves, and the method answering each.
_FAKE_TEAM_METHODS = {"users.list": "_users_list", "conversations.list": "_conversations_list",
                      "users.info": "_users_info", "conversations.info": "_conversations_info",
                      "chat.postMessage": "_chat_post_message", "reactions.add": "_reactions_add",
                      "conversations.history": "_conversations_history", "client.counts": "_client_counts"}
#: client.counts' ts for "none": no message yet, or none read.
_FAKE_NO_TS = "0000000000.000000"
#: conversations.list's types, by the team's list that holds them.
_FAKE_KINDS = {"public_channel": "channels", "private_channel": "groups", "mpim": "mpims", "im": "ims"}
#: The flags conversations.list puts on each kind of conversation.
_FAKE_FLAGS = {
    "channels": {"is_channel": True, "is_group": False, "is_im": False, "is_mpim": False, "is_private": False},
    "groups": {"is_channel": True, "is_group": False, "is_im": False, "is_mpim": False, "is_private": True},
    "mpims": {"is_channel": False, "is_group": True, "is_im": False, "is_mpim": True, "is_private": True},
    "ims": {"is_channel": False, "is_group": False, "is_im": True, "is_mpim": False, "is_private": False},
}


def _fake_app_token_error(token: str, app_tokens: Sequence[str]) -> Optional[str]:
    """apps.connections.open's error for ``token``, or None: it takes app-level tokens only."""
    if not token.startswith("xapp-"):
        return "not_allowed_token_type"
    return None if token in app_tokens else "invalid_auth"


def _fake_frames(frames: List[_Json]) -> str:
    """The last frames a client sent, short, for a wait that failed."""
    shown = [json.dumps(f, sort_keys=True)[:60] for f in frames[-3:]]
    return ", ".join(shown) or "none"


def _fake_ticket(target: str) -> str:
    """The ticket of a WebSocket URL's path and query: its last path segment,
    whatever query a client adds (slack_sdk sends ``?`` and nothing)."""
    return urllib.parse.urlsplit(target).path.rsplit("/", 1)[-1]


def _fake_cursor(method: str, offset: int) -> str:
    """An opaque cursor, as Slack's look: base64 of where the next page starts."""
    import base64
    return base64.b64encode(f"{method}:{offset}".encode()).decode()


def _fake_cursor_offset(method: str, cursor: str) -> Optional[int]:
    """Where the page of a cursor starts (0 for none), or None for a cursor
    FakeSlack did not make for this method."""
    import base64
    import binascii
    if not cursor:
        return 0
    try:
        name, _, offset = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeError):
        return None
    return int(offset) if name == method and offset.isdigit() else None


def _fake_ts_key(text: Any, exact: bool = False) -> Optional[int]:
    """A Slack ts ("1600000000.000100") as a number of microseconds, to
    order and compare messages; None if it is not one.  Unless ``exact``,
    a time as oldest and latest take it ("1600000000", "1600000000.5")."""
    text = str(text)
    if exact and len(text.partition(".")[2]) != 6:
        return None
    return _ts_key(text)


def _fake_ts_order(ts: Any) -> int:
    """A ts's place in time, to compare two (0 for one that is not a ts)."""
    return _fake_ts_key(ts) or 0


def _fake_is_member(conversation: _Json, user: str) -> bool:
    """Whether ``user`` is in ``conversation`` as the team lists it: its
    is_member flag, else its members, else yes (rtm.start lists only the
    user's own private conversations and ims, with no members)."""
    if "is_member" in conversation:
        return bool(conversation["is_member"])
    members = conversation.get("members")
    return user in members if isinstance(members, list) else True


def _fake_time_range(args: _Json) -> Tuple[Optional[Callable[[int], bool]], str]:
    """(a test of a ts key against conversations.history's ``oldest``,
    ``latest`` and ``inclusive``, ""), or (None, error code).  With no
    latest there is no end (Slack's default is now)."""
    oldest = _fake_ts_key(args.get("oldest") or "0")
    latest = _fake_ts_key(args["latest"]) if args.get("latest") else -1
    if oldest is None:
        return None, "invalid_ts_oldest"
    if latest is None:
        return None, "invalid_ts_latest"
    inclusive = str(args.get("inclusive")).lower() in ("true", "1")
    start: int = oldest
    end: int = latest

    def within(key: int) -> bool:
        after = key >= start if inclusive else key > start
        return after and (end < 0 or (key <= end if inclusive else key < end))
    return within, ""


def _fake_in_channel(message: _Json) -> bool:
    """Whether conversations.history shows ``message``: not a thread reply
    (one with a thread_ts other than its ts), unless also sent to the channel."""
    thread_ts = message.get("thread_ts")
    return thread_ts is None or thread_ts == message.get("ts") or message.get("subtype") == "thread_broadcast"


def _fake_count_reply(messages: List[_Json], reply: _Json) -> None:
    """Count ``reply`` in its thread's parent among ``messages``, as Slack
    shows a parent: thread_ts, reply_count, reply_users, latest_reply."""
    thread_ts = reply.get("thread_ts")
    parent = next((m for m in messages if m.get("ts") == thread_ts and m is not reply), None)
    if parent is None:
        return
    users = parent.setdefault("reply_users", [])
    if reply.get("user") not in users:
        users.append(reply.get("user"))
    latest = max((parent.get("latest_reply") or "0", str(reply["ts"])), key=lambda ts: _fake_ts_key(ts) or 0)
    parent.update(thread_ts=parent["ts"], reply_count=int(parent.get("reply_count") or 0) + 1,
                  reply_users_count=len(users), latest_reply=latest)


def _fake_json_list(value: Any) -> Optional[List[Any]]:
    """A list argument (blocks, attachments): as a JSON body gives it, or
    JSON text in a form; None when it is neither."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) else None


def _fake_ws_logger() -> logging.Logger:
    """The websockets library's logger for FakeSlack, at WARNING unless set:
    its frame-by-frame DEBUG lines cannot format a text frame that is not
    UTF-8 (which FakeSlack sends on purpose) and would break the connection,
    and its INFO lines say only that connections open and close."""
    logger = logging.getLogger("slack_rtm.fake.websockets")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    return logger


class _FakeWsLog(logging.LoggerAdapter):  # type: ignore[type-arg]  # generic only in typeshed, not at run time
    """A FakeSlack's websockets logger: once ``closing`` is set, the errors
    of the connections close() cuts short (websockets' "unexpected internal
    error" when a connection's socket ends under its reader) are not
    logged; they are FakeSlack's own doing."""

    def __init__(self, logger: logging.Logger, closing: threading.Event) -> None:
        super().__init__(logger, {})
        self.closing = closing

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level < logging.ERROR or not self.closing.is_set():
            super().log(level, msg, *args, **kwargs)


def _serve_until_woken(server: "http.server.ThreadingHTTPServer", wake: "socket.socket") -> None:
    """Serve requests until ``wake`` is readable.  serve_forever() notices a
    shutdown only at its next poll, which made every FakeSlack's close() wait
    tens of milliseconds."""
    import selectors
    with selectors.DefaultSelector() as selector:
        selector.register(server.socket, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        while all(key.fileobj is not wake for key, _ in selector.select()):
            server.handle_request()


def _fake_http_handler(fake: FakeSlack) -> Type["http.server.BaseHTTPRequestHandler"]:
    """The http.server handler class of a FakeSlack (made on start, so that
    importing slack_rtm does not import http.server)."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True            # the body, written after the headers, goes at once (not ~40 ms later)

        def setup(self) -> None:
            super().setup()
            with fake._cond:
                fake._http_live[self.connection] = threading.current_thread()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                with fake._cond:
                    fake._http_live.pop(self.connection, None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urllib.parse.urlsplit(self.path).path
            request = FakeRequest(path.rsplit("/", 1)[-1], self.command, self.path,
                                  dict(self.headers.items()), body)
            answer = fake._http_answer(request)
            if answer.delay and fake._closing.wait(answer.delay):
                self.close_connection = True          # FakeSlack is closing: no answer
                return
            try:
                self._write(answer)
            except (BrokenPipeError, ConnectionResetError):      # the client gave up waiting
                self.close_connection = True

        def _write(self, answer: _Scripted) -> None:
            self.send_response(answer.status)
            headers = dict(answer.headers)
            length = len(answer.body) + (100 if answer.truncate else 0)
            headers["Content-Length"] = str(length)
            if answer.truncate:
                headers["Connection"] = "close"
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
            if answer.truncate:
                self.close_connection = True

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:

            log.debug("FakeSlack HTTP: " + format, *args)

    return Handler


###############################################################################
# The command line: python -m slack_rtm #######################################
###############################################################################

#: Exit statuses of main(): argparse's 2 for usage errors, 1 for the rest.
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
#: How long the command line's first connection may take, retries included
#: (the library's connect_deadline is 300 s): a script that cannot reach
#: Slack hears of it in half a minute.
CLI_CONNECT_TIMEOUT = 30.0
#: The session's own hello_timeout, lowered to a shorter --connect-timeout.
CLI_HELLO_TIMEOUT = 10.0


class _Names:
    """Names for ids, from the session's TeamState (kept current from
    events, and asked of users.info / conversations.info for an id it does
    not know yet)."""

    def __init__(self, team: Optional[TeamState]) -> None:
        self.team: Optional[TeamState] = team


    def user(self, user_id: Any) -> str:
        if isinstance(user_id, dict):                # team_join, user_change: the whole user
            user_id = user_id.get("id")
        if not isinstance(user_id, str) or not user_id:
            return "?"
        found = self._find(TeamState.user, TeamState.fetch_user, user_id)
        name = getattr(found, "name", None)
        return name if isinstance(name, str) and name else user_id

    def channel(self, channel_id: Any) -> str:
        if isinstance(channel_id, dict):             # channel_created and the like
            channel_id = channel_id.get("id")
        if not isinstance(channel_id, str) or not channel_id:
            return "?"
        found = self._find(TeamState.conversation, TeamState.fetch_conversation, channel_id)
        if isinstance(found, Im):
            return "@" + self.user(found.__dict__.get("user"))
        name = getattr(found, "name", None)
        return "#" + name if isinstance(name, str) and name else channel_id

    def _find(self, known: Callable[[TeamState, str], Optional[_Found_D]],
              fetch: Callable[[TeamState, str], Optional[_Found_D]], key: str) -> Optional[_Found_D]:
        # A state that was never loaded (no Web API to ask) knows what it knows.
        if self.team is None:
            return None
        return fetch(self.team, key) if self.team.can_fetch else known(self.team, key)


def _clock_of(event: _Json, now: Optional[float] = None) -> str:
    """The local time of an event, with the date unless it is of the day of
    ``now`` (time.time() if None); an event without a usable time stamp is now."""
    now = time.time() if now is None else now
    try:
        when = time.localtime(float(event.get("ts") or event.get("event_ts")))  # type: ignore[arg-type]  # None: caught
    except (TypeError, ValueError, OverflowError, OSError):
        when = time.localtime(now)
    today = when[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M:%S", when)


def format_event(event: _Json, names: _Names, now: Optional[float] = None) -> Optional[str]:
    """One readable line for an event (None for those not worth a line).
    Its time carries the date when it is not of the day of ``now``."""
    kind, sub = event.get("type"), event.get("subtype")
    where = names.channel(event.get("channel"))
    who = names.user(event.get("user"))
    at = _clock_of(event, now)
    if kind == "message" and sub == "message_changed":
        new = event.get("message") or {}
        return f"{at} {where} <{names.user(new.get('user'))}> edited: {new.get('text', '')}"
    if kind == "message" and sub == "message_deleted":
        return f"{at} {where} a message was deleted"
    if kind == "message" and sub in ("channel_join", "group_join") or kind == "member_joined_channel":
        return f"{at} {where} --> {who} joined"
    if kind == "message" and sub in ("channel_leave", "group_leave") or kind == "member_left_channel":
        return f"{at} {where} <-- {who} left"
    if kind in ("message", "app_mention"):
        name = who if event.get("user") else event.get("username") or event.get("bot_id") or "?"
        caught = "  (caught up)" if type(event) is CaughtUp else ""
        return f"{at} {where} <{name}> {event.get('text', '')}{caught}"
    if kind in ("reaction_added", "reaction_removed"):
        item = event.get("item") or {}
        verb = "reacted" if kind == "reaction_added" else "took back"
        return (f"{at} {names.channel(item.get('channel'))} {who} {verb} :{event.get('reaction')}: "
                f"on {names.user(event.get('item_user'))}'s message")
    if kind in ("channel_rename", "group_rename"):
        return f"{at} {names.channel(event.get('channel'))} -- the channel has a new name"
    if kind in ("channel_created", "group_created"):
        creator = event["channel"].get("creator") if isinstance(event.get("channel"), dict) else None
        by = f" by {names.user(creator)}" if isinstance(creator, str) else ""
        return f"{at} {names.channel(event.get('channel'))} -- created{by}"
    if kind == "team_join":
        return f"{at} -- {who} joined the team"
    if kind == "hello":
        return f"{at} -- connected"
    if kind == "missed" and type(event) is Missed:
        where = names.channel(event.get("channel")) if event.get("channel") else "--"
        return f"{at} {where} -- messages may be missing here: {event.get('error') or event.get('reason')}"
    if kind == "goodbye":
        return f"{at} -- the server said goodbye; reconnecting"
    if kind == "team_migration_started":
        return f"{at} -- the team is migrating; reconnecting"
    if kind in ("user_typing", "pong") or (kind is None and "reply_to" in event):
        return None
    return f"{at} [{kind}] " + json.dumps(event, ensure_ascii=False)[:160]


#: What --help says of the environment, and its examples (after the options).
_CLI_EPILOG = """\
environment:
  SLACK_TOKEN      a bot or user token (xoxb-, xoxp-), or a session token (xoxc-) with its cookie
  SLACK_APP_TOKEN  an app-level token (xapp-), read when SLACK_TOKEN is not set: Socket Mode
  SLACK_COOKIE     a session token's d cookie (xoxd-..., with or without d=), unless --cookie-file
  HTTPS_PROXY      the proxy to reach Slack through (HTTP_PROXY for an http:// --base-url)
  NO_PROXY         the hosts reached directly, not through the proxy
  SSL_CERT_FILE    a CA bundle to verify Slack's certificate with (a private CA, an inspecting proxy)
  SLACK_RTM_DEMO_PACE
                   the demo's pause between its steps, in seconds (default 0.3; 0 runs it at once)

examples:
  slack-rtm --demo                                try it on a built-in fake Slack, with no token
  SLACK_TOKEN=xoxb-... slack-rtm --types message  each message as a line: time, #channel, <user>, text
  slack-rtm --json | jq .text                     every event as Slack sent it, one JSON object a line
  slack-rtm --send '#general' 'deploy done'       send a message, wait for its ack, print its ts
  git log --format=%s -3 | slack-rtm --send C024BE91L
                                                  send each line of standard input

exit status: 0 done, interrupted or the output closed (| head), 1 an error from Slack or the network
(one line saying what to do), 2 a usage error."""

#: Options that cannot go together: an option, those refused beside it, and why.
_CLI_CONFLICTS = (
    ("demo", ("send", "gateway", "token", "token_file", "cookie_file", "base_url"),
     "the demo runs against a built-in fake Slack, with a token of its own, and only prints"),
    ("send", ("json", "types"), "--send prints the ts of each message it sends, and no events"),
    ("gateway", ("method",), "the gateway is reached with no rtm.* call"),
)


def _parse_args(argv: Optional[Sequence[str]]) -> Tuple["argparse.ArgumentParser", "argparse.Namespace"]:
    import argparse
    parser = argparse.ArgumentParser(
        prog="slack-rtm", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_CLI_EPILOG,
        description="Print the events of a Slack RTM session, or send messages; with an app-level token,\n"
                    "print the envelopes of a Socket Mode session.  The token comes from SLACK_TOKEN,\n"
                    "SLACK_APP_TOKEN, --token-file or --token.")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--token-file", metavar="PATH", help="read the token from this file")
    given.add_argument("--token", help="the token itself: anyone who can list processes sees it; prefer "
                                       "SLACK_TOKEN or --token-file")
    parser.add_argument("--cookie-file", metavar="PATH",
                        help="read a session token's d cookie (xoxd-..., with or without d=) from this file; or set "
                             "SLACK_COOKIE")
    parser.add_argument("--gateway", nargs="?", const=True, default=False, metavar="ADDRESS",
                        help="connect a session token as Slack's desktop client does, to its gateway (or to this "
                             "wss:// address), instead of calling rtm.*")
    parser.add_argument("--method", choices=("start", "connect"),
                        help="rtm.start (default) or rtm.connect: the same call on today's Slack")
    parser.add_argument("--json", action="store_true", help="one JSON object per line, as Slack sent it")
    parser.add_argument("--types", help="only these event types, comma-separated (message,reaction_added)")
    parser.add_argument("--send", nargs="+", metavar=("CHANNEL", "TEXT"),
                        help="send TEXT to CHANNEL (an id, or a #name: the team is loaded first), wait for its ack "
                             "and print its ts; without TEXT, send each line of standard input, over one "
                             "connection")
    parser.add_argument("--connect-timeout", type=_seconds, default=CLI_CONNECT_TIMEOUT, metavar="SECONDS",
                        help=f"give up connecting after this long, retries included (default "
                             f"{CLI_CONNECT_TIMEOUT:g})")
    parser.add_argument("--demo", nargs="?", const="rtm", choices=("rtm", "socket-mode"),
                        help="run against a built-in fake Slack, no token needed: an RTM session (rtm, the "
                             "default) or a Socket Mode app (socket-mode)")
    parser.add_argument("--base-url", metavar="URL",
                        help=f"the Web API's address (default {DEFAULT_BASE_URL}): a FakeSlack's base_url, for "
                             f"a test")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what the session does (-vv: each Web API request too)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    _refuse_conflicts(parser, args)
    if args.demo:
        args.demo_pace = _demo_pace(parser)
    args.base_url = args.base_url or DEFAULT_BASE_URL
    args.types = set(filter(None, (args.types or "").split(","))) or None
    return parser, args


def _refuse_conflicts(parser: "argparse.ArgumentParser", args: "argparse.Namespace") -> None:
    """A usage error for options that cannot go together (those that need
    the token's kind are refused by _refuse_for_app)."""
    if args.send and len(args.send) > 2:
        parser.error("--send takes a CHANNEL and one TEXT (quote it), or only a CHANNEL to send standard "
                     "input's lines")
    for first, others, why in _CLI_CONFLICTS:
        for other in others:
            if getattr(args, first) not in (None, False) and getattr(args, other) not in (None, False):
                parser.error(f"{_flag(first)} cannot go with {_flag(other)}: {why}")
    if args.demo == "socket-mode" and args.method:
        parser.error("--demo socket-mode cannot go with --method: a Socket Mode app makes no rtm.* call")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _refuse_for_app(parser: "argparse.ArgumentParser", args: "argparse.Namespace") -> None:
    """A usage error for the options an app-level token (Socket Mode) cannot use."""
    if args.send:
        parser.error("--send needs a bot or user token (SLACK_TOKEN): a Socket Mode session only receives")
    if args.gateway:
        parser.error("--gateway connects a session token (xoxc-) to RTM, not an app-level token")
    for dest in ("cookie_file", "method"):
        if getattr(args, dest):      # (--method is None unless given: _open_session has the default)
            parser.error(f"{_flag(dest)} cannot go with an app-level token (xapp-): it is for RTM, and a Socket "
                         "Mode session makes no rtm.* call and takes no cookie")


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0."""
    import argparse
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _token(parser: "argparse.ArgumentParser", args: "argparse.Namespace") -> Tuple[str, str]:
    """The token and where it came from, for the advice on an auth error."""
    if args.token:
        print("slack-rtm: warning: --token shows the token to anyone who can list processes; "
              "prefer SLACK_TOKEN or --token-file", file=sys.stderr)
        return args.token, "--token"
    if args.token_file:
        return _read_token_file(parser, args.token_file), f"the token file {args.token_file}"
    for name in ("SLACK_TOKEN", "SLACK_APP_TOKEN"):         # an app-level token: Socket Mode
        token = os.environ.get(name, "").strip()
        if token:
            return token, name
    parser.error("no token: set SLACK_TOKEN (or SLACK_APP_TOKEN for Socket Mode) or give --token-file "
                 "(or try --demo)")


def _read_token_file(parser: "argparse.ArgumentParser", path: str, what: str = "token") -> str:
    """The ``what`` (a token, a cookie) a file holds, whitespace stripped;
    a usage error naming the file (never its content) when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as exc:
        parser.error(f"cannot read the {what} file {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        parser.error(f"the {what} file {path} is not UTF-8 text: put the {what} alone in it")
    if not token:
        parser.error(f"the {what} file {path} is empty: put the {what} in it")
    return token


def _cookie(parser: "argparse.ArgumentParser", args: "argparse.Namespace") -> Optional[str]:
    """A session token's d cookie, from --cookie-file or SLACK_COOKIE (None: neither)."""
    if args.cookie_file:
        return _read_token_file(parser, args.cookie_file, "cookie")
    return os.environ.get("SLACK_COOKIE", "").strip() or None


_ADVICE = {
    "invalid_auth": "Slack refused the token: check {source}",
    "not_authed": "no token reached Slack: check {source}",
    "account_inactive": "the token's user or team was deleted: put a new token in {source}",
    "token_revoked": "the token was revoked: put a new token in {source}",
    "token_expired": "the token has expired: put a new token in {source}",
    "not_allowed_token_type": "RTM needs a classic app's or a legacy bot's token, and the one from {source} "
                              "is of another kind (granular bot tokens are refused)",
    "missing_scope": "the token from {source} lacks a scope RTM needs (rtm:stream or client)",
    "link_disabled": "Socket Mode is turned off for this app: turn it on in the app's settings (Socket Mode)",
}


def _explain(error: BaseException, source: str = "SLACK_TOKEN", no_cookie: bool = False) -> str:
    """One line that says what happened and what to do; ``source`` says
    where the token came from (never the token itself); ``no_cookie``: a
    session token came without its d cookie."""
    code = getattr(error, "error", None)
    if no_cookie and code in ("invalid_auth", "not_authed"):
        return (f"{code}: a session token (xoxc-) works only with its d cookie, and none was given: set "
                "SLACK_COOKIE or give --cookie-file PATH (the value of the browser's d cookie, xoxd-...)")
    if isinstance(error, RateLimited):
        after = f"retry in {error.retry_after:.0f} s" if error.retry_after is not None else "retry in a minute"
        return f"rate limited by Slack: {after}"
    if code in _ADVICE:
        return f"{code}: " + _ADVICE[code].format(source=source)
    if isinstance(error, AuthError):
        return f"{error} (the token came from {source})"
    if isinstance(error, TLSError):
        return f"{error} (a proxy or private CA? set SSL_CERT_FILE or pass ca_certs)"
    if isinstance(error, TransportError):
        return f"could not reach Slack: {error} (check the network, or HTTPS_PROXY)"
    return str(error)


class _ReaderGone(Exception):
    """Standard output was closed: its reader had enough (``| head``)."""


def _print(line: str, out: TextIO) -> None:
    try:
        print(line, file=out, flush=True)
    except BrokenPipeError:
        if out is sys.stdout:                    # Python flushes it again at exit: let that go nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        raise _ReaderGone from None


def _wanted(args: "argparse.Namespace", kind: Optional[str]) -> bool:
    return args.types is None or kind in args.types


def _open_session(token: str, args: "argparse.Namespace", **options: Any) -> Session:
    """The session (Socket Mode for an app-level token), its first
    connection within --connect-timeout: each try's network waits are
    bounded by it too, not only the retries."""
    limit = args.connect_timeout
    if not token.startswith("xapp-"):
        options["method"] = "rtm." + (args.method or "start")
        options.setdefault("catch_up", True)     # what was said while the socket was down comes after it
    return connect(token, connect_deadline=limit, timeout=min(DEFAULT_TIMEOUT, limit),
                   hello_timeout=min(CLI_HELLO_TIMEOUT, limit), **options)


class _CtrlC:
    """While the command runs a session, Ctrl-C closes it, then interrupts.
    Closing first is what makes the key work every time: a KeyboardInterrupt
    raised while a finaliser or a weakref callback runs is printed and lost
    ("Exception ignored in ..."), but a closed session ends its iteration
    whatever became of the exception.  A program that handles SIGINT itself
    (or ignores it) keeps its handling; so does any thread but the main one."""

    def __init__(self, session: _Shell) -> None:
        self.session = session
        self.pressed = False
        self._before: Any = None

    def __enter__(self) -> "_CtrlC":
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._before = signal.signal(signal.SIGINT, self._press)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._before is not None:
            signal.signal(signal.SIGINT, self._before)
            self._before = None

    def _press(self, signum: int, frame: Optional[types.FrameType]) -> None:
        self.pressed = True
        self.session.close()                 # safe in a signal handler, and returns at once
        raise KeyboardInterrupt


def _run(rtm: Session, args: "argparse.Namespace", out: TextIO) -> None:
    names = _Names(rtm.team)
    for event in rtm:
        if _wanted(args, event.get("type")):
            line = json.dumps(event, ensure_ascii=False) if args.json else format_event(event, names)
            if line is not None:
                _print(line, out)
        if args.demo and _demo_step(rtm, event, names, args, out):   # whatever is shown, the demo ends
            return


def _run_envelopes(session: SocketModeSession, args: "argparse.Namespace", out: TextIO) -> None:
    """Print each envelope (acked by the session): as JSON, or its event as
    a line (a slash command or an interaction: its kind and text)."""
    if not args.json:
        _print(f"{_clock_of({})} -- connected (Socket Mode)", out)
    names = _Names(None)
    for envelope in session:
        line = _envelope_text(envelope, args, names)
        if line is not None:
            _print(line, out)


def _envelope_text(envelope: _Json, args: "argparse.Namespace", names: _Names) -> Optional[str]:
    """The line to print for an envelope: JSON, or its event's line; None
    when --types leaves it out or it is not worth a line."""
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    event = payload.get("event") if isinstance(payload.get("event"), dict) else None   # type: ignore[union-attr]  # a dict: above
    if not _wanted(args, (event or payload).get("type") or envelope.get("type")):   # type: ignore[union-attr]  # a dict: above
        return None
    return json.dumps(envelope, ensure_ascii=False) if args.json else (
        format_event(event, names) if event is not None else _envelope_line(envelope, payload))  # type: ignore[arg-type]  # a dict: above


def _envelope_line(envelope: _Json, payload: _Json) -> str:
    """A slash command or an interaction, on one line."""
    what = payload.get("command") or payload.get("type") or "?"
    return f"{_clock_of({})} [{envelope.get('type')}] {what} {payload.get('text') or ''}".rstrip()


def _is_conversation_id(text: str) -> bool:
    """C... (a channel), G... (a private channel or group DM), D... (a DM)."""
    return len(text) > 2 and text[0] in "CGD" and text.isascii() and text.isalnum() and text.isupper()


def _conversation(team: Optional[TeamState], given: str) -> str:
    """The id to send to: an id as given, or the id of a channel's name
    (#general, or @alice for the DM with alice)."""
    if _is_conversation_id(given):
        return given
    user = team.user_by_name(given) if team is not None and given.startswith("@") else None
    found: Optional[Union[Channel, Group, Im]]
    found = team.im_for_user(user.id) if user is not None else None  # type: ignore[union-attr]  # user: team is set
    if team is not None and found is None and not given.startswith("@"):
        found = team.channel_by_name(given) or team.group_by_name(given)
    if found is not None:
        return found.id
    if given.startswith("@"):
        raise InvalidArgument(f"--send: no one named {given} with a DM open on this team: check the name, "
                              "or give the DM's id (D...)")
    name = "#" + given.lstrip("#")
    if team is None or not team.conversations or not team.complete:
        raise InvalidArgument(f"--send: the team's channels could not all be listed to find {name} in: give the "
                              "channel's id (C..., G... or D...)")
    raise InvalidArgument(f"--send: no channel named {name} on this team: check the name, or give the "
                          "channel's id (C..., G... or D...)")


def _lines(stream: Iterable[bytes]) -> Iterator[str]:
    """The lines of ``stream`` (bytes) as they come, without their ends;
    empty ones are skipped, as Slack refuses an empty message."""
    for number, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise InvalidArgument(f"line {number} of standard input is not UTF-8: it and the lines after it "
                                  "were not sent; convert the input to UTF-8") from None
        if text:
            yield text


def _send(rtm: Session, args: "argparse.Namespace", out: TextIO) -> None:
    """--send: one TEXT, or each line of standard input, all over this one
    connection; prints each ack's ts."""
    given = args.send[0]                             # a name needs the team's lists: the load is run to its end
    channel = _conversation(rtm.team if _is_conversation_id(given) else rtm.wait_team(), given)
    if not args.send[1:] and sys.stdin.isatty():     # or a user at a terminal sees nothing and waits
        print(f"slack-rtm: type the messages for {args.send[0]}, one a line; Ctrl-D to end", file=sys.stderr)
    printing = True
    for text in args.send[1:] or _lines(sys.stdin.buffer):
        ack = rtm.send_message(channel, text, wait=True, timeout=30)
        if printing:
            try:
                _print(str(ack.get("ts")), out)
            except _ReaderGone:                  # the messages are what was asked; their ts are a by-product
                printing = False


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    """The command line; returns the exit status."""
    out = out or sys.stdout
    parser, args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    source = "SLACK_TOKEN"
    ctrl_c: Optional[_CtrlC] = None
    no_cookie = False
    try:
        if args.demo:
            return _demo(args, out)
        token, source = _token(parser, args)
        app = token.startswith("xapp-")
        if app:
            _refuse_for_app(parser, args)
        options = {} if app else {"cookie": _cookie(parser, args), "gateway": args.gateway}
        no_cookie = token.startswith("xoxc-") and options.get("cookie") is None
        with _open_session(token, args, base_url=args.base_url, **options) as rtm, _CtrlC(rtm) as ctrl_c:
            if app:
                _run_envelopes(rtm, args, out)       # type: ignore[arg-type]  # connect() made one: app
            elif args.send:
                _send(rtm, args, out)
            else:
                _run(rtm, args, out)
    except KeyboardInterrupt:
        return EXIT_OK
    except _ReaderGone:                          # the reader had enough (| head): as asked, not an error
        return EXIT_OK
    except SlackError as error:
        if ctrl_c is not None and ctrl_c.pressed:    # Ctrl-C closed the session: what failed after is its doing
            return EXIT_OK
        print(f"slack-rtm: {_explain(error, source, no_cookie)}", file=sys.stderr)
        return EXIT_ERROR
    except ImportError as error:
        print(f"slack-rtm: {error}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


# The demo: a short scripted conversation on an embedded FakeSlack.

_DEMO_TEAM: _Json = {
    "team": {"id": "T0DEMO", "name": "Demo Team", "domain": "demo"},
    "self": {"id": "U0BOT", "name": "demobot"},
    "users": [{"id": "U0BOT", "name": "demobot", "is_bot": True, "profile": {}},
              {"id": "U0ALICE", "name": "alice", "profile": {"real_name": "Alice"}},
              {"id": "U0BOB", "name": "bob", "profile": {"real_name": "Bob"}}],
    "channels": [{"id": "C0GENERAL", "name": "general", "is_member": True},
                 {"id": "C0RANDOM", "name": "random", "is_member": True}],
    "groups": [], "ims": [], "bots": [],
}


def _demo_before(ts: Callable[[int], str]) -> List[_Json]:
    """The conversation before the goodbye."""
    say: Callable[..., _Json] = functools.partial(dict, type="message", channel="C0GENERAL")
    return [
        say(user="U0ALICE", text="hello there", ts=ts(1)),
        say(user="U0BOB", text="hi alice! how is the launch going?", ts=ts(2)),
        {"type": "message", "subtype": "channel_join", "channel": "C0RANDOM", "user": "U0BOB",
         "text": "<@U0BOB> has joined the channel", "ts": ts(3)},
        say(user="U0ALICE", text="great, shipping tomorrow", ts=ts(4)),
        {"type": "message", "subtype": "message_changed", "channel": "C0GENERAL", "ts": ts(5),
         "message": {"user": "U0ALICE", "text": "great, shipping today", "ts": ts(4)}},
        {"type": "reaction_added", "user": "U0BOB", "reaction": "tada", "item_user": "U0ALICE",
         "item": {"type": "message", "channel": "C0GENERAL", "ts": ts(4)}, "event_ts": ts(6)},
        # What follows changes the team: the lines after it show the new names.
        {"type": "channel_rename", "channel": {"id": "C0RANDOM", "name": "launch", "created": 1600000000},
         "event_ts": ts(7)},
        say(channel="C0RANDOM", user="U0BOB", text="this channel is for the launch now", ts=ts(8)),
        {"type": "team_join", "user": {"id": "U0CAROL", "name": "carol", "deleted": False,
                                       "profile": {"real_name": "Carol"}}, "event_ts": ts(9)},
        say(user="U0CAROL", text="hi all, carol here", ts=ts(10)),
        say(user="U0ALICE", text="ping", ts=ts(11)),
    ]


def _demo_after(ts: Callable[[int], str], deleted_ts: str) -> List[_Json]:
    """The conversation on the new connection, after the reconnect."""
    say: Callable[..., _Json] = functools.partial(dict, type="message", channel="C0GENERAL")
    return [
        say(user="U0BOB", text="anyone still here after that reconnect?", ts=ts(1)),
        {"type": "message", "subtype": "message_deleted", "channel": "C0GENERAL", "ts": ts(2),
         "deleted_ts": deleted_ts},
        say(user="U0ALICE", text="bye!", ts=ts(3)),
    ]


def _stamps(start: float, step: float) -> Callable[[int], str]:
    return lambda n: f"{start + n * step:.6f}"


def _demo_feed(slack: FakeSlack, frames: List[_Json], stop: threading.Event) -> None:
    """Send each frame when its time stamp comes, as a live team would,
    until ``stop`` is set."""
    slack.wait_connections(1)
    for frame in frames:                 # (every frame of the demo has a ts or an event_ts: float() takes it)
        if stop.wait(max(0.0, float(frame.get("ts") or frame.get("event_ts")) - time.time())):  # type: ignore[arg-type]
            return
        slack.send(frame)


def _demo(args: "argparse.Namespace", out: TextIO) -> int:
    _require("the demo", "websockets", "websocket", "urllib3")          # both halves, at once
    if args.demo == "socket-mode":
        return _demo_socket_mode(args, out)
    before = _demo_before(_stamps(time.time() + args.demo_pace, args.demo_pace))
    stop = threading.Event()
    with FakeSlack(tokens=("xoxb-demo",), team=_DEMO_TEAM) as slack:
        feeder = threading.Thread(target=_demo_feed, args=(slack, before, stop), name="demo", daemon=True)
        feeder.start()
        args.demo_state = {"slack": slack, "deleted_ts": before[1]["ts"], "last": None}
        with _open_session("xoxb-demo", args, base_url=slack.base_url, sleep=lambda seconds: None) as rtm, \
                _CtrlC(rtm) as ctrl_c:
            try:
                _run(rtm, args, out)
            except SlackError:
                if not ctrl_c.pressed:       # Ctrl-C closed the session: what failed after is its doing
                    raise
            finally:                              # ended early (| head): no frame for a closed connection
                stop.set()
                feeder.join()
    return EXIT_OK


def _demo_step(rtm: Session, event: _Json, names: _Names, args: "argparse.Namespace", out: TextIO) -> bool:

    """The demo bot: answers "ping" (waiting for the ack), then has the
    server say goodbye; stops after the last message of the new connection.
    With --json the ack is printed as it comes, like any frame."""
    state = args.demo_state
    if event.get("type") == "message" and event.get("text") == "ping" and state["last"] is None:
        ack = rtm.send_message(event["channel"], "pong", wait=True, timeout=10)
        if not args.json and _wanted(args, "message"):
            me = rtm.start.self_.name if rtm.start.self_ else None    # set, on the demo's Slack
            _print(f"{_clock_of(ack)} {names.channel(event['channel'])} <{me}> pong  "
                   f"(acknowledged, ts {ack['ts']})", out)
        after = _demo_after(_stamps(time.time(), 0.01), state["deleted_ts"])
        state["last"] = after[-1]["ts"]
        state["slack"].on_connect(*after)
        state["slack"].goodbye()
    return state["last"] is not None and event.get("ts") == state["last"]


# The Socket Mode demo: a scripted app on the embedded FakeSlack.

#: The pause between the steps of either demo, a few seconds in all,
#: unless SLACK_RTM_DEMO_PACE says otherwise.
_DEMO_PACE = 0.3
#: The demo app's bot token (for chat.postMessage) and app-level token (for Socket Mode).
_DEMO_BOT_TOKEN, _DEMO_APP_TOKEN = "xoxb-demo", "xapp-demo"
#: The last message of the Socket Mode demo: the app stops after it.
_DEMO_LAST = "bye!"


def _demo_pace(parser: "argparse.ArgumentParser") -> float:
    """SLACK_RTM_DEMO_PACE's seconds (0 to 10), else _DEMO_PACE; a usage error otherwise."""
    text = os.environ.get("SLACK_RTM_DEMO_PACE", "").strip()
    try:
        pace = float(text) if text else _DEMO_PACE
    except ValueError:
        pace = math.nan
    if not 0 <= pace <= 10:                     # (NaN fails both)
        parser.error(f"SLACK_RTM_DEMO_PACE must be a number of seconds from 0 to 10, not {text[:20]!r}")
    return pace


def _demo_socket_mode(args: "argparse.Namespace", out: TextIO) -> int:
    """--demo socket-mode: the demo app (the iterating thread) against the
    team's script (a thread of its own), on an embedded FakeSlack."""
    with FakeSlack(tokens=(_DEMO_BOT_TOKEN,), app_tokens=(_DEMO_APP_TOKEN,), team=_DEMO_TEAM) as slack, \
            _open_session(_DEMO_APP_TOKEN, args, base_url=slack.base_url, proxy=False,
                          sleep=lambda seconds: None) as session, _CtrlC(session) as ctrl_c:
        stop = threading.Event()
        feeder = threading.Thread(target=_demo_team, args=(slack, session, stop, args.demo_pace), name="demo",
                                  daemon=True)
        feeder.start()
        try:
            _demo_app_run(session, _DemoApp(slack.base_url, args, out))   # type: ignore[arg-type]  # an app token: SocketModeSession
        except SlackError:
            if not ctrl_c.pressed:           # Ctrl-C closed the session: what failed after is its doing
                raise
        finally:                              # ended early (| head): nothing more is sent
            stop.set()
            feeder.join()
    return EXIT_OK


def _demo_team(slack: FakeSlack, session: SocketModeSession, stop: threading.Event, pace: float) -> None:
    """The team's side of the Socket Mode demo: a step every ``pace``
    seconds until ``stop`` is set.  A step FakeSlack waits for in vain
    closes the session: the demo ends rather than waits for ever."""
    from websockets.exceptions import ConnectionClosed as Closed   # type: ignore[import-not-found, unused-ignore]
    try:
        for step in _demo_script(slack, stop, pace):
            if stop.wait(pace):
                return
            step()
    except (AssertionError, Closed):          # the demo's session ended, or never read on (Ctrl-C)
        session.close()


def _demo_script(slack: FakeSlack, stop: threading.Event, pace: float) -> List[Callable[[], object]]:
    """What the team and Slack do in the Socket Mode demo, step by step."""
    say = functools.partial(slack.post, "C0GENERAL")
    sent: List[_Json] = []
    return [
        lambda: say("good morning! the launch is today", user="U0ALICE"),
        lambda: sent.append(_demo_mention(slack, "U0BOB", "<@U0BOT> is the build green?")),
        lambda: slack.send_slash_command("/deploy", "production", user_id="U0ALICE"),
        lambda: say("ping", user="U0BOB"),
        lambda: slack.refresh("warning", close_after=max(0.2, 3 * pace)),   # routine: the next connection first
        lambda: slack.wait_for(lambda: stop.is_set() or slack.connections >= 2, what="the next connection"),
        lambda: say("still here after that refresh?", user="U0BOB"),
        # Slack sends the mention again, as it does when an ack seems lost.
        lambda: slack.send_envelope(dict(sent[0], retry_attempt=1, retry_reason="timeout")),
        lambda: say(_DEMO_LAST, user="U0ALICE"),
    ]


def _demo_mention(slack: FakeSlack, user: str, text: str) -> _Json:
    """Send an app_mention in #general; return its envelope."""
    ts = f"{time.time():.6f}"
    return slack.send_event({"type": "app_mention", "channel": "C0GENERAL", "user": user, "text": text,
                             "ts": ts, "event_ts": ts})


def _demo_app_run(session: SocketModeSession, app: "_DemoApp") -> None:
    """The demo app's loop: each envelope printed as _run_envelopes prints
    it, after what the session did since the last one, before the app's answer."""
    app.say("hello", "-- connected (Socket Mode)")
    for envelope in session:
        app.news(session.stats)
        line = _envelope_text(envelope, app.args, app.names)
        if line is not None:
            _print(line, app.out)
        if app.answer(session, envelope):
            return


class _DemoApp:
    """The Socket Mode demo's app: acks /deploy with a response, answers
    "ping" with chat.postMessage, and says what the session did between
    envelopes (a refresh, a duplicate skipped), from its stats.  Its own
    lines are left out with --json (one envelope a line) and --types."""

    def __init__(self, base_url: str, args: "argparse.Namespace", out: TextIO) -> None:
        self.base_url, self.args, self.out = base_url, args, out
        self.names = _Names(TeamState.from_start(RtmStart.from_dict(dict(_DEMO_TEAM))))
        self.seen = {"connections": 1, "duplicates": 0}

    def say(self, kind: str, text: str, at: Optional[_Json] = None) -> None:
        if not self.args.json and _wanted(self.args, kind):
            _print(f"{_clock_of(at or {})} {text}", self.out)

    def news(self, stats: Dict[str, int]) -> None:
        if stats["connections"] > self.seen["connections"]:
            self.say("disconnect", "-- Slack refreshed the connection: the next one opened before the old one "
                                   f"closed, no gap ({stats['connections']} connections so far)")
        if stats["duplicates"] > self.seen["duplicates"]:
            self.say("duplicate", "-- an envelope came again (Slack's retry): acked, and skipped as a "
                                  f"duplicate ({stats['duplicates']} so far)")
        self.seen = {key: stats[key] for key in self.seen}

    def answer(self, session: SocketModeSession, envelope: _Json) -> bool:
        """Answer ``envelope``; True after the demo's last message."""
        payload = envelope.get("payload") or {}
        event = payload.get("event") or {}
        if payload.get("command") == "/deploy":
            response = {"response_type": "in_channel", "text": f"Deploying {payload.get('text')}..."}
            session.ack(envelope, response)
            self.say("slash_commands", "-- acked with a response: " + json.dumps(response))
        elif event.get("type") == "message" and event.get("text") == "ping":
            sent = api_call("chat.postMessage", _DEMO_BOT_TOKEN, base_url=self.base_url, proxy=False,
                            channel=event.get("channel"), text="pong")
            self.say("message", f"{self.names.channel(sent['channel'])} <demobot> pong  "
                                f"(chat.postMessage, ts {sent['ts']})", at=sent)
        return event.get("type") == "message" and event.get("text") == _DEMO_LAST

if __name__ == "__main__":
    sys.exit(main())
