#include "bench/ringbench/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringmail::ringbench {
namespace {

constexpr double kQuantiles[] = {0.5, 0.9, 0.99, 0.999};
constexpr const char* kQuantileNames[] = {"p50", "p90", "p99", "p99.9"};

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += absl::StrFormat("\\u%04x", ch);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string Html(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '<') out += "&lt;";
    else if (ch == '>') out += "&gt;";
    else if (ch == '&') out += "&amp;";
    else if (ch == '"') out += "&quot;";
    else out += ch;
  }
  return out;
}

// Errors "state:KIND" (--check-state).
uint64_t StateViolations(const RunResult& r) {
  uint64_t n = 0;
  for (const auto& [kind, c] : r.rec.errors()) {
    if (kind.rfind("state:", 0) == 0) n += c;
  }
  return n;
}

// Server CPU per op (µs) when sampled; -1 otherwise.
double CpuPerOp(const RunResult& r) {
  if (!r.server_before || !r.server_after || r.rec.total_ops() == 0) return -1;
  return static_cast<double>(r.server_after->cpu_us - r.server_before->cpu_us) /
         static_cast<double>(r.rec.total_ops());
}

// Idle mode: server PSS growth per open session (bytes); -1 otherwise.
double PssPerSession(const RunResult& r) {
  if (!r.server_before || !r.server_at_peak || r.peak_sessions <= 0) return -1;
  return (static_cast<double>(r.server_at_peak->pss_kb) -
          static_cast<double>(r.server_before->pss_kb)) * 1024.0 / r.peak_sessions;
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                         "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8",
                         "#98df8a", "#ff9896"};
constexpr int kNumColors = sizeof(kColors) / sizeof(kColors[0]);

// The smallest 1, 2 or 5 times a power of ten that is >= v (axis tops).
double NiceCeil(double v) {
  double p = std::pow(10.0, std::floor(std::log10(std::max(v, 1.0))));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

}  // namespace

std::string HumanSummary(const Options& o, const RunResult& r) {
  std::string out = absl::StrFormat(
      "ringbench %s -> %s: %d connections, %d threads, %.1f s, %s\n", o.mode, o.target_text,
      o.connections, o.threads, r.elapsed_s,
      o.rate > 0 ? absl::StrFormat("open loop %.0f ops/s", o.rate) : "closed loop");
  absl::StrAppendFormat(&out, "%-14s %10s %10s %9s %9s %9s %9s %9s\n", "operation", "count",
                        "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  for (const auto& [name, s] : r.rec.ops()) {
    const Histogram& h = s.latency;
    absl::StrAppendFormat(&out, "%-14s %10d %10.1f %9.3f %9.3f %9.3f %9.3f %9.3f\n", name,
                          h.count(), h.count() / std::max(r.elapsed_s, 1e-9),
                          h.Percentile(0.5) / 1e3, h.Percentile(0.9) / 1e3,
                          h.Percentile(0.99) / 1e3, h.Percentile(0.999) / 1e3, h.max() / 1e3);
  }
  absl::StrAppendFormat(&out, "errors: %d", r.rec.total_errors());
  for (const auto& [kind, n] : r.rec.errors()) absl::StrAppendFormat(&out, "  %s=%d", kind, n);
  out += "\n";
  if (o.check_state) absl::StrAppendFormat(&out, "state violations: %d\n", StateViolations(r));
  for (const auto& [kind, v] : r.rec.examples()) {
    for (const std::string& e : v) absl::StrAppend(&out, "  ", kind, ": ", e, "\n");
  }
  if (double c = CpuPerOp(r); c >= 0) {
    absl::StrAppendFormat(&out, "server: %.1f CPU-µs/op, RSS %d KiB, PSS %d KiB (after)\n", c,
                          r.server_after->rss_kb, r.server_after->pss_kb);
  }
  if (double m = PssPerSession(r); m >= 0) {
    absl::StrAppendFormat(&out, "server: %d sessions open, PSS growth %.0f bytes/session\n",
                          r.peak_sessions, m);
  }
  return out;
}

