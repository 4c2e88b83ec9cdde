"""The Rucio exception hierarchy. Each class carries the HTTP status it is rendered with.

The class *name* is what travels in the ``ExceptionClass`` header and body: the real client maps it
back to its own exception class of the same name (API.md §2). Where the real server answers one
class with a different status in one place, a subclass here says so and keeps the wire name
(``same_wire_name=True``). Classes are declared with their status as a class keyword:
``class RSENotFound(RucioException, status=404)``.
"""


class RucioException(Exception):
    status = 500
    #: Name sent on the wire; defaults to the class name (lets us model ``ValueError`` etc.).
    wire_name = None

    def __init_subclass__(cls, status=None, wire_name=None, same_wire_name=False, **kwargs):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if same_wire_name:
            parent = cls.__mro__[1]
            wire_name = parent.wire_name or parent.__name__
        cls.wire_name = wire_name

    def __init__(self, message=""):
        super().__init__(message)
        self.message = str(message)

    @property
    def name(self):
        return self.wire_name or type(self).__name__


# -- the classes of the real server, with the first status API.md §2.3 lists for each -------
class CannotAuthenticate(RucioException, status=401):
    pass


class CannotAuthorize(RucioException, status=401):
    pass


class IdentityError(RucioException, status=400):
    pass


class IdentityNotFound(RucioException, status=401):
    pass


class AccessDenied(RucioException, status=401):
    pass


class AccountNotFound(RucioException, status=404):
    pass


class Duplicate(RucioException, status=409):
    pass


class InvalidObject(RucioException, status=400):
    pass


class InvalidAccountType(RucioException, status=400):
    pass


class UnsupportedRequestedContentType(RucioException, status=406):
    pass


class RSENotFound(RucioException, status=404):
    pass


class RSEAttributeNotFound(RucioException, status=404):
    pass


class RSEOperationNotSupported(RucioException, status=404):
    pass


class RSEProtocolNotSupported(RucioException, status=404):
    pass


class RSEWriteBlocked(RucioException, status=409):
    pass


class InvalidRSEExpression(RucioException, status=400):
    pass


class InputValidationError(RucioException, status=400):
    pass


class CounterNotFound(RucioException, status=404):
    pass


class ScopeNotFound(RucioException, status=404):
    pass


class DataIdentifierNotFound(RucioException, status=404):
    pass


class DataIdentifierAlreadyExists(RucioException, status=409):
    pass


class DuplicateContent(RucioException, status=409):
    pass


class FileAlreadyExists(RucioException, status=409):
    pass


class FileConsistencyMismatch(RucioException, status=412):
    pass


class UnsupportedOperation(RucioException, status=409):
    pass


class UnsupportedStatus(RucioException, status=409):
    pass


class InvalidMetadata(RucioException, status=400):
    pass


class KeyNotFound(RucioException, status=404):
    pass


class InvalidValueForKey(RucioException, status=400):
    pass


class UnsupportedMetadataPlugin(RucioException, status=400):
    pass


class UnsupportedKeyType(RucioException, status=400):
    pass


class UnsupportedValueType(RucioException, status=400):
    pass


class DIDFilterSyntaxError(RucioException, status=400):
    pass


class RuleNotFound(RucioException, status=404):
    pass


class DuplicateRule(RucioException, status=409):
    pass


class InsufficientAccountLimit(RucioException, status=409):
    pass


class InsufficientTargetRSEs(RucioException, status=409):
    pass


class InvalidReplicationRule(RucioException, status=409):
    pass


class InvalidRuleWeight(RucioException, status=409):
    pass


class StagingAreaRuleRequiresLifetime(RucioException, status=409):
    pass


class ScratchDiskLifetimeConflict(RucioException, status=409):
    pass


class ManualRuleApprovalBlocked(RucioException, status=409):
    pass


class RuleReplaceFailed(RucioException, status=409):
    pass


class SubscriptionNotFound(RucioException, status=404):
    pass


class SubscriptionDuplicate(RucioException, status=409):
    pass


class ReplicaNotFound(RucioException, status=404):
    pass


class ReplicaIsLocked(RucioException, status=423):
    pass


class ResourceTemporaryUnavailable(RucioException, status=503):
    pass


class SortingAlgorithmNotSupported(RucioException, status=400):
    pass


class InvalidPath(RucioException, status=400):
    pass


class InvalidType(RucioException, status=400):
    pass


class ConfigurationError(RucioException, status=500):
    pass


class NotFound(RucioException, status=404):
    pass


class MethodNotAllowed(RucioException, status=405):
    pass


class DatabaseException(RucioException, status=500):
    pass


class RSEProtocolDomainNotSupported(RucioException, status=400):
    pass


class RSEProtocolPriorityError(RucioException, status=400):
    pass


class NoDistance(RucioException, status=404):
    pass


