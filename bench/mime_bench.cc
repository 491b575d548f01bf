// BODYSTRUCTURE of a typical ~50 KB multipart message: multipart/mixed with
// a text + html multipart/alternative and two base64 attachments. Measures
// ParseStructure + FormatBodyStructure (what a cache miss costs), and the
// formatting alone (what a cache hit of the parsed structure costs).
#include <string>

#include "benchmark/benchmark.h"
#include "protocols/mime/bodystructure.h"
#include "protocols/mime/structure.h"

namespace {

std::string Base64Lines(size_t bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t n = 0;
  while (out.size() < bytes) {
    out.push_back(kAlphabet[(n * 7 + 3) % 64]);
    if (++n % 76 == 0) out.push_back('\n');
  }
  out.push_back('\n');
  return out;
}

std::string TypicalMessage() {
  std::string m =
      "Return-Path: <alice@example.org>\n"
      "Received: from mx.example.org (mx.example.org [192.0.2.1])\n"
      "\tby mail.example.com with ESMTPS id 4Xyz\n"
      "\tfor <bob@example.com>; Tue, 1 Mar 2022 10:00:00 +0000\n"
      "From: Alice Example <alice@example.org>\n"
      "To: Bob <bob@example.com>, carol@example.com\n"
      "Cc: \"Dave D.\" <dave@example.net>\n"
      "Subject: Quarterly numbers and slides\n"
      "Date: Tue, 1 Mar 2022 10:00:00 +0000\n"
      "Message-ID: <q1-2022@example.org>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"==outer-boundary-7f3a==\"\n"
      "\n"
      "This is a multi-part message in MIME format.\n"
      "--==outer-boundary-7f3a==\n"
      "Content-Type: multipart/alternative; boundary=\"==alt-9b2c==\"\n"
      "\n"
      "--==alt-9b2c==\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n";
  for (int i = 0; i < 40; ++i) {
    m += "Hello Bob, please find the quarterly numbers attached. Line " +
         std::to_string(i) + "\n";
  }
  m += "--==alt-9b2c==\n"
       "Content-Type: text/html; charset=utf-8\n"
       "Content-Transfer-Encoding: quoted-printable\n"
       "\n";
  for (int i = 0; i < 60; ++i) {
    m += "<p>Hello Bob, please find the <b>quarterly numbers</b> attached. " +
         std::to_string(i) + "</p>\n";
  }
  m += "--==alt-9b2c==--\n"
       "--==outer-boundary-7f3a==\n"
       "Content-Type: application/pdf; name=\"numbers.pdf\"\n"
       "Content-Disposition: attachment; filename=\"numbers.pdf\"\n"
       "Content-Transfer-Encoding: base64\n"
       "\n";
  m += Base64Lines(20000);
  m += "--==outer-boundary-7f3a==\n"
       "Content-Type: image/png; name=\"chart.png\"\n"
       "Content-Disposition: inline; filename=\"chart.png\"\n"
       "Content-Transfer-Encoding: base64\n"
       "Content-ID: <chart@example.org>\n"
       "\n";
  m += Base64Lines(50 * 1024 - m.size() - 40);
  m += "--==outer-boundary-7f3a==--\n";
  return m;
}

void BM_ParseAndFormatBodyStructure(benchmark::State& state) {
  const std::string msg = TypicalMessage();
  for (auto _ : state) {
    absl::StatusOr<ringmail::mime::Structure> s =
        ringmail::mime::ParseStructure(msg);
    std::string out = ringmail::mime::FormatBodyStructure(*s, true);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(msg.size()));
}
BENCHMARK(BM_ParseAndFormatBodyStructure);

void BM_FormatCachedBodyStructure(benchmark::State& state) {
  const std::string msg = TypicalMessage();
  const std::string cached =
      ringmail::mime::Serialize(*ringmail::mime::ParseStructure(msg));
  for (auto _ : state) {
    absl::StatusOr<ringmail::mime::Structure> s =
        ringmail::mime::Deserialize(cached);
    std::string out = ringmail::mime::FormatBodyStructure(*s, true);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(msg.size()));
}
BENCHMARK(BM_FormatCachedBodyStructure);

}  // namespace
