#include "whistle/prometheus.h"

#include <cmath>

#include <fmt/format.h>

namespace whistle {
namespace {

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string Escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);  // shortest form that reads back exactly
}

}  // namespace

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, Escape(help, false), name, type);
}

void PrometheusText::Line(std::string_view name, const PrometheusLabels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += fmt::format("{}=\"{}\"", labels[i].first, Escape(labels[i].second, true));
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += Number(value);
  out_ += '\n';
}

void PrometheusText::Sample(std::string_view name, const PrometheusLabels& labels, double value) {
  Line(name, labels, value);
}

void PrometheusText::Histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                               std::span<const uint64_t> bounds, double divisor,
                               const PrometheusLabels& labels) {
  if (!help.empty()) Family(name, "histogram", help);
  std::string bucket = fmt::format("{}_bucket", name);
  uint64_t last_le = UINT64_MAX;
  for (uint64_t bound : bounds) {
    uint64_t le = whistle::Histogram::BucketHigh(whistle::Histogram::BucketOf(bound));
    if (le == last_le) continue;  // two bounds in one bucket
    last_le = le;
    PrometheusLabels with_le = labels;
    with_le.emplace_back("le", Number(static_cast<double>(le) / divisor));
    Line(bucket, with_le, static_cast<double>(h.CountAtMost(le)));
  }
  PrometheusLabels inf = labels;
  inf.emplace_back("le", "+Inf");
  Line(bucket, inf, static_cast<double>(h.count()));
  Line(fmt::format("{}_sum", name), labels, static_cast<double>(h.sum()) / divisor);
  Line(fmt::format("{}_count", name), labels, static_cast<double>(h.count()));
}

}  // namespace whistle
