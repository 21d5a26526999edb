#include "dispatcher/request_peek.h"

#include <climits>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace whistle {
namespace {

using google::protobuf::internal::WireFormatLite;

// Field numbers of Request's command oneof, from the descriptor: a command added to wire.proto
// is known here without an edit.
class CommandFields {
 public:
  CommandFields() {
    const google::protobuf::OneofDescriptor* oneof = pb::Request::descriptor()->FindOneofByName("command");
    for (int i = 0; i < oneof->field_count(); ++i) {
      int number = oneof->field(i)->number();
      if (number >= static_cast<int>(is_command_.size())) is_command_.resize(static_cast<size_t>(number) + 1);
      is_command_[static_cast<size_t>(number)] = true;
    }
  }
  bool Contains(uint32_t number) const { return number < is_command_.size() && is_command_[number]; }

 private:
  std::vector<bool> is_command_;
};

}  // namespace

std::optional<RequestPeek> PeekRequest(const void* data, size_t size) {
  static const CommandFields kCommands;
  if (size > static_cast<size_t>(INT_MAX)) return std::nullopt;
  google::protobuf::io::CodedInputStream in(static_cast<const uint8_t*>(data), static_cast<int>(size));
  RequestPeek peek;
  while (true) {
    const uint32_t tag = in.ReadTag();
    // 0 is the end of the input, or a zero tag in the middle of it, which is malformed.
    if (tag == 0) return in.ConsumedEntireMessage() ? std::optional(peek) : std::nullopt;
    const uint32_t number = WireFormatLite::GetTagFieldNumber(tag);
    if (number == 0) return std::nullopt;  // no field has number 0: the parser refuses it too
    const WireFormatLite::WireType type = WireFormatLite::GetTagWireType(tag);
    if (number == pb::Request::kCorrelationIdFieldNumber && type == WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&peek.correlation_id)) return std::nullopt;
      continue;
    }
    if (kCommands.Contains(number) && type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      peek.command = static_cast<pb::Request::CommandCase>(number);
    }
    if (!WireFormatLite::SkipField(&in, tag)) return std::nullopt;
  }
}

}  // namespace whistle
