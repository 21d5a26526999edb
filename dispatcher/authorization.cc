#include "dispatcher/authorization.h"

#include <algorithm>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "dispatcher/lifecycle.h"
#include "dispatcher/rejections.h"

namespace whistle {
namespace {

using Case = pb::Request::CommandCase;

// One row of the table in authorization.h.
struct Row {
  Scope reporter, agent, hotline, supervisor, admin, console, viewer;
};

constexpr Scope D = Scope::kDenied;
constexpr Scope A = Scope::kAny;
constexpr Scope O = Scope::kOwn;
constexpr Scope R = Scope::kRegion;
constexpr Scope P = Scope::kDepartment;  // P for the principal's department

Row RowFor(Case command) {
  switch (command) {
    //                                     reporter agent hotline supervisor admin console viewer
    case pb::Request::kSubmit:          return {R, D, A, D, D, D, D};
    case pb::Request::kClaim:           return {D, P, D, D, D, D, D};
    case pb::Request::kRelease:         return {D, P, D, D, D, D, D};
    case pb::Request::kProgress:        return {D, P, D, D, D, D, D};
    case pb::Request::kResolve:         return {D, P, D, D, D, D, D};
    case pb::Request::kReturnTask:      return {D, P, D, D, D, D, D};
    case pb::Request::kWhistle:         return {D, P, D, R, D, D, D};
    case pb::Request::kSupervise:       return {D, D, D, R, D, D, D};
    case pb::Request::kFeedback:        return {O, D, A, D, D, D, D};
    case pb::Request::kReopen:          return {D, D, A, R, D, D, D};
    case pb::Request::kMerge:           return {D, D, D, R, D, D, D};
    case pb::Request::kCancel:          return {D, D, D, R, D, D, D};
    case pb::Request::kSetMode:         return {D, D, D, R, A, D, D};
    case pb::Request::kCreatePrincipal: return {D, D, D, D, A, D, D};
    case pb::Request::kRevokePrincipal: return {D, D, D, D, A, D, D};
    case pb::Request::kListPrincipals:  return {D, D, D, D, A, D, D};
    case pb::Request::kCheckpoint:      return {D, D, D, D, A, D, D};
    case pb::Request::kDigest:          return {D, D, D, D, A, D, D};
    case pb::Request::kMetrics:         return {D, D, D, A, A, D, D};
    case pb::Request::kGet:             return {O, P, A, R, A, A, A};
    case pb::Request::kList:            return {O, P, A, R, A, A, A};  // reporter: mine only
    case pb::Request::kStats:           return {D, P, A, R, A, A, A};
    case pb::Request::kLog:             return {D, P, A, R, A, A, A};  // the rest withheld
    case pb::Request::kWhoami:          return {A, A, A, A, A, A, A};
    case pb::Request::kBoard:           return {D, D, D, R, A, A, A};
    case pb::Request::kRanks:           return {D, D, D, R, A, A, A};
    case pb::Request::kTicket:          return {A, A, A, A, A, D, A};
    case pb::Request::COMMAND_NOT_SET:  return {A, A, A, A, A, A, A};  // the engine says BAD_REQUEST
  }
  return {D, D, D, D, D, D, D};  // a command added to the wire and not to this table
}

// The departments an agent acts for, sorted: its stored principal's, or, for an actor with no
// stored principal (engine tests, the simulation), the actor's own department, put in `single`.
// Not copied: a duty desk may act for thousands, and this runs for every request.
const google::protobuf::RepeatedPtrField<std::string>& DepartmentsOf(
    const pb::Actor& actor, const EngineState& state,
    google::protobuf::RepeatedPtrField<std::string>* single) {
  if (const pb::Principal* p = state.FindPrincipal(actor.principal())) return p->departments();
  if (!actor.department().empty() && single->empty()) *single->Add() = actor.department();
  return *single;
}

class Check {
 public:
  Check(const pb::Actor& actor, const pb::Request& request, const EngineState& state)
      : actor_(actor), request_(request), state_(state), city_(state.city()) {}

  Status Run(Scope scope) {
    // A principal's own reports (ListQuery.mine) are its own to list, whatever its scope.
    if (request_.has_list() && request_.list().has_mine()) {
      return scope == Scope::kDenied ? Deny("") : Status::Ok();
    }
    if (scope == Scope::kOwn && request_.has_list()) return Deny("it lists only its own reports (mine)");
    switch (scope) {
      case Scope::kDenied: return Deny("");
      case Scope::kAny: return Status::Ok();
      case Scope::kOwn: return ForEachEvent([&](const pb::Event& e) { return Own(e); });
      case Scope::kRegion: return Region();
      case Scope::kDepartment: return Department();
    }
    return Deny("");
  }

