"""X.509: one DN normaliser, and the DN a verified client certificate (or proxy) stands for.

Identities of type X509 are stored and compared in Rucio's slash form,
``/DC=org/DC=example/OU=Users/CN=Jane Doe`` (most significant component first). DNs arrive as
that form (mod_ssl's legacy format, nginx's ``$ssl_client_s_dn_legacy``), as RFC 2253 /
RFC 4514 (``CN=Jane Doe,OU=Users,DC=example,DC=org``: least significant first, what nginx's
``$ssl_client_s_dn`` sends) or as OpenSSL's one-line form (``DC = org, DC = example, CN = Jane
Doe``: most significant first). Grid proxies (RFC 3820, and the older forms) add ``CN=<digits>``,
``CN=proxy`` or ``CN=limited proxy`` after the user's DN, once per delegation; those are removed.
"""
import re

from cryptography import x509

from rucio_tornado import exceptions

#: the RFC 3820 ProxyCertInfo extension
PROXY_CERT_INFO = "1.3.6.1.5.5.7.1.14"
_PROXY_TAIL = re.compile(r"(/CN=(?:limited proxy|proxy|[0-9]+))+$")
#: attribute names as OpenSSL prints them, by OID (others: cryptography's RFC 4514 names)
_OPENSSL_NAMES = {"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.1": "UID",
                  "2.5.4.5": "serialNumber", "2.5.4.4": "SN", "2.5.4.42": "GN",
                  "2.5.4.12": "title"}
_ALIASES = {"EMAIL": "emailAddress", "E": "emailAddress", "EMAILADDRESS": "emailAddress",
            "USERID": "UID", "DOMAINCOMPONENT": "DC", "COMMONNAME": "CN",
            "ORGANIZATIONALUNITNAME": "OU", "ORGANIZATIONNAME": "O", "COUNTRYNAME": "C",
            "LOCALITYNAME": "L", "STATEORPROVINCENAME": "ST"}
_SHORT = {"CN", "OU", "O", "C", "L", "ST", "DC", "UID", "SN", "GN"}


def normalise_dn(text):
    """Any accepted DN string -> Rucio's slash form (ValueError if it is not a DN)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty DN")
    text = text.strip()
    if text.startswith("/"):
        rdns = [_split_attribute(part) for part in text[1:].split("/") if part]
    else:
        one_line = " = " in text
        rdns = [_split_attribute(part) for part in _split_unescaped(text, ",")]
        if not one_line:                # RFC 2253: least significant first
            rdns.reverse()
    if not rdns:
        raise ValueError("empty DN")
    return "".join(f"/{name}={value}" for name, value in rdns)


def strip_proxy(dn):
    """The DN without trailing proxy components (``/CN=<digits>``, ``/CN=proxy``, ...)."""
    return _PROXY_TAIL.sub("", dn)


def dn_from_header(text):
    """The user DN of a DN a trusted TLS proxy verified; CannotAuthenticate if malformed."""
    try:
        return strip_proxy(normalise_dn(text))
    except ValueError:
        raise exceptions.CannotAuthenticate("Cannot get DN") from None


def dn_from_certificate(der):
    """The user DN of the verified leaf certificate (DER) the client presented: its subject,
    or, for an RFC 3820 proxy, the subject without the proxy components."""
    certificate = x509.load_der_x509_certificate(der)
    dn = "".join("/" + "+".join(f"{_attribute_name(a)}={a.value}" for a in rdn)
                 for rdn in certificate.subject.rdns)
    is_proxy = any(ext.oid.dotted_string == PROXY_CERT_INFO for ext in certificate.extensions)
    return strip_proxy(dn) if is_proxy else dn


def _attribute_name(attribute):
    oid = attribute.oid.dotted_string
    return _OPENSSL_NAMES.get(oid) or attribute.rfc4514_attribute_name


def _split_attribute(part):
    name, sep, value = part.partition("=")
    name, value = name.strip(), _unescape(value.strip())
    if not sep or not name or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*|[0-9.]+", name):
        raise ValueError(f"not an attribute: {part!r}")
    upper = name.upper()
    name = _ALIASES.get(upper) or (upper if upper in _SHORT else name)
    return name, value


def _split_unescaped(text, separator):
    """Split on ``separator`` where it is not escaped by a backslash or inside quotes."""
    parts, current, i, quoted = [], [], 0, False
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _unescape(value):
    """RFC 4514 value escapes: ``\\,`` and friends, ``\\xx`` hex pairs (UTF-8), quotes."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if "\\" not in value:
        return value
    out, i = bytearray(), 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            pair = value[i + 1:i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out.extend(value[i + 1].encode())
            i += 2
            continue
        out.extend(value[i].encode())
        i += 1
    return out.decode("utf-8", "replace")

