#include "core/text.h"

#include <gtest/gtest.h>

namespace hsmproof {
namespace {

TEST(Text, EditDistance) {
  EXPECT_EQ(edit_distance("scna", "scan"), 2U);
  EXPECT_EQ(edit_distance("", "abc"), 3U);
  EXPECT_EQ(edit_distance("rules", "rules"), 0U);
}

TEST(Text, FormDecode) {
  EXPECT_EQ(form_decode("a+b%3Dc%2d"), "a b=c-");
  EXPECT_EQ(form_decode("100%"), "100%");    // a truncated escape stays as written
  EXPECT_EQ(form_decode("%zz1"), "%zz1");    // so does a non-hex one
}

TEST(Text, XmlEscape) {
  EXPECT_EQ(xml_escape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;");
}

}  // namespace
}  // namespace hsmproof
