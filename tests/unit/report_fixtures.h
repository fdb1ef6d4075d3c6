// What a Report wrote to fd 1, for the report and redact tests.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "lib/report.h"

namespace qr::test {

// Everything a Report filled by `fill` wrote to a pipe.
inline std::string written(const std::function<void(Report&)>& fill) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  {
    Report r(p[1]);
    fill(r);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  ::close(p[0]);
  return out;
}

}  // namespace qr::test
