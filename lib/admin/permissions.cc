#include "lib/admin/permissions.h"

#include <dirent.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "lib/admin/entries.h"
#include "lib/admin/text_file.h"

namespace qr {

namespace {

std::string user_name(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw ? pw->pw_name : std::to_string(uid);
}

std::string group_name(gid_t gid) {
  const group* gr = ::getgrgid(gid);
  return gr ? gr->gr_name : std::to_string(gid);
}

bool in_groups(const Account& a, gid_t gid) {
  return std::find(a.groups.begin(), a.groups.end(), gid) != a.groups.end();
}

// Quoted for a POSIX shell when it holds anything but the usual path
// characters, so the printed command can be pasted as it is.
std::string shell_quote(const std::string& s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+,:=@%", c);
  });
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool has_acl(const std::string& path) {
  return ::getxattr(path.c_str(), "system.posix_acl_access", nullptr, 0) > 0;
}

// Files that hold a password or a private key. routes always counts: it is
// the file meant for passwords, and one may be added by hand tomorrow.
bool secret_by_nature(const std::string& name) {
  return name == "routes" || name == "clientcert.pem";
}

// Whether the file holds a secret now (read as the one running check).
bool holds_secret(const std::string& dir, const std::string& name) {
  if (name == "clientcert.pem") return true;  // the client's private key
  if (name != "routes" && name != "smtproutes") return false;
  auto file = read_text_file(dir, name);
  if (!file) return false;
  if (name == "smtproutes") {
    // Only the AUTH patch's form "domain:relay:port|user|pass" has a '|'.
    for (const ControlLine& l : control_lines(*file))
      if (l.text.find('|') != std::string::npos) return true;
    return false;
  }
  for (const RouteLine& r : route_lines(*file))
    if (r.fields.size() > 4 && !r.fields[4].empty()) return true;
  return false;
}

class Checker {
 public:
  explicit Checker(const Account* account) : account_(account) {}

  // Every directory a lookup of `path` walks through: the prefixes of the
  // path as written (a symlink is read in its parent), and those of the
  // path it resolves to.
  void directories_of(const std::string& path) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(path, ec);
    if (ec) return;
    walk_prefixes(abs.lexically_normal().parent_path());
    std::unique_ptr<char, void (*)(void*)> real(::realpath(path.c_str(), nullptr), std::free);
    if (real) walk_prefixes(std::filesystem::path(real.get()).parent_path());
  }

  // `label` is what the problem names ("control/routes").
  void entry(const std::string& label, const std::string& path, Need need, bool secret,
             bool secret_now) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return;  // missing: the default applies (SPEC §3)
      problem(label, fmt::format("cannot check who can read it: {}", std::strerror(errno)));
      return;
    }
    Inode inode{st.st_uid, st.st_gid, st.st_mode};
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) directories_of(path);
    if (account_ && !may(*account_, inode, need)) {
      problem(label,
              fmt::format("{} cannot {} it ({}): {}{}", account_->name,
                          need == Need::Read ? "read" : "search", describe(inode),
                          fix_command(path, inode, *account_, need, secret), acl_note(path, need)));
      return;
    }
    if (secret_now && (inode.mode & S_IROTH)) problem(label, secret_text(path, inode));
  }

  std::vector<std::string> take() { return std::move(out_); }

 private:
  std::string secret_text(const std::string& path, const Inode& inode) const {
    std::string fix = account_
                          ? fix_command(path, inode, *account_, Need::Read, true)
                          : fmt::format("chmod {:04o} {}", inode.mode & 07770, shell_quote(path));
    return fmt::format("holds a password or key and every user can read it ({}): {}",
                       describe(inode), fix);
  }

  void walk_prefixes(const std::filesystem::path& dir) {
    std::filesystem::path prefix;
    for (const auto& part : dir) {
      prefix /= part;
      std::string p = prefix.string();
      std::unique_ptr<char, void (*)(void*)> real(::realpath(p.c_str(), nullptr), std::free);
      if (!seen_.insert(real ? real.get() : p).second) continue;
      entry(p, p, Need::Search, false, false);
    }
  }

  static std::string describe(const Inode& inode) {
    return fmt::format("{:04o} {}:{}", inode.mode & 07777, user_name(inode.uid),
                       group_name(inode.gid));
  }

  std::string acl_note(const std::string& path, Need need) const {
    if (!has_acl(path)) return "";
    return fmt::format(
        " (it has an ACL, which this check does not read: `runuser -u {} -- test -{} {}` tells)",
        account_->name, need == Need::Read ? 'r' : 'x', shell_quote(path));
  }

  void problem(const std::string& label, const std::string& what) {
    out_.push_back(label + ": " + what);
  }

  const Account* account_;
  std::set<std::string> seen_;
  std::vector<std::string> out_;
};

}  // namespace

