// doctest's implementation, without its main: libFuzzer has the main.
// tests/testing/engine_fixture.cc (testing::DumpAll) asserts with doctest, which outside a test
// needs a context and a handler.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_support.h"

namespace whistle::fuzz {

void InstallDoctestOutsideTests() {
  static doctest::Context* context = [] {
    auto* c = new doctest::Context();  // never destroyed: assertions may run until exit
    c->setAsDefaultForAssertsOutOfTestCases();
    c->setAssertHandler([](const doctest::AssertData& ad) {
      std::fprintf(stderr, "%s:%d: doctest assertion failed outside a test: %s (%s)\n", ad.m_file,
                   ad.m_line, ad.m_expr, ad.m_decomp.c_str());
      std::abort();
    });
    return c;
  }();
  (void)context;
}

}  // namespace whistle::fuzz
