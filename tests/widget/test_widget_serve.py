"""The widget's static server (widget/serve.py): only its own files, safe headers."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.widget.conftest import Site, free_port
from widget.serve import WIDGET_DIR, resolve


@pytest.mark.parametrize(
    "url, expected",
    [
        ("/", WIDGET_DIR / "demo" / "index.html"),
        ("/thread.html?x=1", WIDGET_DIR / "demo" / "thread.html"),
        ("/widget/chat-widget.js", WIDGET_DIR / "src" / "chat-widget.js"),
        (
            "/widget/vendor/socket.io.esm.min.js",
            WIDGET_DIR
            / "node_modules"
            / "socket.io-client"
            / "dist"
            / "socket.io.esm.min.js",
        ),
        (
            "/widget/../serve.py",
            WIDGET_DIR / "demo" / "serve.py",
        ),  # normalised, stays in demo/
        ("/../../etc/passwd", None),
        ("/widget/vendor/package.json", None),
        ("/.git/config", None),
        ("/widget/node_modules/x.js", None),
        ("/widget/i18n/en.json", WIDGET_DIR / "src" / "i18n" / "en.json"),
        ("/widget/i18n/pt-BR.json", WIDGET_DIR / "src" / "i18n" / "pt-BR.json"),
        ("/widget/i18n/en.js", None),
        ("/widget/i18n/../../serve.py", WIDGET_DIR / "demo" / "serve.py"),
    ],
)
def test_resolve_stays_inside_the_widget(url: str, expected: object) -> None:
    assert resolve(url) == expected


@pytest.fixture(scope="module")
def static_site() -> Iterator[Site]:
    site = Site(free_port(), "http://localhost:5999").start()
    yield site
    site.stop()


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_demo_page_points_at_the_bot_and_has_a_strict_csp(static_site: Site) -> None:
    status, headers, body = get(static_site.url)
    assert status == 200
    assert b'data-server-url="http://localhost:5999"' in body
    assert b"__RASA_URL__" not in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "connect-src 'self' http://localhost:5999 ws://localhost:5999" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_widget_files_are_served_for_other_sites(static_site: Site) -> None:
    status, headers, body = get(static_site.url + "widget/chat-widget.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert b"innerHTML =" not in body


def test_unknown_paths_are_404(static_site: Site) -> None:
    assert get(static_site.url + "widget/../../bot/credentials.yml")[0] == 404
    assert get(static_site.url + "nothing-here.html")[0] == 404


def test_labels_are_served_for_other_sites(static_site: Site) -> None:
    status, headers, body = get(static_site.url + "widget/i18n/en.json")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(body)["deleteConversation"]


def test_the_widget_has_no_words_of_its_own() -> None:
    """Labels live in widget/src/i18n/en.json only; greeting and disclaimer come from
    the server (the domain). Every label the script uses exists in the file, and no
    label is written in the script as well."""
    script = (WIDGET_DIR / "src" / "chat-widget.js").read_text(encoding="utf-8")
    labels = json.loads((WIDGET_DIR / "src" / "i18n" / "en.json").read_text())
    used = set(re.findall(r"\bL\.([A-Za-z]+)", script))
    assert used, "the script reads no labels"
    assert sorted(used - set(labels)) == []  # every label it shows is in the file
    assert sorted(set(labels) - used) == []  # and the file has no unused ones
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.S)  # comments may
    for key, text in labels.items():
        for literal in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
            assert literal not in code, f"{key!r} is also written in chat-widget.js"
    for attribute in ("data-greeting", "data-disclaimer", '"greeting"', '"disclaimer"'):
        assert attribute not in code
