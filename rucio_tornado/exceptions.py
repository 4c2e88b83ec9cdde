"""The Rucio exception hierarchy. Each class carries the HTTP status it is rendered with.

The class *name* is what travels in the ``ExceptionClass`` header and body: the real client maps it
back to its own exception class of the same name (API.md §2). Where the real server answers one
class with a different status in one place, a subclass here says so and keeps the wire name.
"""


class RucioException(Exception):
    status = 500
    #: Name sent on the wire; defaults to the class name (lets us model ``ValueError`` etc.).
    wire_name = None

    def __init__(self, message=""):
        super().__init__(message)
        self.message = str(message)

    @property
    def name(self):
        return self.wire_name or type(self).__name__


# -- the classes of the real server, with the first status API.md §2.3 lists for each -------

class CannotAuthenticate(RucioException):
    status = 401

class IdentityError(RucioException):
    status = 400

class IdentityNotFound(RucioException):
    status = 401

class AccessDenied(RucioException):
    status = 401

class AccountNotFound(RucioException):
    status = 404

class Duplicate(RucioException):
    status = 409

class InvalidObject(RucioException):
    status = 400

class InvalidAccountType(RucioException):
    status = 400

class UnsupportedRequestedContentType(RucioException):
    status = 406

class RSENotFound(RucioException):
    status = 404

class RSEAttributeNotFound(RucioException):
    status = 404

class RSEOperationNotSupported(RucioException):
    status = 404

class RSEProtocolNotSupported(RucioException):
    status = 404

class RSEWriteBlocked(RucioException):
    status = 409

class InvalidRSEExpression(RucioException):
    status = 400

class InputValidationError(RucioException):
    status = 400

class CounterNotFound(RucioException):
    status = 404

class ScopeNotFound(RucioException):
    status = 404

class DataIdentifierNotFound(RucioException):
    status = 404

class DataIdentifierAlreadyExists(RucioException):
    status = 409

class DuplicateContent(RucioException):
    status = 409

class FileAlreadyExists(RucioException):
    status = 409

class FileConsistencyMismatch(RucioException):
    status = 412

class UnsupportedOperation(RucioException):
    status = 409

class UnsupportedStatus(RucioException):
    status = 409

class InvalidMetadata(RucioException):
    status = 400

class KeyNotFound(RucioException):
    status = 404

class InvalidValueForKey(RucioException):
    status = 400

class UnsupportedMetadataPlugin(RucioException):
    status = 400

class UnsupportedKeyType(RucioException):
    status = 400

class UnsupportedValueType(RucioException):
    status = 400

class DIDFilterSyntaxError(RucioException):
    status = 400

class RuleNotFound(RucioException):
    status = 404

class DuplicateRule(RucioException):
    status = 409

class InsufficientAccountLimit(RucioException):
    status = 409

class InsufficientTargetRSEs(RucioException):
    status = 409

class InvalidReplicationRule(RucioException):
    status = 409

class InvalidRuleWeight(RucioException):
    status = 409

class StagingAreaRuleRequiresLifetime(RucioException):
    status = 409

class ScratchDiskLifetimeConflict(RucioException):
    status = 409

class ManualRuleApprovalBlocked(RucioException):
    status = 409

class RuleReplaceFailed(RucioException):
    status = 409

class SubscriptionNotFound(RucioException):
    status = 404

class SubscriptionDuplicate(RucioException):
    status = 409

class ReplicaNotFound(RucioException):
    status = 404

class ReplicaIsLocked(RucioException):
    status = 423

class ResourceTemporaryUnavailable(RucioException):
    status = 503

class SortingAlgorithmNotSupported(RucioException):
    status = 400

class InvalidPath(RucioException):
    status = 400

class InvalidType(RucioException):
    status = 400

class ConfigurationError(RucioException):
    status = 500

class NotFound(RucioException):
    status = 404

class MethodNotAllowed(RucioException):
    status = 405

class DatabaseException(RucioException):
    status = 500

class RSEProtocolDomainNotSupported(RucioException):
    status = 400

class RSEProtocolPriorityError(RucioException):
    status = 400

class NoDistance(RucioException):
    status = 404

class ConfigNotFound(RucioException):
    status = 404

class VONotFound(RucioException):
    status = 404


# -- Python-builtin names the real server sends for malformed input (API.md §2.3) -----------
class InvalidValue(RucioException):
    status = 400
    wire_name = "ValueError"


class MissingKey(RucioException):
    status = 400
    wire_name = "KeyError"


class InvalidJSONType(RucioException):
    status = 400
    wire_name = "TypeError"


# -- the same class with another status where the real server answers so -------------------
class UnknownOperation(RSEOperationNotSupported):
    """A protocol operation or domain that does not exist (a client error, not a 404)."""
    status = 400
    wire_name = "RSEOperationNotSupported"


class UnknownIdentity(IdentityError):
    """``userpass`` login with an identity that does not exist."""
    status = 401
    wire_name = "IdentityError"


class IdentityMissing(IdentityError):
    """An identity (or its link to an account) that does not exist, where one is removed or
    listed."""
    status = 404
    wire_name = "IdentityError"


class InvalidRuleDefinition(InvalidObject):
    """A ``POST /rules/`` body that breaks the schema: 409, as the real rule API answers."""
    status = 409
    wire_name = "InvalidObject"


class InvalidRuleOption(InputValidationError):
    """A bad option of ``PUT /rules/{id}``: 409."""
    status = 409
    wire_name = "InputValidationError"


class LockedRule(UnsupportedOperation):
    """Deleting a locked rule: 401, as the real server answers."""
    status = 401
    wire_name = "UnsupportedOperation"


class InvalidRSEProperties(InputValidationError):
    """A bad property of ``POST /rses/{rse}``: 422, as the real server's schema check."""
    status = 422
    wire_name = "InputValidationError"


class InvalidRuleExpression(InvalidRSEExpression):
    """An RSE expression of a rule that selects nothing or does not parse: 409."""
    status = 409
    wire_name = "InvalidRSEExpression"


class ConfigValueRefused(ConfigurationError):
    """A configuration option or value that cannot be stored: 400, as ``POST /config``."""
    status = 400
    wire_name = "ConfigurationError"


class TraceDecodeError(InvalidValue):
    """A trace body that is not JSON: the real server names Python's decoder error."""
    wire_name = "JSONDecodeError"


class SSLRequired(AccessDenied):
    """Plain HTTP in production: 403."""
    status = 403
    wire_name = "AccessDenied"
