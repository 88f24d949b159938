#include "http/transport.h"

#include <gtest/gtest.h>

namespace hsmproof::http {
namespace {

TEST(Headers, FindIgnoresCaseAndKeepsOrder) {
  Headers headers;
  headers.add("Content-Type", "application/json");
  headers.add("X-Amz-Date", "20150830T123600Z");
  ASSERT_NE(headers.find("content-type"), nullptr);
  EXPECT_EQ(*headers.find("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(headers.get("x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(headers.find("Authorization"), nullptr);
  EXPECT_EQ(headers.get("Authorization"), "");
  ASSERT_EQ(headers.entries.size(), 2U);
  EXPECT_EQ(headers.entries[0].first, "Content-Type");
  EXPECT_EQ(headers.entries[1].first, "X-Amz-Date");
}

TEST(Headers, AddKeepsDuplicatesAndFindReturnsTheFirst) {
  Headers headers;
  headers.add("Set-Cookie", "a=1");
  headers.add("set-cookie", "b=2");
  EXPECT_EQ(headers.entries.size(), 2U);
  EXPECT_EQ(headers.get("Set-Cookie"), "a=1");
}

TEST(Headers, SetReplacesEveryExistingValueInPlace) {
  Headers headers;
  headers.add("Accept", "*/*");
  headers.add("x-amz-target", "old");
  headers.add("Host", "example.com");
  headers.add("X-Amz-Target", "older");
  headers.set("X-AMZ-TARGET", "TrentService.ListKeys");
  ASSERT_EQ(headers.entries.size(), 3U);
  EXPECT_EQ(headers.entries[1].first, "X-AMZ-TARGET");
  EXPECT_EQ(headers.entries[1].second, "TrentService.ListKeys");
  EXPECT_EQ(headers.entries[2].first, "Host");
  headers.set("New", "value");
  ASSERT_EQ(headers.entries.size(), 4U);
  EXPECT_EQ(headers.entries.back().second, "value");
}

TEST(EndpointScheme, HttpsIsAlwaysAccepted) {
  EXPECT_TRUE(check_endpoint_scheme("https://kms.eu-west-1.amazonaws.com").ok());
  EXPECT_TRUE(check_endpoint_scheme("HTTPS://kms.eu-west-1.amazonaws.com:443/").ok());
  EXPECT_TRUE(check_endpoint_scheme("https://10.0.0.5:8443/path").ok());
}

TEST(EndpointScheme, PlainHttpIsAcceptedForLoopbackOnly) {
  EXPECT_TRUE(check_endpoint_scheme("http://localhost:5000").ok());
  EXPECT_TRUE(check_endpoint_scheme("http://LOCALHOST/").ok());
  EXPECT_TRUE(check_endpoint_scheme("http://127.0.0.1:5000/").ok());
  EXPECT_TRUE(check_endpoint_scheme("http://127.255.3.4").ok());
  EXPECT_TRUE(check_endpoint_scheme("http://[::1]:8080/x").ok());

  for (const char* url :
       {"http://kms.us-east-1.amazonaws.com", "http://10.0.0.1:5000", "http://128.0.0.1",
        "http://127.0.0.1.evil.example", "http://localhost.evil.example",
        "http://127.0.0.1@evil.example/", "http://[::2]:80", "http://0177.0.0.1"}) {
    auto status = check_endpoint_scheme(url);
    ASSERT_FALSE(status.ok()) << url;
    EXPECT_EQ(status.error().kind, ErrorKind::kUsage) << url;
    EXPECT_NE(status.error().message.find("https"), std::string::npos) << url;
    EXPECT_EQ(status.error().message.find('\n'), std::string::npos) << url;
  }
}

TEST(EndpointScheme, OtherSchemesAndMissingHostsAreRefused) {
  for (const char* url : {"ftp://localhost/", "file:///etc/passwd", "kms.amazonaws.com", "https://",
                          "http:///path"}) {
    auto status = check_endpoint_scheme(url);
    ASSERT_FALSE(status.ok()) << url;
    EXPECT_EQ(status.error().kind, ErrorKind::kUsage) << url;
    EXPECT_NE(status.error().message.find("https://"), std::string::npos) << url;
  }
}

TEST(EndpointScheme, MessageNeverRepeatsUserInfo) {
  auto status = check_endpoint_scheme("http://AKID:hunter2@proxy.example.com/");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message.find("hunter2"), std::string::npos);
  EXPECT_NE(status.error().message.find("proxy.example.com"), std::string::npos);
}

TEST(UrlAuthority, DropsSchemeUserInfoPathAndQuery) {
  EXPECT_EQ(url_authority("https://kms.us-east-1.amazonaws.com/"), "kms.us-east-1.amazonaws.com");
  EXPECT_EQ(url_authority("http://127.0.0.1:5000?x=1"), "127.0.0.1:5000");
  EXPECT_EQ(url_authority("http://u:secret@[::1]:80/p#f"), "[::1]:80");
  EXPECT_EQ(url_authority("not a url"), "");
}

}  // namespace
}  // namespace hsmproof::http
