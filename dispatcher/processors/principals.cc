// Principals: who may connect (a CURVE public key) and what it may do (authorization.h).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "dispatcher/authorization.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {
namespace {

constexpr size_t kMaxPrincipalNameBytes = 64;

Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > kMaxPrincipalNameBytes) {
    return BadRequest(fmt::format("a principal's name is 1 to {} characters", kMaxPrincipalNameBytes));
  }
  auto allowed = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
           c == '.' || c == '_' || c == '-';
  };
  if (!std::all_of(name.begin(), name.end(), allowed) ||
      !std::isalnum(static_cast<unsigned char>(name.front()))) {
    return BadRequest(fmt::format("principal name '{}' must be lower-case letters, digits, '.', '_' "
                                  "and '-', starting with a letter or digit", Clip(name)));
  }
  // A --dev-no-auth dispatcher acts as "dev": a real principal of that name would inherit its
  // idempotency entries.
  if (name == "dev") return BadRequest("the name 'dev' is reserved for --dev-no-auth");
  return Status::Ok();
}

constexpr int kMaxDepartmentsPerPrincipal = 4096;

// Checks the principal's departments and region, and sorts the departments (authorization looks
// them up by binary search).
Status CheckScope(pb::Principal* p, const City& city) {
  const bool agent = p->role() == pb::ROLE_AGENT;
  auto* departments = p->mutable_departments();
  if (agent && departments->empty()) return BadRequest("an agent needs its department");
  if (!agent && !departments->empty()) {
    return BadRequest(fmt::format("only agents act for departments, not a {}", RoleName(p->role())));
  }
  if (departments->size() > kMaxDepartmentsPerPrincipal) {
    return BadRequest(fmt::format("a principal acts for at most {} departments", kMaxDepartmentsPerPrincipal));
  }
  std::sort(departments->begin(), departments->end());
  if (std::adjacent_find(departments->begin(), departments->end()) != departments->end()) {
    return BadRequest("a department is named twice");
  }
  if ((p->role() == pb::ROLE_CONSOLE || p->role() == pb::ROLE_VIEWER) && !p->region().empty()) {
    return BadRequest(fmt::format("a {} reads the whole city: it has no region", RoleName(p->role())));
  }
  const pb::Region* region = nullptr;
  if (!p->region().empty()) {
    region = city.FindRegion(p->region());
    if (region == nullptr) return NotFound(fmt::format("unknown region '{}'", Clip(p->region())));
  }
  for (const std::string& id : *departments) {
    auto d = RequireDepartment(city, id);
    if (!d.ok()) return d.status();
    if (region != nullptr && !city.Contains((*d)->jurisdiction(), region->code()) &&
        !city.Contains(region->code(), (*d)->jurisdiction())) {
      return BadRequest(fmt::format("region {} and department '{}''s jurisdiction {} do not overlap",
                                    region->code(), id, (*d)->jurisdiction()));
    }
  }
  return Status::Ok();
}

size_t ActiveAdmins(const EngineState& state) {
  return static_cast<size_t>(std::count_if(
      state.principals().begin(), state.principals().end(), [](const auto& entry) {
        return entry.second.role() == pb::ROLE_ADMIN && entry.second.revoked_at_ms() == 0;
      }));
}

}  // namespace

Result<Decision> CreatePrincipalProcessor::Decide(const Command& command, const EngineState& state,
                                                  int64_t now_ms) const {
  pb::Principal p = command.request.create_principal().principal();
  if (Status s = CheckName(p.name()); !s.ok()) return s;
  switch (p.role()) {
    case pb::ROLE_REPORTER:
    case pb::ROLE_AGENT:
    case pb::ROLE_HOTLINE:
    case pb::ROLE_SUPERVISOR:
    case pb::ROLE_ADMIN:
    case pb::ROLE_CONSOLE:
    case pb::ROLE_VIEWER:
      break;
    default:
      return BadRequest("role must be reporter, agent, hotline, supervisor, admin, console or viewer");
  }
  if (Status s = CheckScope(&p, state.city()); !s.ok()) return s;
  if (p.public_key().size() != 32) {
    return BadRequest(fmt::format("public_key is a 32-byte CURVE key, not {} bytes", p.public_key().size()));
  }
  if (Status s = CheckText("note", p.note(), false); !s.ok()) return s;
  if (state.FindPrincipal(p.name()) != nullptr) {
    // Names are never reused, so the log always says unambiguously who did what.
    return IllegalTransition(fmt::format("principal '{}' already exists", p.name()));
  }
  if (const pb::Principal* other = state.FindActivePrincipalByKey(p.public_key())) {
    return IllegalTransition(fmt::format("that public key belongs to principal '{}'", other->name()));
  }

  Decision d;
  pb::Principal* created = d.Add(0, now_ms, command.actor).mutable_principal_created()->mutable_principal();
  created->set_name(p.name());
  created->set_role(p.role());
  *created->mutable_departments() = p.departments();
  created->set_region(p.region());
  created->set_public_key(p.public_key());
  created->set_note(p.note());
  created->set_created_at_ms(now_ms);
  created->set_created_by(command.actor.principal());
  pb::Response reply;
  *reply.mutable_principal() = *created;
  d.reply = std::move(reply);
  return d;
}

Result<Decision> RevokePrincipalProcessor::Decide(const Command& command, const EngineState& state,
                                                  int64_t now_ms) const {
  const pb::RevokePrincipalCommand& c = command.request.revoke_principal();
  const pb::Principal* p = state.FindPrincipal(c.name());
  if (p == nullptr) return NotFound(fmt::format("no principal '{}'", Clip(c.name())));
  if (Status s = CheckText("reason", c.reason(), false); !s.ok()) return s;
  if (p->revoked_at_ms() != 0) {
    return IllegalTransition(fmt::format("principal '{}' is already revoked", p->name()));
  }
  if (p->role() == pb::ROLE_ADMIN && ActiveAdmins(state) == 1) {
    return IllegalTransition(fmt::format(
        "'{}' is the last active admin: create another admin before revoking it", p->name()));
  }
  Decision d;
  pb::PrincipalRevoked* revoked = d.Add(0, now_ms, command.actor).mutable_principal_revoked();
  revoked->set_name(p->name());
  revoked->set_reason(c.reason());
  pb::Response reply;
  *reply.mutable_principal() = *p;
  reply.mutable_principal()->set_revoked_at_ms(now_ms);
  reply.mutable_principal()->set_revoked_by(command.actor.principal());
  d.reply = std::move(reply);
  return d;
}

Result<pb::Response> ListPrincipalsProcessor::Answer(const Command&, const EngineState& state) const {
  pb::Response reply;
  for (const auto& [name, p] : state.principals()) *reply.mutable_principals()->add_principals() = p;
  return reply;
}

Result<pb::Response> WhoAmIProcessor::Answer(const Command& command, const EngineState& state) const {
  pb::Response reply;
  if (const pb::Principal* p = state.FindPrincipal(command.actor.principal())) {
    *reply.mutable_principal() = *p;
  } else {  // --dev-no-auth, or a test's actor: who the engine was told it is
    pb::Principal* told = reply.mutable_principal();
    told->set_name(command.actor.principal());
    told->set_role(command.actor.role());
    if (!command.actor.department().empty()) told->add_departments(command.actor.department());
    told->set_region(command.actor.region());
  }
  return reply;
}

}  // namespace whistle
