"""The PDF report, built from synthetic run directories (no model is fitted here).

What matters to the reader: the right pages in the right order, a DRAFT banner on every page
exactly when a model check failed, every stated number traceable to summary.json, nothing
drawn on top of anything else, and an earlier report never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
import shutil
import subprocess
import sys
import types

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from bayescap.errors import InputError, OutputError
from bayescap.report import build_report, render_pages
from bayescap.report.builder import SECTIONS, write_pdf
from bayescap.report.formatting import interval_cells, median_range
from bayescap.checks import load_test_row_labels
from bayescap.report.run_files import read_run
from bayescap.report.synthetic_run import write_synthetic_run
from bayescap.report.verify import (
    TICK,
    check_run_report,
    config_sources_of,
    numbers_in,
    page_texts,
    unverified_numbers,
)

DRAWS = 200
PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, seed):
    run = write_synthetic_run(tmp_path_factory.mktemp("runs") / "good", seed=seed, draws=DRAWS)
    files = read_run(run)
    figs, status = render_pages(files)
    pdf = run / "report.pdf"
    write_pdf(figs, pdf, title="test")  # what build_report does; the figures keep the PDF's drawing
    return types.SimpleNamespace(run=run, files=files, figs=figs, status=status, pdf=pdf)


@pytest.fixture(scope="module")
def draft_run(tmp_path_factory, seed):
    # the draft run also leaves out the simulation's overload curve: the report then computes it from the draws
    run = write_synthetic_run(
        tmp_path_factory.mktemp("runs") / "draft",
        seed=seed,
        draws=DRAWS,
        checks_fail=True,
        drop=("p_overload_any_event_day",),
    )
    files = read_run(run)
    figs, status = render_pages(files)
    for fig in figs:
        page_texts(fig)  # draw once; later reads reuse the drawing
    return types.SimpleNamespace(run=run, files=files, figs=figs, status=status)


def _pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def _titles(figs) -> list[str]:
    out = []
    for fig in figs:
        big = [t.get_text() for t in fig.texts if t.get_fontsize() >= 15]
        out.append(big[0])
    return out


def test_pages_follow_the_sections_in_order(good_run):
    titles = _titles(good_run.figs)
    firsts = [t for t in titles if not t.endswith("(continued)")]
    assert firsts == list(SECTIONS)
    # a section may run over onto continuation pages, but the synthetic run fits each on a page or two
    assert len(SECTIONS) <= len(titles) <= len(SECTIONS) + 3
    assert _pdf_pages(good_run.pdf) == len(good_run.figs)


def test_passing_run_has_no_draft_banner(good_run):
    assert good_run.status == {"ok": True, "problems": []}
    for fig in good_run.figs:
        assert not any("DRAFT" in text for _, text in page_texts(fig))
    first = " ".join(text for _, text in page_texts(good_run.figs[0]))
    assert "Model checks passed" in first


def test_failed_checks_make_every_page_a_draft_with_reasons_on_page_one(draft_run):
    assert not draft_run.status["ok"]
    for i, fig in enumerate(draft_run.figs, start=1):
        assert any(text.startswith("DRAFT") for _, text in page_texts(fig)), f"page {i} has no DRAFT banner"
    first = " ".join(text for _, text in page_texts(draft_run.figs[0]))
    assert "DRAFT \u2014 model checks failed:" in first
    for reason in (
        "capacity: 3 divergent transitions",
        "capacity: R-hat 1.020 > 1.01",
        "capacity: effective sample size 310 < 400",
    ):
        assert reason in first


def test_summary_that_claims_ok_but_holds_failing_diagnostics_is_still_a_draft(tmp_path, seed):
    run = write_synthetic_run(tmp_path / "liar", seed=seed, draws=DRAWS, checks_fail=True)
    summary = json.loads((run / "summary.json").read_text())
    summary["checks"]["ok"], summary["checks"]["problems"] = True, []
    (run / "summary.json").write_text(json.dumps(summary))
    from bayescap.report.pages_summary import check_status

    status = check_status(read_run(run))
    assert not status["ok"]
    assert "capacity: R-hat 1.020 > 1.01" in status["problems"]


def test_every_stated_number_comes_from_summary_json(good_run, draft_run):
    for r in (good_run, draft_run):
        assert unverified_numbers(r.figs, r.files.summary, config_sources=config_sources_of(r.run)) == []


def test_the_number_check_catches_a_number_that_is_not_in_summary_json(good_run):
    tampered = json.loads(json.dumps(good_run.files.summary))
    for sc in tampered["scenarios"]:
        sc["metrics"]["runway"]["median"] += 7.77  # the PDF now states a runway summary.json does not hold
    for d in tampered["differences"]:
        d["metrics"]["runway"]["median"] += 7.77
    problems = unverified_numbers(good_run.figs, tampered, config_sources=config_sources_of(good_run.run))
    assert problems
    assert any("page 1" in p for p in problems)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("$3,100\u2013$4,800", [3100, 4800]),
        ("$1.2M and 4.5%", [1.2e6, 4.5]),
        ("\u22120.25 months", [-0.25]),
        ("c6i.2xlarge and r_hat", []),
        ("seed 20261126", [20261126]),
    ],
)
def test_numbers_in_reads_printed_numbers(text, values):
    assert [n.value for n in numbers_in(text)] == pytest.approx(values)


def test_a_narrow_interval_gets_more_figures_and_its_median_the_same():
    runway = {"median": 14.927, "q10": 14.925, "q90": 14.93, "q025": 14.92, "q975": 14.94, "unit": "months"}
    assert interval_cells(runway) == ("14.927", "14.925\u201314.930", "14.920\u201314.940")
    wide = {"median": 14.9, "q10": 14.1, "q90": 15.6, "q025": 13.7, "q975": 16.0, "unit": "months"}
    assert interval_cells(wide) == ("14.9", "14.1\u201315.6", "13.7\u201316")
    assert median_range({"median": 772.4, "q05": 757.6, "q95": 795.1}, "USD/month") == ("$772", "$758\u2013$795")
    assert median_range({"median": 5.0, "q05": 5.0, "q95": 5.0}, "") == ("5", "5\u20135")  # equal ends stay equal


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_text_holds_no_number_that_was_not_drawn_and_checked(good_run, tmp_path):
    """What a reader's PDF viewer extracts is what the number check saw (nothing un-tagged slipped in)."""
    for i, fig in enumerate(good_run.figs, start=1):
        out = tmp_path / f"p{i}.txt"
        subprocess.run([PDFTOTEXT, "-f", str(i), "-l", str(i), "-layout", str(good_run.pdf), str(out)], check=True)
        in_pdf = {n.text.replace("\u2212", "-") for n in numbers_in(out.read_text())}
        drawn = {n.text.replace("\u2212", "-") for _, t in page_texts(fig, draw=False) for n in numbers_in(t)}
        assert in_pdf <= drawn, f"page {i}: numbers in the PDF that were not drawn as text: {sorted(in_pdf - drawn)}"
        if i == 1:
            assert "Scenarios side by side" in out.read_text()


