// Status and Result<T>: how errors cross module boundaries in whistle.
//
// A Status is a code from the wire's closed set (whistle.pb.StatusCode) plus a human message.
// Codes map one-to-one onto Response.code, so a rejection built deep in the engine reaches the
// client unchanged. Exceptions are kept for programmer errors and start-up failures.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "whistle/check.h"
#include "whistle/wire.pb.h"

namespace whistle {

using Code = pb::StatusCode;

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == pb::STATUS_OK; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: no event 17"
  std::string ToString() const;

 private:
  Code code_ = pb::STATUS_OK;
  std::string message_;
};

// Short factories, one per code, so call sites read as what happened.
inline Status BadRequest(std::string m) { return {pb::STATUS_BAD_REQUEST, std::move(m)}; }
inline Status NotFound(std::string m) { return {pb::STATUS_NOT_FOUND, std::move(m)}; }
inline Status IllegalTransition(std::string m) { return {pb::STATUS_ILLEGAL_TRANSITION, std::move(m)}; }
inline Status AlreadyClaimed(std::string m) { return {pb::STATUS_ALREADY_CLAIMED, std::move(m)}; }
inline Status StaleClaim(std::string m) { return {pb::STATUS_STALE_CLAIM, std::move(m)}; }
inline Status NotAssigned(std::string m) { return {pb::STATUS_NOT_ASSIGNED, std::move(m)}; }
inline Status IdempotencyMismatch(std::string m) { return {pb::STATUS_IDEMPOTENCY_MISMATCH, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {pb::STATUS_UNAUTHENTICATED, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {pb::STATUS_PERMISSION_DENIED, std::move(m)}; }
inline Status Unavailable(std::string m) { return {pb::STATUS_UNAVAILABLE, std::move(m)}; }
inline Status Internal(std::string m) { return {pb::STATUS_INTERNAL, std::move(m)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    WHISTLE_CHECK(!std::get<Status>(v_).ok(), "a Result holding a Status must hold an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: !ok() for status() to be an error; returns OK otherwise.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace whistle