std::optional<Account> find_account(const std::string& name) {
  const passwd* pw = ::getpwnam(name.c_str());
  if (!pw) return std::nullopt;
  Account a;
  a.name = pw->pw_name;
  a.uid = pw->pw_uid;
  a.gid = pw->pw_gid;
  a.group = group_name(a.gid);
  int n = 16;
  for (;;) {
    std::vector<gid_t> groups(static_cast<size_t>(n));
    int got = n;
    if (::getgrouplist(name.c_str(), a.gid, groups.data(), &got) >= 0) {
      groups.resize(size_t(got));
      a.groups = std::move(groups);
      break;
    }
    if (got <= n) got = n * 2;  // glibc sets got to the number needed
    n = got;
  }
  if (!in_groups(a, a.gid)) a.groups.push_back(a.gid);
  return a;
}

bool may(const Account& account, const Inode& inode, Need need) {
  if (account.uid == 0) return true;  // CAP_DAC_READ_SEARCH
  mode_t bit = need == Need::Read ? S_IROTH : need == Need::Write ? S_IWOTH : S_IXOTH;
  if (account.uid == inode.uid) return inode.mode & (bit << 6);
  if (in_groups(account, inode.gid)) return inode.mode & (bit << 3);
  return inode.mode & bit;
}

std::string fix_command(const std::string& path, const Inode& inode, const Account& account,
                        Need need, bool secret) {
  bool dir = S_ISDIR(inode.mode);
  // Directories get read with search, as `ls` in them expects.
  mode_t bits = need == Need::Read ? 04 : (dir ? 05 : 01);
  mode_t mode = inode.mode & 07777;
  std::string chgrp;
  // Applied whether or not the bit is there yet: a secret file must not keep
  // the account's access through the other bits it is about to lose.
  if (account.uid == inode.uid) {
    mode |= bits << 6;
  } else if (in_groups(account, inode.gid)) {
    mode |= bits << 3;
  } else if (secret) {
    chgrp = fmt::format("chgrp {} {} && ", shell_quote(account.group), shell_quote(path));
    mode |= bits << 3;
  } else {
    mode |= bits << 3 | bits;
  }
  if (secret) mode &= ~mode_t(07);
  return fmt::format("{}chmod {:04o} {}", chgrp, mode, shell_quote(path));
}

std::vector<std::string> check_permissions(const std::string& dir, const Account* account) {
  Checker c(account);
  if (account) {
    c.directories_of(dir);
    c.entry("control", dir, Need::Search, false, false);
  }
  // SPEC §3's files, in its order.
  for (const char* name :
       {"me", "helohost", "timeoutconnect", "timeoutremote", "smtproutes", "defaultoutgoingip",
        "outgoingip", "routes", "routemap", "clientcert.pem", "tlsclientciphers"}) {
    std::string n = name;
    bool now = holds_secret(dir, n);
    c.entry("control/" + n, dir + "/" + n, Need::Read, secret_by_nature(n) || now, now);
  }
  if (!account) return c.take();
  // qmail-tls reads tlshosts/<FQDN>.pem (check_control names the others) and
  // only looks whether notlshosts/<FQDN> exists: that needs the directory
  // searched, not the file read.
  c.entry("control/tlshosts", dir + "/tlshosts", Need::Search, false, false);
  std::vector<std::string> pems;
  if (std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir((dir + "/tlshosts").c_str()), ::closedir);
      d) {
    while (const dirent* e = ::readdir(d.get())) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".pem") == 0) pems.push_back(n);
    }
  }
  std::sort(pems.begin(), pems.end());
  for (const std::string& n : pems)
    c.entry("control/tlshosts/" + n, dir + "/tlshosts/" + n, Need::Read, false, false);
  c.entry("control/notlshosts", dir + "/notlshosts", Need::Search, false, false);
  return c.take();
}

std::vector<std::string> check_file_permissions(const std::string& dir, const std::string& name,
                                                const Account* account) {
  Checker c(account);
  bool now = holds_secret(dir, name);
  c.entry("control/" + name, dir + "/" + name, Need::Read, secret_by_nature(name) || now, now);
  return c.take();
}

}  // namespace qr
