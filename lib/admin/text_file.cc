#include "lib/admin/text_file.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/control/control_file.h"
#include "lib/net/fd.h"

namespace qr {

namespace {

Error file_error(const std::string& name, const std::string& what, int err) {
  return Error{"control/" + name + ": " + what + ": " + std::strerror(err)};
}

// Removes the temporary file unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

Status write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{std::strerror(errno)};
    }
    done += size_t(n);
  }
  return success();
}

}  // namespace

std::string TextFile::render() const {
  std::string out;
  for (const auto& line : lines) out += line + '\n';
  return out;
}

Result<TextFile> read_text_file(const std::string& dir, const std::string& name) {
  TextFile file;
  auto read = read_control_file(dir, name);
  if (!read) return read.failure();
  if (!*read) return file;
  file.exists = true;
  const std::string& data = **read;
  size_t start = 0;
  while (start < data.size()) {
    size_t nl = data.find('\n', start);
    if (nl == std::string::npos) nl = data.size();
    file.lines.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  return file;
}

std::vector<ControlLine> control_lines(const TextFile& file) {
  std::vector<ControlLine> out;
  for (size_t i = 0; i < file.lines.size(); ++i) {
    if (auto line = control_line(int(i + 1), file.lines[i])) out.push_back(std::move(*line));
  }
  return out;
}

NewFileMode new_file_mode(const std::string& name) {
  if (name == "routes") return NewFileMode{0640, "qmail"};
  return NewFileMode{};
}

Status write_atomic(const std::string& dir, const std::string& name, const std::string& content) {
  std::string path = dir + "/" + name;
  // Same directory as the target, so rename() is atomic (same file system).
  std::string templ = dir + "/." + name + ".qmail-routes.XXXXXX";
  Fd fd(::mkstemp(templ.data()));
  if (!fd.valid()) return file_error(name, "cannot create a temporary file in " + dir, errno);
  TempFile temp(templ);

  // Keep the old file's permissions and owner: qmail-remote runs as qmailr
  // and must still be able to read the file, and nobody else more than
  // before. mkstemp made the file 0600: no one else sees it before this.
  struct stat st {};
  mode_t mode = 0644;
  if (::stat(path.c_str(), &st) == 0) {
    mode = st.st_mode & 07777;
    if (::geteuid() == 0 && ::fchown(fd.get(), st.st_uid, st.st_gid) != 0)
      return file_error(name, "cannot set the owner of " + temp.path(), errno);
  } else {
    NewFileMode fresh = new_file_mode(name);
    mode = fresh.mode;
    const group* gr = fresh.group.empty() ? nullptr : ::getgrnam(fresh.group.c_str());
    if (gr && ::fchown(fd.get(), uid_t(-1), gr->gr_gid) != 0) {
      // Not root and not in the group: the file keeps ours, and add/set warn
      // when qmailr cannot read it (check_file_permissions).
    }
  }
  if (::fchmod(fd.get(), mode) != 0)
    return file_error(name, "cannot set the mode of " + temp.path(), errno);
  if (auto st_write = write_all(fd.get(), content); !st_write)
    return Error{"control/" + name + ": cannot write " + temp.path() + ": " + st_write.error()};
  if (::fsync(fd.get()) != 0) return file_error(name, "cannot fsync " + temp.path(), errno);
  fd.reset();  // fsync has reported any write error; close cannot add one
  if (::rename(temp.path().c_str(), path.c_str()) != 0)
    return file_error(name, "cannot rename " + temp.path() + " to " + path, errno);
  temp.release();
  // The rename itself must survive a crash: fsync the directory.
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
  return success();
}

}  // namespace qr
