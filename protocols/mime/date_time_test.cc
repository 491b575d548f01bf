#include "protocols/mime/date_time.h"

#include "gtest/gtest.h"

namespace ringmail::mime {
namespace {

TEST(DateTime, Rfc5322) {
  EXPECT_EQ(ParseDateTime("Thu, 01 Jan 1970 00:00:00 +0000"), 0);
  EXPECT_EQ(ParseDateTime("Tue, 03 Mar 2020 09:00:00 +0000"), 1583226000);
  // Zones move the instant: 10:00 +0100 is 09:00 UTC.
  EXPECT_EQ(ParseDateTime("Tue, 3 Mar 2020 10:00:00 +0100"), 1583226000);
  EXPECT_EQ(ParseDateTime("3 Mar 2020 04:00 -0500"), 1583226000);
  EXPECT_EQ(ParseDateTime("  Tue,3 Mar 2020 09:00:00 +0000 (UTC)"), 1583226000);
  EXPECT_EQ(ParseDateTime("Tue (day) , 03 (x) Mar 2020 09 : 00 : 00 +0000"),
            1583226000);
  EXPECT_EQ(ParseDateTime("29 Feb 2000 00:00:00 +0000"), 951782400);
}

TEST(DateTime, ObsoleteForms) {
  EXPECT_EQ(ParseDateTime("3 Mar 20 09:00:00 GMT"), 1583226000);
  EXPECT_EQ(ParseDateTime("1 Jan 70 00:00:00 UT"), 0);
  EXPECT_EQ(ParseDateTime("1 Jan 070 00:00:00 +0000"), 0);  // 3-digit: +1900
  EXPECT_EQ(ParseDateTime("3 Mar 2020 04:00:00 EST"), 1583226000);
  EXPECT_EQ(ParseDateTime("3 Mar 2020 01:00:00 PST"), 1583226000);
  EXPECT_EQ(ParseDateTime("3 Mar 2020 09:00:00 Z"), 1583226000);
  EXPECT_EQ(ParseDateTime("3 Mar 2020 09:00:00"), 1583226000);  // no zone
  EXPECT_EQ(ParseDateTime("3 mar 2020 09:00:00 +0000"), 1583226000);
}

TEST(DateTime, Invalid) {
  for (const char* bad :
       {"", "garbage", "Tue, 3 March 2020 09:00:00 +0000", "32 Jan 2020 00:00:00",
        "29 Feb 2001 00:00:00", "3 Mar 2020", "3 Mar 2020 24:00:00",
        "3 Mar 2020 09:60:00", "3 Mar 2020 09:00:61", "3 Mar 2 09:00",
        "123 Mar 2020 09:00", "3 Mar 20201 09:00", "3 Mar 2020 0900"}) {
    EXPECT_FALSE(ParseDateTime(bad).has_value()) << bad;
  }
}

TEST(DateTime, DaysFromCivil) {
  EXPECT_EQ(DaysFromCivilDate(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivilDate(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivilDate(2000, 3, 1), 11017);
}

}  // namespace
}  // namespace ringmail::mime
