"""The pages for people as HTTP sees them: who gets the page and who the JSON, the
Content-Security-Policy, the files they load, and a wheel that carries them.
(In a real browser: tests/test_browser.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "bolservice" / "web" / "static"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_the_page_under_a_strict_policy(client):
    answer = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/workflow.js">' in answer.text
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert "Accept" in answer.headers["vary"]


@pytest.mark.parametrize("how", [{"headers": {"Accept": "application/json"}},
                                 {"params": {"format": "json"}, "headers": {"Accept": BROWSER_ACCEPT}},
                                 {"headers": {"Accept": "*/*"}}])
def test_scripts_get_the_old_json_at_the_root(client, how):
    """curl's */*, an explicit JSON Accept, or ?format=json: the replaced service's answer."""
    answer = client.get("/", **how)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ready" and body["message"]
    assert body["endpoints"]["upload_pdf"] == "POST /upload?_sid=ID"


def test_the_support_page_and_the_files_the_pages_load(client):
    page = client.get("/support", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200 and "content-security-policy" in page.headers
    loaded = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text + client.get(
        "/", headers={"Accept": BROWSER_ACCEPT}).text)
    assert {"/static/support.js", "/static/workflow.js", "/static/style.css"} <= set(loaded)
    for path in set(loaded):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/workflow.js").headers["content-type"].startswith("text/javascript")
    # The modules' own imports resolve too.
    for module in ("workflow.js", "support.js"):
        for imported in re.findall(r'from "\./([^"]+)"', (STATIC / module).read_text()):
            assert client.get(f"/static/{imported}").status_code == 200


def test_files_outside_the_pages_folder_are_not_served(client):
    for path in ("/static/../pages.py", "/static/%2e%2e/pages.py", "/static/nope.js"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "error" in answer.json()


def test_no_inline_script_or_style_in_the_pages():
    """The policy forbids them; a page that used them would break in the browser."""
    for page in STATIC.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), page.name
        assert "<style" not in text and not re.search(r"\sstyle=", text), page.name
        assert not re.search(r"\son[a-z]+=", text), page.name  # onclick= and the like
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        assert "innerHTML" not in text and "eval(" not in text, script.name
        assert "http://" not in text and "https://" not in text, script.name  # nothing from elsewhere


def test_the_wheel_carries_the_pages(tmp_path):
    """`pip install .` (the Dockerfile's install) must serve the pages too."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "bolservice", source / "bolservice",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)], check=True)
    (wheel,) = (tmp_path / "dist").glob("bolservice-*.whl")
    carried = set(zipfile.ZipFile(wheel).namelist())
    for page in STATIC.iterdir():
        assert f"bolservice/web/static/{page.name}" in carried