def _boxes(fig):
    from bayescap.report.style import report_style

    with report_style():  # as in the PDF: tick labels are sized by the report's rcParams
        FigureCanvasAgg(fig)
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
        texts = [(t, t.get_window_extent(renderer)) for t in fig.texts if t.get_text().strip()]
        axes = [(ax, ax.get_tightbbox(renderer)) for ax in fig.axes if ax.get_visible() and ax.axison]
    return texts, axes, renderer


def test_nothing_overlaps_and_everything_is_on_the_page(good_run, draft_run):
    # every page of the passing run; the first two pages of the draft (the banner and the longer status text)
    for figs in (good_run.figs, draft_run.figs[:2]):
        for i, fig in enumerate(figs, start=1):
            texts, axes, _ = _boxes(fig)
            w, h = fig.bbox.width, fig.bbox.height
            for t, b in texts:
                assert b.x0 >= 0 and b.x1 <= w and b.y0 >= 0 and b.y1 <= h, f"page {i}: {t.get_text()!r} off the page"
            for j, (t1, b1) in enumerate(texts):
                for t2, b2 in texts[j + 1 :]:
                    if t1.get_zorder() != t2.get_zorder():
                        continue  # the banner text sits on its own red band
                    inter = b1.intersection(b1, b2)
                    assert inter is None or inter.width < 1 or inter.height < 1, (
                        f"page {i}: {t1.get_text()!r} overlaps {t2.get_text()!r}"
                    )
                for _ax, ab in axes:
                    inter = ab.intersection(ab, b1)
                    assert inter is None or inter.width < 1 or inter.height < 1, (
                        f"page {i}: chart overlaps text {t1.get_text()!r}"
                    )
            for j, (_, a1) in enumerate(axes):
                for _, a2 in axes[j + 1 :]:
                    inter = a1.intersection(a1, a2)
                    assert inter is None or inter.width < 1 or inter.height < 1, f"page {i}: two charts overlap"


