#pragma once
// Requirement wording shared by several checks' metadata, quoted from its sources: the CA/B
// Forum Code Signing Baseline Requirements (CSBR v3.10.0) and Entrust's "Code Signing Private Key
// Protection Requirements for Cloud HSM Providers" article.

#include <string_view>

namespace hsmproof::rules::support {

inline constexpr std::string_view kCsbrKeyInHsm =
    "CSBR 6.2.7.4.1(8)(1): \"Key creation, storage, and usage of Private Key must remain within "
    "the security boundaries of the cloud solution's Hardware Crypto Module that conforms to the "
    "specified requirements\"";

inline constexpr std::string_view kCsbrLogging =
    "CSBR 6.2.7.4.1(8)(2): \"Subscription at the level that manages the Private Key must be "
    "configured to log all access, operations, and configuration changes on the resources "
    "securing the Private Key.\"";

inline constexpr std::string_view kEntrustAllEnabledKeys =
    "Entrust: \"the following must be true for all enabled keys under 'Customer managed keys.'\"";

}  // namespace hsmproof::rules::support
