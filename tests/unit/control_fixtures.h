// Values shared by the control and route tests.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "lib/control/control_file.h"
#include "lib/control/routes.h"

namespace qr::test {

// Lines numbered 1, 2, ... as read_control_lines would give them.
inline std::vector<ControlLine> numbered(std::initializer_list<const char*> texts) {
  std::vector<ControlLine> lines;
  int n = 0;
  for (const char* t : texts) lines.push_back(ControlLine{++n, t});
  return lines;
}

// The REMOTE_ADDRS item `mx`.
inline Endpoint mx() {
  Endpoint e;
  e.is_mx = true;
  return e;
}

// A host name or IPv4/IPv6 item, as parse_remote_addrs gives it.
inline Endpoint at(const char* host, uint16_t port = 25) {
  Endpoint e;
  e.host = host;
  e.ip = IpAddr::parse(host);
  e.port = port;
  return e;
}

using Files = std::map<std::string, std::string>;

// A control directory under /tmp, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const Files& files = {}) {
    char tmpl[] = "/tmp/qr-control-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
    for (const auto& [name, text] : files) write(name, text);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // NAME may name a subdirectory ("notlshosts/mx1.example"): it is made.
  void write(const std::string& name, const std::string& text) const {
    std::filesystem::path p(path_ + "/" + name);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

 private:
  std::string path_;
};

}  // namespace qr::test
