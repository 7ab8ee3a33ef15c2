"""Real headless-Chromium tests of the dashboard on the small synthetic demo database.

A copy of the run's date-pinned demo database (conftest `demo_db`); each test starts the app with
dash_duo. Every page is opened with no console or callback errors, checked with axe-core (no
serious or critical WCAG 2.2 A/AA violations) and screenshotted to test-output/.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import app_on

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14 (MPL-2.0), vendored
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
LOCALITY = '[id=\'{"name":"locality","type":"filter"}\']'
PERIOD_TYPE = '[id=\'{"name":"period_type","type":"filter"}\']'
WINDOW = '[id=\'{"name":"window","type":"filter"}\']'
TEAM = '[id=\'{"name":"team","type":"filter"}\']'


@pytest.fixture(scope="module")
def dash_app(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[Any]:
    """The app on a copy of the run's small demo (conftest); env set before the app is imported."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    shutil.copyfile(demo_db, data_dir / "bsol.duckdb")
    with app_on(data_dir, request_context=False) as app_module:
        yield app_module.app


def test_browser_renders_dash_app(dash_duo: Any, screenshot: Callable[[str], Path]) -> None:
    """The browser set-up itself: a minimal Dash app renders in headless Chromium, screenshot taken."""
    from dash import Dash, html

    app = Dash(__name__)
    app.layout = html.Div([html.H1("BSol"), html.Div("Hello from Dash", id="hello")])
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#hello", "Hello from Dash", timeout=10)
    path = screenshot("infra")
    assert path.stat().st_size > 1000
    assert dash_duo.get_logs() == [], "browser console errors"


def _until(driver: Any, timeout: float = 15, poll: float = 0.1) -> WebDriverWait:
    """A wait that re-polls when Dash re-renders the element under a condition (stale element)."""
    return WebDriverWait(driver, timeout, poll_frequency=poll,
                         ignored_exceptions=(StaleElementReferenceException,))


