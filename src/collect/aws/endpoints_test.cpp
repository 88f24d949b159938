#include "collect/aws/endpoints.h"

#include <gtest/gtest.h>

#include <string>

namespace hsmproof::aws {
namespace {

std::string resolved(const FakeEnvironment& env, Service service, const std::string& region) {
  Result<std::string> url = resolve_endpoint(env, service, region);
  EXPECT_TRUE(url.ok()) << (url.ok() ? "" : url.error().describe());
  return url.ok() ? url.value() : std::string();
}

TEST(ServiceInfo, NamesEveryServiceAsTheWireExpects) {
  struct Expected {
    Service service;
    const char* prefix;
    const char* signing;
    const char* suffix;
    const char* target;
  };
  const Expected table[] = {
      {Service::kKms, "kms", "kms", "KMS", "TrentService"},
      {Service::kCloudTrail, "cloudtrail", "cloudtrail", "CLOUDTRAIL",
       "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"},
      {Service::kCloudHsmV2, "cloudhsmv2", "cloudhsm", "CLOUDHSM_V2", "BaldrApiService"},
      {Service::kSts, "sts", "sts", "STS", ""},
      {Service::kEc2, "ec2", "ec2", "EC2", ""},
      {Service::kOrganizations, "organizations", "organizations", "ORGANIZATIONS",
       "AWSOrganizationsV20161128"},
  };
  for (const Expected& row : table) {
    const ServiceInfo& info = service_info(row.service);
    EXPECT_EQ(info.service, row.service);
    EXPECT_STREQ(info.endpoint_prefix, row.prefix);
    EXPECT_STREQ(info.signing_name, row.signing);
    EXPECT_STREQ(info.env_suffix, row.suffix);
    EXPECT_STREQ(info.json_target_prefix, row.target);
  }
}

TEST(ResolveEndpoint, DefaultsToTheRegionalAwsEndpoint) {
  const FakeEnvironment env;
  EXPECT_EQ(resolved(env, Service::kKms, "eu-west-1"), "https://kms.eu-west-1.amazonaws.com");
  EXPECT_EQ(resolved(env, Service::kCloudHsmV2, "us-east-2"),
            "https://cloudhsmv2.us-east-2.amazonaws.com");
  EXPECT_EQ(resolved(env, Service::kSts, "ap-southeast-2"),
            "https://sts.ap-southeast-2.amazonaws.com");
  EXPECT_EQ(resolved(env, Service::kEc2, "us-gov-west-1"),
            "https://ec2.us-gov-west-1.amazonaws.com");
}

TEST(ResolveEndpoint, ChinaRegionsUseTheirOwnDomain) {
  const FakeEnvironment env;
  EXPECT_EQ(resolved(env, Service::kKms, "cn-north-1"), "https://kms.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(resolved(env, Service::kCloudTrail, "cn-northwest-1"),
            "https://cloudtrail.cn-northwest-1.amazonaws.com.cn");
}

TEST(ResolveEndpoint, OrganizationsLivesInThePartitionHomeRegion) {
  const FakeEnvironment env;
  EXPECT_EQ(resolved(env, Service::kOrganizations, "eu-west-1"),
            "https://organizations.us-east-1.amazonaws.com");
  EXPECT_EQ(resolved(env, Service::kOrganizations, "cn-north-1"),
            "https://organizations.cn-northwest-1.amazonaws.com.cn");
  EXPECT_EQ(signing_region(Service::kOrganizations, "eu-west-1"), "us-east-1");
  EXPECT_EQ(signing_region(Service::kOrganizations, "us-gov-east-1"), "us-gov-west-1");
  EXPECT_EQ(signing_region(Service::kKms, "eu-west-1"), "eu-west-1");
}

TEST(ResolveEndpoint, ServiceVariableWinsOverTheGeneralOne) {
  FakeEnvironment env;
  env.variables["AWS_ENDPOINT_URL"] = "https://general.example.com/";
  env.variables["AWS_ENDPOINT_URL_KMS"] = "https://kms.example.com:8443//";
  env.variables["AWS_ENDPOINT_URL_CLOUDHSM_V2"] = "http://127.0.0.1:4566";
  EXPECT_EQ(resolved(env, Service::kKms, "eu-west-1"), "https://kms.example.com:8443");
  EXPECT_EQ(resolved(env, Service::kCloudHsmV2, "eu-west-1"), "http://127.0.0.1:4566");
  EXPECT_EQ(resolved(env, Service::kCloudTrail, "eu-west-1"), "https://general.example.com");
  EXPECT_EQ(resolved(env, Service::kSts, "eu-west-1"), "https://general.example.com");
}

TEST(ResolveEndpoint, EverySuffixIsHonoured) {
  for (Service service : {Service::kKms, Service::kCloudTrail, Service::kCloudHsmV2, Service::kSts,
                          Service::kEc2, Service::kOrganizations}) {
    FakeEnvironment env;
    env.variables[std::string("AWS_ENDPOINT_URL_") + service_info(service).env_suffix] =
        "https://override.example.com/base";
    EXPECT_EQ(resolved(env, service, "eu-west-1"), "https://override.example.com/base");
  }
}

TEST(ResolveEndpoint, EmptyVariablesAreIgnored) {
  FakeEnvironment env;
  env.variables["AWS_ENDPOINT_URL_KMS"] = "";
  env.variables["AWS_ENDPOINT_URL"] = "";
  EXPECT_EQ(resolved(env, Service::kKms, "eu-west-1"), "https://kms.eu-west-1.amazonaws.com");
}

TEST(ResolveEndpoint, IgnoreConfiguredEndpointUrls) {
  FakeEnvironment env;
  env.variables["AWS_ENDPOINT_URL"] = "http://localhost:4566";
  env.variables["AWS_ENDPOINT_URL_KMS"] = "http://localhost:4567";
  env.variables["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "True";
  EXPECT_EQ(resolved(env, Service::kKms, "eu-west-1"), "https://kms.eu-west-1.amazonaws.com");
  EXPECT_EQ(resolved(env, Service::kSts, "eu-west-1"), "https://sts.eu-west-1.amazonaws.com");
  env.variables["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "false";
  EXPECT_EQ(resolved(env, Service::kKms, "eu-west-1"), "http://localhost:4567");
}

TEST(ResolveEndpoint, PlainHttpOnlyToLoopback) {
  for (const char* url : {"http://127.0.0.1:4566", "http://127.10.20.30", "http://[::1]:4566/",
                          "http://localhost:4566", "http://LOCALHOST", "HTTP://127.0.0.1"}) {
    FakeEnvironment env;
    env.variables["AWS_ENDPOINT_URL_KMS"] = url;
    EXPECT_TRUE(resolve_endpoint(env, Service::kKms, "us-east-1").ok()) << url;
  }
  for (const char* url :
       {"http://10.0.0.5:4566", "http://kms.example.com", "http://127.0.0.1.nip.io",
        "http://localhost.example.com", "http://[::2]:4566", "http://169.254.169.254"}) {
    FakeEnvironment env;
    env.variables["AWS_ENDPOINT_URL_KMS"] = url;
    Result<std::string> result = resolve_endpoint(env, Service::kKms, "us-east-1");
    ASSERT_FALSE(result.ok()) << url;
    EXPECT_EQ(result.error().kind, ErrorKind::kUsage);
    EXPECT_NE(result.error().message.find("AWS_ENDPOINT_URL_KMS"), std::string::npos);
    EXPECT_NE(result.error().message.find("https://"), std::string::npos);
    EXPECT_NE(result.error().message.find("loopback"), std::string::npos);
  }
}

TEST(ResolveEndpoint, TheGeneralVariableIsNamedInItsError) {
  FakeEnvironment env;
  env.variables["AWS_ENDPOINT_URL"] = "http://192.168.1.10:4566";
  Result<std::string> result = resolve_endpoint(env, Service::kCloudTrail, "us-east-1");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("AWS_ENDPOINT_URL "), std::string::npos);
}

TEST(ResolveEndpoint, RefusesMalformedUrls) {
  for (const char* url :
       {"kms.example.com", "ftp://kms.example.com", "https://", "https://:443", "https://h:0",
        "https://h:70000", "https://h:12a", "https://h:", "https://h/?x=1", "https://[::1"}) {
    FakeEnvironment env;
    env.variables["AWS_ENDPOINT_URL"] = url;
    Result<std::string> result = resolve_endpoint(env, Service::kKms, "us-east-1");
    ASSERT_FALSE(result.ok()) << url;
    EXPECT_EQ(result.error().kind, ErrorKind::kUsage) << url;
    EXPECT_NE(result.error().message.find("AWS_ENDPOINT_URL"), std::string::npos) << url;
  }
}

TEST(ResolveEndpoint, NeverEchoesUserInfo) {
  FakeEnvironment env;
  env.variables["AWS_ENDPOINT_URL"] = "https://admin:hunter2@kms.example.com";
  Result<std::string> result = resolve_endpoint(env, Service::kKms, "us-east-1");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message.find("hunter2"), std::string::npos);
}

TEST(ResolveEndpoint, RefusesRegionsThatAreNotRegionNames) {
  const FakeEnvironment env;
  for (const char* region : {"", "us-east-1.evil.com", "EU-WEST-1", "us east", "a/b"}) {
    Result<std::string> result = resolve_endpoint(env, Service::kKms, region);
    ASSERT_FALSE(result.ok()) << region;
    EXPECT_EQ(result.error().kind, ErrorKind::kUsage);
  }
}

TEST(LoopbackHost, RecognisesLoopbackForms) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.255.255.254"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_TRUE(is_loopback_host("[0:0:0:0:0:0:0:1]"));
  EXPECT_TRUE(is_loopback_host("[::ffff:127.0.0.1]"));
  EXPECT_TRUE(is_loopback_host("LocalHost"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("127.1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("[::]"));
  EXPECT_FALSE(is_loopback_host("localhost.localdomain.example"));
  EXPECT_FALSE(is_loopback_host(""));
}

}  // namespace
}  // namespace hsmproof::aws
