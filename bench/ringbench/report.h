// ringbench's outputs: the terminal summary, JSON and the HTML report.
#ifndef RINGMAIL_BENCH_RINGBENCH_REPORT_H_
#define RINGMAIL_BENCH_RINGBENCH_REPORT_H_

#include <string>

#include "bench/ringbench/options.h"
#include "bench/ringbench/runner.h"

namespace ringmail::ringbench {

std::string HumanSummary(const Options& o, const RunResult& r);
std::string Json(const Options& o, const RunResult& r);
// Self-contained: inline CSS and SVG, no scripts or external resources.
std::string Html(const Options& o, const RunResult& r);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_REPORT_H_
