// Internal to StateLog (state_log.cc, state_log_compact.cc): the state of
// a compaction in progress. See StateLog::Compact.
#ifndef RINGMAIL_STORAGE_QUEUE_STATE_LOG_COMPACTION_H_
#define RINGMAIL_STORAGE_QUEUE_STATE_LOG_COMPACTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "storage/queue/state_log.h"
#include "storage/queue/state_record.h"

namespace ringmail::storage::queue {

struct StateLog::Compaction {
  std::vector<StateRecord> records;
  size_t next = 0;        // next record to encode
  std::string chunk;      // encoded, being written
  size_t chunk_done = 0;  // bytes of `chunk` written
  int fd = -1;            // state.log.new
  uint64_t size = 0;      // bytes written to state.log.new
  // Every batch started on the old log since Compact(): they are not in
  // `records` (the caller's snapshot may or may not reflect them), so they
  // are appended to the new file before the switch.
  std::string carry;
  bool switching = false;       // snapshot written; no more old batches
  bool switch_started = false;
  bool op_in_flight = false;
  absl::Status abort;           // set when the carry overflowed
  StatusCallback done;
};

}  // namespace ringmail::storage::queue

#endif  // RINGMAIL_STORAGE_QUEUE_STATE_LOG_COMPACTION_H_
