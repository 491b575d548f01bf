"""bench/lib/compare.py's bookkeeping (issue 8), without servers: medians,
the "noisy" flag, ratios, the table and the HTML report. The full script
(bench/compare) needs root, Postfix and Dovecot and minutes of load; it is
run by hand and its figures go to docs/performance.md."""
import importlib.util
import os
import unittest

from harness import REPO

_spec = importlib.util.spec_from_file_location(
    "bench_compare", os.path.join(REPO, "bench", "lib", "compare.py"))
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)


def row(workload, rm_values, peer_values, unit="msgs/s", note=None):
    r = {"workload": workload, "title": compare.WORKLOADS[workload][0], "peer": "peer",
         "unit": unit, "errors": {"ringmail": 0, "peer": 0},
         "ringmail_runs": [{"value": v, "report": f"runs/{workload}-ringmail-{i}.html"}
                           for i, v in enumerate(rm_values, 1)],
         "peer_runs": [{"value": v, "report": f"runs/{workload}-peer-{i}.html"}
                       for i, v in enumerate(peer_values, 1)]}
    if note:
        r["ringmail_note"] = note
    r["ringmail"] = compare.summarize(rm_values)
    r["peer_summary"] = compare.summarize(peer_values)
    return r


class CompareBookkeeping(unittest.TestCase):
    def test_summarize_median_and_spread(self):
        s = compare.summarize([100.0, 300.0, 200.0])
        self.assertEqual(s["median"], 200.0)
        self.assertAlmostEqual(s["spread"], 1.0)
        self.assertIsNone(compare.summarize([]))

    def test_table_ratio_and_noisy_flag(self):
        quiet = row("smtp", [1000, 1010, 990], [100, 101, 99])
        noisy = row("imap", [1000, 2000, 1500], [500, 500, 500], unit="ops/s")
        self.assertAlmostEqual(compare.ratio(quiet), 10.0)
        text = compare.table([quiet, noisy])
        self.assertEqual(len(text.splitlines()), 3)
        self.assertIn("10.00x", text)
        self.assertIn("noisy: spread 67%", text)
        self.assertNotIn("noisy", text.splitlines()[1])

    def test_missing_ringmail_listener_is_a_note_not_a_number(self):
        r = row("lmtp", [], [400, 410, 405], note="ringmail: no LMTP listener")
        self.assertIsNone(compare.ratio(r))
        line = compare.table([r]).splitlines()[1]
        self.assertIn("ringmail: no LMTP listener", line)
        self.assertIn("n/a", line)

    def test_html_has_table_svg_points_and_run_links(self):
        rows = [row("pop3", [15000, 16000, 15500], [5000, 5100, 5200], unit="RETR/s"),
                row("lmtp", [], [400], note="ringmail: no LMTP listener")]
        html = compare.html(rows, {"when": "now", "machine": "2 cores", "command": "x <y>"})
        self.assertIn("<svg", html)
        self.assertEqual(html.count("<circle"), 7)  # one dot per run
        self.assertIn("runs/pop3-peer-3.html", html)
        self.assertIn("x &lt;y&gt;", html)
        self.assertIn("ringmail: no LMTP listener", html)

    def test_large_rows_are_latencies_with_decimals(self):
        r = {"workload": "large-100000", "title": "100,000 msgs: warm SELECT (ms, lower is better)",
             "peer": "Dovecot", "unit": "ms", "errors": {"ringmail": 0, "peer": 0},
             "ringmail_runs": [{"value": v, "report": ""} for v in (2.0, 2.5, 3.0)],
             "peer_runs": [{"value": v, "report": ""} for v in (7.0, 8.0, 9.0)]}
        r["ringmail"] = compare.summarize([2.0, 2.5, 3.0])
        r["peer_summary"] = compare.summarize([7.0, 8.0, 9.0])
        line = compare.table([r]).splitlines()[1]
        self.assertIn("2.5 ms", line)
        self.assertIn("8.0 ms", line)
        self.assertIn("0.31x", line)
        html = compare.html([r], {"when": "now", "machine": "2 cores", "command": "x"})
        self.assertNotIn('href=""', html)  # no report pages for these rows
        self.assertIn("large", compare.__doc__)

    def test_idle_metric_is_pss_growth_per_session(self):
        r = {"ops": {"open": {"count": 100}}, "server": {"peak_sessions": 100},
             "tree_pss_kb": {"before": 1000, "peak": 1500}, "elapsed_s": 5}
        value, unit = compare.metric("idle", r)
        self.assertEqual(unit, "B/session")
        self.assertAlmostEqual(value, 500 * 1024 / 100)


if __name__ == "__main__":
    unittest.main()
