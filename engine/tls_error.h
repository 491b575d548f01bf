// BoringSSL error text for log lines and Status messages, shared by the
// server side (tls.cc), the client side (tls_client.cc) and the stream
// (tls_stream.cc). Private to //engine.
#ifndef RINGMAIL_ENGINE_TLS_ERROR_H_
#define RINGMAIL_ENGINE_TLS_ERROR_H_

#include <string>

namespace ringmail::engine {

// BoringSSL's reason strings ("WRONG_VERSION_NUMBER") and X.509 verify
// messages, lower-cased with '_' as a space ("wrong version number");
// "unknown error" for a null string.
std::string TlsReasonText(const char* reason);

// The first queued BoringSSL error of this thread as TlsReasonText, or
// "unknown error" when none is queued; clears the thread's queue (it is
// shared by every connection of the core).
std::string TakeTlsErrorReason();

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_TLS_ERROR_H_
