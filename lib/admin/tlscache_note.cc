#include "lib/admin/tlscache_note.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "lib/tls/session_cache.h"

namespace qr {

std::optional<std::string> tlscache_note(const std::string& control_dir, const Account* account) {
  const std::string dir = session_cache_dir_for(control_dir);
  const std::string owner = account ? account->name + ":" + account->group : "qmailr:qmail";
  const std::string make = "install -d -m 0700 -o " + owner.substr(0, owner.find(':')) + " -g " +
                           owner.substr(owner.find(':') + 1) + " " + dir;
  const std::string lead = "queue/tlscache: note: ";
  const std::string cost =
      "TLS sessions are not kept, so every STARTTLS delivery makes a full "
      "handshake (SPEC §15)";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return lead + dir + ": " + std::strerror(errno) + ": " + cost + "; to keep them: " + make;
  }
  if (!S_ISDIR(st.st_mode)) return lead + dir + " is not a directory: " + cost;
  const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  const bool not_owner = account != nullptr && st.st_uid != account->uid;
  if (others_write || not_owner) {
    return lead + dir + (not_owner ? " is not owned by " + account->name : "") +
           (others_write ? std::string(not_owner ? " and" : "") + " is writable by others" : "") +
           ", so qmail-remote does not use it (the files hold session secrets): " + cost +
           "; fix: chown " + owner + " " + dir + " && chmod 0700 " + dir;
  }
  return std::nullopt;
}

}  // namespace qr
