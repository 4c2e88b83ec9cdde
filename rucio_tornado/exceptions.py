"""The Rucio exception hierarchy. Each class carries the HTTP status it is rendered with.

The class *name* is what travels in the ``ExceptionClass`` header and body: the real client maps it
back to its own exception class of the same name (API.md §2).
"""


class RucioException(Exception):
    status = 500
    #: Name sent on the wire; defaults to the class name (lets us model ``ValueError`` etc.).
    wire_name = None

    def __init__(self, message="", status=None):
        super().__init__(message)
        self.message = str(message)
        if status is not None:
            self.status = status

    @property
    def name(self):
        return self.wire_name or type(self).__name__


def _define(name, status, wire_name=None, base=RucioException):
    cls = type(name, (base,), {"status": status, "wire_name": wire_name})
    globals()[name] = cls
    return cls


# name, HTTP status (API.md §2.3: the first status listed for each class)
for _name, _status in [
    ("CannotAuthenticate", 401), ("IdentityError", 400), ("IdentityNotFound", 401),
    ("AccessDenied", 401), ("AccountNotFound", 404), ("Duplicate", 409), ("InvalidObject", 400),
    ("InvalidAccountType", 400), ("UnsupportedRequestedContentType", 406), ("RSENotFound", 404),
    ("RSEAttributeNotFound", 404), ("RSEOperationNotSupported", 404),
    ("RSEProtocolNotSupported", 404), ("RSEWriteBlocked", 409), ("InvalidRSEExpression", 400),
    ("InputValidationError", 400), ("CounterNotFound", 404), ("ScopeNotFound", 404),
    ("DataIdentifierNotFound", 404), ("DataIdentifierAlreadyExists", 409),
    ("DuplicateContent", 409), ("FileAlreadyExists", 409), ("FileConsistencyMismatch", 412),
    ("UnsupportedOperation", 409), ("UnsupportedStatus", 409), ("InvalidMetadata", 400),
    ("KeyNotFound", 404), ("InvalidValueForKey", 400), ("UnsupportedMetadataPlugin", 400),
    ("UnsupportedKeyType", 400), ("UnsupportedValueType", 400), ("DIDFilterSyntaxError", 400),
    ("RuleNotFound", 404), ("DuplicateRule", 409), ("InsufficientAccountLimit", 409),
    ("InsufficientTargetRSEs", 409), ("InvalidReplicationRule", 409), ("InvalidRuleWeight", 409),
    ("StagingAreaRuleRequiresLifetime", 409), ("ScratchDiskLifetimeConflict", 409),
    ("ManualRuleApprovalBlocked", 409), ("RuleReplaceFailed", 409),
    ("SubscriptionNotFound", 404), ("SubscriptionDuplicate", 409), ("ReplicaNotFound", 404),
    ("ReplicaIsLocked", 423), ("ResourceTemporaryUnavailable", 503),
    ("SortingAlgorithmNotSupported", 400), ("InvalidPath", 400), ("InvalidType", 400),
    ("ConfigurationError", 500), ("NotFound", 404), ("MethodNotAllowed", 405),
    ("DatabaseException", 500),
    # RSEs (protocols, distances)
    ("RSEProtocolDomainNotSupported", 400), ("RSEProtocolPriorityError", 400), ("NoDistance", 404),
]:
    _define(_name, _status)

# Python-builtin names the real server sends for malformed input (API.md §2.3).
InvalidValue = _define("InvalidValue", 400, wire_name="ValueError")
MissingKey = _define("MissingKey", 400, wire_name="KeyError")
InvalidJSONType = _define("InvalidJSONType", 400, wire_name="TypeError")
