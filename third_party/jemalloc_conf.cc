// jemalloc's compiled-in options for ringmaild (read once, at the first
// allocation; MALLOC_CONF in the environment still overrides them).
//
// background_thread:true: jemalloc returns freed pages to the kernel after
// its decay time (dirty_decay_ms, 10 s) from a background thread. Without
// it the decay only advances when the process allocates, so an idle server
// kept everything a finished command had freed: after one session fetched
// the flags of a 100,000-message folder and left, ringmaild held ~100 bytes
// a message more than the folder's index needs (issue 21, measured with
// bench/compare --workloads large; docs/performance.md "Large mailboxes").
extern "C" {
// The weak definition in libjemalloc.so gives way to this one.
__attribute__((used, visibility("default"))) const char* malloc_conf = "background_thread:true";
}
