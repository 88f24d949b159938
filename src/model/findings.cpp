#include "model/findings.h"

namespace hsmproof::model {

const char* to_string(Status status) {
  switch (status) {
    case Status::kPass:
      return "pass";
    case Status::kFail:
      return "fail";
    case Status::kIncomplete:
      return "incomplete";
    case Status::kNotApplicable:
      return "not_applicable";
  }
  // Only reachable through a cast of an out-of-range value; say so rather than guess.
  return "invalid";
}

}  // namespace hsmproof::model
