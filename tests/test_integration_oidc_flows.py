"""The real client's ``auth_type = oidc`` login in polling mode against a live server and a
throw-away identity provider on 127.0.0.1: the client asks /auth/oidc, prints the URL and
polls; the test reads the printed URL and plays the browser (our 303, the IdP's redirect back
to /auth/oidc_code)."""
import contextlib
import io
import os
import re
import threading
import time

import pytest
import requests

from tests.live import LiveServer
from tests.oidc_idp import LoginProvider

pytestmark = pytest.mark.integration


class Printed(io.StringIO):
    """What the client prints, readable while it runs."""

    def url(self, result, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline and "error" not in result:
            match = re.search(r"(http://\S+/auth/oidc_redirect\?\S+)", self.getvalue())
            if match:
                return match.group(1)
            time.sleep(0.1)
        raise AssertionError(f"the client printed no URL ({result}):\n" + self.getvalue())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory):
    idp = LoginProvider().serve()
    env = {f"RUCIO_TORNADO_{key.upper()}": value for key, value in idp.settings().items()}
    server = LiveServer(request.param, tmp_path_factory.mktemp("oidclive"), extra_env=env)
    root = server.client()
    root.add_account("jane", "USER", "jane@example.org")
    root.add_identity("jane", idp.identity("jane"), "OIDC", "jane@example.org")
    yield server, idp
    server.stop()
    idp.stop()
    assert server.process.returncode == 0, server.read_log()


def test_real_client_oidc_polling_login(stack):
    from rucio.client import Client
    from rucio.common.config import clean_cached_config
    server, _ = stack
    # jane's own configuration and token file (none yet: the client must log in)
    os.environ["RUCIO_CONFIG"] = str(server.write_client_config("jane", "unused", "unused"))
    clean_cached_config()
    result, printed = {}, Printed()

    def login():
        try:
            client = Client(rucio_host=server.url, auth_host=server.url, account="jane",
                            auth_type="oidc", creds={"oidc_polling": True,
                                                     "oidc_scope": "openid profile"})
            result["whoami"] = client.whoami()["account"]
        except Exception as exc:            # reported below
            result["error"] = exc

    with contextlib.redirect_stdout(printed):
        thread = threading.Thread(target=login, daemon=True)
        thread.start()
        url = printed.url(result)
        # the browser: our redirect to the IdP, the IdP's back to /auth/oidc_code
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and "Authentication granted" in page.text, page.text
        thread.join(timeout=60)
    assert not thread.is_alive(), printed.getvalue()
    assert result.get("whoami") == "jane", (result, printed.getvalue())
