#include "dispatcher/lifecycle.h"

#include <algorithm>
#include <cctype>
#include <array>

#include <fmt/format.h>

namespace whistle {
namespace {

constexpr int kStateCount = pb::EventState_ARRAYSIZE;

// Rows: states in enum order. Columns: actions in enum order.
//                          Clm Ass Rel Prg Res Ret Whi Sup Fbk Reo MSr MTg Can Rpl CDl RDl ACl
constexpr bool kTable[kStateCount][kActionCount] = {
    /* UNSPECIFIED */ {0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* SUBMITTED   */ {0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* DISPATCHED  */ {1,  0,  0,  0,  0,  1,  1,  1,  0,  0,  1,  1,  1,  1,  1,  0,  0},
    /* CLAIMED     */ {0,  1,  1,  1,  1,  1,  1,  1,  0,  0,  1,  1,  1,  1,  0,  1,  0},
    /* IN_PROGRESS */ {0,  1,  1,  1,  1,  1,  1,  1,  0,  0,  1,  1,  1,  1,  0,  1,  0},
    /* RESOLVED    */ {0,  0,  0,  0,  0,  0,  0,  0,  1,  1,  0,  0,  0,  0,  0,  0,  1},
    /* CLOSED      */ {0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  0,  0,  0,  0},
    /* REOPENED    */ {0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* CANCELLED   */ {0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
    /* MERGED      */ {0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0},
};

constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "claim",   "assist",       "release",      "report progress on", "resolve",
    "return",  "whistle",      "supervise",    "give feedback on",   "reopen",
    "merge",   "merge into",   "cancel",       "re-plan",            "escalate at the claim deadline of",
    "escalate at the resolve deadline of", "auto-close"};

}  // namespace

std::string_view ActionName(Action action) { return kActionNames[static_cast<int>(action)]; }

std::string_view StateName(pb::EventState state) {
  const std::string& name = pb::EventState_Name(state);
  std::string_view v = name;
  if (v.rfind("STATE_", 0) == 0) v.remove_prefix(6);
  return v;
}

std::string StateKey(pb::EventState state) {
  std::string key(StateName(state));
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

std::vector<std::string_view> InvolvedDepartments(const pb::Event& e) {
  std::vector<std::string_view> out(e.candidates().begin(), e.candidates().end());
  if (!e.lead().empty()) out.push_back(e.lead());
  out.insert(out.end(), e.assists().begin(), e.assists().end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string_view> Reporters(const pb::Event& e) {
  std::vector<std::string_view> out;
  out.reserve(1 + e.linked_principals_size() + e.linked_size());
  if (!e.submitted_by().empty()) out.push_back(e.submitted_by());
  out.insert(out.end(), e.linked_principals().begin(), e.linked_principals().end());
  for (const pb::LinkedReport& link : e.linked()) {
    if (!link.principal().empty()) out.push_back(link.principal());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool IsReporter(const pb::Event& e, std::string_view principal) {
  if (principal.empty()) return false;
  if (e.submitted_by() == principal) return true;
  if (std::binary_search(e.linked_principals().begin(), e.linked_principals().end(), principal)) {
    return true;
  }
  return std::any_of(e.linked().begin(), e.linked().end(),
                     [&](const pb::LinkedReport& link) { return link.principal() == principal; });
}

namespace {

// Into the sorted linked_principals, once.
void AddLinkedPrincipal(pb::Event* e, const std::string& principal) {
  if (principal.empty() || principal == e->submitted_by()) return;
  auto* names = e->mutable_linked_principals();
  auto at = std::lower_bound(names->begin(), names->end(), principal);
  if (at != names->end() && *at == principal) return;
  const auto index = at - names->begin();
  names->Add(std::string(principal));
  std::rotate(names->begin() + index, names->end() - 1, names->end());
}

}  // namespace

void AddLinked(pb::Event* e, const pb::ReportLinked& linked) {
  if (e->linked_count() == 0 && e->linked_size() > 0) {
    // Written before the window: every link it has is in `linked`.
    e->set_linked_count(static_cast<uint32_t>(e->linked_size()));
    for (const pb::LinkedReport& link : e->linked()) AddLinkedPrincipal(e, link.principal());
  }
  e->set_linked_count(e->linked_count() + 1 + linked.carried_links());
  AddLinkedPrincipal(e, linked.link().principal());
  for (const std::string& p : linked.carried_principals()) AddLinkedPrincipal(e, p);
  *e->add_linked() = linked.link();
  if (e->linked_size() > kLinkedWindow) {
    // Those leaving the window keep their principals: an older version that linked reports to
    // this event kept them only in `linked`, uncounted.
    const int leaving = e->linked_size() - kLinkedWindow;
    for (int i = 0; i < leaving; ++i) AddLinkedPrincipal(e, e->linked(i).principal());
    e->set_linked_count(std::max(e->linked_count(), static_cast<uint32_t>(e->linked_size())));
    e->mutable_linked()->DeleteSubrange(0, leaving);
  }
}

bool Allows(pb::EventState state, Action action) {
  int s = static_cast<int>(state);
  if (s < 0 || s >= kStateCount) return false;
  return kTable[s][static_cast<int>(action)];
}

Status CheckTransition(const pb::Event& event, Action action) {
  if (Allows(event.state(), action)) return Status::Ok();
  return IllegalTransition(fmt::format("cannot {} event {}: it is {}", ActionName(action),
                                       event.id(), StateName(event.state())));
}

}  // namespace whistle
