#include "storage/maildir/errors.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace ringmail::storage {

LogFn StderrLog() {
  return [](std::string_view line) {
    fprintf(stderr, "ringmail storage: %.*s\n", static_cast<int>(line.size()),
            line.data());
  };
}

std::string ErrnoText(int err) {
  char buf[128];
  // GNU strerror_r: returns a pointer to the text (maybe not `buf`).
  const char* text = strerror_r(err, buf, sizeof(buf));
  return text ? std::string(text) : absl::StrCat("errno ", err);
}

std::string SyscallError(std::string_view what, int neg_errno) {
  return absl::StrCat(AbslView(what), " failed: ", ErrnoText(-neg_errno));
}

absl::Status GenericIoStatus(int neg_errno) {
  if (neg_errno == -ENOSPC || neg_errno == -EDQUOT) {
    return absl::ResourceExhaustedError("insufficient storage");
  }
  return absl::UnavailableError("mailbox temporarily unavailable");
}

}  // namespace ringmail::storage