std::string Json(const Options& o, const RunResult& r) {
  std::string out = absl::StrFormat(
      "{\"mode\":%s,\"target\":%s,\"connections\":%d,\"threads\":%d,\"rate\":%g,"
      "\"duration_s\":%g,\"elapsed_s\":%.3f,\"total_ops\":%d,\"total_errors\":%d,\"ops\":{",
      JsonString(o.mode), JsonString(o.target_text), o.connections, o.threads, o.rate,
      o.duration_s, r.elapsed_s, r.rec.total_ops(), r.rec.total_errors());
  bool first = true;
  for (const auto& [name, s] : r.rec.ops()) {
    const Histogram& h = s.latency;
    absl::StrAppendFormat(&out, "%s%s:{\"count\":%d,\"ops_per_s\":%.3f,\"bytes\":%d,"
                          "\"latency_us\":{\"min\":%d,\"mean\":%.1f",
                          first ? "" : ",", JsonString(name), h.count(),
                          h.count() / std::max(r.elapsed_s, 1e-9), s.bytes, h.min(), h.mean());
    for (int i = 0; i < 4; ++i) {
      absl::StrAppendFormat(&out, ",\"%s\":%d", kQuantileNames[i], h.Percentile(kQuantiles[i]));
    }
    absl::StrAppendFormat(&out, ",\"max\":%d},\"per_second\":[", h.max());
    for (size_t i = 0; i < s.per_second.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", s.per_second[i]);
    }
    out += "]}";
    first = false;
  }
  out += "},\"errors\":{";
  first = true;
  for (const auto& [kind, n] : r.rec.errors()) {
    absl::StrAppend(&out, first ? "" : ",", JsonString(kind), ":", n);
    first = false;
  }
  out += "}";
  if (o.check_state) absl::StrAppend(&out, ",\"state_violations\":", StateViolations(r));
  if (!r.rec.examples().empty()) {
    out += ",\"error_examples\":{";
    first = true;
    for (const auto& [kind, v] : r.rec.examples()) {
      absl::StrAppend(&out, first ? "" : ",", JsonString(kind), ":[");
      for (size_t i = 0; i < v.size(); ++i) absl::StrAppend(&out, i ? "," : "", JsonString(v[i]));
      out += "]";
      first = false;
    }
    out += "}";
  }
  if (r.server_after) {
    absl::StrAppendFormat(&out, ",\"server\":{\"cpu_us_per_op\":%.3f,\"rss_kb\":%d,\"pss_kb\":%d",
                          CpuPerOp(r), r.server_after->rss_kb, r.server_after->pss_kb);
    if (r.server_at_peak) {
      absl::StrAppendFormat(&out, ",\"peak_sessions\":%d,\"pss_bytes_per_session\":%.0f",
                            r.peak_sessions, PssPerSession(r));
    }
    out += "}";
  }
  return out + "}\n";
}

// A latency in µs as a short label: "100 µs", "10 ms", "1 s".
static std::string LatencyLabel(int decade) {
  static const char* kLabels[] = {"1 µs", "10 µs", "100 µs", "1 ms",  "10 ms",
                                  "100 ms", "1 s",  "10 s",   "100 s", "1000 s"};
  return decade >= 0 && decade < 10 ? kLabels[decade] : absl::StrCat("1e", decade, " µs");
}

// Completions per second in bucket i of `per_second`: the last bucket is
// usually a fraction of a second (the run ends mid-second), so it is scaled
// by its real length; a tail shorter than kMinTail is not plotted at all, as
// a rate over a few milliseconds says nothing.
constexpr double kMinTail = 0.25;
static size_t PlottedSeconds(const RunResult& r, size_t buckets) {
  double tail = r.elapsed_s - std::floor(r.elapsed_s);
  size_t whole = static_cast<size_t>(std::floor(r.elapsed_s));
  if (buckets > whole && tail < kMinTail) return std::max<size_t>(whole, 1);
  return buckets;
}
static double BucketRate(const RunResult& r, const std::vector<uint64_t>& v, size_t i) {
  double len = 1.0;
  if (static_cast<double>(i) + 1 > r.elapsed_s) {
    len = std::max(kMinTail, r.elapsed_s - static_cast<double>(i));
  }
  return i < v.size() ? static_cast<double>(v[i]) / len : 0.0;
}