def test_a_lines_width_is_its_words_plus_its_spaces(good_run):
    """The word wrap measures each word once and adds the spaces (layout.text_width_pt); every multi-word line the
    report draws must measure the same whole, or lines could wrap differently from what they measure."""
    from bayescap.report.layout import measured_width_pt, text_width_pt

    checked = set()
    for fig in good_run.figs:
        for t in fig.texts:
            line = t.get_text().replace(r"\$", "$")  # as the wrap measured it (put_text escapes the dollars)
            if " " not in line.strip():
                continue
            key = (line, float(t.get_fontsize()), str(t.get_fontweight()), t.get_fontfamily()[0])
            if key in checked:
                continue
            checked.add(key)
            assert text_width_pt(*key) == pytest.approx(measured_width_pt(*key), abs=0.01), key
    assert len(checked) > 200 and {k[2] for k in checked} >= {"normal", "bold"}
    for line in ("inputs/loadtest.csv  sha256 9f86d081884c7d65", "a  b", " leading and trailing "):  # the mono font
        key = (line, 7.5, "normal", "DejaVu Sans Mono")
        assert text_width_pt(*key) == pytest.approx(measured_width_pt(*key), abs=0.01), key


def test_every_chart_has_units_on_its_axes(good_run):
    for i, fig in enumerate(good_run.figs, start=1):
        for ax in fig.axes:
            if not ax.axison:
                continue
            labels = (ax.get_xlabel() + " " + ax.get_ylabel()).strip()
            assert labels, f"page {i}: a chart without axis labels"


def test_the_traffic_fan_marks_the_historys_event_days(good_run):
    # the flags live in posteriors.nc's traffic/constant_data (is_event), as the traffic fit writes them
    const = good_run.files.group("traffic", "constant_data")
    fan = next(ax for fig in good_run.figs for ax in fig.axes if ax.get_ylabel() == "visitors per day")
    dots = [line for line in fan.get_lines() if line.get_label() == "event day"]
    assert len(dots) == 1
    shown = pd.DatetimeIndex(dots[0].get_xdata())
    assert len(shown) > 10
    assert bool(const["is_event"].sel(date=shown.values).all())
    first = shown.min()
    window = const["is_event"].sel(date=slice(first, None))
    assert len(shown) == int(window.sum())


def test_the_load_test_check_colours_each_configuration(good_run):
    # the capacity fit names each row's configuration in obs_config (cluster rows: obs_level "cluster")
    obs = good_run.files.group("capacity", "observed_data")
    check = next(ax for fig in good_run.figs for ax in fig.axes if ax.get_xlabel().startswith("measured throughput"))
    labels = {t.get_text() for t in check.get_legend().get_texts()}
    assert labels == {str(c) for c in obs["obs_config"].values}
    marked = obs.assign_coords(obs_level=("obs", ["cluster"] + ["node"] * (obs.sizes["obs"] - 1)))
    assert load_test_row_labels(marked)[0] == f"{obs['obs_config'].values[0]} cluster"


def test_page_one_explains_intervals_in_plain_words(good_run):
    first = " ".join(t for k, t in page_texts(good_run.figs[0]) if k != TICK)
    assert "90% interval" in first and "90% probability" in first
    for jargon in ("posterior", "HDI", "ESS", "r_hat", "quantile"):
        assert jargon not in first, jargon


def test_missing_parts_are_named_not_fatal(tmp_path, seed):
    run = write_synthetic_run(
        tmp_path / "partial",
        seed=seed,
        draws=DRAWS,
        backtest=False,
        scale_cost=False,
        drop=("servers_needed", "runway_months", "traffic/posterior_predictive"),
    )
    (run / "manifest.json").unlink()
    figs, _ = render_pages(read_run(run))
    text = " ".join(t for f in figs for _, t in page_texts(f))
    assert "Not shown: simulation.nc has no servers_needed variable." in text
    assert "Not shown: simulation.nc has no runway_months variable." in text
    assert "no scale-up vs scale-out comparison" in text
    assert "this run has no backtest" in text
    assert "not available (the run saved no replicated traffic)" in text


