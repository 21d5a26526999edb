// SubmitAdmission: which Submits a turn of the server's loop admits (server.h, "Overload").
//
// A Submit is shed (answered BUSY from its wire bytes, retried by the client with the same
// request id) when admitting it would take the requests staged for the writer and this turn's
// batch past max_batch, and also while the last turn that read anything took max_batch commands
// other than Submits. Those (claims, progress, resolves, feedback, ...) are never shed: when they
// fill a batch by themselves, the reports already admitted have that much work in progress, and
// new ones would only queue in front of it. Queries are not work in progress: a client that
// queries without pause holds back no report (beyond the room its queries take in a batch). At 10x capacity, admitting a batch's worth of
// Submits every turn outran what their claims and resolves could be served at: claims waited
// 16-38 s and 4,000-28,000 requests were still unanswered 30 s after the load ended
// (docs/BENCHMARKS.md, "Overload").
//
// A turn that reads only Submits sheds them all and takes none, so the next turn admits again:
// Submits are held back while work in progress fills batches, never starved after it. A turn that
// read nothing tells nothing, so the first Submit after a quiet spell that followed such a turn
// is answered BUSY once.
// Threading: the server's loop only.
#pragma once

#include <cstddef>

namespace whistle {

class SubmitAdmission {
 public:
  explicit SubmitAdmission(size_t max_batch) : max_batch_(max_batch) {}

  // Whether a Submit read now is taken, with `staged` requests waiting for the writer and
  // `in_batch` already in this turn's batch.
  bool Admits(size_t staged, size_t in_batch) const {
    return !work_in_progress_fills_a_batch_ && staged + in_batch < max_batch_;
  }
  // The end of a turn that read `read` requests (held ones included) and took `others` commands
  // into its batch that are not Submits. A turn that read nothing changes nothing.
  void EndTurn(size_t read, size_t others) {
    if (read > 0) work_in_progress_fills_a_batch_ = others >= max_batch_;
  }

 private:
  size_t max_batch_;
  bool work_in_progress_fills_a_batch_ = false;
};

}  // namespace whistle
