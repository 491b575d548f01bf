#include "protocols/mime/envelope.h"

#include <vector>

#include "protocols/mime/address.h"
#include "protocols/mime/imap_string.h"

namespace ringmail::mime {
namespace {

std::vector<Address> Parse(const std::optional<std::string>& v) {
  return v ? ParseAddressList(*v) : std::vector<Address>();
}

}  // namespace

void AppendEnvelope(std::string* out, const Envelope& env) {
  std::vector<Address> from = Parse(env.from);
  std::vector<Address> sender = Parse(env.sender);
  std::vector<Address> reply_to = Parse(env.reply_to);
  if (sender.empty()) sender = from;
  if (reply_to.empty()) reply_to = from;

  out->push_back('(');
  AppendImapNString(out, env.date);
  out->push_back(' ');
  AppendImapNString(out, env.subject);
  for (std::vector<Address>* list : {&from, &sender, &reply_to}) {
    out->push_back(' ');
    AppendImapAddressList(out, *list);
  }
  for (const std::optional<std::string>* field : {&env.to, &env.cc, &env.bcc}) {
    out->push_back(' ');
    AppendImapAddressList(out, Parse(*field));
  }
  out->push_back(' ');
  AppendImapNString(out, env.in_reply_to);
  out->push_back(' ');
  AppendImapNString(out, env.message_id);
  out->push_back(')');
}

std::string FormatEnvelope(const Envelope& env) {
  std::string out;
  AppendEnvelope(&out, env);
  return out;
}

}  // namespace ringmail::mime
