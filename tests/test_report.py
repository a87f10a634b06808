"""The HTML report renders in a real browser, with its charts, and needs no network."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "plans" / "examples" / "hybrid_leadership"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytest.importorskip("matplotlib")


def make_report(tmp_path: Path) -> Path:
    out = tmp_path / "report.html"
    args = [
        sys.executable,
        "-m",
        "compplan",
        "report",
        "--plan",
        str(ROOT / "plans" / "hybrid_leadership.yaml"),
        "--members",
        str(EX / "members.csv"),
        "--orders",
        str(EX / "orders_2026-10.csv"),
        "--state",
        str(EX / "state_2026-09.csv"),
        "--events",
        str(EX / "events_2026-10.csv"),
        "--out",
        str(out),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return out


def test_report_is_self_contained_and_holds_the_figures(tmp_path: Path) -> None:
    page = make_report(tmp_path).read_text()
    assert "<td>1341.00 USD</td>" in page and "Income disclosure by paid-as rank" in page
    assert f"<tr><th>Network</th><td>{EX / 'members.csv'}, {EX / 'orders_2026-10.csv'}</td></tr>" in page
    assert page.count('src="data:image/png;base64,') == 3
    # nothing to fetch: no http(s) URLs, no external scripts or styles
    assert not re.search(r"(src|href)=\"https?:", page)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_report_renders_with_charts_in_headless_chromium(tmp_path: Path) -> None:
    page = make_report(tmp_path)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [CHROMIUM, *flags, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 'data-charts-shown="3"' in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, *flags, "--window-size=1000,1600", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # a rendered page, not a blank one


def test_a_synthetic_network_says_so_on_the_page(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    args = ["report", "--plan", str(ROOT / "plans" / "wellness_unilevel.yaml"), "--synthetic", "300", "--seed", "4"]
    proc = subprocess.run([sys.executable, "-m", "compplan", *args, "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "<tr><th>Network</th><td>a synthetic network of 300 members (seed 4)</td></tr>" in out.read_text()
