// SubmitAdmission: which Submits a turn of the server's loop takes under load.
#include <doctest/doctest.h>

#include "dispatcher/submit_admission.h"

namespace whistle {
namespace {

TEST_CASE("submits are admitted while the staged requests and the turn's batch stay under max_batch") {
  SubmitAdmission admission(4);
  CHECK(admission.Admits(0, 0));
  CHECK(admission.Admits(2, 1));
  CHECK_FALSE(admission.Admits(2, 2));
  CHECK_FALSE(admission.Admits(4, 0));
  CHECK_FALSE(admission.Admits(0, 4));
}

TEST_CASE("after a turn whose other requests filled a batch, no submit is admitted until a turn reads less work in progress") {
  SubmitAdmission admission(4);
  admission.EndTurn(/*read=*/10, /*others=*/3);  // submits made up the rest: admitted or shed
  CHECK(admission.Admits(0, 0));

  admission.EndTurn(/*read=*/6, /*others=*/4);  // claims, resolves, queries: a batch of them
  CHECK_FALSE(admission.Admits(0, 0));
  admission.EndTurn(/*read=*/0, /*others=*/0);  // a turn that read nothing tells nothing
  CHECK_FALSE(admission.Admits(0, 0));

  // A turn that read only submits shed them all: the next admits again, so submits are never
  // starved once the work in progress no longer fills a batch.
  admission.EndTurn(/*read=*/7, /*others=*/0);
  CHECK(admission.Admits(0, 0));
  CHECK(admission.Admits(3, 0));
  CHECK_FALSE(admission.Admits(3, 1));
}

}  // namespace
}  // namespace whistle
