#pragma once
// Reads an AWS account's KMS keys, CloudTrail trails and CloudHSM clusters into the inventory.
// Collectors never decide compliance: every call's failure is stored beside the field it
// prevented reading.

#include <functional>
#include <string>
#include <vector>

#include "collect/aws/aws_client.h"
#include "core/task_pool.h"
#include "model/inventory.h"

namespace hsmproof::aws {

struct CollectOptions {
  std::vector<std::string> regions;  // empty: every enabled region (EC2 DescribeRegions)
  std::string default_region = "us-east-1";  // for STS and DescribeRegions
};

// Called from worker threads as calls complete: (calls done, calls known so far).
using ProgressCallback = std::function<void(std::size_t done, std::size_t known)>;

// Fails (returns Error) only when the scan cannot start: credentials rejected or unavailable
// (kCredentials), or the account cannot be identified. Everything else lands in the inventory.
Result<model::AwsInventory> collect_inventory(AwsClient& client, TaskPool& pool,
                                              const CollectOptions& options,
                                              const ProgressCallback& progress = {});

// Single-region pieces, exposed for tests.
Result<std::vector<model::KmsKey>> collect_kms_keys(AwsClient& client, TaskPool& pool,
                                                    const std::string& region,
                                                    std::optional<Error>& aliases_error);
Result<std::vector<model::Trail>> collect_trails(AwsClient& client, TaskPool& pool,
                                                 const std::string& region);
Result<std::vector<model::CloudHsmCluster>> collect_cloudhsm_clusters(AwsClient& client,
                                                                      const std::string& region);

}  // namespace hsmproof::aws