def _wait_loaded(duo: Any, selector: str, timeout: float = 15) -> None:
    duo.wait_for_element(selector, timeout=timeout)
    _until(duo.driver, timeout).until(lambda d: d.execute_script(
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


def _scroll_to_below(duo: Any) -> None:
    """Scroll to the end of a measure page and wait for its lazily rendered sections."""
    duo.driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    _wait_loaded(duo, "#measure-below #definition")


def _open_table(duo: Any, section: str) -> Any:
    """Open the <details> of a table behind a chart and wait for the server-rendered table."""
    summary = duo.driver.find_element(By.CSS_SELECTOR, f"[id*='\"section\":\"{section}\"'][id*='table-open']")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()
    body = f"[id*='\"section\":\"{section}\"'][id*='table-body'] table"
    _wait_loaded(duo, body)
    return duo.driver.find_element(By.CSS_SELECTOR, body)


def _cells(duo: Any, selector: str) -> list[tuple[str, str]]:
    """(last class, rendered text) of every matching cell, in one round trip rather than two per cell."""
    found = duo.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " c => [c.className.trim().split(/\\s+/).pop(), c.innerText.trim()]);", selector)
    return [(kind, text) for kind, text in found]


def _select(duo: Any, selector: str, label: str) -> None:
    duo.select_dcc_dropdown(selector, value=label)


PAGES = [
    ("scorecard", "/", "#home-content table.scorecard"),
    ("measure", "/measure/m12_hypertension_bp_target?locality=East", "#measure-content .stats-row"),
    ("locality", "/locality?locality=South", "#locality-content table.grid"),
    ("locality-overview", "/locality", "#tartan-rug table.grid"),
    ("inequalities", "/inequalities", "#inequalities-content table.grid"),
    ("prepost", "/pre-post", "#prepost-profile-panel .graph"),
    ("data", "/data", "#data-content .data-table"),
    ("about", "/about", ".page-about details"),
    ("bad-indicator", "/measure/no_such_indicator", ".message-error"),
    ("bad-locality", "/?locality=Atlantis", ".message-error"),
    ("bad-period", "/measure/m12_hypertension_bp_target?period_type=month&period=1999-01", ".message"),
    ("not-found", "/no/such/page", ".message-error"),
]


DASH_REQUESTS = ("return performance.getEntriesByType('resource')"
                 ".filter(e => e.name.includes('_dash-update-component')).length")
QUIET_WINDOW = 5.0  # seconds with no user action in which a settled page must send no callback request


def _settle(duo: Any, ready: str) -> int:
    """Wait for the page's loading states to clear and its callback requests to stop for 1 s; the count."""
    _wait_loaded(duo, ready)
    last = [-1, time.monotonic()]

    def settled(d: Any) -> bool:
        n = d.execute_script(DASH_REQUESTS)
        if n != last[0]:
            last[0], last[1] = n, time.monotonic()
        return time.monotonic() - last[1] >= 1.0

    _until(duo.driver, 30, 0.2).until(settled)
    _wait_loaded(duo, ready)
    return int(duo.driver.execute_script(DASH_REQUESTS))


def test_every_page_renders_accessibly_and_settles(dash_duo: Any, dash_app: Any,
                                                   screenshot: Callable[[str], Path]) -> None:
    """Each page renders with no errors, passes axe and is screenshotted (desktop and phone); then,
    once settled, it sends no request to _dash-update-component for QUIET_WINDOW seconds without a user
    action (a self-firing callback loop would). The window runs while the screenshots and axe work,
    which are no user action for Dash (no callback listens to window size or relayout)."""
    dash_duo.start_server(dash_app, dev_tools_ui=True, dev_tools_props_check=True)
    for name, path, ready in PAGES:
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.driver.execute_script("performance.setResourceTimingBufferSize(100000)")
        _wait_loaded(dash_duo, ready)
        if name == "measure":  # the lower sections render when scrolled to; tables when opened
            _scroll_to_below(dash_duo)
            _open_table(dash_duo, "all")
        quiet = not name.startswith(("bad", "not"))
        before = _settle(dash_duo, ready) if quiet else 0
        watched_from = time.monotonic()
        assert dash_duo.find_element(".demo-banner").text.startswith("Synthetic demo data")
        assert dash_duo.driver.title.endswith("BSol outcomes dashboard"), dash_duo.driver.title
        assert "Traceback" not in dash_duo.driver.page_source
        _full_screenshot(dash_duo, screenshot, f"page-{name}")
        if quiet:  # and at phone width
            dash_duo.driver.set_window_size(390, 844)
            time.sleep(0.3)
            screenshot(f"page-{name}-phone")
            dash_duo.driver.set_window_size(1280, 900)
        _no_errors(dash_duo)
        if quiet:
            _axe(dash_duo, name)
            time.sleep(max(0.0, QUIET_WINDOW - (time.monotonic() - watched_from)))
            after = dash_duo.driver.execute_script(DASH_REQUESTS)
            assert after == before, f"{name}: {after - before} callback request(s) with no user action"
    _no_errors(dash_duo)


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
    # Wait for conditions, never sleeps: the scorecard settled for West (its links carry the locality),
    # then the click lands on a link that is no longer re-rendered under it.
    _wait_loaded(dash_duo, "#home-content table.scorecard")
    link_css = "a.indicator-link[href^='/measure/m12_hypertension_bp_target'][href*='locality=West']"
    _until(dash_duo.driver, 15, 0.1).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, link_css))
    _wait_loaded(dash_duo, "#home-content table.scorecard")
    dash_duo.driver.execute_script("arguments[0].click()", dash_duo.find_element(link_css))
    _until(dash_duo.driver, 15, 0.1).until(
        lambda d: "/measure/m12_hypertension_bp_target" in d.current_url)
    _wait_loaded(dash_duo, "#measure-content .stats-row")
    dash_duo.wait_for_contains_text(".stats-row", "West", timeout=15)
    headline = dash_duo.find_element(".stats-row").text
    # change period type: the URL follows, and reloading the URL gives the same view
    _select(dash_duo, PERIOD_TYPE, "Financial year")
    _until(dash_duo.driver, 15, 0.1).until(
        lambda d: (lambda t: t.startswith("West, 20") and " Q" not in t)(
            d.find_element(By.CSS_SELECTOR, ".stats-row .stat-label").text))
    _until(dash_duo.driver, 10).until(lambda d: "period_type=financial_year" in d.current_url)
    shared = dash_duo.driver.current_url
    view = dash_duo.find_element(".stats-row").text
    assert view != headline
    dash_duo.driver.get("about:blank")
    dash_duo.driver.get(shared)
    _wait_loaded(dash_duo, "#measure-content .stats-row")
    _until(dash_duo.driver, 15, 0.1).until(
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
    _scroll_to_below(dash_duo)
    _open_table(dash_duo, "all")
    rows_on_page = len(dash_duo.find_elements("#figures-table tbody tr"))
    assert rows_on_page == min(len(table), 25)  # one page of the table; Next rows for the rest
    if len(table) > 25:
        assert f"of {len(table)}" in dash_duo.find_element("#measure-downloads").text
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


# --------------------------------------------------------------------------- pre/post page
def _plan_cell(duo: Any, team: str, measure: str, column: int = 1) -> str:
    """Text of one cell of the plan's table (column 1 = GP appointments ... 5 = care packages)."""
    # Read in one script call: the table may be re-rendered between two WebDriver calls.
    return duo.driver.execute_script(
        "const row = document.querySelector(`#prepost-plan-table tr[data-int='${arguments[0]}']"
        "[data-measure='${arguments[1]}']`);"
        "return row ? row.querySelectorAll('td')[arguments[2] - 1].textContent : null;", team, measure, column)


def _text_of(duo: Any, selector: str) -> str:
    return duo.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", selector)


def test_prepost_page_plan_table_rates_comparison_profile(dash_duo: Any, dash_app: Any, output_dir: Path,
                                                          screenshot: Callable[[str], Path]) -> None:
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/pre-post")
    _wait_loaded(dash_duo, "#prepost-profile-panel .graph")
    dash_duo.wait_for_element("#prepost-did-sentences")
    # (a) the plan's table for the pilot: East / West / Total, disclosure-controlled (rounded) values
    groups = [e.get_attribute("data-int") for e in dash_duo.find_elements("#prepost-plan-table tbody tr")]
    assert list(dict.fromkeys(groups)) == ["EAST INT", "WEST INT", "TOTAL"]
    assert len(groups) == 9
    assert _plan_cell(dash_duo, "EAST INT", "PRE-INT INTERVENTION") == "2,110"
    assert _plan_cell(dash_duo, "EAST INT", "POST INT INTERVENTION", 5) == "[c]"  # 3 care packages: suppressed
    total_pre = _plan_cell(dash_duo, "TOTAL", "PRE-INT INTERVENTION")
    assert re.fullmatch(r"[\d,]+", total_pre) and int(total_pre.replace(",", "")) % 5 == 0
    headers = [e.text for e in dash_duo.find_elements("#prepost-plan-table thead th")]
    assert headers[2:] == ["GP APPOINTMENTS", "A&E ATTENDANCES", "INPATIENT SPELLS",
                           "OUTPATIENTS & COMMUNITY CONTACTS", "CARE PACKAGES"]
    # (b) the regression-to-the-mean caution sits above the rates; the interval is the clustered one
    assert "regression to the mean" in dash_duo.find_element("#prepost-rtm").text.lower()
    assert dash_duo.find_element("#prepost-rtm").is_displayed()
    rates_head = dash_duo.find_element("#prepost-rates-table thead").text
    assert "clustered by person" in rates_head and "per person-year" in rates_head
    # (c) the comparison in plain words, with who was left out
    did = dash_duo.find_element("#prepost-did").text
    assert re.search(r"Of the fall in A&E attendances, about \d+% is more than the matched comparison group's fall",
                     did), did
    assert "found comparable people" in did and "Limitations" in did
    # (d) the caseload profile: chart, groups flagged in words, a table alternative
    summary = dash_duo.find_element("#prepost-profile-summary").text
    assert "Under-represented" in summary and "Over-represented" in summary
    assert len(dash_duo.find_elements("#prepost-profile-table tbody tr")) >= 10
    _full_screenshot(dash_duo, screenshot, "prepost-pilot")
    dash_duo.driver.set_window_size(1280, 4000)  # whole sections in view for the close-ups
    for part in ("prepost-plan", "prepost-did", "prepost-profile-panel"):
        assert dash_duo.find_element(f"#{part}").screenshot(str(output_dir / f"part-{part}.png"))
    dash_duo.driver.set_window_size(1280, 900)
    _no_errors(dash_duo)
    _axe(dash_duo, "prepost-pilot")


def test_prepost_window_change_team_filter_and_csv(dash_duo: Any, dash_app: Any,
                                                   screenshot: Callable[[str], Path]) -> None:
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/pre-post")
    _wait_loaded(dash_duo, "#prepost-plan-table")
    assert _plan_cell(dash_duo, "EAST INT", "PRE-INT INTERVENTION") == "2,110"
    _select(dash_duo, WINDOW, "3 months")
    _until(dash_duo.driver, 15, 0.1).until(
        lambda _d: "3 months before and after" in _text_of(dash_duo, "#prepost-plan h2"))
    _wait_loaded(dash_duo, "#prepost-plan-table")
    assert _plan_cell(dash_duo, "EAST INT", "PRE-INT INTERVENTION") not in ("2,110", None)
    _until(dash_duo.driver, 10).until(lambda d: "window=3" in d.current_url)
    dash_duo.wait_for_contains_text("#prepost-did", "6-month window only", timeout=10)
    # the global locality filter limits the table to that locality's teams (plus the BSol Total)
    _select(dash_duo, LOCALITY, "West")
    _until(dash_duo.driver, 15, 0.1).until(lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('#prepost-plan-table th.plan-int'), e => e.textContent)"
    ) == ["WEST INT", "TOTAL"])
    _until(dash_duo.driver, 10).until(lambda d: "locality=West" in d.current_url)
    assert dash_duo.find_element(TEAM).text.strip().startswith("All INTs in West")
    _wait_loaded(dash_duo, "#prepost-profile-panel .graph")
    screenshot("prepost-west-3m")
    # the CSV download is the table on the page: disclosure-controlled, no patient rows
    href = dash_duo.find_element("#prepost-download-csv").get_attribute("href")
    assert "window=3" in href and "locality=West" in href
    response = requests.get(href, timeout=30)
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert "patient_id" not in response.text and "pat_" not in response.text
    table = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig", dtype=str)
    assert list(dict.fromkeys(table["INT"])) == ["WEST INT", "TOTAL"] and len(table) == 6
    page_pre = _plan_cell(dash_duo, "WEST INT", "PRE-INT INTERVENTION")
    assert f"{int(table.iloc[0]['GP APPOINTMENTS']):,}" == page_pre
    teams = table[(table["INT"] != "TOTAL") & (table["MEASURE"] != "VARIANCE")].iloc[:, 2:]
    assert not teams.map(lambda v: v.lstrip("-").isdigit() and 1 <= int(v) <= 7).any().any()
    xlsx = requests.get(dash_duo.find_element("#prepost-download-xlsx").get_attribute("href"), timeout=30)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    _no_errors(dash_duo)


