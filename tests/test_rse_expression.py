"""The RSE expression language (API.md §6): pure parser tests, then evaluation on both databases."""
import pytest

from rucio_tornado import exceptions
from rucio_tornado.core.rses import expression as rse_expression
from rucio_tornado.core.rses import catalog as rses
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.rses.expression import All, Compare, Name, Operation, parse, resolve

ROOT = Issuer("root", is_admin=True)


# -- parsing (no database) ---------------------------------------------------------------------
def test_parse_builds_a_left_to_right_tree():
    assert parse("MOCK") == Name("MOCK")
    assert parse("*") == All()
    assert parse("tier=2") == Compare("tier", "=", "2")
    assert parse("A|B&C") == Operation("&", Operation("|", Name("A"), Name("B")), Name("C"))
    assert parse("A|(B&C)") == Operation("|", Name("A"), Operation("&", Name("B"), Name("C")))
    assert parse("*\\MOCK") == Operation("\\", All(), Name("MOCK"))
    assert parse("((MOCK))") == Name("MOCK")
    assert parse("a.b_c-d<10") == Compare("a.b_c-d", "<", "10")


@pytest.mark.parametrize("expression", [
    "MOCK", "MOCK_2", "MOCK-DISK", "*", "tier=2", "tier<3", "tier>1", "city=Geneva",
    "rse_type=TAPE", "deterministic=false", "MOCK|MOCK2", "MOCK&tier=2", "*\\MOCK",
    "(MOCK|MOCK2)&tier=3", "((MOCK|MOCK2))", "(MOCK)|(MOCK2)", "a.b=c", "*&*",
])
def test_valid_syntax(expression):
    parse(expression)


@pytest.mark.parametrize("expression", [
    "", "MOCK&", "|MOCK", "MOCK||MOCK2", "MOCK MOCK2", "MOCK |MOCK2", "tier=", "=2",
    "tier<", "tier=2=3", "tier==2", "MOCK_", "_MOCK", "MOCK__2", "MOCK.2", "()",
    "MOCK()", "(MOCK)MOCK2", "MOCK(MOCK2)", "tier<1.5", "MOCK;DROP", "MÖCK", "**",
    "MOCK&&MOCK2", "tier!=2",
])
def test_syntax_errors(expression):
    with pytest.raises(exceptions.InvalidRSEExpression) as error:
        parse(expression)
    assert error.value.message == rse_expression.SYNTAX_ERROR
    assert error.value.status == 400


@pytest.mark.parametrize("expression", ["(MOCK", "MOCK)", "((MOCK)", "(MOCK))", ")MOCK(",
                                        "(MOCK|MOCK2"])
def test_unbalanced_parentheses(expression):
    with pytest.raises(exceptions.InvalidRSEExpression) as error:
        parse(expression)
    assert error.value.message == rse_expression.PARENTHESES_ERROR


def test_not_a_string():
    with pytest.raises(exceptions.InvalidRSEExpression):
        parse(None)


# -- evaluation (both databases) ---------------------------------------------------------------
@pytest.fixture
def reference(db):
    """MOCK{tier=2}, MOCK2{tier=3, city=Geneva}, MOCK3, as on the reference instance, plus a
    TAPE RSE, a non-deterministic one and a deleted one."""
    def setup():
        rses.add_rse(ROOT, "MOCK")
        rses.set_attribute(ROOT, "MOCK", "tier", "2")
        rses.add_rse(ROOT, "MOCK2", {"city": "Geneva"})
        rses.set_attribute(ROOT, "MOCK2", "tier", 3)
        rses.set_attribute(ROOT, "MOCK2", "city", "Geneva")
        rses.add_rse(ROOT, "MOCK3")
        rses.set_attribute(ROOT, "MOCK3", "tier", "gold")
        rses.add_rse(ROOT, "TAPE1", {"rse_type": "TAPE", "deterministic": False})
        rses.set_attribute(ROOT, "TAPE1", "istape", "True")
        rses.set_attribute(ROOT, "TAPE1", "tier", "0")
        rses.add_rse(ROOT, "GONE")
        rses.set_attribute(ROOT, "GONE", "tier", "2")
        rses.delete_rse(ROOT, "GONE")
    db.run_sync(setup)
    return db


def names(db, expression):
    return [rse["rse"] for rse in db.run_sync(resolve, expression)]


