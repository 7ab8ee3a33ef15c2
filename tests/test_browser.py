"""Real headless-Chromium tests of the dashboard on the small synthetic demo database.

One demo database per module (built before the app is imported); each test starts the app with
dash_duo. Every page is opened with no console or callback errors, checked with axe-core (no
serious or critical WCAG 2.2 A/AA violations) and screenshotted to test-output/.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14 (MPL-2.0), vendored
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
LOCALITY = '[id=\'{"name":"locality","type":"filter"}\']'
PERIOD_TYPE = '[id=\'{"name":"period_type","type":"filter"}\']'


@pytest.fixture(scope="module")
def dash_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app on a freshly built demo database (small); env set before the app is imported."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    url = f"duckdb:///{data_dir / 'bsol.duckdb'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSOL_DATA_DIR", str(data_dir))
        mp.delenv("DATABASE_URL", raising=False)
        mp.setenv("BSOL_DEFAULT_ROLE", "analyst")
        from metrics.pipeline import build_demo

        build_demo(url, size="small")
        import app as app_module
        from callbacks.data import cache

        cache.clear()
        yield app_module.app


def _wait_loaded(duo: Any, selector: str, timeout: float = 15) -> None:
    duo.wait_for_element(selector, timeout=timeout)
    WebDriverWait(duo.driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(
        "return document.querySelectorAll(\"._dash-loading, [data-dash-is-loading='true']\").length === 0"))


def _no_errors(duo: Any) -> None:
    logs = [entry for entry in duo.get_logs() or [] if "favicon" not in entry.get("message", "")]
    assert logs == [], f"browser console errors: {logs}"
    assert duo.driver.execute_script("return document.querySelectorAll('.dash-fe-error__title').length") == 0, \
        "callback error shown"


def _axe(duo: Any, name: str) -> None:
    driver = duo.driver
    driver.set_script_timeout(60)
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
        AXE_TAGS)
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    out = Path(__file__).resolve().parent.parent / "test-output" / f"axe-{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    assert bad == [], f"axe serious/critical violations on {name}: {json.dumps(bad, indent=1)}"


def _full_screenshot(duo: Any, screenshot: Callable[[str], Path], name: str) -> None:
    """Whole-page screenshot (window grown to the page height, capped), then the window restored."""
    height = duo.driver.execute_script("return document.documentElement.scrollHeight")
    duo.driver.set_window_size(1280, min(int(height) + 120, 7000))
    time.sleep(0.3)
    screenshot(name)
    duo.driver.set_window_size(1280, 900)


def _select(duo: Any, selector: str, label: str) -> None:
    duo.select_dcc_dropdown(selector, value=label)


PAGES = [
    ("scorecard", "/", "#home-content table.scorecard"),
    ("measure", "/measure/m12_hypertension_bp_target?locality=East", "#figures-table"),
    ("locality", "/locality?locality=South", "#locality-content table.grid"),
    ("inequalities", "/inequalities", "#inequalities-content table.grid"),
    ("prepost", "/pre-post", "#prepost-content .data-table"),
    ("data", "/data", "#data-content .data-table"),
    ("about", "/about", ".page-about details"),
    ("bad-indicator", "/measure/no_such_indicator", ".message-error"),
    ("bad-locality", "/?locality=Atlantis", ".message-error"),
    ("bad-period", "/measure/m12_hypertension_bp_target?period_type=month&period=1999-01", ".message"),
    ("not-found", "/no/such/page", ".message-error"),
]


def test_every_page_renders_accessibly(dash_duo: Any, dash_app: Any, screenshot: Callable[[str], Path]) -> None:
    dash_duo.start_server(dash_app, dev_tools_ui=True, dev_tools_props_check=True)
    for name, path, ready in PAGES:
        dash_duo.driver.get(dash_duo.server_url + path)
        _wait_loaded(dash_duo, ready)
        time.sleep(0.3)
        assert dash_duo.find_element(".demo-banner").text.startswith("Synthetic demo data")
        assert dash_duo.driver.title.endswith("BSol outcomes dashboard"), dash_duo.driver.title
        assert "Traceback" not in dash_duo.driver.page_source
        _full_screenshot(dash_duo, screenshot, f"page-{name}")
        _no_errors(dash_duo)
        if not name.startswith(("bad", "not")):
            _axe(dash_duo, name)


def test_locality_change_updates_figures_url_and_nav(dash_duo: Any, dash_app: Any,
                                                     screenshot: Callable[[str], Path]) -> None:
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#home-content table.scorecard")
    first_value = dash_duo.find_element("#home-content table.scorecard tbody tr:nth-child(2) td.num .value").text
    _select(dash_duo, LOCALITY, "East")
    dash_duo.wait_for_contains_text("#home-content table.scorecard thead", "East value", timeout=10)
    assert "locality=East" in dash_duo.driver.current_url
    east_values = [e.text for e in dash_duo.find_elements("#home-content table.scorecard td.num .value")]
    assert east_values[0] != first_value or len(set(east_values)) > 1
    # navigation links now carry the locality
    href = dash_duo.find_element('[id=\'{"page":"inequalities","type":"nav-link"}\']').get_attribute("href")
    assert "locality=East" in href
    screenshot("scorecard-east")
    _no_errors(dash_duo)


def test_scorecard_row_opens_measure_page_and_url_reloads(dash_duo: Any, dash_app: Any,
                                                          screenshot: Callable[[str], Path]) -> None:
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/?locality=West&period_type=quarter")
    dash_duo.wait_for_element("#home-content table.scorecard")
    link = dash_duo.find_element("a.indicator-link[href^='/measure/m12_hypertension_bp_target']")
    assert "locality=West" in link.get_attribute("href")
    link.click()
    _wait_loaded(dash_duo, "#figures-table")
    assert "/measure/m12_hypertension_bp_target" in dash_duo.driver.current_url
    dash_duo.wait_for_contains_text(".stats-row", "West", timeout=10)
    headline = dash_duo.find_element(".stats-row").text
    # change period type: the URL follows, and reloading the URL gives the same view
    _select(dash_duo, PERIOD_TYPE, "Financial year")
    WebDriverWait(dash_duo.driver, 15, poll_frequency=0.1).until(
        lambda d: (lambda t: t.startswith("West, 20") and " Q" not in t)(
            d.find_element(By.CSS_SELECTOR, ".stats-row .stat-label").text))
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "period_type=financial_year" in d.current_url)
    shared = dash_duo.driver.current_url
    view = dash_duo.find_element(".stats-row").text
    assert view != headline
    dash_duo.driver.get("about:blank")
    dash_duo.driver.get(shared)
    _wait_loaded(dash_duo, "#figures-table")
    WebDriverWait(dash_duo.driver, 15, poll_frequency=0.1).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".stats-row").text == view)
    assert dash_duo.find_element(LOCALITY).text.strip().startswith("West")
    screenshot("measure-shared-url")
    _no_errors(dash_duo)


def test_download_table_matches_page(dash_duo: Any, dash_app: Any) -> None:
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/measure/m12_hypertension_bp_target?locality=East&period_type=quarter")
    _wait_loaded(dash_duo, "#download-csv")
    href = dash_duo.find_element("#download-csv").get_attribute("href")
    response = requests.get(href, timeout=30)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    table = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig", dtype=str)
    assert set(table["Indicator id"]) == {"m12_hypertension_bp_target"}
    assert {"Trend (SPC)", "Localities", "IMD quintile", "Ethnic group"} <= set(table["Chart"])
    assert (table.loc[table["Chart"] == "Trend (SPC)", "Area"] == "East").all()
    rows_on_page = len(dash_duo.find_elements("#figures-table tbody tr"))
    assert rows_on_page == len(table) or rows_on_page == 400
    below = table[table["Level"] != "BSol"]
    for col in ("Numerator", "Denominator"):
        numbers = pd.to_numeric(below[col], errors="coerce")
        assert not numbers.between(1, 7).any(), f"small {col.lower()} in download"
    assert "patient_id" not in response.text and "pat_" not in response.text
    xlsx = requests.get(href.replace(".csv?", ".xlsx?"), timeout=30)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    _no_errors(dash_duo)


def test_keyboard_skip_link_and_focus(dash_duo: Any, dash_app: Any) -> None:
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#home-content table.scorecard")
    body = dash_duo.driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    active = dash_duo.driver.switch_to.active_element
    assert active.text == "Skip to main content"
    assert active.is_displayed()
    active.send_keys(Keys.ENTER)
    assert dash_duo.driver.current_url.endswith("#main-content")
