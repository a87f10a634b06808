"""One self-contained HTML page with a close's economics: tables and charts, readable without a network.

Charts are drawn with matplotlib (the optional ``[report]`` extra: ``pip install 'compplan[report]'``) into
PNG images embedded as ``data:`` URLs, so the file can be mailed or archived as it is. The numbers come from
:func:`compplan.economics.economics`, the same exact figures as the close.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from compplan.economics import economics
from compplan.engine import CloseResult
from compplan.errors import InputError


def _charts_module() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("the HTML report draws its charts with matplotlib: pip install 'compplan[report]'") from None
    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    fig.clf()
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_report(result: CloseResult, network: str | None = None) -> str:
    """The HTML page (a string) for one close; ``network`` says where the members came from (files, synthetic)."""
    plt = _charts_module()
    e = economics(result)
    cur = html.escape(e["currency"])
    charts = []
    fig = plt.figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    names = list(e["bonuses"])
    ax.barh(names[::-1], [float(e["bonuses"][n]["paid"]) for n in names[::-1]], color="#3b6ea5")
    ax.set_xlabel(f"paid ({e['currency']})")
    ax.set_title("Payout by bonus")
    charts.append(("Payout by bonus", _png(fig)))
    ranks = e["income_disclosure"]
    fig = plt.figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    ax.bar([r["rank"] for r in ranks], [r["members"] for r in ranks], color="#5a9e6f")
    ax.set_yscale("symlog")
    ax.set_ylabel("members")
    ax.set_title("Members by paid-as rank")
    charts.append(("Members by paid-as rank", _png(fig)))
    earnings = np.sort(result.values["total"])
    if earnings.sum() > 0:
        positive = np.clip(earnings, 0, None)
        share = np.cumsum(positive) / positive.sum()  # Lorenz curve (a picture, not money)
        fig = plt.figure(figsize=(5, 4))
        ax = fig.add_subplot()
        x = np.linspace(0, 1, len(share))
        ax.plot(x, share, color="#a5543b", label="earnings")
        ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", label="equal")
        ax.set_xlabel("share of members (lowest earnings first)")
        ax.set_ylabel("share of payout")
        ax.set_title("How payout is spread (Lorenz curve)")
        ax.legend()
        charts.append(("How payout is spread", _png(fig)))
    plt.close("all")
    summary = [
        ("Plan", f"{e['plan']}"),
        ("Period", e["period"]),
        *([("Network", network)] if network else []),
        ("Members", f"{e['members']:,}"),
        ("Members earning", f"{e['earning_members']:,}"),
        ("Total CV", f"{e['total_cv']} {cur}"),
        ("Total payout", f"{e['total_payout']} {cur}"),
        ("Payout ratio", f"{e['payout_ratio']}"),
        ("Theoretical maximum (share of CV)", e["theoretical_maximum_share"]),
        ("Breakage", f"{e['breakage']} {cur}"),
        (
            "Share of payout to the top 1% / 10% of earners",
            f"{e['share_of_payout_top_1pct']} / {e['share_of_payout_top_10pct']}",
        ),
    ]
    bonus_rows = [{"bonus": k, **v} for k, v in e["bonuses"].items()]
    pct = [{"percentile": k, "earnings": v} for k, v in e["earnings_percentiles"].items()]
    images = "".join(
        f'<figure><img alt="{html.escape(t)}" src="{src}"><figcaption>{html.escape(t)}</figcaption></figure>'
        for t, src in charts
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(e["plan"])} {html.escape(e["period"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ccc; padding: .3em .6em; }}
td {{ text-align: right; }} th {{ background: #f2f2f2; }} figure {{ display: inline-block; margin: 1em; }}
</style></head>
<body>
<h1>{html.escape(e["plan"])}: period {html.escape(e["period"])}</h1>
<table>{"".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary)}</table>
<h2>Charts</h2>
{images}
<h2>Payout by bonus</h2>
{_table(bonus_rows, ["bonus", "paid", "payout_ratio"])}
<h2>Income disclosure by paid-as rank</h2>
<p>Earnings this period in {cur}; annualised = x 365 / days in the period. Medians by nearest rank.</p>
{
        _table(
            e["income_disclosure"],
            ["rank", "members", "share_of_members", "median", "mean", "top", "annualised_median", "annualised_mean"],
        )
    }
<h2>Earnings percentiles</h2>
{_table(pct, ["percentile", "earnings"])}
<h2>Segments</h2>
{
        _table(
            e["segments"], ["segment", "members", "share_of_members", "earnings", "share_of_payout", "mean", "median"]
        )
        if e["segments"]
        else "<p>The plan defines no segments.</p>"
    }
<script>
window.addEventListener("load", function () {{
  var ok = Array.prototype.filter.call(document.images, function (i) {{ return i.complete && i.naturalWidth > 0; }});
  document.body.setAttribute("data-charts-shown", String(ok.length));
}});
</script>
</body></html>
"""
