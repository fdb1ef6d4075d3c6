#include "lib/redact.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "lib/text.h"

namespace qr {

namespace {

// A squeezed form shorter than this is not searched for: "ab" would be found
// in almost any text. Such secrets are still found in their plain form.
constexpr size_t kMinSqueezed = 4;
// A line cut short ("...": a reply at the 5000-byte cap, an attempt line at
// its own cap, a protocol-error excerpt) may end in the first part of a
// secret; from this many characters on, that part counts as the secret.
constexpr size_t kMinCutPrefix = 4;
constexpr size_t kNone = std::numeric_limits<size_t>::max();

bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// The same bytes as report.cc's sanitize(): what the secret looks like once
// it is in a report (CRs dropped, other unprintable bytes '?').
std::string as_reported(std::string_view s) {
  std::string r;
  for (unsigned char c : s) {
    if (c == '\r') continue;
    r.push_back(c == '\n' || (c >= 32 && c < 127) ? static_cast<char>(c) : '?');
  }
  return r;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// "DDD-" or "DDD " at text[i].
bool reply_code_at(std::string_view text, size_t i) {
  if (i + 4 > text.size()) return false;
  for (size_t k = i; k < i + 3; ++k)
    if (text[k] < '0' || text[k] > '9') return false;
  return text[i + 3] == '-' || text[i + 3] == ' ';
}

// Where one line of the text is, and where the first secret in it starts.
struct Line {
  size_t begin, end;   // [begin, end) in the text, LF excluded
  size_t hit = kNone;  // text position of the first secret byte on this line
};

}  // namespace

std::string squeeze(std::string_view text) {
  std::string r;
  r.reserve(text.size());
  for (char c : text)
    if (is_alnum(c)) r.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return r;
}

void Secrets::add(std::string_view secret) {
  if (secret.empty()) return;
  Form f{to_lower(as_reported(secret)), squeeze(as_reported(secret))};
  for (const Form& g : forms_)
    if (g.lower == f.lower) return;
  forms_.push_back(std::move(f));
}

std::string Secrets::redact(std::string_view text) const {
  if (forms_.empty()) return std::string(text);

  std::vector<Line> lines;
  std::vector<size_t> line_of(text.size() + 1);
  for (size_t b = 0;;) {
    size_t e = text.find('\n', b);
    if (e == std::string_view::npos) e = text.size();
    for (size_t i = b; i <= e && i < line_of.size(); ++i) line_of[i] = lines.size();
    lines.push_back({b, e});
    if (e == text.size()) break;
    b = e + 1;
  }
  // A secret from `from` to `to` (text positions, inclusive) taints every
  // line it touches: on the first from where it starts, on the others whole.
  auto taint = [&](size_t from, size_t to) {
    for (size_t l = line_of[from]; l <= line_of[to]; ++l) {
      size_t start = lines[l].begin;
      if (l == line_of[from])
        start = from;
      else if (reply_code_at(text, start))
        start += 4;  // the continuation's code is the server's, not the secret
      lines[l].hit = std::min(lines[l].hit, start);
    }
  };

  const std::string lower = to_lower(text);
  std::string squeezed;    // the text's letters and digits, lower case...
  std::vector<size_t> at;  // ...and where each one stands in the text
  for (size_t i = 0; i < text.size(); ++i) {
    // A reply's continuation line starts with its code ("535-", "535 "): a
    // secret the server split over two lines is still one secret.
    bool line_start = i == 0 || text[i - 1] == '\n';
    if (line_start && reply_code_at(text, i)) {
      i += 3;
      continue;
    }
    if (is_alnum(text[i])) {
      squeezed.push_back(lower[i]);
      at.push_back(i);
    }
  }

  for (const Form& f : forms_) {
    if (!f.lower.empty()) {
      for (size_t p = lower.find(f.lower); p != std::string::npos; p = lower.find(f.lower, p + 1))
        taint(p, p + f.lower.size() - 1);
    }
    if (f.squeezed.size() >= kMinSqueezed) {
      for (size_t p = squeezed.find(f.squeezed); p != std::string::npos;
           p = squeezed.find(f.squeezed, p + 1))
        taint(at[p], at[p + f.squeezed.size() - 1]);
    }
  }

  // Lines cut short: their end may hold the first part of a secret.
  for (Line& l : lines) {
    std::string_view line = text.substr(l.begin, l.end - l.begin);
    if (!ends_with(line, "...")) continue;
    for (const Form& f : forms_) {
      // The line's letters and digits, and their positions, from the tables above.
      auto first = std::lower_bound(at.begin(), at.end(), l.begin);
      auto last = std::lower_bound(at.begin(), at.end(), l.end);
      size_t n = static_cast<size_t>(last - first);
      std::string_view sq = std::string_view(squeezed).substr(first - at.begin(), n);
      for (size_t k = std::min(n, f.squeezed.size()); k >= kMinCutPrefix; --k) {
        if (ends_with(sq, std::string_view(f.squeezed).substr(0, k))) {
          l.hit = std::min(l.hit, *(last - static_cast<long>(k)));
          break;
        }
      }
    }
  }

  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    std::string_view line = text.substr(l.begin, l.end - l.begin);
    if (l.hit == kNone) {
      out.append(line);
    } else {
      // Keep what comes before the secret up to its last ": " (our own
      // words: "1.2.3.4:25 from default: AUTH PLAIN refused: "), and a
      // reply code that follows, when the secret does not start inside it.
      std::string_view before = line.substr(0, l.hit - l.begin);
      size_t cut = before.rfind(": ");
      size_t keep = cut == std::string_view::npos ? 0 : cut + 2;
      out.append(line.substr(0, keep));
      std::string_view rest = line.substr(keep);
      bool code = before.size() >= keep + 3 && rest.size() >= 3 &&
                  std::all_of(rest.begin(), rest.begin() + 3,
                              [](char c) { return c >= '0' && c <= '9'; }) &&
                  (rest.size() == 3 || rest[3] == ' ' || rest[3] == '-');
      if (code) {
        out.append(rest.substr(0, 3));
        out.push_back(' ');
      }
      out.append(kWithheld);
    }
    if (i + 1 < lines.size()) out.push_back('\n');
  }
  return out;
}

}  // namespace qr
