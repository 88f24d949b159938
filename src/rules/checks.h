#pragma once
// One function per check, each defined in the .cpp named by its id; catalog.cpp lists them.
// Explicit references (rather than self-registering statics) keep every check linked in from
// the static library.

#include "rules/rule.h"

namespace hsmproof::rules::checks {

Check aws_kms_cmk_origin();
Check aws_kms_cmk_asymmetric();
Check aws_kms_cmk_rsa_3072_4096();
Check aws_kms_cmk_usage();
Check aws_kms_sign_verify_key();
Check aws_cloudtrail_logging();
Check aws_cloudhsm_active_cluster();

}  // namespace hsmproof::rules::checks
