#include "dispatcher/attributes.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include <fmt/format.h>

#include "dispatcher/iso8601.h"

namespace whistle {
namespace {

using Attribute = pb::ServiceAttribute;

bool IsList(Attribute::Datatype t) {
  return t == Attribute::DATATYPE_SINGLEVALUELIST || t == Attribute::DATATYPE_MULTIVALUELIST;
}

bool IsFiniteNumber(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(v);
}

}  // namespace

Status ValidateAttributeDefinitions(const pb::Category& category) {
  std::set<std::string> codes;
  for (const Attribute& a : category.attributes()) {
    const std::string node = fmt::format("category '{}': attribute '{}'", category.code(), a.code());
    if (a.code().empty()) return BadRequest(fmt::format("category '{}': an attribute has no code", category.code()));
    if (!codes.insert(a.code()).second) return BadRequest(node + ": duplicate code");
    if (a.datatype() == Attribute::DATATYPE_UNSPECIFIED || !Attribute::Datatype_IsValid(a.datatype())) {
      return BadRequest(node + ": no datatype");
    }
    if (IsList(a.datatype()) && a.values().empty()) return BadRequest(node + ": a list needs values");
    if (!IsList(a.datatype()) && !a.values().empty()) {
      return BadRequest(node + ": only list datatypes have values");
    }
    std::set<std::string> keys;
    for (const pb::AttributeValue& v : a.values()) {
      if (v.key().empty()) return BadRequest(node + ": a value has no key");
      if (!keys.insert(v.key()).second) return BadRequest(fmt::format("{}: value '{}' is listed twice", node, v.key()));
    }
  }
  return Status::Ok();
}

Status CheckAnswers(const pb::Category& category,
                    const google::protobuf::RepeatedPtrField<pb::AttributeAnswer>& answers) {
  std::set<std::string> answered;
  for (const pb::AttributeAnswer& answer : answers) {
    auto def = std::find_if(category.attributes().begin(), category.attributes().end(),
                            [&](const Attribute& a) { return a.code() == answer.code(); });
    if (def == category.attributes().end()) {
      return BadRequest(fmt::format("service '{}' has no attribute '{}'", category.code(),
                                    answer.code().substr(0, 64)));
    }
    const std::string node = fmt::format("attribute '{}'", def->code());
    if (!answered.insert(answer.code()).second) return BadRequest(node + " is answered twice");
    if (answer.values().empty()) return BadRequest(node + " has no value");
    if (def->datatype() != Attribute::DATATYPE_MULTIVALUELIST && answer.values_size() != 1) {
      return BadRequest(node + " takes exactly one value");
    }
    for (const std::string& v : answer.values()) {
      switch (def->datatype()) {
        case Attribute::DATATYPE_NUMBER:
          if (!IsFiniteNumber(v)) return BadRequest(fmt::format("{}: '{}' is not a number", node, v.substr(0, 64)));
          break;
        case Attribute::DATATYPE_DATETIME:
          if (auto t = ParseIso8601(v, 0); !t.ok()) return BadRequest(fmt::format("{}: {}", node, t.status().message()));
          break;
        case Attribute::DATATYPE_SINGLEVALUELIST:
        case Attribute::DATATYPE_MULTIVALUELIST:
          if (std::none_of(def->values().begin(), def->values().end(),
                           [&](const pb::AttributeValue& k) { return k.key() == v; })) {
            return BadRequest(fmt::format("{}: '{}' is not one of its values", node, v.substr(0, 64)));
          }
          break;
        default:
          if (v.empty()) return BadRequest(node + " is empty");
      }
    }
  }
  for (const Attribute& a : category.attributes()) {
    if (a.required() && !answered.contains(a.code())) {
      return BadRequest(fmt::format("attribute '{}' is required for service '{}'", a.code(), category.code()));
    }
  }
  return Status::Ok();
}

}  // namespace whistle
