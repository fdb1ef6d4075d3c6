// Helpers shared by the libFuzzer targets (fuzz/README.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lib/control/control_file.h"

namespace qr::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property that does not hold is a finding: say which, then abort so
// libFuzzer keeps the input.
#define FUZZ_CHECK(cond)                                                           \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

// The lines of a control file as read_control_lines() makes them: split at
// LF, trailing spaces, tabs and CRs stripped, blank and '#' lines dropped.
inline std::vector<ControlLine> control_lines(std::string_view text) {
  std::vector<ControlLine> lines;
  for (int number = 1; !text.empty(); ++number) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    lines.push_back(ControlLine{number, std::string(line)});
  }
  return lines;
}

// Splits the input at the first NUL: two texts for targets that need two.
inline std::pair<std::string_view, std::string_view> split_nul(std::string_view text) {
  size_t z = text.find('\0');
  if (z == std::string_view::npos) return {text, {}};
  return {text.substr(0, z), text.substr(z + 1)};
}

}  // namespace qr::fuzz