def test_tartan_rug_opens_a_locality_whose_pack_is_that_localitys(dash_duo: Any, dash_app: Any,
                                                                    screenshot: Callable[[str], Path]) -> None:
    """The LDP chair's path: overview of every locality, open East, build the East pack (button near the top)."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/locality")
    _wait_loaded(dash_duo, "#tartan-rug table.grid")
    head = [th.text for th in dash_duo.find_elements("#tartan-rug thead th")]
    assert head[3:] == ["North", "South", "East", "West", "Central Birmingham", "Solihull"], head
    cells = _cells(dash_duo, "#tartan-rug tbody td.grid-cell")
    assert len(cells) == 6 * len(dash_duo.find_elements("#tartan-rug tbody tr"))
    classes = {kind for kind, _ in cells}
    assert classes & {"cell-better", "cell-worse"}, classes  # some localities differ from BSol
    for kind, text in cells:  # never colour alone: a better/worse cell carries its mark and its value
        if kind in ("cell-better", "cell-worse"):
            assert text[:1] in "▲▼" and any(ch.isdigit() for ch in text), text
    screenshot("locality-overview")
    # on demand: every neighbourhood by measures, in a keyboard-scrollable region within the page
    assert not dash_duo.find_elements("#neighbourhood-rug")
    dash_duo.driver.execute_script("arguments[0].click()", dash_duo.find_element("#all-neighbourhoods-button"))
    _wait_loaded(dash_duo, "#neighbourhood-rug table.grid")
    hood_heads = [th.text for th in dash_duo.find_elements("#neighbourhood-rug thead th")][3:]
    hood_rows = dash_duo.find_elements("#neighbourhood-rug tbody tr")
    assert len(hood_heads) > 6 and len(hood_rows) == len(dash_duo.find_elements("#tartan-rug tbody tr"))
    hood_cells = _cells(dash_duo, "#neighbourhood-rug tbody td.grid-cell")
    assert len(hood_cells) == len(hood_heads) * len(hood_rows)
    kinds = {kind for kind, _ in hood_cells}
    assert kinds & {"cell-better", "cell-worse", "cell-similar"}, kinds
    region = dash_duo.find_element("#neighbourhood-rug .table-scroll")
    assert region.get_attribute("tabindex") == "0" and region.get_attribute("role") == "region"
    region.send_keys(Keys.ARROW_RIGHT)  # focusable: the wide rug scrolls with the keyboard
    assert dash_duo.driver.switch_to.active_element == region
    _full_screenshot(dash_duo, screenshot, "locality-every-neighbourhood")
    _axe(dash_duo, "locality-every-neighbourhood")
    dash_duo.find_element("#locality-content a.locality-link[href$='locality=East']").click()
    _wait_loaded(dash_duo, "#locality-content table.grid")
    assert "locality=East" in dash_duo.driver.current_url
    button = dash_duo.find_element("#pack-button")
    assert button.location["y"] < dash_duo.find_element("#locality-content").location["y"], "pack button not on top"
    folder = Path(dash_duo.download_path)
    before = set(folder.glob("*"))
    button.click()
    # the status region shows a loading state while the pack builds, then says it is ready
    dash_duo.wait_for_contains_text("#pack-status", "Pack ready", timeout=120)
    _until(dash_duo.driver, 60, 0.25).until(
        lambda _d: [p for p in set(folder.glob("*.xlsx")) - before if p.stat().st_size > 0]
        and not list(folder.glob("*.crdownload")))
    (pack,) = set(folder.glob("*.xlsx")) - before
    assert pack.name == "bsol-pack-east.xlsx"
    workbook = openpyxl.load_workbook(pack, read_only=True)
    assert {"Scorecard", "Cover"} <= set(workbook.sheetnames), workbook.sheetnames
    cover = [str(c) for row in workbook["Cover"].iter_rows(max_row=6, values_only=True) for c in row if c]
    workbook.close()
    assert any(t.startswith("BSol outcomes pack: East locality") for t in cover), cover
    assert "Areas covered: East" in cover, cover
    _no_errors(dash_duo)


def test_summary_matrix_filters_and_phone_scorecard_shows_values(dash_duo: Any, dash_app: Any,
                                                                 screenshot: Callable[[str], Path]) -> None:
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/?locality=East")
    _wait_loaded(dash_duo, "#mdc-summary table.mdc-matrix")
    # the matrix comes first, and its numbers add up to the 21 measures, one row each below
    top = dash_duo.find_element("#mdc-summary").location["y"]
    assert top < dash_duo.find_element("#home-content table.scorecard").location["y"]
    links = dash_duo.find_elements("#mdc-summary a.mdc-filter")
    counts = [int(a.find_element(By.CSS_SELECTOR, ".mdc-n").text) for a in links]
    assert sum(counts) == 21 and len(dash_duo.find_elements("#home-content table.scorecard tbody tr")) == 21
    pick = max(range(len(links)), key=lambda i: counts[i])
    names = links[pick].find_element(By.XPATH, "..").find_elements(By.CSS_SELECTOR, ".mdc-names li")
    wanted = sorted(n.text.split(" ")[0] for n in names)
    links[pick].click()
    _until(dash_duo.driver, 20, 0.2).until(
        lambda d: "status=" in d.current_url and d.find_elements(By.CSS_SELECTOR, ".filter-note"))
    _wait_loaded(dash_duo, "#home-content table.scorecard")
    rows = dash_duo.find_elements("#home-content table.scorecard tbody tr")
    shown = sorted("M" + r.find_element(By.CSS_SELECTOR, ".measure-number").text.split()[-1] for r in rows)
    assert shown == wanted and len(rows) == counts[pick]
    assert f"Showing {counts[pick]} of 21 measures" in dash_duo.find_element(".filter-note").text
    assert "locality=East" in dash_duo.driver.current_url
    screenshot("scorecard-filtered")
    dash_duo.find_element("#clear-status").click()
    _until(dash_duo.driver, 20, 0.2).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#home-content table.scorecard tbody tr")) == 21)
    # phone width: each row still shows its value and its status (icon + words)
    dash_duo.driver.set_window_size(390, 844)
    time.sleep(0.5)
    for row in dash_duo.find_elements("#home-content table.scorecard tbody tr")[:5]:
        value = row.find_element(By.CSS_SELECTOR, "td.col-value .value")
        status = row.find_element(By.CSS_SELECTOR, "td.col-status")
        assert value.is_displayed() and value.text and status.is_displayed() and status.text
        width = dash_duo.driver.execute_script("return document.documentElement.clientWidth")
        assert status.rect["x"] + status.rect["width"] <= width + 1, "status cut off at phone width"
        assert not row.find_element(By.CSS_SELECTOR, "td.col-trend").is_displayed()
    dash_duo.driver.execute_script("document.querySelector('#home-content table.scorecard').scrollIntoView()")
    screenshot("scorecard-phone")
    dash_duo.driver.set_window_size(1280, 900)
    _no_errors(dash_duo)


def test_rolling_12_month_view_where_months_are_suppressed(dash_duo: Any, dash_app: Any,
                                                             screenshot: Callable[[str], Path]) -> None:
    """A small area's monthly chart has [c] gaps: the page offers the rolling 12-month view, whose points
    are rolling years with no SPC rules, and the choice is in the URL."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(dash_duo.server_url + "/measure/m05_ucr_referrals_rate?locality=Solihull&period_type=month")
    _wait_loaded(dash_duo, "#measure-content .stats-row")
    offer = dash_duo.wait_for_element("#rolling-offer", timeout=15)
    assert "period_type=rolling_12m" in offer.get_attribute("href")
    dash_duo.driver.execute_script("arguments[0].click()", offer)
    _until(dash_duo.driver, 15, 0.1).until(lambda d: "period_type=rolling_12m" in d.current_url)
    _wait_loaded(dash_duo, "#measure-content .stats-row")
    _until(dash_duo.driver, 15, 0.1).until(
        lambda d: "12m to" in d.find_element(By.CSS_SELECTOR, ".stats-row .stat-label").text)
    assert dash_duo.find_element(".stats-row .stat-value").text != "[c]"  # a rolling year is shown
    assert "Not assessed on rolling years" in dash_duo.find_element(".stats-row").text
    caption = dash_duo.find_element("#measure-content .chart-caption").text
    assert caption.startswith("Rolling 12-month trend") and "overlap by 11 months" in caption, caption
    assert dash_duo.find_element(PERIOD_TYPE).text.strip().startswith("Rolling 12 months")
    assert not dash_duo.find_elements("#rolling-offer")  # offered on the monthly view only
    screenshot("measure-rolling-12m")
    _no_errors(dash_duo)
    _axe(dash_duo, "measure-rolling")
