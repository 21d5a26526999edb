// WHISTLE_CHECK: an always-on assertion for invariants whose breach means the process can no
// longer be trusted (a corrupt record, a timer for an unknown event). It logs and aborts; restart
// and recovery are cheap, acting on a broken state is not. Bad input is never a CHECK: it gets an
// error reply (status.h).
#pragma once

#include <cstdio>
#include <cstdlib>

#define WHISTLE_CHECK(cond, ...)                                                   \
  do {                                                                             \
    if (!(cond)) [[unlikely]] {                                                    \
      std::fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                           \
      std::fputc('\n', stderr);                                                    \
      std::abort();                                                                \
    }                                                                              \
  } while (0)
