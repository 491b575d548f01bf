#include "storage/mailbox/uidlist.h"

#include "gtest/gtest.h"

namespace ringmail::storage {
namespace {

// As Dovecot 2.3 writes it (cf. doc.dovecot.org Maildir format page).
constexpr char kDovecotSample[] =
    "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
    "25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n"
    "25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n"
    "25020 S2400 W2481 P0xdeadbeef :1276533090.M1P1.kurkku\n";

TEST(UidlistTest, ParsesDovecotVersion3) {
  absl::StatusOr<Uidlist> l = ParseUidlist(kDovecotSample, UidlistLimits());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->uid_validity, 1275660208u);
  EXPECT_EQ(l->next_uid, 25022u);
  EXPECT_EQ(l->guid, "3085f01b7f11094c501100008c4a11c1");
  ASSERT_EQ(l->records.size(), 3u);
  EXPECT_EQ(l->records[0].uid, 25006u);
  EXPECT_EQ(l->records[0].filename,
            "1276528487.M364837P9451.kurkku,S=1355,W=1394:2,");
  EXPECT_EQ(MaildirKey(l->records[0].filename),
            "1276528487.M364837P9451.kurkku,S=1355,W=1394");
  EXPECT_EQ(*l->records[1].Extension('W'), "2481");
  EXPECT_EQ(l->records[2].extensions.size(), 3u);
  EXPECT_EQ(*l->records[2].Extension('P'), "0xdeadbeef");
  // Byte-identical rewrite (unknown extensions kept, order kept).
  EXPECT_EQ(FormatUidlist(*l), kDovecotSample);
}

TEST(UidlistTest, ParsesVersion1AndRewritesAs3) {
  absl::StatusOr<Uidlist> l =
      ParseUidlist("1 1100000000 5\n1 a.M1.h\n4 b.M2.h:2,S\n", UidlistLimits());
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->records[1].filename, "b.M2.h:2,S");
  EXPECT_EQ(FormatUidlist(*l), "3 V1100000000 N5\n1 :a.M1.h\n4 :b.M2.h:2,S\n");
}

TEST(UidlistTest, RejectsCorruption) {
  UidlistLimits lim;
  for (const char* bad : {
           "",
           "2 V1 N2\n",
           "3 V0 N5\n",
           "3 V1 N5\n2 :a\n2 :b\n",      // not ascending
           "3 V1 N5\n4294967295 :a\n",   // no UID can follow it
           "3 V1 N5\n1 W12 a\n",         // no ':'
           "3 V1 N5\n1 :a/b\n",          // path
           "3 V1 N5\nx :a\n",
       }) {
    EXPECT_FALSE(ParseUidlist(bad, lim).ok()) << bad;
  }
  lim.max_records = 1;
  EXPECT_FALSE(ParseUidlist("3 V1 N5\n1 :a\n2 :b\n", lim).ok());
}

// Dovecot writes records past the header's N (e.g. "N1" then UIDs 1 and 2)
// and reads them back; N is only a lower bound.
TEST(UidlistTest, NextUidIsALowerBound) {
  auto list = ParseUidlist("3 V7 N1 Gabc\n1 :a\n2 :b\n", UidlistLimits{});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->next_uid, 3u);
  EXPECT_EQ(list->records.size(), 2u);
}

}  // namespace
}  // namespace ringmail::storage
