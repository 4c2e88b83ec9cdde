"""The database configuration table (``/config``): sections of options with text values.

As the real server: values are stored as text and read back auto-typed (``true``/``yes``/``on``
and ``false``/``no``/``off`` become booleans, then integers, then floats, else the text); a
changed or removed value is kept in :class:`ConfigHistory`; reading and writing need root or
an admin account. :func:`value` is the server's own reader (no issuer, no permission).
"""
import math
import reprlib

from rucio_tornado import exceptions
from rucio_tornado.core import permissions
from rucio_tornado.db import atomic
from rucio_tornado.models import ConfigHistory, ConfigOption, utcnow

NAME_LENGTH = 128
VALUE_LENGTH = 4000
_INT64 = 2 ** 63
_TRUE, _FALSE = ("true", "yes", "on"), ("false", "no", "off")


def convert(text):
    """A stored value auto-typed as the real server's ``convert_to_any_type``; numbers JSON
    cannot carry (NaN, infinities, integers beyond 64 bits) stay text."""
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    try:
        number = int(text)
        return number if -_INT64 <= number < _INT64 else text
    except ValueError:
        pass
    try:
        number = float(text)
        return number if math.isfinite(number) else text
    except ValueError:
        return text


def _not_found(section, option=None):
    where = f"section '{section}'" + ("" if option is None else f" option '{option}'")
    return exceptions.ConfigNotFound(f"No configuration found for {where}")


# -- reading ----------------------------------------------------------------------------------
def list_config(issuer):
    """``{section: {option: value}}`` of the whole table."""
    permissions.check(issuer, "config_get")
    config = {}
    for section, opt, text in ConfigOption.select(
            ConfigOption.section, ConfigOption.opt, ConfigOption.value).order_by(
            ConfigOption.section, ConfigOption.opt).tuples():
        config.setdefault(section, {})[opt] = convert(text)
    return config


def get_section(issuer, section):
    """``{option: value}`` of ``section``; ConfigNotFound if it has no option."""
    permissions.check(issuer, "config_get")
    options = {opt: convert(text) for opt, text in ConfigOption.select(
        ConfigOption.opt, ConfigOption.value).where(ConfigOption.section == section)
        .order_by(ConfigOption.opt).tuples()}
    if not options:
        raise _not_found(section)
    return options


def get_option(issuer, section, option):
    """The auto-typed value of ``section``/``option``; ConfigNotFound."""
    permissions.check(issuer, "config_get")
    text = _stored(section, option)
    if text is None:
        raise _not_found(section, option)
    return convert(text)


def value(section, option, default=None):
    """The server's own read of an option (auto-typed), ``default`` when unset."""
    text = _stored(section, option)
    return default if text is None else convert(text)


def _stored(section, option):
    return ConfigOption.select(ConfigOption.value).where(
        ConfigOption.section == section, ConfigOption.opt == option).scalar()


# -- writing ----------------------------------------------------------------------------------
def _checked(section, option, item):
    """``(section, option, text)`` of one option to set; ConfigValueRefused otherwise."""
    for label, name in (("section", section), ("option", option)):
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_LENGTH:
            raise exceptions.ConfigValueRefused(
                f"Invalid {label} {name!r}: a text of 1 to {NAME_LENGTH} characters")
    if not isinstance(item, (str, int, float)) or (     # booleans too: stored as True/False
            isinstance(item, float) and not math.isfinite(item)):
        raise exceptions.ConfigValueRefused(
            f"Could not set value '{reprlib.repr(item)}' for section '{section}' "
            f"option '{option}'")                       # reprlib: any depth of nesting
    text = str(item)
    if len(text) > VALUE_LENGTH:
        raise exceptions.ConfigValueRefused(
            f"Could not set value for section '{section}' option '{option}': longer than "
            f"{VALUE_LENGTH} characters")
    return section, option, text


@atomic
def set_options(issuer, options):
    """Set every option of ``options`` = ``{section: {option: value}}`` (created if missing);
    the whole mapping is checked first, so a bad entry sets nothing."""
    permissions.check(issuer, "config_set")
    if not isinstance(options, dict):
        raise exceptions.InvalidJSONType("body must be a json dictionary")
    entries = []
    for section, section_options in options.items():
        if not isinstance(section_options, dict):
            raise exceptions.InvalidValue(
                f"section '{section}': the options must be a json dictionary")
        entries.extend(_checked(section, option, item)
                       for option, item in section_options.items())
    for section, option, text in entries:
        _set(section, option, text)


@atomic
def set_option(issuer, section, option, text):
    """Set one option (``PUT /config/{section}/{option}/{value}``: the value is text)."""
    permissions.check(issuer, "config_set")
    _set(*_checked(section, option, text))


def _set(section, option, text):
    row = ConfigOption.get_or_none(ConfigOption.section == section, ConfigOption.opt == option)
    if row is None:
        ConfigOption.create(section=section, opt=option, value=text)
    elif row.value != text:
        ConfigHistory.create(section=section, opt=option, value=row.value)
        ConfigOption.update(value=text, updated_at=utcnow()).where(
            ConfigOption.section == section, ConfigOption.opt == option).execute()


@atomic
def delete_section(issuer, section):
    """Remove every option of ``section``; ConfigNotFound if it has none."""
    permissions.check(issuer, "config_remove_section")
    _remove(ConfigOption.section == section, _not_found(section))


@atomic
def delete_option(issuer, section, option):
    """Remove ``section``/``option``; ConfigNotFound."""
    permissions.check(issuer, "config_remove_option")
    _remove((ConfigOption.section == section) & (ConfigOption.opt == option),
            _not_found(section, option))


def _remove(where, missing):
    rows = list(ConfigOption.select(ConfigOption.section, ConfigOption.opt,
                                    ConfigOption.value).where(where).dicts())
    if not rows:
        raise missing
    ConfigHistory.insert_many(rows).execute()
    ConfigOption.delete().where(where).execute()