# -- locks, requests, lifetime exceptions, redirect --------------------------------------------
class RequestNotFound(RucioException, status=404):
    pass


class MissingParameter(RucioException, status=400):
    pass


class LifetimeExceptionNotFound(RucioException, status=404):
    pass


class LifetimeExceptionDuplicate(RucioException, status=409):
    pass


# -- configuration, VOs -----------------------------------------------------------------------
class ConfigNotFound(RucioException, status=404):
    pass


class VONotFound(RucioException, status=404):
    pass


# -- Python-builtin names the real server sends for malformed input (API.md §2.3) -----------
class InvalidValue(RucioException, status=400, wire_name="ValueError"):
    pass


class MissingKey(RucioException, status=400, wire_name="KeyError"):
    pass


class InvalidJSONType(RucioException, status=400, wire_name="TypeError"):
    pass


# -- the same class with another status where the real server answers so -------------------
class UnknownOperation(RSEOperationNotSupported, status=400, same_wire_name=True):
    """A protocol operation or domain that does not exist (a client error, not a 404)."""


class UnknownIdentity(IdentityError, status=401, same_wire_name=True):
    """``userpass`` login with an identity that does not exist."""


class IdentityMissing(IdentityError, status=404, same_wire_name=True):
    """An identity (or its link to an account) that does not exist, where one is removed or
    listed."""


class InvalidRuleDefinition(InvalidObject, status=409, same_wire_name=True):
    """A ``POST /rules/`` body that breaks the schema: 409, as the real rule API answers."""


class InvalidRuleOption(InputValidationError, status=409, same_wire_name=True):
    """A bad option of ``PUT /rules/{id}``: 409."""


class LockedRule(UnsupportedOperation, status=401, same_wire_name=True):
    """Deleting a locked rule: 401, as the real server answers."""


class InvalidRSEProperties(InputValidationError, status=422, same_wire_name=True):
    """A bad property of ``POST /rses/{rse}``: 422, as the real server's schema check."""


class InvalidRuleExpression(InvalidRSEExpression, status=409, same_wire_name=True):
    """An RSE expression of a rule that selects nothing or does not parse: 409."""


class ConfigValueRefused(ConfigurationError, status=400, same_wire_name=True):
    """A configuration option or value that cannot be stored: 400, as ``POST /config``."""


class TraceDecodeError(InvalidValue, wire_name="JSONDecodeError"):
    """A trace body that is not JSON: the real server names Python's decoder error."""


class SSLRequired(AccessDenied, status=403, same_wire_name=True):
    """Plain HTTP in production: 403."""


class InvalidRequestState(InvalidObject, status=400, wire_name="Invalid"):
    """A ``request_states`` value that is no request state: the real server's class 'Invalid'."""


class UnsupportedExceptionState(UnsupportedOperation, status=400, same_wire_name=True):
    """A lifetime exception set to a state other than APPROVED/REJECTED: 400."""


class NoRedirection(ReplicaNotFound, same_wire_name=True):
    """``/redirect``: no replica, or none the arguments allow (404)."""


# -- routes of the real API this server does not serve (docs/API.md) ---------------------------
class NotServed(UnsupportedOperation, status=501, same_wire_name=True):
    """A (method, route) of the real server's API that this server does not implement: 501."""


# -- limits and throttling (issue 12): wire names the real client knows ----------------------
class RequestTooLarge(InputValidationError, status=413, same_wire_name=True):
    """A body above ``max_body_size`` or a bulk call above ``max_bulk_items``."""


class URITooLong(InputValidationError, status=414, same_wire_name=True):
    """A request target above ``max_url_size``."""


class HeadersTooLarge(InputValidationError, status=431, same_wire_name=True):
    """Header lines above ``max_header_size``."""


class LoginThrottled(CannotAuthenticate, status=429, same_wire_name=True):
    """Too many failed logins for an identity or from an address: the client shows
    ``CannotAuthenticate`` and does not retry (it retries only 502/503/504)."""


# -- DIRAC, opendata, signed URLs --------------------------------------------------------------
class DiracUnsupportedOperation(UnsupportedOperation, status=405, same_wire_name=True):
    """``POST /dirac/addfiles`` answers UnsupportedOperation with 405, as the real server."""


class OpenDataError(RucioException, status=400):
    pass


class OpenDataDataIdentifierNotFound(OpenDataError, status=404):
    pass


class OpenDataDataIdentifierAlreadyExists(OpenDataError, status=409):
    pass


class OpenDataInvalidState(OpenDataError, status=400):
    pass


class OpenDataInvalidStateUpdate(OpenDataError, status=400):
    pass


class OpenDataDuplicateDOI(OpenDataError, status=400):
    pass


class OpenDataDuplicateRecordID(OpenDataError, status=400):
    pass


class ErrorLoadingCredentials(RucioException, status=500):
    """The server's RSE credentials file (``rse_accounts``) cannot be read."""
