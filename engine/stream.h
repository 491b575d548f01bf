// An ordered, reliable byte stream as protocol glue sees it: plaintext TCP
// (engine::Connection) or TLS over TCP (engine::TlsStream). Session code
// writes to a Stream so the same code serves port 143 and 993, and keeps
// working when STARTTLS swaps the stream under it.
//
// Callbacks (bytes in, peer closed, closed) go to a ConnectionHandler (see
// engine/tcp.h); who owns the Stream object is up to the implementation:
// both Connection and TlsStream delete themselves just before the handler's
// OnClosed.
#ifndef RINGMAIL_ENGINE_STREAM_H_
#define RINGMAIL_ENGINE_STREAM_H_

#include <cstddef>
#include <string>

namespace ringmail::engine {

class Loop;
struct SocketAddress;

class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Output is appended here and sent on Flush(). For TLS this is plaintext;
  // it is encrypted on Flush().
  virtual std::string& output() = 0;
  virtual void Flush() = 0;
  // Bytes queued or in flight (plaintext plus, for TLS, ciphertext), for the
  // handler's back-pressure decisions.
  virtual size_t pending_output() const = 0;
  // Stop/resume OnReceive. While paused, what already arrived is held
  // (bounded by what one receive round delivers).
  virtual void PauseReading() = 0;
  virtual void ResumeReading() = 0;
  // Flushes pending output, then closes (TLS: sends close_notify first).
  // The handler's OnClosed follows.
  virtual void Close() = 0;
  // Closes now, dropping pending output. OnClosed follows.
  virtual void Abort() = 0;

  virtual Loop* loop() const = 0;
  virtual const SocketAddress& peer() const = 0;
  virtual bool is_tls() const = 0;

 protected:
  // Streams are destroyed by themselves (see above), never through Stream*.
  virtual ~Stream() = default;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_STREAM_H_
