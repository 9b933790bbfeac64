"""The pages for people in a real headless Chromium against a real `bolservice serve`.

`make test-browser` installs Chromium (Debian's package) and Playwright, then runs these;
`make test` skips them when either is missing. With BOLSERVICE_SCREENSHOTS set to a folder
(`make screenshots`: docs/screenshots), the tests save pictures of both pages there.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from tests.server import DEBUG_TOKEN, Server

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: `make test-browser` installs it")
CHROMIUM = os.environ.get("BOLSERVICE_CHROMIUM") or next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
if CHROMIUM is None:
    pytest.skip("no Chromium on this machine: `make test-browser` installs it", allow_module_level=True)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCREENSHOTS = os.environ.get("BOLSERVICE_SCREENSHOTS")
# Chromium as root in a container, and without the calls home this machine's network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("pages") / "workspaces", workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Tab:
    """A browser tab on the service, and every console error and policy violation it saw."""

    def __init__(self, page, site: Server) -> None:
        self.page, self.site = page, site
        self.problems: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.problems.append(message.text))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("request", lambda request: self.urls.append(request.url))

    def open(self, path: str) -> None:
        self.page.goto(self.site.url + path)
        # The page's script loaded as a module and ran: it wires the file inputs.
        self.page.wait_for_load_state("networkidle")

    def sid(self) -> str:
        return self.page.evaluate("sessionStorage.getItem('bolservice.sid')")

    def choose(self, selector: str, path: Path) -> None:
        self.page.set_input_files(selector, str(path))

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def picture(self, name: str) -> None:
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)

    def unexpected(self, *allowed: str) -> list[str]:
        """Console errors and policy violations, but for the failed answers ``allowed``
        (Chromium logs each 4xx a script receives as a console error)."""
        return [text for text in self.problems if not any(f"status of {code}" in text for code in allowed)]


@pytest.fixture
def tab(browser, site) -> Iterator[Tab]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    yield Tab(context.new_page(), site)
    context.close()


def run_workflow(tab: Tab) -> None:
    tab.open("/")
    tab.choose("#pdf-file", EXAMPLES / "sample.pdf")
    tab.page.wait_for_selector("#pdf-report:not([hidden])")
    tab.choose("#sheet-file", EXAMPLES / "sample.csv")
    tab.page.wait_for_selector("#sheet-report:not([hidden])")
    tab.page.wait_for_selector("#download:not([hidden])")


def test_the_whole_workflow_in_the_page_gives_the_exact_csv(tab, site):
    run_workflow(tab)
    assert [tab.text(f"#pdf-{n}") for n in ("pages", "invoices", "rows")] == ["3", "2", "6"]
    assert tab.text("#pdf-state").startswith("sample.pdf: read 6 row(s) of 2 invoice(s) from 3 page(s)")
    assert [tab.text(f"#sheet-{n}") for n in ("rows", "matched", "pdf-unmatched", "file-unmatched")] \
        == ["6", "6", "0", "0"]
    # The preview: every row, the invoices as groups, Pallet and the cubes shown.
    headers = tab.page.locator("#preview thead th").all_inner_texts()
    assert {"Invoice No.", "Pallet", "BOL Cube", "Final Cube", "Burlington Cube"} <= set(headers)
    assert tab.page.locator("#preview tbody tr").count() == 6
    assert tab.page.locator("#preview tbody tr.group-start").count() == 2
    pallets = tab.page.locator(f"#preview tbody td:nth-child({headers.index('Pallet') + 1})").all_inner_texts()
    expected = [line.split(",")[19] for line in (EXAMPLES / "sample_bol.csv").read_text().splitlines()[1:]]
    assert pallets == expected
    with tab.page.expect_download() as download:
        tab.page.click("#download")
    saved = Path(download.value.path()).read_bytes()
    assert saved == (EXAMPLES / "sample_bol.csv").read_bytes()
    assert download.value.suggested_filename == "BOL_processed.csv"
    with tab.page.expect_download() as workbook:
        tab.page.click("#download-xlsx")
    assert workbook.value.suggested_filename == "BOL_processed.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(Path(workbook.value.path()).read_bytes())).active
    rows = [["" if cell.value is None else cell.value for cell in row] for row in sheet.iter_rows(max_col=28)]
    assert rows[0][12] == "Purchase Order No." and rows[1][12] == "88-7731" and rows[1][13] == 40
    assert len(rows) == 7
    tab.picture("workflow.png")
    assert tab.unexpected() == []


def test_a_reload_keeps_the_work_and_another_tab_has_its_own(tab, browser, site):
    run_workflow(tab)
    sid = tab.sid()
    tab.page.reload()
    tab.page.wait_for_selector("#download:not([hidden])")
    assert tab.sid() == sid
    assert tab.text("#pdf-rows") == "6" and tab.text("#sheet-matched") == "6"
    assert tab.page.locator("#preview tbody tr").count() == 6
    other = Tab(tab.page.context.new_page(), site)
    other.open("/")
    assert other.sid() not in (None, sid) and len(other.sid()) >= 32
    assert other.page.is_hidden("#pdf-report") and other.page.is_hidden("#download")
    assert tab.unexpected() == [] and other.unexpected() == []


def test_a_file_that_is_not_a_pdf_shows_its_error_and_changes_nothing(tab, site, tmp_path):
    fake = tmp_path / "orders.pdf"
    fake.write_text("Invoice,Style\nA1,S1\n")
    tab.open("/")
    tab.choose("#pdf-file", fake)
    tab.page.wait_for_selector("#error:not([hidden])")
    shown = tab.text("#error")
    assert "PDF" in shown and "Choose a file of the kind this step takes" in shown
    assert tab.page.is_hidden("#pdf-report") and tab.page.is_disabled("#sheet-file")
    with site.client() as http:
        assert http.get("/status", params={"_sid": tab.sid()}).json()["exists"] is False
    assert tab.unexpected("415") == []


def test_start_over_empties_the_workspace(tab, site):
    run_workflow(tab)
    with site.client() as http:
        assert http.get("/status", params={"_sid": tab.sid()}).json()["stage"] == "merged"
        tab.page.click("#start-over")
        tab.page.wait_for_selector("#download", state="hidden")
        assert tab.page.is_hidden("#download-xlsx")
        assert http.get("/status", params={"_sid": tab.sid()}).json()["exists"] is False
    assert tab.page.is_hidden("#pdf-report") and tab.page.is_hidden("#preview-box")
    assert "Started over" in tab.text("#result-state")
    assert tab.unexpected() == []


def test_the_support_view_lists_the_workspace_after_the_token_and_refuses_a_wrong_one(tab, site):
    run_workflow(tab)
    sid = tab.sid()
    support = Tab(tab.page.context.new_page(), site)
    support.open("/support")
    support.page.fill("#token", "not-the-token")
    support.page.click("text=Show the workspaces")
    support.page.wait_for_selector("#error:not([hidden])")
    assert "token was refused" in support.text("#error")
    assert support.page.is_hidden("#listing")

    support.page.fill("#token", DEBUG_TOKEN)
    support.page.press("#token", "Enter")  # by keyboard
    support.page.wait_for_selector(f"#workspaces button:text-is('{sid}')")
    support.page.fill("#prefix", sid[:12])
    playwright_api.expect(support.page.locator("#workspaces tbody tr")).to_have_count(1)
    cells = support.page.locator("#workspaces tbody tr td").all_inner_texts()
    assert cells[0] == sid and cells[1] == "merged" and cells[5:8] == ["3", "6", "6"]
    support.page.click(f"#workspaces button:text-is('{sid}')")
    support.page.wait_for_selector("#details:not([hidden])")
    details = support.text("#details")
    assert "Next step" in details and "GET /download-bol" in details
    with site.client() as http:
        files = http.get("/debug-sessions", params={"_sid": sid, "limit": 0},
                         headers={"Authorization": f"Bearer {DEBUG_TOKEN}"}).json()["current_session"]["files"]
    for name, size in files.items():
        assert f"File {name}\n{size:,} bytes" in details
    # The table refreshes on its own, the filter and the selection kept.
    support.page.wait_for_timeout(5000)
    assert support.page.input_value("#prefix") == sid[:12]
    assert support.page.locator("#workspaces tbody tr.selected").count() == 1
    support.picture("support.png")
    assert not any(DEBUG_TOKEN in url for url in support.urls)  # never in a URL
    assert support.unexpected("401") == []


def test_the_pages_fit_a_phone_and_label_every_control(tab, site):
    phone = {"width": 360, "height": 740}
    tab.page.set_viewport_size(phone)
    run_workflow(tab)  # the report, the preview and a workspace's details fit too
    support = Tab(tab.page.context.new_page(), site)
    support.page.set_viewport_size(phone)
    support.open("/support")
    support.page.fill("#token", DEBUG_TOKEN)
    support.page.press("#token", "Enter")
    support.page.click(f"#workspaces button:text-is('{tab.sid()}')")
    support.page.wait_for_selector("#details:not([hidden])")
    for page in (tab, support):
        assert page.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.page.url
    for path in ("/", "/support"):
        tab.open(path)
        unlabelled = tab.page.evaluate("""() => [...document.querySelectorAll('input, button, a')]
            .filter((control) => !(control.labels && control.labels.length)
                && !control.getAttribute('aria-label') && !control.textContent.trim())
            .map((control) => control.id || control.outerHTML)""")
        assert unlabelled == [], path
    # By keyboard: Tab reaches the PDF's file input on the workflow page.
    tab.open("/")
    reached = []
    for _ in range(6):
        tab.page.keyboard.press("Tab")
        reached.append(tab.page.evaluate("document.activeElement.id"))
    assert "pdf-file" in reached
    assert tab.unexpected() == []


def test_the_support_view_pages_by_100_and_keeps_its_scroll_as_it_refreshes(tab, site):
    with site.client() as http:
        for number in range(105):
            assert http.post("/new-session", params={"_sid": f"pages-{number:03d}"}).status_code == 200
    tab.page.set_viewport_size({"width": 1000, "height": 600})
    tab.open("/support")
    tab.page.fill("#token", DEBUG_TOKEN)
    tab.page.click("text=Show the workspaces")
    tab.page.fill("#prefix", "pages-")
    rows = tab.page.locator("#workspaces tbody tr")
    # The other tests' workspaces are listed first, before the filter applies.
    playwright_api.expect(tab.page.locator("#page-state")).to_have_text("1–100 of 105")
    playwright_api.expect(rows).to_have_count(100)
    assert tab.page.is_disabled("#previous") and tab.page.is_enabled("#next")
    tab.page.evaluate("window.scrollTo(0, 900)")
    tab.page.wait_for_timeout(5000)  # a refresh or more
    assert tab.page.evaluate("window.scrollY") == 900
    assert tab.text("#workspaces tbody tr:first-child td:first-child") == "pages-000"
    tab.page.click("#next")
    playwright_api.expect(tab.page.locator("#page-state")).to_have_text("101–105 of 105")
    playwright_api.expect(rows).to_have_count(5)
    assert rows.all_inner_texts()[0].startswith("pages-100")
    assert tab.unexpected() == []


def test_a_dropped_pdf_and_a_partial_spreadsheet_list_the_unmatched_rows(tab, site, tmp_path):
    """Drag and drop, and both sides' unmatched rows, each PDF row with its page."""
    sheet = (EXAMPLES / "sample.csv").read_text().splitlines()
    partial = tmp_path / "orders.csv"
    # RS2002 left out (a PDF row without its order); a row for a style the PDF lacks.
    partial.write_text("\n".join([*sheet[:-1], "B200002,RS9999,3,30,11/03/2026,ROSS,88-7731,11/18/2026,"
                                  "11/25/2026"]) + "\n")
    tab.open("/")
    tab.page.evaluate_handle("""([name, bytes]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "application/pdf"}));
        document.getElementById("pdf-drop").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", ["sample.pdf", list((EXAMPLES / "sample.pdf").read_bytes())])
    tab.page.wait_for_selector("#pdf-report:not([hidden])")
    assert tab.text("#pdf-rows") == "6"
    tab.choose("#sheet-file", partial)
    tab.page.wait_for_selector("#sheet-report:not([hidden])")
    assert [tab.text(f"#sheet-{n}") for n in ("rows", "matched", "pdf-unmatched", "file-unmatched")] \
        == ["6", "5", "1", "1"]
    listed = tab.page.locator("#sheet-warnings li").all_inner_texts()
    assert any(re.match(r"Page \d+: no spreadsheet row for invoice B200002, style RS2002", line) for line in listed)
    assert any("spreadsheet row 7 (invoice B200002, style RS9999" in line for line in listed)
    assert tab.unexpected() == []
