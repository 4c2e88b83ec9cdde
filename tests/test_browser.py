"""The catalog browser (``/ui/``) end to end in headless Chromium, against a live server.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and ``selenium``
(the test extra). Skips only when no browser exists and ``CI`` is unset; in CI it fails.
Set ``RUCIO_TORNADO_SCREENSHOT=docs/browser.png`` to write the screenshot of the DID page there.
"""
import os
import shutil
import tempfile

import pytest
import requests

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1100")
FILES = 250


def _browser_or_skip():
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", DRIVER))
               if path is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        message = f"no browser for the catalog browser test: {', '.join(missing)} missing"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run it: .ci/run installs chromium)")
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path_factory.mktemp("profile"))
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def catalog(live):
    client = live.client()
    client.add_scope("root", "ui")
    client.add_rse("UI-DISK")
    client.add_rse_attribute("UI-DISK", "tier", "2")
    client.add_protocol("UI-DISK", {"scheme": "root", "hostname": "eos.example.org", "port": 1094,
                                    "prefix": "/eos/ui", "impl": "rucio.rse.protocols.xrootd.Default",
                                    "domains": {"wan": {"read": 1, "write": 1, "delete": 1,
                                                        "third_party_copy_read": 1,
                                                        "third_party_copy_write": 1},
                                                "lan": {"read": 1, "write": 1, "delete": 1}}})
    client.set_local_account_limit("root", "UI-DISK", 10 ** 12)
    client.add_dataset("ui", "ds.browser", meta={"project": "browsertest"})
    client.add_replicas("UI-DISK", [{"scope": "ui", "name": f"f{i:04d}", "bytes": 1000 + i,
                                     "adler32": f"{i + 1:08x}"} for i in range(FILES)])
    client.add_files_to_dataset("ui", "ds.browser", [{"scope": "ui", "name": f"f{i:04d}"}
                                                     for i in range(FILES)])
    client.add_dataset("ui", "other.set")
    rule = client.add_replication_rule([{"scope": "ui", "name": "ds.browser"}], 1, "UI-DISK")[0]
    return {"rule": rule}


def wait_for(driver, hash_, timeout=30):
    """Until the view of ``hash_`` has rendered its first page."""
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.querySelector('#view').dataset.ready")
        == hash_)


def text(driver, selector):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, selector).text


def test_static_files_are_served_with_safe_headers(live):
    page = requests.get(live.url + "/ui/", timeout=10)
    assert page.status_code == 200 and "app.js" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert requests.get(live.url + "/ui", timeout=10, allow_redirects=False).headers[
        "Location"] == "/ui/"
    assert requests.get(live.url + "/ui/../setup.py", timeout=10).status_code in (403, 404)


def test_browse_the_catalog(live, catalog, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver = browser
    driver.get(live.url + "/ui/")
    form = driver.find_element(By.ID, "login-form")
    form.find_element(By.NAME, "username").send_keys("ddmlab")
    form.find_element(By.NAME, "password").send_keys("secret")
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(driver, "#search")
    token = driver.execute_script("return sessionStorage.getItem('rucio-tornado-token')")
    assert token and requests.get(live.url + "/accounts/whoami", timeout=10, headers={
        "X-Rucio-Auth-Token": token}).json()["account"] == "root"

    # search with the filter language
    driver.find_element(By.ID, "filter").send_keys("name=ds.*, type=dataset")
    driver.find_element(By.CSS_SELECTOR, "#search-form button").click()
    wait_for(driver, "#search?scope=ui&filter=name%3Dds.*%2C%20type%3Ddataset")
    results = text(driver, "#results")
    assert "ui:ds.browser" in results and "other.set" not in results

    # a DID: metadata, content (paged), replicas with PFNs, rules with lock states
    driver.find_element(By.LINK_TEXT, "ui:ds.browser").click()
    wait_for(driver, "#did/ui/ds.browser")
    assert "DATASET" in text(driver, "#did-fields") and str(FILES) in text(driver, "#did-fields")
    assert "browsertest" in text(driver, "#did-meta")
    driver.execute_script("window.scrollTo(0, 0)")
    shot = os.environ.get("RUCIO_TORNADO_SCREENSHOT") or str(tmp_path / "browser.png")
    driver.save_screenshot(shot)
    assert os.path.getsize(shot) > 10000
    content = driver.find_element(By.ID, "did-content")
    assert len(content.find_elements(By.CSS_SELECTOR, "tbody tr")) == 100
    assert "first 100 rows shown" in content.text
    content.find_element(By.CSS_SELECTOR, "button.more").click()
    WebDriverWait(driver, 20).until(
        lambda d: len(content.find_elements(By.CSS_SELECTOR, "tbody tr")) == 200)
    replicas = text(driver, "#did-replicas")
    assert "root://eos.example.org:1094/eos/ui/ui/" in replicas and "AVAILABLE" in replicas
    rules = driver.find_element(By.ID, "did-rules")
    assert catalog["rule"] in rules.text and "UI-DISK" in rules.text
    rules.find_element(By.CSS_SELECTOR, "button.locks").click()
    WebDriverWait(driver, 20).until(lambda d: "f0000" in rules.text and "OK" in rules.text)

    # an RSE: attributes and usage
    driver.get(live.url + "/ui/#rse/UI-DISK")
    wait_for(driver, "#rse/UI-DISK")
    assert "tier" in text(driver, "#rse-attributes")
    usage = text(driver, "#rse-usage")
    assert "rucio" in usage and f"{FILES}" in usage

    # an account: quotas, usage and rules
    driver.find_element(By.ID, "nav-account").click()
    wait_for(driver, "#account/root")
    assert "UI-DISK" in text(driver, "#account-limits")
    assert "1,000,000,000,000" in text(driver, "#account-limits")
    assert catalog["rule"] in text(driver, "#account-rules")
    assert "UI-DISK" in text(driver, "#account-usage")

    # log out: the token is gone, the login form is back
    driver.find_element(By.ID, "logout").click()
    assert driver.execute_script("return sessionStorage.getItem('rucio-tornado-token')") is None
    assert driver.find_element(By.ID, "login").is_displayed()
