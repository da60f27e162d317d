"""Load every page of the built docs site in headless Chromium and fail on what a reader would
see broken: a console error (a failed script, a missing asset), a page with no text, a link to a
page or an anchor that does not exist, a code block cut off at a 1280 px wide window.

``make docs-check`` runs it after ``make docs``; ``tests/test_docs_site.py`` runs it when a
Chromium is installed. Only loopback is used: the site is served by ``http.server`` on
127.0.0.1 and driven over the DevTools protocol (links to other sites are not followed).

    python docs/browser_check.py site [--screenshot site-check/index.png]

Exit status 0 when every page passes, 1 otherwise (each problem printed), 2 without Chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from base64 import b64decode
from pathlib import Path
from typing import Any

import aiohttp

WIDTH, HEIGHT = 1280, 900
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Run in the page once it has loaded: its text, its links, and its cut-off code blocks.
_PROBE = """(() => {
  const main = document.querySelector('article') || document.body;
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const longest = c => c.innerText.split('\\n')
    .reduce((a, b) => a.length >= b.length ? a : b, '');
  const blocks = [...main.querySelectorAll('pre > code')];
  const cut = blocks.filter(c => c.scrollWidth > c.clientWidth + 1).map(longest);
  // A line that wraps (the column is narrower than the line): more rendered lines than lines.
  const wrapped = blocks.filter(c => {
    const lh = parseFloat(getComputedStyle(c).lineHeight);
    const lines = c.innerText.replace(/\\n$/, '').split('\\n').length;
    const pad = 2 * parseFloat(getComputedStyle(c).paddingTop);
    return lh > 0 && c.getBoundingClientRect().height > (lines + 0.5) * lh + pad;
  }).map(longest);
  return JSON.stringify({text: main.innerText.trim().length, links, ids, cut, wrapped,
                         title: document.title});
})()"""


def find_browser() -> str | None:
    """The Chromium to use: $CHROMIUM, else the first on PATH."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env
    return next((p for b in BROWSERS if (p := shutil.which(b))), None)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


class Tab:
    """One DevTools session on a page target."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self.waiting:
                self.waiting.pop(data["id"]).set_result(data)
            else:
                self.events.append(data)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = fut
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        reply: dict[str, Any] = await asyncio.wait_for(fut, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def load(self, url: str) -> None:
        self.events.clear()
        await self.call("Page.navigate", url=url)
        for _ in range(600):  # until the load event (and a moment for late scripts)
            if any(e.get("method") == "Page.loadEventFired" for e in self.events):
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"{url}: no load event")
        await asyncio.sleep(0.3)

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text", "exception"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
        return out


async def _launch(browser: str, profile: str) -> tuple[subprocess.Popen[bytes], str]:
    args = [
        browser,
        "--headless=new",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, proc.stderr.readline)).decode()
        if not line:
            raise RuntimeError(f"{browser} exited before its DevTools endpoint was up")
        if m := re.search(r"DevTools listening on (ws://\S+)", line):
            # Drain the rest of its stderr so it never blocks on a full pipe.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, m.group(1)


def _external_unreachable(err: str, base: str) -> bool:
    """A resource of another site that could not be fetched (this check runs offline)."""
    offline = r"net::ERR_(NAME_NOT_RESOLVED|INTERNET_DISCONNECTED|CONNECTION_REFUSED)\s+(\S+)"
    m = re.search(offline, err)
    return m is not None and not m.group(2).startswith(base)


def _pages(site: Path) -> list[str]:
    out = []
    for f in sorted(site.rglob("*.html")):
        rel = f.relative_to(site).as_posix()
        if rel == "404.html":
            continue
        out.append(rel.removesuffix("index.html"))
    return out


async def check(site: Path, browser: str, shot: Path | None) -> tuple[list[str], dict[str, int]]:
    httpd, base = serve(site)
    profile = tempfile.mkdtemp(prefix="krakenwire-docs-check-")
    proc, ws_url = await _launch(browser, profile)
    problems: list[str] = []
    stats = {"pages": 0, "links": 0, "anchors": 0, "wrapped": 0, "external": 0}
    try:
        port = urllib.parse.urlsplit(ws_url).port
        async with aiohttp.ClientSession() as http:
            async with http.put(f"http://127.0.0.1:{port}/json/new?about:blank") as r:
                target = await r.json(content_type=None)
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tab = Tab(ws)
                for domain in ("Page", "Runtime", "Log"):
                    await tab.call(f"{domain}.enable")
                await tab.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=WIDTH,
                    height=HEIGHT,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                ids: dict[str, set[str]] = {}
                links: dict[str, list[str]] = {}
                for page in _pages(site):
                    url = base + page
                    await tab.load(url)
                    res = await tab.call("Runtime.evaluate", expression=_PROBE, returnByValue=True)
                    info = json.loads(res["result"]["value"])
                    stats["pages"] += 1
                    for err in tab.errors():
                        if _external_unreachable(err, base):
                            stats["external"] += 1  # another site, and no network here
                            continue
                        problems.append(f"/{page}: console error: {err}")
                    if info["text"] < 40:
                        problems.append(f"/{page}: empty page ({info['text']} characters)")
                    for line in info["cut"]:
                        problems.append(
                            f"/{page}: code block cut at {WIDTH} px: {line.strip()[:60]!r}"
                        )
                    stats["wrapped"] += len(info["wrapped"])
                    if page == "":  # the home page's blocks are read first: no line wraps
                        for line in info["wrapped"]:
                            problems.append(
                                f"/: code line wraps at {WIDTH} px: {line.strip()[:60]!r}"
                            )
                    ids[page] = set(info["ids"])
                    links[page] = info["links"]
                    if shot is not None and page == "":
                        png = await tab.call("Page.captureScreenshot", format="png")
                        shot.parent.mkdir(parents=True, exist_ok=True)
                        shot.write_bytes(b64decode(png["data"]))
                tab.reader.cancel()
        for page, hrefs in links.items():
            for href in hrefs:
                if not href.startswith(base):
                    continue  # another site: not followed (no network)
                path, _, frag = href[len(base) :].partition("#")
                path = path.split("?")[0]
                target_page = path if path.endswith("/") or path == "" else path
                file = site / urllib.parse.unquote(target_page)
                if file.is_dir():
                    file = file / "index.html"
                stats["links"] += 1
                if not file.is_file():
                    problems.append(f"/{page}: broken link to /{path}")
                    continue
                if frag and target_page in ids:
                    stats["anchors"] += 1
                    if urllib.parse.unquote(frag) not in ids[target_page]:
                        problems.append(f"/{page}: link to a missing anchor /{path}#{frag}")
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    return problems, stats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("site", type=Path, help="the built site (make docs)")
    p.add_argument("--screenshot", type=Path, help="save the home page at 1280 px as a PNG")
    a = p.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("docs-check: no Chromium (apt-get install chromium, or $CHROMIUM)", file=sys.stderr)
        return 2
    if not (a.site / "index.html").is_file():
        print(f"docs-check: no built site in {a.site} (make docs)", file=sys.stderr)
        return 2
    problems, stats = asyncio.run(check(a.site, browser, a.screenshot))
    for line in problems:
        print(f"FAIL {line}")
    print(
        f"docs-check: {stats['pages']} pages loaded in {Path(browser).name} at {WIDTH} px, "
        f"{stats['links']} internal links and {stats['anchors']} anchors followed, "
        f"{stats['wrapped']} code blocks with a wrapped line (none on the home page), "
        f"{stats['external']} requests to other sites not checked (offline): "
        f"{len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
