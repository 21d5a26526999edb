// PeekRequest: a request's correlation id and command read from the wire without parsing it
// (dispatcher/request_peek.h), as the front door sheds Submits under overload.
#include "dispatcher/request_peek.h"

#include <doctest/doctest.h>

#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>


namespace whistle {
namespace {

using google::protobuf::internal::WireFormatLite;

pb::Request Submit(const std::string& request_id) {
  pb::Request r;
  r.set_request_id(request_id);
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category("water");
  report->set_grid("g-peek");
  report->set_description("a pipe leaks in the stairwell of building 3");
  return r;
}

// The peek of `bytes`, REQUIRED to exist and to agree with the full parse.
RequestPeek PeekAgreeing(const std::string& bytes) {
  pb::Request parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  auto peek = PeekRequest(bytes.data(), bytes.size());
  REQUIRE(peek.has_value());
  CHECK(peek->correlation_id == parsed.correlation_id());
  CHECK(peek->command == parsed.command_case());
  return *peek;
}

// Raw wire bytes: fields the generated code would never write (wrong wire types, groups).
struct Wire {
  std::string bytes;
  Wire& Varint(int field, uint64_t v) {
    Out().WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_VARINT));
    Out().WriteVarint64(v);
    return Flush();
  }
  Wire& Bytes(int field, const std::string& v) {
    Out().WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    Out().WriteVarint32(static_cast<uint32_t>(v.size()));
    Out().WriteString(v);
    return Flush();
  }
  Wire& Group(int field, const std::string& inside) {
    Out().WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_START_GROUP));
    Out().WriteString(inside);
    Out().WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_END_GROUP));
    return Flush();
  }

 private:
  google::protobuf::io::CodedOutputStream& Out() {
    if (!out_) {
      stream_.emplace(&bytes);
      out_.emplace(&*stream_);
    }
    return *out_;
  }
  Wire& Flush() {
    out_.reset();
    stream_.reset();
    return *this;
  }
  std::optional<google::protobuf::io::StringOutputStream> stream_;
  std::optional<google::protobuf::io::CodedOutputStream> out_;
};

TEST_CASE("peek: every command of the oneof, with its correlation id, as the parser reads it") {
  const google::protobuf::OneofDescriptor* oneof = pb::Request::descriptor()->FindOneofByName("command");
  REQUIRE(oneof != nullptr);
  for (int i = 0; i < oneof->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = oneof->field(i);
    CAPTURE(field->name());
    pb::Request r;
    r.set_request_id("peek-1");
    r.set_correlation_id(0xfedcba9876543210ull + static_cast<uint64_t>(i));
    r.set_acting_ticket("ticket");
    r.GetReflection()->MutableMessage(&r, field);  // an empty command is still the command
    RequestPeek peek = PeekAgreeing(r.SerializeAsString());
    CHECK(peek.command == static_cast<pb::Request::CommandCase>(field->number()));
  }
}

TEST_CASE("peek: a full Submit, a request without a command, and an empty frame") {
  pb::Request submit = Submit("peek-submit");
  submit.set_correlation_id(7);
  CHECK(PeekAgreeing(submit.SerializeAsString()).command == pb::Request::kSubmit);

  pb::Request bare;
  bare.set_correlation_id(9);
  CHECK(PeekAgreeing(bare.SerializeAsString()).command == pb::Request::COMMAND_NOT_SET);

  RequestPeek empty = PeekAgreeing("");
  CHECK(empty.correlation_id == 0);
  CHECK(empty.command == pb::Request::COMMAND_NOT_SET);
}

TEST_CASE("peek: the last command and the last correlation id on the wire win, as in the parser") {
  pb::Request first = Submit("peek-first");
  first.set_correlation_id(1);
  pb::Request second;
  second.set_correlation_id(2);
  second.mutable_claim()->set_event_id(5);
  // Concatenated messages parse as one, merged: the oneof takes the last member seen.
  RequestPeek peek = PeekAgreeing(first.SerializeAsString() + second.SerializeAsString());
  CHECK(peek.command == pb::Request::kClaim);
  CHECK(peek.correlation_id == 2);
  CHECK(PeekAgreeing(second.SerializeAsString() + first.SerializeAsString()).command == pb::Request::kSubmit);
}

TEST_CASE("peek: fields of the wrong wire type are unknown fields, not the command or the correlation id") {
  const int submit = pb::Request::kSubmitFieldNumber;
  const int correlation = pb::Request::kCorrelationIdFieldNumber;
  Wire w;
  w.Varint(correlation, 41).Varint(submit, 1).Bytes(correlation, "not a varint").Varint(999, 3);
  RequestPeek peek = PeekAgreeing(w.bytes);
  CHECK(peek.correlation_id == 41);
  CHECK(peek.command == pb::Request::COMMAND_NOT_SET);

  // An unknown group, with a nested one and a submit-numbered field inside, is skipped whole.
  Wire inner;
  inner.Bytes(submit, "").Group(1000, Wire().Varint(correlation, 5).bytes);
  Wire g;
  g.Varint(correlation, 43).Group(1001, inner.bytes);
  RequestPeek grouped = PeekAgreeing(g.bytes);
  CHECK(grouped.correlation_id == 43);
  CHECK(grouped.command == pb::Request::COMMAND_NOT_SET);
}

TEST_CASE("peek: bytes that are not a message at their top level have no peek") {
  pb::Request submit = Submit("peek-bad");
  submit.set_correlation_id(300);
  const std::string whole = submit.SerializeAsString();
  // Cut anywhere inside the last field (the submit): its length runs past the end.
  for (size_t cut : {whole.size() - 1, whole.size() - 5}) {
    CAPTURE(cut);
    CHECK_FALSE(PeekRequest(whole.data(), cut).has_value());
    pb::Request parsed;
    CHECK_FALSE(parsed.ParseFromArray(whole.data(), static_cast<int>(cut)));
  }
  const std::string truncated_varint = "\x10\xff";  // correlation id, a varint with no last byte
  CHECK_FALSE(PeekRequest(truncated_varint.data(), truncated_varint.size()).has_value());
  const std::string zero_tag("\x10\x01\x00\x10\x02", 5);  // a zero tag in the middle
  CHECK_FALSE(PeekRequest(zero_tag.data(), zero_tag.size()).has_value());
  const std::string unmatched_end = "\x0c";  // END_GROUP of field 1 with no group open
  CHECK_FALSE(PeekRequest(unmatched_end.data(), unmatched_end.size()).has_value());
  const std::string field_zero("\x02\x00", 2);  // field number 0, an empty length-delimited value
  CHECK_FALSE(PeekRequest(field_zero.data(), field_zero.size()).has_value());
  pb::Request parsed;
  CHECK_FALSE(parsed.ParseFromString(field_zero));
}

}  // namespace
}  // namespace whistle