std::string Html(const Options& o, const RunResult& r) {
  std::string out = absl::StrCat(
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ringbench ", Html(o.mode),
      "</title><style>body{font-family:sans-serif;margin:2em}"
      "pre{white-space:pre-wrap;word-break:break-all}</style></head><body>");
  absl::StrAppend(&out, "<h1>ringbench ", Html(o.mode), " &rarr; ", Html(o.target_text),
                  "</h1><pre>", Html(HumanSummary(o, r)), "</pre>");
  // Throughput over time: one polyline per operation, a point per second
  // at the bucket's middle.
  const int W = 800, H = 300, L = 70, B = 40, T = 10;
  size_t buckets = 1;
  double peak = 1;
  for (const auto& [name, s] : r.rec.ops()) buckets = std::max(buckets, s.per_second.size());
  const size_t secs = PlottedSeconds(r, buckets);
  for (const auto& [name, s] : r.rec.ops()) {
    for (size_t i = 0; i < secs; ++i) peak = std::max(peak, BucketRate(r, s.per_second, i));
  }
  peak = NiceCeil(peak);
  auto x_of = [&](double sec) { return L + W * sec / static_cast<double>(secs); };
  auto y_of = [&](double v) { return T + H - H * v / peak; };
  absl::StrAppendFormat(&out, "<h2>Throughput (operations per second)</h2>"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">",
                        W + L + 160, T + H + B);
  for (int k = 0; k <= 4; ++k) {  // horizontal grid with rate labels
    double v = peak * k / 4, y = y_of(v);
    absl::StrAppendFormat(&out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>"
                          "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">"
                          "%.0f/s</text>",
                          L, y, L + W, y, k ? "#eee" : "#000", L - 4, y + 4, v);
  }
  size_t step = std::max<size_t>(1, secs / 10);
  for (size_t sec = 0; sec <= secs; sec += step) {  // time axis
    absl::StrAppendFormat(&out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>"
                          "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">"
                          "%d s</text>",
                          x_of(sec), T + H, x_of(sec), T + H + 4, x_of(sec), T + H + 16, sec);
  }
  absl::StrAppendFormat(&out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>",
                        L, T, L, T + H);
  int color = 0;
  for (const auto& [name, s] : r.rec.ops()) {
    std::string pts;
    for (size_t i = 0; i < secs; ++i) {
      absl::StrAppendFormat(&pts, "%.1f,%.1f ", x_of(static_cast<double>(i) + 0.5),
                            y_of(BucketRate(r, s.per_second, i)));
    }
    const char* c = kColors[color % kNumColors];
    absl::StrAppendFormat(&out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                          "points=\"%s\"><title>%s</title></polyline>"
                          "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">%s</text>",
                          c, pts, Html(name), L + W + 10, T + 12 + 15 * color, c, Html(name));
    ++color;
  }
  out += "</svg>";
  // Latency percentiles: grouped bars on a log scale (1 µs .. max).
  uint64_t top = 10;
  for (const auto& [name, s] : r.rec.ops()) top = std::max(top, s.latency.max());
  double lmax = std::log10(static_cast<double>(top)) + 0.2;
  size_t nops = std::max<size_t>(1, r.rec.ops().size());
  double group = static_cast<double>(W) / nops;
  const int LB = 70;  // room for slanted operation names
  absl::StrAppendFormat(&out, "<h2>Latency percentiles (log scale)</h2>"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">"
                        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>",
                        W + L + 160, T + H + LB, L, T + H, L + W, T + H);
  for (int d = 0; d <= static_cast<int>(lmax); ++d) {
    double y = T + H - H * d / lmax;
    absl::StrAppendFormat(&out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                          "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s"
                          "</text>",
                          L, y, L + W, y, L - 4, y + 4, LatencyLabel(d));
  }
  const char* qcolors[] = {"#9ecae1", "#4292c6", "#08519c", "#08306b", "#d62728"};
  size_t gi = 0;
  for (const auto& [name, s] : r.rec.ops()) {
    double x0 = L + group * gi + 4;
    double bw = (group - 8) / 5;
    for (int q = 0; q < 5; ++q) {
      uint64_t v = q < 4 ? s.latency.Percentile(kQuantiles[q]) : s.latency.max();
      double h = v > 0 ? H * std::log10(static_cast<double>(std::max<uint64_t>(v, 1))) / lmax : 0;
      absl::StrAppendFormat(&out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"%s\"><title>%s %s %d µs</title></rect>",
                            x0 + bw * q, T + H - h, bw * 0.9, h, qcolors[q], Html(name),
                            q < 4 ? kQuantileNames[q] : "max", v);
    }
    double cx = x0 + (group - 8) / 2;
    absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
                          "transform=\"rotate(-30 %.1f %d)\">%s</text>",
                          cx, T + H + 14, cx, T + H + 14, Html(name));
    ++gi;
  }
  for (int q = 0; q < 5; ++q) {
    absl::StrAppendFormat(&out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                          "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>",
                          L + W + 10, T + 16 * q, qcolors[q], L + W + 25, T + 9 + 16 * q,
                          q < 4 ? kQuantileNames[q] : "max");
  }
  out += "</svg><h2>JSON</h2><pre>" + Html(Json(o, r)) + "</pre></body></html>\n";
  return out;
}

}  // namespace ringmail::ringbench