RESOLVED = [
    # the examples of API.md §6
    ("MOCK|MOCK2", ["MOCK", "MOCK2"]),
    ("city=Geneva", ["MOCK2"]),
    ("*\\MOCK", ["MOCK2", "MOCK3", "TAPE1"]),
    ("tier<3", ["MOCK", "TAPE1"]),
    ("tier>1", ["MOCK", "MOCK2"]),
    ("tier=2", ["MOCK"]),
    ("(MOCK|MOCK2)&tier=3", ["MOCK2"]),
    # left to right, no precedence
    ("MOCK|MOCK2&tier=3", ["MOCK2"]),
    ("MOCK|(MOCK2&tier=3)", ["MOCK", "MOCK2"]),
    ("MOCK3|MOCK2\\MOCK2", ["MOCK3"]),
    ("MOCK3|(MOCK2\\MOCK2)", ["MOCK3"]),
    ("*\\MOCK\\MOCK2", ["MOCK3", "TAPE1"]),
    ("*\\(MOCK|MOCK2)", ["MOCK3", "TAPE1"]),
    ("*&tier=2|MOCK3", ["MOCK", "MOCK3"]),
    ("((MOCK))", ["MOCK"]),
    # everything; deleted RSEs never match
    ("*", ["MOCK", "MOCK2", "MOCK3", "TAPE1"]),
    # boolean attributes, column comparisons
    ("istape", ["TAPE1"]),
    ("istape=true", ["TAPE1"]),
    ("istape=TRUE", ["TAPE1"]),
    ("rse_type=TAPE", ["TAPE1"]),
    ("rse_type=DISK", ["MOCK", "MOCK2", "MOCK3"]),
    ("deterministic=false", ["TAPE1"]),
    ("deterministic=False&rse_type=TAPE", ["TAPE1"]),
    ("rse=MOCK3", ["MOCK3"]),
    ("MOCK3=true", ["MOCK3"]),
    # numeric comparisons skip non-numeric values ("gold")
    ("tier>-1", ["MOCK", "MOCK2", "TAPE1"]),
    ("tier<100", ["MOCK", "MOCK2", "TAPE1"]),
    ("tier=gold", ["MOCK3"]),
]
EMPTY = ["NOPE", "GONE", "tier=4", "tier<0", "tier>3", "tier<abc", "city=Paris", "MOCK&MOCK2",
         "MOCK\\MOCK", "unknownkey=1", "unknownkey>1"]


def test_resolve(reference):
    """Every expression of RESOLVED on one set of RSEs (one fixture setup per database)."""
    results = {expression: names(reference, expression) for expression, _ in RESOLVED}
    assert results == dict(RESOLVED)


def test_empty_results(reference):
    for expression in EMPTY:
        with pytest.raises(exceptions.InvalidRSEExpression) as error:
            reference.run_sync(resolve, expression)
        assert error.value.message == rse_expression.EMPTY_ERROR, expression


def test_resolve_shape_and_fresh_snapshot(reference):
    (mock2,) = reference.run_sync(resolve, "MOCK2")
    assert {"id", "rse", "rse_type", "deterministic", "volatile", "staging_area",
            "availability_read", "availability_write", "availability_delete",
            "attributes"} <= set(mock2)
    assert mock2["attributes"] == {"MOCK2": True, "tier": "3", "city": "Geneva"}
    assert mock2["deterministic"] is True and mock2["rse_type"] == "DISK"
    # a change is seen by the very next call (no cache)
    reference.run_sync(rses.set_attribute, ROOT, "MOCK3", "tier", "3")
    assert names(reference, "tier=3") == ["MOCK2", "MOCK3"]
    reference.run_sync(rses.delete_rse, ROOT, "MOCK3")
    assert names(reference, "tier=3") == ["MOCK2"]


def test_syntax_error_before_database(reference):
    with pytest.raises(exceptions.InvalidRSEExpression) as error:
        reference.run_sync(resolve, "MOCK&")
    assert error.value.message == rse_expression.SYNTAX_ERROR


# -- RSE columns as the real server compares them (issue 11 item 3) ---------------------------
@pytest.mark.parametrize("expression, expected", [
    ("deterministic=0", ["TAPE1"]),
    ("deterministic=1", ["MOCK", "MOCK2", "MOCK3"]),
    ("volatile=0&rse_type=TAPE", ["TAPE1"]),
    ("deterministic", ["MOCK", "MOCK2", "MOCK3"]),       # a bare boolean column: the column
    ("*\\deterministic", ["TAPE1"]),
    ("availability_read", ["MOCK", "MOCK2", "MOCK3", "TAPE1"]),
])
def test_boolean_columns(reference, expected, expression):
    assert names(reference, expression) == expected


@pytest.mark.parametrize("expression", ["rse_type=BLUE", "rse_type=tape", "rse_type=FOO",
                                        "deterministic=maybe", "volatile=yes"])
def test_bad_column_values_are_invalid_objects(reference, expression):
    with pytest.raises(exceptions.InvalidObject):
        reference.run_sync(resolve, expression)


@pytest.mark.parametrize("expression", ["volatile", "latitude>0", "longitude<1000"])
def test_empty_on_columns(reference, expression):
    """``<``/``>`` compare attributes only; no RSE is volatile."""
    reference.run_sync(rses.update_rse, ROOT, "MOCK", {"latitude": 46.2, "longitude": 6.1})
    with pytest.raises(exceptions.InvalidRSEExpression) as error:
        reference.run_sync(resolve, expression)
    assert error.value.message == rse_expression.EMPTY_ERROR