def test_report_needs_a_summary_of_a_known_schema(tmp_path, seed):
    with pytest.raises(OutputError, match="no summary.json"):
        build_report(tmp_path)
    run = write_synthetic_run(tmp_path / "r", seed=seed, draws=DRAWS)
    summary = json.loads((run / "summary.json").read_text())
    summary["schema_version"] = 99
    (run / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(InputError, match="schema_version"):
        build_report(run)


def test_report_command_never_overwrites(tmp_path, seed, capsys):
    from bayescap.commands import report as report_cmd

    run = write_synthetic_run(tmp_path / "small", seed=seed, draws=60, n_scenarios=1)
    first = run / "report.pdf"  # the report written by the forecast (its content does not matter here)
    first.write_bytes(b"%PDF-1.4 the original report")
    original = hashlib.sha256(first.read_bytes()).hexdigest()
    args = types.SimpleNamespace(run_dir=run, out=None)
    assert report_cmd.run(args) == 0
    assert report_cmd.run(args) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 2 and printed[0] != printed[1]
    for p in printed:
        assert re.fullmatch(r"report-\d{8}-\d{6}(-\d+)?\.pdf", p.rsplit("/", 1)[-1])
        assert _pdf_pages(pathlib.Path(p)) >= len(SECTIONS) - 1
    assert hashlib.sha256(first.read_bytes()).hexdigest() == original
    assert not list(run.glob(".tmp-*")), "a temporary file was left behind"
    with pytest.raises(OutputError, match="already exists"):
        report_cmd.run(types.SimpleNamespace(run_dir=run, out=first))


def test_check_run_report_is_the_one_call_for_the_pipeline(good_run):
    assert check_run_report(good_run.run) == []


def test_reporting_never_imports_pymc():
    code = (
        "import sys, bayescap.report, bayescap.report.verify, bayescap.commands.report, "
        "bayescap.commands.diagnose, bayescap.commands.compare; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'pymc' or m.startswith('bayescap.models')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_style_does_not_leak_into_the_callers_matplotlib(good_run):
    import matplotlib as mpl

    from bayescap.report.style import REPORT_RC, report_style

    before = dict(mpl.rcParams)
    with report_style():
        assert mpl.rcParams["font.size"] == REPORT_RC["font.size"]
    assert dict(mpl.rcParams) == before


def test_no_text_artist_is_untagged_outside_charts(good_run):
    """Every text the layout draws says what it is, so the number check knows how to treat it."""
    for fig in good_run.figs:
        for t in fig.texts:
            assert isinstance(t, Text) and t.get_gid() in {"stated", "config", "structural", "formula"}, t.get_text()


def test_a_peak_that_may_not_exist_reads_no_peak_not_n_a():
    """summary.json stores N*'s missing quantiles as null: draws whose throughput never stops growing (κ = 0)."""
    from bayescap.report.pages_models import _capacity_takeaway, n_star_text

    assert n_star_text({"median": 14.1159, "q05": 11.4882, "q95": None}) == ("14.1", "11.5 to no peak")
    assert n_star_text({"median": None, "q05": 159.665, "q95": None}) == ("no peak", "160 to no peak")
    assert n_star_text({"median": None, "q05": None, "q95": None}) == ("no peak", "no peak")
    assert n_star_text({"median": 18.1472, "q05": 15.3756, "q95": 25.3422}) == ("18.1", "15.4–25.3")
    cap = {
        "app/c6i.2xlarge": {"n_star": {"median": 14.1159, "q05": 11.4882, "q95": None}, "p_kappa_zero": 0.050625,
                            "x_max": {"median": 224.883}},
        "c6i.xlarge": {"n_star": {"median": None, "q05": 159.665, "q95": None}, "p_kappa_zero": 0.9495},
    }
    text = _capacity_takeaway(cap)
    assert "peaks at about 14.1 cores (90% interval 11.5 to no peak: in 5.1% of the draws its throughput never stops growing)" in text
    assert "n/a" not in text


def test_the_cost_chart_shrinks_to_keep_its_text_on_the_page_not_below_its_floor():
    from bayescap.report import layout
    from bayescap.report.layout import Page
    from bayescap.report.pages_fleet import _chart_height

    after = [("takeaway", "Takeaway: monthly infrastructure cost, median (90% interval): baseline: $1,240."),
             ("small", "Per-draw differences, median (90% interval): a vs b: $745.")]
    words = ["baseline: Monthly infrastructure cost is $990-$1,700 (90% interval)."] * 4
    text = (layout.paragraph_height(after[0][1], weight="bold", after_in=0.12)
            + layout.paragraph_height(after[1][1], size=layout.style.FONT_SMALL)
            + layout.heading_height() + 4 * layout.paragraph_height(words[0], bullet=True, after_in=0.03))
    full, least = 0.45 * 4 + 1.2, 0.3 * 4 + 0.9

    def page(room):
        return Page(fig=None, title="t", y=1.0, bottom=1.0 + room)

    assert _chart_height(page(full + text + 1.0), 4, after, words) == full  # room to spare: the full height
    squeezed = _chart_height(page(full + text - 0.5), 4, after, words)
    assert least <= squeezed < full and squeezed == pytest.approx(full - 0.5)  # text and chart fit exactly
    assert _chart_height(page(least + text - 0.1), 4, after, words) == full  # cannot fit anyway: no squeeze


def test_the_appendix_names_the_capacity_fits_target_acceptance_and_its_retry():
    from bayescap.report.pages_method import _target_accept_text

    assert _target_accept_text({"draws": 2000}) == ""  # a run saved before the record had it
    assert _target_accept_text({"target_accept": 0.9}) == ", target acceptance 0.9"
    assert _target_accept_text({"target_accept": 0.98, "divergences_before_retry": 2}) == (
        ", target acceptance 0.98 (sampled again after 2 divergent transitions at a lower target)")
    assert "1 divergent transition at" in _target_accept_text({"target_accept": 0.98, "divergences_before_retry": 1})


def test_a_table_header_never_stands_alone_at_the_foot_of_a_page():
    """A table whose first row does not fit under its header starts on the next page, header and row together
    (a header with no row below it was left at the foot of page 1 when caveats pushed the scenario table down)."""
    from bayescap.report import layout

    doc = layout.Doc(run_label="t", draft=False)
    page = doc.new_page("Title")
    cols = [layout.Column("Quantity", 0.5), layout.Column("value", 0.5, align="right")]
    tall = ["a cell of many words " * 12, "1"]
    header_h = layout.line_height_in(layout.style.FONT_SMALL) + 0.1
    page.y = page.bottom - header_h - 3 * layout.line_height_in(layout.style.FONT_SMALL)  # header + 2 lines fit
    after = layout.table(doc, page, cols, [tall, ["short", "2"]])
    assert len(doc.pages) == 2 and after is doc.pages[1]
    first_texts = {t.get_text() for t in doc.pages[0].fig.texts}
    assert "Quantity" not in first_texts and "Quantity" in {t.get_text() for t in doc.pages[1].fig.texts}


@pytest.mark.parametrize(("low", "high", "most"), [(3e5, 5e8, 7), (2e3, 2e4, 7), (600, 2500, 7)])
def test_ppc_histogram_keeps_its_log_axis_labels_apart(low, high, most):
    """A history with news spikes spans three decades: its 1-2-5 tick labels overlapped (11 labels on a panel half
    a page wide); the axis now falls back to 1-3 per decade or decades. A narrow range still gets at least 3."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import numpy as np

    from bayescap.report import figures

    rng = np.random.default_rng(0)
    observed = np.exp(rng.uniform(np.log(low), np.log(high), 400))
    replicated = np.exp(rng.uniform(np.log(low), np.log(high), (50, 400)))
    fig, ax = plt.subplots(figsize=(3.5, 2.5))
    figures.ppc_histograms(ax, observed, replicated, xlabel="visitors per day (log scale)")
    ticks = ax.get_xticks()
    plt.close(fig)
    assert 3 <= len(ticks) <= most


def test_distribution_charts_leave_out_the_rarest_draws_only_when_they_would_squash_the_rest():
    """On the Peyton Manning report, the heavy upper tail of event-day peaks ran the monthly-cost axis to $93k while 97.5% of
    the draws lay below $5.3k. Here 0.5% of draws at 20-100x the rest: the axis stops at the 99.5% quantile (plus 5%);
    a normal sample keeps its full range; the bars are drawn from all draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from bayescap.report import figures

    rng = np.random.default_rng(1)
    plain = [rng.normal(1_000, 100, 4_000), rng.normal(1_300, 150, 4_000)]
    assert figures.tail_limits(plain) is None
    heavy = [np.concatenate([rng.normal(1_000, 100, 3_980), rng.uniform(20_000, 100_000, 20)]), plain[1]]
    lo, hi = figures.tail_limits(heavy)
    assert 500 < lo < 800 and 1_600 < hi < 2_500  # the 0.5% and 99.5% quantiles of the pair, padded
    fig, ax = plt.subplots()
    figures.distributions(ax, heavy, ["a", "b"], xlabel="$", colours=["C0", "C1"], xlim=(lo, hi))
    assert ax.get_xlim() == pytest.approx((lo, hi))
    bar_ends = [seg[:, 0].max() for lc in ax.collections if hasattr(lc, "get_segments") for seg in lc.get_segments()]
    assert max(bar_ends) == pytest.approx(np.quantile(heavy[1], 0.975))  # bars: quantiles of all the draws
    plt.close(fig)


def _section_of_lines(doc, n_lines: int):
    """A section of ``n_lines`` one-line paragraphs (a stand-in for the executive summary's bullets)."""
    from bayescap.report import layout

    def draw():
        page = doc.new_page("Section")
        for i in range(n_lines):
            page = layout.paragraph(doc, page, f"statement {i}", after_in=0.0)
        return page

    return draw


def _lines_per_page(spacing: float) -> int:
    from bayescap.report import layout

    doc = layout.Doc(run_label="t", draft=False)
    page = doc.new_page("Section")
    return int(page.room() // (layout.style.FONT_BODY * spacing / 72.0))


def test_a_section_that_spills_a_few_lines_is_set_again_tighter_on_fewer_pages():
    """A section whose last page would hold a few lines (the summary's last bullets, a table's last row) is drawn
    again with tighter line spacing when that saves the page; the statements are all still there, once."""
    from bayescap.report import layout

    normal = _lines_per_page(layout.LINE_SPACING)
    tight = _lines_per_page(layout.COMPACT_LINE_SPACING)
    assert tight > normal + 3
    doc = layout.Doc(run_label="t", draft=False)
    doc.section(_section_of_lines(doc, normal + 3))  # 3 lines on a second page at the normal spacing
    assert len(doc.pages) == 1
    texts = [t.get_text() for t in doc.pages[0].fig.texts]
    assert sorted(t for t in texts if t.startswith("statement")) == sorted(f"statement {i}" for i in range(normal + 3))
    assert layout.line_height_in(10) == pytest.approx(10 * layout.LINE_SPACING / 72.0)  # the tight spacing ends with it


def test_a_section_is_left_as_drawn_when_its_last_page_is_full_or_tighter_spacing_saves_nothing():
    from bayescap.report import layout

    normal = _lines_per_page(layout.LINE_SPACING)
    tight = _lines_per_page(layout.COMPACT_LINE_SPACING)
    full = layout.Doc(run_label="t", draft=False)
    full.section(_section_of_lines(full, 2 * normal - 2))  # a second page nearly full: not touched
    assert len(full.pages) == 2
    assert full.pages[1].filled() > layout.SHORT_LAST_PAGE
    spill = layout.Doc(run_label="t", draft=False)
    spill.section(_section_of_lines(spill, tight + 2))  # too long for one page even when tight: the first drawing stays
    assert len(spill.pages) == 2
    assert spill.pages[0].y == pytest.approx(spill.pages[0].content_top + normal * layout.line_height_in(
        layout.style.FONT_BODY), abs=1e-9)


def test_a_note_that_introduces_a_table_moves_with_its_header_and_first_row():
    """The differences table's introduction was left at the foot of a page with its table on the next one."""
    from bayescap.report import layout

    doc = layout.Doc(run_label="t", draft=False)
    page = doc.new_page("Title")
    page.y = page.bottom - 3 * layout.line_height_in(layout.style.FONT_SMALL)  # the note fits, a table would not
    after = layout.note(doc, page, "How to read the table below:", keep_with_in=layout.TABLE_START_IN)
    assert len(doc.pages) == 2 and after is doc.pages[1]
    alone = layout.Doc(run_label="t", draft=False)
    page = alone.new_page("Title")
    page.y = page.bottom - 3 * layout.line_height_in(layout.style.FONT_SMALL)
    layout.note(alone, page, "A note on the chart above.")  # nothing to keep with: it stays
    assert len(alone.pages) == 1
