// A category's attributes (the questions a report answers, Open311's service attributes): the
// rules a definition follows and the check of a report's answers against them.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include "whistle/config.pb.h"
#include "whistle/event.pb.h"
#include "whistle/status.h"

namespace whistle {

// A definition is well formed: codes are non-empty and unique; a list datatype has values with
// unique, non-empty keys and other datatypes have none. BAD_REQUEST names the attribute.
Status ValidateAttributeDefinitions(const pb::Category& category);

// `answers` fit `category`'s attributes: every code is known and answered once, every required
// attribute is answered, a number parses as a finite number, a datetime as ISO 8601, a list
// answer names its keys (exactly one unless it is a multi-value list) and other answers have
// exactly one non-empty value. BAD_REQUEST names the attribute and the problem.
Status CheckAnswers(const pb::Category& category,
                    const google::protobuf::RepeatedPtrField<pb::AttributeAnswer>& answers);

}  // namespace whistle
