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

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

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

std::string Html(const Options& o, const RunResult& r) {
  std::string out = absl::StrCat(
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ringbench ", Html(o.mode),
      "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
      "th:first-child,td:first-child{text-align:left}</style></head><body>");
  absl::StrAppend(&out, "<h1>ringbench ", Html(o.mode), " &rarr; ", Html(o.target_text),
                  "</h1><pre>", Html(HumanSummary(o, r)), "</pre>");
  // Throughput over time: one polyline per operation.
  const int W = 800, H = 300, L = 60, B = 30;
  size_t secs = 1;
  uint64_t peak = 1;
  for (const auto& [name, s] : r.rec.ops()) {
    secs = std::max(secs, s.per_second.size());
    for (uint64_t v : s.per_second) peak = std::max(peak, v);
  }
  absl::StrAppendFormat(&out, "<h2>Throughput (operations per second)</h2>"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">"
                        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>"
                        "<line x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>"
                        "<text x=\"2\" y=\"12\" font-size=\"11\">%d/s</text>"
                        "<text x=\"%d\" y=\"%d\" font-size=\"11\">%d s</text>",
                        W + L + 150, H + B, L, H, L + W, H, L, L, H, peak, L + W - 20, H + 20,
                        secs);
  int color = 0;
  for (const auto& [name, s] : r.rec.ops()) {
    std::string pts;
    for (size_t i = 0; i < s.per_second.size(); ++i) {
      absl::StrAppendFormat(&pts, "%.1f,%.1f ",
                            L + (secs > 1 ? W * static_cast<double>(i) / (secs - 1) : 0.0),
                            H - H * static_cast<double>(s.per_second[i]) / peak);
    }
    const char* c = kColors[color % 10];
    absl::StrAppendFormat(&out, "<polyline fill=\"none\" stroke=\"%s\" points=\"%s\"/>"
                          "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">%s</text>",
                          c, pts, L + W + 10, 15 + 15 * color, c, Html(name));
    ++color;
  }
  out += "</svg>";
  // Latency percentiles: grouped bars on a log scale (1 µs .. max).
  uint64_t top = 10;
  for (const auto& [name, s] : r.rec.ops()) top = std::max(top, s.latency.max());
  double lmax = std::log10(static_cast<double>(top)) + 0.2;
  size_t nops = std::max<size_t>(1, r.rec.ops().size());
  double group = static_cast<double>(W) / nops;
  absl::StrAppendFormat(&out, "<h2>Latency percentiles (log scale, µs)</h2>"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">"
                        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>",
                        W + L + 150, H + B + 20, L, H, L + W, H);
  for (int d = 0; d <= static_cast<int>(lmax); ++d) {
    double y = H - H * d / lmax;
    absl::StrAppendFormat(&out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                          "<text x=\"2\" y=\"%.1f\" font-size=\"11\">1e%d</text>",
                          L, y, L + W, y, y + 4, d);
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
                            x0 + bw * q, H - h, bw * 0.9, h, qcolors[q], Html(name),
                            q < 4 ? kQuantileNames[q] : "max", v);
    }
    absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%s</text>", x0,
                          H + 15, Html(name));
    ++gi;
  }
  for (int q = 0; q < 5; ++q) {
    absl::StrAppendFormat(&out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                          "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>",
                          L + W + 10, 10 + 16 * q, qcolors[q], L + W + 25, 19 + 16 * q,
                          q < 4 ? kQuantileNames[q] : "max");
  }
  out += "</svg><h2>JSON</h2><pre>" + Html(Json(o, r)) + "</pre></body></html>\n";
  return out;
}

}  // namespace ringmail::ringbench