 private:
  Status Deny(std::string_view why) const {
    std::string who = fmt::format("{} '{}'", RoleName(actor_.role()), Clip(actor_.principal()));
    if (!actor_.department().empty()) who += fmt::format(" of department '{}'", actor_.department());
    if (why.empty()) {
      return PermissionDenied(fmt::format("{} may not {}", who, CommandName(request_.command_case())));
    }
    return PermissionDenied(
        fmt::format("{} may not {}: {}", who, CommandName(request_.command_case()), why));
  }

  bool InRegion(std::string_view code) const {
    return actor_.region().empty() || city_.Contains(actor_.region(), code);
  }

  template <typename F>
  Status ForEachEvent(F&& check) const {
    for (uint64_t id : EventIds(request_)) {
      if (id == 0) continue;  // Get by submit_request_id, or a missing id the processor rejects
      auto event = state_.FindEvent(id);
      if (!event.ok()) return event.status();
      if (*event == nullptr) continue;  // NOT_FOUND comes from the processor
      if (Status s = check(**event); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status Own(const pb::Event& e) const {
    if (IsReporter(e, actor_.principal())) return Status::Ok();
    return Deny(fmt::format("event {} is not one of its reports", e.id()));
  }

  // Not naming the event's grid: where an event it may not read lies is not the principal's to
  // learn (the log withholds it too).
  Status EventInRegion(const pb::Event& e) const {
    if (InRegion(e.grid())) return Status::Ok();
    return Deny(fmt::format("event {} is outside its region {}", e.id(), actor_.region()));
  }

  // A List or Stats scope: a department, a region, a level or the whole city.
  Status ReadScope(std::string_view department, std::string_view region, bool city_wide) const {
    if (!department.empty()) {
      const pb::Department* d = city_.FindDepartment(department);
      if (d == nullptr) return Status::Ok();  // the processor says NOT_FOUND
      if (InRegion(d->jurisdiction())) return Status::Ok();
      return Deny(fmt::format("department '{}' works outside its region {}", Clip(department),
                              actor_.region()));
    }
    if (!region.empty()) {
      if (city_.FindRegion(region) == nullptr || InRegion(region)) return Status::Ok();
      return Deny(fmt::format("region {} is outside its region {}", Clip(region), actor_.region()));
    }
    if (city_wide && !actor_.region().empty()) {
      return Deny(fmt::format("its region is {}, not the whole city", actor_.region()));
    }
    return Status::Ok();
  }

  Status Region() const {
    const pb::Request& r = request_;
    switch (r.command_case()) {
      case pb::Request::kSubmit: {
        const pb::Report& report = r.submit().report();
        std::string_view grid = report.grid();
        if (grid.empty() && report.has_position()) {
          const pb::Region* located = city_.LocateGrid(report.position());
          if (located != nullptr) grid = located->code();
        }
        // An unknown or missing place is the processor's to reject.
        if (grid.empty() || city_.FindRegion(grid) == nullptr || InRegion(grid)) return Status::Ok();
        return Deny(fmt::format("grid {} is outside its region {}", Clip(grid), actor_.region()));
      }
      case pb::Request::kList:
        return ReadScope(r.list().department(), r.list().region(),
                         r.list().has_level() || r.list().has_city());
      case pb::Request::kStats:
        return ReadScope(r.stats().department(), r.stats().region(), r.stats().has_level());
      case pb::Request::kBoard:
        return ReadScope("", r.board().region(), r.board().region().empty());
      case pb::Request::kRanks:
        return ReadScope("", r.ranks().region(), r.ranks().region().empty());
      case pb::Request::kSetMode:
        return ReadScope("", r.set_mode().region(), r.set_mode().region().empty());
      case pb::Request::kWhistle:
        // The whistle is the supervisor's own: naming a department would put the record, and what
        // the public status and the hotline are told, in that department's name.
        if (!r.whistle().department().empty()) {
          return Deny(fmt::format("a supervisor's whistle names no department, not '{}'",
                                  Clip(r.whistle().department())));
        }
        return ForEachEvent([&](const pb::Event& e) { return EventInRegion(e); });
      default:
        return ForEachEvent([&](const pb::Event& e) { return EventInRegion(e); });
    }
  }

  const google::protobuf::RepeatedPtrField<std::string>& AgentDepartments() {
    return DepartmentsOf(actor_, state_, &single_department_);
  }

  Status Department() {
    const auto& own = AgentDepartments();
    if (own.empty()) return Deny("it acts for no department");
    if (std::none_of(own.begin(), own.end(),
                     [&](const std::string& id) { return city_.FindDepartment(id) != nullptr; })) {
      return Deny(fmt::format("its department '{}' is not in the city's configuration", Clip(own.Get(0))));
    }
    // Reads only: whether `code` lies in the jurisdiction of any of its departments.
    auto within_jurisdiction = [&](std::string_view code) {
      return std::any_of(own.begin(), own.end(), [&](const std::string& id) {
        const pb::Department* d = city_.FindDepartment(id);
        return d != nullptr && city_.Contains(d->jurisdiction(), code);
      });
    };
    const pb::Request& r = request_;
    auto acts_for = [&](std::string_view department) -> Status {
      if (std::binary_search(own.begin(), own.end(), department, std::less<>())) return Status::Ok();
      return Deny(fmt::format("it does not act for department '{}'", Clip(department)));
    };
    auto in_scope = [&](const pb::Event& e) -> Status {
      if (!within_jurisdiction(e.grid())) {
        return Deny(fmt::format("event {} is outside its department's jurisdiction", e.id()));
      }
      return EventInRegion(e);
    };
    auto held = [&](const pb::Event& e) -> Status {
      if (e.lead().empty() || !std::binary_search(own.begin(), own.end(), e.lead())) {
        return Deny(fmt::format("its department does not hold event {}", e.id()));
      }
      return EventInRegion(e);
    };
    auto named = [&](std::string_view department) -> Status {
      if (Status s = acts_for(department); !s.ok()) return s;
      return ForEachEvent([&](const pb::Event& e) { return EventInRegion(e); });
    };
    switch (r.command_case()) {
      case pb::Request::kClaim: return named(r.claim().department());
      case pb::Request::kReturnTask: return named(r.return_task().department());
      case pb::Request::kWhistle: return named(r.whistle().department());
      case pb::Request::kRelease:
      case pb::Request::kProgress:
      case pb::Request::kResolve:
        return ForEachEvent(held);
      case pb::Request::kGet:
        return ForEachEvent(in_scope);
      case pb::Request::kLog:
        return Status::Ok();  // every record, those it may not get withheld (LogProcessor)
      case pb::Request::kList:
      case pb::Request::kStats: {
        bool is_list = r.has_list();
        std::string_view department = is_list ? r.list().department() : r.stats().department();
        std::string_view region = is_list ? r.list().region() : r.stats().region();
        if (!department.empty()) {
          // A department's listing is not cut to a region: a region-scoped agent lists by region.
          if (Status s = acts_for(department); !s.ok()) return s;
          return ReadScope(department, "", false);
        }
        if (region.empty()) return Deny("only its departments or a region within their jurisdiction");
        if (city_.FindRegion(region) != nullptr && !within_jurisdiction(region)) {
          return Deny(fmt::format("region {} is outside its department's jurisdiction", Clip(region)));
        }
        return ReadScope("", region, false);
      }
      default:
        return Deny("");
    }
  }

  const pb::Actor& actor_;
  const pb::Request& request_;
  const EngineState& state_;
  const City& city_;
  google::protobuf::RepeatedPtrField<std::string> single_department_;
};

}  // namespace

std::vector<uint64_t> EventIds(const pb::Request& r) {
  switch (r.command_case()) {
    case pb::Request::kClaim: return {r.claim().event_id()};
    case pb::Request::kRelease: return {r.release().event_id()};
    case pb::Request::kProgress: return {r.progress().event_id()};
    case pb::Request::kResolve: return {r.resolve().event_id()};
    case pb::Request::kReturnTask: return {r.return_task().event_id()};
    case pb::Request::kWhistle: return {r.whistle().event_id()};
    case pb::Request::kSupervise: return {r.supervise().event_id()};
    case pb::Request::kFeedback: return {r.feedback().event_id()};
    case pb::Request::kReopen: return {r.reopen().event_id()};
    case pb::Request::kMerge: return {r.merge().event_id(), r.merge().into_event_id()};
    case pb::Request::kCancel: return {r.cancel().event_id()};
    case pb::Request::kGet: return {r.get().event_id()};  // 0 with submit_request_id: own
    default: return {};
  }
}

bool ReadsWholeLog(pb::Role role, std::string_view region) {
  Scope scope = ScopeFor(role, pb::Request::kLog);
  return scope == Scope::kAny || (scope == Scope::kRegion && region.empty());
}

bool MaySubscribe(const pb::Principal& principal) {
  return ReadsWholeLog(principal.role(), principal.region());
}

ReadReach::ReadReach(const pb::Actor& actor, const EngineState& state)
    : role_(actor.role()),
      principal_(actor.principal()),
      region_(actor.region()),
      city_(state.city()),
      scope_(ScopeFor(actor.role(), pb::Request::kGet)) {
  if (scope_ != Scope::kDepartment) return;
  google::protobuf::RepeatedPtrField<std::string> single;
  for (const std::string& id : DepartmentsOf(actor, state, &single)) {
    const pb::Department* d = city_.FindDepartment(id);
    if (d != nullptr) jurisdictions_.insert(d->jurisdiction());
  }
}

bool ReadReach::whole() const { return ReadsWholeLog(role_, region_); }

bool ReadReach::Covers(const pb::Event& e) const {
  return scope_ == Scope::kOwn ? IsReporter(e, principal_) : CoversGrid(e.grid());
}

bool ReadReach::CoversGrid(std::string_view grid) const {
  auto in_region = [&] { return region_.empty() || city_.Contains(region_, grid); };
  switch (scope_) {
    case Scope::kAny: return true;
    case Scope::kOwn:
      return true;  // the grid cannot tell whose reports its events are
    case Scope::kRegion: return in_region();
    case Scope::kDepartment: {
      // Ancestry needs a known grid; an unknown one is in nobody's jurisdiction.
      if (jurisdictions_.empty() || city_.FindRegion(grid) == nullptr) return false;
      for (const pb::Region* r : city_.Ancestry(grid)) {
        if (jurisdictions_.contains(r->code())) return in_region();
      }
      return false;
    }
    case Scope::kDenied: return false;
  }
  return false;
}

std::optional<std::vector<std::string>> ReadReach::BoundingRegions() const {
  switch (scope_) {
    case Scope::kAny:
    case Scope::kOwn:
      return std::nullopt;
    case Scope::kRegion:
      if (region_.empty()) return std::nullopt;
      return std::vector<std::string>{region_};
    case Scope::kDepartment: {
      // CoversGrid requires a jurisdiction and the region: the narrower of the two where one
      // holds the other, so that a desk held to a community of a city-wide department is found
      // under the community, not looked at for every record of the city.
      if (region_.empty())
        return std::vector<std::string>(jurisdictions_.begin(), jurisdictions_.end());
      std::vector<std::string> regions;
      for (std::string_view j : jurisdictions_) {
        if (city_.Contains(j, region_)) return std::vector<std::string>{region_};
        if (city_.Contains(region_, j)) regions.emplace_back(j);
      }
      return regions;
    }
    case Scope::kDenied:
      return std::vector<std::string>{};
  }
  return std::vector<std::string>{};
}

Scope ScopeFor(pb::Role role, Case command) {
  Row row = RowFor(command);
  switch (role) {
    case pb::ROLE_REPORTER: return row.reporter;
    case pb::ROLE_AGENT: return row.agent;
    case pb::ROLE_HOTLINE: return row.hotline;
    case pb::ROLE_SUPERVISOR: return row.supervisor;
    case pb::ROLE_ADMIN: return row.admin;
    case pb::ROLE_CONSOLE: return row.console;
    case pb::ROLE_VIEWER: return row.viewer;
    case pb::ROLE_DEV: return Scope::kAny;
    case pb::ROLE_SYSTEM:  // the dispatcher itself, registering the first admin at start-up
      return command == pb::Request::kCreatePrincipal ? Scope::kAny : Scope::kDenied;
    default: return Scope::kDenied;
  }
}

Status Authorize(const pb::Actor& actor, const pb::Request& request, const EngineState& state) {
  // The server let the key in when it read the request; a revocation decided before this request
  // in the same batch (read in the same turn) must stop it too.
  if (const pb::Principal* p = state.FindPrincipal(actor.principal()); p != nullptr && p->revoked_at_ms() != 0) {
    return Unauthenticated(fmt::format("principal '{}' is revoked", actor.principal()));
  }
  return Check(actor, request, state).Run(ScopeFor(actor.role(), request.command_case()));
}

std::string_view CommandName(Case command) {
  if (command == pb::Request::COMMAND_NOT_SET) return "send an empty request";
  const auto* field = pb::Request::descriptor()->FindFieldByNumber(static_cast<int>(command));
  return field == nullptr ? std::string_view("do that") : std::string_view(field->name());
}

std::string_view RoleName(pb::Role role) {
  switch (role) {
    case pb::ROLE_REPORTER: return "reporter";
    case pb::ROLE_AGENT: return "agent";
    case pb::ROLE_HOTLINE: return "hotline";
    case pb::ROLE_SUPERVISOR: return "supervisor";
    case pb::ROLE_ADMIN: return "admin";
    case pb::ROLE_CONSOLE: return "console";
    case pb::ROLE_VIEWER: return "viewer";
    case pb::ROLE_SYSTEM: return "system";
    case pb::ROLE_DEV: return "dev";
    default: return "unknown role";
  }
}

}  // namespace whistle
