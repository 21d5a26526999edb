#include "tools/describe.h"

#include <algorithm>

#include <fmt/format.h>

#include "dispatcher/iso8601.h"
#include "dispatcher/lifecycle.h"

namespace whistle {
namespace {

std::string_view CauseText(pb::EscalationCause cause) {
  switch (cause) {
    case pb::ESCALATION_CLAIM_DEADLINE: return "claim deadline missed";
    case pb::ESCALATION_RESOLVE_DEADLINE: return "resolve deadline missed";
    case pb::ESCALATION_WHISTLE: return "whistle blown";
    case pb::ESCALATION_ALL_RETURNED: return "every department returned it";
    default: return "unknown cause";
  }
}

std::string Body(const City* city, const pb::Record& r) {
  switch (r.body_case()) {
    case pb::Record::kSubmitted: {
      const auto& s = r.submitted();
      const pb::Category* c = city ? city->FindCategory(s.report().category()) : nullptr;
      return fmt::format("submitted by {}: {} in grid {}", s.report().reporter().empty() ? "anonymous" : s.report().reporter(),
                         c ? c->name() : s.report().category(), s.grid());
    }
    case pb::Record::kDispatched:
      return fmt::format("dispatched at {} level to {}", LevelName(r.dispatched().level()),
                         DepartmentLabels(city, r.dispatched().candidates()));
    case pb::Record::kClaimed:
      return fmt::format("claimed by {} (claim {}{})", DepartmentLabel(city, r.claimed().department()),
                         r.claimed().claim_number(), r.claimed().in_time() ? "" : ", late");
    case pb::Record::kAssistJoined:
      return fmt::format("{} joins to assist", DepartmentLabel(city, r.assist_joined().department()));
    case pb::Record::kReleased:
      return fmt::format("released by {}", DepartmentLabel(city, r.released().department()));
    case pb::Record::kProgressed:
      return fmt::format("progress: {}", r.progressed().note());
    case pb::Record::kResolved:
      return fmt::format("resolved by {}: {}", DepartmentLabel(city, r.resolved().department()), r.resolved().note());
    case pb::Record::kReturned:
      return fmt::format("returned by {}: {}", DepartmentLabel(city, r.returned().department()), r.returned().reason());
    case pb::Record::kWhistled:
      if (r.whistled().department().empty()) {
        return fmt::format("whistle blown by supervisor {}: {}", r.actor().principal(), r.whistled().reason());
      }
      return fmt::format("whistle blown by {}: {}", DepartmentLabel(city, r.whistled().department()), r.whistled().reason());
    case pb::Record::kEscalated: {
      // Who answers for the climb, as the statistics count it (dispatcher/appliers.h).
      const pb::Escalated& up = r.escalated();
      std::string line = fmt::format("escalated {} -> {} ({}", LevelName(up.from_level()),
                                     LevelName(up.to_level()), CauseText(up.cause()));
      if (!up.holder().empty()) {
        line +=
            fmt::format("; unresolved by {}, which held it", DepartmentLabel(city, up.holder()));
      } else if (!up.released_by().empty()) {
        line += fmt::format("; unresolved by {}, which gave it back",
                            DepartmentLabel(city, up.released_by()));
      }
      return line + ")";
    }
    case pb::Record::kMarkedOverdue:
      return fmt::format("OVERDUE at city level ({}); flagged for supervision", CauseText(r.marked_overdue().cause()));
    case pb::Record::kSupervised:
      return fmt::format("supervised: {}", r.supervised().note());
    case pb::Record::kFeedbackGiven:
      return fmt::format("feedback: {} ({}/5)", r.feedback_given().feedback().satisfied() ? "satisfied" : "NOT satisfied",
                         r.feedback_given().feedback().score());
    case pb::Record::kReopened:
      return fmt::format("reopened: {}", r.reopened().reason());
    case pb::Record::kMergedInto:
      return fmt::format("merged into event {}", r.merged_into().into_event_id());
    case pb::Record::kReportLinked:
      if (r.report_linked().link().event_id() == 0) {
        return fmt::format("repeat report linked from {}", r.report_linked().link().reporter());
      }
      return fmt::format("report of {} linked, with event {} merged in{}", r.report_linked().link().reporter(),
                         r.report_linked().link().event_id(),
                         r.report_linked().carried_links() == 0
                             ? ""
                             : fmt::format(" and the {} report(s) linked to it", r.report_linked().carried_links()));
    case pb::Record::kCancelled:
      return fmt::format("cancelled: {}", r.cancelled().reason());
    case pb::Record::kClosed:
      return r.closed().cause() == pb::CLOSE_SATISFIED ? "closed" : "closed after the quiet period";
    case pb::Record::kDeadlinesReplanned:
      return fmt::format("deadlines re-planned for {} mode",
                         r.deadlines_replanned().mode() == pb::MODE_EMERGENCY ? "emergency" : "normal");
    case pb::Record::kModeChanged:
      return fmt::format("region {} switched to {} mode", r.mode_changed().region(),
                         r.mode_changed().mode() == pb::MODE_EMERGENCY ? "emergency" : "normal");
    case pb::Record::kPrincipalCreated:
      return fmt::format("principal {} created by {}", r.principal_created().principal().name(),
                         r.actor().principal());
    case pb::Record::kPrincipalRevoked:
      return fmt::format("principal {} revoked by {}", r.principal_revoked().name(),
                         r.actor().principal());
    case pb::Record::BODY_NOT_SET:
      break;
  }
  return "(empty record)";
}

}  // namespace

std::string LocalTime(int64_t at_ms, int32_t utc_offset_minutes) {
  LocalCalendar t = ToLocalCalendar(at_ms, utc_offset_minutes);
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}", t.year, t.month, t.day, t.hour, t.minute);
}

std::string DepartmentLabel(const City& city, const std::string& id) {
  return DepartmentLabel(&city, id);
}

std::string DepartmentLabel(const City* city, const std::string& id) {
  const pb::Department* d = city ? city->FindDepartment(id) : nullptr;
  return d ? fmt::format("{} ({})", d->name(), id) : id;
}

std::string DepartmentLabels(const City* city,
                             const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<std::string> labels;
  for (const auto& id : ids) labels.push_back(DepartmentLabel(city, id));
  return fmt::format("{}", fmt::join(labels, ", "));
}

std::string CategoryLabel(const City* city, const std::string& code) {
  const pb::Category* c = city ? city->FindCategory(code) : nullptr;
  return c ? fmt::format("{} ({})", c->name(), code) : code;
}

std::string DescribeRecord(const City& city, const pb::Record& r) {
  return DescribeRecord(&city, city.settings().utc_offset_minutes(), r);
}

std::string DescribeRecord(const City* city, int32_t utc_offset_minutes, const pb::Record& r) {
  return fmt::format("{}  {}", LocalTime(r.at_ms(), utc_offset_minutes), Body(city, r));
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())))];
}

std::string RatesHeader(std::string_view month) {
  return fmt::format("  rates for {} by level     响应率 response   解决率 resolution   满意率 satisfaction\n", month);
}

std::string RatesRow(pb::Level level, const pb::Rates& r) {
  auto pct = [](bool has, double v) { return has ? fmt::format("{:6.1f}%", 100 * v) : std::string("     -"); };
  return fmt::format("    {:<10}                {}          {}            {}\n", LevelName(level),
                     pct(r.has_response_rate(), r.response_rate()),
                     pct(r.has_resolution_rate(), r.resolution_rate()),
                     pct(r.has_satisfaction_rate(), r.satisfaction_rate()));
}

}  // namespace whistle
