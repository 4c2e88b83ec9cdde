"""What the server log says of an error answer (issue 12): a caller's mistake or a 501 (not
served) is no failure of the server, so no ERROR line and no traceback; a real 5xx keeps both."""
import logging

import pytest

from rucio_tornado import exceptions
from rucio_tornado.web.auth import PingHandler


def _raising(error):
    def get(self):
        raise error
    return get


@pytest.mark.gen_test
@pytest.mark.parametrize("error, status", [
    (exceptions.NotServed("GET /ping is not supported by this server"), 501),
    (exceptions.UnsupportedOperation("closed"), 409),
    (exceptions.DataIdentifierNotFound("no such DID"), 404),
])
async def test_expected_answers_log_no_error_and_no_traceback(api, caplog, monkeypatch, error,
                                                               status):
    monkeypatch.setattr(PingHandler, "get", _raising(error))
    with caplog.at_level(logging.INFO):
        response = await api.as_(None).get("/ping")
    assert response.status == status
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    if status == 501:
        [line] = [r for r in caplog.records if r.name == "rucio_tornado.web.base"]
        assert line.levelno == logging.INFO and "not supported" in line.getMessage()


@pytest.mark.gen_test
async def test_a_real_5xx_keeps_its_traceback(api, caplog, monkeypatch):
    monkeypatch.setattr(PingHandler, "get", _raising(RuntimeError("a bug")))
    with caplog.at_level(logging.INFO):
        response = await api.as_(None).get("/ping")
    assert (response.status, response.exception_class) == (500, "RucioException")
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info and record.exc_info[0] is RuntimeError
